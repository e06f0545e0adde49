"""A small window while a sketch runs: overall progress, time left, a live preview, Use this and Cancel.

Inkscape blocks while an extension runs, so this window is the user's only sign of life and way out. **Use this**
(Alt+U; enabled once there is a preview) ends the job early and keeps the best strokes so far: they are inserted
like a finished sketch (stroke counts not yet started are skipped). **Cancel** inserts nothing. The gRPC stream is
read on a worker thread; the window polls it and closes itself when the stream ends. The preview draws the best
strokes so far in the chosen colour (over a faded copy of the photo where the toolkit can decode it). The window
opens in the top-right corner of the screen, clear of Inkscape's own dialogs in the middle.

The toolkit is the first of :data:`TOOLKITS` that Inkscape's Python has: GTK 3 (what Inkscape and inkex's GUI use,
on every system), else Tk; with neither, or with no display, the sketch runs without a window. What the window
shows is decided here, toolkit-free (:class:`ProgressWindow`); ``progress_gtk`` and ``progress_tk`` only draw it.
"""

from __future__ import annotations

import os
import platform
import queue
import threading
import time

from .errors import SketchCancelledByUser
from .pictures import picture_size

PREVIEW_SIZE = 240
FADE = 0.35  # how much of the photo shows under the preview strokes (0: none, 1: all)
POLL_MS = 50
TOOLKITS = ("progress_gtk", "progress_tk")  # modules of this package, tried in this order
# Systems whose windows need a display server named in the environment (X11 or Wayland); the others always have one.
NEEDS_DISPLAY_VARIABLE = {"Windows": False, "Darwin": False, "*": True}
_END = object()


def open_progress_window(wanted: bool, label: str, photo: bytes, counts: list[int], color: str):
    """A progress window when asked for and a toolkit and a display are there; None otherwise (batch runs)."""
    if not wanted or not has_display():
        return None
    import importlib

    for name in TOOLKITS:
        try:
            toolkit = importlib.import_module(f"{__package__}.{name}")
            return toolkit.Window(f"clipsketch – {label}", photo, counts, color)
        except Exception:  # no such toolkit here, or it cannot open a window: try the next, then none
            continue
    return None


