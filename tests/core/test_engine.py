"""The engine end to end with tiny models: it optimises, reports progress, cancels, and refuses bad options."""

from __future__ import annotations

import pytest
import torch
from lxml import etree
from scipy.ndimage import distance_transform_edt

from clipsketch.core.backbones import ClipResNetTaps, WeightsUnavailable, create_clip_visual
from clipsketch.core.engine import Engine
from clipsketch.core.events import Finished, Progress, Started
from clipsketch.core.losses import LossConfig
from clipsketch.core.optimize import (
    OptimizerConfig,
    SeedTracker,
    SketchCancelled,
    Target,
    clamp_points,
    optimize_strokes,
)
from clipsketch.core.options import SketchOptions
from clipsketch.core.photo import frame_photo, load_photo
from clipsketch.core.raster import rasterize_strokes
from clipsketch.core.saliency import xdog_edges
from clipsketch.core.strokes import Strokes, random_points


@pytest.fixture(scope="module")
def tiny_engine(tiny_model_configs):
    torch.manual_seed(0)
    return Engine(backbone="clip", weights="random", loss_model="tiny-rn", saliency_model="tiny-vit", device="cpu")


def run_to_end(steps):
    """All the steps an optimiser yields, and the tracker it returns."""
    collected = []
    while True:
        try:
            collected.append(next(steps))
        except StopIteration as done:
            return collected, done.value


def tiny_problem(photo, seeds: int, strokes: int, seed: int):
    """A tiny RN backbone, the framed photo, its taps, and random short strokes to start from."""
    torch.manual_seed(0)
    backbone = ClipResNetTaps(create_clip_visual("tiny-rn", "random"), "tiny")
    canvas = frame_photo(load_photo(photo)).image
    points = random_points(seeds, strokes, 224, step=5.6, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        photo_taps = backbone(canvas)
    return backbone, canvas, photo_taps, Strokes.from_points(points)


@pytest.mark.slow
def test_optimisation_lowers_the_loss_and_draws_on_the_photos_edges(chelsea):
    backbone, canvas, photo_taps, start = tiny_problem(chelsea, seeds=1, strokes=16, seed=0)
    config = OptimizerConfig(iterations=120, tolerance=0)  # no early stop: the tiny model's loss is tiny
    steps, tracker = run_to_end(optimize_strokes(start, Target(canvas, photo_taps, backbone, LossConfig()), config))
    assert len(steps) == 120 and steps[-1].finished
    first, last = tracker.history[0][0][1], float(tracker.best_loss[0])
    assert last < 0.8 * first

    distance_to_edge = torch.from_numpy(distance_transform_edt(~(xdog_edges(canvas)[0, 0].numpy() > 0)))

    def mean_edge_distance(points):
        ink = rasterize_strokes(Strokes.from_points(points)).alpha[0, 0].double()
        return float((ink * distance_to_edge).sum() / ink.sum())

    assert mean_edge_distance(tracker.best_points) < 0.6 * mean_edge_distance(start.points)


def test_seeds_in_separate_passes_give_the_same_result(chelsea):
    backbone, canvas, photo_taps, start = tiny_problem(chelsea, seeds=3, strokes=8, seed=1)
    finals = []
    for per_pass in (None, 1):
        config = OptimizerConfig(iterations=4, tolerance=0, seeds_per_pass=per_pass)
        _, tracker = run_to_end(optimize_strokes(start, Target(canvas, photo_taps, backbone, LossConfig()), config))
        finals.append((tracker.best_points, tracker.best_loss))
    assert torch.allclose(finals[0][0], finals[1][0], atol=1e-4)
    assert torch.allclose(finals[0][1], finals[1][1], rtol=1e-4)


def test_events_come_in_order_for_several_stroke_counts(tiny_engine, chelsea):
    events = list(tiny_engine.events(chelsea, SketchOptions(strokes=(3, 5), iterations=6, seeds=2, mask=False)))
    assert isinstance(events[0], Started) and isinstance(events[-1], Finished)
    assert events[0].backbone == "clip:tiny-rn/random" and "attention" in events[0].saliency_source
    kinds = [(type(e).__name__, getattr(e, "count", None)) for e in events[1:-1]]
    assert kinds == [("Progress", 3)] * 6 + [("CountDone", None)] + [("Progress", 5)] * 6 + [("CountDone", None)]
    assert [e.step.iteration for e in events[1:7]] == [1, 2, 3, 4, 5, 6]
    result = events[-1].result
    assert sorted(result.sketches) == [3, 5]
    for count, sketch in result.sketches.items():
        assert sketch.strokes.points.shape == (1, count, 4, 2)
        assert set(sketch.seed_losses) == {0, 1} and sketch.seed in (0, 1)
        assert sketch.loss == min(sketch.seed_losses.values())
        root = etree.fromstring(sketch.svg.encode())
        assert root.get("viewBox") == "0 0 451 300"  # the photo's own size: aspect ratio kept
        assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) == count
        facts = root.find(".//{urn:clipsketch:sketch:1}sketch").attrib
        assert facts["model"] == "clip:tiny-rn/random" and facts["strokes"] == str(count)
    assert result.saliency.shape == (224, 224) and float(result.saliency.max()) > 0


