"""Two stock LlamaIndex pipelines, each set up as LlamaIndex's documentation shows, measured beside qa.

Both use qa's reader model (same GGUF, same threads, greedy) behind llama-index's LLM interface, the
same embedding model in the same precision, the same chunk size and the same number of chunks per
question as qa's retrieval (`Settings.chunk_size`, `Settings.candidates`), and a prompt that asks
them to say when the context does not contain the answer. What differs is what qa's design adds:
qa's evidence selection, reader schema, support check and calibrated refusal.

- stock-vector: `VectorStoreIndex` over Chroma, `index.as_query_engine(similarity_top_k=k)` with a
  text-QA prompt that asks it to refuse. A query engine has no chat history: follow-ups go alone.
- stock-hybrid: BM25 (`BM25Retriever`) plus vector, fused by `QueryFusionRetriever` in
  reciprocal-rerank mode with query generation off (`num_queries=1`, as the BM25 guide does), and a
  `CondensePlusContextChatEngine` that rewrites follow-ups from the chat history.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.embed import bundled_model_path, resolve
from qa.llm import LLM, Prompt

QA_PROMPT = (
    "Context information is below.\n---------------------\n{context_str}\n---------------------\n"
    "Given the context information and not prior knowledge, answer the query. "
    "If the context does not contain the answer, say that the documents don't say.\n"
    "Query: {query_str}\nAnswer: "
)
CONTEXT_PROMPT = (
    "The following are the relevant documents for the user's question.\n---------------------\n"
    "{context_str}\n---------------------\nAnswer from these documents only. "
    "If they do not contain the answer, say that the documents don't say."
)
MAX_TOKENS = 96


@dataclass(frozen=True)
class BaselineAnswer:
    text: str
    passages: tuple[tuple[str, int, int, str], ...]  # (source, start, end, text), best first
    seconds: float


def configurations(settings: Settings) -> dict[str, dict]:
    """What each baseline is, written into the report."""
    common = {
        "reader": f"qa's reader ({settings.llm}:{settings.llm_model or 'default'}), greedy, max {MAX_TOKENS} tokens",
        "embedder": f"HuggingFaceEmbedding over the same model as qa ({resolve(settings.embed_model)}), same precision",
        "chunking": f"SentenceSplitter(chunk_size={settings.chunk_size}, chunk_overlap={settings.chunk_overlap})",
        "top_k": settings.candidates,
        "store": "ChromaVectorStore (persistent, temp dir)",
    }
    return {
        "stock-vector": {
            **common,
            "engine": f"index.as_query_engine(similarity_top_k={settings.candidates}, text_qa_template=QA_PROMPT)",
            "history": "none (a query engine answers each question alone)",
            "prompt": QA_PROMPT,
        },
        "stock-hybrid": {
            **common,
            "retriever": f"QueryFusionRetriever([vector, BM25Retriever(english stemmer)], "
            f"similarity_top_k={settings.candidates}, num_queries=1, mode='reciprocal_rerank')",
            "engine": "CondensePlusContextChatEngine.from_defaults(retriever, context_prompt=CONTEXT_PROMPT)",
            "history": "the question's chat history, condensed by the engine's default condense prompt",
            "prompt": CONTEXT_PROMPT,
        },
    }


def reader_llm(llm: LLM):
    """qa's reader behind llama-index's LLM interface (a CustomLLM), so the baselines use the same model."""
    from llama_index.core.base.llms.types import (
        ChatMessage,
        ChatResponse,
        CompletionResponse,
        LLMMetadata,
        MessageRole,
    )
    from llama_index.core.llms import CustomLLM
    from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
    from pydantic import PrivateAttr

    class ReaderLLM(CustomLLM):
        _llm: Any = PrivateAttr()

        def __init__(self, inner: LLM) -> None:
            super().__init__()
            self._llm = inner

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(
                context_window=4096, num_output=MAX_TOKENS, is_chat_model=True, model_name=self._llm.name
            )

        def _generate(self, system: str, user: str) -> str:
            return self._llm.generate(Prompt(system=system, user=user), MAX_TOKENS).text.strip()

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            return CompletionResponse(text=self._generate("You are a helpful assistant.", prompt))

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any):
            yield self.complete(prompt)

        @llm_chat_callback()
        def chat(self, messages: list[ChatMessage], **kwargs: Any) -> ChatResponse:
            # qa's LLM takes one system and one user message: earlier turns go into the user message.
            system = "\n\n".join(m.content or "" for m in messages if m.role == MessageRole.SYSTEM)
            turns = [m for m in messages if m.role != MessageRole.SYSTEM]
            if len(turns) > 1:
                user = "\n".join(f"{m.role.value}: {m.content}" for m in turns)
            else:
                user = turns[0].content if turns else ""
            text = self._generate(system or "You are a helpful assistant.", user)
            return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

        @llm_chat_callback()
        def stream_chat(self, messages: list[ChatMessage], **kwargs: Any):
            yield self.chat(messages)

    return ReaderLLM(llm)


def stock_embedder(settings: Settings):
    """The embedder a LlamaIndex user sets up, HuggingFaceEmbedding, over qa's model in qa's precision."""
    import torch
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    name = resolve(settings.embed_model)
    base = name.removesuffix("-bf16").removesuffix("-int8")
    # int8 is an ONNX export qa runs itself; a HuggingFaceEmbedding user gets the float model there.
    dtype = torch.bfloat16 if name.endswith("-bf16") else torch.float32
    return HuggingFaceEmbedding(
        model_name=str(bundled_model_path(base)), device="cpu", model_kwargs={"torch_dtype": dtype}
    )


class _Stock:
    """The index both baselines share: documents read by SimpleDirectoryReader, chunked, embedded into Chroma."""

    name = ""

    def __init__(self, settings: Settings, llm: LLM, embed=None, persist_dir: Path | None = None) -> None:
        import chromadb
        from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.settings = settings
        self.llm = reader_llm(llm)
        self._tmp = None if persist_dir else tempfile.TemporaryDirectory(prefix="qa-baseline-")
        path = str(persist_dir) if persist_dir else self._tmp.name
        client = chromadb.PersistentClient(path, settings=chromadb.Settings(anonymized_telemetry=False))
        store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("baseline"))
        docs = SimpleDirectoryReader(str(settings.docs_dir), filename_as_id=True).load_data()
        root = str(settings.docs_dir.resolve()) + "/"
        for d in docs:
            d.metadata["source"] = d.metadata["file_path"].split(root)[-1]
        splitter = SentenceSplitter(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)
        self.nodes = splitter.get_nodes_from_documents(docs)
        self.index = VectorStoreIndex(
            self.nodes,
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=embed or stock_embedder(settings),
        )

    def ask(self, question: str, history: tuple[tuple[str, str], ...] = ()) -> BaselineAnswer:
        t0 = time.perf_counter()
        text, nodes = self._ask(question, history)
        passages = tuple(
            (
                n.node.metadata.get("source", n.node.metadata.get("file_name", "")),
                n.node.start_char_idx or 0,
                n.node.end_char_idx or 0,
                n.node.get_content(),
            )
            for n in nodes
        )
        return BaselineAnswer(str(text).strip(), passages, time.perf_counter() - t0)

    def _ask(self, question: str, history: tuple[tuple[str, str], ...]):
        raise NotImplementedError


class StockVector(_Stock):
    name = "stock-vector"

    def __init__(self, settings: Settings, llm: LLM, embed=None, persist_dir: Path | None = None) -> None:
        from llama_index.core import PromptTemplate

        super().__init__(settings, llm, embed, persist_dir)
        self.engine = self.index.as_query_engine(
            llm=self.llm, similarity_top_k=settings.candidates, text_qa_template=PromptTemplate(QA_PROMPT)
        )

    def _ask(self, question, history):
        response = self.engine.query(question)
        return response.response, response.source_nodes


class StockHybrid(_Stock):
    name = "stock-hybrid"

    def __init__(self, settings: Settings, llm: LLM, embed=None, persist_dir: Path | None = None) -> None:
        import Stemmer
        from llama_index.core.retrievers import QueryFusionRetriever
        from llama_index.retrievers.bm25 import BM25Retriever

        super().__init__(settings, llm, embed, persist_dir)
        k = settings.candidates
        bm25 = BM25Retriever.from_defaults(
            nodes=self.nodes, similarity_top_k=k, stemmer=Stemmer.Stemmer("english"), language="english"
        )
        self.retriever = QueryFusionRetriever(
            [self.index.as_retriever(similarity_top_k=k), bm25],
            llm=self.llm,
            similarity_top_k=k,
            num_queries=1,  # query generation off, as LlamaIndex's BM25 hybrid guide sets it
            mode="reciprocal_rerank",
            use_async=False,
        )

    def _ask(self, question, history):
        from llama_index.core.base.llms.types import ChatMessage, MessageRole
        from llama_index.core.chat_engine import CondensePlusContextChatEngine

        chat_history = [
            ChatMessage(role=role, content=text)
            for q, a in history
            for role, text in ((MessageRole.USER, q), (MessageRole.ASSISTANT, a))
        ]
        engine = CondensePlusContextChatEngine.from_defaults(
            self.retriever, llm=self.llm, chat_history=chat_history, context_prompt=CONTEXT_PROMPT
        )
        response = engine.chat(question)
        return response.response, response.source_nodes


BASELINES = {cls.name: cls for cls in (StockVector, StockHybrid)}
