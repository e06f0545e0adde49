"""Jobs and the bounded queue the servicer feeds and the device workers drain.

A :class:`Job` carries one request through its life: queued (with its position), running on a worker, finished,
failed or cancelled. Its events go into the job's own thread-safe outbox, which the RPC that submitted it reads.
The queue is first come, first served. ``workers`` groups of ``max_batch`` threads run jobs, one at a time a thread;
the jobs running in a group share each optimisation step (the group's :class:`~clipsketch.core.step_batch.StepBatch`),
so the queue feeds the batch: a job that ends frees its thread for the next job waiting, which joins the batch.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from clipsketch.core.step_batch import StepBatch

log = logging.getLogger("clipsketch.server")


class QueueFull(Exception):
    """The queue holds ``max_queue`` jobs already."""


@dataclass
class Job:
    """One sketch request. ``run(job)`` does the work (pushing events); ``cancelled`` stops it between steps,
    ``finished`` ends it early with its results so far."""

    request_id: str
    run: Callable[[Job], None]
    outbox: queue.Queue = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    batch: StepBatch | None = None  # the step batch of the group running it (set when it starts)

    def emit(self, item: object) -> None:
        self.outbox.put(item)


_END = object()
"""Put in a job's outbox after its last event."""


class JobQueue:
    """Bounded FIFO of jobs with ``workers × max_batch`` threads running them, ``max_batch`` a step batch."""

    def __init__(self, max_queue: int, workers: int = 1, max_batch: int = 1):
        self.max_queue = max_queue
        self.workers, self.max_batch = workers, max_batch
        self.batches: list[StepBatch] = [StepBatch() for _ in range(workers)]
        self.submitted = 0  # jobs accepted since start
        self._waiting: collections.deque[Job] = collections.deque()
        self._running: dict[str, Job] = {}
        self._lock = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, args=(self.batches[k // max_batch],),
                                          name=f"sketch-worker-{k}", daemon=True)
                         for k in range(workers * max_batch)]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> int:
        """Queue ``job``; returns how many jobs are ahead of it. Raises :class:`QueueFull`."""
        with self._lock:
            if self._closed:
                raise QueueFull("the server is shutting down")
            if len(self._waiting) >= self.max_queue:
                raise QueueFull(f"the queue is full ({self.max_queue} jobs waiting); try again later")
            self._waiting.append(job)
            self.submitted += 1
            position = len(self._waiting) - 1 + len(self._running)
            self._lock.notify()
            return position

    def position(self, job: Job) -> int | None:
        """Jobs ahead of a waiting ``job`` (None once it runs or is gone)."""
        with self._lock:
            try:
                return self._waiting.index(job) + len(self._running)
            except ValueError:
                return None

    def cancel(self, request_id: str) -> bool:
        """Cancel a waiting or running job; True if one had that id."""
        return self._stop(request_id, "cancelled", "job cancelled", lambda job: (job.cancelled.set(), job.emit(_END)))

    def finish(self, request_id: str, done: Callable[[Job], object]) -> bool:
        """Finish a job early: a running one keeps its results so far (its ``run`` sees ``finished``); a waiting
        one leaves the queue with ``done(job)`` as its last event. True if a job had that id."""
        return self._stop(request_id, "finished", "job finished early",
                          lambda job: (job.finished.set(), job.emit(done(job)), job.emit(_END)))

    def _stop(self, request_id: str, flag: str, message: str, end_waiting: Callable[[Job], object]) -> bool:
        """Set the event ``flag`` (``cancelled`` or ``finished``) of the running job ``request_id``; a waiting one
        leaves the queue through ``end_waiting(job)`` and is logged with ``message``. True if a job had that id."""
        with self._lock:
            for job in list(self._waiting):
                if job.request_id == request_id:
                    self._waiting.remove(job)
                    end_waiting(job)
                    log.info(message, extra={"fields": {"request_id": request_id, "while": "waiting"}})
                    return True
            job = self._running.get(request_id)
        if job is None:
            return False
        getattr(job, flag).set()
        return True

    def is_known(self, request_id: str) -> bool:
        with self._lock:
            return request_id in self._running or any(j.request_id == request_id for j in self._waiting)

    @property
    def depth(self) -> int:
        with self._lock:
            return len(self._waiting)

    def close(self, cancel_running: bool = True) -> None:
        """Refuse new jobs and cancel the waiting ones; cancel the running ones too unless ``cancel_running`` is
        False (a drain: they may end on their own, see :meth:`wait_until_idle`)."""
        with self._lock:
            self._closed = True
            waiting, self._waiting = list(self._waiting), collections.deque()
            running = list(self._running.values()) if cancel_running else []
            self._lock.notify_all()
        for job in [*waiting, *running]:
            job.cancelled.set()
        for job in waiting:
            job.emit(_END)
            log.info("job cancelled", extra={"fields": {"request_id": job.request_id, "while": "waiting",
                                                        "reason": "the server is shutting down"}})

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def wait_until_idle(self, timeout: float, interrupted: threading.Event | None = None) -> bool:
        """Wait until no job runs (True), at most ``timeout`` seconds or until ``interrupted`` is set (False)."""
        deadline = time.monotonic() + timeout
        while self.running:
            if time.monotonic() >= deadline or (interrupted is not None and interrupted.is_set()):
                return False
            time.sleep(0.1)
        return True

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))

    @property
    def slots(self) -> int:
        """Jobs run at once."""
        return self.workers * self.max_batch

    def _work(self, batch: StepBatch) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closed:
                    self._lock.wait()
                if self._closed and not self._waiting:
                    return
                job = self._waiting.popleft()
                self._running[job.request_id] = job
            job.started, job.batch = time.monotonic(), batch
            try:
                if not job.cancelled.is_set():
                    job.run(job)
            except Exception:  # a job's failure is its own; the worker lives on
                log.exception("job %s failed", job.request_id)
            finally:
                with self._lock:
                    self._running.pop(job.request_id, None)
                job.emit(_END)


def end_marker() -> object:
    return _END
