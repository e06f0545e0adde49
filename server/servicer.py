"""The RPC handler: request → plan → queue → engine events → streamed ``SketchEvent`` messages.

No sketching logic lives here: the engine (:mod:`clipsketch.core.engine`) does the work, the contract
(:mod:`clipsketch.core.options`, through :mod:`.requests`) checks requests; this module applies the server's
limits, runs jobs (their events become messages in :mod:`.messages`), maps failures to status codes, and logs
every request. The engine is loaded by :mod:`.models`, results are kept by :mod:`.cache`.
"""

from __future__ import annotations

import importlib.metadata
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass
import grpc

from clipsketch.core import mask as background
from clipsketch.core.engine import Engine
from clipsketch.core.events import Started
from clipsketch.core.frame import Frame
from clipsketch.core.limits import Limits
from clipsketch.core.mask import MaskUnavailable
from clipsketch.core.optimize import SketchCancelled
from clipsketch.core.options import OptionError, SketchOptions, SketchPlan
from clipsketch.core.photo import PhotoError, load_photo
from clipsketch.core.schedules import SCHEDULES
from clipsketch.proto import sketch_pb2 as pb
from clipsketch.proto import sketch_pb2_grpc
from clipsketch.server.cache import ResultCache, cache_key
from clipsketch.server.jobs import Job, JobQueue, QueueFull, end_marker
from clipsketch.server.messages import event_message
from clipsketch.server.models import ModelHolder
from clipsketch.server.requests import request_options

log = logging.getLogger("clipsketch.server")

VERSION = importlib.metadata.version("clipsketch")
"""The installed distribution's version (pyproject.toml's), which GetInfo reports."""

REFUSED = (OptionError, PhotoError, MaskUnavailable)
"""What a request can be refused for: the client's to mend (INVALID_ARGUMENT), never the server's failure."""


@dataclass
class _Failure:
    code: grpc.StatusCode
    message: str


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
        try:
            plan, image = self._plan(request, engine.device.type)
        except REFUSED as error:  # the one place a bad request becomes INVALID_ARGUMENT
            _refuse(context, request_id, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        if self.jobs.is_known(request_id):
            _refuse(context, request_id, grpc.StatusCode.ALREADY_EXISTS,
                    f"request_id {request_id!r} is already queued or running")
        key = cache_key(request.photo, plan, engine.description)
        cached = self.cache.get(key)
        if cached is not None:
            log.info("served from the cache", extra={"fields": {"request_id": request_id}})
            for event in cached:
                event = pb.SketchEvent.FromString(event.SerializeToString())
                event.request_id = request_id
                yield event
            yield pb.SketchEvent(request_id=request_id, done=pb.Done(seconds=0.0, cached=True))
            return

        job = Job(request_id, run=lambda job: self._run(job, engine, image, plan, request.preview_every, key))
        try:
            position = self.jobs.submit(job)
        except QueueFull as error:
            _refuse(context, request_id, grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))
        # The RPC ends for good (done, client gone, deadline, cancel): the job must not outlive it.
        context.add_callback(lambda: self.jobs.cancel(request_id))
        options = plan.options
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
                if job.cancelled.is_set() and self.shutting_down.is_set():  # not the client's doing: retry elsewhere
                    context.abort(grpc.StatusCode.UNAVAILABLE, "the server is shutting down and stopped the job; "
                                                               "send it to another server")
                if job.cancelled.is_set():
                    context.abort(grpc.StatusCode.CANCELLED, "the job was cancelled")
                return
            if isinstance(item, _Failure):
                _refuse(context, request_id, item.code, item.message)
            yield item

    def _run(self, job: Job, engine: Engine, image, plan: SketchPlan, preview_every: int, key: str) -> None:
        """Runs on a worker thread: the engine's events become the job's messages."""
        started = time.monotonic()
        frame: Frame | None = None
        kept: list[pb.SketchEvent] = []  # what a cache hit replays: started and the results
        try:
            for event in engine.events(image, plan, cancel=job.cancelled.is_set, finish=job.finished.is_set,
                                       batch=job.batch):
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
        except REFUSED as error:  # what only the run finds out (U²-Net failing to load, say)
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

    def not_ready_reason(self) -> str:
        """Why this server takes no jobs now (shutting down, models loading or failing to load); empty when it
        takes them."""
        if self.shutting_down.is_set():
            return "the server is shutting down"
        if self.models.engine is None:
            if self.models.error is None:
                return "models are still loading; try again shortly"
            next_try = self.models.next_try
            waiting = "" if next_try is None else f" (next try in {max(0.0, next_try - time.monotonic()):.0f} s)"
            return self.models.error + waiting
        return ""

    def _engine_or_abort(self, context, request_id: str) -> Engine:
        reason = self.not_ready_reason()
        if reason:
            _refuse(context, request_id, grpc.StatusCode.UNAVAILABLE, reason)
        return self.models.engine

    def _plan(self, request: pb.SketchRequest, device_type: str) -> tuple[SketchPlan, object]:
        """The request's plan on a ``device_type`` device and its decoded photo, every field checked against the
        contract and this server's limits. Raises one of :data:`REFUSED`."""
        options = request_options(request)
        self.limits.check_photo_bytes(len(request.photo))
        plan = options.resolve(device_type)
        self.limits.check(plan.options.strokes, plan.options.iterations, plan.options.seeds)
        if options.mask and not background.is_available():
            raise OptionError("mask", "background removal was required but U²-Net is not installed on this server")
        image = load_photo(request.photo, max_pixels=self.limits.max_photo_pixels)
        return plan.for_photo(image.size), image

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
        default = SketchOptions().resolve(engine.device.type if engine else "cpu").options
        return pb.ServerInfo(
            version=VERSION,
            device=str(engine.device) if engine else "",
            devices=devices,
            backbone=engine.description if engine else "",
            clip_weights_available=bool(engine and engine.description.startswith("clip:")),
            mask_available=background.is_available(),
            limits=pb.Limits(max_photo_bytes=limits.max_photo_bytes, max_photo_pixels=limits.max_photo_pixels,
                             max_strokes=limits.max_strokes, max_stroke_counts=limits.max_stroke_counts,
                             max_iterations=limits.max_iterations, max_seeds=limits.max_seeds,
                             max_queue=self.jobs.max_queue),
            defaults=pb.Defaults(strokes=default.strokes, iterations=default.iterations, seeds=default.seeds,
                                 schedule=default.schedule),
            schedules=list(SCHEDULES),
            workers=self.jobs.slots,
            max_batch=self.jobs.max_batch,
            not_ready_reason=self.not_ready_reason(),
        )


def _refuse(context, request_id: str, code: grpc.StatusCode, message: str):
    """Log a refused request with its code, then end the RPC with that status."""
    log.info("request refused", extra={"fields": {"request_id": request_id, "code": code.name, "reason": message}})
    context.abort(code, message)
