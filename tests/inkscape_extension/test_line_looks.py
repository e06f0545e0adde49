"""Tapered, weighted and one-line sketches in a document (Inkscape's own Python, the shipped extension, a real
server): tapered lines are editable centre lines drawn by Inkscape's Taper Stroke path effect, placed over the
image; Refine reads them back by their centre lines."""

from __future__ import annotations

import inkex
import pytest
from inkex import bezier
from lxml import etree

from .test_extension import INKSCAPE, SVG, _extension_folder, image_box, layers, run_effect, workspace  # noqa: F401

SODIPODI = "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"


def taper_effects(root) -> dict[str, etree._Element]:
    return {e.get("id"): e for e in root.iter(f"{{{INKSCAPE}}}path-effect")}


def centre_points(path) -> list[tuple[float, float]]:
    cubic = inkex.Path(path.get(f"{{{INKSCAPE}}}original-d")).to_superpath()
    return [tuple(point) for subpath in cubic for knot in subpath for point in knot]


@pytest.mark.parametrize("line", ["tapered", "weighted"])
def test_tapered_lines_are_centre_lines_drawn_by_inkscapes_taper_stroke(server, workspace, line):
    root = run_effect(workspace, server.address, "scaled", line=line, iterations="3")
    effects = taper_effects(root)
    widths = []
    for layer, count in zip(layers(root), (3, 5)):
        paths = list(layer.iter(f"{{{SVG}}}path"))
        assert len(paths) == count
        left, top, right, bottom = image_box(root, "scaled")
        slack = 0.12 * max(right - left, bottom - top)
        for path in paths:
            effect = effects[path.get(f"{{{INKSCAPE}}}path-effect").lstrip("#")]
            assert effect.get("effect") == "taper_stroke"
            cubic = inkex.Path(path.get(f"{{{INKSCAPE}}}original-d")).to_superpath()[0]
            cubic = (cubic[0][1], cubic[0][2], cubic[1][0], cubic[1][1])
            length = bezier.bezierlength(cubic)  # the offsets are where a quarter of the length ends, each end
            start, end = float(effect.get("attach_start")), float(effect.get("end_offset"))
            assert bezier.bezierlength(cubic, time=start) == pytest.approx(0.25 * length, rel=0.02, abs=0.05)
            assert bezier.bezierlength(cubic, time=1 - end) == pytest.approx(0.75 * length, rel=0.02, abs=0.05)
            widths.append(float(effect.get("stroke_width")))
            assert inkex.Path(path.get(f"{{{INKSCAPE}}}original-d")).to_superpath()  # one editable cubic
            assert len(inkex.Path(path.get(f"{{{INKSCAPE}}}original-d")).to_absolute()) == 2  # M and one C
            style = inkex.Style(path.get("style"))
            assert style["stroke"] == "none" and style["fill"] == "#000000"
            for x, y in centre_points(path):  # over the image
                assert left - slack <= x <= right + slack and top - slack <= y <= bottom + slack
            box = inkex.Path(path.get("d")).bounding_box()  # the filled outline hugs its centre line
            xs, ys = zip(*centre_points(path))
            assert box.left >= min(xs) - widths[-1] and box.right <= max(xs) + widths[-1]
    if line == "tapered":  # the width asked: 2.5 px of the page, 2.5 document units here
        assert widths == pytest.approx([2.5] * 8, rel=1e-3)
    else:  # each stroke its own, within the range
        assert len({round(w, 3) for w in widths}) > 1 and all(0.4 * 2.5 <= w <= 2.5 * 2.5 for w in widths)


def test_a_one_line_sketch_is_one_path_per_layer(server, workspace):
    root = run_effect(workspace, server.address, "plain", one_line="true")
    for layer, count in zip(layers(root), (3, 5)):
        paths = list(layer.iter(f"{{{SVG}}}path"))
        assert len(paths) == 1
        commands = [command.letter for command in inkex.Path(paths[0].get("d")).to_absolute()]
        assert commands == ["M"] + ["C"] * count
        assert inkex.Style(paths[0].get("style"))["fill"] == "none"


def test_refine_reads_a_tapered_layer_by_its_centre_lines(server, workspace):
    root = run_effect(workspace, server.address, "plain", line="tapered", strokes="3")
    workspace.write_bytes(etree.tostring(root))
    mine = list(layers(root)[0].iter(f"{{{SVG}}}path"))
    refined = run_effect(workspace, server.address, "plain", *[p.get("id") for p in mine], action="refine",
                         total_strokes="5", keep_fixed="true", iterations="2", line="tapered")
    new = [g for g in layers(refined) if "refined" in (g.get(f"{{{INKSCAPE}}}label") or "")]
    assert len(new) == 1
    paths = list(new[0].iter(f"{{{SVG}}}path"))
    assert len(paths) == 5
    for kept, before in zip(paths, mine):  # the kept strokes: exactly the old centre lines and widths
        assert max(abs(a - b) for p, q in zip(centre_points(kept), centre_points(before)) for a, b in zip(p, q)) <= 0.01
    effects = taper_effects(refined)
    width = lambda path: float(effects[path.get(f"{{{INKSCAPE}}}path-effect").lstrip("#")].get("stroke_width"))  # noqa: E731
    assert [width(p) for p in paths[:3]] == pytest.approx([width(p) for p in mine], rel=1e-3)
