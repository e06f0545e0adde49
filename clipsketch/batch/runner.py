"""Running a batch: photos become jobs, servers' workers take them, results become files and manifest records.

Each server keeps as many jobs in flight as it has workers (``GetInfo``). A job that fails in a way another server
may get past (the server died, dropped the connection, is full or draining) goes back to the queue with a backoff
and a preference for another server, at most ``retries`` times; a photo the server refuses is recorded as failed
and the batch goes on. A server that went down takes no job until its health says it is ready again; when no
server has been ready for ``patience`` seconds, the waiting jobs are recorded as failed (a rerun tries them again).

Ctrl-C (or SIGTERM) once: the jobs in flight finish and are recorded, no new one starts. Twice: they are cancelled
(nothing of theirs is written; a rerun does them).
"""

from __future__ import annotations

import collections
import hashlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from clipsketch.batch import PATIENCE, RETRIES
from clipsketch.batch.manifest import DONE, FAILED, Manifest
from clipsketch.batch.photos import Photo, collision, content_hash
from clipsketch.core.options import SketchOptions
from clipsketch.outputs import write_sketches
from clipsketch.session import Cancelled, Fatal, Outcome, Refused, Retry, run
from clipsketch.session import Job as Attempt  # one try of a batch's job: its Finish and Cancel

FIRST_BACKOFF, MAX_BACKOFF = 0.5, 15.0
"""Seconds a job waits before its first retry, and at most (doubling between)."""
MAX_PROBE_WAIT = 2.0
"""Seconds at most between health checks of a server that is down (they are cheap: it is back soon after)."""
RESOLVE_EVERY = 15.0
"""Seconds between looking up ``dns:///`` names again (pods come and go)."""


@dataclass(eq=False)
class Job:
    photo: Photo
    attempts: int = 0
    not_before: float = 0.0
    avoid: str | None = None  # the server it last failed on
    attempt: Attempt = field(default_factory=Attempt)


@dataclass
class Summary:
    """What a batch did: photos sketched and failed this time, skipped because done before (or failed before,
    unchanged), whether it was interrupted, and an error that stopped it."""

    sketched: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0
    failed_before: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False
    fatal: str | None = None


def _backoff(attempts: int) -> float:
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


class _Board:
    """The jobs: waiting ones, and how many are in flight. Workers ``take``; the main loop ``wait``s."""

    def __init__(self):
        self._waiting: collections.deque[Job] = collections.deque()
        self.in_flight: set[Job] = set()
        self._lock = threading.Condition()
        self.stopping = False

    def add(self, job: Job) -> None:
        with self._lock:
            self._waiting.append(job)
            self._lock.notify_all()

    def take(self, server: str, others_ready: Callable[[], bool], timeout: float = 0.5) -> Job | None:
        """A job ready to run here (one that last failed here only when no other server is ready), or None."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self.stopping:
                now = time.monotonic()
                for job in self._waiting:
                    if job.not_before <= now and (job.avoid != server or not others_ready()):
                        self._waiting.remove(job)
                        self.in_flight.add(job)
                        return job
                if now >= deadline:
                    return None
                self._lock.wait(min(deadline - now, 0.1))
            return None

    def ended(self, job: Job) -> None:
        with self._lock:
            self.in_flight.discard(job)
            self._lock.notify_all()

    def hand_over(self, job: Job, server: str, others_ready: Callable[[], bool]) -> Job | None:
        """``job`` ends and the next job ready to run here (as ``take``, without waiting) starts, in one step."""
        with self._lock:
            self.ended(job)
            return self.take(server, others_ready, timeout=0)

    def again(self, job: Job, server: str) -> None:
        """Back in line after failing on ``server``."""
        job.not_before = time.monotonic() + _backoff(job.attempts)
        job.avoid = server
        job.attempt = Attempt()
        with self._lock:
            self.in_flight.discard(job)
            self._waiting.append(job)
            self._lock.notify_all()

    def drain_waiting(self) -> list[Job]:
        with self._lock:
            waiting, self._waiting = list(self._waiting), collections.deque()
            return waiting

    def stop(self) -> None:
        with self._lock:
            self.stopping = True
            self._lock.notify_all()

    @property
    def idle(self) -> bool:
        with self._lock:
            return not self._waiting and not self.in_flight

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)


class _Server:
    """A server's state in the batch: ready or down (until when), its workers and their threads."""

    def __init__(self, server):
        self.server = server
        self.label = server.label
        self.ready = False
        self.retired = False  # no longer listed (DNS): its workers end after their job
        self.down_until = 0.0
        self.backoff = FIRST_BACKOFF
        self.workers = 1
        self.threads: list[threading.Thread] = []
        self.last_error = "not reached yet"
        self.reached = False  # ready at least once

    def went_down(self, error: str) -> None:
        self.ready = False
        self.last_error = error
        self.down_until = time.monotonic() + self.backoff
        self.backoff = min(self.backoff * 2, MAX_PROBE_WAIT)

    def came_up(self, workers: int) -> None:
        self.ready, self.workers, self.backoff = True, workers, FIRST_BACKOFF


