"""Per-turn recognition hints: keyword phrase → intent matching and grammar building.

Pure functions. Matching is on whole normalized phrases so "no" never fires
inside "noche" and "네" never inside "네요". Korean spacing varies (Vosk may
return "아니 요" for "아니요"), so phrases written in Hangul match regardless of
the spaces between the recognized tokens, still on token boundaries.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from voicebot.actions import RecognitionHints
from voicebot.language.spanish import MONTHS, WEEKDAYS

UNK = "[unk]"

# Closed vocabularies that make a grammar useful for an ``expect`` kind. These are
# words the recognizer listens for, not anything the bot says.
EXPECT_VOCABULARY: dict[str, dict[str, tuple[str, ...]]] = {
    "es": {
        "yes_no": ("sí", "si", "no", "claro", "correcto", "así es", "de acuerdo", "bueno"),
        "digits": (
            "cero",
            "uno",
            "dos",
            "tres",
            "cuatro",
            "cinco",
            "seis",
            "siete",
            "ocho",
            "nueve",
        ),
        "amount": (
            "uno",
            "un",
            "una",
            "dos",
            "tres",
            "cuatro",
            "cinco",
            "seis",
            "siete",
            "ocho",
            "nueve",
            "diez",
            "once",
            "doce",
            "trece",
            "catorce",
            "quince",
            "dieciséis",
            "veinte",
            "treinta",
            "cuarenta",
            "cincuenta",
            "sesenta",
            "setenta",
            "ochenta",
            "noventa",
            "cien",
            "ciento",
            "doscientos",
            "trescientos",
            "quinientos",
            "mil",
            "millón",
            "millones",
            "pesos",
            "dólares",
            "soles",
            "todo",
            "la mitad",
            "y",
        ),
        "date": (
            "hoy",
            "mañana",
            "pasado mañana",
            *WEEKDAYS,
            *MONTHS,
            "el",
            "de",
            "la",
            "próxima",
            "semana",
            "quincena",
            "fin",
            "mes",
            "primero",
        ),
    },
    "ko": {
        "yes_no": ("네", "예", "아니요", "아니오"),
        "digits": ("영", "공", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"),
    },
}


def _is_hangul(char: str) -> bool:
    code = ord(char)
    return 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F


def normalize(text: str) -> str:
    """Lowercase, drop accents and punctuation, collapse spaces; Hangul stays intact.

    NFD splits "í" into "i" + a combining mark; dropping marks (category Mn) and
    recomposing leaves Hangul syllables whole because their jamo are letters.
    """
    decomposed = unicodedata.normalize("NFD", text.lower())
    kept = []
    for char in decomposed:
        category = unicodedata.category(char)
        if category == "Mn":
            continue
        kept.append(" " if category[0] in "PSZC" else char)
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).split())


def _spacing_free(phrase: str) -> bool:
    return any(_is_hangul(c) for c in phrase)


def _match_at(tokens: list[str], phrase: str) -> int | None:
    """Index of the first token span equal to ``phrase`` (tokens joined without spaces for Hangul)."""
    if not phrase:
        return None
    if not _spacing_free(phrase):
        words = phrase.split()
        for i in range(len(tokens) - len(words) + 1):
            if tokens[i : i + len(words)] == words:
                return i
        return None
    target = phrase.replace(" ", "")
    for i in range(len(tokens)):
        joined = ""
        for token in tokens[i:]:
            joined += token
            if joined == target:
                return i
            if len(joined) >= len(target):
                break
    return None


def match_keyword(text: str, keywords: Iterable[tuple[str, str]]) -> str | None:
    """The intent of the longest keyword phrase found in ``text`` (earliest on ties)."""
    tokens = normalize(text).split()
    best: tuple[int, int, str] | None = None  # (-length, position, intent)
    for phrase, intent in keywords:
        norm = normalize(phrase)
        position = _match_at(tokens, norm)
        if position is None:
            continue
        key = (-len(norm.replace(" ", "")), position, intent)
        if best is None or key < best:
            best = key
    return best[2] if best else None


@dataclass(frozen=True, slots=True)
class Grammar:
    """The phrases a grammar decode may output, and what was left out and why."""

    phrases: tuple[str, ...]
    rejection: tuple[str, ...]  # "[unk]" or filler words standing in for it
    out_of_vocabulary: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        return bool(self.phrases)

    def as_list(self) -> list[str]:
        return [*self.phrases, *self.rejection]


def build_grammar(
    hints: RecognitionHints,
    *,
    language: str,
    in_vocabulary: Callable[[str], bool],
    fillers: tuple[str, ...] = (),
) -> Grammar:
    """Phrases for a restricted-vocabulary decode of one turn.

    Vosk drops out-of-vocabulary words from a grammar phrase silently, which
    turns "no está" into "no"; a phrase with any unknown word is left out whole
    and reported instead. ``[unk]`` is added when the model knows it, so noise
    and off-grammar speech have somewhere to go; a model without it gets the
    ``fillers`` (short common words) for the same purpose.
    """
    candidates: list[str] = []
    for phrase in hints.phrases:
        candidates.append(phrase)
    for phrase, _ in hints.keywords:
        candidates.append(phrase)
    vocab = EXPECT_VOCABULARY.get(language, {})
    for kind in hints.expect:
        candidates.extend(vocab.get(kind, ()))
    phrases: list[str] = []
    missing: list[str] = []
    for phrase in candidates:
        words = phrase.lower().split()
        if not words or " ".join(words) in phrases:
            continue
        if all(in_vocabulary(w) for w in words):
            phrases.append(" ".join(words))
        elif phrase not in missing:
            missing.append(phrase)
    if in_vocabulary(UNK):
        rejection: tuple[str, ...] = (UNK,)
    else:
        # A filler that is a piece of a phrase ("아" in "아니요") would split the phrase.
        pieces = "".join(phrases)
        rejection = tuple(f for f in fillers if f not in pieces and in_vocabulary(f))
    return Grammar(tuple(phrases), rejection, tuple(missing))
