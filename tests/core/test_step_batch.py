"""Jobs sharing their steps (continuous batching on one device): each job's result is the one it gets alone."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest
import skimage.data
import torch

from clipsketch.core.engine import Engine
from clipsketch.core.events import Finished, Progress
from clipsketch.core.losses import LossConfig
from clipsketch.core.optimize import Controls, SketchCancelled, Target, optimize_strokes
from clipsketch.core.options import SketchOptions, StartStrokes
from clipsketch.core.photo import frame_photo, load_photo
from clipsketch.core.schedules import OptimizerConfig
from clipsketch.core.step_batch import StepBatch
from clipsketch.core.strokes import Strokes, random_points

STEPS = 30


@pytest.fixture(scope="module")
def engine(tiny_model_configs):
    torch.manual_seed(0)
    return Engine(backbone="clip", weights="random", loss_model="tiny-rn", saliency_model="tiny-vit", device="cpu",
                  precision="fp32")


PHOTOS = {"cat": skimage.data.chelsea(), "astronaut": skimage.data.astronaut(), "cup": skimage.data.coffee(),
          "rocket": skimage.data.rocket()}


def options(strokes=4, **changes) -> SketchOptions:
    return SketchOptions(**{"strokes": (strokes,), "iterations": STEPS, "seeds": 2, "mask": False, **changes})


@dataclass
class Job:
    photo: str
    options: SketchOptions
    cancel_after: int | None = None  # steps after which the job cancels itself
    finish_after: int | None = None  # ... or finishes early
    leave_after: int | None = None  # ... or its consumer goes away (a client disconnecting)
    steps: int = 0
    result: object = None
    error: BaseException | None = None
    finish: threading.Event = field(default_factory=threading.Event)


def run(engine: Engine, job: Job, batch: StepBatch | None, start: threading.Barrier | None = None) -> None:
    if start is not None:
        start.wait()
    events = engine.events(PHOTOS[job.photo], job.options, cancel=lambda: job.steps == job.cancel_after,
                           finish=job.finish.is_set, batch=batch)
    try:
        for event in events:
            if isinstance(event, Progress):
                job.steps += 1
                if job.steps == job.finish_after:
                    job.finish.set()
                if job.steps == job.leave_after:
                    events.close()  # what a server does when the client's stream goes away
                    return
            if isinstance(event, Finished):
                job.result = event.result
    except SketchCancelled as error:
        job.error = error


def together(engine: Engine, jobs: list[Job]) -> StepBatch:
    """Run ``jobs`` at once, one thread each, sharing their steps; the batch they shared."""
    batch: StepBatch = StepBatch()
    start = threading.Barrier(len(jobs))
    threads = [threading.Thread(target=run, args=(engine, job, batch, start)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
        assert not thread.is_alive(), "a job in the shared batch hung"
    return batch


def alone(engine: Engine, job: Job) -> Job:
    solo = Job(job.photo, job.options, job.cancel_after, job.finish_after, job.leave_after)
    run(engine, solo, None)
    return solo


SAME_STROKES = 0.05
"""Photo pixels a batched job's strokes may lie from its solo run's. The two differ by the order of floating-point
sums (the shared pass's batch is larger), and over the steps that difference grows: on a 2-core Intel Xeon the
finished job of the cancel/finish test ended 0.015 photo px from its solo run (its loss 2e-4 apart) and a bystander
0.004 px, where an AMD EPYC had shown under 1e-3 (what grows it is not pinned down: without re-seeding it grew
more, to 0.16 px). A job whose steps another job changed (a step missed or repeated, another's gradient) lies a
learning-rate step away: pixels early in the schedule, about a tenth of a pixel at its end."""


def assert_same_sketch(batched: Job, solo: Job) -> None:
    (count,) = batched.options.strokes
    mine, theirs = batched.result.sketches[count], solo.result.sketches[count]
    photo_px = mine.frame.to_target_width(1.0)  # canvas px → photo px
    gap = (mine.strokes.points - theirs.strokes.points).abs().max().item() * photo_px
    assert gap < SAME_STROKES, f"{batched.photo}: strokes {gap:.2e} photo px from the solo run's"
    assert mine.loss == pytest.approx(theirs.loss, rel=1e-3)
    assert mine.iterations_run == theirs.iterations_run


def test_a_job_batched_with_others_gets_the_strokes_and_loss_it_gets_alone(engine):
    jobs = [Job("cat", options()), Job("astronaut", options()), Job("cup", options(strokes=6)),
            Job("rocket", options(target="lines"))]
    batch = together(engine, jobs)
    assert batch.largest >= 3 and batch.passes < 2 * STEPS, "the jobs' steps were not shared"
    for job in jobs:
        assert job.error is None and job.result is not None
        assert_same_sketch(job, alone(engine, job))


def test_cancel_finish_and_a_consumer_leaving_change_no_other_job(engine):
    jobs = [Job("cat", options(), cancel_after=8), Job("astronaut", options(), finish_after=12),
            Job("cup", options(), leave_after=5),
            Job("rocket", options(schedule="reference")),  # its own schedule and stop rule
            Job("cat", options(seed=3))]
    together(engine, jobs)
    cancelled, finished, left, own_rule, bystander = jobs
    assert isinstance(cancelled.error, SketchCancelled) and cancelled.steps == 8
    assert finished.result is not None and finished.steps == 13  # asked during step 12: 13 is its last
    assert left.steps == 5 and left.result is None
    for job in (finished, own_rule, bystander):
        assert_same_sketch(job, alone(engine, job))


@pytest.mark.parametrize("apart", [False, True], ids=["strokes free", "strokes kept apart"])
def test_a_run_that_stops_early_leaves_the_batch_and_the_others_go_on(engine, apart):
    canvas = frame_photo(load_photo(PHOTOS["cat"])).image
    with torch.no_grad():
        taps = engine.backbone(canvas)
    target = Target(canvas, taps, engine.backbone, LossConfig(), apart=apart)
    points = random_points(2, 4, 224, step=5.6, generator=torch.Generator().manual_seed(1))
    if apart:
        points[:, 1] = points[:, 0] + 0.5  # a stroke on another: the cost has work to do
    start = Strokes.from_points(points)
    configs = {"stops": OptimizerConfig(iterations=STEPS, tolerance=1e9),  # converged at its third evaluation
               "goes on": OptimizerConfig(iterations=STEPS, tolerance=0)}

    def optimise(config, batch, trackers, name):
        steps = optimize_strokes(start, target, config, Controls(batch=batch))
        while True:
            try:
                next(steps)
            except StopIteration as done:
                trackers[name] = done.value
                return

    solo, batched, batch = {}, {}, StepBatch()
    for name, config in configs.items():
        optimise(config, None, solo, name)
    threads = [threading.Thread(target=optimise, args=(config, batch, batched, name))
               for name, config in configs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert solo["stops"].stopped == batched["stops"].stopped == [21, 21]
    assert batched["goes on"].stopped == [STEPS, STEPS] and batch.largest == 2 and batch.members == 0
    for name in configs:
        assert (batched[name].best_points - solo[name].best_points).abs().max() < 1e-3
        assert torch.allclose(batched[name].best_loss, solo[name].best_loss, rtol=1e-4)


def test_locked_start_strokes_stay_locked_in_a_shared_batch(engine):
    first = engine.sketch(PHOTOS["cat"], options(iterations=3)).sketches[4]
    points = first.frame.to_target(first.strokes.points[0]).reshape(4, 8).tolist()
    start = StartStrokes(points=tuple(map(tuple, points)), widths=(None,) * 4, colors=((0, 0, 0, 1),) * 4,
                         locked=(True, True, False, False))
    jobs = [Job("cat", options(strokes=8, start=start)), Job("astronaut", options(strokes=8))]
    together(engine, jobs)
    sketch = jobs[0].result.sketches[8]
    kept = sketch.frame.to_target(sketch.strokes.points[0, :2]).reshape(2, 8)
    assert torch.allclose(kept, torch.tensor(points[:2]), atol=1e-3)
    moved = sketch.frame.to_target(sketch.strokes.points[0, 2:4]).reshape(2, 8)
    assert not torch.allclose(moved, torch.tensor(points[2:]), atol=1e-2)
    assert_same_sketch(jobs[0], alone(engine, jobs[0]))


def test_a_member_that_stops_handing_in_work_holds_the_others_up_only_briefly():
    batch: StepBatch = StepBatch(patience=0.25)
    done = []

    def runner(works):
        time.sleep(0.01)
        return [work * 2 for work in works]

    def stepping():
        with batch.member():
            for step in range(20):
                done.append(batch.run(step, runner))

    with batch.member():  # a member that never steps
        thread = threading.Thread(target=stepping)
        started = time.monotonic()
        thread.start()
        thread.join(10)
    assert not thread.is_alive() and done == [2 * step for step in range(20)]
    assert time.monotonic() - started < 5


def test_a_failure_in_one_members_work_is_that_members_alone():
    batch: StepBatch = StepBatch()
    outcomes: dict[int, object] = {}

    def runner(works):
        return [ValueError(f"work {work} is bad") if work == 1 else work for work in works]

    def member(number: int, start: threading.Barrier):
        with batch.member():
            start.wait()
            try:
                outcomes[number] = batch.run(number, runner)
            except ValueError as error:
                outcomes[number] = str(error)

    start = threading.Barrier(3)
    threads = [threading.Thread(target=member, args=(number, start)) for number in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert outcomes == {0: 0, 1: "work 1 is bad", 2: 2}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")
def test_on_a_gpu_jobs_batched_match_the_same_jobs_alone_replayed_from_cuda_graphs(tiny_model_configs):
    """Alone, a job's backbone passes replay CUDA graphs; batched, the shared pass runs eagerly: in fp32 (no TF32)
    the strokes and losses still agree."""
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    gpu = Engine(backbone="clip", weights="random", loss_model="tiny-rn", saliency_model="tiny-vit", device="cuda",
                 precision="fp32", cuda_graphs=True)
    jobs = [Job("cat", options()), Job("astronaut", options()), Job("cup", options(strokes=6))]
    batch = together(gpu, jobs)
    assert batch.largest >= 2
    for job in jobs:
        assert_same_sketch(job, alone(gpu, job))
