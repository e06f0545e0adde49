"""SVG export and import: structure, metadata, mapping to the photo's rectangle, round trips, foreign SVGs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lxml import etree

from clipsketch.core.frame import Frame
from clipsketch.core.raster import rasterize
from clipsketch.core.strokes import Strokes, random_points
from clipsketch.core.svg import CLIPSKETCH_NS, SVG_NS, SvgError, strokes_to_svg, svg_to_start_strokes, svg_to_strokes

from conftest import render_resvg

NS = {"svg": SVG_NS, "cs": CLIPSKETCH_NS}


def sample_strokes(count=6, batch=1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    points = random_points(batch, count, 224, step=20.0, generator=generator)
    colors = torch.rand(batch, count, 4, generator=generator)
    return Strokes(points, 1 + 4 * torch.rand(batch, count, generator=generator), colors)


def test_export_structure_and_metadata():
    strokes = sample_strokes()
    svg = strokes_to_svg(strokes, metadata={"seed": 7, "model": "RN101-quickgelu/openai", "loss": 0.1234})
    root = etree.fromstring(svg.encode())
    assert root.get("viewBox") == "0 0 224 224"
    paths = root.findall(".//svg:path", NS)
    assert [p.get("id") for p in paths] == [f"stroke-{k}" for k in range(6)]
    for path, width, color in zip(paths, strokes.widths[0], strokes.colors[0]):
        assert path.get("d").startswith("M ") and " C " in path.get("d")
        assert len(path.get("d").replace("M", "").replace("C", "").split()) == 8
        assert path.get("fill") == "none"
        assert path.get("stroke-linecap") == "round" and path.get("stroke-linejoin") == "round"
        assert float(path.get("stroke-width")) == pytest.approx(float(width), abs=1e-3)
        assert path.get("stroke") == "#{:02x}{:02x}{:02x}".format(*(round(float(c) * 255) for c in color[:3]))
        assert float(path.get("stroke-opacity")) == pytest.approx(float(color[3]), abs=1e-4)
    facts = root.find("svg:metadata/cs:sketch", NS).attrib
    assert facts["strokes"] == "6" and facts["seed"] == "7"
    assert facts["model"] == "RN101-quickgelu/openai" and facts["loss"] == "0.1234"


def test_round_trip_restores_strokes_and_metadata():
    strokes = sample_strokes(batch=2)
    frame = Frame.padded(640, 427, 224)
    svg = strokes_to_svg(strokes, index=1, frame=frame, metadata={"seed": 3})
    back = svg_to_strokes(svg)
    assert back.strokes.canvas_size == 224
    assert torch.allclose(back.strokes.points, strokes.points[1:2], atol=1e-3 / frame.scale + 1e-4)
    assert torch.allclose(back.strokes.widths, strokes.widths[1:2], atol=1e-3)
    assert torch.allclose(back.strokes.colors, strokes.colors[1:2], atol=1 / 255)
    assert back.metadata["seed"] == "3"
    assert back.frame.scale == pytest.approx(frame.scale)
    assert (back.frame.width, back.frame.height) == (640, 427)


def test_frame_keeps_aspect_ratio_and_maps_onto_the_photo():
    frame = Frame.padded(640, 427, 224)
    corners = frame.to_target(torch.tensor([[0.0, 0.0], [224.0, 224.0]]))
    assert torch.allclose(corners, torch.tensor([[0.0, -106.5], [640.0, 533.5]]))
    centre = frame.to_target(torch.tensor([112.0, 112.0]))
    assert torch.allclose(centre, torch.tensor([320.0, 213.5]))
    assert torch.allclose(frame.to_canvas(frame.to_target(torch.tensor([3.0, 4.0]))), torch.tensor([3.0, 4.0]))
    with_margin = Frame.padded(100, 50, 200, margin=0.1)
    assert with_margin.scale == pytest.approx(120 / 200)
    with pytest.raises(ValueError, match="margin"):
        Frame.padded(100, 50, 200, margin=-1)


def test_exported_photo_svg_renders_like_the_rasterizer_at_photo_size():
    """The SVG mapped to a 448 × 336 photo draws what the rasterizer draws from the same mapped strokes."""
    strokes = Strokes.from_points(random_points(1, 12, 224, generator=torch.Generator().manual_seed(2)))
    frame = Frame.padded(448, 336, 224)
    svg = strokes_to_svg(strokes, frame=frame)
    root = etree.fromstring(svg.encode())
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("448", "336", "0 0 448 336")
    theirs = render_resvg(svg)
    ours = rasterize(frame.to_target(strokes.points), strokes.widths * frame.scale, strokes.colors, (336, 448))
    ours = ours.rgb[0].permute(1, 2, 0).double().numpy()
    assert theirs.shape == ours.shape == (336, 448, 3)
    assert np.abs(theirs - ours).mean() < 0.01


FOREIGN = f"""<svg xmlns="{SVG_NS}" viewBox="0 0 200 100" width="400" height="200">
  <g stroke="red" stroke-width="2" transform="translate(10 5)">
    <path id="a" d="M 0 0 L 30 0 Q 40 10 50 0"/>
    <path id="b" style="stroke: #00ff00; stroke-opacity: 0.5; stroke-width: 4" transform="scale(2)"
          d="M 10 10 C 20 20 30 20 40 10"/>
  </g>
  <path id="filled" d="M 0 0 L 10 10" fill="black"/>
  <path id="arc" d="M 100 50 A 20 20 0 0 1 140 50" stroke="blue"/>
