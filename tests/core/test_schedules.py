"""Schedules: CLIPasso's reference one exactly, the fast default, per-seed early stop, successive halving,
finishing early with the best strokes so far, and the fp32 evaluation loss that picks them."""

from __future__ import annotations

import math

import pytest
import torch
from lxml import etree

from clipsketch.core.engine import Engine
from clipsketch.core.events import CountDone
from clipsketch.core.losses import LossConfig, sketch_loss
from clipsketch.core.optimize import OptimizerConfig, SeedTracker, Target, optimize_strokes
from clipsketch.core.options import SketchOptions
from clipsketch.core.raster import rasterize_strokes
from clipsketch.core.schedules import SCHEDULES, schedule_named
from clipsketch.core.strokes import Strokes

from .test_engine import run_to_end, tiny_problem


@pytest.fixture(scope="module")
def tiny_engine(tiny_model_configs):
    torch.manual_seed(0)
    return Engine(backbone="clip", weights="random", loss_model="tiny-rn", saliency_model="tiny-vit", device="cpu")


def test_the_reference_schedule_is_clipassos():
    for device_type in ("cpu", "cuda"):  # the same on every device
        options = SketchOptions(schedule="reference").resolve(device_type).options
        assert (options.iterations, options.seeds, options.loss.augmentations) == (2000, 3, 4)
    config = options.resolve("cuda").optimizer
    assert config == SketchOptions(schedule="reference").resolve("cpu").optimizer
    assert options.loss == LossConfig()  # CLIPasso's layers, weights and augmentation
    assert config.narrow_after is None and config.final_learning_rate is None and config.warmup == 0
    assert {config.rate(step) for step in range(2000)} == {1.0}  # Adam at a constant 1.0
    assert (config.eval_every, config.tolerance, config.patience) == (10, 1e-5, 2)


def test_the_fast_schedule_is_the_default_and_its_rate_warms_up_then_decays():
    options = SketchOptions().resolve("cpu").options
    assert options.schedule == "fast" and options.iterations == SCHEDULES["fast"].iterations
    assert options.resolve("cpu").optimizer.tolerance == 0.0  # stops a seed only when its loss does not change at all
    config = OptimizerConfig(iterations=101, learning_rate=2.0, final_learning_rate=0.1, warmup=10)
    rates = [config.rate(step) for step in range(101)]
    assert rates[:10] == sorted(rates[:10]) and rates[9] < 2.0  # warm-up rises towards the peak
    assert rates[10] == pytest.approx(2.0) and rates[-1] == pytest.approx(0.1)
    assert rates[10:] == sorted(rates[10:], reverse=True)  # then a cosine down to the final rate
    assert rates[55] == pytest.approx(1.05)  # half way down the cosine: the mean of peak and final


def test_an_unknown_schedule_is_refused_by_name():
    with pytest.raises(ValueError, match="schedule must be one of reference, fast, got 'slow'"):
        SketchOptions(schedule="slow")
    with pytest.raises(ValueError, match="schedule must be one of"):
        schedule_named("")


@pytest.mark.slow
def test_a_converged_seed_stops_alone_and_the_others_go_on_unchanged(chelsea):
    """Seed 1 starts off the canvas (no ink, no gradient: its loss never changes), so it stops after two
    unchanged evaluations; seed 0 goes on along the very path it follows alone."""
    backbone, canvas, photo_taps, start = tiny_problem(chelsea, seeds=2, strokes=6, seed=1)
    alone = Strokes(start.points[:1].clone(), start.widths[:1], start.colors[:1], start.canvas_size)
    start.points[1] = -1000.0
    config = OptimizerConfig(iterations=60, tolerance=1e-9)
    steps, tracker = run_to_end(optimize_strokes(start, Target(canvas, photo_taps, backbone, LossConfig()), config))
    assert tracker.stopped[1] == 21 and tracker.stopped[0] == 60  # evaluations at 0, 10, 20: two stalls
    assert [step.running for step in steps[:21]] == [2] * 21 and {step.running for step in steps[21:]} == {1}
    _, solo = run_to_end(optimize_strokes(alone, Target(canvas, photo_taps, backbone, LossConfig()), config))
    torch.testing.assert_close(tracker.best_points[0], solo.best_points[0], atol=1e-3, rtol=0)
    assert [i for i, _ in tracker.history[0]] == [i for i, _ in solo.history[0]]
    assert [v for _, v in tracker.history[0]] == pytest.approx([v for _, v in solo.history[0]], rel=1e-4)


