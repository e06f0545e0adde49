"""Installing the extension, the entry script's hand-over, starting a local server, and the progress window."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest
from lxml import etree

from clipsketch.inkscape_extension import install

SVG = "http://www.w3.org/2000/svg"
INKSCAPE_INKEX = "/usr/share/inkscape/extensions"
SYSTEM_PYTHON = "/usr/bin/python3"


def test_install_and_uninstall(tmp_path):
    target = install.install(tmp_path)
    assert sorted(p.name for p in target.iterdir()) == ["clipsketch_env.json", "clipsketch_sketch.inx",
                                                        "clipsketch_sketch.py"]
    assert json.loads((target / "clipsketch_env.json").read_text())["python"] == sys.executable
    assert install.uninstall(tmp_path) == target and not target.exists()
    assert install.uninstall(tmp_path) is None


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


def test_starts_a_local_server_when_none_answers(tmp_path, photo_bytes, monkeypatch):
    """Nothing listens: the extension starts `clipsketch serve` itself (offline backbone here) and waits for it."""
    import base64
    import io

    from clipsketch.inkscape_extension.clipsketch_sketch import Sketch

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # the started server uses the offline backbone,
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # whatever the network
    address = f"127.0.0.1:{free_port()}"
    drawing = tmp_path / "drawing.svg"
    drawing.write_text(f'<svg xmlns="{SVG}" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 451 300">'
                       f'<image id="photo" width="451" height="300" '
                       f'xlink:href="data:image/png;base64,{base64.b64encode(photo_bytes).decode()}"/></svg>')
    output = io.BytesIO()
    try:
        Sketch().run(["--id=photo", "--strokes=2", "--iterations=1", "--seeds=1", "--mask=false",
                      f"--server={address}", "--start_server=true", "--show_progress=false", str(drawing)],
                     output=output)
    finally:
        subprocess.run(["pkill", "-f", f"clipsketch.cli serve --listen {address}"], check=False)
    assert len(etree.fromstring(output.getvalue()).findall(f".//{{{SVG}}}path")) == 2
    assert "listening" in (tmp_path / "cache" / "clipsketch" / "server.log").read_text()


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="needs xvfb-run (make test installs it)")
def test_progress_window_cancel_cancels_the_job_on_the_server(server, tmp_path, photo_bytes):
    """The Tk window on a virtual display: Cancel (pressed once progress shows) stops the job on the server."""
    (tmp_path / "photo.png").write_bytes(photo_bytes)
    script = tmp_path / "window.py"
    script.write_text(f"""
import sys
from clipsketch.client import SketchClient
from clipsketch.inkscape_extension.effect import SketchCancelledByUser
from clipsketch.inkscape_extension.progress import ProgressWindow

window = ProgressWindow("test")
original = window._show
def show_then_cancel(event):
    original(event)
    if event.WhichOneof("event") == "progress" and event.progress.preview:
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
    assert not server.jobs.is_known("window-job")
