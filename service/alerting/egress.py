"""Outbound HTTP for webhooks that connects only to addresses the allowlist has checked.

Each new connection resolves the host once, checks every address it got, and opens the socket to
one of those very addresses: a name that a rebinding DNS server answers differently on a second
lookup gets no second lookup. The URL keeps its host name, so the ``Host`` header, TLS SNI and
certificate verification are those of the name. No proxy from the environment is used (it would
make the proxy, not the receiver, the checked destination).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterable

import httpcore
import httpx

from dqm.alerts.allowlist import Allowlist

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)
Resolver = Callable[[str, int], list[str]]


class DestinationRefused(Exception):
    """The host resolved to an address the allowlist refuses; no connection was made."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for TCP, in resolver order, without repeats."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class CheckedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to checked addresses of the host."""

    def __init__(self, allowlist: Allowlist, resolver: Resolver = resolve) -> None:
        self.allowlist = allowlist
        self.resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self.resolver(host.strip("[]"), port)
        reason = self.allowlist.refusal(host, addresses)
        if reason is not None:
            raise DestinationRefused(f"{host!r} refused: {reason}")
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # refusal() refuses an empty address list
        raise failure


class CheckedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connection pool connects through :class:`CheckedBackend`."""

    def __init__(
        self,
        allowlist: Allowlist,
        resolver: Resolver = resolve,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(trust_env=False)
        # httpx builds its pool without a way to pass a network backend; replace it with the
        # same pool (default limits, verified TLS) on the checked backend.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedBackend(allowlist, resolver),
        )


def checked_client(
    allowlist: Allowlist,
    timeout: float,
    resolver: Resolver = resolve,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.Client:
    """An httpx client that never follows redirects and connects only to allowed addresses.

    Parameters
    ----------
    allowlist
        The destinations allowed (see :mod:`dqm.alerts.allowlist`).
    timeout
        Seconds for each of connect, write, read and pool acquisition.
    resolver
        Host name and port to addresses; called once per new connection.
    ssl_context
        Certificates trusted for https (default: the system's, checked against the host name).
    """
    return httpx.Client(
        transport=CheckedTransport(allowlist, resolver, ssl_context),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