def test_early_stop_is_clipassos_rule_two_evaluations_within_tolerance_of_the_best_since_it_improved():
    """A gain of at most the tolerance is no improvement but a stall (its strokes are kept: they are the best); a
    worse evaluation between two stalls does not reset the count; only a real improvement does. One seed."""
    config = OptimizerConfig(tolerance=1e-5, patience=2)
    tracker = SeedTracker.start(torch.zeros(1, 2, 4, 2))
    seed = torch.tensor([0])

    def evaluate(loss: float, mark: float) -> bool:
        return bool(tracker.record(0, seed, torch.tensor([loss]), torch.full((1, 2, 4, 2), float(mark)), config)[0])

    assert not evaluate(10.0, 1)  # first: an improvement
    assert not evaluate(9.0, 2)  # improvement
    assert not evaluate(9.000004, 3)  # within 1e-5 above the best: stall 1
    assert not evaluate(9.5, 4)  # worse: neither
    assert not evaluate(8.0, 5)  # improvement: stalls reset
    assert not evaluate(7.999996, 6)  # a gain below the tolerance: stall 1, not a new best
    assert evaluate(8.000002, 7)  # stall 2: stop
    assert float(tracker.anchor_loss[0]) == 8.0
    assert float(tracker.best_loss[0]) == pytest.approx(7.999996) and float(tracker.best_points[0].mean()) == 6.0


@pytest.mark.slow
def test_the_reference_schedule_stops_by_that_rule_and_the_fast_one_only_on_an_unchanging_loss(tiny_engine, chelsea):
    """The tiny random model's losses are about 1e-5, so every gain is within CLIPasso's tolerance: under the
    reference schedule every seed stalls at its 2nd and 3rd evaluations and stops at step 21; the fast schedule
    (tolerance 0) runs on."""
    quick = dict(strokes=(4,), iterations=60, seeds=2, mask=False)
    reference = tiny_engine.sketch(chelsea, SketchOptions(schedule="reference", **quick)).sketches[4]
    fast = tiny_engine.sketch(chelsea, SketchOptions(schedule="fast", **quick)).sketches[4]
    assert reference.iterations_run == 21 and [i for i, _ in reference.history] == [0, 10, 20]
    assert max(abs(value - reference.history[0][1]) for _, value in reference.history) <= 1e-5
    assert fast.iterations_run == 60


@pytest.mark.slow
def test_successive_halving_keeps_only_the_best_seed(chelsea):
    backbone, canvas, photo_taps, start = tiny_problem(chelsea, seeds=3, strokes=6, seed=2)
    config = OptimizerConfig(iterations=40, tolerance=0, narrow_after=15)
    steps, tracker = run_to_end(optimize_strokes(start, Target(canvas, photo_taps, backbone, LossConfig()), config))
    assert [step.running for step in steps[:21]] == [3] * 21 and {step.running for step in steps[21:]} == {1}
    kept = max(range(3), key=lambda seed: tracker.stopped[seed])
    assert kept == min(range(3), key=lambda seed: min(v for i, v in tracker.history[seed] if i <= 20))
    assert sorted(tracker.stopped) == [21, 21, 40]
    assert tracker.winner == kept


def test_steps_before_augment_from_compare_the_unaugmented_views_alone(chelsea):
    backbone, canvas, photo_taps, start = tiny_problem(chelsea, seeds=3, strokes=6, seed=2)
    batches = []
    hook = backbone.register_forward_pre_hook(lambda module, args: batches.append(args[0].shape[0]))
    config = OptimizerConfig(iterations=30, tolerance=0, augment_from=12)
    try:
        steps, _ = run_to_end(optimize_strokes(start, Target(canvas, photo_taps, backbone,
                                                             LossConfig(augmentations=2)), config))
    finally:
        hook.remove()
    assert len(steps) == 30
    # 12 steps of the 3 sketches alone, then per step the photo's 2 augmented views and 3 sketches × 3 views
    assert batches == [3] * 12 + [2, 9] * 18


def test_the_fast_schedule_adds_augmented_views_when_it_narrows_to_one_seed():
    config = SketchOptions().resolve("cpu").optimizer
    assert config.augment_from == config.narrow_after > 0
    assert SketchOptions(seeds=1).resolve("cpu").optimizer.augment_from == 0  # no seeds to choose between: at once
    assert SketchOptions(schedule="reference").resolve("cpu").optimizer.augment_from == 0


