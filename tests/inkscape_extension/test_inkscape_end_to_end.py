"""The real Inkscape binary (Debian's 1.2.2, under xvfb-run) running the extension from its zip, unpacked into a
fresh profile, in Inkscape's own Python (which has no grpcio, torch or clipsketch), on real documents.

Each run selects images, applies the extension through a ``.noprefs`` action whose settings come from
``preferences.xml``, and exports the document. Inkscape itself (``--query-all``) then measures the result, so the
placement is checked by the program that draws it, not by our own math: every stroke lies on its image (within
1 % of the image's size). The images sit away from the page's corner, so a sketch scaled wrongly (px taken for
mm shrinks it 3.78 times towards the origin) lands off them.
"""

from __future__ import annotations

import base64
import io
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import urllib.parse
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

SVG = "http://www.w3.org/2000/svg"
INKSCAPE = "http://www.inkscape.org/namespaces/inkscape"
XLINK = "http://www.w3.org/1999/xlink"
EXTENSION_ID = "org.clipsketch.sketch"
A4_TEMPLATE = Path("/usr/share/inkscape/templates/default.svg")  # what File → New gives: A4, mm

pytestmark = pytest.mark.skipif(
    not (shutil.which("inkscape") and shutil.which("xvfb-run")),
    reason="needs Debian's inkscape and xvfb-run (make test installs them)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def encoded(array, kind: str, orientation: int | None = None) -> bytes:
    buffer = io.BytesIO()
    extra = {}
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        extra["exif"] = exif.tobytes()
    Image.fromarray(array).save(buffer, kind, **extra)
    return buffer.getvalue()


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def a4_document(path: Path, content: str) -> Path:
    """Inkscape's File → New document (A4, mm) with ``content`` (SVG markup) in its layer, written to ``path``."""
    root = etree.parse(str(A4_TEMPLATE)).getroot()
    root.find(f"{{{SVG}}}g").append(etree.fromstring(f'<g xmlns="{SVG}" xmlns:xlink="{XLINK}">{content}</g>'))
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return path


def test_inkscapes_python_here_has_no_grpcio_torch_or_clipsketch():
    """What the runs below prove rests on this: the extension gets nothing from clipsketch's environment."""
    found = subprocess.run(["/usr/bin/python3", "-c", "import importlib.util as u; print([n for n in ('grpc', "
                            "'torch', 'clipsketch', 'google') if u.find_spec(n)])"], capture_output=True, text=True,
                           cwd="/", env={"PATH": "/usr/bin:/bin"})
    assert found.stdout.strip() == "[]", found.stdout + found.stderr


def run_inkscape(tmp_path: Path, document: Path, ids: list[str], environment=None,
                 extension: str = EXTENSION_ID, use_this: str | None = None, **settings):
    """Apply ``extension`` to ``ids`` in ``document`` in the real Inkscape: the exported document's root and
    file. ``use_this``: a pattern of the title of the progress window whose Use this button is clicked, again and
    again until Inkscape is done (it does nothing until the window has a preview to use)."""
    profile = tmp_path / "profile"
    if not (profile / "extensions").exists():  # the zip, as a user unpacks it (no server command recorded)
        packaged = subprocess.run([sys.executable, "-m", "clipsketch.cli", "inkscape", "package", "--out",
                                   str(tmp_path / "dist")], capture_output=True, text=True, timeout=120)
        assert packaged.returncode == 0, packaged.stderr
        with zipfile.ZipFile(next((tmp_path / "dist").glob("clipsketch-inkscape-*.zip"))) as archive:
            archive.extractall(profile / "extensions")
    settings = {"strokes": "3", "iterations": "2", "seeds": "1", "mask": "false", "stroke_width": "2",
                "start_server": "false", "show_progress": "false", **settings}
    attributes = " ".join(f'{extension}.{key}="{value}"' for key, value in settings.items())
    (profile / "preferences.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        f'<inkscape version="1" xmlns:inkscape="{INKSCAPE}">\n'
        f'  <group id="extensions" python-interpreter="/usr/bin/python3" {attributes} />\n'
        "</inkscape>\n")
    output = tmp_path / f"result-{document.stem}.svg"
    actions = f"select-by-id:{','.join(ids)};{extension}.noprefs;export-filename:{output};export-do"
    # clipsketch's environment only on PATH, where the extension looks for `clipsketch` to start a server
    env = dict(os.environ, INKSCAPE_PROFILE_DIR=str(profile), PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin",
               **(environment or {}))
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    # stdin closed: under pytest an inherited stdin hangs Inkscape; anything on the extension's stderr would open
    # a modal dialog, so a run that does not finish in time is a failure too
    command = ["inkscape", "--with-gui", "--batch-process", f"--actions={actions}", str(document)]
    if use_this:  # Inkscape in the background; xdotool clicks Use this (bottom middle, left of Cancel)
        command = ["bash", "-c", f'{shlex.join(command)} & inkscape=$!\n'
                   'while kill -0 $inkscape 2>/dev/null; do\n'
                   f'  for window in $(xdotool search --name {shlex.quote(use_this)} 2>/dev/null); do\n'
                   '    eval $(xdotool getwindowgeometry --shell $window)\n'
                   '    xdotool mousemove --window $window $((WIDTH / 2 - 50)) $((HEIGHT - 25)) click 1 2>/dev/null\n'
                   '  done\n'
                   '  sleep 0.5\n'
                   'done\n'
                   'wait $inkscape']
    process = subprocess.Popen(["xvfb-run", "-a", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, stdin=subprocess.DEVNULL, cwd=tmp_path, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=240)
    except subprocess.TimeoutExpired:  # a hung Inkscape (a modal dialog) and its children go, not on running
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    run = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    # Inkscape exits 0 even when the action is unknown: the document itself is the evidence.
    assert output.exists(), f"no output; inkscape said: {run.stdout[-2000:]} {run.stderr[-2000:]}"
    return etree.parse(str(output)).getroot(), output


def inkscape_boxes(document: Path) -> dict[str, tuple[float, float, float, float]]:
    """Inkscape's own bounding boxes ``(x, y, width, height)`` (document px) of every element with an id."""
    answer = subprocess.run(["inkscape", "--query-all", str(document)], capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    boxes = {}
    for line in answer.stdout.splitlines():
        name, *numbers = line.split(",")
        if len(numbers) == 4:
            boxes[name] = tuple(float(v) for v in numbers)
    return boxes


def assert_sketches_lie_on_their_images(root, output: Path, images: dict[str, int]) -> None:
    """For each image id → stroke count: one layer named after it, that many paths, each inside the image's box
    (within 1 % of its size; Inkscape's visual box, stroke width included)."""
    boxes = inkscape_boxes(output)
    layers = {g.get(f"{{{INKSCAPE}}}label"): g for g in root.iter(f"{{{SVG}}}g")
              if g.get(f"{{{INKSCAPE}}}groupmode") == "layer"}
    for image_id, count in images.items():
        layer = layers.get(f"Sketch – {image_id} – {count} strokes")
        assert layer is not None, (image_id, sorted(label for label in layers if label))
        paths = list(layer.iter(f"{{{SVG}}}path"))
        assert len(paths) == count
        x, y, width, height = boxes[image_id]
        slack_x, slack_y = 0.01 * width, 0.01 * height
        for path in paths:
            px, py, pw, ph = boxes[path.get("id")]
            assert x - slack_x <= px and px + pw <= x + width + slack_x, (image_id, path.get("id"))
            assert y - slack_y <= py and py + ph <= y + height + slack_y, (image_id, path.get("id"))


def test_default_a4_mm_document_linked_files_and_auto_start(tmp_path, chelsea):
    """File → New (A4, mm) in a folder with a space and an accent; pictures linked relatively, absolutely and by
    file:// URL (names with spaces and accents), an EXIF-rotated JPEG, an image inside transformed groups; all
    five selected at once; no server running, so the extension starts one (offline backbone here)."""
    import skimage.data

    folder = tmp_path / "mes dessins é"
    (folder / "img").mkdir(parents=True)
    (folder / "img" / "chat é.png").write_bytes(encoded(chelsea, "PNG"))
    (folder / "img" / "coffee cup.jpg").write_bytes(encoded(skimage.data.coffee(), "JPEG"))
    astronaut = folder / "img" / "astro naut.jpg"
    astronaut.write_bytes(encoded(skimage.data.astronaut(), "JPEG"))
    turned = data_uri(encoded(chelsea, "JPEG", orientation=6), "image/jpeg")
    document = a4_document(folder / "drawing.svg", (
        f'<image id="relative" x="10" y="10" width="90" height="60" xlink:href="img/chat é.png"/>'
        f'<image id="absolute" x="110" y="10" width="80" height="60" xlink:href="{folder / "img" / "coffee cup.jpg"}"/>'
        f'<image id="file-url" x="10" y="90" width="70" height="70" xlink:href="{astronaut.as_uri()}"/>'
        f'<image id="exif-rotated" x="110" y="90" width="60" height="90" xlink:href="{turned}"/>'
        f'<g transform="translate(40 190) rotate(-15)"><g transform="scale(0.5)">'
        f'<image id="in-groups" x="20" y="10" width="180" height="120" '
        f'xlink:href="{urllib.parse.quote("img/chat é.png")}"/></g></g>'))
    address = f"127.0.0.1:{free_port()}"
    environment = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    images = ["relative", "absolute", "file-url", "exif-rotated", "in-groups"]
    try:
        result, output = run_inkscape(tmp_path, document, images, environment, server=address,
                                      start_server="true")
    finally:
        subprocess.run(["pkill", "-f", f"serve --listen {address}"], check=False)
    assert_sketches_lie_on_their_images(result, output, {name: 3 for name in images})
    # the stroke width is 2 px of the page: 0.529 mm in this document's user units
    path = result.find(f".//{{{SVG}}}path")
    assert "stroke-width:0.5292" in path.get("style").replace(" ", "")
    assert "listening" in (tmp_path / "cache" / "clipsketch" / "server.log").read_text()


def test_viewbox_offset_units_and_aspect_ratios(server, tmp_path, chelsea):
    """A page in inches whose viewBox starts at (-300, -100) and scales unevenly; embedded PNG and WebP; an image
    stretched (preserveAspectRatio none) and one letterboxed (meet, aligned to the right)."""
    png = data_uri(encoded(chelsea, "PNG"), "image/png")
    webp = data_uri(encoded(chelsea, "WEBP"), "image/webp")
    document = tmp_path / "offset.svg"
    document.write_text(
        f'<svg xmlns="{SVG}" xmlns:xlink="{XLINK}" width="8in" height="6in" viewBox="-300 -100 1000 600" '
        f'preserveAspectRatio="none">'
        f'<image id="png" x="-280" y="-80" width="451" height="300" xlink:href="{png}"/>'
        f'<image id="webp-stretched" x="200" y="-80" width="300" height="300" preserveAspectRatio="none" '
        f'xlink:href="{webp}"/>'
        f'<image id="letterboxed" x="-280" y="250" width="500" height="200" preserveAspectRatio="xMaxYMid meet" '
        f'xlink:href="{png}"/></svg>')
    images = ["png", "webp-stretched", "letterboxed"]
    result, output = run_inkscape(tmp_path, document, images, server=server.address, strokes="4")
    assert_sketches_lie_on_their_images(result, output, {name: 4 for name in images})


def test_refine_in_real_inkscape_keeps_the_users_strokes(server, tmp_path, chelsea):
    """Extensions → Sketch → Refine sketch… in the real Inkscape: an image in a rotated group on an A4/mm page and
    two paths the user drew (one relative, one with a quadratic curve) in a scaled group, kept fixed: the new layer
    holds all the strokes, the user's first, exactly where they were (0.01 mm), and the user's paths are untouched."""
    png = data_uri(encoded(chelsea, "PNG"), "image/png")
    document = a4_document(tmp_path / "refine.svg", (
        f'<g transform="translate(30 40) rotate(8)">'
        f'<image id="cat" x="0" y="0" width="150" height="100" xlink:href="{png}"/></g>'
        f'<g id="mine" transform="translate(50 60) scale(1.5)">'
        f'<path id="line" d="m 10 10 l 25 5" style="fill:none;stroke:#0000ff;stroke-width:0.7"/>'
        f'<path id="curve" d="M 20 30 Q 35 45 50 30" style="fill:none;stroke:#ff0000;stroke-width:0.7"/>'
        f'</g>'))
    result, output = run_inkscape(tmp_path, document, ["cat", "mine"], server=server.address, total_strokes="6",
                                  keep_fixed="true", iterations="3", extension="org.clipsketch.refine")
    layers = [g for g in result.iter(f"{{{SVG}}}g") if g.get(f"{{{INKSCAPE}}}groupmode") == "layer"
              and (g.get(f"{{{INKSCAPE}}}label") or "").startswith("Sketch")]
    assert [g.get(f"{{{INKSCAPE}}}label") for g in layers] == ["Sketch – cat – refined, 6 strokes"]
    strokes = [[float(v) for v in p.get("d").replace("M", " ").replace("C", " ").replace(",", " ").split()]
               for p in layers[0].iter(f"{{{SVG}}}path")]
    assert len(strokes) == 6
    # the user's two segments in page millimetres: translate(50 60) scale(1.5) applied by hand
    line = [(10, 10), (10 + 25 / 3, 10 + 5 / 3), (10 + 50 / 3, 10 + 10 / 3), (35, 15)]
    curve = [(20, 30), (20 + 2 * 15 / 3, 30 + 2 * 15 / 3), (50 + 2 * (35 - 50) / 3, 30 + 2 * 15 / 3), (50, 30)]
    for got, segment in zip(strokes, [line, curve]):
        want = [v for x, y in segment for v in (50 + 1.5 * x, 60 + 1.5 * y)]
        assert max(abs(a - b) for a, b in zip(got, want)) <= 0.01, (got, want)
    for path_id, d in (("line", "m 10 10 l 25 5"), ("curve", "M 20 30 Q 35 45 50 30")):
        assert result.find(f".//{{{SVG}}}path[@id='{path_id}']").get("d") == d


def test_tapered_lines_in_real_inkscape_are_live_taper_stroke_paths_over_the_image(server, tmp_path, chelsea):
    """Line: Tapered on an A4/mm page: each layer holds editable centre lines with Inkscape's Taper Stroke path
    effect, on the image (Inkscape's own boxes). Moving a stroke makes Inkscape compute the effect itself: the
    outline it draws then covers what the server's outline covered (the parameters mean what we meant)."""
    png = data_uri(encoded(chelsea, "PNG"), "image/png")
    document = a4_document(tmp_path / "tapered.svg", (
        f'<image id="cat" x="30" y="40" width="150" height="100" xlink:href="{png}"/>'))
    result, output = run_inkscape(tmp_path, document, ["cat"], server=server.address, strokes="4", line="tapered")
    assert_sketches_lie_on_their_images(result, output, {"cat": 4})
    layer = next(g for g in result.iter(f"{{{SVG}}}g") if g.get(f"{{{INKSCAPE}}}label") == "Sketch – cat – 4 strokes")
    paths = list(layer.iter(f"{{{SVG}}}path"))
    effects = {e.get("id"): e for e in result.iter(f"{{{INKSCAPE}}}path-effect")}
    for path in paths:
        assert effects[path.get(f"{{{INKSCAPE}}}path-effect").lstrip("#")].get("effect") == "taper_stroke"
        assert path.get(f"{{{INKSCAPE}}}original-d")
    ours = inkscape_boxes(output)
    moved = tmp_path / "moved.svg"
    ids = [p.get("id") for p in paths]
    actions = "".join(f"select-by-id:{i};transform-translate:1,0;transform-translate:-1,0;select-clear;" for i in ids)
    subprocess.run(["xvfb-run", "-a", "inkscape", "--with-gui", "--batch-process",
                    f"--actions={actions}export-filename:{moved};export-do", str(output)],
                   capture_output=True, timeout=240, stdin=subprocess.DEVNULL, cwd=tmp_path)
    recomputed = etree.parse(str(moved)).getroot()
    theirs = inkscape_boxes(moved)
    for path_id in ids:
        before = result.find(f".//{{{SVG}}}path[@id='{path_id}']").get("d")
        after = recomputed.find(f".//{{{SVG}}}path[@id='{path_id}']").get("d")
        assert after != before  # Inkscape drew it with the effect
        x, y, width, height = ours[path_id]
        tx, ty, twidth, theight = theirs[path_id]
        slack = 0.1 * max(width, height) + 1.0  # the effect smooths its tapers its own way
        assert abs(tx - x) <= slack and abs(ty - y) <= slack, (path_id, ours[path_id], theirs[path_id])
        assert abs(tx + twidth - x - width) <= slack and abs(ty + theight - y - height) <= slack


@pytest.mark.skipif(not shutil.which("xdotool"), reason="needs xdotool (make test installs it)")
def test_use_this_in_the_progress_window_inserts_the_best_strokes_so_far(tmp_path, chelsea):
    """The progress window in the real Inkscape under Xvfb: Use this (pressed with xdotool) ends a job of 4 then 8
    strokes and 5000 steps early; the 4-stroke sketch so far is inserted over the image, the 8-stroke count never
    runs. (The offline backbone: the tiny test models' loss converges, and so stops, in a few steps.)"""
    from clipsketch.core.engine import Engine
    from clipsketch.server.app import SketchServer

    server = SketchServer(lambda: Engine(backbone="offline", device="cpu"), listen="127.0.0.1:0").start()
    assert server.models.ready.wait(120) and server.models.engine is not None
    png = data_uri(encoded(chelsea, "PNG"), "image/png")
    document = a4_document(tmp_path / "use-this.svg",
                           f'<image id="cat" x="20" y="30" width="150" height="100" xlink:href="{png}"/>')
    result, output = run_inkscape(tmp_path, document, ["cat"], server=server.address, strokes="4,8",
                                  iterations="5000", show_progress="true", use_this="clipsketch.*cat")
    labels = [g.get(f"{{{INKSCAPE}}}label") for g in result.iter(f"{{{SVG}}}g")
              if (g.get(f"{{{INKSCAPE}}}label") or "").startswith("Sketch")]
    try:
        assert labels == ["Sketch – cat – 4 strokes"]
        assert_sketches_lie_on_their_images(result, output, {"cat": 4})
        assert server.jobs.submitted == 1
    finally:
        server.stop(grace=1)
