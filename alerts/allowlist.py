"""Where webhooks may go: URL validation and the outbound allowlist.

dqm sends HTTP requests to URLs its users register, so without care a hook could reach the
service's own network (cloud metadata at 169.254.169.254, databases on 10.0.0.0/8, ...). The
relay resolves a hook's host once, asks :meth:`Allowlist.refusal` about every address, and
connects to the checked addresses only.

- No allowlist configured (``DQM_WEBHOOK_ALLOWLIST`` unset or empty): only public (globally
  routable) addresses are allowed. Loopback, private, link-local, unspecified, multicast,
  reserved, shared (100.64.0.0/10) and cloud metadata addresses are refused, in every
  spelling (``2130706433``, ``::ffff:127.0.0.1``, NAT64, 6to4, ...).
- An allowlist: a comma-separated list of host names (``hooks.example.com``), wildcards
  (``*.example.com``: any subdomain, not the apex), networks (``10.1.0.0/16``,
  ``fd00::/8``) and addresses (``127.0.0.1``); ``*`` alone allows everything. A destination is
  allowed if its host name matches a name entry, or if every address it resolves to lies in a
  network entry. Nothing else is allowed, public or not.
- Cloud metadata addresses are reached only through a network entry that contains them: a
  name entry or ``*`` does not open them (a name can be made to resolve anywhere).

>>> parse_allowlist(None).allows("example.com", ["93.184.215.14"])
True
>>> parse_allowlist(None).refusal("metadata", ["169.254.169.254"])
'169.254.169.254 is a cloud metadata address'
>>> parse_allowlist("*.corp.example, 10.0.0.0/8").allows("hooks.corp.example", ["172.16.0.9"])
True
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit

from dqm.alerts.addresses import (
    METADATA,
    IPAddress,
    internal_kind,
    literal_address,
    reached_address,
)
from dqm.monitors.errors import InvalidInputError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


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
        """Whether a request to ``host``, resolved to ``resolved_ips``, may be sent."""
        return self.refusal(host, resolved_ips) is None

    def refusal(self, host: str, resolved_ips: Sequence[str]) -> str | None:
        """Why a request to ``host``, resolved to ``resolved_ips``, may not be sent, or None.

        An IP-literal ``host`` is its own address when ``resolved_ips`` is empty; a name that
        resolved to nothing, or to anything that is not an IP address, is refused.
        """
        name = _host_name(host)
        literal = literal_address(name)
        texts = list(resolved_ips) or ([str(literal)] if literal is not None else [])
        if not texts:
            return f"{name!r} resolves to no address"
        for text in texts:
            ip = literal_address(text)
            if ip is None:
                return f"{name!r} resolves to {text!r}, which is not an IP address"
            reason = self._address_refusal(name, ip)
            if reason is not None:
                return reason
        return None

    def _address_refusal(self, name: str, ip: IPAddress) -> str | None:
        reached = reached_address(ip)
        listed = any(
            a.version == n.version and a in n for a in {ip, reached} for n in self.networks
        )
        if listed:
            return None
        if reached in METADATA:
            return f"{ip} is a cloud metadata address"
        if self.allow_all or (self.configured and self._name_allowed(name)):
            return None
        if self.configured:
            return f"{ip} is not in DQM_WEBHOOK_ALLOWLIST"
        kind = internal_kind(ip)
        if kind is None:
            return None
        return f"{ip} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} address"

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
        if "/" in entry or literal_address(entry) is not None:
            try:
                address = literal_address(entry)
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
