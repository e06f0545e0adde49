"""`clipsketch serve` as a process, `clipsketch sketch --server`, and the systemd unit."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from lxml import etree
from PIL import Image

from clipsketch.client import ServerError, SketchClient
from clipsketch.server.app import MAX_BATCH_LIMIT, default_max_batch, free_memory

from tests.conftest import TINY_SERVE_OPTIONS as TINY


@pytest.mark.slow
def test_sigterm_drains_then_stops_the_job_and_exits_cleanly(serve_process, photo_bytes):
    process, address = serve_process(*TINY, "--drain-seconds", "1")
    with SketchClient(address) as client:
        stream = client.events(photo_bytes, strokes=[4], iterations=5000, seeds=1, mask=False)
        for event in stream:
            if event.HasField("progress"):
                break
        process.send_signal(signal.SIGTERM)
        with pytest.raises(ServerError) as stopped:
            for _ in stream:
                pass
        assert stopped.value.code == grpc.StatusCode.UNAVAILABLE  # the client may send it to another server
    assert process.wait(30) == 0
    logs = process.stderr.read()
    assert '"message": "shutting down", "signal": "SIGTERM"' in logs and '"message": "stopped"' in logs
    assert '"message": "draining", "running": 1, "seconds": 1.0' in logs


@pytest.mark.slow
def test_sketch_command_through_a_server_writes_the_same_outputs(serve_process, tmp_path, chelsea):
    _, address = serve_process(*TINY)
    photo = tmp_path / "chelsea.png"
    Image.fromarray(chelsea).save(photo)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "clipsketch.cli", "sketch", str(photo), "--server", address, "--strokes", "3", "6",
         "--iterations", "3", "--seeds", "1", "--no-mask", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "clip:tiny-rn/random" in result.stderr
    for count in (3, 6):
        root = etree.parse(str(out / f"chelsea-{count}-strokes.svg")).getroot()
        assert root.get("viewBox") == "0 0 451 300"
        assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) == count
        assert Image.open(out / f"chelsea-{count}-strokes.png").size == (451, 300)
    assert (out / "chelsea-contact-sheet.png").exists()


@pytest.mark.slow
def test_unreachable_server_gets_a_clear_message(tmp_path, chelsea):
    photo = tmp_path / "chelsea.png"
    Image.fromarray(chelsea).save(photo)
    result = subprocess.run(
        [sys.executable, "-m", "clipsketch.cli", "sketch", str(photo), "--server", "127.0.0.1:9", "--iterations", "2",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "UNAVAILABLE" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_second_server_on_a_port_in_use_exits_with_a_clear_message(serve_process, photo_bytes):
    """gRPC shares a port between servers by default (SO_REUSEPORT); clipsketch turns that off, so a second
    server cannot silently take half of the first one's clients."""
    _, address = serve_process(*TINY)
    result = subprocess.run([sys.executable, "-m", "clipsketch.cli", "serve", "--listen", address, *TINY],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 2 and f"cannot listen on {address}: the port is in use" in result.stderr
    assert "Traceback" not in result.stderr
    with SketchClient(address) as client:
        assert client.info().device == "cpu"


def test_preload_exits_with_the_reason_when_the_first_load_fails():
    """Without ``--preload`` the server would stay up, unready, and try again; with it, it exits at once."""
    no_weights = [option if option != "random" else "openai" for option in TINY]  # tiny-rn has no openai weights
    result = subprocess.run([sys.executable, "-m", "clipsketch.cli", "serve", "--listen", "127.0.0.1:0", "--preload",
                             "--backbone", "clip", *no_weights], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "listening" not in result.stdout
    assert "clipsketch serve: loading the models failed: open_clip knows no pretrained weights 'openai' for " \
           "'tiny-rn'" in result.stderr


@pytest.mark.slow
def test_serving_off_loopback_without_a_token_is_refused():
    result = subprocess.run([sys.executable, "-m", "clipsketch.cli", "serve", "--listen", "0.0.0.0:0", *TINY],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "requires a token" in result.stderr


@pytest.mark.slow
def test_service_unit(tmp_path):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    printed = subprocess.run(
        [sys.executable, "-m", "clipsketch.cli", "service", "print", "--listen", "0.0.0.0:50051", "--token-file",
         str(token_file)], capture_output=True, text=True, env=env, timeout=120, check=True,
    ).stdout
    assert "Restart=on-failure" in printed and "StandardError=journal" in printed
    script = Path(sys.executable).parent / "clipsketch"
    assert f"ExecStart={script} serve --preload --listen 0.0.0.0:50051" in printed
    assert f"--token-file {token_file}" in printed and "s3cret" not in printed
    installed = subprocess.run([sys.executable, "-m", "clipsketch.cli", "service", "install"], capture_output=True,
                               text=True, env=env, timeout=120)
    assert installed.returncode == 0, installed.stderr
    from clipsketch.server.service import _user_systemd

    if not _user_systemd():  # this machine (and CI) has none: the install says how to run without it
        assert "no user systemd runs here" in installed.stdout and "`clipsketch serve --listen" in installed.stdout
        assert "systemctl --user enable" not in installed.stdout
    unit = tmp_path / "systemd" / "user" / "clipsketch.service"
    assert unit.exists() and f"{script} serve" in unit.read_text()
    if shutil.which("systemd-analyze"):  # systemd's own checks of the unit, without a running systemd
        verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
        assert verify.returncode == 0, verify.stderr
    status = subprocess.run([sys.executable, "-m", "clipsketch.cli", "service", "status"], capture_output=True,
                            text=True, env=env, timeout=120)
    assert "installed" in status.stdout
    removed = subprocess.run([sys.executable, "-m", "clipsketch.cli", "service", "uninstall"], capture_output=True,
                             text=True, env=env, timeout=120)
    assert removed.returncode == 0 and not unit.exists()
    refused = subprocess.run([sys.executable, "-m", "clipsketch.cli", "service", "print", "--token", "x"],
                             capture_output=True, text=True, env=env, timeout=120)
    assert refused.returncode == 2 and "--token-file" in refused.stderr
    for action in ("print", "install"):  # what `serve` would refuse is refused before any unit is written
        refused = subprocess.run([sys.executable, "-m", "clipsketch.cli", "service", action, "--listen",
                                  "0.0.0.0:50053"], capture_output=True, text=True, env=env, timeout=120)
        assert refused.returncode == 2 and "requires a token" in refused.stderr, refused.stderr
        assert not unit.exists()


@pytest.mark.parametrize("beside_python", [True, False], ids=["console-script", "python-c"])
def test_server_command_is_not_shadowed_by_a_clipsketch_folder(tmp_path, beside_python):
    """A working directory or PYTHONPATH entry holding a ``clipsketch/`` folder (Inkscape's extension folder, a
    clone of the repository) must not replace the installed package for the server's command."""
    from clipsketch.server.service import serve_command, serve_environment

    (tmp_path / "clipsketch").mkdir()
    (tmp_path / "clipsketch" / "clipsketch_sketch.py").write_text("")
    command = serve_command() if beside_python else serve_command(str(tmp_path / "python"))
    if not beside_python:
        assert command[:2] == [str(tmp_path / "python"), "-c"]
        command[0] = sys.executable
    environment = serve_environment(dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert "PYTHONPATH" not in environment
    shadowed = subprocess.run([sys.executable, "-m", "clipsketch.cli", "--version"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
    assert shadowed.returncode != 0  # the trap itself, so this test proves something
    run = subprocess.run([*command, "--version"], cwd=tmp_path, env=environment, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("clipsketch "), run.stderr


def test_launchd_agent_and_windows_logon_task(tmp_path, monkeypatch):
    """The macOS and Windows entries of the service table: their definitions parse as launchd and Task Scheduler
    read them, run `clipsketch serve --preload` with the options, and install writes them where those managers
    look (here neither manager runs, so nothing is started and the message says how to run the server)."""
    import plistlib

    from clipsketch.server import service

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    arguments = ["--listen", "127.0.0.1:50051", "--token-file", "C:/Users/ann/token file"]
    command = service.service_command(arguments)
    agent = plistlib.loads(service.definition(arguments, "Darwin").encode())
    assert agent["Label"] == "org.clipsketch.server" and agent["ProgramArguments"] == command
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] == {"SuccessfulExit": False}
    assert agent["StandardOutPath"] == str(tmp_path / "Library" / "Logs" / "clipsketch" / "server.log")

    done = service.install(arguments, system="Darwin")
    plist = tmp_path / "Library" / "LaunchAgents" / "org.clipsketch.server.plist"
    assert plistlib.loads(plist.read_bytes())["ProgramArguments"] == command
    assert "launchctl is not here" in done and "nothing was started" in done

    done = service.install(arguments, system="Windows")
    task_file = tmp_path / "Local" / "clipsketch" / "task.xml"
    assert "schtasks is not here" in done
    task = etree.fromstring(task_file.read_text(encoding="utf-16").split("\n", 1)[1].encode())
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    assert task.find("t:Triggers/t:LogonTrigger/t:Enabled", ns).text == "true"
    assert task.find("t:Actions/t:Exec/t:Command", ns).text == command[0]
    assert task.find("t:Actions/t:Exec/t:Arguments", ns).text == subprocess.list2cmdline(command[1:])
    assert '"C:/Users/ann/token file"' in task.find("t:Actions/t:Exec/t:Arguments", ns).text
    assert task.find("t:Settings/t:RestartOnFailure/t:Count", ns) is not None
    assert task.find("t:Principals/t:Principal/t:RunLevel", ns).text == "LeastPrivilege"
    assert service.MANAGERS["Windows"].start(task_file)[0] == ["schtasks", "/Create", "/TN", "clipsketch", "/XML",
                                                               str(task_file), "/F"]
    assert service.uninstall("Darwin") == f"removed {plist}" and service.uninstall("Windows") == f"removed {task_file}"
    with pytest.raises(ValueError, match="no service manager is known for Plan9"):
        service.definition(arguments, "Plan9")


def test_serve_max_batch_is_reported_and_its_default_comes_from_the_device(serve_process):
    """``--max-batch 3``: GetInfo says 3 jobs share a step and 3 run at once (what a batch keeps in flight); by
    default a CPU server shares steps between up to MAX_BATCH_LIMIT jobs, as its free memory allows."""
    _, address = serve_process(*TINY, "--max-batch", "3")
    with SketchClient(address) as client:
        info = client.info()
    assert (info.max_batch, info.workers) == (3, 3)
    _, address = serve_process(*TINY)
    with SketchClient(address) as client:
        info = client.info()
    assert 1 <= info.max_batch <= MAX_BATCH_LIMIT["cpu"] and info.workers == info.max_batch
    assert info.max_batch == default_max_batch("cpu", free_memory("cpu"))


def test_the_default_batch_is_one_job_on_cuda_until_measured_there_and_from_free_memory_on_a_cpu():
    gib = 2**30
    assert default_max_batch("cuda", 80 * gib) == default_max_batch("cuda", gib) == 1
    assert default_max_batch("cpu", 64 * gib) == MAX_BATCH_LIMIT["cpu"] == 2
    assert default_max_batch("cpu", 4 * gib) == 1  # half of it over 1.5 GiB a job
    assert default_max_batch("cpu", 0) == 1
