"""A small Tk window while a sketch runs: iteration, stroke count, a live preview, and a Cancel button.

Inkscape blocks while an extension runs, so this window is the user's only sign of life and way out. The gRPC
stream is read on a worker thread; the window polls it and closes itself when the stream ends.
"""

from __future__ import annotations

import queue
import threading
import tkinter as tk
from tkinter import ttk

PREVIEW_SIZE = 240
_END = object()


class ProgressWindow:
    def __init__(self, title: str):
        self.root = tk.Tk()
        self.root.title(title)
        self.root.resizable(False, False)
        self.status = tk.StringVar(value="Waiting for the server…")
        ttk.Label(self.root, textvariable=self.status, width=48).pack(padx=10, pady=(10, 4))
        self.bar = ttk.Progressbar(self.root, length=PREVIEW_SIZE + 60, mode="determinate")
        self.bar.pack(padx=10, pady=4)
        self.canvas = tk.Canvas(self.root, width=PREVIEW_SIZE, height=PREVIEW_SIZE, background="white")
        self.canvas.pack(padx=10, pady=4)
        ttk.Button(self.root, text="Cancel", command=self.cancel).pack(pady=(4, 10))
        self.root.protocol("WM_DELETE_WINDOW", self.cancel)
        self.inbox: queue.Queue = queue.Queue()
        self.events: list = []
        self.error: BaseException | None = None
        self.cancelled = False
        self._cancel_job = None
        self.photo_size = (1.0, 1.0)

    def run(self, events, client, request_id: str) -> list:
        """Read ``events`` until they end, showing progress; returns them. Raises the stream's error, or
        ``SketchCancelledByUser`` after Cancel."""
        from clipsketch.inkscape_extension.effect import SketchCancelledByUser

        self._cancel_job = lambda: client.cancel(request_id)
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
        elif kind == "progress" and not self.cancelled:
            step = event.progress
            self.status.set(f"{step.strokes} strokes: iteration {step.iteration} of {step.iterations}")
            self.bar["maximum"] = step.iterations
            self.bar["value"] = step.iteration
            if step.preview:
                self._draw(step.preview)
        elif kind == "result":
            self.photo_size = (event.result.photo_width, event.result.photo_height)

    def _draw(self, paths) -> None:
        self.canvas.delete("all")
        points = [[float(v) for v in path.d.replace("M", " ").replace("C", " ").split()] for path in paths]
        extent = max(max(p[0::2] + p[1::2]) for p in points) if points else 1.0
        scale = PREVIEW_SIZE / max(extent, 1.0)
        for coordinates in points:
            self.canvas.create_line(*(v * scale for v in coordinates), smooth="raw", width=2)