</svg>"""


def test_foreign_svg_segments_styles_and_transforms():
    imported = svg_to_strokes(FOREIGN, canvas_size=100)
    strokes = imported.strokes
    # a: line + quadratic (2 strokes); b: one cubic; filled (no stroke): skipped; arc: at least one cubic
    assert strokes.num_strokes >= 4
    frame = imported.frame
    assert frame.scale == pytest.approx(2.0)  # 200 user units across a 100 px canvas
    first = frame.to_target(strokes.points[0, 0])
    assert torch.allclose(first[0], torch.tensor([10.0, 5.0]))  # translated group
    assert torch.allclose(first[3], torch.tensor([40.0, 5.0]))
    assert torch.allclose(strokes.colors[0, 0], torch.tensor([1.0, 0, 0, 1]))
    assert float(strokes.widths[0, 0]) * frame.scale == pytest.approx(2.0)
    cubic = frame.to_target(strokes.points[0, 2])
    assert torch.allclose(cubic[0], torch.tensor([30.0, 25.0]))  # (10, 10) scaled by 2, then translated
    assert torch.allclose(strokes.colors[0, 2], torch.tensor([0.0, 1, 0, 0.5]))
    assert float(strokes.widths[0, 2]) * frame.scale == pytest.approx(8.0)  # 4 scaled by 2
    arc_end = frame.to_target(strokes.points[0, -1, 3])
    assert torch.allclose(arc_end, torch.tensor([140.0, 50.0]), atol=1e-3)


@pytest.mark.parametrize(
    "svg, message",
    [
        ("not xml at all", "not a well-formed SVG"),
        ('<html xmlns="http://www.w3.org/1999/xhtml"/>', "expected an SVG"),
        (f'<svg xmlns="{SVG_NS}" viewBox="0 0 10 10"><rect width="5" height="5"/></svg>', "no stroked <path>"),
        (f'<svg xmlns="{SVG_NS}" viewBox="0 0 10 10"><path d="M 0 0 L" stroke="black"/></svg>', "unreadable"),
        (f'<svg xmlns="{SVG_NS}"><path d="M 0 0 L 1 1" stroke="black"/></svg>', "needs a viewBox"),
        (f'<svg xmlns="{SVG_NS}" viewBox="0 0 9 9"><path d="M 0 0 L 1 1" stroke="wat"/></svg>', "stroke color"),
        (f'<svg xmlns="{SVG_NS}" viewBox="0 0 9 9"><path d="M 0 0 L 1 1" stroke="red" stroke-width="2em"/></svg>',
         "stroke-width"),
    ],
)
def test_bad_svgs_get_clear_errors(svg, message):
    with pytest.raises(SvgError, match=message):
        svg_to_strokes(svg)


def test_external_entities_are_refused_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    svg = f"""<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY leak SYSTEM "file://{secret}">]>
<svg xmlns="{SVG_NS}" viewBox="0 0 10 10"><path id="&leak;" d="M 0 0 L 5 5" stroke="black"/></svg>"""
    with pytest.raises(SvgError, match="external entity") as error:
        svg_to_strokes(svg)
    assert "TOPSECRET" not in str(error.value)


def test_metadata_keys_must_be_xml_names():
    with pytest.raises(ValueError, match="metadata key"):
        strokes_to_svg(sample_strokes(), metadata={"bad key": 1})


def test_any_users_path_becomes_cubic_start_strokes():
    """Relative commands, H/V, S, Q/T, arcs, several subpaths and transforms: every segment is one stroke (arcs
    may need several cubics), in the document's user units."""
    import svgpathtools

    d = "M 10 20 h 30 v 15 c 5 5 10 5 15 0 s 10 -5 15 0 q 5 10 10 0 t 10 0 M 100 100 l 20 20 a 10 10 0 0 1 20 0 z"
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 200"><g transform="translate(5 7)">'
           f'<path d="{d}" stroke="#ff0000" stroke-width="2" fill="none"/></g></svg>')
    start = svg_to_start_strokes(svg, locked=True)
    segments = svgpathtools.parse_path(d)
    expected = sum(len(list(s.as_cubic_curves())) if isinstance(s, svgpathtools.Arc) else 1 for s in segments)
    assert len(start) == expected and all(start.locked)
    assert start.points[0][:2] == pytest.approx((15, 27))  # M 10 20 through translate(5 7)
    assert start.points[0][6:] == pytest.approx((45, 27))  # h 30, relative
    assert start.widths[0] == pytest.approx(2) and start.colors[0] == pytest.approx((1, 0, 0, 1))
