"""Prometheus metrics, one registry per app.

Figures that live in the database (calls in progress, attempts by disposition,
webhook backlog) are read from it, so every API replica reports the same truth
whichever process made the calls, but at most once per ``DB_REFRESH_SECONDS``:
a scrape is answered from memory, so an anonymous scraper cannot make the
server query the database at will. Turn latency is derived from the stored
transcripts (bot reply time after each debtor turn), fed incrementally on the
same refresh.
The ASR real-time factor is observed in-process by whoever runs the recognizer
(``observe_asr``); in an API-only process it stays empty.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.storage import models as m
from voicebot.webhooks.delivery import backlog

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
RTF_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)
TRANSCRIPT_BATCH = 2000
DB_REFRESH_SECONDS = 15.0


def turn_latencies(transcript: list[dict[str, Any]]) -> list[float]:
    """Seconds from each debtor turn to the bot's next turn (how long the debtor waited)."""
    latencies = []
    for before, after in pairwise(transcript):
        if before.get("speaker") == "debtor" and after.get("speaker") == "bot":
            waited = (
                datetime.fromisoformat(after["at"]) - datetime.fromisoformat(before["at"])
            ).total_seconds()
            if waited >= 0:
                latencies.append(waited)
    return latencies


class _DatabaseCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.live = 0
        self.by_disposition: list[tuple[str | None, int]] = []
        self.pending = 0

    def refresh(self) -> None:
        with self.sessions() as session:
            live = session.scalar(
                select(func.count())
                .select_from(m.CallAttempt)
                .where(m.CallAttempt.status.in_(m.LIVE_ATTEMPT_STATUSES))
            )
            by_disposition = session.execute(
                select(m.CallAttempt.disposition, func.count())
                .where(m.CallAttempt.disposition.is_not(None))
                .group_by(m.CallAttempt.disposition)
            ).all()
            pending = backlog(session)
        self.live = int(live or 0)
        self.by_disposition = [(d, int(c)) for d, c in by_disposition]
        self.pending = pending

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "voicebot_calls_in_progress", "Attempts claimed, dialing or in a call", value=self.live
        )
        attempts = CounterMetricFamily(
            "voicebot_attempts", "Finished attempts by disposition", labels=["disposition"]
        )
        for disposition, count in self.by_disposition:
            attempts.add_metric([disposition or ""], count)
        yield attempts
        yield GaugeMetricFamily(
            "voicebot_webhook_backlog", "Outbox events not yet acknowledged", value=self.pending
        )


class Metrics:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.registry = CollectorRegistry()
        self.database = _DatabaseCollector(sessions)
        self.registry.register(self.database)
        self.refresh_seconds = DB_REFRESH_SECONDS
        self._refreshed_at: float | None = None
        self.clock = time.monotonic
        self.turn_latency = Histogram(
            "voicebot_turn_latency_seconds",
            "Seconds from the end of a debtor turn to the bot's reply",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.asr_rtf = Histogram(
            "voicebot_asr_real_time_factor",
            "Recognition time divided by audio duration",
            buckets=RTF_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "voicebot_http_requests",
            "API requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "voicebot_http_request_seconds",
            "API request duration",
            ["route"],
            registry=self.registry,
        )
        self._last_call_id = 0
        self._lock = threading.Lock()

    def observe_asr(self, *, audio_seconds: float, processing_seconds: float) -> None:
        if audio_seconds > 0:
            self.asr_rtf.observe(processing_seconds / audio_seconds)

    def _feed_turns(self) -> None:
        with self._lock, self.sessions() as session:
            rows = session.execute(
                select(m.CallRecord.id, m.CallRecord.transcript)
                .where(m.CallRecord.id > self._last_call_id)
                .order_by(m.CallRecord.id)
                .limit(TRANSCRIPT_BATCH)
            ).all()
            for call_id, transcript in rows:
                for seconds in turn_latencies(transcript or []):
                    self.turn_latency.observe(seconds)
                self._last_call_id = call_id

    def render(self) -> bytes:
        with self._lock:
            now = self.clock()
            due = self._refreshed_at is None or now - self._refreshed_at >= self.refresh_seconds
            if due:
                self._refreshed_at = now
        if due:
            self.database.refresh()
            self._feed_turns()
        return generate_latest(self.registry)
