"""The worker's write-ahead journal: what a call decided is on local disk before the database.

A debtor's "no me vuelvan a llamar", a promise or a finished call's outcome must
survive the database being down and the worker being killed. Each is appended to
a JSON-lines file on the worker's own disk and fsynced before the database write
is even tried; once the database has it, an acknowledgement line follows. A worker
that starts takes over every journal in the directory whose owner is dead (their
``flock`` is free) and replays what was never acknowledged; every replayed write is
idempotent (keyed by the attempt), so replaying twice changes nothing.

A torn last line (killed mid-append) was never fsynced, so its write was never
attempted either: it is skipped.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

ACTION = "action"  # a record action decided mid-call (opt-out, promise, dispute, invalid phone)
OUTCOME = "outcome"  # a finished call's outcome
FAILURE = "failure"  # a dial that never reached a conversation
COMPACT_AT_BYTES = 4 << 20  # a journal with nothing pending is emptied past this size


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    kind: str
    attempt_id: int
    debtor_id: int
    worker: str  # the lease holder that decided it
    at: str  # the dialer's clock, ISO 8601
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "attempt_id": self.attempt_id,
            "debtor_id": self.debtor_id,
            "worker": self.worker,
            "at": self.at,
            "data": self.data,
        }


class Journal:
    """One worker's journal file; ``directory=None`` keeps it in memory (tests, demos)."""

    def __init__(self, directory: Path | None, worker_id: str) -> None:
        self.worker_id = worker_id
        self.directory = directory
        self._pending: dict[int, Entry] = {}
        self._seq = 0
        self._file: IO[str] | None = None
        self.path: Path | None = None
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", worker_id)
            self.path = directory / f"{safe}.{uuid.uuid4().hex[:8]}.jsonl"
            # Locked under a private name first: another worker must never see it unlocked
            # (it would take it for a dead worker's journal and remove it).
            making = self.path.with_suffix(".new")
            self._file = making.open("a", encoding="utf-8")
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            making.rename(self.path)
            _fsync_dir(directory)

    def append(
        self, kind: str, *, attempt_id: int, debtor_id: int, at: str, data: dict[str, Any]
    ) -> Entry:
        """Durably record a decision; returns once it is on disk."""
        self._seq += 1
        entry = Entry(self._seq, kind, attempt_id, debtor_id, self.worker_id, at, data)
        self._pending[entry.seq] = entry
        if self._file is not None:
            self._file.write(json.dumps(entry.to_json(), ensure_ascii=False) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        return entry

    def acknowledge(self, entry: Entry) -> None:
        """The database has it. Not fsynced: a lost acknowledgement only means a replay."""
        self._pending.pop(entry.seq, None)
        if self._file is None:
            return
        if not self._pending and self._file.tell() > COMPACT_AT_BYTES:
            # Everything is in the database: the history is worth nothing, start over.
            self._file.truncate(0)
            self._file.seek(0)
            return
        self._file.write(json.dumps({"ack": entry.seq}) + "\n")
        self._file.flush()

    def pending(self) -> list[Entry]:
        return sorted(self._pending.values(), key=lambda e: e.seq)

    def opted_out_debtors(self) -> set[int]:
        """Debtors who said stop on this worker's calls while the database could not hear it."""
        return {
            e.debtor_id
            for e in self._pending.values()
            if (e.kind == ACTION and e.data.get("action") == "opt_out")
            or (e.kind == OUTCOME and e.data.get("flags", {}).get("opt_out"))
        }

    def close(self) -> None:
        """Release the file; an empty journal is removed (nothing left to replay)."""
        if self._file is None or self.path is None:
            return
        self._file.close()
        self._file = None
        if not self._pending:
            self.path.unlink(missing_ok=True)


class Orphan:
    """A dead worker's journal, locked by us while we replay it."""

    def __init__(self, path: Path, handle: IO[str], entries: list[Entry]) -> None:
        self.path = path
        self.entries = entries
        self._handle = handle

    def release(self) -> None:
        """Everything replayed: the journal is no longer needed."""
        self.path.unlink(missing_ok=True)
        self._handle.close()

    def keep(self) -> None:
        """Replay failed (database down): leave it for the next try."""
        self._handle.close()


def orphans(directory: Path | None, *, own: Path | None = None) -> list[Orphan]:
    """The journals in ``directory`` whose worker is gone (nobody holds their lock)."""
    if directory is None or not directory.is_dir():
        return []
    found: list[Orphan] = []
    for path in sorted(directory.glob("*.jsonl")):
        if own is not None and path == own:
            continue
        try:
            handle = path.open("r+", encoding="utf-8")
        except FileNotFoundError:
            continue  # another worker adopted and released it meanwhile
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()  # its worker is alive, or another worker is replaying it
            continue
        if not path.exists():
            handle.close()
            continue
        found.append(Orphan(path, handle, read_pending(handle.read())))
    return found


def read_pending(text: str) -> list[Entry]:
    """The entries of a journal's text that were never acknowledged."""
    entries: dict[int, Entry] = {}
    for number, line in enumerate(text.splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            log.warning("journal line %s is torn (killed mid-append): skipped", number)
            continue
        if "ack" in row:
            entries.pop(int(row["ack"]), None)
            continue
        entry = Entry(
            int(row["seq"]),
            str(row["kind"]),
            int(row["attempt_id"]),
            int(row["debtor_id"]),
            str(row["worker"]),
            str(row["at"]),
            dict(row["data"]),
        )
        entries[entry.seq] = entry
    return sorted(entries.values(), key=lambda e: e.seq)


def _fsync_dir(directory: Path) -> None:
    """The new file's name is durable too, not only its contents."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
