"""The sketching engine: plain PyTorch, no gRPC, no Inkscape.

- :mod:`~clipsketch.core.options`: the request contract (validated, resolved once; no torch), with
  :mod:`~clipsketch.core.schedules` and :mod:`~clipsketch.core.limits`;
- :mod:`~clipsketch.core.engine`: models, device and precision; :mod:`~clipsketch.core.sketch`: the pipeline;
  :mod:`~clipsketch.core.events`: what it yields and returns;
- :mod:`~clipsketch.core.optimize`: the optimisation loop;
- :mod:`~clipsketch.core.strokes`: the stroke tensors and their shapes;
- :mod:`~clipsketch.core.raster`: the differentiable rasterizer (strokes → image);
- :mod:`~clipsketch.core.frame`: the mapping between the square canvas and the photo's rectangle;
- :mod:`~clipsketch.core.svg`: strokes ⇄ SVG documents.
"""
