"""Where recording files live: a small interface, a local directory, an S3-compatible bucket.

Keys are opaque and sharded (``2026/12/02/3f/3f9c….flac``: day, then the first byte of a
random UUID), never made of debtor data, so a listing of the store reveals nothing and
no directory grows past a few thousand files. During the call the writer writes to
``spool_path(key)``; ``commit`` makes it durable where it belongs (local: fsync of the
file and its directory; S3: upload, then the spool copy is removed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from voicebot.recording.writer import fsync_file

CHUNK = 64 * 1024


def new_key(now: datetime) -> str:
    name = uuid.uuid4().hex
    return f"{now:%Y/%m/%d}/{name[:2]}/{name}.flac"


def _checked(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"not a recording key: {key!r}")
    return key


class RecordingStore(Protocol):
    name: str  # stored with each recording: which backend holds it

    def spool_path(self, key: str) -> Path:
        """Where the call's writer puts the file while the call runs."""
        ...

    def commit(self, key: str) -> None:
        """Make the finished (or interrupted) file durable in the store."""
        ...

    def size(self, key: str) -> int | None:
        """Bytes stored under ``key``; None if there is no such file."""
        ...

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` inclusive, in chunks."""
        ...

    def delete(self, key: str) -> bool:
        """Remove the file; False if it was already gone."""
        ...


class LocalStore:
    """A directory on the worker's disk (or a shared mount the API also reads)."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / _checked(key)

    def spool_path(self, key: str) -> Path:
        return self.path(key)

    def commit(self, key: str) -> None:
        fsync_file(self.path(key))

    def size(self, key: str) -> int | None:
        path = self.path(key)
        return path.stat().st_size if path.is_file() else None

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        with self.path(key).open("rb") as handle:
            handle.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = handle.read(min(CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk

    def delete(self, key: str) -> bool:
        path = self.path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True


class S3Store:
    """An S3-compatible bucket through boto3; the file is spooled locally during the call.

    Tested against a loopback S3 server (moto) for the wire format: upload, ranged GET,
    HEAD, DELETE. Credentials come from boto3's usual chain (environment, profile).
    """

    name = "s3"

    def __init__(
        self, bucket: str, *, spool: Path, endpoint_url: str | None = None, client: Any = None
    ) -> None:
        import boto3

        self.bucket = bucket
        self.spool = spool
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url or None)

    def spool_path(self, key: str) -> Path:
        return self.spool / _checked(key)

    def commit(self, key: str) -> None:
        path = self.spool_path(key)
        self.client.upload_file(
            str(path), self.bucket, key, ExtraArgs={"ContentType": "audio/flac"}
        )
        path.unlink()

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=_checked(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        reply = self.client.get_object(
            Bucket=self.bucket, Key=_checked(key), Range=f"bytes={start}-{end}"
        )
        body = reply["Body"]
        try:
            yield from iter(lambda: body.read(CHUNK), b"")
        finally:
            body.close()

    def delete(self, key: str) -> bool:
        if self.size(key) is None:
            return False
        self.client.delete_object(Bucket=self.bucket, Key=_checked(key))
        return True
