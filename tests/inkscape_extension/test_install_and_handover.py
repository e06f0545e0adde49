"""Installing the extension, the entry script's hand-over, starting a local server, and the progress window."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from lxml import etree

from clipsketch.inkscape_extension import install

SVG = "http://www.w3.org/2000/svg"
INKSCAPE_INKEX = "/usr/share/inkscape/extensions"
SYSTEM_PYTHON = "/usr/bin/python3"


def test_install_and_uninstall(tmp_path):
    target = install.install(tmp_path)
    assert sorted(p.name for p in target.iterdir()) == ["clipsketch_env.json", "clipsketch_refine.inx",
                                                        "clipsketch_refine.py", "clipsketch_sketch.inx",
                                                        "clipsketch_sketch.py"]
    assert json.loads((target / "clipsketch_env.json").read_text())["python"] == sys.executable
    assert target.name == "clipsketch-extension"  # no Python identifier: it cannot shadow the package
    assert install.uninstall(tmp_path) == target and not target.exists()
    assert install.uninstall(tmp_path) is None


def test_install_removes_an_earlier_versions_shadowing_folder(tmp_path):
    """Earlier versions installed into extensions/clipsketch, which shadowed the package on Inkscape's
    PYTHONPATH; a folder of the user's own by that name is left alone."""
    legacy = tmp_path / "extensions" / "clipsketch"
    legacy.mkdir(parents=True)
    for name in ("clipsketch_sketch.inx", "clipsketch_sketch.py", "clipsketch_env.json"):
        (legacy / name).write_text("old")
    install.install(tmp_path)
    assert not legacy.exists()
    legacy.mkdir()
    (legacy / "notes.txt").write_text("mine")
    install.install(tmp_path)
    assert (legacy / "notes.txt").exists()


def entry(tmp_path, environment=None, python=SYSTEM_PYTHON):
    script = install.install(tmp_path) / "clipsketch_sketch.py"
    env = dict(os.environ, PYTHONPATH=INKSCAPE_INKEX)
    env.pop("CLIPSKETCH_HANDED_OVER", None)
    env.update(environment or {})
    return script, env, python


needs_inkscape_python = pytest.mark.skipif(
    not (os.path.isfile(SYSTEM_PYTHON) and os.path.isdir(INKSCAPE_INKEX)),
    reason="needs Inkscape's Python and inkex (make test installs Debian's inkscape)",
)


