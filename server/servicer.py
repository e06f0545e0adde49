"""The RPC handler: request → validated job → queue → engine events → streamed ``SketchEvent`` messages.

No sketching logic lives here: the engine (:mod:`clipsketch.core.sketch`) does the work; this module checks
requests against the limits, runs jobs (their events become messages in :mod:`.messages`), maps failures to
status codes, and logs every request.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import math
import queue
import threading
import time
import uuid
from dataclasses import dataclass

import grpc
from PIL import ImageColor

from clipsketch import __version__
from clipsketch.core import mask as background
from clipsketch.core.frame import Frame
from clipsketch.core.limits import DEFAULT_STROKES, Limits
from clipsketch.core.mask import MaskUnavailable
from clipsketch.core.optimize import SketchCancelled
from clipsketch.core.photo import PhotoError, load_photo
from clipsketch.core.schedules import DEFAULT_SCHEDULE, SCHEDULES, schedule_named
from clipsketch.core.sketch import Engine, SketchOptions, Started, StartStrokes, canvas_width, photo_width
from clipsketch.proto import sketch_pb2 as pb
from clipsketch.proto import sketch_pb2_grpc
from clipsketch.server.jobs import Job, JobQueue, QueueFull, end_marker
from clipsketch.server.messages import event_message

log = logging.getLogger("clipsketch.server")


@dataclass
class _Failure:
    code: grpc.StatusCode
    message: str


class ModelHolder:
    """The engine, loaded once in the background; ``engine`` is None until it is ready."""

    def __init__(self, load):
        self._load = load
        self.engine: Engine | None = None
        self.error: str | None = None
        self.ready = threading.Event()
        self._on_ready: list = []

    def start(self) -> None:
        threading.Thread(target=self._run, name="load-models", daemon=True).start()

    def on_ready(self, callback) -> None:
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


class ResultCache:
    """The last ``size`` finished results, keyed by photo hash and parameters."""

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


class SketchServicer(sketch_pb2_grpc.SketchServiceServicer):
    def __init__(self, models: ModelHolder, jobs: JobQueue, limits: Limits, cache: ResultCache):
        self.models = models
        self.jobs = jobs
        self.limits = limits
        self.cache = cache
        self.shutting_down = threading.Event()

    # --- Sketch ---------------------------------------------------------------------------------------------

    def Sketch(self, request: pb.SketchRequest, context: grpc.ServicerContext):
        request_id = request.request_id or uuid.uuid4().hex
        engine = self._engine_or_abort(context, request_id)
        options, image, preview_every = self._validate(request, context, request_id, engine.device.type)
        if self.jobs.is_known(request_id):
            _refuse(context, request_id, grpc.StatusCode.ALREADY_EXISTS,
                    f"request_id {request_id!r} is already queued or running")
        key = _cache_key(request.photo, options, engine.description)
        cached = self.cache.get(key)
        if cached is not None:
            log.info("served from the cache", extra={"fields": {"request_id": request_id}})
            for event in cached:
                event = pb.SketchEvent.FromString(event.SerializeToString())
                event.request_id = request_id
                yield event
            yield pb.SketchEvent(request_id=request_id, done=pb.Done(seconds=0.0, cached=True))
            return

        job = Job(request_id, run=lambda job: self._run(job, engine, image, options, preview_every, key))
        try:
            position = self.jobs.submit(job)
        except QueueFull as error:
            _refuse(context, request_id, grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))
        # The RPC ends for good (done, client gone, deadline, cancel): the job must not outlive it.
        context.add_callback(lambda: self.jobs.cancel(request_id))
        log.info("job queued", extra={"fields": {"request_id": request_id, "position": position,
                                                 "strokes": list(options.strokes), "schedule": options.schedule,
                                                 "iterations": options.iterations, "seeds": options.seeds}})
        yield pb.SketchEvent(request_id=request_id, queued=pb.Queued(position=position))
        end = end_marker()
        while True:
            try:
                item = job.outbox.get(timeout=0.25)
            except queue.Empty:
                now = self.jobs.position(job)
                if now is not None and now != position:
                    position = now
                    yield pb.SketchEvent(request_id=request_id, queued=pb.Queued(position=position))
                continue
            if item is end:
                if job.cancelled.is_set():
                    reason = "the server is shutting down" if self.shutting_down.is_set() else "the job was cancelled"
                    context.abort(grpc.StatusCode.CANCELLED, reason)
                return
            if isinstance(item, _Failure):
                _refuse(context, request_id, item.code, item.message)
            yield item

    def _run(self, job: Job, engine: Engine, image, options: SketchOptions, preview_every: int, key: str) -> None:
        """Runs on a worker thread: the engine's events become the job's messages."""
        started = time.monotonic()
        frame: Frame | None = None
        kept: list[pb.SketchEvent] = []  # what a cache hit replays: started and the results
        try:
            for event in engine.events(image, options, cancel=job.cancelled.is_set, finish=job.finished.is_set):
                if isinstance(event, Started):
                    frame = event.frame
                message = event_message(job.request_id, event, frame, preview_every)
                if message is None:
                    continue
                if not message.HasField("progress"):
                    kept.append(message)
                job.emit(message)
        except SketchCancelled:  # a job cancelled while waiting is logged by the queue
            log.info("job cancelled", extra={"fields": {"request_id": job.request_id, "while": "running",
                                                        "seconds": round(time.monotonic() - started, 2)}})
            return
        except (PhotoError, MaskUnavailable, ValueError) as error:
            job.emit(_Failure(grpc.StatusCode.INVALID_ARGUMENT, str(error)))
            return
        except Exception as error:
            log.exception("job %s failed", job.request_id)
            job.emit(_Failure(grpc.StatusCode.INTERNAL, f"the sketch failed: {error}"))
            return
        seconds = time.monotonic() - started
        early = job.finished.is_set()
        if not early:  # a job finished early has partial results: never replayed for a full request
            self.cache.put(key, kept)
        job.emit(pb.SketchEvent(request_id=job.request_id, done=pb.Done(seconds=seconds, cached=False,
                                                                         finished_early=early)))
        log.info("job done", extra={"fields": {"request_id": job.request_id, "seconds": round(seconds, 2),
                                               **({"finished_early": True} if early else {})}})

    def _engine_or_abort(self, context, request_id: str) -> Engine:
        if self.shutting_down.is_set():
            _refuse(context, request_id, grpc.StatusCode.UNAVAILABLE, "the server is shutting down")
        if self.models.engine is None:
            _refuse(context, request_id, grpc.StatusCode.UNAVAILABLE,
                    self.models.error or "models are still loading; try again shortly")
        return self.models.engine

    def _validate(self, request: pb.SketchRequest, context, request_id: str,
                  device_type: str) -> tuple[SketchOptions, object, int]:
        """Check every field against the limits; abort with INVALID_ARGUMENT naming the problem. A 0 or empty
        field means the default (proto3 cannot tell it from unset): the schedule's as it runs on ``device_type``."""
        limits = self.limits

        def refuse(message: str):
            _refuse(context, request_id, grpc.StatusCode.INVALID_ARGUMENT, message)

        if len(request_id) > 200:
            refuse(f"request_id is {len(request_id)} characters, more than 200")
        counts = tuple(request.strokes) or DEFAULT_STROKES
        try:
            plan = schedule_named(request.schedule or DEFAULT_SCHEDULE, device_type)
        except ValueError as error:
            refuse(str(error))
        iterations = request.iterations or plan.iterations
        seeds = request.seeds or plan.seeds
        try:
            limits.check_photo_bytes(len(request.photo))
            limits.check(counts, iterations, seeds)
        except ValueError as error:
            refuse(str(error))
        if request.mask not in _MASK_MODES:
            refuse(f"mask must be one of {', '.join(f'{pb.MaskMode.Name(v)} ({v})' for v in _MASK_MODES)}, "
                   f"got {request.mask}")
        if request.preview_every < 0:
            refuse(f"preview_every must be >= 0, got {request.preview_every}")
        if not (request.stroke_width >= 0 and math.isfinite(request.stroke_width)):
            refuse(f"stroke_width must be >= 0 photo pixels (0: the default), got {request.stroke_width}")
        try:
            red, green, blue = ImageColor.getrgb(request.stroke_color or "#000000")[:3]
        except ValueError:
            refuse(f"stroke_color {request.stroke_color!r} is not a CSS color")
        mask = _MASK_MODES[request.mask]
        if mask and not background.is_available():
            refuse("background removal was required but U²-Net is not installed on this server")
        try:
            image = load_photo(request.photo, max_pixels=limits.max_photo_pixels)
        except PhotoError as error:
            refuse(str(error))
        width = None
        if request.stroke_width:
            try:
                limits.check_width(request.stroke_width, image.size)
            except ValueError as error:
                refuse(str(error))
            width = canvas_width(request.stroke_width, image.size)
        color = (red / 255, green / 255, blue / 255, 1.0)
        try:
            start = _start_strokes(request, image.size, width, color) if request.start else None
            options = SketchOptions(strokes=counts, schedule=plan.name, iterations=iterations, seeds=seeds,
                                    seed=request.seed, mask=mask, width=width, color=color, start=start,
                                    init=request.init or "auto")
        except ValueError as error:
            refuse(str(error))
        return options, image, request.preview_every

    # --- Cancel, GetInfo ------------------------------------------------------------------------------------

    def Cancel(self, request: pb.CancelRequest, context) -> pb.CancelResponse:
        found = self.jobs.cancel(request.request_id)
        if found:
            log.info("job cancel requested", extra={"fields": {"request_id": request.request_id}})
        return pb.CancelResponse(found=found)

    def Finish(self, request: pb.FinishRequest, context) -> pb.FinishResponse:
        found = self.jobs.finish(request.request_id, lambda job: pb.SketchEvent(
            request_id=job.request_id, done=pb.Done(seconds=0.0, finished_early=True)))
        if found:
            log.info("job finish requested", extra={"fields": {"request_id": request.request_id}})
        return pb.FinishResponse(found=found)

    def GetInfo(self, request: pb.GetInfoRequest, context) -> pb.ServerInfo:
        engine = self.models.engine
        import torch

        devices = ["cpu"] + [f"cuda:{k}" for k in range(torch.cuda.device_count())]
        limits = self.limits
        default = schedule_named(DEFAULT_SCHEDULE, engine.device.type if engine else "cpu")
        return pb.ServerInfo(
            version=__version__,
            device=str(engine.device) if engine else "",
            devices=devices,
            backbone=engine.description if engine else "",
            clip_weights_available=bool(engine and engine.description.startswith("clip:")),
            mask_available=background.is_available(),
            limits=pb.Limits(max_photo_bytes=limits.max_photo_bytes, max_photo_pixels=limits.max_photo_pixels,
                             max_strokes=limits.max_strokes, max_stroke_counts=limits.max_stroke_counts,
                             max_iterations=limits.max_iterations, max_seeds=limits.max_seeds,
                             max_queue=self.jobs.max_queue),
            defaults=pb.Defaults(strokes=DEFAULT_STROKES, iterations=default.iterations, seeds=default.seeds,
                                 schedule=default.name),
            schedules=list(SCHEDULES),
        )


