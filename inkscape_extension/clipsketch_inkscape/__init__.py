"""The extension's work, in Inkscape's own Python: inkex, the standard library and the bundled ``vendor/``
libraries (no clipsketch, PyTorch, grpcio or numpy). One module per idea: the effect, the server client, the
local server, the pictures, the placement, the selected paths as strokes, the progress window."""
