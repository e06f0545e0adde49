"""Steps of concurrent runs taken as one batch: continuous batching across jobs on one device.

Runs that optimise at the same time (each in its own thread, a job each) are *members* of a :class:`StepBatch`.
Every step a member hands its work to :meth:`StepBatch.run` and blocks; once every member has handed in its
step's work, one of them (the leader) runs all of it at once through the caller's ``runner`` and each member
gets its own result back. So a device takes one batched pass per step for all its jobs, not one per job.

A member joins at a step boundary (:meth:`StepBatch.member`, entered when a run starts) and leaves at one (when
it ends: done, stopped early, cancelled, failed); its optimizer, learning rate, stop rule, seed pruning, cancel
and finish stay its own. A member that is slow to hand in its step (its evaluation, a re-seeding, its consumer)
is waited for a few times the usual time between two steps (:data:`PATIENCE`); it then joins the next pass, so
no member ever waits long on one that has stopped stepping. A failure the runner puts in one member's slot is
that member's alone.
"""

from __future__ import annotations

import collections
import contextlib
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Work = TypeVar("Work")
Result = TypeVar("Result")

PATIENCE = 3.0
"""How long the members that have handed in their step wait for the others, in multiples of the usual time a
member takes between getting its step's result and handing in the next (the median of the recent ones): long
enough for the work between two steps, short enough to cost little when a member is busy elsewhere."""

_GAPS_KEPT = 64
"""How many recent between-step times the median is taken of."""


@dataclass
class _Entry(Generic[Work, Result]):
    work: Work
    arrived: float = field(default_factory=time.monotonic)
    done: bool = False
    result: Result | BaseException | None = None


class StepBatch(Generic[Work, Result]):
    """The rendezvous of the runs sharing one device's steps; thread-safe. ``patience``: see :data:`PATIENCE`.
    ``passes`` and ``largest`` count the batched passes and the most works one of them took."""

    def __init__(self, patience: float = PATIENCE):
        self.patience = patience
        self._condition = threading.Condition()
        self._members = 0
        self._pending: list[_Entry] = []
        self._busy = False
        self._gaps: collections.deque[float] = collections.deque(maxlen=_GAPS_KEPT)  # seconds between steps
        self._served = threading.local()  # when this thread's last step was served
        self._free_since = 0.0  # when the last batched pass ended
        self.passes = 0  # batched passes run (statistics)
        self.largest = 0  # the most members' work one pass took

    @property
    def members(self) -> int:
        with self._condition:
            return self._members

    @contextlib.contextmanager
    def member(self) -> Iterator[None]:
        """A run's membership: between entering and leaving, its steps are batched with the other members'."""
        with self._condition:
            self._members += 1
        try:
            yield
        finally:
            with self._condition:
                self._members -= 1
                self._condition.notify_all()  # the others no longer wait for this one

    def run(self, work: Work, runner: Callable[[Sequence[Work]], Sequence[Result | BaseException]]) -> Result:
        """This member's step ``work`` done in a batched pass: ``runner(works)`` (run by one member for all the
        work handed in) returns a result or an exception per work, in order. Returns this work's result, or
        raises its exception."""
        entry: _Entry = _Entry(work)
        served = getattr(self._served, "at", None)
        with self._condition:
            if served is not None:
                self._gaps.append(entry.arrived - served)
            self._pending.append(entry)
            self._condition.notify_all()
            while not entry.done:
                if not self._busy and self._pending and self._ready():
                    group, self._pending, self._busy = self._pending, [], True
                    break
                self._condition.wait(self._wait_time())
            else:
                self._served.at = time.monotonic()
                return _outcome(entry)
        try:
            results = list(runner([member.work for member in group]))
            if len(results) != len(group):
                raise RuntimeError(f"the runner returned {len(results)} results for {len(group)} works")
        except BaseException as error:  # noqa: BLE001 - a failure of the shared pass is every member's
            results = [error] * len(group)
        with self._condition:
            for member, result in zip(group, results):
                member.result, member.done = result, True
            self._busy, self._free_since = False, time.monotonic()
            self.passes += 1
            self.largest = max(self.largest, len(group))
            self._condition.notify_all()
        self._served.at = time.monotonic()
        return _outcome(entry)

    def _ready(self) -> bool:
        """Whether the pending work goes now: every member has handed in, or the first has waited long enough."""
        if len(self._pending) >= self._members:
            return True
        return self._waited() >= self._patience_seconds()

    def _waited(self) -> float:
        """How long the pending work has waited while no pass ran."""
        return time.monotonic() - max(self._pending[0].arrived, self._free_since)

    def _patience_seconds(self) -> float:
        return self.patience * (statistics.median(self._gaps) if self._gaps else 0.001) + 0.001

    def _wait_time(self) -> float:
        if self._busy or not self._pending:
            return 1.0  # woken by notify when the pass ends or work arrives
        return max(self._patience_seconds() - self._waited(), 0.0005)


def _outcome(entry: _Entry):
    if isinstance(entry.result, BaseException):
        raise entry.result
    return entry.result
