"""Server addresses and tokens, one way for the server, the client, the CLI and the extension (standard library
only, so that any Python can use it: Inkscape's own too).

Addresses are ``host:port`` (``[::1]:50051`` for IPv6) or, for a client, a gRPC name such as
``dns:///name:port``. A token travels as ``authorization: Bearer TOKEN`` and is compared in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import socket
from collections.abc import Sequence
from pathlib import Path

TOKEN_HEADER = "authorization"
"""The metadata key (gRPC lower-cases keys) that carries the token."""


class AddressError(ValueError):
    """An address is not ``host:port``; the message quotes it."""


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` → ``(host, port)``, the host without IPv6 brackets; AddressError otherwise."""
    host, _, port = address.strip().rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise AddressError(f"the server address {address!r} is not host:port (e.g. 127.0.0.1:50051)")
    return host, int(port)


def join_address(host: str, port: int) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_loopback(address: str) -> bool:
    """Whether ``host:port`` names a loopback address (127.0.0.0/8, ::1, localhost); False for anything else,
    a malformed address included."""
    try:
        host, _ = split_address(address)
    except AddressError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def channel_target(servers: str | Sequence[str]) -> str:
    """A gRPC target for one address (``host:port`` or a gRPC name, as given) or several (each resolved, all
    joined into one ``ipv4:``/``ipv6:`` list for round robin)."""
    if isinstance(servers, str):
        servers = [servers]
    if len(servers) == 1:
        return servers[0]
    addresses = []
    for server in servers:
        host, port = split_address(server)
        try:
            ipaddress.ip_address(host)
            found = [host]
        except ValueError:
            found = sorted({info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})
        addresses += [join_address(ip, port) for ip in found]
    scheme = "ipv6" if all(a.startswith("[") for a in addresses) else "ipv4"
    if scheme == "ipv4" and any(a.startswith("[") for a in addresses):
        raise AddressError("mix of IPv4 and IPv6 servers; give them all in one family")
    return f"{scheme}:{','.join(addresses)}"


class TokenFileError(OSError):
    """The token file cannot be read: ``str()`` says which file, why and how to fix it; ``errno``, ``strerror``
    and ``filename`` are the original error's."""

    def __init__(self, error: OSError, explanation: str):
        super().__init__(error.errno, error.strerror, error.filename)
        self.explanation = explanation

    def __str__(self) -> str:
        return self.explanation


def read_token_file(path: str | Path, for_server: bool = False) -> str:
    """The token in the file ``path`` (surrounding white space dropped); ValueError when it is empty,
    :class:`TokenFileError` when it is missing or unreadable. A server's message (``for_server``) also says how
    to give a container's user access."""
    file = Path(path).expanduser()
    try:
        token = file.read_text(encoding="utf-8").strip()
    except FileNotFoundError as error:
        raise TokenFileError(error, f"the token file {file} does not exist") from None
    except PermissionError as error:
        raise TokenFileError(error, _permission_denied(file, for_server)) from None
    if not token:
        raise ValueError(f"token file {path} is empty")
    return token


def running_user() -> str | None:
    """``uid N (gid M)``: the user this process runs as; None where the system has no user ids (Windows)."""
    return f"uid {os.getuid()} (gid {os.getgid()})" if hasattr(os, "getuid") else None


def _permission_denied(file: Path, for_server: bool) -> str:
    """Why this process cannot read ``file`` (the user it runs as) and the one-line fix: for a client, to own it;
    for a server (``for_server``), group access, so that the operator keeps owning it, also on the host's side of
    a container's bind mount."""
    user = running_user()
    if user is None:
        return f"cannot read the token file {file}: permission denied; make it readable by the user this runs as"
    uid, gid = os.getuid(), os.getgid()
    blocked = file if os.access(file.parent, os.X_OK) else file.parent
    what = "it readable by" if blocked == file else f"its folder {blocked} accessible to"
    if for_server:
        mode = "g+r" if blocked == file else "g+rx"
        fix = (f"make {what} that user, e.g. `sudo chgrp {gid} {blocked} && sudo chmod {mode} {blocked}` (in a "
               f"container: the host's {'file' if blocked == file else 'folder'} mounted there), or in Kubernetes "
               f"fsGroup: {gid}")
    else:
        fix = f"make {what} that user, e.g. `sudo chown {uid} {blocked}`"
    return f"cannot read the token file {file}: permission denied for {user}; {fix}"


def token_metadata(token: str | None) -> list[tuple[str, str]]:
    """The call metadata that presents ``token`` (none without one)."""
    return [(TOKEN_HEADER, f"Bearer {token}")] if token else []


def presents_token(metadata: Sequence[tuple[str, str | bytes]] | None, token: str) -> bool:
    """Whether call ``metadata`` presents ``token``, compared in constant time."""
    expected = f"Bearer {token}".encode()
    given = dict(metadata or ()).get(TOKEN_HEADER, "")
    return hmac.compare_digest(given.encode() if isinstance(given, str) else given, expected)
