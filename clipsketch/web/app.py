"""The HTTP side of the page, on Starlette (an ASGI framework, served by uvicorn): the static page, a small JSON API
and server-sent events.

    GET  /                          the page (static HTML, JS and CSS under /static/)
    GET  /api/info                  whether a token is needed (and given), the limits, the backends
    POST /api/token                 {"token": …}: the token, checked, kept in an HttpOnly SameSite=Strict cookie
    POST /api/jobs                  multipart: photo, the form fields (:mod:`clipsketch.web.form`), Refine's start
                                    SVG and lock_start → 201 {"job": …}; 400/413 with {"error": message}
    GET  /api/jobs/ID               the job
    GET  /api/jobs/ID/events        its events (text/event-stream; ``id:`` lines, Last-Event-ID resumes)
    GET  /api/events?jobs=ID.N,…    the events of several jobs, each from its index N, as one stream (the page's:
                                    each event names its ``job`` and ``index``)
    POST /api/jobs/ID/finish        Use this: its best strokes so far
    POST /api/jobs/ID/cancel
    GET  /api/jobs/ID/files/NAME    one of its files; GET /api/jobs/ID/zip all of them
    GET  /api/zip?jobs=ID,ID        the files of several jobs, a folder per photo

Safety (:class:`Guard`, on every request): the ``Host`` header, on a loopback listener, must name loopback with its
port (DNS rebinding); ``Origin`` (and ``Sec-Fetch-Site``), where a browser sends them, must be this page's own on
every state-changing request and on the event stream; with a token, every API call but ``info`` and ``token`` needs
the cookie (or ``Authorization: Bearer TOKEN``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from importlib import resources
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from clipsketch.core.limits import Limits
from clipsketch.core.options import OptionError
from clipsketch.core.photo import PhotoError, load_photo_within
from clipsketch.core.svg import SvgError, svg_to_start_strokes
from clipsketch.web.form import form_options
from clipsketch.web.jobs import Dispatcher, Photo, QueueFull, WebJob, follow_all, safe_name, zip_jobs

COOKIE = "clipsketch_token"
MAX_START_SVG_BYTES = 4 * 2**20
"""Largest SVG Refine takes, bytes."""

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                               "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
"""Sent with every answer: only this page's own scripts, styles and connections; never in a frame."""

STATIC = resources.files("clipsketch.web") / "static"


class Refusal(Exception):
    """An HTTP error the page shows: ``status`` and the ``message``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def cookie_value(token: str) -> str:
    """What the cookie holds: a digest of the token (the token itself never sits in the browser's cookie jar)."""
    return hmac.new(token.encode(), b"clipsketch web page", hashlib.sha256).hexdigest()


def loopback_hosts(port: int) -> set[str]:
    """The ``Host`` values a loopback listener on ``port`` answers."""
    return {f"{host}:{port}" for host in ("localhost", "127.0.0.1", "[::1]")}


class Guard:
    """ASGI middleware: the Host, Origin and token checks of this module's docstring, before any route runs.
    ``hosts``: the Host values allowed (None: any, off loopback where the token guards)."""

    def __init__(self, app, token: str | None, hosts: set[str] | None):
        self.app, self.token, self.hosts = app, token, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = self.refusal(Request(scope))
        if refusal is not None:
            status, message = refusal
            return await JSONResponse({"error": message, "token_needed": status == 401}, status,
                                      headers=HEADERS)(scope, receive, send)
        return await self.app(scope, receive, send)

    def refusal(self, request: Request) -> tuple[int, str] | None:
        headers, path = request.headers, request.url.path
        host = headers.get("host", "")
        if self.hosts is not None and host.lower() not in self.hosts:
            return 403, f"this page answers only as http://{min(self.hosts)}/ (Host {host!r} refused)"
        changes = request.method not in ("GET", "HEAD") or path.endswith("/events")
        origin = headers.get("origin")
        if changes and origin is not None and urlsplit(origin).netloc.lower() != host.lower():  # scheme: a proxy's
            return 403, f"a request from another site ({origin}) was refused"
        if changes and headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return 403, "a request from another site was refused"
        if self.token and path.startswith("/api/") and path not in ("/api/info", "/api/token") \
                and not self.authorized(request):
            return 401, "this page needs the server's token"
        return None

    def authorized(self, request: Request) -> bool:
        return authorized(request, self.token)


def authorized(request: Request, token: str | None) -> bool:
    """Whether ``request`` presents ``token`` (always, without one): the cookie or a bearer header, compared in
    constant time."""
    if not token:
        return True
    given = request.cookies.get(COOKIE, "")
    bearer = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), cookie_value(token).encode()) or hmac.compare_digest(
        bearer.encode(), f"Bearer {token}".encode())


