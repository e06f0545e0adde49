"""A small Tk window while a sketch runs: overall progress, time left, a live preview, Use this and Cancel.

Inkscape blocks while an extension runs, so this window is the user's only sign of life and way out. **Use this**
(Alt+U; enabled once there is a preview) ends the job early and keeps the best strokes so far: they are inserted
like a finished sketch (stroke counts not yet started are skipped). **Cancel** inserts nothing. The gRPC
stream is read on a worker thread; the window polls it and closes itself when the stream ends. The preview
draws the best strokes so far in the chosen colour over a faded copy of the photo. The window opens in the
top-right corner of the screen, clear of Inkscape's own dialogs in the middle.
"""

from __future__ import annotations

import base64
import io
import queue
import threading
import time
import tkinter as tk
from tkinter import ttk

from PIL import Image, ImageOps

from clipsketch.inkscape_extension.errors import SketchCancelledByUser

PREVIEW_SIZE = 240
FADE = 0.35  # how much of the photo shows under the preview strokes (0: none, 1: all)
_END = object()


class ProgressWindow:
    """Args: ``title``; ``photo`` the encoded picture; ``counts`` the stroke counts in the order they run;
    ``color`` the strokes' ``#rrggbb``."""

    def __init__(self, title: str, photo: bytes, counts: list[int], color: str = "#000000"):
        self.root = tk.Tk()
        self.root.title(title)
        self.root.resizable(False, False)
        self.counts = list(counts)
        self.color = color
        self.status = tk.StringVar(value="Waiting for the server…")
        self.remaining = tk.StringVar(value="")
        ttk.Label(self.root, textvariable=self.status, width=48).pack(padx=10, pady=(10, 2))
        self.bar = ttk.Progressbar(self.root, length=PREVIEW_SIZE + 60, mode="determinate", maximum=1.0)
        self.bar.pack(padx=10, pady=2)
        ttk.Label(self.root, textvariable=self.remaining, width=48).pack(padx=10, pady=(2, 4))
        self.canvas = tk.Canvas(self.root, width=PREVIEW_SIZE, height=PREVIEW_SIZE, background="white",
                                highlightthickness=0)
        self.canvas.pack(padx=10, pady=4)
        buttons = ttk.Frame(self.root)
        buttons.pack(pady=(4, 10))
        self.use_button = ttk.Button(buttons, text="Use this", underline=0, command=self.use_this, state="disabled")
        self.use_button.pack(side="left", padx=4)
        ttk.Button(buttons, text="Cancel", command=self.cancel).pack(side="left", padx=4)
        self.root.bind_all("<Alt-u>", lambda _event: self.use_this())
        self.root.protocol("WM_DELETE_WINDOW", self.cancel)
        self._backdrop, self._origin, self._scale = self._faded_photo(photo)
        self.canvas.create_image(*self._origin, image=self._backdrop, anchor="nw")
        self._place_top_right()
        self.inbox: queue.Queue = queue.Queue()
        self.events: list = []
        self.error: BaseException | None = None
        self.cancelled = False
        self.finishing = False
        self._cancel_job = None
        self._finish_job = None
        self._first_progress: tuple[float, float] | None = None  # (time, fraction done) when progress began

    def run(self, events, client, request_id: str) -> list:
        """Read ``events`` until they end, showing progress; returns them (after Use this: up to the job's early
        end). Raises the stream's error, or ``SketchCancelledByUser`` after Cancel."""
        self._cancel_job = lambda: client.cancel(request_id)
        self._finish_job = lambda: client.finish(request_id)
        threading.Thread(target=self._read, args=(events,), daemon=True).start()
        self.root.after(50, self._poll)
        self.root.mainloop()
        self.root.destroy()
        if self.cancelled:
            raise SketchCancelledByUser()
        if self.error is not None:
            raise self.error
        return self.events

    def cancel(self) -> None:
        self.cancelled = True
        self.status.set("Cancelling…")
        if self._cancel_job is not None:
            threading.Thread(target=self._cancel_job, daemon=True).start()

    def use_this(self) -> None:
        """Finish the job early with the best strokes so far (once there is something to use)."""
        if self.finishing or self.cancelled or self.use_button.instate(["disabled"]):
            return
        self.finishing = True
        self.use_button.state(["disabled"])
        self.status.set("Finishing: keeping the best strokes so far…")
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

    def _poll(self) -> None:
        try:
            while True:
                event = self.inbox.get_nowait()
                if event is _END:
                    self.root.quit()
                    return
                self.events.append(event)
                self._show(event)
        except queue.Empty:
            pass
        self.root.after(50, self._poll)

    def _show(self, event) -> None:
        kind = event.WhichOneof("event")
        if kind == "queued":
            self.status.set(f"Queued: {event.queued.position} job(s) ahead")
        elif kind == "started":
            self.status.set(f"Started on {event.started.device} ({event.started.backbone})")
        elif kind == "progress" and not (self.cancelled or self.finishing):
            step = event.progress
            done = self.fraction_done(step.strokes, step.iteration, step.iterations)
            number = self.counts.index(step.strokes) + 1 if step.strokes in self.counts else 1
            self.status.set(f"{step.strokes} strokes ({number} of {len(self.counts)}): iteration {step.iteration} "
                            f"of {step.iterations}")
            self.bar["value"] = done
            self.remaining.set(self._time_left(done))
            if step.preview:
                self._draw(step.preview)
                self.use_button.state(["!disabled"])

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

    def _draw(self, paths) -> None:
        self.canvas.delete("strokes")
        (left, top), scale = self._origin, self._scale
        for path in paths:
            numbers = [float(v) for v in path.d.replace("M", " ").replace("C", " ").replace(",", " ").split()]
            points = [left + v * scale if k % 2 == 0 else top + v * scale for k, v in enumerate(numbers)]
            self.canvas.create_line(*points, smooth="raw", width=2, fill=self.color, capstyle="round",
                                    tags="strokes")

    def _faded_photo(self, photo: bytes):
        """The photo fitted into the preview and faded towards white: (Tk image, its top-left corner on the
        canvas, canvas pixels per photo pixel)."""
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(photo))).convert("RGB")
        size = image.size
        scale = PREVIEW_SIZE / max(size)
        image = image.resize((max(1, round(size[0] * scale)), max(1, round(size[1] * scale))))
        image = Image.blend(Image.new("RGB", image.size, "white"), image, FADE)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        backdrop = tk.PhotoImage(master=self.root, data=base64.b64encode(buffer.getvalue()).decode())
        origin = ((PREVIEW_SIZE - image.size[0]) // 2, (PREVIEW_SIZE - image.size[1]) // 2)
        return backdrop, origin, scale

    def _place_top_right(self) -> None:
        self.root.update_idletasks()
        x = max(0, self.root.winfo_screenwidth() - self.root.winfo_reqwidth() - 40)
        self.root.geometry(f"+{x}+60")
