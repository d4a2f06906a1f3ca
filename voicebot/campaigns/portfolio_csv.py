"""Portfolio CSV reading: the file's header and dialect, then its records in slices.

A large file is cut into slices of whole records, each with the number of lines before
it, so worker processes parse and validate slices in parallel while every row keeps the
line number it has in the file (quoted newlines counted). The storing process then
neither parses CSV nor ships row dictionaries to the workers: it sends text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from voicebot.campaigns.portfolio_rows import PortfolioError, RowError

_DIALECT_FIELDS = (
    "delimiter",
    "doublequote",
    "escapechar",
    "lineterminator",
    "quotechar",
    "quoting",
    "skipinitialspace",
    "strict",
)


@dataclass(frozen=True)
class CsvLayout:
    """What a reader of any slice needs: the headers and the file's dialect.

    The dialect travels as ``csv.reader`` keywords: a sniffed dialect is a class made on
    the fly, which does not pickle to a worker process.
    """

    headers: tuple[str, ...]
    dialect: tuple[tuple[str, Any], ...]

    def reader(self, text: str) -> Any:
        # newline="": the csv module handles CR, LF and CRLF itself (a bare CR was an error).
        return csv.reader(io.StringIO(text, newline=""), **dict(self.dialect))


@dataclass(frozen=True)
class CsvSlice:
    """Whole records of the file; ``lines_before``: lines of the file before the slice."""

    lines_before: int
    text: str


class _TrackedLines:
    """Lines of ``text`` from ``start``, counting the characters handed out."""

    def __init__(self, text: str, start: int = 0) -> None:
        self._lines = iter(io.StringIO(text[start:], newline=""))
        self.offset = start

    def __iter__(self) -> _TrackedLines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.offset += len(line)
        return line


def _sniff(text: str) -> tuple[tuple[str, Any], ...]:
    try:
        dialect: Any = csv.Sniffer().sniff(text[:20000], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return tuple((n, getattr(dialect, n)) for n in _DIALECT_FIELDS if hasattr(dialect, n))


def read_layout(text: str) -> tuple[CsvLayout, int, int]:
    """The layout, the offset where the records start and the lines the header took."""
    dialect = _sniff(text)
    lines = _TrackedLines(text)
    reader = csv.reader(lines, **dict(dialect))
    try:
        headers = [h.strip() for h in next(reader)]
    except StopIteration as exc:
        raise PortfolioError("the file is empty") from exc
    except csv.Error as exc:
        raise PortfolioError(f"the header line cannot be read: {exc}") from exc
    if not any(headers):
        raise PortfolioError("the first line must name the columns")
    return CsvLayout(tuple(headers), dialect), lines.offset, reader.line_num


def _line_ends(text: str, start: int, end: int) -> int:
    """Line ends as the csv module counts them: LF, CR and CRLF."""
    return (
        text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)
    )


def slices(text: str, records: int) -> tuple[CsvLayout, Iterator[CsvSlice]]:
    """The layout and the records in slices of about ``records`` records each."""
    layout, body, header_lines = read_layout(text)
    dialect = dict(layout.dialect)
    quoting = [c for c in (dialect.get("quotechar"), dialect.get("escapechar")) if c]
    if any(text.find(c, body) != -1 for c in quoting):
        return layout, _parsed_slices(text, layout, body, header_lines, records)
    return layout, _line_slices(text, body, header_lines, records)


def _line_slices(text: str, start: int, lines_before: int, records: int) -> Iterator[CsvSlice]:
    """No quote in the records: every line end ends a record, so cut at line ends."""
    while start < len(text):
        end = start
        for _ in range(records):
            end = text.find("\n", end) + 1
            if end == 0:
                end = len(text)
                break
        yield CsvSlice(lines_before, text[start:end])
        lines_before += _line_ends(text, start, end)
        start = end


def _parsed_slices(
    text: str, layout: CsvLayout, start: int, lines_before: int, records: int
) -> Iterator[CsvSlice]:
    """Quotes may hold line ends: find the records' ends by reading the file once."""
    lines = _TrackedLines(text, start)
    reader = csv.reader(lines, **dict(layout.dialect))
    cut, cut_lines, count = start, lines_before, 0
    while True:
        try:
            next(reader)
        except StopIteration:
            break
        except csv.Error:
            pass  # the slice's reader meets the same error at the same place
        count += 1
        if count == records:
            yield CsvSlice(cut_lines, text[cut : lines.offset])
            cut, cut_lines, count = lines.offset, lines_before + reader.line_num, 0
    if cut < len(text):
        yield CsvSlice(cut_lines, text[cut:])


def slice_rows(
    layout: CsvLayout, piece: CsvSlice
) -> Iterator[tuple[int, dict[str, str] | RowError]]:
    """(line number in the file, row or error) for each record of ``piece``; blank lines skipped."""
    headers = layout.headers
    reader = layout.reader(piece.text)
    start = piece.lines_before + 1
    while True:
        line = start
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a cell over the csv module's 128 KiB field limit
            start = piece.lines_before + reader.line_num + 1
            yield line, RowError(line, "*", f"the line cannot be read: {exc}")
            continue
        start = piece.lines_before + reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(headers):
            yield line, RowError(line, "*", f"expected {len(headers)} columns, found {len(record)}")
            continue
        yield line, dict(zip(headers, record, strict=True))


def read_csv(text: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str] | RowError]]]:
    """Headers and (line number, row or error) pairs; lines count as in the file."""
    layout, body, header_lines = read_layout(text)
    return list(layout.headers), slice_rows(layout, CsvSlice(header_lines, text[body:]))
