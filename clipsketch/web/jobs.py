"""The page's jobs: each photo the page sends is a :class:`WebJob` (a random id, never a path), queued by a
:class:`Dispatcher` over one or more :mod:`clipsketch.session` backends (the engine in process: one job at a time;
servers: as many at once as each takes, the first free one runs the next job). A job records what happens to it as
JSON events (queued, started, progress with previews, sketch, done, failed, cancelled) that any number of event
streams follow; once done, its files are written by :func:`clipsketch.outputs.write_sketches` (the one naming
rule) and kept in memory for download, one by one or as a zip.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import tempfile
import threading
import time
import zipfile
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from clipsketch.core.options import SketchOptions
from clipsketch import session

log = logging.getLogger("clipsketch.web")

PREVIEW_EVERY = 1
"""Steps between two previews the backend makes: every step, thinned here by :data:`PROGRESS_SECONDS` (so the
first step of a count is drawn at once, on a slow CPU as on a fast GPU)."""

PROGRESS_SECONDS = 0.1
"""Progress (with its preview) reaches the page at most this often; a count's first and last steps always do."""

FINAL = ("done", "failed", "cancelled")
"""The events that end a job's stream."""


def safe_name(filename: str) -> str:
    """A file stem to name a photo's outputs by: the upload's name without its suffix, letters, digits, ``.``,
    ``_`` and ``-`` only (never a path), at most 60 characters; ``photo`` when nothing is left."""
    stem = PurePosixPath(filename.replace("\\", "/")).name.rsplit(".", 1)[0] if filename else ""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-.")[:60]
    return cleaned or "photo"


@dataclass(frozen=True)
class Photo:
    """What the page sent: its encoded ``data``, its ``name`` (:func:`safe_name`) and its ``size`` (width, height)
    as decoded (EXIF rotation applied)."""

    data: bytes
    name: str
    size: tuple[int, int]


@dataclass
class WebJob:
    """One photo's job: its :class:`~clipsketch.session.Job` controls, its state (``queued``, ``running``, then one
    of :data:`FINAL`), its events (JSON objects, numbered by their index) and, once done, its files."""

    photo: Photo
    options: SketchOptions
    control: session.Job = field(default_factory=session.Job)
    state: str = "queued"
    events: list[dict] = field(default_factory=list)
    sketches: dict[int, session.Sketch] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    attempts: int = 0
    ended: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _waiters: set = field(default_factory=set, repr=False)
    _last_progress: float = 0.0
    _count: int = 0

    @property
    def id(self) -> str:
        return self.control.id

    def record(self, payload: dict) -> None:
        """Add an event and wake the streams that follow this job."""
        with self._lock:
            if self.state in FINAL:
                return
            if payload["type"] in FINAL:  # what an ended job keeps: its results, not every preview or the photo
                self.state, self.ended = payload["type"], time.monotonic()
                self.events = [{**e, "preview": []} if e["type"] == "progress" else e for e in self.events]
                self.photo = replace(self.photo, data=b"")
            self.events.append(payload)
            waiters = list(self._waiters)
        for loop, wake in waiters:
            loop.call_soon_threadsafe(wake.set)

    def on_event(self, event: session.Event) -> None:
        """A session event, as the page sees it (progress thinned to :data:`PROGRESS_SECONDS`)."""
        if isinstance(event, session.Queued):
            self.record({"type": "queued", "position": event.position})
        elif isinstance(event, session.Started):
            self.state = "running"
            self.record({"type": "started", "device": event.device, "backbone": event.backbone,
                         "notes": list(event.notes)})
        elif isinstance(event, session.Progress):
            now = time.monotonic()
            edge = event.count != self._count or event.iteration >= event.iterations
            if edge or now - self._last_progress >= PROGRESS_SECONDS:
                self._count, self._last_progress = event.count, now
                self.record(progress_payload(event))
        elif isinstance(event, session.Sketch):
            self.sketches[event.count] = event
            self.record({"type": "sketch", "count": event.count, "loss": event.loss, "svg": event.svg})

    async def follow(self, start: int = 0, keepalive: float = 15.0) -> AsyncIterator[tuple[int, dict] | None]:
        """The job's events from index ``start`` as ``(index, event)``, waiting for new ones until a final one;
        None every ``keepalive`` seconds of silence (a stream's comment keeps proxies from closing it)."""
        loop, wake = asyncio.get_running_loop(), asyncio.Event()
        index = start
        with self._lock:
            self._waiters.add((loop, wake))
        try:
            while True:
                wake.clear()
                with self._lock:
                    new, ended = self.events[index:], self.state in FINAL
                if not new and ended:  # asked from past the end
                    return
                for event in new:
                    yield index, event
                    index += 1
                    if event["type"] in FINAL:
                        return
                if not new:
                    try:
                        await asyncio.wait_for(wake.wait(), keepalive)
                    except asyncio.TimeoutError:
                        yield None
        finally:
            with self._lock:
                self._waiters.discard((loop, wake))

    async def pump(self, start: int, queue: asyncio.Queue) -> None:
        """Put ``(id, index, event)`` of each event from ``start`` on ``queue``, then ``(id, None, None)``."""
        async for item in self.follow(start):
            if item is not None:
                await queue.put((self.id, *item))
        await queue.put((self.id, None, None))

    def summary(self) -> dict:
        """What the page needs to show this job again (after a reload, in another tab)."""
        return {"id": self.id, "name": self.photo.name, "width": self.photo.size[0], "height": self.photo.size[1],
                "strokes": list(self.options.strokes), "state": self.state}


