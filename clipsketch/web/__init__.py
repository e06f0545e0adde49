"""The web page: a fourth front end on :mod:`clipsketch.session`. ``clipsketch web`` serves it on loopback in front of
the engine in process or of servers; ``clipsketch serve --web`` serves it from the server process itself.

- :mod:`~clipsketch.web.form`: the page's form fields → one :class:`~clipsketch.core.options.SketchOptions`.
- :mod:`~clipsketch.web.jobs`: the page's jobs, their queue over one or more session backends, their events and
  files (written by :mod:`clipsketch.outputs`).
- :mod:`~clipsketch.web.app`: the HTTP side (Starlette): the page, the JSON API, server-sent events, the token
  cookie, the ``Origin`` and ``Host`` checks, upload limits.
- :mod:`~clipsketch.web.command`: ``clipsketch web`` and running the app under uvicorn.
"""
