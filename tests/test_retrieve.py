from qa.retrieve import Hit, rrf


def _h(i, score=1.0):
    return Hit(i, "f.txt", "", i, 0, 1, score)


def test_rrf_hand_computed():
    dense = [_h("a"), _h("b"), _h("c")]
    keyword = [_h("c"), _h("a")]
    fused = rrf([dense, keyword], k=60)
    scores = {h.id: h.score for h in fused}
    assert abs(scores["a"] - (1 / 61 + 1 / 62)) < 1e-12
    assert abs(scores["c"] - (1 / 63 + 1 / 61)) < 1e-12
    assert abs(scores["b"] - 1 / 62) < 1e-12
    assert [h.id for h in fused] == ["a", "c", "b"]


def test_rrf_weights_limit_and_empty():
    fused = rrf([[_h("a")], [_h("b")]], weights=[1.0, 2.0], limit=1)
    assert [h.id for h in fused] == ["b"]
    assert rrf([[], []]) == []
