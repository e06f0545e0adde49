"""The batch manifest, ``OUT/clipsketch-batch.jsonl``: one JSON record per sketched or failed photo, so that a
rerun resumes.

A record holds the photo (its place in the output tree), its source path, the SHA-256 of its content, the options,
``status`` (``done`` or ``failed``), the outputs (relative to the output folder), the loss per stroke count, the
seconds it took, the server that ran it, and for a failure the message and whether trying again may help. Records
are appended and flushed as photos end; the last one for a photo wins, and opening the manifest rewrites it with
one record per photo. One batch at a time may write to an output folder (a lock file beside the manifest).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from filelock import FileLock, Timeout

MANIFEST_NAME = "clipsketch-batch.jsonl"
LOCK_NAME = ".clipsketch-batch.lock"

DONE, FAILED = "done", "failed"


class Manifest:
    """The records of the output folder ``out``, open for appending. Use as a context manager (it holds the
    folder's lock); ValueError when another batch holds it."""

    def __init__(self, out: Path):
        self.out = out
        self.path = out / MANIFEST_NAME
        self.records: dict[str, dict] = {}
        self.unreadable = 0  # lines that were not a record (a batch killed mid-line leaves at most one)
        self._lock = FileLock(str(out / LOCK_NAME))
        self._file = None

    def __enter__(self) -> Manifest:
        self.out.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise ValueError(f"another clipsketch batch is writing to {self.out} (lock {self._lock.lock_file})") from None
        self._read()
        self._compact()
        self._file = open(self.path, "a", encoding="utf-8")
        return self

    def __exit__(self, *_exc) -> None:
        if self._file is not None:
            self._file.close()
        self._lock.release()

    def previous(self, photo: str) -> dict | None:
        """The last record of ``photo`` (its place in the output tree), if any."""
        return self.records.get(photo)

    def add(self, record: dict) -> None:
        """Append ``record`` (``photo`` and ``status`` required; ``time`` added) and push it to the disk."""
        record = {**record, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.records[record["photo"]] = record

    def _read(self) -> None:
        if not self.path.exists():
            return
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                self.records[record["photo"]] = record
            except (ValueError, KeyError, TypeError):
                self.unreadable += int(bool(line.strip()))

    def _compact(self) -> None:
        """Rewrite the manifest with one record per photo (atomically: a temporary file, then a rename)."""
        if not self.path.exists():
            return
        temporary = self.path.with_name(f".{MANIFEST_NAME}.tmp")
        temporary.write_text("".join(json.dumps(r) + "\n" for r in self.records.values()), encoding="utf-8")
        os.replace(temporary, self.path)
