"""Append-only JSONL files that a run writes as it goes and a later run resumes: the predictions file of
`evaluate.py`/`predict.py` and the ledger of `generate_cot.py`.

`ResumableLog(path, key, required, keep)` is a context manager:

1. **Lock.** It takes an exclusive, non-blocking `flock` on `<path>.lock` for as long as it is open. A second run on the
   same file stops at once with `LockedError`, which names the file and the process holding it — two runs never
   interleave lines. The lock is the kernel's: it goes away with the process, even after `kill -9`.
2. **Read and repair.** Blank lines are skipped. A torn **last** line (no newline at its end, or not valid JSON: a
   kill mid-write) is cut off the file and redone. A malformed line with valid lines after it is not a torn write:
   `DataError` names the file and the line, and nothing is changed. Records for which `keep(record)` is False (e.g. a
   request the endpoint refused, to be tried again) are removed from the file. A record whose `key` repeats one
   already read is an error naming both lines. Every cut is logged.
3. **Append.** `append(record)` writes one line and flushes it; the file is fsync'ed at most once a second and on
   exit, so a crash loses at most the line being written.

`done` maps each kept record's key to the record, in file order.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

from .data import DataError

logger = logging.getLogger(__name__)


class LockedError(RuntimeError):
    """Another run holds the file."""


class ResumableLog:
    def __init__(
        self,
        path: str | Path,
        key: Callable[[dict], Hashable],
        required: Sequence[str] = (),
        keep: Callable[[dict], bool] | None = None,
    ):
        self.path = Path(path)
        self.key, self.required, self.keep = key, tuple(required), keep
        self.done: dict[Hashable, dict[str, Any]] = {}
        self._lock_fh = None
        self._fh = None
        self._last_sync = 0.0

    # ------------------------------------------------------------------------------------------------------------------
    def __enter__(self) -> ResumableLog:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self.done = self._read_and_repair()
            self._fh = self.path.open("a", encoding="utf-8")
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
        self._unlock()

    def append(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        if time.monotonic() - self._last_sync > 1.0:
            os.fsync(self._fh.fileno())
            self._last_sync = time.monotonic()
        self.done[self.key(record)] = record

    # ------------------------------------------------------------------------------------------------------------------
    def _lock(self) -> None:
        import fcntl

        lock_path = self.path.with_name(self.path.name + ".lock")
        fh = lock_path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise LockedError(
                f"{self.path} is being written by {holder}; wait for it to finish (or stop it), or choose another "
                "output file"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        self._lock_fh = fh

    def _unlock(self) -> None:
        if self._lock_fh is not None:
            import fcntl

            fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None

    def _parse(self, line: bytes) -> dict | None:
        try:
            rec = json.loads(line)
        except ValueError:
            return None
        if not isinstance(rec, dict) or any(k not in rec for k in self.required):
            return None
        return rec

    def _read_and_repair(self) -> dict[Hashable, dict[str, Any]]:
        if not self.path.exists():
            return {}
        raw = self.path.read_bytes()
        lines = raw.splitlines(keepends=True)
        last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
        done: dict[Hashable, dict[str, Any]] = {}
        where: dict[Hashable, int] = {}
        kept: list[bytes] = []
        torn = dropped = 0
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            rec = self._parse(line) if line.endswith(b"\n") or i < last else None
            if rec is None:
                if i == last:  # a write cut short by a kill: redo it
                    torn = len(line)
                    break
                problem = "not valid JSON" if self._parse_json(line) is None else f"lacks one of {list(self.required)}"
                raise DataError(self.path, f"line {i + 1}", None, f"{problem}, with complete lines after it")
            k = self.key(rec)
            if k in where:
                raise DataError(self.path, f"line {i + 1}", None, f"duplicate of line {where[k]} ({k!r})")
            where[k] = i + 1
            if self.keep is not None and not self.keep(rec):
                dropped += 1
                continue
            done[k] = rec
            kept.append(line if line.endswith(b"\n") else line + b"\n")
        if torn:
            logger.warning("%s: dropping an unfinished last line (%d bytes); it is redone", self.path, torn)
        if dropped:
            logger.warning("%s: %d records will be redone", self.path, dropped)
        if torn or dropped:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_bytes(b"".join(kept))
            tmp.replace(self.path)
        return done

    @staticmethod
    def _parse_json(line: bytes) -> Any:
        try:
            return json.loads(line)
        except ValueError:
            return None