def create_app(dispatcher: Dispatcher, token: str | None = None, hosts: set[str] | None = None,
               limits: Limits | None = None, label: str = "in process", secure: bool = False) -> Guard:
    """The page's ASGI app over ``dispatcher``: ``token`` required when given, ``hosts`` the Host values allowed
    (None: any), ``label`` where the sketches run, ``secure``: served over HTTPS (the cookie says so)."""
    limits = limits or Limits()
    api = Api(dispatcher, token, limits, label, secure)
    routes = [
        Route("/", api.page),
        Route("/api/info", api.info),
        Route("/api/token", api.give_token, methods=["POST"]),
        Route("/api/jobs", api.submit, methods=["POST"]),
        Route("/api/jobs/{job}", api.job),
        Route("/api/jobs/{job}/events", api.events),
        Route("/api/events", api.many_events),
        Route("/api/jobs/{job}/finish", api.finish, methods=["POST"]),
        Route("/api/jobs/{job}/cancel", api.cancel, methods=["POST"]),
        Route("/api/jobs/{job}/files/{name}", api.file),
        Route("/api/jobs/{job}/zip", api.zip_one),
        Route("/api/zip", api.zip_many),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={Refusal: _refusal, 404: _not_found})
    return Guard(_with_headers(app), token, hosts)


def _with_headers(app):
    async def wrapped(scope, receive, send):
        async def sending(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name.lower().encode(), value.encode()) for name, value in HEADERS.items()
                    if name.lower().encode() not in present]
            await send(message)

        await app(scope, receive, sending)

    return wrapped


async def _refusal(request: Request, error: Refusal) -> JSONResponse:
    return JSONResponse({"error": str(error)}, error.status)


async def _not_found(request: Request, error) -> JSONResponse:
    return JSONResponse({"error": "not found (a job is kept until many newer ones have ended)"}, 404)


