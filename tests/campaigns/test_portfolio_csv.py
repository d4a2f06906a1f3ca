"""A file cut into slices for the workers reads exactly as the whole file does, line numbers included."""

from __future__ import annotations

import pytest

from voicebot.campaigns.portfolio_csv import read_csv, slice_rows, slices
from voicebot.campaigns.portfolio_rows import RowError

PLAIN = (
    "id,nombre,saldo\n"
    "C1,Ana,100\n"
    "\n"  # a blank line: skipped, but counted
    "C2,Luis,200\r\n"  # CRLF
    "C3,Rosa\n"  # wrong column count
    "C4,Marta,300\r"  # a bare CR ends a line too
    "C5,Jorge,400\n"
    "C6,Paola,500"  # no final line end
)
QUOTED = (
    "id,nombre,saldo\n"
    'C1,"Ana\nPérez",100\n'  # a name over two lines
    'C2,"Luis ""el Flaco""",200\n'
    "C3,Rosa,300\n"
    '"C4","Marta\r\nRuiz\nDíaz","1,200"\n'  # three lines, CRLF inside
    "C5,Jorge\n"  # wrong column count
    "\n"
    'C6,"Paola",500\n'
)


def whole(text: str) -> list[tuple[int, dict[str, str] | RowError]]:
    return list(read_csv(text)[1])


@pytest.mark.parametrize("text", [PLAIN, QUOTED], ids=["line-ends", "quoted-line-ends"])
@pytest.mark.parametrize("records", [1, 2, 3, 100])
def test_slices_read_as_the_whole_file(text: str, records: int) -> None:
    layout, pieces = slices(text, records)
    sliced = [row for piece in pieces for row in slice_rows(layout, piece)]
    assert sliced == whole(text)


def test_rows_keep_their_line_in_the_file() -> None:
    assert [
        (line, row if isinstance(row, RowError) else row["id"]) for line, row in whole(PLAIN)
    ] == [
        (2, "C1"),
        (4, "C2"),
        (5, RowError(5, "*", "expected 3 columns, found 2")),
        (6, "C4"),
        (7, "C5"),
        (8, "C6"),
    ]
    rows = whole(QUOTED)
    assert [line for line, _ in rows] == [2, 4, 5, 6, 9, 11]
    assert rows[3][1] == {"id": "C4", "nombre": "Marta\r\nRuiz\nDíaz", "saldo": "1,200"}


def test_a_cell_over_the_csv_field_limit_is_an_error_on_its_line_in_any_slice() -> None:
    text = 'id,nombre,saldo\nC1,Ana,100\nC2,"' + "x" * 200_000 + '",200\nC3,Rosa,300\n'
    layout, pieces = slices(text, 1)
    sliced = [row for piece in pieces for row in slice_rows(layout, piece)]
    assert sliced == whole(text)
    assert [line for line, row in sliced if isinstance(row, RowError)] == [3]
    assert [row["id"] for _, row in sliced if not isinstance(row, RowError)] == ["C1", "C3"]