def test_seeds_are_reproducible(tiny_engine, chelsea):
    options = SketchOptions(strokes=(4,), iterations=3, seeds=1, seed=7, mask=False)
    first = tiny_engine.sketch(chelsea, options).sketches[4].strokes.points
    again = tiny_engine.sketch(chelsea, options).sketches[4].strokes.points
    assert torch.equal(first, again)


def test_cancel_stops_between_steps(tiny_engine, chelsea):
    seen = []

    def cancel():
        return len(seen) >= 3

    with pytest.raises(SketchCancelled):
        for event in tiny_engine.events(chelsea, SketchOptions(strokes=(4,), iterations=500, mask=False), cancel):
            if isinstance(event, Progress):
                seen.append(event)
    assert len(seen) == 3


@pytest.mark.parametrize(
    "options, message",
    [
        ({"strokes": (0,)}, "between 1 and"),
        ({"strokes": (10_000,)}, "between 1 and"),
        ({"strokes": ()}, "at least one"),
        ({"iterations": 0}, "iterations"),
        ({"iterations": -5}, "iterations"),
        ({"seeds": 0}, "seeds"),
        ({"color": (0, 0, 0)}, "color"),
        ({"init": "edges"}, "init must be one of auto, contour, reference, hed, got 'edges'"),
        ({"target": "edges"}, "target must be one of auto, photo, lines, got 'edges'"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        SketchOptions(**options)


def test_early_stop_after_two_unchanged_evaluations_per_seed():
    tracker = SeedTracker.start(torch.zeros(2, 1, 4, 2))
    config = OptimizerConfig()
    points, both, only_1 = torch.zeros(2, 1, 4, 2), torch.tensor([0, 1]), torch.tensor([1])
    assert tracker.record(0, both, torch.tensor([1.0, 1.0]), points, config).tolist() == [False, False]
    assert tracker.record(10, both, torch.tensor([1.0, 0.5]), points, config).tolist() == [False, False]
    # seed 0 has stalled twice (it stops); seed 1 once
    assert tracker.record(20, both, torch.tensor([1.0, 0.5]), points, config).tolist() == [True, False]
    assert tracker.record(30, only_1, torch.tensor([0.5]), points[1:], config).tolist() == [True]
    assert [len(h) for h in tracker.history] == [3, 4]


def test_without_clip_weights_auto_falls_back_to_the_offline_backbone_and_says_so(chelsea, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # no cached weights, and no download, whatever the network
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable, match="not cached"):
        Engine(backbone="clip")
    engine = Engine(backbone="auto")
    assert engine.description.startswith("offline:efficientnet_lite0")
    assert any("offline backbone" in note and "less semantic" in note for note in engine.notes)
    result = engine.sketch(chelsea, SketchOptions(strokes=(4,), iterations=2, seeds=1))
    facts = etree.fromstring(result.sketches[4].svg.encode()).find(".//{urn:clipsketch:sketch:1}sketch").attrib
    assert facts["model"] == "offline:efficientnet_lite0/imagenet" and "CLIP weights were unavailable" in facts["note"]


@pytest.mark.slow
def test_strokes_stay_on_the_photo_not_in_the_frames_padding(tiny_engine, chelsea):
    """A wide photo leaves padding above and below it on the square canvas; no control point may end up there,
    so a sketch placed over the photo (in a document) never strays off it."""
    bounds = (10.0, 40.0, 200.0, 180.0)
    backbone, canvas, photo_taps, start = tiny_problem(chelsea, seeds=2, strokes=12, seed=3)
    clamp_points(start.points, bounds)
    steps, tracker = run_to_end(optimize_strokes(start, Target(canvas, photo_taps, backbone, LossConfig()),
                                                 OptimizerConfig(iterations=30, tolerance=0, bounds=bounds)))
    for points in [tracker.best_points] + [step.best.points for step in steps]:
        xs, ys = points[..., 0], points[..., 1]
        assert ((xs >= 10) & (xs <= 200) & (ys >= 40) & (ys <= 180)).all()

    result = tiny_engine.sketch(chelsea, SketchOptions(strokes=(8,), iterations=20, seeds=2, mask=False))
    sketch = result.sketches[8]
    points = sketch.frame.to_target(sketch.strokes.points)
    height, width = chelsea.shape[:2]
    assert points[..., 0].min() >= -1e-3 and points[..., 0].max() <= width + 1e-3
    assert points[..., 1].min() >= -1e-3 and points[..., 1].max() <= height + 1e-3


def start_from(chelsea, tiny_engine, count=4, seed=5):
    """A finished 4-stroke sketch of the cat as start strokes (photo pixels)."""
    from clipsketch.core.options import StartStrokes

    first = tiny_engine.sketch(chelsea, SketchOptions(strokes=(count,), iterations=3, seeds=1, mask=False, seed=seed))
    sketch = first.sketches[count]
    points = sketch.frame.to_target(sketch.strokes.points[0].double()).reshape(count, 8).tolist()
    widths = (sketch.strokes.widths[0].double() * sketch.frame.scale).tolist()
    colors = [tuple(c) for c in sketch.strokes.colors[0].tolist()]
    return StartStrokes(tuple(map(tuple, points)), tuple(widths), tuple(colors), (True, False) * (count // 2))


def test_locked_start_strokes_never_move_and_free_ones_do(tiny_engine, chelsea):
    start = start_from(chelsea, tiny_engine)
    result = tiny_engine.sketch(chelsea, SketchOptions(strokes=(4, 10), iterations=15, seeds=2, mask=False,
                                                       start=start))
    for count in (4, 10):
        sketch = result.sketches[count]
        points = sketch.frame.to_target(sketch.strokes.points[0].double()).reshape(count, 8)
        given = torch.tensor(start.points, dtype=torch.float64)
        assert (points[0::2][:2] - given[0::2]).abs().max() < 0.01  # locked: unchanged, in photo pixels
        assert (points[1::2][:2] - given[1::2]).abs().max() > 0.01  # free start strokes were optimised
        widths = sketch.strokes.widths[0].double() * sketch.frame.scale
        assert torch.allclose(widths[:4], torch.tensor(start.widths, dtype=torch.float64), rtol=1e-5)
    assert 'locked-strokes="2"' in result.sketches[10].svg


def test_new_strokes_start_where_the_start_strokes_do_not_draw(chelsea):
    from clipsketch.core.sketch import coverage

    strokes = Strokes.from_points(torch.tensor([[[[20.0, 100], [80, 100], [140, 100], [200, 100]]]]))
    covered = coverage(strokes)
    assert covered[100, 20:200].min() == 1.0 and covered[20, :].max() == 0.0  # on the stroke, and far from it


def test_bad_start_strokes_are_refused_clearly(chelsea, tiny_engine):
    from clipsketch.core.options import StartStrokes

    good = ((10.0, 10, 20, 20, 30, 30, 40, 40),)
    with pytest.raises(ValueError, match="8 finite coordinates"):
        StartStrokes(((1.0, float("nan"), 2, 2, 3, 3, 4, 4),), (2.0,), ((0, 0, 0, 1.0),), (True,))
    with pytest.raises(ValueError, match="as many widths"):
        StartStrokes(good, (2.0, 3.0), ((0, 0, 0, 1.0),), (True,))
    start = StartStrokes(good * 3, (2.0,) * 3, ((0, 0, 0, 1.0),) * 3, (True,) * 3)
    with pytest.raises(ValueError, match="2 strokes asked in all, but the start has 3"):
        SketchOptions(strokes=(2, 8), start=start)
    far = StartStrokes(((1e6, 0, 0, 0, 0, 0, 0, 0),), (2.0,), ((0, 0, 0, 1.0),), (False,))
    with pytest.raises(ValueError, match="far outside"):
        tiny_engine.sketch(chelsea, SketchOptions(strokes=(2,), iterations=1, seeds=1, mask=False, start=far))


def test_the_clip_path_compares_with_the_photo(tiny_engine, chelsea):
    """The line drawing is the offline path's; CLIP sketches are compared with the photo, as in CLIPasso."""
    assert tiny_engine.target_for(SketchOptions()) == "photo"
    result = tiny_engine.sketch(chelsea, SketchOptions(strokes=(2,), iterations=2, seeds=1, mask=False))
    facts = etree.fromstring(result.sketches[2].svg.encode()).find(".//{urn:clipsketch:sketch:1}sketch")
    assert facts.get("target") == "photo"
