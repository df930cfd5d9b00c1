"""Outbound allowlist and hook URL validation."""

from __future__ import annotations

import pytest

from dqm.alerts.allowlist import parse_allowlist, validate_hook_url
from dqm.monitors.errors import InvalidInputError

DEFAULT = parse_allowlist(None)


@pytest.mark.parametrize(
    "ip",
    ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
)
def test_default_allows_public_addresses(ip: str) -> None:
    assert DEFAULT.allows("hooks.example.com", [ip])


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64
        "::7f00:1",  # IPv4-compatible loopback
        "::ffff:0:7f00:1",  # IPv4-translated loopback
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
        "fd00:ec2::254",  # AWS metadata over IPv6
        "100.100.100.200",  # Alibaba metadata
        "192.0.0.192",  # Oracle metadata (Python's is_global says True)
        "198.18.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "ff0e::1",  # global-scope multicast (is_global says True)
        "400::1",  # reserved IPv6 (is_global says True)
        "not-an-ip",
    ],
)
def test_default_refuses_internal_addresses(ip: str) -> None:
    assert not DEFAULT.allows("hooks.example.com", [ip])
    assert not DEFAULT.allows(f"[{ip}]" if ":" in ip else ip, [])  # as a literal host


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("2130706433", "127.0.0.1 is a loopback address"),
        ("0x7f000001", "127.0.0.1 is a loopback address"),
        ("0177.0.0.1", "127.0.0.1 is a loopback address"),
        ("127.1", "127.0.0.1 is a loopback address"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1 is a loopback address"),
        ("0.0.0.0", "0.0.0.0 is an unspecified address"),
        ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
        ("10.0.0.1", "10.0.0.1 is a private address"),
        ("100.64.1.1", "100.64.1.1 is a shared (100.64.0.0/10) address"),
        ("[fd00:ec2::254]", "fd00:ec2::254 is a cloud metadata address"),
        ("[fe80::1]", "fe80::1 is a link-local address"),
        ("224.0.0.1", "224.0.0.1 is a multicast address"),
    ],
)
def test_literal_hosts_in_every_spelling_are_refused_with_the_reason(
    host: str, reason: str
) -> None:
    assert DEFAULT.refusal(host, []) == reason


def test_metadata_needs_a_network_entry() -> None:
    metadata = ["169.254.169.254"]
    assert not parse_allowlist("*").allows("x", metadata)
    assert not parse_allowlist("metadata.internal").allows("metadata.internal", metadata)
    assert not parse_allowlist("10.0.0.0/8").allows("x", metadata)
    assert parse_allowlist("169.254.169.254").allows("x", metadata)
    assert parse_allowlist("169.254.0.0/16").allows("x", ["::ffff:169.254.169.254"])


def test_every_resolved_address_must_pass() -> None:
    assert not DEFAULT.allows("rebind.example", ["8.8.8.8", "10.0.0.1"])
    assert not DEFAULT.allows("nowhere.example", [])
    assert DEFAULT.allows("8.8.8.8", [])  # an IP literal is its own address
    assert DEFAULT.allows("[2606:4700:4700::1111]", [])
    assert not DEFAULT.allows("[::1]", [])
    assert parse_allowlist("") == parse_allowlist(" , ") == DEFAULT


def test_names_and_wildcards() -> None:
    allow = parse_allowlist("hooks.example.com, *.corp.example, receiver")
    internal = ["10.0.0.5"]
    assert allow.allows("hooks.example.com", internal)
    assert allow.allows("HOOKS.Example.COM.", internal)
    assert allow.allows("receiver", ["172.18.0.2"])
    assert allow.allows("a.corp.example", internal) and allow.allows("a.b.corp.example", internal)
    assert not allow.allows("corp.example", internal)  # a wildcard does not cover the apex
    assert not allow.allows("evilcorp.example", internal)
    assert not allow.allows("hooks.example.com.evil.example", internal)
    assert not allow.allows("other.example.com", ["8.8.8.8"])  # configured: public is not enough


def test_networks_v4_and_v6() -> None:
    allow = parse_allowlist("10.0.0.0/8, 192.168.1.7, fd00::/8, ::1")
    assert allow.allows("svc", ["10.200.3.4"])
    assert allow.allows("svc", ["10.0.0.1", "fd12::5"])
    assert allow.allows("svc", ["192.168.1.7"]) and not allow.allows("svc", ["192.168.1.8"])
    assert allow.allows("[::1]", []) and allow.allows("svc", ["::ffff:10.1.1.1"])
    assert not allow.allows("svc", ["10.0.0.1", "11.0.0.1"])  # every address must match
    assert not allow.allows("svc", ["fe80::1"])
    assert not allow.allows("svc", ["127.0.0.1"])


def test_star_allows_everything() -> None:
    allow = parse_allowlist("*")
    assert allow.allows("localhost", ["127.0.0.1"]) and allow.allows("x", ["10.0.0.1", "::1"])
    assert not allow.allows("x", [])  # a name without an address cannot be reached


@pytest.mark.parametrize("text", ["10.0.0.0/33", "bad host", "*.", "a..b", "-x.example", "::g"])
def test_unreadable_entries_are_named(text: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_allowlist(f"ok.example, {text}")
    assert info.value.details == [{"field": "webhook_allowlist", "value": text}]


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/dqm",
        "http://127.0.0.1:9000/hook?x=1",
        "http://[::1]:8080/",
        "HTTPS://Example.com",
    ],
)
def test_valid_hook_urls(url: str) -> None:
    validate_hook_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "example.com/hook",
        "https://",
        "http:///path",
        "http://example.com:99999/",
        "http://example.com:0/",
        "http://exa mple.com/",
        "http://example.com/\nHost: evil",
        "",
    ],
)
def test_invalid_hook_urls(url: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_hook_url(url)
    assert info.value.details[0]["field"] == "url"