def _start_strokes(request: pb.SketchRequest, photo_size: tuple[int, int], width: float | None,
                   color: tuple[float, float, float, float]) -> StartStrokes:
    """The request's start strokes (photo pixels); missing widths and colors are the request's. ValueError names
    the first bad one."""
    default_width = photo_width(width, photo_size)
    points, widths, colors = [], [], []
    for k, stroke in enumerate(request.start):
        if len(stroke.points) != 8:
            raise ValueError(f"start stroke {k}: needs 8 numbers (x0 y0 … x3 y3), got {len(stroke.points)}")
        if stroke.width:
            Limits.check_width(stroke.width, photo_size)
        try:
            rgb = ImageColor.getrgb(stroke.color)[:3] if stroke.color else None
        except ValueError:
            raise ValueError(f"start stroke {k}: color {stroke.color!r} is not a CSS color") from None
        if not 0 <= stroke.opacity <= 1:
            raise ValueError(f"start stroke {k}: opacity must be within 0..1, got {stroke.opacity}")
        points.append(tuple(stroke.points))
        widths.append(stroke.width or default_width)
        colors.append((*(c / 255 for c in rgb), stroke.opacity or 1.0) if rgb else (*color[:3], stroke.opacity or 1.0))
    start = StartStrokes(tuple(points), tuple(widths), tuple(colors), tuple(s.locked for s in request.start))
    start.check_within(photo_size)
    return start


_MASK_MODES = {pb.MASK_DEFAULT: None, pb.MASK_ON: True, pb.MASK_OFF: False}


def _refuse(context, request_id: str, code: grpc.StatusCode, message: str):
    """Log a refused request with its code, then end the RPC with that status."""
    log.info("request refused", extra={"fields": {"request_id": request_id, "code": code.name, "reason": message}})
    context.abort(code, message)


def _cache_key(photo: bytes, options: SketchOptions, backbone: str) -> str:
    digest = hashlib.sha256(photo).hexdigest()
    return f"{digest}:{backbone}:{options!r}"
