"""The extension's client of the clipsketch server: gRPC in pure Python, for Inkscape's own interpreter.

grpclib (HTTP/2 through h2) speaks to the same ``clipsketch.v1.SketchService`` as the main client does with grpcio;
the messages are ``sketch_pb2``, generated once from ``proto/sketch.proto`` and copied in when the extension is
built, and the methods' paths and types are read from its descriptor, so they cannot drift from the proto.
grpclib is asyncio: one event loop runs on a thread of the client's own, and the methods here block, so that the
effect and the progress window (whose buttons call :meth:`SketchClient.cancel` and :meth:`SketchClient.finish`
from their own threads) stay plain synchronous code.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Iterator

from grpclib.client import Channel, UnaryStreamMethod, UnaryUnaryMethod
from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError

from . import sketch_pb2 as pb
from .addresses import split_address, token_metadata

SERVICE = pb.DESCRIPTOR.services_by_name["SketchService"]
UNARY_SECONDS = 30
_END = object()


class ServerError(Exception):
    """A call failed: ``code`` is the gRPC status (:class:`grpclib.const.Status`), the message the server's (or
    the transport's) words."""

    def __init__(self, code: Status, message: str):
        super().__init__(message)
        self.code = code


def _method(channel: Channel, name: str):
    """The callable for ``SketchService.<name>``, its path, cardinality and message types from the descriptor."""
    method = SERVICE.methods_by_name[name]
    kind = UnaryStreamMethod if method.server_streaming else UnaryUnaryMethod
    return kind(channel, f"/{SERVICE.full_name}/{method.name}", getattr(pb, method.input_type.name),
                getattr(pb, method.output_type.name))


def _server_error(error: BaseException) -> ServerError:
    """What a failed call raised, as a :class:`ServerError` with the status it amounts to."""
    if isinstance(error, ServerError):
        return error
    if isinstance(error, GRPCError):
        return ServerError(error.status, error.message or error.status.name)
    if isinstance(error, asyncio.TimeoutError):
        return ServerError(Status.DEADLINE_EXCEEDED, "timed out")
    if isinstance(error, ConnectionRefusedError):
        return ServerError(Status.UNAVAILABLE, "connection refused")
    if isinstance(error, (OSError, StreamTerminatedError)):
        return ServerError(Status.UNAVAILABLE, f"unreachable ({error})")
    return ServerError(Status.UNKNOWN, str(error) or type(error).__name__)


class SketchClient:
    """A connection to the server at ``address`` (``host:port``); ``token`` is sent as ``authorization: Bearer``.

    Args:
        address: ``host:port`` (IPv6 hosts in brackets).
        token: the server's token, or None (loopback servers need none).
    """

    def __init__(self, address: str, token: str | None = None):
        host, port = split_address(address)
        self.address = address
        self.metadata = dict(token_metadata(token))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="grpc", daemon=True)
        self._thread.start()
        self._channel = self._run(self._open(host, port))

    @staticmethod
    async def _open(host: str, port: int) -> Channel:
        return Channel(host, port)  # made on the loop that will run it

    def _run(self, coroutine, timeout: float | None = None):
        """Run ``coroutine`` on the client's loop and wait for its result (its exception as a ServerError)."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except BaseException as error:
            future.cancel()
            raise _server_error(error) from None

    def __enter__(self) -> SketchClient:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        if self._loop.is_closed():
            return

        async def close_channel():
            self._channel.close()

        asyncio.run_coroutine_threadsafe(close_channel(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    # --- the RPCs ----------------------------------------------------------------------------------------------

    def _unary(self, name: str, request, timeout: float = UNARY_SECONDS):
        call = _method(self._channel, name)
        return self._run(call(request, timeout=timeout, metadata=self.metadata), timeout + 5)

    def info(self, timeout: float = UNARY_SECONDS) -> pb.ServerInfo:
        return self._unary("GetInfo", pb.GetInfoRequest(), timeout)

    def cancel(self, request_id: str) -> bool:
        return self._unary("Cancel", pb.CancelRequest(request_id=request_id)).found

    def finish(self, request_id: str) -> bool:
        """End the job early: it ends with its results so far (the stream then ends with ``done``)."""
        return self._unary("Finish", pb.FinishRequest(request_id=request_id)).found

    def wait_until_serving(self, timeout: float) -> None:
        """Block until the server has loaded its models (``GetInfo`` names a device); ServerError when it has not
        in ``timeout`` seconds, or at once when the server wants a token it was not given."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.info().device:
                    return
            except ServerError as error:
                if error.code == Status.UNAUTHENTICATED:
                    raise
            if time.monotonic() > deadline:
                raise ServerError(Status.UNAVAILABLE, f"the server did not become ready in {timeout:g} s")
            time.sleep(0.25)

    def events(self, request: pb.SketchRequest) -> Iterator[pb.SketchEvent]:
        """Stream the events of one sketch; ServerError when the server refuses or fails it. Closing the
        iterator early (``break``, or an exception in the caller) cancels the job on the server."""
        inbox: queue.Queue = queue.Queue()

        async def read():
            try:
                async with _method(self._channel, "Sketch").open(metadata=self.metadata) as stream:
                    await stream.send_message(request, end=True)
                    async for event in stream:
                        inbox.put(event)
            except asyncio.CancelledError:
                raise
            except BaseException as error:
                inbox.put(_server_error(error))
            inbox.put(_END)

        future = asyncio.run_coroutine_threadsafe(read(), self._loop)
        try:
            while True:
                item = inbox.get()
                if item is _END:
                    return
                if isinstance(item, ServerError):
                    raise item
                yield item
        finally:
            future.cancel()  # the stream is reset: the server cancels the job
