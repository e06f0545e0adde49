"""The sketching engine: plain PyTorch, no gRPC, no Inkscape.

- :mod:`~clipsketch.core.strokes`: the stroke tensors and their shapes;
- :mod:`~clipsketch.core.raster`: the differentiable rasterizer (strokes → image);
- :mod:`~clipsketch.core.frame`: the mapping between the square canvas and the photo's rectangle;
- :mod:`~clipsketch.core.svg`: strokes ⇄ SVG documents.
"""
