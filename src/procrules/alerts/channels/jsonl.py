"""JSON Lines file: one JSON object per notification, appended (O_APPEND) and synced (fsync)
before the send counts as done. A line torn by a crash is closed off before the next one, so a
reader loses at most that line and never glues two together.
"""

from __future__ import annotations

import datetime as dt
import errno
import itertools
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .base import DeliveryResult, Notification, Outcome, Request
from .http import BaseChannel

# Errors that may pass (a full disk, a busy or flaky device); anything else needs a person.
WRITE_BYTES = 1 << 16
TEMPORARY = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EAGAIN, errno.EINTR, errno.EBUSY}


class JsonlChannel(BaseChannel):
    type = "jsonl"

    def __init__(
        self,
        name: str,
        settings: Mapping[str, Any],
        env: Mapping[str, str],
        base_dir: Path | None = None,
    ) -> None:
        super().__init__(name, settings, env)
        path = Path(settings["path"]).expanduser()
        self.path = path if path.is_absolute() or base_dir is None else base_dir / path

    def chunks(self, notification: Notification, now: dt.datetime) -> Iterator[bytes]:
        """The line without its newline, an alert at a time (a long stored message is never
        held whole, as objects or as bytes)."""
        head = {"channel": self.name, "written_at": now.isoformat()}
        return notification.json_chunks(head)

    def line(self, notification: Notification, now: dt.datetime) -> bytes:
        return b"".join(self.chunks(notification, now)) + b"\n"

    def render(self, notification: Notification, *, now: dt.datetime | None = None) -> Request:
        body = self.line(notification, now or notification.created_at)
        return Request(self.path.absolute().as_uri(), {}, body, method="APPEND")

    def send(
        self, notification: Notification, *, client: Any = None, now: dt.datetime
    ) -> DeliveryResult:
        if not self.limiter.try_acquire(now):
            return self.rate_limited(now)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            return self._error(exc, now)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                os.write(fd, b"\n")  # close off a line torn by an earlier crash
            # a long stored message is written as it is read, WRITE_BYTES at a time, never
            # held whole; a crash part-way leaves a torn line, closed off by the next send
            buffer = bytearray()
            for chunk in itertools.chain(self.chunks(notification, now), [b"\n"]):
                buffer += chunk
                if len(buffer) >= WRITE_BYTES:
                    _write_all(fd, buffer)
            _write_all(fd, buffer)
            if self.settings["fsync"]:
                os.fsync(fd)
        except OSError as exc:
            return self._error(exc, now)
        finally:
            os.close(fd)
        return self.result("sent", "sent", now)

    def _error(self, exc: OSError, now: dt.datetime) -> DeliveryResult:
        outcome: Outcome = "retry" if exc.errno in TEMPORARY else "failed"
        reason = errno.errorcode.get(exc.errno or 0, "os_error").lower()
        return self.result(outcome, reason, now, detail=f"{self.path}: {exc.strerror or exc}")


def _write_all(fd: int, buffer: bytearray) -> None:
    view = memoryview(buffer)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    view.release()
    buffer.clear()
