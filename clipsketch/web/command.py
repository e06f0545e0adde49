"""``clipsketch web`` (the page in front of the engine in process or of servers) and the page inside ``clipsketch
serve --web``: the backends, the listening socket, uvicorn in the foreground or in a thread."""

from __future__ import annotations

import argparse
import errno
import socket
import sys
import threading
import webbrowser
from dataclasses import dataclass

from clipsketch.addresses import is_loopback, join_address, split_address

DEFAULT_LISTEN = "127.0.0.1:8150"
"""Where ``clipsketch web`` listens unless told (a free port instead when this one is taken)."""


def add_parser(commands) -> None:
    from clipsketch.arguments import add_engine_options, add_server_options

    web = commands.add_parser(
        "web", help="the web page: sketch in any browser, in process or on servers",
        description="Serve the sketching page and open it in the browser. Sketches run in this process (one at a "
                    "time; others wait in the page) or on the servers given. Ctrl-C stops.")
    web.add_argument("--listen", default=None, metavar="HOST:PORT",
                     help=f"where the page listens (default {DEFAULT_LISTEN}, or a free port if that one is taken; "
                          "port 0 picks one). Off loopback the page asks for the token (--token or --token-file)")
    web.add_argument("--no-browser", action="store_true", help="do not open the page in a browser")
    add_engine_options(web)
    add_server_options(web, "host:port of a server, or dns:///NAME:PORT for every address of a name; repeat for "
                            "several: each takes as many jobs at once as it has workers, the first free one the next")
    web.set_defaults(run=run_web)


@dataclass
class Listener:
    """A bound socket and the page's address on it."""

    sock: socket.socket
    url: str
    loopback: bool
    port: int


def bind(listen: str, fallback: bool = False, tls: bool = False) -> Listener:
    """A socket listening on ``listen`` (``host:port``; port 0: a free one). ``fallback``: take a free port when
    that one is in use."""
    host, port = split_address(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        if not (fallback and error.errno == errno.EADDRINUSE):
            sock.close()
            raise OSError(f"cannot listen on {listen}: {error.strerror} (another page or program on that port? "
                          "--listen 127.0.0.1:0 picks a free one)") from None
        sock.bind((host, 0))
    sock.listen(128)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    scheme = "https" if tls else "http"
    return Listener(sock, f"{scheme}://{join_address(shown.strip('[]'), port)}/", is_loopback(listen), port)


def uvicorn_server(app, tls_cert: str | None = None, tls_key: str | None = None):
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2, ssl_certfile=tls_cert, ssl_keyfile=tls_key)
    return uvicorn.Server(config)


def page_app(dispatcher, listener: Listener, token: str | None, label: str, secure: bool = False):
    """The page's app for ``listener``: on loopback, only loopback Host names and no token; elsewhere the token."""
    from clipsketch.web.app import create_app, loopback_hosts

    if listener.loopback:
        return create_app(dispatcher, None, loopback_hosts(listener.port), label=label, secure=secure)
    return create_app(dispatcher, token, None, label=label, secure=secure)


def run_web(args: argparse.Namespace) -> int:
    from clipsketch.arguments import read_token
    from clipsketch.server.app import check_security
    from clipsketch.web.jobs import Dispatcher

    token = read_token(args)
    listen = args.listen or DEFAULT_LISTEN
    check_security(listen, token, None, None)  # off loopback the page needs the token
    backends, label = _backends(args, token)
    dispatcher = Dispatcher(backends)
    listener = bind(listen, fallback=args.listen is None)
    server = uvicorn_server(page_app(dispatcher, listener, token, label))
    print(f"clipsketch web: {listener.url} (sketching {label}; Ctrl-C stops)", flush=True)
    if not args.no_browser:
        threading.Timer(0.5, webbrowser.open, (listener.url,)).start()
    try:
        server.run(sockets=[listener.sock])
    finally:
        dispatcher.close()
    return 0


def _backends(args: argparse.Namespace, token: str | None) -> tuple[list, str]:
    """``[(backend, slots)]`` the flags name and how the page says where sketches run."""
    from clipsketch.web.jobs import PREVIEW_EVERY

    if not args.server:
        from clipsketch.arguments import local_backend

        print("clipsketch web: loading the models…", file=sys.stderr, flush=True)
        local = local_backend(args)
        local.preview_every = PREVIEW_EVERY
        for note in local.engine.notes:
            print(f"note: {note}", file=sys.stderr)
        return [(local, 1)], "in this process"
    from clipsketch.batch import fleet
    from clipsketch.session import OnServer, Retry

    targets = fleet.resolve(args.server)
    if not targets:
        raise ValueError(f"no server found at {' '.join(args.server)} (the names do not resolve)")
    backends = []
    for target in targets:
        backend = OnServer(target.address, token, args.tls_ca, target.name, target.label, preview_every=PREVIEW_EVERY)
        try:
            slots = backend.probe()
        except Retry as error:
            print(f"clipsketch web: {target.label}: {error}; jobs go there once it is ready", file=sys.stderr)
            slots = 1
        backends.append((backend, slots))
    return backends, f"on {' '.join(target.label for target in targets)}"


class PageThread:
    """The page served from a thread of this process (``serve --web``, tests): ``backends`` as ``[(backend,
    slots)]``, ``label`` where sketches run; the other arguments as :func:`page_app` and :func:`bind` take them."""

    def __init__(self, listen: str, backends, token: str | None, label: str, max_waiting: int = 64,
                 tls_cert: str | None = None, tls_key: str | None = None):
        from clipsketch.web.jobs import Dispatcher

        self.listener = bind(listen, tls=bool(tls_cert))
        self.dispatcher = Dispatcher(backends, max_waiting=max_waiting)
        app = page_app(self.dispatcher, self.listener, token, label, secure=bool(tls_cert))
        self.server = uvicorn_server(app, tls_cert, tls_key)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.listener.sock]},
                                       daemon=True, name="web")

    @property
    def url(self) -> str:
        return self.listener.url

    def start(self) -> PageThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.dispatcher.close()
        self.server.should_exit = True
        self.thread.join(5)
