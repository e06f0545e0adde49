"""The Inkscape extension through inkex (no Inkscape needed) against a real server on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import threading
import time
from pathlib import Path

import inkex
import pytest
from inkex.tester.inx import InxMixin
from lxml import etree

from clipsketch.inkscape_extension.clipsketch_sketch import Sketch
from clipsketch.inkscape_extension.placement import compose, parse_preserve_aspect_ratio, photo_to_box

EXTENSION = Path(__file__).resolve().parents[2] / "inkscape_extension"
SVG = "http://www.w3.org/2000/svg"
INKSCAPE = "http://www.inkscape.org/namespaces/inkscape"


def document(photo_png: bytes, linked_name: str = "chelsea.png") -> str:
    data = "data:image/png;base64," + base64.b64encode(photo_png).decode()
    return f"""<svg xmlns="{SVG}" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:inkscape="{INKSCAPE}" width="1200" height="900" viewBox="0 0 1200 900">
  <image id="plain" x="10" y="20" width="451" height="300" xlink:href="{data}"/>
  <image id="scaled" x="500" y="20" width="225.5" height="150" xlink:href="{data}"/>
  <g id="group" transform="translate(300 400) scale(1.5)">
    <image id="rotated" x="0" y="0" width="200" height="133" transform="rotate(30)" xlink:href="{data}"/>
  </g>
  <image id="letterbox" x="800" y="400" width="300" height="400" preserveAspectRatio="xMidYMid meet"
         xlink:href="{data}"/>
  <image id="linked" x="10" y="600" width="451" height="300" xlink:href="{linked_name}"/>
  <rect id="box" x="0" y="0" width="10" height="10"/>
</svg>"""


@pytest.fixture
def workspace(tmp_path, photo_bytes):
    (tmp_path / "chelsea.png").write_bytes(photo_bytes)
    path = tmp_path / "drawing.svg"
    path.write_text(document(photo_bytes))
    return path


def run_effect(svg_path: Path, address: str, *ids: str, monkeypatch=None, **options):
    settings = {"strokes": "3,5", "iterations": "2", "seeds": "1", "mask": "false", "show_progress": "false",
                "start_server": "false", "server": address, "stroke_width": "2.5", **options}
    arguments = [f"--id={i}" for i in ids] + [f"--{key}={value}" for key, value in settings.items()] + [str(svg_path)]
    output = io.BytesIO()
    Sketch().run(arguments, output=output)
    return etree.fromstring(output.getvalue())


def layers(root):
    return [g for g in root.iter(f"{{{SVG}}}g") if g.get(f"{{{INKSCAPE}}}groupmode") == "layer"]


def image_box(root, image_id):
    """Bounding box of the image's box corners in document coordinates."""
    svg = inkex.load_svg(etree.tostring(root)).getroot()
    image = svg.getElementById(image_id)
    transform = image.composed_transform()
    x, y, w, h = (float(image.get(k)) for k in ("x", "y", "width", "height"))
    corners = [transform.apply_to_point((px, py)) for px, py in ((x, y), (x + w, y), (x, y + h), (x + w, y + h))]
    xs, ys = [c.x for c in corners], [c.y for c in corners]
    return min(xs), min(ys), max(xs), max(ys)


def path_points(layer):
    points = []
    for path in layer.iter(f"{{{SVG}}}path"):
        numbers = [float(v) for v in path.get("d").replace("M", " ").replace("C", " ").replace(",", " ").split()]
        points += list(zip(numbers[0::2], numbers[1::2]))
    return points


@pytest.mark.parametrize("image_id", ["plain", "scaled", "rotated", "letterbox", "linked"])
def test_layers_of_paths_are_placed_over_the_image(server, workspace, monkeypatch, image_id):
    monkeypatch.setenv("DOCUMENT_PATH", str(workspace))
    original = etree.fromstring(workspace.read_bytes())
    root = run_effect(workspace, server.address, image_id)
    added = layers(root)
    assert [layer.get(f"{{{INKSCAPE}}}label") for layer in added] == ["Sketch – 3 strokes", "Sketch – 5 strokes"]
    for layer, count in zip(added, (3, 5)):
        paths = list(layer.iter(f"{{{SVG}}}path"))
        assert len(paths) == count
        style = inkex.Style(paths[0].get("style"))
        assert style["fill"] == "none" and float(style["stroke-width"]) == pytest.approx(2.5)
        left, top, right, bottom = image_box(root, image_id)
        slack = 0.12 * max(right - left, bottom - top)  # the frame's margin and the strokes' reach
        for x, y in path_points(layer):
            assert left - slack <= x <= right + slack and top - slack <= y <= bottom + slack
    # everything that was there is untouched
    for element in original.iter():
        if element.get("id"):
            kept = root.find(f".//*[@id='{element.get('id')}']")
            assert kept is not None and dict(kept.attrib) == dict(element.attrib)


