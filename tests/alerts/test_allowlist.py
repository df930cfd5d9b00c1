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
        "not-an-ip",
    ],
)
def test_default_refuses_internal_addresses(ip: str) -> None:
    assert not DEFAULT.allows("hooks.example.com", [ip])


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
    assert allow.allows("localhost", ["127.0.0.1"]) and allow.allows("x", [])


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
