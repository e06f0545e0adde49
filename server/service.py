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


def unit_text(serve_arguments: list[str], executable: str | None = None) -> str:
    """The unit file: ``clipsketch serve`` with ``serve_arguments``, run by this environment's Python."""
    command = [executable or sys.executable, "-m", "clipsketch.cli", "serve", "--preload", *serve_arguments]
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


def install(serve_arguments: list[str], start: bool = True) -> str:
    """Write the user unit; enable and start it when a user systemd is running. Returns what was done."""
    path = unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(serve_arguments))
    done = [f"wrote {path}"]
    if start and _user_systemd():
        _systemctl("daemon-reload")
        _systemctl("enable", "--now", UNIT_NAME)
        done.append(f"enabled and started {UNIT_NAME} (logs: journalctl --user -u clipsketch)")
    else:
        done.append(f"no user systemd here: start it with systemctl --user enable --now {UNIT_NAME}")
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
