"""The bundled embedders: int8 ONNX MiniLM agrees with float MiniLM, row for row."""

import numpy as np
import pytest

from qa.embed import SentenceTransformerEmbedder, bundled_model_path, make_embedder
from qa.errors import ModelError


def test_int8_minilm_matches_float_minilm_in_input_order():
    texts = [
        "short",
        "a much longer sentence about the Ofsted inspection of children's services in Haringey",
        "mid length text here",
        "",
    ]
    a = make_embedder("minilm-int8").embed(texts)
    b = SentenceTransformerEmbedder("minilm").embed(texts)
    assert a.shape == b.shape == (4, 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    cos = (a * b).sum(1)
    assert (cos > 0.99).all(), cos
    assert make_embedder("minilm-int8").embed([]).shape == (0, 384)


def test_unknown_embedder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="neither"):
        bundled_model_path(str(tmp_path / "nope"))
