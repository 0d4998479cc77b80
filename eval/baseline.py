"""The stock LlamaIndex pipeline a user writes first: VectorStoreIndex over Chroma, default chunking
and top-k, the same embedder and LLM, llama-index's default QA prompt. Measured beside qa."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass

from qa.config import Settings
from qa.embed import bundled_model_path, resolve
from qa.llm import LLM, Prompt


@dataclass(frozen=True)
class BaselineAnswer:
    text: str
    passages: tuple[tuple[str, int, int, str], ...]  # (source, start, end, text), best first
    seconds: float


class StockPipeline:
    """VectorStoreIndex + retriever + default text-QA prompt."""

    def __init__(self, settings: Settings, llm: LLM | None, persist_dir: str | None = None, embed=None) -> None:
        import chromadb
        from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.llm = llm
        self._tmp = None if persist_dir else tempfile.TemporaryDirectory(prefix="qa-baseline-")
        path = persist_dir or self._tmp.name
        client = chromadb.PersistentClient(path, settings=chromadb.Settings(anonymized_telemetry=False))
        store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("baseline"))
        self.embed = embed or stock_embedder(settings)
        docs = SimpleDirectoryReader(str(settings.docs_dir), filename_as_id=True).load_data()
        for d in docs:
            d.metadata["source"] = d.metadata["file_path"].split(str(settings.docs_dir.resolve()) + "/")[-1]
        self.index = VectorStoreIndex.from_documents(
            docs, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=self.embed
        )
        self.retriever = self.index.as_retriever()  # default similarity_top_k

    def ask(self, question: str) -> BaselineAnswer:
        from llama_index.core.prompts.default_prompts import DEFAULT_TEXT_QA_PROMPT

        t0 = time.perf_counter()
        nodes = self.retriever.retrieve(question)
        passages = tuple(
            (
                n.node.metadata.get("source", n.node.metadata.get("file_name", "")),
                n.node.start_char_idx or 0,
                n.node.end_char_idx or 0,
                n.node.get_content(),
            )
            for n in nodes
        )
        context = "\n\n".join(p[3] for p in passages)
        if self.llm is None:
            text = passages[0][3] if passages else ""
        else:
            prompt_text = DEFAULT_TEXT_QA_PROMPT.format(context_str=context, query_str=question)
            text = self.llm.generate(Prompt(system="", user=prompt_text), 64).text
        return BaselineAnswer(text.strip(), passages, time.perf_counter() - t0)


def stock_embedder(settings: Settings):
    """The embedder a LlamaIndex user sets up: HuggingFaceEmbedding over the same model, float, on the CPU."""
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    # qa's faster MiniLM variants are MiniLM itself; the stock pipeline loads MiniLM the usual way.
    name = "minilm" if resolve(settings.embed_model).startswith("minilm") else settings.embed_model
    return HuggingFaceEmbedding(model_name=str(bundled_model_path(name)), device="cpu")
