"""A sketch's progress in a terminal: one tqdm bar per stroke count and one-line messages on stderr; Ctrl-C once
finishes early, twice aborts."""

from __future__ import annotations

import signal
import sys

from clipsketch import session


class ProgressBar:
    """Prints :mod:`~clipsketch.session` events: a bar per stroke count, the queue and where the job runs."""

    def __init__(self):
        self.bar = None
        self.count = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *_exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def __call__(self, event: session.Event) -> None:
        if isinstance(event, session.Queued):
            print(f"queued: {event.position} job(s) ahead", file=sys.stderr)
        elif isinstance(event, session.Started):
            for note in event.notes:
                print(f"note: {note}", file=sys.stderr)
            print(f"sketching on {event.device} with {event.backbone}; saliency: {event.saliency}; "
                  f"background removal: {'on' if event.mask_used else 'off'}", file=sys.stderr)
        elif isinstance(event, session.Progress):
            self._step(event)

    def _step(self, event: session.Progress) -> None:
        from tqdm import tqdm

        if self.count != event.count:
            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=event.iterations, desc=f"{event.count:>3} strokes", unit="it", file=sys.stderr,
                            dynamic_ncols=True)
            self.count = event.count
        self.bar.update(event.iteration - self.bar.n)
        self.bar.set_postfix(loss=f"{event.loss:.4g}", best=f"{event.best_loss:.4g}", refresh=False)


class Interrupts:
    """While open, Ctrl-C once finishes ``job`` (its best strokes so far are kept); again raises
    KeyboardInterrupt: abort."""

    def __init__(self, job: session.Job):
        self.job = job

    def __enter__(self) -> Interrupts:
        self._previous = signal.signal(signal.SIGINT, self._interrupted)
        return self

    def __exit__(self, *_exc) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _interrupted(self, _signal, _frame) -> None:
        if self.job.finishing.is_set():
            raise KeyboardInterrupt
        print("\nfinishing early: keeping the best strokes so far (Ctrl-C again to abort)", file=sys.stderr,
              flush=True)
        self.job.finish()
