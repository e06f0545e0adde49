"""The one sketching layer (:mod:`clipsketch.session`): the engine in process and a real server on loopback report the
same events, keep the strokes of their results, finish early, cancel, and refuse bad photos in the same words."""

from __future__ import annotations

import pytest

from clipsketch.core.options import SketchOptions
from clipsketch.core.strokes import Strokes
from clipsketch.core.svg import StrokePath
from clipsketch.session import Cancelled, InProcess, Job, OnServer, Progress, Queued, Refused, Sketch, Started, run

from tests.conftest import tiny_engine

QUICK = SketchOptions(strokes=(2, 3), iterations=3, seeds=1, mask=False)
LONG = SketchOptions(strokes=(3, 4), iterations=5000, seeds=1, mask=False)


@pytest.fixture(params=["in-process", "server"])
def backend(request, server):
    made = InProcess(tiny_engine(), preview_every=1) if request.param == "in-process" else \
        OnServer(server.address, preview_every=1)
    yield made
    made.close()


def test_events_previews_and_results_with_their_strokes(backend, photo_bytes):
    seen = []
    outcome = run(backend, photo_bytes, QUICK, on_event=seen.append)
    assert isinstance(next(e for e in seen if not isinstance(e, Queued)), Started)
    progress = [e for e in seen if isinstance(e, Progress)]
    assert [(e.count, e.iteration) for e in progress] == [(2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3)]
    assert all(len(e.preview) == e.count and isinstance(e.preview[0], StrokePath) for e in progress)
    assert sorted(outcome.sketches) == [2, 3] and not outcome.finished_early
    for count, sketch in outcome.sketches.items():
        assert isinstance(sketch, Sketch) and isinstance(sketch.strokes, Strokes)
        assert sketch.strokes.points.shape == (1, count, 4, 2) and sketch.svg.count("<path") == count
        assert sketch.frame.width == 451 and sketch.frame.height == 300  # the cat's photo pixels


def test_finish_keeps_the_best_strokes_so_far(backend, photo_bytes):
    job = Job()

    def finish_at_the_second_step(event):
        if isinstance(event, Progress) and event.iteration == 2:
            job.finish()

    outcome = run(backend, photo_bytes, LONG, job, on_event=finish_at_the_second_step)
    assert list(outcome.sketches) == [3] and outcome.finished_early


def test_cancel_stops_without_results(backend, photo_bytes):
    job = Job()

    def cancel_at_the_second_step(event):
        if isinstance(event, Progress) and event.iteration == 2:
            job.cancel()

    with pytest.raises(Cancelled):
        run(backend, photo_bytes, LONG, job, on_event=cancel_at_the_second_step)


def test_a_bad_photo_is_refused_in_the_same_words(backend):
    with pytest.raises(Refused, match="not a recognised image format"):
        run(backend, b"\x89PNG\r\n\x1a\n broken", QUICK)
