"""The bundled embedders: int8 ONNX and bf16 MiniLM agree with float MiniLM, row for row."""

import numpy as np
import pytest

from qa.embed import SentenceTransformerEmbedder, bundled_model_path, make_embedder
from qa.errors import ModelError

TEXTS = [
    "short",
    "a much longer sentence about the Ofsted inspection of children's services in Haringey",
    "mid length text here",
    "",
]


@pytest.mark.parametrize("name", ["minilm-int8", "minilm-bf16"])
def test_fast_minilm_matches_float_minilm_in_input_order(name):
    texts = TEXTS
    a = make_embedder(name).embed(texts)
    b = SentenceTransformerEmbedder("minilm").embed(texts)
    assert a.shape == b.shape == (4, 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    cos = (a * b).sum(1)
    assert (cos > 0.99).all(), cos
    assert make_embedder(name).embed([]).shape[0] == 0


@pytest.mark.parametrize("name", ["minilm-int8", "minilm-bf16", "minilm"])
def test_a_texts_vector_does_not_depend_on_what_it_is_embedded_with(name):
    """Padded to the longest of its batch, a short text's bf16 vector moved by 1e-3 beside a long one, so an
    evidence sentence scored differently depending on which question embedded it first."""
    embedder = make_embedder(name)
    texts = [*TEXTS, "Ed Balls ordered an inquiry.", " ".join(["a long sentence about the borough's reviews"] * 6)]
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed([t])[0] for t in texts])
    backwards = embedder.embed(texts[::-1])[::-1]
    assert np.array_equal(together, alone)
    assert np.array_equal(together, backwards)


def test_length_buckets_depend_on_each_length_alone():
    from qa.embed import length_buckets

    assert length_buckets([3, 17, 16, 40, 1], step=16, cap=32) == {16: [0, 2, 4], 32: [1, 3]}
    assert length_buckets([], step=16) == {}


def test_auto_picks_bf16_only_where_the_cpu_has_it(monkeypatch):
    import qa.embed as embed

    monkeypatch.setattr(embed, "cpu_has_bf16", lambda: True)
    assert embed.resolve("auto") == "minilm-bf16"
    monkeypatch.setattr(embed, "cpu_has_bf16", lambda: False)
    assert embed.resolve("auto") == "minilm-int8" and embed.make_embedder("auto").name == "minilm-int8"
    assert embed.resolve("mpnet") == "mpnet"


def test_unknown_embedder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="neither"):
        bundled_model_path(str(tmp_path / "nope"))


def test_plugins_add_backends_through_entry_points(monkeypatch):
    """A package adds an LLM (group qa.llm) or an embedder (group qa.embed) by entry point: both give a
    qa.plugins.Backend, built from Settings; anything else is a clear error."""
    from qa import embed, plugins
    from qa.config import Settings
    from qa.errors import ConfigError
    from qa.llm import backends, make_llm

    made = {}

    class EP:
        def __init__(self, name, obj):
            self.name, self.obj = name, obj

        def load(self):
            return self.obj

    def fake_entry_points(group):
        return {
            "qa.llm": [EP("echo", plugins.Backend("echo", lambda s: made.setdefault("llm", s.llm), shared=False)),
                       EP("bare", lambda s: "not a record")],
            "qa.embed": [EP("tiny", plugins.Backend("tiny", lambda s: made.setdefault("embed", s.embed_model)))],
        }[group]

    monkeypatch.setattr(plugins, "entry_points", fake_entry_points)
    assert "echo" in backends() and {"local", "gguf", "openai", "extractive"} <= set(backends())
    assert make_llm(Settings(llm="echo")) == "echo"
    assert embed.make_embedder("tiny") == "tiny"
    with pytest.raises(ConfigError, match="not a qa.plugins.Backend"):
        make_llm(Settings(llm="bare"))
    with pytest.raises(ConfigError, match="use one of: local, gguf, openai, extractive, echo, bare"):
        make_llm(Settings(llm="nope"))
