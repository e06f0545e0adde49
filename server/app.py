"""Assembling and running the server: services, security, logs, signals.

``SketchServer`` wires the sketch service, the standard health service and server reflection onto one gRPC
server. It listens on loopback unless told otherwise; any other address needs a token (clients send
``authorization: Bearer TOKEN``) on every call but the health service's (Kubernetes' gRPC probes send no metadata),
and TLS is available with a certificate and key.

Health, as probes read it (:data:`LIVENESS` and :data:`READINESS`):

- ``""`` (the process): SERVING while the server runs, NOT_SERVING once it stops. Models loading or failing to load
  leave it SERVING: a restart would not bring missing weights, and the models are tried again in the background.
- ``clipsketch.v1.SketchService`` (ready for jobs): SERVING once the models are loaded (at the first try or a
  later one), NOT_SERVING while they load or fail to, and as soon as a drain starts. Why it is not ready is in
  GetInfo's ``not_ready_reason`` and, for a failed load, in the log.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from clipsketch.addresses import (
    is_loopback,
    join_address,
    presents_token,
    read_token_file,
    running_user,
    split_address,
)
from clipsketch.core.engine import Engine
from clipsketch.core.limits import Limits
from clipsketch.proto import sketch_pb2_grpc
from clipsketch.server.cache import ResultCache
from clipsketch.server.jobs import JobQueue
from clipsketch.server.models import RETRY_DELAYS, ModelHolder
from clipsketch.server.probes import LIVENESS, READINESS, SKETCH_SERVICE
from clipsketch.server.servicer import SketchServicer

log = logging.getLogger("clipsketch.server")
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


STOP_GRACE = 1.0
"""Seconds a drained server gives the jobs it cancels, and then its calls, to end (they had the drain already)."""


class SecurityError(ValueError):
    """The listen address, token and TLS settings do not go together."""


def check_security(listen: str, token: str | None, tls_cert: str | None, tls_key: str | None) -> None:
    """Raise :class:`SecurityError` for settings ``serve`` refuses (also checked before writing a service unit)."""
    if not is_loopback(listen) and not token:
        raise SecurityError(f"listening on {listen} (not loopback) requires a token: --token or --token-file")
    if bool(tls_cert) != bool(tls_key):
        raise SecurityError("TLS needs both --tls-cert and --tls-key")


class TokenInterceptor(grpc.ServerInterceptor):
    """Refuses calls without ``authorization: Bearer <token>`` with UNAUTHENTICATED (compared in constant time),
    except the health service's: probes cannot send a token, and health says nothing a token protects."""

    def __init__(self, token: str):
        self._token = token

    def intercept_service(self, continuation, handler_call_details):
        if handler_call_details.method.startswith(f"/{HEALTH_SERVICE}/") or presents_token(
                handler_call_details.invocation_metadata, self._token):
            return continuation(handler_call_details)
        handler = continuation(handler_call_details)
        if handler is None:
            return None

        def deny(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong token (send authorization: Bearer TOKEN)")

        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(deny, handler.request_deserializer, handler.response_serializer)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(deny, handler.request_deserializer, handler.response_serializer)
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(deny, handler.request_deserializer,
                                                         handler.response_serializer)
        return grpc.unary_unary_rpc_method_handler(deny, handler.request_deserializer, handler.response_serializer)


def add_reflection(server: grpc.Server, services: tuple[str, ...]) -> None:
    """Server reflection as both ``grpc.reflection.v1`` (what current grpcurl and Postman ask first) and
    ``v1alpha`` (what older clients ask). grpcio-reflection implements only v1alpha; the two protocols' messages are
    the same on the wire, so one servicer answers both."""
    names = (*services, REFLECTION_V1, reflection.SERVICE_NAME)
    servicer = reflection.ReflectionServicer(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(REFLECTION_V1, {
        "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
            response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString),
    }),))


