"""Start a local ``clipsketch serve`` for Inkscape when none answers, and wait until it serves.

The command is the one ``clipsketch inkscape install`` recorded (``clipsketch_server.json`` beside the entry
scripts), else ``clipsketch`` on PATH. It is started detached, with one portable call (``subprocess`` with the
flags of :data:`DETACH` for this system), outlives the extension (output appended to ``server.log`` in the
folder of :data:`CACHE_DIRS`) and serves later runs and other Inkscape windows. A lock file (``filelock``) lets
one window start it while the others wait for it. If the process dies while starting, the wait ends at once with
what it wrote to the log. Whether a server is already there is decided by a TCP connection (the kernel accepts it
however busy the process is), not by how soon it answers: a server loading its models, or busy with another
window's job on a loaded CPU, is waited for, not doubled. Something else on the port is reported, not fought.
Inside a sandbox (:data:`SANDBOXES`: Flatpak, Snap) programs outside it cannot be started: the message says how
to run the server as a service instead.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import time
from pathlib import Path

from filelock import FileLock, Timeout

from .addresses import split_address
from .folders import expand
from .rpc import ServerError, SketchClient, Status

START_SECONDS = 180
HANDSHAKE_SECONDS = 15  # a gRPC server answers GetInfo within this even on a loaded CPU
LOG_LINES_SHOWN = 12
EXTENSION_FOLDER = Path(__file__).resolve().parents[1]
SERVER_RECORD = "clipsketch_server.json"  # written by `clipsketch inkscape install`

# How a started server is detached from the extension, by ``os.name``: its own session (POSIX); its own process
# group and no console (Windows: CREATE_NEW_PROCESS_GROUP | DETACHED_PROCESS).
DETACH = {"posix": {"start_new_session": True}, "nt": {"creationflags": 0x00000200 | 0x00000008}}
# Where the server's log goes, by ``platform.system()`` ("*": any other), as in clipsketch's own tables.
CACHE_DIRS = {"Windows": "$LOCALAPPDATA/clipsketch", "Darwin": "~/Library/Caches/clipsketch",
              "*": "$XDG_CACHE_HOME/clipsketch"}
# Sandboxes whose extensions cannot start a program of the host: (name, how it is recognised).
SANDBOXES = [("the Flatpak sandbox", lambda root, environ: (root / ".flatpak-info").exists()),
             ("the Snap sandbox", lambda root, environ: bool(environ.get("SNAP")))]
# What a host program sets that could shadow the server's own packages (Inkscape sets PYTHONPATH).
_HOST_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")


class LocalServerFailed(Exception):
    """The local server could not be started; the message says why and quotes its log."""


def sandbox(root: Path = Path("/"), environ: dict[str, str] | None = None) -> str | None:
    """The sandbox Inkscape runs in, or None."""
    environ = os.environ if environ is None else environ
    return next((name for name, inside in SANDBOXES if inside(root, environ)), None)


def server_log_path(system: str | None = None, environ: dict[str, str] | None = None) -> Path:
    environ = dict(os.environ) if environ is None else environ
    pattern = CACHE_DIRS.get(system or platform.system(), CACHE_DIRS["*"])
    return expand(pattern, environ, Path.home()) / "server.log"


def server_command(folder: Path = EXTENSION_FOLDER) -> list[str]:
    """The ``clipsketch`` command to run: the one recorded at install, else the one on PATH."""
    try:
        recorded = json.loads((folder / SERVER_RECORD).read_text(encoding="utf-8"))["command"]
        if recorded and Path(recorded[0]).is_file():
            return list(recorded)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    found = shutil.which("clipsketch")
    if found:
        return [found]
    raise LocalServerFailed(
        "no clipsketch command was found (none recorded by `clipsketch inkscape install`, none on PATH). Install "
        "clipsketch (`pipx install clipsketch`, or the wheel) and run `clipsketch inkscape install`; or start the "
        "server yourself (`clipsketch serve`) and untick 'Start a local server'.")


def start_local_server(client: SketchClient, address: str, timeout: float = START_SECONDS) -> None:
    """Make a server serve at ``address`` (loopback host:port): start one unless another window already did."""
    where = sandbox()
    if where:
        _, port = split_address(address)
        raise LocalServerFailed(
            f"Inkscape runs in {where}, from where no program outside it can be started. Run the server as a "
            f"service on this computer (`clipsketch service install --listen 127.0.0.1:{port}`, or "
            f"`clipsketch serve --listen 127.0.0.1:{port}` in a terminal), then apply the extension again.")
    log = server_log_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(log.parent / "server-start.lock"), timeout=timeout + HANDSHAKE_SECONDS):
            _start_or_wait(client, address, log, time.monotonic() + timeout, timeout)
    except Timeout:
        raise LocalServerFailed(f"another Inkscape window is still starting the server; see its log: {log}") from None


def _start_or_wait(client: SketchClient, address: str, log: Path, deadline: float, timeout: float) -> None:
    if _listening(address):
        _wait_for_the_server_there(client, address, deadline)
        return
    offset = log.stat().st_size if log.exists() else 0
    process = _spawn([*server_command(), "serve", "--listen", address], log)
    while True:
        if _serving(client, 1.0):
            return  # it runs on by itself
        code = process.poll()
        if code is not None:
            if _listening(address):  # it lost the port to a server started meanwhile: use that one
                _wait_for_the_server_there(client, address, deadline)
                return
            raise LocalServerFailed(f"`clipsketch serve --listen {address}` stopped at once (exit status {code}). "
                                    f"Its log {log} says:\n{_log_excerpt(log, offset)}")
        if time.monotonic() > deadline:
            raise LocalServerFailed(f"`clipsketch serve --listen {address}` did not become ready in {timeout:g} s. "
                                    f"See its log: {log}")
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
    """Something listens at ``address``: wait until it serves (by ``deadline``, ``time.monotonic()``), or say
    that another program holds the port when it does not answer as a gRPC server in ``HANDSHAKE_SECONDS``."""
    with SketchClient(address, token=None) as probe:  # a fresh connection: the client's may have failed
        try:
            probe.info(timeout=HANDSHAKE_SECONDS)
        except ServerError as error:
            if error.code in (Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.UNKNOWN):
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


def _spawn(command: list[str], log: Path) -> subprocess.Popen:
    """Start ``command`` detached (:data:`DETACH`), stdin from the null device, output appended to ``log``."""
    environment = {name: value for name, value in os.environ.items() if name not in _HOST_VARIABLES}
    environment["PYTHONUNBUFFERED"] = "1"
    with open(log, "ab") as output:
        try:
            return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                    env=environment, close_fds=True, **DETACH[os.name])
        except OSError as error:
            raise LocalServerFailed(f"`{command[0]}` cannot be run ({error.strerror}): reinstall clipsketch and "
                                    "run `clipsketch inkscape install` again.") from None


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