def has_display(system: str | None = None, environ: dict[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    needs = NEEDS_DISPLAY_VARIABLE.get(system or platform.system(), NEEDS_DISPLAY_VARIABLE["*"])
    return not needs or bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def preview_frame(photo: bytes) -> tuple[tuple[int, int], float, tuple[int, int]]:
    """Where the photo sits on the square preview: its top-left corner, preview pixels per photo pixel, and its
    size there."""
    width, height = picture_size(photo)
    scale = PREVIEW_SIZE / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return ((PREVIEW_SIZE - size[0]) // 2, (PREVIEW_SIZE - size[1]) // 2), scale, size


def preview_curves(paths, origin: tuple[float, float], scale: float) -> list[list[tuple[float, ...]]]:
    """Each preview path (``M x y C …`` in photo pixels) as its points on the preview: ``[(x0, y0), (x1, y1, x2,
    y2, x3, y3), …]``, a start point then one tuple per cubic."""
    left, top = origin
    curves = []
    for path in paths:
        numbers = [float(v) for v in path.d.replace("M", " ").replace("C", " ").replace(",", " ").split()]
        points = [left + v * scale if k % 2 == 0 else top + v * scale for k, v in enumerate(numbers)]
        curves.append([tuple(points[:2])] + [tuple(points[k:k + 6]) for k in range(2, len(points) - 5, 6)])
    return curves


class ProgressWindow:
    """What the window shows and does, whatever draws it. A toolkit's ``Window`` subclass builds the widgets in
    ``__init__`` and implements the methods marked *toolkit*.

    Args: ``counts`` the stroke counts in the order they run; ``color`` the strokes' ``#rrggbb``."""

    def __init__(self, counts: list[int], color: str = "#000000"):
        self.counts = list(counts)
        self.color = color
        self.inbox: queue.Queue = queue.Queue()
        self.events: list = []
        self.error: BaseException | None = None
        self.cancelled = False
        self.finishing = False
        self.can_use = False
        self._cancel_job = None
        self._finish_job = None
        self._first_progress: tuple[float, float] | None = None  # (time, fraction done) when progress began

    # --- toolkit ---------------------------------------------------------------------------------------------
    def main_loop(self, poll) -> None:
        """Call ``poll()`` every POLL_MS until it returns False, then close the window."""
        raise NotImplementedError

    def show_status(self, text: str) -> None:
        raise NotImplementedError

    def show_remaining(self, text: str) -> None:
        raise NotImplementedError

    def show_fraction(self, fraction: float) -> None:
        raise NotImplementedError

    def show_preview(self, paths) -> None:
        raise NotImplementedError

    def enable_use(self, enabled: bool) -> None:
        raise NotImplementedError

    # --- behaviour -------------------------------------------------------------------------------------------
    def run(self, events, client, request_id: str) -> list:
        """Read ``events`` until they end, showing progress; returns them (after Use this: up to the job's early
        end). Raises the stream's error, or ``SketchCancelledByUser`` after Cancel."""
        self._cancel_job = lambda: client.cancel(request_id)
        self._finish_job = lambda: client.finish(request_id)
        threading.Thread(target=self._read, args=(events,), daemon=True).start()
        self.main_loop(self._poll)
        if self.cancelled:
            raise SketchCancelledByUser()
        if self.error is not None:
            raise self.error
        return self.events

    def cancel(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        self.show_status("Cancelling…")
        if self._cancel_job is not None:
            threading.Thread(target=self._cancel_job, daemon=True).start()

    def use_this(self) -> None:
        """Finish the job early with the best strokes so far (once there is something to use)."""
        if self.finishing or self.cancelled or not self.can_use:
            return
        self.finishing = True
        self.enable_use(False)
        self.show_status("Finishing: keeping the best strokes so far…")
        if self._finish_job is not None:
            threading.Thread(target=self._finish_job, daemon=True).start()

    def fraction_done(self, strokes: int, iteration: int, iterations: int) -> float:
        """Overall progress 0..1 over all stroke counts (each count an equal share)."""
        index = self.counts.index(strokes) if strokes in self.counts else 0
        return (index + min(iteration / max(iterations, 1), 1.0)) / max(len(self.counts), 1)

    def _read(self, events) -> None:
        try:
            for event in events:
                self.inbox.put(event)
        except BaseException as error:  # handed to the main thread
            self.error = error
        self.inbox.put(_END)

    def _poll(self) -> bool:
        try:
            while True:
                event = self.inbox.get_nowait()
                if event is _END:
                    return False
                self.events.append(event)
                self._show(event)
        except queue.Empty:
            return True

    def _show(self, event) -> None:
        kind = event.WhichOneof("event")
        if kind == "queued":
            self.show_status(f"Queued: {event.queued.position} job(s) ahead")
        elif kind == "started":
            self.show_status(f"Started on {event.started.device} ({event.started.backbone})")
        elif kind == "progress" and not (self.cancelled or self.finishing):
            step = event.progress
            done = self.fraction_done(step.strokes, step.iteration, step.iterations)
            number = self.counts.index(step.strokes) + 1 if step.strokes in self.counts else 1
            self.show_status(f"{step.strokes} strokes ({number} of {len(self.counts)}): iteration "
                             f"{step.iteration} of {step.iterations}")
            self.show_fraction(done)
            self.show_remaining(self._time_left(done))
            if step.preview:
                self.show_preview(step.preview)
                self.can_use = True
                self.enable_use(True)

    def _time_left(self, done: float) -> str:
        now = time.monotonic()
        if self._first_progress is None:
            self._first_progress = (now, done)
            return "Estimating the time left…"
        started, done_then = self._first_progress
        if done <= done_then or now - started < 2:
            return "Estimating the time left…"
        seconds = (now - started) / (done - done_then) * (1 - done)
        if seconds < 60:
            return f"About {max(5, round(seconds / 5) * 5):.0f} s left"
        return f"About {seconds / 60:.0f} min left"