@needs_inkscape_python
def test_hand_over_runs_the_effect_in_the_clipsketch_environment(tmp_path, server, photo_bytes):
    import base64

    script, env, python = entry(tmp_path)
    drawing = tmp_path / "drawing.svg"
    drawing.write_text(f'<svg xmlns="{SVG}" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 451 300">'
                       f'<image id="photo" width="451" height="300" '
                       f'xlink:href="data:image/png;base64,{base64.b64encode(photo_bytes).decode()}"/></svg>')
    result = subprocess.run(
        [python, str(script), "--id=photo", "--strokes=3", "--iterations=2", "--seeds=1", "--mask=false",
         f"--server={server.address}", "--start_server=false", "--show_progress=false", str(drawing)],
        capture_output=True, text=True, env=env, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert len(etree.fromstring(result.stdout.encode()).findall(f".//{{{SVG}}}path")) == 3


@needs_inkscape_python
def test_a_vanished_environment_is_reported_clearly(tmp_path):
    script, env, python = entry(tmp_path)
    (script.parent / "clipsketch_env.json").write_text(json.dumps({"python": str(tmp_path / "gone" / "python")}))
    result = subprocess.run([python, str(script), "--id=x", str(tmp_path / "d.svg")], capture_output=True, text=True,
                            env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and "environment is gone" in result.stderr


@needs_inkscape_python
def test_the_loop_guard_stops_a_second_hand_over(tmp_path):
    script, env, python = entry(tmp_path, {"CLIPSKETCH_HANDED_OVER": "1"})
    result = subprocess.run([python, str(script), "--id=x", str(tmp_path / "d.svg")], capture_output=True, text=True,
                            env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and "cannot load the extension" in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def embedded_drawing(tmp_path, photo_bytes) -> Path:
    import base64

    drawing = tmp_path / "drawing.svg"
    drawing.write_text(f'<svg xmlns="{SVG}" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 451 300">'
                       f'<image id="photo" width="451" height="300" '
                       f'xlink:href="data:image/png;base64,{base64.b64encode(photo_bytes).decode()}"/></svg>')
    return drawing


def offline_environment(tmp_path) -> dict[str, str]:
    """The started server uses the offline backbone whatever the network; its log goes under tmp_path."""
    environment = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), HF_HOME=str(tmp_path / "hf"),
                       HF_HUB_OFFLINE="1", CLIPSKETCH_HANDED_OVER="1")
    environment.pop("PYTHONPATH", None)
    return environment


def stop_servers(address: str) -> None:
    subprocess.run(["pkill", "-f", f"serve --listen {address}"], check=False)


def test_two_windows_start_one_local_server_and_share_it(tmp_path, photo_bytes):
    """Nothing listens: two extension runs at once (two Inkscape windows) start one `clipsketch serve`, both
    get their sketch from it, and nothing is written to stderr (Inkscape would show it in a dialog)."""
    address = f"127.0.0.1:{free_port()}"
    drawing = embedded_drawing(tmp_path, photo_bytes)
    script = install.install(tmp_path / "profile") / "clipsketch_sketch.py"
    environment = offline_environment(tmp_path)
    environment["PYTHONPATH"] = str(tmp_path / "profile" / "extensions")  # as Inkscape sets it
    command = [sys.executable, str(script), "--id=photo", "--strokes=2", "--iterations=1", "--seeds=1",
               "--mask=false", f"--server={address}", "--start_server=true", "--show_progress=false", str(drawing)]
    try:
        runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment,
                                 stdin=subprocess.DEVNULL, cwd=tmp_path / "profile" / "extensions") for _ in range(2)]
        outputs = [run.communicate(timeout=300) for run in runs]
        servers = subprocess.run(["pgrep", "-f", f"serve --listen {address}"], capture_output=True, text=True)
    finally:
        stop_servers(address)
    for run, (out, err) in zip(runs, outputs):
        assert run.returncode == 0 and err == b"", err.decode()
        assert len(etree.fromstring(out).findall(f".//{{{SVG}}}path")) == 2
    assert len(servers.stdout.split()) == 1
    log = (tmp_path / "cache" / "clipsketch" / "server.log").read_text()
    assert log.count("clipsketch serve: listening") == 1 and "ImportError" not in log


def test_a_server_still_loading_its_models_is_waited_for_not_doubled(tmp_path, monkeypatch, make_server):
    """A server that answers gRPC but is not SERVING yet (loading models; or on a loaded CPU too busy to answer a
    health check in 2 s, as a second Inkscape window saw in CI) is waited for: no second `clipsketch serve`."""
    from tests.conftest import tiny_engine

    from clipsketch.client import SketchClient
    from clipsketch.inkscape_extension.local_server import start_local_server

    loaded = threading.Event()

    def slow_engine():
        loaded.wait(60)
        return tiny_engine()

    server = make_server(load_engine=slow_engine)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    threading.Timer(6.0, loaded.set).start()
    started = time.monotonic()
    with SketchClient(server.address) as client:
        start_local_server(client, server.address, timeout=60)
        assert client.info().device == "cpu"
    assert time.monotonic() - started > 5.5 and server.models.engine is not None
    assert not (tmp_path / "cache" / "clipsketch" / "server.log").exists()  # nothing was spawned


def test_a_server_that_dies_while_starting_is_reported_at_once_with_its_log(tmp_path, photo_bytes):
    """The port is bound by another program but nothing listens on it: the started server cannot bind and exits;
    the extension says so with the head of the server's log instead of waiting out its 180 s."""
    drawing = embedded_drawing(tmp_path, photo_bytes)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{holder.getsockname()[1]}"
        try:
            result = subprocess.run(
                [sys.executable, "-m", "clipsketch.inkscape_extension.clipsketch_sketch", "--id=photo",
                 "--strokes=2", "--iterations=1", f"--server={address}", "--start_server=true",
                 "--show_progress=false", str(drawing)],
                capture_output=True, text=True, env=offline_environment(tmp_path), timeout=170,
                stdin=subprocess.DEVNULL)
        finally:
            stop_servers(address)
    assert result.returncode != 0
    assert "Could not start a local clipsketch server" in result.stderr and "stopped at once" in result.stderr
    assert "server.log" in result.stderr and "Traceback" not in result.stderr.split("says:")[0]


