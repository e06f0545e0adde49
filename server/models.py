"""The server's engine, loaded in the background while the server already answers (not ready until loaded).

A failed load is tried again, at growing intervals, until it succeeds or the server stops: weights that appear
later (a volume filled, the network back) make the server ready without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from clipsketch.core.engine import Engine

log = logging.getLogger("clipsketch.server")

RETRY_DELAYS = (30.0, 60.0, 120.0, 300.0)
"""Seconds between the tries after a failed load; the last one repeats."""


class ModelHolder:
    """The engine ``load()`` builds, on a thread of its own.

    ``engine`` is None until loaded; ``error`` says why the last try failed (None once loaded); ``ready`` is set
    after the first try, whether it succeeded or not; ``on_loaded(callback)`` callbacks run once the engine is
    loaded, at the first try or a later one. Failed tries are repeated after ``retry_delays`` seconds (the last
    delay repeats) until :meth:`stop`.
    """

    def __init__(self, load: Callable[[], Engine], retry_delays: Sequence[float] = RETRY_DELAYS):
        if not retry_delays:
            raise ValueError("retry_delays needs at least one delay")
        self._load = load
        self._retry_delays = tuple(retry_delays)
        self.engine: Engine | None = None
        self.error: str | None = None
        self.ready = threading.Event()
        self.thread: threading.Thread | None = None
        self.next_try: float | None = None
        """When the next try starts (``time.monotonic()``) while a failed load waits for it; None otherwise."""
        self._stopped = threading.Event()
        self._on_loaded: list[Callable[[], None]] = []

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="load-models", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """No more tries: the thread ends once a try in progress ends (at once when it waits for the next)."""
        self._stopped.set()

    def on_loaded(self, callback: Callable[[], None]) -> None:
        self._on_loaded.append(callback)

    def _run(self) -> None:
        attempt = 1
        while not self._try(attempt, delay := self._delay(attempt)):
            self.next_try = time.monotonic() + delay
            self.ready.set()
            if self._stopped.wait(delay):
                return
            self.next_try = None
            attempt += 1
        self.ready.set()
        for callback in self._on_loaded:
            callback()

    def _delay(self, attempt: int) -> float:
        """Seconds to wait after the failed try number ``attempt`` (from 1)."""
        return self._retry_delays[min(attempt, len(self._retry_delays)) - 1]

    def _try(self, attempt: int, delay: float) -> bool:
        """Load once; True if the engine is loaded. A failure is kept in ``error`` and logged with the ``delay``
        until the next try."""
        started = time.monotonic()
        try:
            engine = self._load()
        except Exception as error:  # reported by GetInfo, every Sketch call and the log
            self.error = f"loading the models failed: {error}"
            log.exception("loading the models failed", extra={"fields": {
                "attempt": attempt, "retry_in_seconds": delay}})
            return False
        self.engine, self.error = engine, None
        log.info("models loaded", extra={"fields": {"backbone": engine.description, "device": str(engine.device),
                                                   "seconds": round(time.monotonic() - started, 2),
                                                   "attempt": attempt}})
        for note in engine.notes:
            log.warning(note)
        return True
