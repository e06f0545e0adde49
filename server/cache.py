"""Finished results kept for identical requests: the same photo bytes, plan and backbone replay the same events."""

from __future__ import annotations

import collections
import hashlib
import threading

from clipsketch.core.options import SketchPlan
from clipsketch.proto import sketch_pb2 as pb


def cache_key(photo: bytes, plan: SketchPlan, backbone: str) -> str:
    """What identifies a result: the photo's SHA-256, the backbone and the resolved plan in full."""
    return f"{hashlib.sha256(photo).hexdigest()}:{backbone}:{plan!r}"


class ResultCache:
    """The last ``size`` finished results (their events, progress left out), keyed by :func:`cache_key`."""

    def __init__(self, size: int = 32):
        self.size = size
        self._items: collections.OrderedDict[str, list[pb.SketchEvent]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> list[pb.SketchEvent] | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key: str, events: list[pb.SketchEvent]) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = events
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
