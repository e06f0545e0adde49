"""Python client of the clipsketch server.

    with SketchClient("127.0.0.1:50051") as client:
        options = SketchOptions(strokes=(8, 16))             # the contract (clipsketch.core.options), checked here
        for event in client.events(Path("cat.jpg").read_bytes(), options, preview_every=50):
            ...                                              # queued, started, progress, result…, done
        results = client.sketch(photo_bytes, strokes=(16,))  # keywords: the fields of SketchOptions

Several addresses (``SketchClient(["gpu1:50051", "gpu2:50051"])``) or a DNS name with several records spread
requests over the servers with gRPC's round-robin load balancing. ``GetInfo``, ``Cancel`` and ``Finish`` are
retried on UNAVAILABLE (they are safe to repeat); a sketch is never retried behind the caller's back.
``finish(request_id)`` ends a job early with its results so far (the stream then ends with ``done``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clipsketch.addresses import channel_target, token_metadata
from clipsketch.core.options import SketchOptions, StartStrokes, parse_color
from clipsketch.proto import sketch_pb2 as pb
from clipsketch.proto import sketch_pb2_grpc
from clipsketch.server.probes import READINESS

SERVICE = READINESS  # the sketch service's full name
_SERVICE_CONFIG = json.dumps({
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [{
        "name": [{"service": SERVICE, "method": "GetInfo"}, {"service": SERVICE, "method": "Cancel"},
                 {"service": SERVICE, "method": "Finish"}],
        "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.2s", "maxBackoff": "2s", "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"]},
    }],
})


class ServerError(Exception):
    """A call failed; ``code`` is the gRPC status, the message the server's (or the transport's) words."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


def start_strokes(points: Sequence[Sequence[float]], widths: Sequence[float] = (), colors: Sequence[str] = (),
                  opacities: Sequence[float] = (), locked: bool | Sequence[bool] = False) -> StartStrokes:
    """Start strokes given as 8 numbers each (x0 y0 … x3 y3, photo pixels); widths in photo pixels, CSS colors
    and opacities are optional (the sketch's width, black, opaque), ``locked`` one flag or one per stroke."""
    flags = [locked] * len(points) if isinstance(locked, bool) else list(locked)
    return StartStrokes(
        tuple(tuple(map(float, control)) for control in points),
        tuple(widths[k] if widths else None for k in range(len(points))),
        tuple(parse_color(colors[k] if colors else "black", "start color", opacities[k] if opacities else 1.0)
              for k in range(len(points))),
        tuple(flags))


def sketch_options(options: SketchOptions | None = None, **fields) -> SketchOptions:
    """``options``, or the :class:`SketchOptions` of ``fields`` (its field names; ``color`` may be a CSS color)."""
    if options is not None:
        if fields:
            raise TypeError("give options or keyword fields, not both")
        return options
    if isinstance(fields.get("color"), str):
        fields["color"] = parse_color(fields["color"])
    return SketchOptions(**fields)


class SketchClient:
    """A connection to one server, or to several spread by round robin.

    Args:
        servers: ``host:port``, a list of them, or a DNS name (``dns:///name:port``).
        token: sent as ``authorization: Bearer TOKEN`` (servers off loopback require one).
        tls_ca: PEM file of the CA (or self-signed certificate) to trust; enables TLS.
        timeout: default deadline in seconds for each sketch (None: none).
        tls_name: the name to check the server's certificate against, when ``servers`` is an IP address found
            under that name.
    """

    def __init__(self, servers: str | Sequence[str], token: str | None = None, tls_ca: str | None = None,
                 timeout: float | None = None, tls_name: str | None = None):
        options = [("grpc.service_config", _SERVICE_CONFIG), ("grpc.enable_retries", 1),
                   ("grpc.max_receive_message_length", 64 * 2**20), ("grpc.max_send_message_length", 64 * 2**20)]
        if tls_ca and tls_name:
            options.append(("grpc.ssl_target_name_override", tls_name))
        target = channel_target(servers)
        self.servers = 1 if isinstance(servers, str) else len(servers)
        if tls_ca:
            credentials = grpc.ssl_channel_credentials(Path(tls_ca).read_bytes())
            self.channel = grpc.secure_channel(target, credentials, options)
        else:
            self.channel = grpc.insecure_channel(target, options)
        self.metadata = token_metadata(token)
        self.timeout = timeout
        self.stub = sketch_pb2_grpc.SketchServiceStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)

    def __enter__(self) -> SketchClient:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def request(self, photo: bytes, options: SketchOptions | None = None, preview_every: int = 0,
                request_id: str | None = None, **fields) -> pb.SketchRequest:
        """The :class:`SketchRequest` for ``photo`` with ``options`` (or the :class:`SketchOptions` of keyword
        ``fields``; see :func:`~clipsketch.server.requests.options_request`): a preview every ``preview_every``
        iterations, ``request_id`` the job's name for :meth:`cancel` and :meth:`finish` (default: a fresh one)."""
        from clipsketch.server.requests import options_request

        return options_request(sketch_options(options, **fields), photo, preview_every, request_id)

    def events(self, photo: bytes, options: SketchOptions | None = None, preview_every: int = 0,
               request_id: str | None = None, timeout: float | None = None, **fields) -> Iterator[pb.SketchEvent]:
        """Stream the events of one sketch (arguments as :meth:`request`). Raises :class:`ServerError` when the
        server refuses or fails it. Closing the iterator early (``break``) cancels the job on the server."""
        return self.stream(self.request(photo, options, preview_every, request_id, **fields), timeout)

    def stream(self, request: pb.SketchRequest, timeout: float | None = None) -> Iterator[pb.SketchEvent]:
        """Stream the events of a request as it is (:meth:`events` builds one from options)."""
        call = self.stub.Sketch(request, timeout=timeout or self.timeout, metadata=self.metadata)
        try:
            yield from call
        except grpc.RpcError as error:
            raise ServerError(error.code(), error.details() or str(error.code())) from None
        finally:
            call.cancel()

    def sketch(self, photo: bytes, options: SketchOptions | None = None, timeout: float | None = None,
               **fields) -> list[pb.Result]:
        """Run one sketch to the end (arguments as :meth:`events`); the :class:`Result` per stroke count."""
        return [event.result for event in self.events(photo, options, timeout=timeout, **fields)
                if event.HasField("result")]

    def cancel(self, request_id: str) -> bool:
        return self._unary(self.stub.Cancel, pb.CancelRequest(request_id=request_id)).found

    def finish(self, request_id: str) -> bool:
        """Finish a job early: it ends with its results so far. True if a server had that job (with several
        servers each is asked in turn: round robin sends each call to the next)."""
        for _ in range(self.servers):
            if self._unary(self.stub.Finish, pb.FinishRequest(request_id=request_id)).found:
                return True
        return False

    def info(self) -> pb.ServerInfo:
        return self._unary(self.stub.GetInfo, pb.GetInfoRequest())

    def wait_until_serving(self, timeout: float = 60.0) -> None:
        """Block until the server reports SERVING (models loaded); ServerError on timeout."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            try:
                status = self.health.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=2,
                                           metadata=self.metadata, wait_for_ready=True).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                    raise ServerError(error.code(), error.details()) from None
            if time.monotonic() > deadline:
                raise ServerError(grpc.StatusCode.UNAVAILABLE, f"the server did not become ready in {timeout:g} s")
            time.sleep(0.2)

    def _unary(self, method, request):
        try:
            return method(request, timeout=30, metadata=self.metadata)
        except grpc.RpcError as error:
            raise ServerError(error.code(), error.details() or str(error.code())) from None