class Api:
    """The routes' handlers over one :class:`Dispatcher`."""

    def __init__(self, dispatcher: Dispatcher, token: str | None, limits: Limits, label: str, secure: bool):
        self.dispatcher, self.token, self.limits, self.label, self.secure = dispatcher, token, limits, label, secure

    async def page(self, request: Request) -> Response:
        return FileResponse(str(STATIC / "index.html"), headers={"Cache-Control": "no-store"})

    async def info(self, request: Request) -> JSONResponse:
        return JSONResponse({"token_needed": bool(self.token), "authorized": authorized(request, self.token),
                             "runs": self.label,
                             "limits": {"photo_bytes": self.limits.max_photo_bytes,
                                        "photo_pixels": self.limits.max_photo_pixels,
                                        "strokes": self.limits.max_strokes,
                                        "stroke_counts": self.limits.max_stroke_counts}})

    async def give_token(self, request: Request) -> JSONResponse:
        try:
            given = str((await request.json()).get("token", ""))
        except (ValueError, AttributeError):
            raise Refusal(400, 'send {"token": "…"} as JSON') from None
        if not self.token:
            return JSONResponse({"ok": True})
        if not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise Refusal(401, "wrong token")
        answer = JSONResponse({"ok": True})
        answer.set_cookie(COOKIE, cookie_value(self.token), httponly=True, samesite="strict", secure=self.secure,
                          path="/")
        return answer

    async def submit(self, request: Request) -> JSONResponse:
        length = int(request.headers.get("content-length") or 0)
        if length > self.limits.max_photo_bytes + MAX_START_SVG_BYTES + 2**20:
            raise Refusal(413, f"the upload is {length} bytes, more than the photo limit of "
                               f"{self.limits.max_photo_bytes}")
        async with request.form(max_files=2, max_fields=40,
                                max_part_size=self.limits.max_photo_bytes + 2**20) as form:
            photo = form.get("photo")
            if photo is None or isinstance(photo, str):
                raise Refusal(400, "no photo in the request (a file field named photo)")
            data = await photo.read(self.limits.max_photo_bytes + 1)
            start = form.get("start")
            start_svg = await start.read(MAX_START_SVG_BYTES + 1) if start is not None and not isinstance(
                start, str) else b""
            fields = {name: value for name, value in form.items() if isinstance(value, str)}
            filename = photo.filename or ""
        job = await run_in_threadpool(self.prepare, data, filename, fields, start_svg)
        try:
            self.dispatcher.submit(job)
        except QueueFull as error:
            raise Refusal(503, str(error)) from None
        return JSONResponse({"job": job.summary()}, 201)

    def prepare(self, data: bytes, filename: str, fields: dict[str, str], start_svg: bytes) -> WebJob:
        """The job the upload asks for, checked as a server checks a request (its limits, its messages)."""
        try:
            self.limits.check_photo_bytes(len(data))
        except OptionError as error:
            raise Refusal(413 if data else 400, str(error)) from None
        if len(start_svg) > MAX_START_SVG_BYTES:
            raise Refusal(413, f"the SVG to refine is more than {MAX_START_SVG_BYTES} bytes")
        try:
            start = svg_to_start_strokes(start_svg, locked=fields.get("lock_start") in ("on", "true", "1")) \
                if start_svg else None
            options = form_options(fields, start)
            image = load_photo_within(data, self.limits)
            options.check_photo(image.size)
        except (OptionError, PhotoError) as error:
            raise Refusal(400, str(error)) from None
        except SvgError as error:
            raise Refusal(400, f"the SVG to refine: {error}") from None
        return WebJob(Photo(data, safe_name(filename), image.size), options)

    def found(self, request: Request) -> WebJob:
        job = self.dispatcher.get(request.path_params["job"])
        if job is None:
            raise Refusal(404, "no such job (a job is kept until many newer ones have ended)")
        return job

    async def job(self, request: Request) -> JSONResponse:
        return JSONResponse({"job": self.found(request).summary()})

    async def events(self, request: Request) -> StreamingResponse:
        job = self.found(request)
        last = request.headers.get("last-event-id", "")
        start = int(last) + 1 if last.isdigit() else 0

        async def stream():
            async for item in job.follow(start):
                if item is None:
                    yield ": still here\n\n"
                else:
                    index, event = item
                    yield f"id: {index}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def many_events(self, request: Request) -> StreamingResponse:
        following = []
        for part in request.query_params.get("jobs", "").split(","):
            job_id, _, start = part.partition(".")
            job = self.dispatcher.get(job_id)
            if job is not None:
                following.append((job, int(start) if start.isdigit() else 0))
        if not following:
            raise Refusal(404, "none of these jobs is known here (a job is kept until many newer ones have ended)")

        async def stream():
            async for item in follow_all(following):
                if item is None:
                    yield ": still here\n\n"
                else:
                    job_id, index, event = item
                    yield f"data: {json.dumps({'job': job_id, 'index': index, **event}, separators=(',', ':'))}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def finish(self, request: Request) -> JSONResponse:
        self.dispatcher.finish(self.found(request))
        return JSONResponse({"ok": True})

    async def cancel(self, request: Request) -> JSONResponse:
        self.dispatcher.cancel(self.found(request))
        return JSONResponse({"ok": True})

    async def file(self, request: Request) -> Response:
        job, name = self.found(request), request.path_params["name"]
        if name not in job.files:
            raise Refusal(404, f"no file {name!r} for this job (yet)")
        kind = "image/png" if name.endswith(".png") else "image/svg+xml"
        return Response(job.files[name], media_type=kind, headers=_attachment(name))

    async def zip_one(self, request: Request) -> Response:
        job = self.found(request)
        if not job.files:
            raise Refusal(409, "this job has no files yet")
        return Response(zip_jobs([job]), media_type="application/zip", headers=_attachment(f"{job.photo.name}.zip"))

    async def zip_many(self, request: Request) -> Response:
        ids = [part for part in request.query_params.get("jobs", "").split(",") if part]
        jobs = [job for job in map(self.dispatcher.get, ids) if job is not None and job.files]
        if not jobs:
            raise Refusal(404, "none of these jobs has files")
        data = await run_in_threadpool(zip_jobs, jobs)
        return Response(data, media_type="application/zip", headers=_attachment("clipsketch-sketches.zip"))


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
