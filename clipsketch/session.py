"""One way to sketch for every Python front end (``sketch``, ``batch``, the web page): a backend, the engine in this
process or one server, takes a photo and validated :class:`~clipsketch.core.options.SketchOptions`, reports each
event through one interface and returns sketches that keep their strokes.

    backend = InProcess(engine)                 # or OnServer("gpu1:50051", token=…)
    job = Job()                                 # job.finish() / job.cancel() from any thread
    outcome = run(backend, photo_bytes, options, job, on_event=print)
    outcome.sketches[16].strokes                # canvas pixels; .frame maps them onto the photo; .svg

Failures are said in four words every front end understands: :class:`Refused` (this photo or these options),
:class:`Retry` (another server, or later, may manage), :class:`Fatal` (no job can get past it: a wrong token) and
:class:`Cancelled`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from clipsketch.core.options import SketchOptions

if TYPE_CHECKING:  # the engine's types; importing them loads torch, which a front end may not need yet
    from clipsketch.core.frame import Frame
    from clipsketch.core.strokes import Strokes
    from clipsketch.core.svg import StrokePath


@dataclass(frozen=True)
class Queued:
    """The job waits on a server behind ``position`` others."""

    position: int


@dataclass(frozen=True)
class Started:
    """The job runs: on ``device`` with the loss model ``backbone``, start points from ``saliency``."""

    device: str
    backbone: str
    saliency: str
    mask_used: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Progress:
    """Step ``iteration`` of ``iterations`` of the ``count``-stroke sketch: ``loss`` optimised, ``best_loss`` its
    best evaluation so far; ``preview`` the best strokes so far as :class:`~clipsketch.core.svg.StrokePath` in
    photo pixels (every ``preview_every`` steps and at the last, else empty)."""

    count: int
    iteration: int
    iterations: int
    loss: float
    best_loss: float
    preview: tuple[StrokePath, ...] = ()


@dataclass(frozen=True)
class Sketch:
    """The result for one stroke count: ``svg`` text (photo coordinates), its evaluation ``loss``, and the
    ``strokes`` (batch of one, canvas pixels) with the ``frame`` that maps them onto the photo."""

    count: int
    svg: str
    loss: float
    strokes: Strokes
    frame: Frame


Event = Queued | Started | Progress | Sketch


@dataclass
class Outcome:
    """A job's sketches by stroke count, the seconds it took, and whether it was finished early (Finish: maybe not
    every stroke count)."""

    sketches: dict[int, Sketch] = field(default_factory=dict)
    seconds: float = 0.0
    finished_early: bool = False


class Refused(Exception):
    """This photo cannot be sketched with these options (the message says why)."""


class Retry(Exception):
    """The job may succeed on another server or later; ``down``: this server should take no job until ready."""

    def __init__(self, message: str, down: bool = False):
        super().__init__(message)
        self.down = down


class Fatal(Exception):
    """No job can succeed this way (a wrong token, not a clipsketch server)."""


class Cancelled(Exception):
    """The job was cancelled."""


class Job:
    """One job's controls, usable from any thread: :meth:`finish` ends it early with its best strokes so far,
    :meth:`cancel` stops it without results. ``id`` names it on a server."""

    def __init__(self, job_id: str | None = None):
        self.id = job_id or uuid.uuid4().hex
        self.finishing = threading.Event()
        self.cancelled = threading.Event()
        self._hooks: dict[threading.Event, list[Callable[[], object]]] = {self.finishing: [], self.cancelled: []}
        self._lock = threading.Lock()

    def finish(self) -> None:
        self._set(self.finishing)

    def cancel(self) -> None:
        self._set(self.cancelled)

    def on_finish(self, hook: Callable[[], object]) -> None:
        """Call ``hook`` when the job is finished early (at once if it already is)."""
        self._register(self.finishing, hook)

    def on_cancel(self, hook: Callable[[], object]) -> None:
        """Call ``hook`` when the job is cancelled (at once if it already is)."""
        self._register(self.cancelled, hook)

    def _set(self, flag: threading.Event) -> None:
        with self._lock:
            flag.set()
            hooks = list(self._hooks[flag])
        for hook in hooks:
            hook()

    def _register(self, flag: threading.Event, hook: Callable[[], object]) -> None:
        with self._lock:
            self._hooks[flag].append(hook)
            if not flag.is_set():
                return
        hook()


class Backend(Protocol):
    """Where a job runs. ``label`` names it in messages; ``probe()`` is how many jobs it takes at once when it is
    ready (raises :class:`Retry` or :class:`Fatal`); ``events`` sketches one photo."""

    label: str

    def probe(self) -> int: ...

    def events(self, photo: bytes, options: SketchOptions, job: Job) -> Iterator[Event]: ...

    def close(self) -> None: ...


def run(backend: Backend, photo: bytes, options: SketchOptions, job: Job | None = None,
        on_event: Callable[[Event], None] | None = None) -> Outcome:
    """Sketch ``photo`` (encoded bytes) on ``backend``, passing every event to ``on_event``; the :class:`Outcome`
    (``finished_early`` when ``job`` was finished before every stroke count was done)."""
    job = job or Job()
    started = time.monotonic()
    outcome = Outcome()
    for event in backend.events(photo, options, job):
        if on_event is not None:
            on_event(event)
        if isinstance(event, Sketch):
            outcome.sketches[event.count] = event
    outcome.seconds = time.monotonic() - started
    outcome.finished_early = job.finishing.is_set() and len(outcome.sketches) < len(options.strokes)
    return outcome


class InProcess:
    """The engine in this process, one job at a time; ``preview_every``: a preview every that many steps."""

    label = "in-process"

    def __init__(self, engine, preview_every: int = 0):
        self.engine = engine
        self.preview_every = preview_every

    def probe(self) -> int:
        return 1

    def events(self, photo: bytes, options: SketchOptions, job: Job) -> Iterator[Event]:
        from clipsketch.core import events
        from clipsketch.core.limits import Limits
        from clipsketch.core.mask import MaskUnavailable
        from clipsketch.core.optimize import SketchCancelled
        from clipsketch.core.options import OptionError
        from clipsketch.core.photo import PhotoError, load_photo_within
        from clipsketch.core.svg import stroke_paths

        frame = None
        try:
            image = load_photo_within(photo, Limits())
            options.check_photo(image.size)
            for event in self.engine.events(image, options, cancel=job.cancelled.is_set, finish=job.finishing.is_set):
                if isinstance(event, events.Started):
                    frame = event.frame
                    yield Started(event.device, f"{event.backbone} ({self.engine.precision})", event.saliency_source,
                                  event.mask_used, tuple(event.notes))
                elif isinstance(event, events.Progress):
                    step = event.step
                    wanted = self.preview_every and (step.iteration % self.preview_every == 0 or step.finished)
                    yield Progress(event.count, step.iteration, step.iterations, step.total, step.evaluation,
                                   tuple(stroke_paths(step.best, frame)) if wanted else ())
                elif isinstance(event, events.CountDone):
                    result = event.result
                    yield Sketch(result.count, result.svg, result.loss, result.strokes, result.frame)
        except SketchCancelled:
            raise Cancelled("cancelled") from None
        except (OptionError, PhotoError, MaskUnavailable) as error:
            raise Refused(str(error)) from None
        except RuntimeError as error:  # out of memory, say: the same engine may manage later
            raise Retry(f"the sketch failed: {error}") from None

    def close(self) -> None:
        pass


class OnServer:
    """A clipsketch server over a connection of its own: ``servers``, ``token``, ``tls_ca`` and ``tls_name`` as
    :class:`~clipsketch.client.SketchClient` takes them (several addresses: round robin); ``label`` names it in
    messages; ``preview_every``: a preview every that many steps."""

    def __init__(self, servers: str | Sequence[str], token: str | None = None, tls_ca: str | None = None,
                 tls_name: str | None = None, label: str | None = None, preview_every: int = 0):
        from clipsketch.client import SketchClient

        self.label = label or (servers if isinstance(servers, str) else " ".join(servers))
        self.preview_every = preview_every
        self.client = SketchClient(servers, token=token, tls_ca=tls_ca, tls_name=tls_name)

    def probe(self) -> int:
        import grpc
        from grpc_health.v1 import health_pb2

        from clipsketch.client import SERVICE, ServerError

        try:
            status = self.client.health.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5).status
            if status != health_pb2.HealthCheckResponse.SERVING:
                raise Retry("not ready (loading its models or shutting down)", down=True)
            return max(self.client.info().workers, 1)  # 0 from a server older than the field: one
        except ServerError as error:
            raise classified(error.code, str(error)) from None
        except grpc.RpcError as error:
            raise classified(error.code(), error.details() or error.code().name) from None

    def events(self, photo: bytes, options: SketchOptions, job: Job) -> Iterator[Event]:
        import grpc

        from clipsketch.core.options import OptionError

        try:
            request = self.client.request(photo, options, self.preview_every, job.id)
        except OptionError as error:
            raise Refused(str(error)) from None
        call = self.client.stub.Sketch(request, metadata=self.client.metadata)
        job.on_cancel(call.cancel)
        job.on_finish(lambda: threading.Thread(target=self._finish, args=(job.id,), daemon=True).start())
        try:
            yield from self._translated(call, job)
        except grpc.RpcError as error:
            if job.cancelled.is_set():
                raise Cancelled("cancelled") from None
            raise classified(error.code(), error.details() or error.code().name) from None
        finally:
            call.cancel()

    def _translated(self, stream, job: Job) -> Iterator[Event]:
        from clipsketch.core.svg import StrokePath, svg_to_strokes

        done = None
        for message in stream:
            kind = message.WhichOneof("event")
            if kind == "queued":
                yield Queued(message.queued.position)
            elif kind == "started":
                started = message.started
                yield Started(started.device, started.backbone, started.saliency, started.mask_used,
                              tuple(started.notes))
            elif kind == "progress":
                step = message.progress
                yield Progress(step.strokes, step.iteration, step.iterations, step.loss, step.best_loss,
                               tuple(StrokePath(p.d, p.width, p.color, p.opacity, p.taper, p.outline)
                                     for p in step.preview))
            elif kind == "result":
                result = message.result
                imported = svg_to_strokes(result.svg)
                yield Sketch(result.strokes, result.svg, result.loss, imported.strokes, imported.frame)
            elif kind == "done":
                done = message.done
        if done is None or (done.finished_early and not job.finishing.is_set()):
            raise Retry("the stream ended before the sketch was done")

    def _finish(self, job_id: str) -> None:
        from clipsketch.client import ServerError

        try:
            self.client.finish(job_id)
        except ServerError:
            pass  # the job ended meanwhile, or the server is gone: the stream says which

    def close(self) -> None:
        self.client.close()


def classified(code, message: str) -> Exception:
    """The session's word for a gRPC status ``code``: :class:`Retry` (``down`` when the server is unavailable),
    :class:`Fatal`, or :class:`Refused` for anything about this photo or these options (INVALID_ARGUMENT first)."""
    import grpc

    codes = grpc.StatusCode
    text = f"{message} ({code.name})"
    if code in (codes.UNAUTHENTICATED, codes.PERMISSION_DENIED, codes.UNIMPLEMENTED):
        return Fatal(text)
    if code in (codes.UNAVAILABLE,  # down, unreachable, dropped the connection, draining, models loading
                codes.RESOURCE_EXHAUSTED,  # its queue is full
                codes.CANCELLED,  # stopped on the server's side (not by this client)
                codes.DEADLINE_EXCEEDED, codes.ABORTED,
                codes.INTERNAL, codes.UNKNOWN):  # the run failed there (out of memory, say): another may manage
        return Retry(text, down=code == codes.UNAVAILABLE)
    return Refused(text)
