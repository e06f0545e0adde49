"""The server's engine, loaded once in the background while the server already answers (health NOT_SERVING)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from clipsketch.core.engine import Engine

log = logging.getLogger("clipsketch.server")


class ModelHolder:
    """The engine ``load()`` builds, on a thread of its own; ``engine`` is None until it is ready, ``error`` says
    why loading failed; ``on_ready(callback)`` callbacks get whether it succeeded."""

    def __init__(self, load: Callable[[], Engine]):
        self._load = load
        self.engine: Engine | None = None
        self.error: str | None = None
        self.ready = threading.Event()
        self._on_ready: list[Callable[[bool], None]] = []

    def start(self) -> None:
        threading.Thread(target=self._run, name="load-models", daemon=True).start()

    def on_ready(self, callback: Callable[[bool], None]) -> None:
        self._on_ready.append(callback)

    def _run(self) -> None:
        started = time.monotonic()
        try:
            self.engine = self._load()
            log.info("models loaded", extra={"fields": {"backbone": self.engine.description,
                                                       "device": str(self.engine.device),
                                                       "seconds": round(time.monotonic() - started, 2)}})
            for note in self.engine.notes:
                log.warning(note)
        except Exception as error:  # reported by GetInfo and every Sketch call
            self.error = f"loading the models failed: {error}"
            log.exception("loading the models failed")
        self.ready.set()
        for callback in self._on_ready:
            callback(self.engine is not None)
