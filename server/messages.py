"""Engine events → ``clipsketch.v1`` messages: what the servicer streams for one job.

Coordinates and widths are photo pixels (the frame's target units); a preview goes with a progress message every
``preview_every`` iterations and with the last one of each stroke count.
"""

from __future__ import annotations

from clipsketch.core.frame import Frame
from clipsketch.core.events import CountDone, Event, Progress, Started
from clipsketch.core.strokes import Strokes
from clipsketch.core.svg import stroke_paths
from clipsketch.proto import sketch_pb2 as pb


def event_message(request_id: str, event: Event, frame: Frame | None, preview_every: int) -> pb.SketchEvent | None:
    """The message for an engine ``event`` (None for events the protocol does not carry); ``frame`` is the one
    the job's ``Started`` event gave."""
    if isinstance(event, Started):
        return pb.SketchEvent(request_id=request_id, started=pb.Started(
            device=event.device, backbone=event.backbone, saliency=event.saliency_source, mask_used=event.mask_used,
            notes=event.notes))
    if isinstance(event, Progress):
        step = event.step
        wanted = preview_every and frame is not None and (step.iteration % preview_every == 0 or step.finished)
        return pb.SketchEvent(request_id=request_id, progress=pb.Progress(
            strokes=event.count, iteration=step.iteration, iterations=step.iterations, geometric_loss=step.geometric,
            semantic_loss=step.semantic, loss=step.total, best_loss=step.evaluation,
            preview=paths_of(step.best, frame) if wanted else []))
    if isinstance(event, CountDone):
        result = event.result
        return pb.SketchEvent(request_id=request_id, result=pb.Result(
            strokes=result.count, svg=result.svg, paths=paths_of(result.strokes, result.frame, result.joined),
            photo_width=round(result.frame.width), photo_height=round(result.frame.height), loss=result.loss,
            seed=result.seed, schedule=result.schedule, iterations_run=result.iterations_run))
    return None


def paths_of(strokes: Strokes, frame: Frame, joined: bool = False) -> list[pb.Path]:
    """The first sketch of ``strokes`` as protocol paths in the frame's (photo) coordinates (``joined``: one path,
    a one-line sketch)."""
    return [pb.Path(d=stroke.d, width=stroke.width, color=stroke.color, opacity=stroke.opacity, taper=stroke.taper,
                    outline=stroke.outline)
            for stroke in stroke_paths(strokes, frame, joined=joined)]
