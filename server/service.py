"""``clipsketch service install|uninstall|status|print``: the server as a per-user service of this system.

One table, :data:`MANAGERS`, by ``platform.system()``: a systemd *user* unit on Linux (restarts the server when it
fails; logs to the journal, ``journalctl --user -u clipsketch``), a launchd agent on macOS (started at login, kept
alive; log in ``~/Library/Logs/clipsketch/server.log``) and a Task Scheduler logon task on Windows (started at
logon, restarted on failure). Each entry says where its definition file goes, its text, and the commands that
start, stop and report it; where the manager is not running (a container, no user systemd, a system without
``launchctl``/``schtasks``) the file is still written and the message says exactly how to run the server instead.
For a system-wide Linux service, copy the printed unit to ``/etc/systemd/system/clipsketch.service``, add ``User=``
and ``Group=`` lines for an unprivileged account, and use ``systemctl`` without ``--user``.
"""

from __future__ import annotations

import os
import platform
import plistlib
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

SERVICE_NAME = "clipsketch"
UNIT_NAME = "clipsketch.service"
LAUNCHD_LABEL = "org.clipsketch.server"

# ``python -c`` puts the working directory first on sys.path; dropping it keeps a folder named ``clipsketch``
# there (a clone of the repository, Inkscape's extension folder) from shadowing the installed package.
_SAFE_MAIN = "import sys; del sys.path[0]; from clipsketch.cli import main; sys.exit(main())"


def serve_command(python: str | None = None) -> list[str]:
    """The command that runs ``clipsketch …`` in the environment of ``python`` (default: this one) whatever the
    working directory holds: the environment's ``clipsketch`` script when it has one (its own folder comes first
    on sys.path, not the working directory's), else ``python -c`` without the working directory."""
    python = python or sys.executable
    script = Path(python).parent / ("clipsketch.exe" if os.name == "nt" else "clipsketch")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [python, "-c", _SAFE_MAIN]


def serve_environment(environment: dict[str, str] | None = None) -> dict[str, str]:
    """``environment`` (default: this process's) without what a host program adds that could shadow the
    installed package: ``PYTHONPATH`` (Inkscape puts its extension folders there) and ``PYTHONHOME``."""
    cleaned = dict(os.environ if environment is None else environment)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        cleaned.pop(name, None)
    return cleaned


# --- the definitions -----------------------------------------------------------------------------------------

def unit_text(command: list[str]) -> str:
    """systemd: a user unit that runs ``command``."""
    return "\n".join([
        "[Unit]", "Description=clipsketch sketching server (gRPC)", "After=network.target", "",
        "[Service]", "Type=simple", f"ExecStart={shlex.join(command)}", "Restart=on-failure", "RestartSec=5",
        "TimeoutStopSec=30", "KillSignal=SIGTERM", "Environment=PYTHONUNBUFFERED=1", "StandardOutput=journal",
        "StandardError=journal", "", "[Install]", "WantedBy=default.target", "",
    ])


def launchd_text(command: list[str]) -> str:
    """launchd: an agent of the logged-in user that runs ``command`` at login and again when it fails."""
    log = str(Path.home() / "Library" / "Logs" / "clipsketch" / "server.log")
    return plistlib.dumps({
        "Label": LAUNCHD_LABEL, "ProgramArguments": command, "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False}, "ThrottleInterval": 5, "ProcessType": "Background",
        "EnvironmentVariables": {"PYTHONUNBUFFERED": "1"}, "StandardOutPath": log, "StandardErrorPath": log,
    }).decode()


def task_text(command: list[str]) -> str:
    """Task Scheduler: a task of this user, started at their logon, restarted every minute when it fails, with
    no time limit."""
    program, arguments = command[0], subprocess.list2cmdline(command[1:])
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-16"?>',
        '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
        "  <RegistrationInfo><Description>clipsketch sketching server (gRPC)</Description></RegistrationInfo>",
        "  <Triggers><LogonTrigger><Enabled>true</Enabled></LogonTrigger></Triggers>",
        "  <Principals><Principal id=\"Author\"><LogonType>InteractiveToken</LogonType>"
        "<RunLevel>LeastPrivilege</RunLevel></Principal></Principals>",
        "  <Settings><MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>"
        "<DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>"
        "<StopIfGoingOnBatteries>false</StopIfGoingOnBatteries><ExecutionTimeLimit>PT0S</ExecutionTimeLimit>"
        "<RestartOnFailure><Interval>PT1M</Interval><Count>999</Count></RestartOnFailure></Settings>",
        f'  <Actions Context="Author"><Exec><Command>{escape(program)}</Command>'
        f"<Arguments>{escape(arguments)}</Arguments></Exec></Actions>",
        "</Task>", "",
    ])


def _home(*parts: str) -> Path:
    return Path.home().joinpath(*parts)


@dataclass(frozen=True)
class Manager:
    """One system's service manager: what it is called, where the definition goes (a function of the
    environment), its text, and the commands (given the file) that start, stop and report the service."""

    name: str
    path: Callable[[], Path]
    text: Callable[[list[str]], str]
    start: Callable[[Path], list[list[str]]]
    stop: Callable[[Path], list[list[str]]]
    status: Callable[[Path], list[str]]
    logs: str
    absent: str  # what is said when the manager does not run here
    running: Callable[[], bool]  # whether it can register and start services here
    advice: str = ""  # said too when it does not run
    encoding: str = "utf-8"  # of the definition file