class SketchServer:
    """One gRPC server with the sketch, health and reflection services.

    Args:
        load_engine: builds the :class:`Engine` (called once, in the background).
        listen: ``host:port``; port 0 picks a free one (see :attr:`port`).
        token: required unless listening on loopback; checked on every call when set.
        tls_cert / tls_key: PEM files; both or neither.
        max_queue: jobs that may wait; more are refused with RESOURCE_EXHAUSTED.
        workers: groups of jobs run side by side, each with its own threads (one per device by default).
        max_batch: jobs a group runs at once, sharing each optimisation step (:func:`default_max_batch`).
        retry_delays: seconds between tries of a failed ``load_engine`` (:data:`RETRY_DELAYS`).
    """

    def __init__(self, load_engine, listen: str = "127.0.0.1:50051", token: str | None = None,
                 tls_cert: str | None = None, tls_key: str | None = None, max_queue: int = 16, workers: int = 1,
                 limits: Limits | None = None, cache_size: int = 32, max_batch: int = 1, local_port: bool = False,
                 retry_delays: tuple[float, ...] = RETRY_DELAYS):
        check_security(listen, token, tls_cert, tls_key)
        if max_queue < 1 or workers < 1 or max_batch < 1:
            raise ValueError("max_queue, workers and max_batch must be at least 1")
        self.limits = limits or Limits()
        self.jobs = JobQueue(max_queue, workers, max_batch)
        self.models = ModelHolder(load_engine, retry_delays)
        self.health = health.HealthServicer()
        self.health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        self.health.set(READINESS, health_pb2.HealthCheckResponse.NOT_SERVING)
        self._readiness_lock = threading.Lock()
        self.servicer = SketchServicer(self.models, self.jobs, self.limits, ResultCache(cache_size))
        self.models.on_loaded(self._update_readiness)
        # well above the photo limit, so that an oversized photo gets the documented INVALID_ARGUMENT from
        # validation rather than the transport's RESOURCE_EXHAUSTED
        message_limit = 4 * self.limits.max_photo_bytes + 2**20
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max(32, 4 * max_queue), thread_name_prefix="rpc"),
            interceptors=[TokenInterceptor(token)] if token else [],
            # no SO_REUSEPORT (gRPC's default on Linux): a second server on a port in use must fail, not
            # silently share the port and its clients with the first
            options=[("grpc.max_receive_message_length", message_limit),
                     ("grpc.max_send_message_length", 64 * 2**20), ("grpc.so_reuseport", 0)],
            maximum_concurrent_rpcs=max_queue + self.jobs.slots + 64,
        )
        sketch_pb2_grpc.add_SketchServiceServicer_to_server(self.servicer, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        add_reflection(self.server, (SKETCH_SERVICE, HEALTH_SERVICE))
        try:
            if tls_cert:
                credentials = grpc.ssl_server_credentials([(Path(tls_key).read_bytes(),
                                                            Path(tls_cert).read_bytes())])
                self.port = self.server.add_secure_port(listen, credentials)
            else:
                self.port = self.server.add_insecure_port(listen)
        except RuntimeError:  # grpcio raises this when the bind fails
            self.port = 0
        if self.port == 0:
            raise OSError(f"cannot listen on {listen}: the port is in use (another clipsketch server?) or the "
                          "address is not this computer's")
        host, _ = split_address(listen)
        self.address = join_address(host, self.port)
        self.local_address = self._local_address(host, bool(tls_cert)) if local_port else None

    def _local_address(self, host: str, tls: bool) -> str:
        """Where this process reaches its own server (``serve --web``'s page): the listening port through loopback,
        or with TLS an extra plain port on 127.0.0.1 (the token is checked there too)."""
        if tls:
            return join_address("127.0.0.1", self.server.add_insecure_port("127.0.0.1:0"))
        if host in ("0.0.0.0", "::", ""):
            return join_address("127.0.0.1" if host != "::" else "::1", self.port)
        return self.address

    def _update_readiness(self) -> None:
        """Readiness SERVING when the server takes jobs (models loaded, no drain), else NOT_SERVING; under a lock,
        so that models loaded as a drain starts cannot undo the drain's NOT_SERVING."""
        with self._readiness_lock:
            ready = not self.servicer.not_ready_reason()
            self.health.set(READINESS, health_pb2.HealthCheckResponse.SERVING if ready
                            else health_pb2.HealthCheckResponse.NOT_SERVING)

    def start(self) -> SketchServer:
        self.models.start()
        self.server.start()
        return self

    def drain(self, seconds: float, cancel_now: threading.Event | None = None) -> bool:
        """Stop taking jobs (new ones and waiting ones get UNAVAILABLE: their clients send them elsewhere), tell
        the readiness probe at once, and let running jobs end, at most ``seconds`` or until ``cancel_now`` is set;
        then :meth:`stop` with :data:`STOP_GRACE` (jobs still running come back UNAVAILABLE too): all of it within
        ``seconds`` + 5 s, what a container's stop timeout must allow. True if no job had to be stopped."""
        self.servicer.shutting_down.set()
        self._update_readiness()
        self.jobs.close(cancel_running=False)
        running = self.jobs.running
        log.info("draining", extra={"fields": {"running": running, "seconds": seconds}})
        idle = self.jobs.wait_until_idle(seconds, cancel_now)
        if not idle:
            log.info("drain time is up: stopping the running jobs", extra={"fields": {"running": self.jobs.running}})
        self.stop(STOP_GRACE)
        return idle

    def stop(self, grace: float = 5.0) -> None:
        """Refuse new work, cancel queued and running jobs (their clients get CANCELLED), stop trying to load the
        models, then stop."""
        self.servicer.shutting_down.set()
        self.models.stop()
        self.health.enter_graceful_shutdown()
        self.jobs.close()
        self.jobs.join(grace)
        self.server.stop(grace).wait(grace + 1)


# --- the `clipsketch serve` command ---------------------------------------------------------------------------

class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, message and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)), "level": record.levelname,
                 "message": record.getMessage(), **getattr(record, "fields", {})}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry)


