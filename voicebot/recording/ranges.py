"""HTTP byte ranges (RFC 9110 §14) for seeking in a recording: one range, or the whole file."""

from __future__ import annotations


class RangeNotSatisfiable(Exception):
    """The range starts past the end of the file (HTTP 416)."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte a ``Range`` header asks for; None: send the whole file.

    A header this server does not honour (another unit, several ranges, bad syntax) is
    ignored as the RFC allows: the whole file is sent with 200.
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    if not dash:
        return None
    try:
        first = int(first_text) if first_text else None
        last = int(last_text) if last_text else None
    except ValueError:
        return None
    if first is None:  # suffix: the last N bytes
        if last is None:
            return None
        if last <= 0:
            raise RangeNotSatisfiable(f"bytes=-{last} asks for nothing")
        return max(0, size - last), size - 1
    if first >= size:
        raise RangeNotSatisfiable(f"byte {first} is past the end ({size} bytes)")
    if first < 0 or (last is not None and last < first):
        return None
    return first, size - 1 if last is None else min(last, size - 1)