def test_something_else_listening_on_the_port_is_named_and_no_server_is_started(tmp_path, monkeypatch):
    """A program that accepts connections but speaks no gRPC holds the port: the extension says so (within the
    handshake's 15 s) and starts nothing that could only fail to bind."""
    from clipsketch.client import SketchClient
    from clipsketch.inkscape_extension.local_server import LocalServerFailed, start_local_server

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        address = f"127.0.0.1:{squatter.getsockname()[1]}"
        with SketchClient(address) as client, pytest.raises(LocalServerFailed) as failed:
            start_local_server(client, address, timeout=60)
    assert "another program holds that port" in str(failed.value) and address in str(failed.value)
    assert not (tmp_path / "cache" / "clipsketch" / "server.log").exists()  # nothing was spawned


def test_a_server_too_busy_to_run_is_waited_for_not_doubled(tmp_path, monkeypatch, serve_process):
    """What a second Inkscape window met in CI on a loaded 2-core machine: the first window's server is there but
    gets no CPU for seconds (here: stopped with SIGSTOP for 8 s). The kernel still accepts the connection, so
    the window waits for that server instead of starting another."""
    from clipsketch.client import SketchClient
    from clipsketch.inkscape_extension.local_server import start_local_server

    from tests.conftest import TINY_SERVE_OPTIONS

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    process, address = serve_process(*TINY_SERVE_OPTIONS)
    process.send_signal(signal.SIGSTOP)
    threading.Timer(8.0, process.send_signal, (signal.SIGCONT,)).start()
    started = time.monotonic()
    with SketchClient(address) as client:
        start_local_server(client, address, timeout=60)
        assert client.info().device == "cpu"
    assert time.monotonic() - started > 7.5
    assert not (tmp_path / "cache" / "clipsketch" / "server.log").exists()  # nothing was spawned


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="needs xvfb-run (make test installs it)")
def test_progress_window_cancel_cancels_the_job_on_the_server(server, tmp_path, photo_bytes):
    """The Tk window on a virtual display: Cancel (pressed once progress shows) stops the job on the server."""
    (tmp_path / "photo.png").write_bytes(photo_bytes)
    script = tmp_path / "window.py"
    script.write_text(f"""
import sys
from clipsketch.client import SketchClient
from clipsketch.inkscape_extension.errors import SketchCancelledByUser
from clipsketch.inkscape_extension.progress import ProgressWindow

window = ProgressWindow("test", open({str(tmp_path / "photo.png")!r}, "rb").read(), [4], "#ff0000")
original = window._show
def show_then_cancel(event):
    original(event)
    if event.WhichOneof("event") == "progress" and event.progress.preview:
        strokes = window.canvas.find_withtag("strokes")
        print("strokes", len(strokes), {{window.canvas.itemcget(item, "fill") for item in strokes}})
        print("backdrop", len(window.canvas.find_withtag("all")) - len(strokes))
        window.cancel()
window._show = show_then_cancel
with SketchClient("{server.address}") as client:
    events = client.events(open({str(tmp_path / "photo.png")!r}, "rb").read(), strokes=[4], iterations=5000,
                           seeds=1, mask=False, preview_every=1, request_id="window-job")
    try:
        window.run(events, client, "window-job")
    except SketchCancelledByUser:
        print("cancelled by the user")
        sys.exit(0)
print("not cancelled")
sys.exit(1)
""")
    result = subprocess.run(["xvfb-run", "-a", sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0 and "cancelled by the user" in result.stdout, result.stdout + result.stderr
    assert "strokes 4 {'#ff0000'}" in result.stdout and "backdrop 1" in result.stdout  # colour over the photo
    assert not server.jobs.is_known("window-job")


def test_overall_progress_runs_across_stroke_counts(tmp_path, photo_bytes):
    """One bar for the whole job: each stroke count an equal share, in the order they run."""
    script = tmp_path / "fraction.py"
    (tmp_path / "photo.png").write_bytes(photo_bytes)
    script.write_text(f"""
from clipsketch.inkscape_extension.progress import ProgressWindow
window = ProgressWindow("t", open({str(tmp_path / "photo.png")!r}, "rb").read(), [4, 8, 16, 32])
print(window.fraction_done(4, 0, 500), window.fraction_done(8, 250, 500), window.fraction_done(32, 500, 500))
""")
    result = subprocess.run(["xvfb-run", "-a", sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    assert result.stdout.split() == ["0.0", "0.375", "1.0"], result.stderr