async def follow_all(jobs: Sequence[tuple[WebJob, int]], keepalive: float = 15.0) -> AsyncIterator[tuple | None]:
    """The events of several jobs (each from its own start index) as ``(job id, index, event)``, in the order they
    happen, until every job has ended; None every ``keepalive`` seconds of silence. One stream per page: a
    browser opens at most six connections to a server over HTTP/1.1, so a stream per photo would block the rest."""
    queue: asyncio.Queue = asyncio.Queue()
    tasks = [asyncio.create_task(job.pump(start, queue)) for job, start in jobs]
    following = len(tasks)
    try:
        while following:
            try:
                job_id, index, event = await asyncio.wait_for(queue.get(), keepalive)
            except asyncio.TimeoutError:
                yield None
                continue
            if event is None:
                following -= 1
            else:
                yield job_id, index, event
    finally:
        for task in tasks:
            task.cancel()


def progress_payload(event: session.Progress) -> dict:
    return {"type": "progress", "count": event.count, "iteration": event.iteration, "iterations": event.iterations,
            "loss": event.loss, "preview": [{"d": p.d, "width": p.width, "color": p.color, "opacity": p.opacity,
                                             "taper": p.taper, "outline": p.outline} for p in event.preview]}


def write_files(job: WebJob) -> dict[str, bytes]:
    """The job's sketches as the command line writes them (SVG, PNG, animated SVG per count, a contact sheet for
    several), by file name, read back from a temporary folder."""
    from clipsketch.core.photo import load_photo
    from clipsketch.outputs import write_sketches

    sketches = [job.sketches[count] for count in job.options.strokes if count in job.sketches]
    with tempfile.TemporaryDirectory(prefix="clipsketch-web-") as folder:
        written = write_sketches(Path(folder), PurePosixPath(job.photo.name), sketches, png=True, animate=True,
                                 photo=load_photo(job.photo.data) if len(sketches) > 1 else None)
        return {str(name): (Path(folder) / name).read_bytes() for name in written}


def file_table(job: WebJob) -> dict[str, dict[str, str]]:
    """The job's file names by stroke count and kind (``svg``, ``png``, ``animated``), and ``sheet``."""
    from clipsketch.outputs import animated_file, contact_sheet_file, sketch_file

    place = PurePosixPath(job.photo.name)
    table = {}
    for count in job.sketches:
        svg = sketch_file(place, count)
        kinds = {"svg": svg, "png": svg.with_suffix(".png"), "animated": animated_file(svg)}
        table[str(count)] = {kind: str(name) for kind, name in kinds.items() if str(name) in job.files}
    sheet = str(contact_sheet_file(place))
    return {**table, **({"sheet": {"png": sheet}} if sheet in job.files else {})}


def zip_jobs(jobs: Sequence[WebJob]) -> bytes:
    """One zip of the jobs' files: at its top for one job, else a folder per photo (``name``, ``name-2`` …)."""
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for job in jobs:
            folder = job.photo.name
            number = 2
            while folder in used:
                folder, number = f"{job.photo.name}-{number}", number + 1
            used.add(folder)
            for name, data in job.files.items():
                archive.writestr(name if len(jobs) == 1 else f"{folder}/{name}", data)
    return buffer.getvalue()


class QueueFull(Exception):
    """More jobs wait than the page's queue takes."""


