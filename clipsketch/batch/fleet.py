"""Where a batch's jobs run: servers (one connection each, so a job that fails on one can go to another) or the
engine in this process; and what a failure means for the job.

A ``--server`` value is ``host:port`` (one server) or ``dns:///name:port``: every address the name resolves to is a
server of its own, and the name is resolved again as the batch runs (a Kubernetes headless Service lists its ready
pods this way).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc

from clipsketch.addresses import join_address, split_address

RETRY_CODES = frozenset({
    grpc.StatusCode.UNAVAILABLE,         # down, unreachable, dropped the connection, draining, models loading
    grpc.StatusCode.RESOURCE_EXHAUSTED,  # its queue is full
    grpc.StatusCode.CANCELLED,           # stopped on the server's side (not by this batch)
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,            # the run failed there (out of memory, say): another server may manage
    grpc.StatusCode.UNKNOWN,
})
"""Codes after which the job goes to another server (or the same one later)."""

DOWN_CODES = frozenset({grpc.StatusCode.UNAVAILABLE})
"""Codes after which the server itself takes no job until its health says it is ready again."""

FATAL_CODES = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED,
                         grpc.StatusCode.UNIMPLEMENTED})
"""Codes no photo can get past (a wrong token, not a clipsketch server): the batch stops."""
# Anything else (INVALID_ARGUMENT first) is about this photo or these options: recorded as failed.


class Retry(Exception):
    """The job may succeed on another server or later; ``down``: this server should take no job until ready."""

    def __init__(self, message: str, down: bool = False):
        super().__init__(message)
        self.down = down


class Refused(Exception):
    """This photo cannot be sketched with these options (the message says why): recorded as failed."""


class Fatal(Exception):
    """No job can succeed this way: the batch stops."""


class Cancelled(Exception):
    """The batch cancelled the job (Ctrl-C twice)."""


@dataclass
class Sketched:
    """A job's results: the SVG and loss per stroke count, and the seconds it took there."""

    svgs: dict[int, str]
    losses: dict[int, float]
    seconds: float


class Attempt:
    """One try of a job on a server: ``cancel()`` (from any thread) stops it; the server's call registers how."""

    def __init__(self):
        self.cancelled = threading.Event()
        self._hooks: list[Callable[[], object]] = []
        self._lock = threading.Lock()

    def on_cancel(self, hook: Callable[[], object]) -> None:
        with self._lock:
            self._hooks.append(hook)
            if not self.cancelled.is_set():
                return
        hook()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled.set()
            hooks = list(self._hooks)
        for hook in hooks:
            hook()


@dataclass(frozen=True)
class Target:
    """A server to connect to: ``address`` (``host:port``), ``name`` what to check its TLS certificate against
    (the DNS name it was found under), ``label`` how messages name it."""

    address: str
    name: str | None
    label: str


def resolve(servers: Sequence[str]) -> list[Target]:
    """The servers ``--server`` values name now (a ``dns:///`` name: one per address it resolves to; none when it
    does not resolve). Raises ValueError for a value that is not an address."""
    targets = []
    for server in servers:
        name = _dns_name(server)
        if name is None:
            split_address(server)  # ValueError (AddressError) names a malformed one
            targets.append(Target(server, None, server))
            continue
        host, port = split_address(name)
        try:
            found = sorted({info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})
        except OSError:
            found = []
        targets += [Target(join_address(ip, port), host, f"{join_address(ip, port)} ({host})") for ip in found]
    return targets


def _dns_name(server: str) -> str | None:
    """``name:port`` of a ``dns:///name:port`` or ``dns:name:port`` value, None for a plain address."""
    for prefix in ("dns:///", "dns:"):
        if server.startswith(prefix):
            return server[len(prefix):]
    return None


class RemoteServer:
    """One clipsketch server, over its own connection."""

    def __init__(self, target: Target, token: str | None, tls_ca: str | None, fields: dict):
        from clipsketch.client import SketchClient

        self.target = target
        self.label = target.label
        self.fields = fields
        self.client = SketchClient(target.address, token=token, tls_ca=tls_ca, tls_name=target.name)

    def probe(self) -> int:
        """Jobs the server takes at once, when it is ready for jobs; raises :class:`Retry` (down, loading,
        draining) or :class:`Fatal`."""
        from grpc_health.v1 import health_pb2

        from clipsketch.client import SERVICE, ServerError

        try:
            status = self.client.health.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5).status
            if status != health_pb2.HealthCheckResponse.SERVING:
                raise Retry("not ready (loading its models or shutting down)", down=True)
            return max(self.client.info().workers, 1)  # 0 from a server older than the field: one
        except grpc.RpcError as error:
            raise _classified(error.code(), error.details() or error.code().name) from None
        except ServerError as error:
            raise _classified(error.code, str(error)) from None

    def sketch(self, photo: bytes, attempt: Attempt) -> Sketched:
        started = time.monotonic()
        call = self.client.stub.Sketch(self.client.request(photo, **self.fields), metadata=self.client.metadata)
        attempt.on_cancel(call.cancel)
        svgs, losses, done = {}, {}, None
        try:
            for event in call:
                if event.HasField("result"):
                    svgs[event.result.strokes] = event.result.svg
                    losses[event.result.strokes] = event.result.loss
                elif event.HasField("done"):
                    done = event.done
        except grpc.RpcError as error:
            if attempt.cancelled.is_set():
                raise Cancelled() from None
            raise _classified(error.code(), error.details() or error.code().name) from None
        if done is None or done.finished_early:
            raise Retry("the stream ended before the sketch was done")
        return Sketched(svgs, losses, time.monotonic() - started)

    def close(self) -> None:
        self.client.close()


def _classified(code: grpc.StatusCode, message: str) -> Exception:
    text = f"{message} ({code.name})"
    if code in RETRY_CODES:
        return Retry(text, down=code in DOWN_CODES)
    if code in FATAL_CODES:
        return Fatal(text)
    return Refused(text)


class LocalEngine:
    """The engine in this process: one job at a time."""

    label = "in-process"

    def __init__(self, engine, options):
        self.engine = engine
        self.options = options

    def probe(self) -> int:
        return 1

    def sketch(self, photo: bytes, attempt: Attempt) -> Sketched:
        from clipsketch.core.events import CountDone
        from clipsketch.core.limits import Limits
        from clipsketch.core.mask import MaskUnavailable
        from clipsketch.core.optimize import SketchCancelled
        from clipsketch.core.options import OptionError
        from clipsketch.core.photo import PhotoError, load_photo_within

        started = time.monotonic()
        svgs, losses = {}, {}
        try:
            image = load_photo_within(photo, Limits())
            self.options.check_photo(image.size)
            for event in self.engine.events(image, self.options, cancel=attempt.cancelled.is_set):
                if isinstance(event, CountDone):
                    svgs[event.result.count] = event.result.svg
                    losses[event.result.count] = event.result.loss
        except SketchCancelled:
            raise Cancelled() from None
        except (OptionError, PhotoError, MaskUnavailable) as error:
            raise Refused(str(error)) from None
        except RuntimeError as error:  # out of memory, say: the same engine may manage later
            raise Retry(f"the sketch failed: {error}") from None
        return Sketched(svgs, losses, time.monotonic() - started)

    def close(self) -> None:
        pass
