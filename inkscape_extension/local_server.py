"""Start a local ``clipsketch serve`` for Inkscape when none answers, and wait until it serves.

The server outlives the extension (its own session, output appended to ``~/.cache/clipsketch/server.log``) and
serves later runs and other Inkscape windows. A lock file lets one window start it while the others wait for
it. The command is :func:`clipsketch.server.service.serve_command` without Inkscape's ``PYTHONPATH``, so the
extension's own folder cannot shadow the package. If the process dies while starting, the wait ends at once with
what it wrote to the log. Whether a server is already there is decided by a TCP connection (the kernel accepts it
however busy the process is), not by how soon it answers: a server loading its models, or busy with another
window's job on a loaded CPU, is waited for, not doubled. Something else on the port is reported, not fought.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

import grpc

from clipsketch.addresses import split_address
from clipsketch.client import ServerError, SketchClient
from clipsketch.server.service import serve_command, serve_environment

START_SECONDS = 180
HANDSHAKE_SECONDS = 15  # a gRPC server completes its HTTP/2 handshake within this even on a loaded CPU
LOG_LINES_SHOWN = 12


class LocalServerFailed(Exception):
    """The local server could not be started; the message says why and quotes its log."""


def server_log_path() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "clipsketch" / "server.log"


def start_local_server(client: SketchClient, address: str, timeout: float = START_SECONDS) -> None:
    """Make a server serve at ``address`` (loopback host:port): start one unless another window already did."""
    log = server_log_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    with _start_lock(log.parent / "server-start.lock"):
        deadline = time.monotonic() + timeout
        if _listening(address):
            _wait_for_the_server_there(client, address, deadline)
            return
        offset = log.stat().st_size if log.exists() else 0
        pid = _spawn([*serve_command(), "serve", "--listen", address], log)
        while True:
            if _serving(client, 1.0):
                return
            code = _exit_status(pid)
            if code is not None:
                if _listening(address):  # it lost the port to a server started meanwhile: use that one
                    _wait_for_the_server_there(client, address, deadline)
                    return
                raise LocalServerFailed(f"`clipsketch serve --listen {address}` stopped at once (exit status "
                                        f"{code}). Its log {log} says:\n{_log_excerpt(log, offset)}")
            if time.monotonic() > deadline:
                raise LocalServerFailed(f"`clipsketch serve --listen {address}` did not become ready in "
                                        f"{timeout:g} s. See its log: {log}")
            time.sleep(0.25)


def _listening(address: str) -> bool:
    """Whether something accepts TCP connections at ``address`` (host:port). The kernel completes the connection
    even while the listening process is too busy to run, so a loaded server still counts."""
    try:
        with socket.create_connection(split_address(address), timeout=2.0):
            return True
    except OSError:
        return False


def _wait_for_the_server_there(client: SketchClient, address: str, deadline: float) -> None:
    """Something listens at ``address``: wait until it reports SERVING (by ``deadline``, ``time.monotonic()``),
    or say that another program holds the port when it does not complete a gRPC handshake in
    ``HANDSHAKE_SECONDS``."""
    with grpc.insecure_channel(address) as probe:  # a fresh channel: the client's may be backing off
        try:
            grpc.channel_ready_future(probe).result(timeout=HANDSHAKE_SECONDS)
        except grpc.FutureTimeoutError:
            raise LocalServerFailed(
                f"something at {address} accepts connections but did not answer as a gRPC server in "
                f"{HANDSHAKE_SECONDS} s: another program holds that port (or a server there is stuck). Choose "
                "another port on the Server tab, or stop the program that holds it.") from None
    if not _serving(client, max(deadline - time.monotonic(), 1.0)):
        raise LocalServerFailed(f"the clipsketch server at {address} did not become ready in time (it may be "
                                f"busy with a long job). Its log, if this computer started it: {server_log_path()}")


def _serving(client: SketchClient, seconds: float) -> bool:
    try:
        client.wait_until_serving(seconds)
        return True
    except ServerError:
        return False


def _spawn(command: list[str], log: Path) -> int:
    """Start ``command`` in its own session, stdin from /dev/null, output appended to ``log``; its pid. No
    ``subprocess.Popen`` object is left behind to warn on stderr that the (long-lived) server still runs."""
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
               (os.POSIX_SPAWN_DUP2, 1, 2)]
    environment = serve_environment()
    environment["PYTHONUNBUFFERED"] = "1"
    return os.posix_spawn(command[0], command, environment, file_actions=actions, setsid=True)


def _exit_status(pid: int) -> int | None:
    """The exit status of our child ``pid`` once it has ended (negative: killed by that signal); None while it
    runs."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return -1
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def _log_excerpt(log: Path, offset: int) -> str:
    """What the server wrote since ``offset``: its first lines and its last ones (where a traceback ends)."""
    try:
        with open(log, "rb") as handle:
            handle.seek(offset)
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "(the log cannot be read)"
    if len(lines) > 2 * LOG_LINES_SHOWN:
        lines = lines[:LOG_LINES_SHOWN] + ["…"] + lines[-LOG_LINES_SHOWN:]
    return "\n".join(lines) or "(nothing)"


@contextlib.contextmanager
def _start_lock(path: Path):
    """Held by one process at a time (POSIX); elsewhere a no-op."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