class Dispatcher:
    """Runs :class:`WebJob` over ``backends`` (``(backend, slots)``: jobs it runs at once), first free first; jobs
    beyond the slots wait here (at most ``max_waiting``) and hear their place (jobs ahead of them). A job a backend
    lost (:class:`~clipsketch.session.Retry`) goes back to the front of the queue, ``retries`` times at most. The
    last ``keep`` ended jobs are kept for their downloads."""

    def __init__(self, backends: Sequence[tuple[session.Backend, int]], max_waiting: int = 64, keep: int = 64,
                 retries: int = 2):
        self.backends = [backend for backend, _ in backends]
        self.max_waiting, self.keep, self.retries = max_waiting, keep, retries
        self.jobs: dict[str, WebJob] = {}
        self.waiting: deque[WebJob] = deque()
        self.running = 0
        self.closed = False
        self.changed = threading.Condition()
        self.threads = [threading.Thread(target=self._work, args=(backend,), daemon=True, name=f"web-{backend.label}")
                        for backend, slots in backends for _ in range(max(slots, 1))]
        for thread in self.threads:
            thread.start()

    def submit(self, job: WebJob) -> None:
        """Queue ``job``; :class:`QueueFull` when too many wait."""
        with self.changed:
            if len(self.waiting) >= self.max_waiting:
                raise QueueFull(f"{len(self.waiting)} photos are waiting already: try again when some are done")
            self._forget_old()
            self.jobs[job.id] = job
            self.waiting.append(job)
            self._announce()
            self.changed.notify()

    def get(self, job_id: str) -> WebJob | None:
        return self.jobs.get(job_id)

    def cancel(self, job: WebJob) -> None:
        """Stop ``job`` without results (a waiting one leaves the queue)."""
        job.control.cancel()
        if self._unqueue(job):
            job.record({"type": "cancelled", "message": "cancelled"})

    def finish(self, job: WebJob) -> None:
        """Keep ``job``'s best strokes so far and end it (a job still waiting has none: it is cancelled)."""
        if self._unqueue(job):
            job.control.cancel()
            job.record({"type": "cancelled", "message": "cancelled before it started"})
        else:
            job.control.finish()

    def close(self) -> None:
        """Cancel every job and close the backends."""
        with self.changed:
            self.closed = True
            jobs = list(self.jobs.values())
            self.changed.notify_all()
        for job in jobs:
            self.cancel(job)
        for thread in self.threads:
            if thread is not threading.current_thread():
                thread.join(10)
        for backend in self.backends:
            backend.close()

    def _unqueue(self, job: WebJob) -> bool:
        with self.changed:
            if job not in self.waiting:
                return False
            self.waiting.remove(job)
            self._announce()
            return True

    def _announce(self) -> None:
        """Tell each waiting job its place: the jobs ahead of it, running ones included (as a server counts)."""
        for place, job in enumerate(self.waiting):
            position = place + self.running
            last = next((e for e in reversed(job.events) if e["type"] == "queued"), None)
            if last is None or last["position"] != position:
                job.record({"type": "queued", "position": position})

    def _forget_old(self) -> None:
        ended = sorted((job for job in self.jobs.values() if job.state in FINAL), key=lambda job: job.ended)
        for job in ended[:max(0, len(ended) - self.keep)]:
            del self.jobs[job.id]

    def _work(self, backend: session.Backend) -> None:
        while True:
            with self.changed:
                while not self.waiting and not self.closed:
                    self.changed.wait()
                if self.closed:
                    return
                job = self.waiting.popleft()
                self.running += 1
                self._announce()
            try:
                pause = self._run(backend, job)
            finally:
                with self.changed:
                    self.running -= 1
                    self._announce()
            if pause:
                time.sleep(pause)  # a server that is down: let the others take the next jobs first

    def _run(self, backend: session.Backend, job: WebJob) -> float:
        """Run ``job`` on ``backend``; the seconds this worker should rest (a backend that is down)."""
        job.attempts += 1
        try:
            outcome = session.run(backend, job.photo.data, job.options, job.control, on_event=job.on_event)
        except session.Cancelled:
            job.record({"type": "cancelled", "message": "cancelled"})
        except session.Retry as error:
            if job.attempts <= self.retries and not job.control.cancelled.is_set():
                log.warning("job %s: %s: %s; trying again", job.id, backend.label, error)
                with self.changed:
                    job.state = "queued"
                    self.waiting.appendleft(job)
                    self.changed.notify()
                return 2.0 if error.down else 0.0
            job.record({"type": "failed", "message": str(error)})
        except (session.Refused, session.Fatal) as error:
            job.record({"type": "failed", "message": str(error)})
        except Exception as error:  # noqa: BLE001 - the page must hear of any failure, the log keeps the trace
            log.exception("job %s failed", job.id)
            job.record({"type": "failed", "message": f"the sketch failed: {error}"})
        else:
            self._done(job, outcome)
        return 0.0

    def _done(self, job: WebJob, outcome: session.Outcome) -> None:
        try:
            job.files = write_files(job)
        except Exception as error:  # noqa: BLE001
            log.exception("job %s: writing its files failed", job.id)
            job.record({"type": "failed", "message": f"writing the files failed: {error}"})
            return
        job.record({"type": "done", "seconds": round(outcome.seconds, 2), "finished_early": outcome.finished_early,
                    "kept_early": job.control.finishing.is_set(), "files": file_table(job)})
