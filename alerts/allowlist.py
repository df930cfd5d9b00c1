"""Where webhooks may go: URL validation and the outbound allowlist (issue #5).

dqm sends HTTP requests to URLs its users register, so without care a hook could reach the
service's own network (cloud metadata at 169.254.169.254, databases on 10.0.0.0/8, ...). The
relay resolves a hook's host, asks :meth:`Allowlist.allows`, and connects to the checked
addresses only.

- No allowlist configured (``DQM_WEBHOOK_ALLOWLIST`` unset or empty): only globally routable
  addresses are allowed — loopback, private, link-local, shared, reserved and multicast
  addresses are refused.
- An allowlist: a comma-separated list of host names (``hooks.example.com``), wildcards
  (``*.example.com``: any subdomain, not the apex), networks (``10.1.0.0/16``,
  ``fd00::/8``) and addresses (``127.0.0.1``); ``*`` alone allows everything. A destination is
  allowed if its host name matches a name entry, or if every address it resolves to lies in a
  network entry. Nothing else is allowed, public or not.

>>> parse_allowlist(None).allows("example.com", ["93.184.215.14"])
True
>>> parse_allowlist(None).allows("metadata", ["169.254.169.254"])
False
>>> parse_allowlist("*.corp.example, 10.0.0.0/8").allows("hooks.corp.example", ["172.16.0.9"])
True
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit

from dqm.monitors.errors import InvalidInputError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# NAT64 (RFC 6052) embeds an IPv4 address; judge that address, not the wrapper.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _address(text: str) -> IPAddress | None:
    """An IP address from text (brackets and IPv4-mapped IPv6 unwrapped), or None."""
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _host_name(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class Allowlist:
    """Parsed allowlist; ``configured=False`` is the default public-addresses-only policy."""

    configured: bool = False
    allow_all: bool = False
    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()

    def allows(self, host: str, resolved_ips: Sequence[str]) -> bool:
        """Whether a request to ``host``, resolved to ``resolved_ips``, may be sent.

        An IP-literal ``host`` is its own address when ``resolved_ips`` is empty; a name that
        resolved to nothing, or to anything that is not an IP address, is refused.
        """
        if self.allow_all:
            return True
        name = _host_name(host)
        if self.configured and self._name_allowed(name):
            return True
        texts = list(resolved_ips) or ([name] if _address(name) is not None else [])
        addresses = [_address(t) for t in texts]
        if not addresses or any(a is None for a in addresses):
            return False
        if not self.configured:
            return all(a is not None and a.is_global and not a.is_multicast for a in addresses)
        return all(
            a is not None and any(a.version == n.version and a in n for n in self.networks)
            for a in addresses
        )

    def _name_allowed(self, name: str) -> bool:
        return name in self.names or any(name.endswith(s) for s in self.suffixes)


def parse_allowlist(text: str | None) -> Allowlist:
    """Parse ``DQM_WEBHOOK_ALLOWLIST``; raise InvalidInputError naming any unreadable entry.

    >>> parse_allowlist("hooks.example.com, *.corp.example, 10.0.0.0/8, ::1").networks
    (IPv4Network('10.0.0.0/8'), IPv6Network('::1/128'))
    """
    entries = [e.strip() for e in (text or "").split(",") if e.strip()]
    if not entries:
        return Allowlist()
    names: set[str] = set()
    suffixes: list[str] = []
    networks: list[IPNetwork] = []
    bad: list[str] = []
    for entry in entries:
        if entry == "*":
            return Allowlist(configured=True, allow_all=True)
        if "/" in entry or _address(entry) is not None:
            try:
                address = _address(entry)
                net = ipaddress.ip_network(address if address else entry, strict=False)
            except ValueError:
                bad.append(entry)
                continue
            networks.append(net)
        elif entry.startswith("*.") and _valid_name(entry[2:]):
            suffixes.append("." + _host_name(entry[2:]))
        elif _valid_name(entry):
            names.add(_host_name(entry))
        else:
            bad.append(entry)
    if bad:
        raise InvalidInputError(
            f"unreadable webhook allowlist entries: {bad}",
            [{"field": "webhook_allowlist", "value": b} for b in bad],
        )
    return Allowlist(True, False, frozenset(names), tuple(suffixes), tuple(networks))


def _valid_name(name: str) -> bool:
    labels = _host_name(name).split(".")
    return all(
        0 < len(label) <= 63
        and label.replace("-", "").replace("_", "").isalnum()
        and label.isascii()
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )


def validate_hook_url(url: str) -> None:
    """Raise InvalidInputError unless ``url`` is an absolute http(s) URL with a host.

    >>> validate_hook_url("https://hooks.example.com/dqm")
    >>> validate_hook_url("ftp://example.com/x")
    Traceback (most recent call last):
    ...
    dqm.monitors.errors.InvalidInputError: hook url must use http or https, not 'ftp'
    """
    if any(c.isspace() or ord(c) < 32 for c in url):
        _bad_url("hook url must not contain whitespace or control characters", url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        _bad_url(f"hook url is malformed: {exc}", url)
    if parts.scheme.lower() not in ("http", "https"):
        _bad_url(f"hook url must use http or https, not {parts.scheme!r}", url)
    if not parts.hostname:
        _bad_url("hook url has no host", url)
    if port == 0:
        _bad_url("hook url has port 0", url)


def _bad_url(message: str, url: str) -> NoReturn:
    raise InvalidInputError(message, [{"field": "url", "value": url, "message": message}])
