"""One end-to-end run of the real Inkscape binary (Debian's, under xvfb-run) with the installed extension."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys

import pytest
from lxml import etree

SVG = "http://www.w3.org/2000/svg"
INKSCAPE = "http://www.inkscape.org/namespaces/inkscape"
EXTENSION_ID = "org.clipsketch.sketch"

needs_inkscape = pytest.mark.skipif(
    not (shutil.which("inkscape") and shutil.which("xvfb-run")),
    reason="needs Debian's inkscape and xvfb-run (make test installs them)",
)


@needs_inkscape
def test_real_inkscape_adds_sketch_layers_over_the_image(server, tmp_path, photo_bytes):
    profile = tmp_path / "profile"
    installed = subprocess.run([sys.executable, "-m", "clipsketch.cli", "inkscape", "install", "--profile-dir",
                                str(profile)], capture_output=True, text=True, timeout=120)
    assert installed.returncode == 0, installed.stderr
    settings = {"strokes": "3,5", "iterations": "2", "seeds": "1", "mask": "false", "stroke_width": "3",
                "server": server.address, "start_server": "false", "show_progress": "false"}
    attributes = " ".join(f'{EXTENSION_ID}.{key}="{value}"' for key, value in settings.items())
    (profile / "preferences.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        f'<inkscape version="1" xmlns:inkscape="{INKSCAPE}">\n'
        f'  <group id="extensions" python-interpreter="/usr/bin/python3" {attributes} />\n'
        "</inkscape>\n")
    data = base64.b64encode(photo_bytes).decode()
    drawing = tmp_path / "drawing.svg"
    drawing.write_text(
        f'<svg xmlns="{SVG}" xmlns:xlink="http://www.w3.org/1999/xlink" width="600" height="400" '
        f'viewBox="0 0 600 400"><image id="photo" x="50" y="40" width="451" height="300" '
        f'xlink:href="data:image/png;base64,{data}"/></svg>')
    output = tmp_path / "result.svg"
    actions = f"select-by-id:photo;{EXTENSION_ID}.noprefs;export-filename:{output};export-do"
    environment = dict(os.environ, INKSCAPE_PROFILE_DIR=str(profile), PATH="/usr/bin:/bin")
    environment.pop("CLIPSKETCH_HANDED_OVER", None)
    run = subprocess.run(["xvfb-run", "-a", "inkscape", "--with-gui", "--batch-process", f"--actions={actions}",
                          str(drawing)], capture_output=True, text=True, timeout=120, env=environment, stdin=subprocess.DEVNULL)
    # Inkscape exits 0 even when the action is unknown: the document itself is the evidence.
    assert output.exists(), f"no output; inkscape said: {run.stdout[-2000:]} {run.stderr[-2000:]}"
    root = etree.parse(str(output)).getroot()
    layers = [g for g in root.iter(f"{{{SVG}}}g") if g.get(f"{{{INKSCAPE}}}groupmode") == "layer"]
    labels = [layer.get(f"{{{INKSCAPE}}}label") for layer in layers]
    assert labels == ["Sketch – 3 strokes", "Sketch – 5 strokes"], (labels, run.stderr[-2000:])
    for layer, count in zip(layers, (3, 5)):
        points = []
        paths = list(layer.iter(f"{{{SVG}}}path"))
        assert len(paths) == count
        for path in paths:
            numbers = [float(v) for v in path.get("d").replace("M", " ").replace("C", " ").replace(",", " ").split()]
            points += list(zip(numbers[0::2], numbers[1::2]))
        slack = 0.12 * 451
        assert all(50 - slack <= x <= 501 + slack and 40 - slack <= y <= 340 + slack for x, y in points)
    assert root.find(f".//{{{SVG}}}image[@id='photo']") is not None