def test_letterboxed_sketch_sits_inside_the_drawn_picture(server, workspace):
    """meet: a 451×300 photo in a 300×400 box is drawn 300×199.6, centred vertically."""
    root = run_effect(workspace, server.address, "letterbox", strokes="8")
    points = path_points(layers(root)[0])
    ys = [y for _, y in points]
    drawn_top = 400 + (400 - 300 * 300 / 451) / 2
    drawn_bottom = drawn_top + 300 * 300 / 451
    margin = 0.12 * 300
    assert drawn_top - margin <= min(ys) and max(ys) <= drawn_bottom + margin


def test_several_images_get_their_own_layers(server, workspace):
    root = run_effect(workspace, server.address, "plain", "scaled", strokes="4")
    assert len(layers(root)) == 2


@pytest.mark.parametrize(
    "ids, options, message",
    [
        ((), {}, "Nothing is selected"),
        (("box",), {}, "no image"),
        (("plain",), {"server": "127.0.0.1:9"}, "clipsketch serve"),
        (("plain",), {"strokes": "0"}, "refused the sketch"),
        (("plain",), {"strokes": "many"}, "whole numbers"),
    ],
)
def test_errors_are_clear_messages(server, workspace, capsys, ids, options, message):
    with pytest.raises(SystemExit):
        run_effect(workspace, server.address, *ids, **options)
    assert message in capsys.readouterr().err


def test_missing_linked_file(server, tmp_path, photo_bytes, capsys, monkeypatch):
    path = tmp_path / "drawing.svg"
    path.write_text(document(photo_bytes, linked_name="gone.png"))
    monkeypatch.setenv("DOCUMENT_PATH", str(path))
    with pytest.raises(SystemExit):
        run_effect(path, server.address, "linked")
    assert "cannot read the linked file" in capsys.readouterr().err


def test_cancelled_on_the_server(server, workspace, capsys):
    def cancel_when_running():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            running = list(server.jobs._running)
            if running:
                server.jobs.cancel(running[0])
                return
            time.sleep(0.05)

    threading.Thread(target=cancel_when_running, daemon=True).start()
    with pytest.raises(SystemExit):
        run_effect(workspace, server.address, "plain", iterations="5000")
    assert "cancelled" in capsys.readouterr().err


def test_success_writes_nothing_to_stderr(server, workspace, capsys):
    run_effect(workspace, server.address, "plain")
    assert capsys.readouterr().err == ""


def test_inx_passes_inkex_checks(monkeypatch):
    monkeypatch.chdir(EXTENSION)  # the checker looks for the script the .inx names from here
    checker = InxMixin()
    checker.assertEqual = lambda a, b, msg=None: None if a == b else pytest.fail(msg or f"{a!r} != {b!r}")
    checker.assertTrue = lambda value, msg=None: None if value else pytest.fail(msg or "assertTrue failed")
    checker.assertFalse = lambda value, msg=None: None if not value else pytest.fail(msg or "assertFalse failed")
    checker.assertIn = lambda a, b, msg=None: None if a in b else pytest.fail(msg or f"{a!r} not in {b!r}")
    checker.assertNotIn = lambda a, b, msg=None: None if a not in b else pytest.fail(msg or f"{a!r} in {b!r}")
    checker.assertGreater = lambda a, b, msg=None: None if a > b else pytest.fail(msg or f"{a!r} <= {b!r}")
    checker.assertInxIsGood(str(EXTENSION / "clipsketch_sketch.inx"))
    root = etree.parse(str(EXTENSION / "clipsketch_sketch.inx")).getroot()
    ns = {"i": "http://www.inkscape.org/namespace/inkscape/extension"}
    identifier = root.find("i:id", ns).text
    assert "_" not in identifier  # Inkscape turns underscores into '-' in action names
    assert root.find("i:effect", ns).get("needs-live-preview") == "false"
    assert root.find("i:effect/i:effects-menu/i:submenu", ns).get("name") == "Sketch"


def test_placement_math():
    assert parse_preserve_aspect_ratio(None) == ("meet", 0.5, 0.5)
    assert parse_preserve_aspect_ratio("xMaxYMin slice") == ("slice", 1.0, 0.0)
    assert parse_preserve_aspect_ratio("none")[0] == "none"
    with pytest.raises(ValueError):
        parse_preserve_aspect_ratio("xFooYBar")
    meet = photo_to_box((400, 200), (0, 0, 100, 100), "xMidYMid meet")
    assert meet == pytest.approx((0.25, 0, 0, 0.25, 0, 25))
    stretched = photo_to_box((400, 200), (10, 10, 100, 100), "none")
    assert stretched == pytest.approx((0.25, 0, 0, 0.5, 10, 10))
    sliced = photo_to_box((400, 200), (0, 0, 100, 100), "xMinYMid slice")
    assert sliced == pytest.approx((0.5, 0, 0, 0.5, 0, 0))
    rotate = (0.0, 1.0, -1.0, 0.0, 0.0, 0.0)  # 90°
    assert compose(rotate, meet) == pytest.approx((0, 0.25, -0.25, 0, -25, 0))
