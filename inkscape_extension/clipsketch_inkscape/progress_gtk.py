"""The progress window in GTK 3 (PyGObject and pycairo, as Inkscape ships them): see :mod:`.progress`."""

from __future__ import annotations

import os

import gi

for _name, _version in (("Gtk", "3.0"), ("Gdk", "3.0"), ("GdkPixbuf", "2.0")):  # no PyGIWarning on stderr
    gi.require_version(_name, _version)
gi.require_foreign("cairo")
from gi.repository import Gdk, GdkPixbuf, GLib, Gtk  # noqa: E402

from .progress import FADE, POLL_MS, PREVIEW_SIZE, ProgressWindow, preview_curves, preview_frame  # noqa: E402


class Window(ProgressWindow):
    def __init__(self, title: str, photo: bytes, counts: list[int], color: str = "#000000"):
        super().__init__(counts, color)
        # GTK, GLib and D-Bus write warnings (no accessibility bus, theme parts missing) to the process's stderr,
        # which Inkscape would show as an error dialog: while the window lives they go to the null device
        self._stderr = os.dup(2)
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        try:
            self._build(title, photo)
        except BaseException:
            self._restore_stderr()
            raise

    def _restore_stderr(self) -> None:
        if self._stderr is not None:
            os.dup2(self._stderr, 2)
            os.close(self._stderr)
            self._stderr = None

    def _build(self, title: str, photo: bytes) -> None:
        if not Gtk.init_check([])[0]:
            raise RuntimeError("GTK cannot open a display")
        self.window = Gtk.Window(title=title, resizable=False)
        self.window.connect("delete-event", self._on_close)
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4, margin=10)
        self.window.add(box)
        self.status = Gtk.Label(label="Waiting for the server…", width_chars=48)
        self.bar = Gtk.ProgressBar()
        self.remaining = Gtk.Label(label="", width_chars=48)
        self.canvas = Gtk.DrawingArea(halign=Gtk.Align.CENTER)  # its 240 px, not the window's width
        self.canvas.set_size_request(PREVIEW_SIZE, PREVIEW_SIZE)
        self.canvas.connect("draw", self._draw)
        buttons = Gtk.Box(spacing=8, homogeneous=True, halign=Gtk.Align.CENTER)
        self.use_button = Gtk.Button.new_with_mnemonic("_Use this")
        self.use_button.set_size_request(90, -1)
        self.use_button.set_sensitive(False)
        self.use_button.connect("clicked", lambda *_: self.use_this())
        cancel = Gtk.Button.new_with_mnemonic("_Cancel")
        cancel.connect("clicked", lambda *_: self.cancel())
        buttons.pack_start(self.use_button, True, True, 0)
        buttons.pack_start(cancel, True, True, 0)
        for widget in (self.status, self.bar, self.remaining, self.canvas, buttons):
            box.pack_start(widget, False, False, 0)
        self.backdrop, self.origin, self.scale = _faded_photo(photo)
        self.curves: list = []
        self.window.show_all()
        screen = self.window.get_screen()
        self.window.move(max(0, screen.get_width() - self.window.get_size()[0] - 40), 60)

    def _on_close(self, *_args) -> bool:
        """Closing the window is Cancel; the window stays until the job has ended (True: not destroyed yet)."""
        self.cancel()
        return True

    def main_loop(self, poll) -> None:
        def tick():
            if poll():
                return True
            Gtk.main_quit()
            return False

        GLib.timeout_add(POLL_MS, tick)
        try:
            Gtk.main()
            self.window.destroy()
            while Gtk.events_pending():
                Gtk.main_iteration()
        finally:
            self._restore_stderr()

    def show_status(self, text: str) -> None:
        self.status.set_text(text)

    def show_remaining(self, text: str) -> None:
        self.remaining.set_text(text)

    def show_fraction(self, fraction: float) -> None:
        self.bar.set_fraction(min(max(fraction, 0.0), 1.0))

    def show_preview(self, paths) -> None:
        self.curves = preview_curves(paths, self.origin, self.scale)
        self.canvas.queue_draw()

    def enable_use(self, enabled: bool) -> None:
        self.use_button.set_sensitive(enabled)

    def _draw(self, _widget, context) -> None:
        context.set_source_rgb(1, 1, 1)
        context.paint()
        if self.backdrop is not None:
            Gdk.cairo_set_source_pixbuf(context, self.backdrop, *self.origin)
            context.paint_with_alpha(FADE)
        red, green, blue = (int(self.color[k:k + 2], 16) / 255 for k in (1, 3, 5))
        context.set_source_rgb(red, green, blue)
        context.set_line_width(2)
        context.set_line_cap(1)  # round
        for start, *cubics in self.curves:
            context.move_to(*start)
            for cubic in cubics:
                context.curve_to(*cubic)
            context.stroke()


def _faded_photo(photo: bytes):
    """The photo (EXIF orientation applied) fitted into the preview: (pixbuf, or None where GTK cannot decode it;
    its top-left corner on the canvas; canvas pixels per photo pixel)."""
    origin, scale, size = preview_frame(photo)
    try:
        loader = GdkPixbuf.PixbufLoader()
        loader.write(photo)
        loader.close()
        pixbuf = loader.get_pixbuf().apply_embedded_orientation()
        return pixbuf.scale_simple(*size, GdkPixbuf.InterpType.BILINEAR), origin, scale
    except Exception:  # a format GdkPixbuf has no loader for: strokes on white
        return None, origin, scale
