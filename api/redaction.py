"""Personal data never reaches the logs: phone numbers and document ids are masked.

A ``logging.Filter`` rewrites each record's final message, so it works for
every logger (uvicorn's access log included) without callers remembering to.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

# +57 310 123 4567, 3101234567, (305) 555-0100 … and ids such as 52.111.234 or 12345678-9.
_PHONE = re.compile(r"(?:(?<![\w.])[+(]?|%2[Bb])\d[\d \-()]{6,}\d(?![\w])")  # %2B: a URL's +
_DOCUMENT = re.compile(
    r"\b\d{1,3}(?:[.\-]\d{3}){2,}(?:-[\dkK])?\b"  # 52.111.234, 12.345.678-K
    r"|\b\d{3}\.\d{3}\.\d{4}\b"  # 310.123.4567
    r"|\b\d{6,}(?:-[\dkK])?\b"  # bare digits
)

# Dates and IPv4 addresses look like numbers but identify nobody.
_NOT_PERSONAL = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,3}(?:\.\d{1,3}){3}")


_URL_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}|\d\+\d")
# SQLAlchemy appends the bound values of a failed statement: debtors' names, phones, ids.
_SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*")


def mask_pii(text: str) -> str:
    """Keep the last two digits, enough to tell records apart when debugging.

    URL-encoded text (``%2B57+310+123+4567`` in an access-log path) is decoded first,
    so an encoded separator cannot hide a number; SQL parameters are dropped whole.
    """
    text = _SQL_PARAMETERS.sub("[parameters: redacted]", text)
    if _URL_ENCODED.search(text):
        text = unquote_plus(text)

    def mask(match: re.Match[str]) -> str:
        if _NOT_PERSONAL.fullmatch(match.group().strip()):
            return match.group()
        digits = re.sub(r"\D", "", match.group())
        return "***" + digits[-2:]

    return _DOCUMENT.sub(mask, _PHONE.sub(mask, text))


class PiiFilter(logging.Filter):
    """Masks the message template and each string argument, keeping the record's shape
    (uvicorn's access formatter unpacks ``record.args``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text: the traceback is rendered once, masked.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_pii(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_pii(record.stack_info)
        if isinstance(record.msg, str):
            record.msg = mask_pii(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_pii(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: mask_pii(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


def install(*logger_names: str) -> PiiFilter:
    """Attach one filter to the named loggers' handlers and to the loggers themselves."""
    pii = PiiFilter()
    for name in logger_names or ("",):
        logger = logging.getLogger(name)
        if not any(isinstance(f, PiiFilter) for f in logger.filters):
            logger.addFilter(pii)
        for handler in logger.handlers:
            if not any(isinstance(f, PiiFilter) for f in handler.filters):
                handler.addFilter(pii)
    return pii