def divide_threads(workers: int) -> int:
    """Give each of ``workers`` concurrent jobs its share of the CPU threads (torch's pool is per process):
    two jobs each using every core oversubscribe them and run many times slower, not twice. Returns the share."""
    import torch

    share = max(1, (os.cpu_count() or 1) // max(workers, 1))
    if workers > 1:
        torch.set_num_threads(share)
    return share


JOB_MEMORY_GIB = {"cuda": 2.0, "cpu": 1.5}
"""Memory one 16-stroke RN101 job's share of a batched step holds at most (activations of its 3 seeds × 2
views, forward and backward, and its photo's taps), GiB, by device type: what :func:`default_max_batch` divides
the free memory by."""

MAX_BATCH_LIMIT = {"cuda": 1, "cpu": 2}
"""The largest default batch by device type. On a CPU two jobs gain 1.17× over one at a time and four nothing
more (`benchmarks/throughput.py`), so more only delays each one. On a GPU one job at a time, the measured path
(CUDA graphs), until the batched step has been measured on a GPU (its CUDA test has not run on one yet);
``--max-batch K`` asks for more."""


def device_kind(device: str) -> str:
    """``cuda`` when ``device`` (``auto``, ``cpu``, ``cuda``) runs on a CUDA GPU here, else ``cpu``."""
    import torch

    return "cuda" if device in ("auto", "cuda") and torch.cuda.is_available() else "cpu"


def free_memory(kind: str) -> int:
    """Bytes free on this machine's device of ``kind`` (``cpu``, ``cuda``)."""
    if kind == "cuda":
        import torch

        return torch.cuda.mem_get_info()[0]
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 2**32


def default_max_batch(kind: str, free: int) -> int:
    """How many jobs share a step by default on a device of ``kind`` (``cpu``, ``cuda``) with ``free`` bytes free:
    half of them over :data:`JOB_MEMORY_GIB`, within 1 and :data:`MAX_BATCH_LIMIT` (1 on CUDA)."""
    return max(1, min(MAX_BATCH_LIMIT[kind], int(free / 2 / (JOB_MEMORY_GIB[kind] * 2**30))))


def weights_cache() -> Path:
    """The folder Hugging Face downloads CLIP weights into (``HF_HUB_CACHE``, by default ``$HF_HOME/hub``)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def unwritable_folder(folder: Path) -> Path | None:
    """None when this process can keep files in ``folder`` (created when missing); else the folder that stops it:
    ``folder`` itself or its nearest existing parent."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        return existing
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return existing
    return None


def _fetches_clip_weights(args) -> bool:
    """Whether ``serve``'s engine may download CLIP weights into the Hugging Face cache: the CLIP or auto backbone
    with pretrained weights (the saliency ViT's come from the cache even with ``--clip-weights``), on a system
    with user ids (the containers this check is for)."""
    return args.backbone in ("clip", "auto") and args.weights != "random" and running_user() is not None


def _warn_if_cache_unwritable() -> None:
    """Log a warning, with the fix, when downloaded CLIP weights cannot be kept in the Hugging Face cache."""
    blocked = unwritable_folder(weights_cache())
    if blocked is None:
        return
    log.warning(f"the model folder {blocked} is not writable by {running_user()}: CLIP weights found there are used, "
                f"but downloaded ones cannot be kept; let that user write there: `sudo chown -R {os.getuid()} HOSTDIR` "
                f"for a host folder mounted there, a named volume, or fsGroup: {os.getgid()} in Kubernetes",
                extra={"fields": {"folder": str(blocked), "uid": os.getuid(), "gid": os.getgid()}})


def engine_loader(args) -> Callable[[], Engine]:
    """The engine ``args`` ask for, as a loader for :class:`SketchServer`. When it may download CLIP weights, the
    Hugging Face cache is checked now (a warning when it is not writable) and a failed load's reason says so."""
    fetches = _fetches_clip_weights(args)
    if fetches:
        _warn_if_cache_unwritable()

    def load_engine() -> Engine:
        try:
            return Engine(backbone=args.backbone, device=args.device, precision=args.precision,
                          clip_weights=args.clip_weights, weights=args.weights, loss_model=args.loss_model,
                          saliency_model=args.saliency_model)
        except Exception as error:
            blocked = unwritable_folder(weights_cache()) if fetches else None
            if blocked is None:
                raise
            raise RuntimeError(f"{error}; and the model folder {blocked} is not writable by {running_user()}, so "
                               "downloaded weights cannot be kept there") from error

    return load_engine


def serve(args) -> int:
    """Run the server until SIGTERM or SIGINT (``args`` from the ``serve`` sub-command)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.getLogger("clipsketch").addHandler(handler)
    logging.getLogger("clipsketch").setLevel(logging.INFO)
    token = read_token_file(args.token_file, for_server=True) if args.token_file else args.token
    load_engine = engine_loader(args)
    divide_threads(args.workers)
    kind = device_kind(args.device)
    max_batch = args.max_batch or default_max_batch(kind, free_memory(kind))
    if args.web:
        check_security(args.web, token, args.tls_cert, args.tls_key)  # off loopback the page needs the token too
    server = SketchServer(load_engine, args.listen, token, args.tls_cert, args.tls_key, args.max_queue, args.workers,
                          max_batch=max_batch, local_port=bool(args.web))
    stopped, cancel_now = threading.Event(), threading.Event()

    def on_signal(number, _frame):
        if stopped.is_set():  # a second signal: stop the running jobs now
            log.info("stopping the running jobs now", extra={"fields": {"signal": signal.Signals(number).name}})
            cancel_now.set()
            return
        log.info("shutting down", extra={"fields": {"signal": signal.Signals(number).name}})
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    if args.preload:
        server.models.ready.wait()
        if server.models.engine is None:
            server.stop(0)
            raise RuntimeError(server.models.error or "loading the models failed")
    page = _start_page(args, server, token) if args.web else None
    print(f"clipsketch serve: listening on {server.address}", flush=True)
    log.info("listening", extra={"fields": {"address": server.address, "tls": bool(args.tls_cert),
                                            "token": bool(token), "max_batch": max_batch}})
    if page is not None:
        print(f"clipsketch serve: web page on {page.url}", flush=True)
        log.info("web page", extra={"fields": {"url": page.url}})
    stopped.wait()
    server.drain(args.drain_seconds, cancel_now)  # the page's running jobs drain like any other
    if page is not None:
        page.stop()
    log.info("stopped")
    return 0


def _start_page(args, server: SketchServer, token: str | None):
    """``serve --web``: the page on ``args.web``, its jobs sent to this server's own queue over loopback, as many at
    once as the queue and the workers take (so the places in the queue and the step batch are the server's)."""
    from clipsketch.session import OnServer
    from clipsketch.web.command import PageThread
    from clipsketch.web.jobs import PREVIEW_EVERY

    slots = args.max_queue + server.jobs.slots
    backend = OnServer(server.local_address, token, label="this server", preview_every=PREVIEW_EVERY)
    return PageThread(args.web, [(backend, slots)], token, "on this server", max_waiting=slots,
                      tls_cert=args.tls_cert, tls_key=args.tls_key).start()
