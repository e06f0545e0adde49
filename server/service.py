"""``clipsketch service install|uninstall|status``: the server as a systemd *user* service.

The unit restarts the server when it fails and logs to the journal (``journalctl --user -u clipsketch``). For a
system-wide service, copy the printed unit to ``/etc/systemd/system/clipsketch.service``, add ``User=`` and
``Group=`` lines for an unprivileged account, and use ``systemctl`` without ``--user``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

UNIT_NAME = "clipsketch.service"


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


def unit_text(serve_arguments: list[str], executable: str | None = None) -> str:
    """The unit file: ``clipsketch serve`` with ``serve_arguments``, run in this environment (see
    :func:`serve_command`)."""
    command = [*serve_command(executable), "serve", "--preload", *serve_arguments]
    return "\n".join([
        "[Unit]",
        "Description=clipsketch sketching server (gRPC)",
        "After=network.target",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={shlex.join(command)}",
        "Restart=on-failure",
        "RestartSec=5",
        "TimeoutStopSec=30",
        "KillSignal=SIGTERM",
        "Environment=PYTHONUNBUFFERED=1",
        "StandardOutput=journal",
        "StandardError=journal",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ])


def unit_path() -> Path:
    config = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return config / "systemd" / "user" / UNIT_NAME


def install(serve_arguments: list[str], foreground_command: str = "clipsketch serve", start: bool = True) -> str:
    """Write the user unit; enable and start it when a user systemd is running, else say how to run the server
    without one (``foreground_command``). Returns what was done."""
    path = unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(serve_arguments))
    done = [f"wrote {path}"]
    if start and _user_systemd():
        _systemctl("daemon-reload")
        _systemctl("enable", "--now", UNIT_NAME)
        done.append(f"enabled and started {UNIT_NAME} (logs: journalctl --user -u clipsketch)")
    elif start:
        done.append("no user systemd runs here (a container, a session without systemd, WSL…), so nothing was "
                    f"started. Run the server without it: `{foreground_command}` in the foreground (under tmux, "
                    f"screen or nohup to keep it running); or as a system service: `clipsketch service print "
                    f"[options] | sudo tee /etc/systemd/system/{UNIT_NAME}`, add User=/Group= lines, then "
                    f"`sudo systemctl enable --now clipsketch`.")
    return "\n".join(done)


def uninstall() -> str:
    path = unit_path()
    done = []
    if _user_systemd():
        subprocess.run(["systemctl", "--user", "disable", "--now", UNIT_NAME], capture_output=True, check=False)
    if path.exists():
        path.unlink()
        done.append(f"removed {path}")
        if _user_systemd():
            _systemctl("daemon-reload")
    else:
        done.append(f"{path} was not installed")
    return "\n".join(done)


def status() -> str:
    path = unit_path()
    if not path.exists():
        return f"not installed ({path} does not exist)"
    if not _user_systemd():
        return f"installed at {path}; no user systemd is running here"
    result = subprocess.run(["systemctl", "--user", "status", "--no-pager", UNIT_NAME], capture_output=True,
                            text=True, check=False)
    return result.stdout.strip() or result.stderr.strip()


def _user_systemd() -> bool:
    if shutil.which("systemctl") is None:
        return False
    result = subprocess.run(["systemctl", "--user", "is-system-running"], capture_output=True, text=True,
                            check=False)
    return result.stdout.strip() in ("running", "degraded", "starting")


def _systemctl(*arguments: str) -> None:
    result = subprocess.run(["systemctl", "--user", *arguments], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"systemctl --user {' '.join(arguments)} failed: {result.stderr.strip()}")