def _uid() -> str:
    return str(os.getuid()) if hasattr(os, "getuid") else "$(id -u)"


MANAGERS = {
    "Linux": Manager(
        "a systemd user unit",
        lambda: Path(os.environ.get("XDG_CONFIG_HOME") or _home(".config")) / "systemd" / "user" / UNIT_NAME,
        unit_text,
        lambda path: [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", UNIT_NAME]],
        lambda path: [["systemctl", "--user", "disable", "--now", UNIT_NAME], ["systemctl", "--user", "daemon-reload"]],
        lambda path: ["systemctl", "--user", "status", "--no-pager", UNIT_NAME],
        "journalctl --user -u clipsketch", "no user systemd runs here (a container, a session without systemd, "
        "WSL…)", lambda: _user_systemd(),
        f"As a system service: `clipsketch service print [options] | sudo tee /etc/systemd/system/{UNIT_NAME}`, "
        "add User=/Group= lines, then `sudo systemctl enable --now clipsketch`."),
    "Darwin": Manager(
        "a launchd agent",
        lambda: _home("Library", "LaunchAgents", f"{LAUNCHD_LABEL}.plist"),
        launchd_text,
        lambda path: [["launchctl", "bootstrap", f"gui/{_uid()}", str(path)]],
        lambda path: [["launchctl", "bootout", f"gui/{_uid()}", str(path)]],
        lambda path: ["launchctl", "print", f"gui/{_uid()}/{LAUNCHD_LABEL}"],
        "~/Library/Logs/clipsketch/server.log", "launchctl is not here (this is no macOS session)",
        lambda: shutil.which("launchctl") is not None),
    "Windows": Manager(
        "a Task Scheduler logon task",
        lambda: Path(os.environ.get("LOCALAPPDATA") or _home("AppData", "Local")) / "clipsketch" / "task.xml",
        task_text,
        lambda path: [["schtasks", "/Create", "/TN", SERVICE_NAME, "/XML", str(path), "/F"],
                      ["schtasks", "/Run", "/TN", SERVICE_NAME]],
        lambda path: [["schtasks", "/End", "/TN", SERVICE_NAME], ["schtasks", "/Delete", "/TN", SERVICE_NAME, "/F"]],
        lambda path: ["schtasks", "/Query", "/TN", SERVICE_NAME, "/V", "/FO", "LIST"],
        "Task Scheduler → clipsketch → History", "schtasks is not here (this is no Windows session)",
        lambda: shutil.which("schtasks") is not None, encoding="utf-16"),
}


def manager(system: str | None = None) -> Manager:
    system = system or platform.system()
    if system not in MANAGERS:
        raise ValueError(f"no service manager is known for {system}: run `clipsketch serve` under your own "
                         "supervisor")
    return MANAGERS[system]


def service_command(serve_arguments: list[str], executable: str | None = None) -> list[str]:
    """``clipsketch serve --preload`` with ``serve_arguments``, run in this environment (see :func:`serve_command`)."""
    return [*serve_command(executable), "serve", "--preload", *serve_arguments]


def definition(serve_arguments: list[str], system: str | None = None) -> str:
    """The text of the service's definition file for ``system`` (default: this one)."""
    return manager(system).text(service_command(serve_arguments))


# --- install, uninstall, status ------------------------------------------------------------------------------

def install(serve_arguments: list[str], foreground_command: str = "clipsketch serve", start: bool = True,
            system: str | None = None) -> str:
    """Write the definition; register and start it when the manager runs here, else say how to run the server
    without it (``foreground_command``). Returns what was done."""
    chosen = manager(system)
    path = chosen.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(chosen.text(service_command(serve_arguments)), encoding=chosen.encoding)
    done = [f"wrote {chosen.name}: {path}"]
    if not start:
        return "\n".join(done)
    if chosen.running():
        for command in chosen.start(path):
            _run(command)
        done.append(f"registered and started it (logs: {chosen.logs})")
    else:
        done.append(f"{chosen.absent}, so nothing was started. Run the server without it: `{foreground_command}` in "
                    "the foreground (under tmux, screen or nohup to keep it running).")
        if chosen.advice:
            done.append(chosen.advice)
    return "\n".join(done)


def uninstall(system: str | None = None) -> str:
    chosen = manager(system)
    path = chosen.path()
    if chosen.running():
        for command in chosen.stop(path):
            subprocess.run(command, capture_output=True, check=False)
    if not path.exists():
        return f"{path} was not installed"
    path.unlink()
    return f"removed {path}"


def status(system: str | None = None) -> str:
    chosen = manager(system)
    path = chosen.path()
    if not path.exists():
        return f"not installed ({path} does not exist)"
    if not chosen.running():
        return f"installed at {path}; {chosen.absent}"
    result = subprocess.run(chosen.status(path), capture_output=True, text=True, check=False)
    return result.stdout.strip() or result.stderr.strip()


def _user_systemd() -> bool:
    if shutil.which("systemctl") is None:
        return False
    result = subprocess.run(["systemctl", "--user", "is-system-running"], capture_output=True, text=True,
                            check=False)
    return result.stdout.strip() in ("running", "degraded", "starting")


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed: {result.stderr.strip() or result.stdout.strip()}")
