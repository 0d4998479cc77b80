"""The answer stages as pure functions: the reader's JSON and confidences, the support check, the
refusal model, and the text primitives they share."""

import json
import math

import pytest

from qa.evidence import Sentence
from qa.llm import Generation, Token
from qa.reader import SCHEMA, build_prompt, parse
from qa.refuse import Model, decide
from qa.rewrite import carry_subject, condense
from qa.text import numbers, sentence_spans, terms
from qa.verify import check, echo
from tests.fakes import ScriptedLLM


def _s(text, i=0):
    return Sentence("doc.txt", "Doc", text, 100 * i, 100 * i + len(text), f"c{i}", 0)


EVIDENCE = [
    _s("The council met on Tuesday.", 0),
    _s("Jason Owen, 36, was the lodger.", 1),
    _s("Inspectors found forty failings in the service.", 2),
]


def test_prompt_numbers_the_evidence_and_frames_it_as_data():
    p = build_prompt("Who was the lodger?", EVIDENCE)
    assert "[1] The council met on Tuesday." in p.user and "[3] Inspectors" in p.user
    assert p.user.rstrip().endswith("Question: Who was the lodger?")
    assert "not instructions" in p.system and "sentence" in SCHEMA["properties"]


def _read(text):
    r = parse(Generation(text))
    return r.answer, r.sentence


def test_parse_reads_json_and_survives_a_cut_off_reply():
    assert _read('{"answer": "Jason Owen", "sentence": 2}') == ("Jason Owen", 2)
    assert _read('{"answer": "Jason Ow') == ("Jason Ow", 0)
    assert _read("not json at all") == ("", 0)
    assert _read('{"answer": "Owen [2]", "sentence": "x"}') == ("Owen", 0)


def _tok(text, lp, *alts):
    return Token(text, lp, ((text, lp), *alts))


def test_confidence_from_token_probabilities():
    # `{"answer": "` then "Owen": an empty answer would have been a quote right after the opener.
    toks = (
        _tok('{"', -0.1),
        _tok("answer", 0.0),
        _tok('":', 0.0),
        _tok(' "', math.log(0.9), (' "",', math.log(0.1))),
        _tok("Owen", math.log(0.5), ('"', math.log(0.2)), ("Jason", math.log(0.3))),
        _tok('",', 0.0),
        _tok(' "sentence": ', 0.0),
        _tok("2", math.log(0.8)),
        _tok("}", 0.0),
    )
    r = parse(Generation("".join(t.text for t in toks), toks))
    assert r.answer == "Owen" and r.sentence == 2
    assert r.none_prob == pytest.approx(0.1 + 0.9 * 0.2)
    assert r.answer_logprob == pytest.approx(math.log(0.5)) == pytest.approx(r.first_logprob)
    assert r.sentence_logprob == pytest.approx(math.log(0.8))
    assert parse(Generation('{"answer": "Owen", "sentence": 2}')).none_prob is None  # no probabilities given


def test_support_prefers_the_named_sentence_and_falls_back_to_the_one_holding_the_answer():
    named = check("Jason Owen", 2, EVIDENCE, "Who was the lodger?")
    assert named.ok and named.index == 2 and named.named and named.share == 1.0
    other = check("Jason Owen", 1, EVIDENCE, "Who was the lodger?")
    assert other.ok and other.index == 2 and not other.named


def test_support_rejects_what_no_sentence_says():
    assert not check("Paris", 1, EVIDENCE, "Where did he live?").ok
    assert not check("", 0, EVIDENCE, "Who?").ok
    # Repeating the question is allowed (the answer to "A or B?" is in it) and measured, not refused.
    assert (
        check("the lodger", 2, EVIDENCE, "Who was the lodger?").ok
        and echo("the lodger", "Who was the lodger?") == 1.0
    )
    assert (
        check("Owen", 2, EVIDENCE, "Jason Owen or Tom Smith?").ok and echo("Paris", "Who was the lodger?") == 0.0
    )
    assert check("M", 1, [_s("M removes Bond from service.")], "Who removed Bond?").ok  # one letter is a word too
    # Every number must be there: 37 is not 36, and "40" is the sentence's "forty".
    assert not check("37", 2, EVIDENCE, "How old was Jason Owen?").ok
    assert check("40 failings", 3, EVIDENCE, "How many failings?").ok


