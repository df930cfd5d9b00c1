"""IP addresses as a webhook destination: literal hosts in every spelling, and why one is internal.

A URL host can name an IPv4 address in forms browsers and ``getaddrinfo`` both accept
(``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``), and an IPv6 address can carry an
IPv4 one (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo). Each is judged by the IPv4
address it reaches.

>>> literal_address("0x7f000001"), literal_address("[::1]"), literal_address("hooks.example")
(IPv4Address('127.0.0.1'), IPv6Address('::1'), None)
>>> internal_kind(literal_address("::ffff:169.254.169.254"))
'cloud metadata'
>>> internal_kind(literal_address("8.8.8.8")) is None
True
"""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Instance-metadata endpoints of the major clouds (AWS, ECS, GCP, Azure, Alibaba, Oracle).
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.169.253",
        "169.254.169.123",
        "169.254.170.2",
        "100.100.100.200",
        "192.0.0.192",
        "fd00:ec2::254",
        "fd00:ec2::23",
        "fd00:ec2::123",
        "fd20:ce::254",
    )
)
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
# Special-purpose blocks Python's ``is_global`` lets through.
_NOT_ROUTABLE = (
    ipaddress.IPv4Network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # local-use NAT64
)
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


def _ipv4_part(part: str) -> int | None:
    if not _IPV4_PART.fullmatch(part):
        return None
    if part[:2] in ("0x", "0X"):
        return int(part[2:] or "0", 16)
    return int(part, 8) if part.startswith("0") else int(part)


def _ipv4_numbers(host: str) -> ipaddress.IPv4Address | None:
    """``host`` as an IPv4 address in any of the number forms of ``inet_aton``, or None."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    numbers = [_ipv4_part(p) for p in parts]
    if not 1 <= len(numbers) <= 4 or any(n is None for n in numbers):
        return None
    *leading, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in leading) or last >= 256 ** (4 - len(leading)):
        return None
    value = last + sum(n << 8 * (3 - i) for i, n in enumerate(leading))
    return ipaddress.IPv4Address(value)


def literal_address(host: str) -> IPAddress | None:
    """The IP address a URL host spells literally (brackets, scope ids allowed), or None."""
    text = host.strip().strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return _ipv4_numbers(text)


def reached_address(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo).

    >>> reached_address(ipaddress.ip_address("2002:a00:1::"))
    IPv4Address('10.0.0.1')
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _MAPPED or ip in _TRANSLATED or ip in _NAT64:
        return low32
    if ip in _COMPATIBLE and int(ip) > 1:
        return low32
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return ip


def internal_kind(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public destination (``"loopback"``, ...), or None when it is one."""
    ip = reached_address(ip)
    checks = (
        (ip in METADATA, "cloud metadata"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED, "shared (100.64.0.0/10)"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global or any(ip in n for n in _NOT_ROUTABLE), "non-routable"),
    )
    return next((kind for matched, kind in checks if matched), None)
