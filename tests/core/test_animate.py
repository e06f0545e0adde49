"""A drawing that draws itself: the order (largest and most salient first), the CSS timing, and what a real
browser (headless Chromium) shows at two moments: some strokes, then all of them, as the still sketch."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from lxml import etree
from PIL import Image

from clipsketch.core.animate import ONE_LINE_SECONDS, animated_svg, drawing_order
from clipsketch.core.options import TAPER
from clipsketch.core.strokes import Strokes
from clipsketch.core.svg import CLIPSKETCH_NS, SVG_NS, SvgError, strokes_to_svg

LONG = [[20.0, 40.0], [80.0, 40.0], [140.0, 40.0], [200.0, 40.0]]
SHORT = [[20.0, 120.0], [30.0, 120.0], [40.0, 120.0], [50.0, 120.0]]
SALIENT = [[120.0, 180.0], [135.0, 180.0], [150.0, 180.0], [165.0, 180.0]]


def sketch(taper: float = 0.0, order: list[int] | None = None, **metadata) -> str:
    strokes = Strokes.from_points(torch.tensor([[SHORT, LONG, SALIENT]]), width=4.0)
    strokes = Strokes(strokes.points, strokes.widths, strokes.colors, 224, taper)
    if order is not None:
        metadata["drawing-order"] = " ".join(map(str, order))
    return strokes_to_svg(strokes, metadata=metadata)


def test_the_largest_and_most_salient_strokes_come_first():
    strokes = Strokes.from_points(torch.tensor([[SHORT, LONG, SALIENT]]))
    assert drawing_order(strokes, None) == [1, 2, 0]  # by length alone
    saliency = torch.zeros(224, 224)
    saliency[170:190, 110:175] = 1.0
    assert drawing_order(strokes, saliency) == [2, 1, 0]  # the salient one before the long one on blank ground


def timings(svg: str) -> dict[str, tuple[float, float]]:
    root = etree.fromstring(svg.encode())
    found = {}
    for path in root.iter(f"{{{SVG_NS}}}path"):
        style = dict(part.split(":") for part in path.get("style", "").replace(" ", "").split(";") if part)
        if "animation-delay" in style:
            owner = path.getparent().get("id", "").replace("reveal-", "stroke-") if path.getparent().tag.endswith(
                "mask") else path.get("id")
            found[owner] = (float(style["animation-delay"][:-1]), float(style["animation-duration"][:-1]))
    return found


def test_strokes_draw_one_after_another_in_the_recorded_order_each_from_start_to_end():
    animated = animated_svg(sketch(order=[2, 0, 1]))
    times = timings(animated)
    assert times["stroke-2"][0] == 0 and times["stroke-2"][0] < times["stroke-0"][0] < times["stroke-1"][0]
    for first, then in (("stroke-2", "stroke-0"), ("stroke-0", "stroke-1")):
        assert times[then][0] >= times[first][0] + times[first][1]  # the pen is lifted between two strokes
    assert times["stroke-1"][1] > times["stroke-0"][1]  # the long one takes longer
    root = etree.fromstring(animated.encode())
    ids = [p.get("id") for p in root.find(f"{{{SVG_NS}}}g").iter(f"{{{SVG_NS}}}path")]
    assert ids == ["stroke-0", "stroke-1", "stroke-2"]  # drawn over each other as in the still sketch
    duration = float(root.find(f"{{{SVG_NS}}}metadata/{{{CLIPSKETCH_NS}}}sketch").get("duration"))
    assert duration == pytest.approx(times["stroke-1"][0] + times["stroke-1"][1], abs=0.01)
    assert "@keyframes" in root.find(f"{{{SVG_NS}}}style").text
    with pytest.raises(SvgError, match="not a clipsketch sketch"):
        animated_svg(f'<svg xmlns="{SVG_NS}"><path d="M 0 0 L 1 1" stroke="black"/></svg>')


def test_tapered_strokes_are_revealed_through_masks_and_a_one_line_sketch_draws_as_one():
    animated = animated_svg(sketch(taper=TAPER))
    root = etree.fromstring(animated.encode())
    masks = root.findall(f".//{{{SVG_NS}}}mask")
    assert len(masks) == 3 and all(p.get("mask", "").startswith("url(#reveal-")
                                   for p in root.find(f"{{{SVG_NS}}}g").iter(f"{{{SVG_NS}}}path"))
    one_line = animated_svg(sketch(**{"one-line": "true"}, order=[0, 1, 2]))
    assert max(duration for _, duration in timings(one_line).values()) == ONE_LINE_SECONDS


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(svg: Path, milliseconds: int, out: Path) -> np.ndarray:
    """What headless Chromium shows of ``svg`` after ``milliseconds`` of (virtual) time: gray ``[H, W]`` 0..1.
    A blank capture is taken again (twice at most): on a loaded machine headless Chromium now and then captures
    the page before it has painted it (seen with still and animated SVGs alike); a page that stays blank stays a
    failure."""
    for _ in range(3):
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=224,224", f"--virtual-time-budget={milliseconds}", f"--screenshot={out}",
                        svg.as_uri()], capture_output=True, timeout=120, check=True,
                       env={"HOME": str(out.parent), "PATH": "/usr/bin:/bin"})
        image = np.asarray(Image.open(out).convert("L"), dtype=np.float64) / 255
        if float(image.min()) < 0.5:
            return image
    return image


@pytest.mark.system
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (make test installs it)")
@pytest.mark.parametrize("taper", [0.0, TAPER], ids=["uniform", "tapered"])
def test_in_a_real_browser_the_strokes_appear_then_all_are_drawn(tmp_path, taper):
    still, moving = tmp_path / "still.svg", tmp_path / "moving.svg"
    still.write_text(sketch(taper=taper, order=[1, 2, 0]))
    moving.write_text(animated_svg(still.read_text()))
    ink = lambda image: int((image < 0.5).sum())  # noqa: E731
    whole = ink(screenshot(still, 100, tmp_path / "still.png"))
    times = timings(moving.read_text())
    early = ink(screenshot(moving, int(1000 * (times["stroke-2"][0] - 0.05)), tmp_path / "early.png"))
    done = ink(screenshot(moving, int(1000 * (max(a + b for a, b in times.values()) + 1)), tmp_path / "done.png"))
    assert whole > 300
    assert 0 < early < 0.8 * whole  # the first (long) stroke is drawn; the other two are not yet
    assert done == pytest.approx(whole, rel=0.05)  # at the end: every stroke, as the still sketch shows them
