"""Keyword phrase → intent matching and grammar building (pure functions)."""

from __future__ import annotations

from voicebot.actions import RecognitionHints
from voicebot.speech.keywords import UNK, build_grammar, match_keyword, normalize

KEYWORDS = (
    ("sí", "affirm"),
    ("no", "deny"),
    ("no es mía", "dispute"),
    ("número equivocado", "wrong_number"),
    ("네", "affirm"),
    ("아니요", "deny"),
)


def test_normalize_strips_case_accents_and_punctuation_but_keeps_hangul() -> None:
    assert normalize("¡Sí, SEÑOR!  ¿Número?") == "si senor numero"
    assert normalize("아니요, 괜찮아요.") == "아니요 괜찮아요"


def test_accented_and_unaccented_forms_match() -> None:
    assert match_keyword("si claro", KEYWORDS) == "affirm"
    assert match_keyword("Es un NUMERO equivocado.", KEYWORDS) == "wrong_number"


def test_only_whole_words_match() -> None:
    assert match_keyword("buenas noches", KEYWORDS) is None  # "no" inside "noches"
    assert match_keyword("네요", KEYWORDS) is None  # "네" inside "네요"


def test_longest_phrase_wins() -> None:
    assert match_keyword("no es mía esa deuda", KEYWORDS) == "dispute"
    assert match_keyword("no gracias", KEYWORDS) == "deny"


def test_hangul_phrases_ignore_spacing_between_tokens() -> None:
    assert match_keyword("아니 요", KEYWORDS) == "deny"
    assert match_keyword("음 아니요", KEYWORDS) == "deny"
    assert match_keyword("아니", KEYWORDS) is None


def test_nothing_matches_in_empty_text() -> None:
    assert match_keyword("", KEYWORDS) is None


def _vocabulary(words: set[str]):  # type: ignore[no-untyped-def]
    return lambda word: word in words


def test_grammar_drops_phrases_with_unknown_words_and_adds_unk() -> None:
    hints = RecognitionHints(
        phrases=("sí", "no está", "soy yo"), keywords=(("claro", "affirm"),), expect=("yes_no",)
    )
    vocab = {"sí", "no", "soy", "yo", "claro", "si", "correcto", UNK}
    grammar = build_grammar(hints, language="es", in_vocabulary=_vocabulary(vocab))
    assert "no está" in grammar.out_of_vocabulary  # Vosk would have silently turned it into "no"
    assert grammar.phrases[:3] == ("sí", "soy yo", "claro")
    assert {"no", "si", "correcto"} <= set(grammar.phrases)
    assert grammar.rejection == (UNK,)
    assert grammar.as_list()[-1] == UNK


def test_fillers_stand_in_for_missing_unk_but_never_split_a_phrase() -> None:
    hints = RecognitionHints(keywords=(("네", "affirm"), ("아니요", "deny")))
    vocab = {"네", "아니요", "이", "가", "아", "요"}
    grammar = build_grammar(
        hints,
        language="ko",
        in_vocabulary=_vocabulary(vocab),
        fillers=("이", "가", "아", "요", "없음"),
    )
    assert grammar.phrases == ("네", "아니요")
    assert grammar.rejection == ("이", "가")  # "아"/"요" are pieces of 아니요; "없음" is unknown


def test_no_known_phrase_means_no_grammar() -> None:
    hints = RecognitionHints(phrases=("hola",))
    grammar = build_grammar(hints, language="es", in_vocabulary=_vocabulary({UNK}))
    assert not grammar.usable
