"""How fast understanding is, and how text2num alone would read collections amounts.

Prints: import time, per-utterance latency (mean, p50, p99, max) over every
utterance in the NLU tests, and amount exact-match of our grammar versus
``text_to_num.alpha2digit`` (lang "es") + first number, on the amount table; and
day exact-match versus ``dateparser`` (if installed) on the day table.

    .venv/bin/python bench/bench_nlu.py
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "dialog" / "nlu"))

started = time.perf_counter()
from voicebot.dialog.nlu import understand  # noqa: E402

imported = time.perf_counter() - started

from nlu_intents_cases import CASES  # noqa: E402
from test_nlu_amounts import AMOUNTS  # noqa: E402
from test_nlu_dates import CALLBACKS, DAYS  # noqa: E402
from text_to_num import alpha2digit  # noqa: E402

TODAY = date(2026, 11, 23)


def _text2num_amount(text: str) -> Decimal | None:
    digits = alpha2digit(text, "es")
    match = re.search(r"\d[\d.,]*", digits)
    if match is None:
        return None
    raw = match.group(0).rstrip(".,")
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", raw):
        raw = re.sub(r"[.,]", "", raw)
    try:
        return Decimal(raw.replace(",", "."))
    except InvalidOperation:
        return None


def main() -> None:
    utterances = [t for texts in CASES.values() for t in texts]
    utterances += [t for t, _ in AMOUNTS] + [t for t, _ in DAYS] + [t for t, _ in CALLBACKS]
    for text in utterances:  # warm up
        understand(text, today=TODAY)
    timings: list[float] = []
    for _ in range(20):
        for text in utterances:
            t0 = time.perf_counter_ns()
            understand(text, today=TODAY)
            timings.append((time.perf_counter_ns() - t0) / 1000)
    timings.sort()
    print(f"import voicebot.dialog.nlu: {imported * 1000:.1f} ms")
    print(
        f"understand(): {len(utterances)} utterances x 20, per utterance "
        f"mean {statistics.fmean(timings):.0f} us, p50 {timings[len(timings) // 2]:.0f} us, "
        f"p99 {timings[int(len(timings) * 0.99)]:.0f} us, max {timings[-1]:.0f} us"
    )
    ours = sum(understand(t, today=TODAY).amount == Decimal(a) for t, a in AMOUNTS)
    theirs = sum(_text2num_amount(t) == Decimal(a) for t, a in AMOUNTS)
    print(
        f"amount exact match on {len(AMOUNTS)} amounts: ours {ours}, text2num alpha2digit {theirs}"
    )
    ours_days = sum(understand(t, today=TODAY).date == d for t, d in DAYS)
    print(f"day exact match on {len(DAYS)} day phrases: ours {ours_days}", end="")
    try:
        import dateparser  # type: ignore[import-not-found]  # optional, not a dependency
    except ImportError:
        print("; dateparser not installed (pip install dateparser to compare)")
        return
    base = datetime(2026, 11, 23, 10, 0)
    settings = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future"}
    t0 = time.perf_counter()
    parsed = [dateparser.parse(t, languages=["es"], settings=settings) for t, _ in DAYS]
    per_phrase = (time.perf_counter() - t0) / len(DAYS) * 1000
    right = sum(p is not None and p.date() == d for p, (_, d) in zip(parsed, DAYS, strict=True))
    print(f", dateparser {dateparser.__version__} {right} ({per_phrase:.1f} ms per phrase)")


if __name__ == "__main__":
    main()
