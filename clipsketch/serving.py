"""``clipsketch serve`` (the gRPC server in the foreground), ``clipsketch service`` (the same server as a per-user
service: systemd, launchd, Task Scheduler) and ``clipsketch health`` (a probe of a running server, as the image's
HEALTHCHECK asks it): their flags, declared once, and what they run."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from clipsketch.core.options import BACKBONES, DEVICES, LOSS_MODEL, PRECISIONS, SALIENCY_MODEL

DEFAULT_DRAIN_SECONDS = 30.0
"""How long ``serve`` lets running jobs finish after SIGTERM or Ctrl-C (Kubernetes' default grace is 30 s)."""

PATH_FLAGS = ("clip_weights", "token_file", "tls_cert", "tls_key")
"""Flags naming files: a service gets them as absolute paths."""


def add_parsers(commands) -> None:
    serve = commands.add_parser("serve", help="run the gRPC sketching server")
    _add_serve_arguments(serve)
    serve.add_argument("--preload", action="store_true", help="load the models before listening")
    serve.set_defaults(run=run_serve)

    service = commands.add_parser("service", help="the server as a per-user service (systemd, launchd, Task "
                                                  "Scheduler)")
    service.add_argument("action", choices=["install", "uninstall", "status", "print"])
    service.add_argument("--system", default=None, choices=["Linux", "Darwin", "Windows"],
                         help="print: the definition for that system instead of this one")
    _add_serve_arguments(service)
    service.set_defaults(run=run_service, serve_flags=_flags(service, exclude={"action", "system"}))

    health = commands.add_parser("health", help="ask a server's health service (no token needed): exit 0 when "
                                                "it serves")
    health.add_argument("address", nargs="?", default="127.0.0.1:50051", help="host:port (default 127.0.0.1:50051)")
    health.add_argument("--live", action="store_true",
                        help="ask whether the process serves at all (liveness), not whether it takes jobs now")
    health.add_argument("--tls-ca", default=None, help="PEM CA certificate, for a server with TLS")
    health.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the answer (default 5)")
    health.set_defaults(run=run_health)


def _add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", default="127.0.0.1:50051", help="host:port (default loopback, port 50051)")
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--max-queue", type=int, default=16, help="jobs that may wait (more are refused)")
    parser.add_argument("--workers", type=int, default=1,
                        help="groups of jobs run side by side, each with its own threads (default one per device)")
    parser.add_argument("--max-batch", type=int, default=0,
                        help="jobs a worker runs at once, sharing each optimisation step (default: on a CPU from "
                             "its free memory, at most 2; on a GPU 1, until the batched step has been measured "
                             "there)")
    parser.add_argument("--backbone", default="auto", choices=BACKBONES)
    parser.add_argument("--precision", default="auto", choices=PRECISIONS)
    parser.add_argument("--clip-weights", default=None, help="local CLIP RN101 checkpoint (file or directory)")
    parser.add_argument("--token", default=None, help="require this token (needed off loopback)")
    parser.add_argument("--token-file", default=None, help="require the token in this file")
    parser.add_argument("--tls-cert", default=None, help="PEM certificate for TLS")
    parser.add_argument("--tls-key", default=None, help="PEM private key for TLS")
    parser.add_argument("--web", default=None, metavar="HOST:PORT",
                        help="also serve the sketching page here (its jobs join this server's queue); off "
                             "loopback it asks for the token")
    parser.add_argument("--drain-seconds", type=float, default=DEFAULT_DRAIN_SECONDS,
                        help="on SIGTERM or Ctrl-C, let running jobs finish this long before stopping them; a "
                             f"second signal stops them at once (default {DEFAULT_DRAIN_SECONDS:g})")
    # For tests and benchmarks: model architectures with random weights, and extra model config folders.
    parser.add_argument("--weights", default="openai", help=argparse.SUPPRESS)
    parser.add_argument("--loss-model", default=LOSS_MODEL, help=argparse.SUPPRESS)
    parser.add_argument("--saliency-model", default=SALIENCY_MODEL, help=argparse.SUPPRESS)
    parser.add_argument("--model-config-dir", default=None, help=argparse.SUPPRESS)


def _flags(parser: argparse.ArgumentParser, exclude: set[str]) -> list[tuple[str, str]]:
    """``(dest, flag)`` of the parser's documented options (not help, not ``exclude``)."""
    return [(action.dest, action.option_strings[-1]) for action in parser._actions
            if action.option_strings and action.help != argparse.SUPPRESS and action.dest not in exclude
            and not isinstance(action, argparse._HelpAction)]


def run_health(args: argparse.Namespace) -> int:
    """Print the health status of ``args.address``'s readiness (or ``--live``: liveness) service; 0 when SERVING,
    1 otherwise (not serving, unreachable, no answer in time)."""
    import grpc
    from grpc_health.v1 import health_pb2

    from clipsketch.client import SketchClient
    from clipsketch.server.probes import LIVENESS, READINESS

    service = LIVENESS if args.live else READINESS
    with SketchClient(args.address, tls_ca=args.tls_ca) as client:
        try:
            answer = client.health.Check(health_pb2.HealthCheckRequest(service=service), timeout=args.timeout)
        except grpc.RpcError as error:
            print(f"{args.address}: no answer ({error.code().name}: {error.details()})")
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    print(f"{args.address} {'liveness' if args.live else 'readiness'}: {status}")
    return 0 if answer.status == health_pb2.HealthCheckResponse.SERVING else 1


def run_serve(args: argparse.Namespace) -> int:
    import signal
    import sys

    # Until serve() installs its drain (after seconds of imports), SIGTERM ends the process: as a container's PID 1
    # without a handler it would be ignored, and a stop would wait for its timeout.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.model_config_dir:
        import open_clip

        open_clip.add_model_config(args.model_config_dir)
    from clipsketch.server.app import serve

    return serve(args)


def run_service(args: argparse.Namespace) -> int:
    from clipsketch.arguments import read_token
    from clipsketch.server import service

    if args.token:
        raise ValueError("a token on the unit's command line would be readable by every user: use --token-file")
    forwarded = []
    for dest, flag in args.serve_flags:  # every serve flag given or defaulted, so the unit says what it runs
        value = getattr(args, dest)
        if value is not None:
            forwarded += [flag, str(Path(value).resolve()) if dest in PATH_FLAGS else f"{value:g}"
                          if isinstance(value, float) else str(value)]
    if args.action in ("print", "install"):  # refuse what `serve` would refuse, before writing a unit
        from clipsketch.server.app import check_security

        check_security(args.listen, read_token(args), args.tls_cert, args.tls_key)
    if args.action == "print":
        print(service.definition(forwarded, args.system), end="")
    elif args.action == "install":
        print(service.install(forwarded, shlex.join(["clipsketch", "serve", *forwarded])))
    elif args.action == "uninstall":
        print(service.uninstall())
    else:
        print(service.status())
    return 0
