"""Start a local ``clipsketch serve`` for Inkscape when none answers, and wait until it serves.

The server outlives the extension (its own session, output appended to ``~/.cache/clipsketch/server.log``) and
serves later runs and other Inkscape windows. A lock file lets one window start it while the others wait for
it. The command is :func:`clipsketch.server.service.serve_command` without Inkscape's ``PYTHONPATH``, so the
extension's own folder cannot shadow the package. If the process dies while starting, the wait ends at once with
what it wrote to the log. A server that is there but slow to answer (loading its models, or busy with another
window's job on a loaded CPU) is waited for, not doubled.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import grpc

from clipsketch.client import ServerError, SketchClient
from clipsketch.server.service import serve_command, serve_environment

START_SECONDS = 180
LOG_LINES_SHOWN = 12


class LocalServerFailed(Exception):
    """The local server could not be started; the message says why and quotes its log."""


def server_log_path() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "clipsketch" / "server.log"


def start_local_server(client: SketchClient, address: str, timeout: float = START_SECONDS) -> None:
    """Make a server serve at ``address`` (loopback): start one unless another window already did."""
    log = server_log_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    with _start_lock(log.parent / "server-start.lock"):
        deadline = time.monotonic() + timeout
        if _serving_or_there(client, deadline):
            return
        offset = log.stat().st_size if log.exists() else 0
        pid = _spawn([*serve_command(), "serve", "--listen", address], log)
        while True:
            if _serving(client, 1.0):
                return
            code = _exit_status(pid)
            if code is not None:
                if _serving_or_there(client, deadline):  # it lost the port to a server: use that one
                    return
                raise LocalServerFailed(f"`clipsketch serve --listen {address}` stopped at once (exit status "
                                        f"{code}). Its log {log} says:\n{_log_excerpt(log, offset)}")
            if time.monotonic() > deadline:
                raise LocalServerFailed(f"`clipsketch serve --listen {address}` did not become ready in "
                                        f"{timeout:g} s. See its log: {log}")
            time.sleep(0.25)


def _serving(client: SketchClient, seconds: float) -> bool:
    try:
        client.wait_until_serving(seconds)
        return True
    except ServerError:
        return False


def _serving_or_there(client: SketchClient, deadline: float) -> bool:
    """True once a server at the address reports SERVING. One that does not within 2 s but completes a gRPC
    handshake (a server loading its models, or one too busy to answer at once) is given until ``deadline``
    (``time.monotonic()``); nothing listening, or something that speaks no gRPC, gives False within 3 s."""
    if _serving(client, 2.0):
        return True
    try:
        grpc.channel_ready_future(client.channel).result(timeout=1.0)
    except grpc.FutureTimeoutError:
        return False
    return _serving(client, max(deadline - time.monotonic(), 1.0))


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