class Batch:
    """One batch into the output folder ``out`` (whose :class:`Manifest` is open).

    Args:
        sketch_options: what every photo is sketched with.
        options: the options as the manifest records them (a dict of JSON values): a photo done with other options
            is done again.
        connect: ``target → backend`` (:mod:`~clipsketch.session`) for :func:`~clipsketch.batch.fleet.resolve`
            targets (None: the backend ``local`` runs everything in this process).
        resolve: the current targets (called again every :data:`RESOLVE_EVERY` seconds).
        png: write a PNG beside each SVG.
        animate: write a self-drawing SVG beside each (``NAME-N-strokes-animated.svg``).
        say: print a line (above the progress bar).
    """

    def __init__(self, out: Path, manifest: Manifest, sketch_options: SketchOptions, options: dict, png: bool,
                 say: Callable[[str], None], animate: bool = False, connect: Callable | None = None,
                 resolve: Callable[[], Sequence] | None = None, local=None,
                 retries: int = RETRIES, patience: float = PATIENCE, retry_failed: bool = False):
        self.out, self.manifest, self.options, self.png, self.say = out, manifest, options, png, say
        self.sketch_options = sketch_options
        self.animate = animate
        self.connect, self.resolve, self.local = connect, resolve, local
        self.retries, self.patience, self.retry_failed = retries, patience, retry_failed
        self.board = _Board()
        self.summary = Summary()
        self.servers: dict[object, _Server] = {}
        self.bar = None
        self._known: dict[str, tuple[int, int, str]] = {}  # photo → (size, mtime_ns, sha256): hash once
        self._sightings: dict[str, tuple[int, int]] = {}  # watching: photo → (size, mtime_ns) at the last look
        self._record_lock = threading.Lock()
        self._last_ready = time.monotonic()
        self._interrupts = 0
        self._said: set[str] = set()
        self._owners: dict[PurePosixPath, Photo] = {}  # outputs' place (the photo's path without suffix) → photo

    # --- planning -------------------------------------------------------------------------------------------

    def plan(self, photos: Sequence[Photo], watching: bool = False) -> int:
        """Queue the photos that need sketching; the rest are skipped. ``watching``: a later look at the inputs,
        where only photos new or changed since this run saw them count, once they are the same on two looks
        (a photo still being copied in is left for later). Returns how many were queued."""
        queued = 0
        for photo in photos:
            key = str(photo.relative)
            owner = self._owners.setdefault(photo.relative.with_suffix(""), photo)
            if owner.relative != photo.relative:  # a photo seen before writes these outputs
                self._say_once(f"left out: {collision(owner, photo)}")
                continue
            try:
                stat = photo.path.stat()
                look = (stat.st_size, stat.st_mtime_ns)
                known = self._known.get(key)
                if known and known[:2] == look:
                    continue  # seen already this run, unchanged
                if watching and self._sightings.get(key) != look:
                    self._sightings[key] = look  # new or changing: again at the next look
                    continue
                digest = content_hash(photo.path)
            except OSError as error:
                self._record_failure(photo, f"cannot read it: {error}", retryable=True, server=None, queued=False)
                continue
            self._known[key] = (stat.st_size, stat.st_mtime_ns, digest)
            if self._is_current(key, digest):
                if not watching:
                    previous = self.manifest.previous(key)
                    if previous["status"] == DONE:
                        self.summary.skipped += 1
                    else:
                        self.summary.failed_before.append((key, previous.get("error", "")))
                continue
            self.board.add(Job(photo))
            queued += 1
        if self.bar is not None and queued:
            self.bar.total += queued
            self.bar.refresh()
        return queued

    def _is_current(self, key: str, digest: str) -> bool:
        """Whether the manifest's record of ``key`` is for this content and these options, and stands: done with
        every output in place, or refused (not worth trying again unless asked)."""
        previous = self.manifest.previous(key)
        if not previous or previous.get("sha256") != digest or previous.get("options") != self.options:
            return False
        if previous["status"] == DONE:
            return all((self.out / output).is_file() for output in previous.get("outputs", []))
        return not previous.get("retryable", True) and not self.retry_failed

    # --- running --------------------------------------------------------------------------------------------

    def run(self, rescan: Callable[[], Sequence[Photo]] | None = None, every: float = 2.0) -> Summary:
        """Run the queued jobs to the end (with ``rescan``: keep planning what it returns every ``every`` seconds
        until interrupted). Returns the :class:`Summary`."""
        from tqdm import tqdm

        self.bar = tqdm(total=self.board.waiting, unit="photo", file=sys.stderr, dynamic_ncols=True,
                        desc="sketched", disable=None)
        previous = {number: signal.signal(number, self._interrupted) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._refresh_servers()
            next_scan = next_resolve = time.monotonic()
            while True:
                time.sleep(0.2)
                now = time.monotonic()
                if self.summary.fatal or (self.board.stopping and not self.board.in_flight):
                    break
                if rescan is not None and not self.board.stopping and now >= next_scan:
                    self._look_again(rescan)
                    next_scan = now + every
                elif rescan is None and self.board.idle:
                    break
                if self.resolve is not None and now >= next_resolve:
                    self._refresh_servers()
                    next_resolve = now + RESOLVE_EVERY
                self._give_up_when_no_server_is_ready()
        finally:
            self.board.stop()
            for state in self.servers.values():
                for thread in state.threads:
                    thread.join()
                state.server.close()
            for number, handler in previous.items():
                signal.signal(number, handler)
            self.bar.close()
        return self.summary

    def _look_again(self, rescan: Callable[[], Sequence[Photo]]) -> None:
        """Plan what the inputs hold now; a problem with them (a folder gone) is said once, the watch goes on."""
        try:
            self.plan(rescan(), watching=True)
        except (OSError, ValueError) as error:
            self._say_once(f"watching: {error}")

    def _say_once(self, line: str) -> None:
        if line not in self._said:
            self._said.add(line)
            self.say(line)

    def _interrupted(self, _number, _frame) -> None:
        self._interrupts += 1
        self.summary.interrupted = True
        if self._interrupts == 1:
            self.board.stop()
            self.say(f"stopping: finishing the {len(self.board.in_flight)} photo(s) in flight (Ctrl-C again to "
                     "cancel them)")
        else:
            self.say("cancelling the photos in flight")
            for job in list(self.board.in_flight):
                job.attempt.cancel()

    def _refresh_servers(self) -> None:
        """Start workers for servers not seen before; retire those no longer listed."""
        if self.local is not None:
            if not self.servers:
                self._start(self.local, self.local)
            return
        targets = list(self.resolve())
        for target in targets:
            if target not in self.servers:
                self._start(target, self.connect(target))
        for target, state in self.servers.items():
            listed = target in targets
            if listed and state.retired:  # back in the list: its workers ended, start again
                state.retired, state.ready = False, False
                state.threads = [t for t in state.threads if t.is_alive()]
                if not state.threads:
                    self._add_worker(state)
            state.retired = not listed

    def _start(self, key, server) -> None:
        state = _Server(server)
        self.servers[key] = state
        self._add_worker(state)

    def _add_worker(self, state: _Server) -> None:
        thread = threading.Thread(target=self._work, args=(state, len(state.threads)), daemon=True,
                                  name=f"batch-{state.label}-{len(state.threads)}")
        state.threads.append(thread)
        thread.start()

    def _others_ready(self, state: _Server) -> bool:
        return any(s.ready and not s.retired for s in list(self.servers.values()) if s is not state)

    def _give_up_when_no_server_is_ready(self) -> None:
        now = time.monotonic()
        if any(s.ready and not s.retired for s in self.servers.values()):
            self._last_ready = now
        elif now - self._last_ready > self.patience and self.board.waiting:
            errors = "; ".join(f"{s.label}: {s.last_error}" for s in self.servers.values()) or "no server listed"
            for job in self.board.drain_waiting():
                self._record_failure(job.photo, f"no server was ready for {self.patience:g} s ({errors})",
                                     retryable=True, server=None)
            self._last_ready = now

    # --- a worker -------------------------------------------------------------------------------------------

    def _work(self, state: _Server, index: int) -> None:
        while not self.board.stopping and not state.retired:
            if index >= state.workers:  # the server has fewer workers than before
                return
            if not state.ready:
                if index == 0 and time.monotonic() >= state.down_until:
                    self._probe(state)
                else:
                    time.sleep(0.2)
                continue
            job = self.board.take(state.label, lambda: self._others_ready(state))
            while job is not None:
                job = self._run(state, job)

    def _probe(self, state: _Server) -> None:
        try:
            workers = state.server.probe()
        except Fatal as error:
            self._fatal(f"{state.label}: {error}")
            return
        except Retry as error:
            if not state.reached:  # said once: a wrong address shows at once, not after the patience
                self._say_once(f"{state.label}: not ready: {error}; trying again")
            state.went_down(str(error))
            return
        state.reached = True
        state.came_up(workers)
        state.threads = [t for t in state.threads if t.is_alive()]
        while len(state.threads) < workers:
            self._add_worker(state)

    def _run(self, state: _Server, job: Job) -> Job | None:
        """Run ``job`` here. Returns the job this worker runs next when it took one over as this one's sketch came
        back: before its record is written, so a Ctrl-C that sees a photo recorded finds the next one in flight."""
        key = str(job.photo.relative)
        following = None
        try:
            photo = job.photo.path.read_bytes()
            sketched = run(state.server, photo, self.sketch_options, job.attempt)
            following = self.board.hand_over(job, state.label, lambda: self._others_ready(state))
            self._record_done(job.photo, photo, sketched, state.label)
        except OSError as error:
            self._record_failure(job.photo, f"cannot read or write it: {error}", retryable=True, server=None)
        except Cancelled:
            pass  # not recorded: a rerun does it
        except Refused as error:
            self._record_failure(job.photo, str(error), retryable=False, server=state.label)
        except Fatal as error:
            self._fatal(f"{state.label}: {error}")
        except Retry as error:
            if error.down:
                state.went_down(str(error))
            job.attempts += 1
            if job.attempts > self.retries:
                self._record_failure(job.photo, f"gave up after {job.attempts} tries; last: {state.label}: {error}",
                                     retryable=True, server=state.label)
            elif not self.board.stopping:
                self.say(f"retrying {key} (try {job.attempts + 1}): {state.label}: {error}")
                self.board.again(job, state.label)
                return None
        self.board.ended(job)
        return following

    def _fatal(self, message: str) -> None:
        self.summary.fatal = message
        self.board.stop()

    # --- results --------------------------------------------------------------------------------------------

    def _record_done(self, photo: Photo, content: bytes, sketched: Outcome, server: str) -> None:
        written = write_sketches(self.out, photo.place, list(sketched.sketches.values()), self.png, self.animate)
        with self._record_lock:
            self.manifest.add({"photo": str(photo.relative), "source": str(photo.path),
                               "sha256": hashlib.sha256(content).hexdigest(), "options": self.options,
                               "status": DONE, "outputs": [p.as_posix() for p in written],
                               "loss": {str(c): float(f"{s.loss:.6g}") for c, s in sketched.sketches.items()},
                               "seconds": round(sketched.seconds, 2), "server": server})
            self.summary.sketched.append(str(photo.relative))
            self._advance()

    def _record_failure(self, photo: Photo, message: str, retryable: bool, server: str | None,
                        queued: bool = True) -> None:
        key = str(photo.relative)
        digest = self._known.get(key, (0, 0, None))[2]
        with self._record_lock:
            self.manifest.add({"photo": key, "source": str(photo.path), "sha256": digest, "options": self.options,
                               "status": FAILED, "error": message, "retryable": retryable, "server": server})
            self.summary.failed.append((key, message))
            self.say(f"failed: {key}: {message}")
            if queued:
                self._advance()

    def _advance(self) -> None:
        self.bar.set_postfix(done=len(self.summary.sketched), failed=len(self.summary.failed), refresh=False)
        self.bar.update(1)