def test_on_a_cuda_gpu_the_fast_schedule_keeps_every_seed_for_450_steps():
    on_cpu, on_gpu = SketchOptions().resolve("cpu").options, SketchOptions().resolve("cuda").options
    assert (on_cpu.iterations, on_cpu.seeds, on_gpu.iterations, on_gpu.seeds) == (300, 3, 450, 3)
    config = SketchOptions().resolve("cuda").optimizer
    assert config.iterations == 450 and config.narrow_after is None  # no seed is dropped
    assert config.augment_from == 45  # the three seeds start on the unaugmented views, as on a CPU
    cpu_config = SketchOptions().resolve("cpu").optimizer
    assert (config.learning_rate, config.final_learning_rate, config.warmup, config.tolerance) == (
        cpu_config.learning_rate, cpu_config.final_learning_rate, cpu_config.warmup, cpu_config.tolerance)
    # what a caller gives wins on every device; an unknown device type gets the CPU's settings
    assert SketchOptions(iterations=120, seeds=2).resolve("cuda").options.iterations == 120
    assert SketchOptions(iterations=120).resolve("cuda").optimizer.augment_from == 12
    assert SketchOptions().resolve("mps").options == on_cpu


def test_an_engine_runs_the_schedule_as_it_is_on_its_device_and_says_so_in_the_svg(tiny_engine, chelsea):
    steps, events = [], []
    for event in tiny_engine.events(chelsea, SketchOptions(strokes=(3,), mask=False), finish=lambda: len(steps) >= 2):
        events.append(event)
        if type(event).__name__ == "Progress":
            steps.append(event.step)
    assert tiny_engine.device.type == "cpu"
    assert {step.iterations for step in steps} == {SCHEDULES["fast"].iterations}
    assert {step.running for step in steps} == {3}  # the schedule's seeds
    (done,) = [event.result for event in events if isinstance(event, CountDone)]
    facts = etree.fromstring(done.svg.encode()).find(".//{urn:clipsketch:sketch:1}sketch").attrib
    assert facts["iterations"] == str(SCHEDULES["fast"].iterations)


def test_finish_ends_with_the_best_strokes_so_far_and_skips_later_counts(tiny_engine, chelsea):
    seen = []

    def finish():
        return len(seen) >= 7

    events = []
    for event in tiny_engine.events(chelsea, SketchOptions(strokes=(4, 8), iterations=500, seeds=2, mask=False),
                                     finish=finish):
        events.append(event)
        if type(event).__name__ == "Progress":
            seen.append(event)
    done = [event.result for event in events if isinstance(event, CountDone)]
    assert [result.count for result in done] == [4]  # the 8-stroke count never started
    assert done[0].iterations_run == 8 and len(seen) == 8 and seen[-1].step.finished
    assert done[0].loss == seen[-1].step.evaluation
    facts = etree.fromstring(done[0].svg.encode()).find(".//{urn:clipsketch:sketch:1}sketch").attrib
    assert (facts["schedule"], facts["iterations"], facts["iterations-run"]) == ("fast", "500", "8")
    assert type(events[-1]).__name__ == "Finished" and list(events[-1].result.sketches) == [4]


def test_the_evaluation_loss_is_fp32_even_when_the_steps_run_in_bf16(tiny_model_configs, chelsea):
    """The loss that picks the best strokes (and that the SVG reports) is the unaugmented loss of the returned
    strokes, recomputed in fp32 — not the bf16 one of the step."""
    torch.manual_seed(0)
    engine = Engine(backbone="clip", weights="random", loss_model="tiny-rn", saliency_model="tiny-vit",
                    device="cpu", precision="bf16")
    result = engine.sketch(chelsea, SketchOptions(strokes=(5,), iterations=12, seeds=2, mask=False))
    sketch = result.sketches[5]
    with torch.no_grad():
        canvas = result.canvas
        fp32 = sketch_loss(engine.backbone(rasterize_strokes(sketch.strokes).rgb), engine.backbone(canvas), 1,
                           LossConfig(augmentations=0)).evaluation
        with engine.autocast():
            bf16 = sketch_loss(engine.backbone(rasterize_strokes(sketch.strokes).rgb), engine.backbone(canvas), 1,
                               LossConfig(augmentations=0)).evaluation
    assert sketch.loss == pytest.approx(float(fp32), rel=1e-5)
    assert not math.isclose(sketch.loss, float(bf16), rel_tol=1e-5)  # bf16 would have been another number
    facts = etree.fromstring(sketch.svg.encode()).find(".//{urn:clipsketch:sketch:1}sketch").attrib
    assert facts["loss-precision"] == "fp32" and float(facts["loss"]) == pytest.approx(sketch.loss, rel=1e-5)
