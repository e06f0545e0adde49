"""One continuous line: a short route through the salient start points, segments that stay joined while they are
optimised, one ``<path>``, one protocol path."""

from __future__ import annotations

import pytest
import torch
from lxml import etree

from clipsketch.core.engine import Engine
from clipsketch.core.events import CountDone
from clipsketch.core.options import SketchOptions
from clipsketch.core.saliency import initial_route
from clipsketch.core.svg import SVG_NS, svg_to_strokes


@pytest.fixture(scope="module")
def tiny_engine(tiny_model_configs):
    torch.manual_seed(0)
    return Engine(backbone="clip", weights="random", loss_model="tiny-rn", saliency_model="tiny-vit", device="cpu")


def test_the_route_joins_its_segments_and_visits_the_nearest_stop_next():
    saliency = torch.rand(64, 64, generator=torch.Generator().manual_seed(1))
    route = initial_route(saliency, 6, [0, 1])
    assert route.shape == (2, 6, 4, 2)
    assert torch.equal(route[:, 1:, 0], route[:, :-1, 3])  # each segment starts where the one before ends
    stops = torch.cat([route[0, :, 0], route[0, -1:, 3]])
    for k in range(len(stops) - 2):  # greedy: the next stop is the nearest of those not yet visited
        left = stops[k + 1 :]
        assert int(torch.argmin((left - stops[k]).norm(dim=-1))) == 0
    assert torch.allclose(route[..., 1, :], route[..., 0, :] + (route[..., 3, :] - route[..., 0, :]) / 3)


def test_a_one_line_sketch_stays_one_line_and_is_written_as_one_path(tiny_engine, chelsea):
    events = list(tiny_engine.events(chelsea, SketchOptions(strokes=(7,), iterations=30, seeds=2, one_line=True)))
    result = next(e.result for e in events if isinstance(e, CountDone))
    points = result.strokes.points[0]
    assert torch.equal(points[1:, 0], points[:-1, 3])  # optimised, and still joined exactly
    start = next(e for e in events if hasattr(e, "step")).step.best.points[0]
    assert not torch.allclose(points, start)  # it moved
    paths = etree.fromstring(result.svg.encode()).findall(f".//{{{SVG_NS}}}path")
    assert len(paths) == 1 and paths[0].get("d").count("C") == 7
    assert 'one-line="true"' in result.svg and result.joined
    assert torch.allclose(svg_to_strokes(result.svg).strokes.points, result.strokes.points, atol=2e-3)
