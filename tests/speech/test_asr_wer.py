"""WER alignment on known vectors and reference files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from voicebot.speech.asr_eval import align, parse_references, read_references


@pytest.mark.parametrize(
    ("reference", "hypothesis", "subs", "dels", "ins"),
    [
        ("el gato come", "el gato come", 0, 0, 0),
        ("el gato come", "el perro come", 1, 0, 0),
        ("el gato come pescado", "el gato pescado", 0, 1, 0),
        ("el gato", "el gran gato", 0, 0, 1),
        ("uno dos tres", "", 0, 3, 0),
        ("a b c d e f", "a x c e f g", 1, 1, 1),  # classic: sub b→x, del d, ins g
        ("Contraseña, por favor", "contrasena por favor", 0, 0, 0),
    ],
)
def test_alignment_counts(reference: str, hypothesis: str, subs: int, dels: int, ins: int) -> None:
    result = align(reference, hypothesis)
    assert (result.substitutions, result.deletions, result.insertions) == (subs, dels, ins)


def test_wer_can_exceed_one_and_sums_across_files() -> None:
    long_hyp = align("hola", "uno dos tres")
    assert long_hyp.wer == pytest.approx(3.0)  # 1 substitution + 2 insertions over 1 word
    total = align("a b c d", "a b c d") + align("e f", "e g")
    assert total.wer == pytest.approx(1 / 6)


def test_empty_reference() -> None:
    assert align("", "").wer == 0.0
    assert align("", "ruido").wer == float("inf")


def test_references_in_asterisk_and_tsv_formats() -> None:
    text = (
        "; Core Asterisk Sounds in Spanish\n\n"
        "agent-pass: Por favor ingrese su contrasena seguida por la tecla de numero\n"
        "beep: [tono simple]\n"
        "digits/1.wav\tuno\n"
    )
    refs = parse_references(text)
    assert refs == {
        "agent-pass": "Por favor ingrese su contrasena seguida por la tecla de numero",
        "1": "uno",
    }


def test_bad_reference_line_is_reported_with_its_number() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_references("a: uno\nesto no tiene formato\n")


def test_gzip_references(tmp_path: Path) -> None:
    path = tmp_path / "refs.txt.gz"
    path.write_bytes(gzip.compress(b"hola: hola mundo\n"))
    assert read_references(path) == {"hola": "hola mundo"}
