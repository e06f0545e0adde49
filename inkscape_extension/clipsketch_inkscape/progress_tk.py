"""The progress window in Tk, where Inkscape's Python has tkinter but no GTK: see :mod:`.progress`. Tk cannot
decode most photos without an imaging library, so the preview draws the strokes on white."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from .progress import POLL_MS, PREVIEW_SIZE, ProgressWindow, preview_curves, preview_frame


class Window(ProgressWindow):
    def __init__(self, title: str, photo: bytes, counts: list[int], color: str = "#000000"):
        super().__init__(counts, color)
        self.root = tk.Tk()
        self.root.title(title)
        self.root.resizable(False, False)
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
        self.origin, self.scale, _ = preview_frame(photo)
        self.root.update_idletasks()
        x = max(0, self.root.winfo_screenwidth() - self.root.winfo_reqwidth() - 40)
        self.root.geometry(f"+{x}+60")

    def main_loop(self, poll) -> None:
        def tick():
            if poll():
                self.root.after(POLL_MS, tick)
            else:
                self.root.quit()

        self.root.after(POLL_MS, tick)
        self.root.mainloop()
        self.root.destroy()

    def show_status(self, text: str) -> None:
        self.status.set(text)

    def show_remaining(self, text: str) -> None:
        self.remaining.set(text)

    def show_fraction(self, fraction: float) -> None:
        self.bar["value"] = fraction

    def show_preview(self, paths) -> None:
        self.canvas.delete("strokes")
        for start, *cubics in preview_curves(paths, self.origin, self.scale):
            points = [*start, *(value for cubic in cubics for value in cubic)]
            self.canvas.create_line(*points, smooth="raw", width=2, fill=self.color, capstyle="round",
                                    tags="strokes")

    def enable_use(self, enabled: bool) -> None:
        self.use_button.state(["!disabled" if enabled else "disabled"])