def test_refusal_model_answers_at_or_above_its_threshold():
    m = Model(("a", "b"), (0.0, 1.0), (1.0, 2.0), (2.0, -1.0), 0.0, 0.5)
    assert m.confidence({"a": 0.0, "b": 1.0}) == pytest.approx(0.5)
    assert decide({"a": 1.0, "b": 1.0}, model=m).answered
    assert not decide({"a": -1.0, "b": 1.0}, model=m).answered
    # A missing signal counts as its mean.
    assert m.confidence({"a": 0.0, "b": None}) == pytest.approx(0.5)


def test_condense_asks_the_reader_and_keeps_the_question_when_the_rewrite_fails():
    llm = ScriptedLLM('{"question": "How old was Jason Owen?"}', "garbage")
    history = [("Who was the lodger?", "Jason Owen [1]")]
    assert condense(llm, "How old was he?", history) == "How old was Jason Owen?"
    assert "Jason Owen" in llm.prompts[0].user and "[1]" not in llm.prompts[0].user
    assert condense(llm, "How old was he?", history) == "How old was he?"
    assert condense(llm, "Anything?", []) == "Anything?" and len(llm.prompts) == 2


def test_follow_up_search_query_carries_the_last_turns_names():
    history = [("Who was the lodger?", "Jason Owen [1]")]
    assert "Jason Owen" in carry_subject("How old was he?", history)
    assert carry_subject("How old was Jason Owen?", history) == "How old was Jason Owen?"
    assert carry_subject("How old was he?", []) == "How old was he?"


def test_text_primitives():
    assert numbers("forty, 40.0 and 1,000") == {"40", "1000"}
    assert terms("The councils were criticised") == terms("council criticised")
    text = "Title line\nFirst sentence here. Second one, Mr. Smith said.\n\nThird."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Title line",
        "First sentence here.",
        "Second one, Mr. Smith said.",
        "Third.",
    ]


def test_prime_evaluates_the_fixed_start_of_reader_prompts_and_never_fails_the_warm_up():
    from qa.errors import BackendError
    from qa.reader import prime

    llm = ScriptedLLM()
    prime(llm)
    assert llm.prompts[0].fixed == build_prompt("Who?", EVIDENCE).fixed

    class Down(ScriptedLLM):
        def generate(self, prompt, max_tokens, schema=None):
            raise BackendError("the server is down")

    prime(Down())  # a server that is down says so on the first question instead


def test_the_worked_examples_come_from_no_document_or_eval_question():
    """The reader's examples are made up: no run of four words of their text is in the seeds or the eval set."""
    from pathlib import Path

    from qa.reader import EXAMPLE_SENTENCES, EXAMPLES
    from qa.text import tokens

    def grams(text):
        words = [w.lower() for w in tokens(text)]
        return {tuple(words[i : i + 4]) for i in range(len(words) - 3)}

    root = Path(__file__).resolve().parent.parent
    theirs = set()
    for path in [*(root / "seeds").iterdir(), root / "eval" / "seed_qa.jsonl"]:
        theirs |= grams(path.read_text(encoding="utf-8", errors="ignore"))
    ours = set().union(*(grams(text) for text in [*EXAMPLE_SENTENCES, *(q for q, _, _ in EXAMPLES)]))
    assert ours and not ours & theirs, sorted(ours & theirs)[:5]


def test_the_worked_examples_are_chat_turns_before_the_question():
    """Document text shaped like an example stays inside the user's last turn; the examples are turns of their own."""
    from qa.reader import EXAMPLES, INSTRUCTIONS

    p = build_prompt("Who?", EVIDENCE)
    roles = [m["role"] for m in p.messages]
    assert roles == ["system", *["user", "assistant"] * len(EXAMPLES), "user"]
    assert p.messages[0]["content"] == INSTRUCTIONS and p.messages[-1]["content"] == p.user
    assert all(
        json.loads(m["content"]).keys() == {"answer", "sentence"} for m in p.messages if m["role"] == "assistant"
    )
    assert p.user.startswith("Sentences:\n[1] ") and p.user.endswith("Question: Who?")


def test_a_long_answer_that_swaps_who_did_what_is_not_supported():
    said = "The mill owners sued the river council over the weir in 1911."
    evidence = [Sentence("a.txt", "A", said, 0, len(said), "c", 0)]
    assert check("The mill owners sued the river council", 1, evidence, "Q?").ok
    swapped = check("The river council sued the mill owners", 1, evidence, "Q?")
    assert not swapped.ok and "order" in swapped.reason
    # Short answers are not held to an order ("the council and the owners" is a fair answer to "who went to law?").
    assert check("council and owners", 1, evidence, "Q?").ok
