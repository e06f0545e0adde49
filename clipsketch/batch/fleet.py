"""Where a batch's jobs run: the servers its ``--server`` values name now.

A ``--server`` value is ``host:port`` (one server) or ``dns:///name:port``: every address the name resolves to is a
server of its own, and the name is resolved again as the batch runs (a Kubernetes headless Service lists its ready
pods this way). Each server is a :class:`~clipsketch.session.OnServer` backend.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass

from clipsketch.addresses import join_address, split_address


@dataclass(frozen=True)
class Target:
    """A server to connect to: ``address`` (``host:port``), ``name`` what to check its TLS certificate against
    (the DNS name it was found under), ``label`` how messages name it."""

    address: str
    name: str | None
    label: str


def resolve(servers: Sequence[str]) -> list[Target]:
    """The servers ``--server`` values name now (a ``dns:///`` name: one per address it resolves to; none when it
    does not resolve). Raises ValueError for a value that is not an address."""
    targets = []
    for server in servers:
        name = _dns_name(server)
        if name is None:
            split_address(server)  # ValueError (AddressError) names a malformed one
            targets.append(Target(server, None, server))
            continue
        host, port = split_address(name)
        try:
            found = sorted({info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})
        except OSError:
            found = []
        targets += [Target(join_address(ip, port), host, f"{join_address(ip, port)} ({host})") for ip in found]
    return targets


def _dns_name(server: str) -> str | None:
    """``name:port`` of a ``dns:///name:port`` or ``dns:name:port`` value, None for a plain address."""
    for prefix in ("dns:///", "dns:"):
        if server.startswith(prefix):
            return server[len(prefix):]
    return None
