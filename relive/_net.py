"""Which addresses are this machine only: shared by the emulator's and the web backend's guards."""

from __future__ import annotations

import ipaddress
import re

# `name`, `name:port`, `[v6]`, `[v6]:port`: nothing else is a Host header.
_HOST = re.compile(
    r"(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<name>[A-Za-z0-9.-]+))(?::(?P<port>\d{1,5}))?"
)


def parse_host(value: str | None) -> tuple[str, int | None] | None:
    """(lower-case host name, port or None) of a `Host` header, or None if it is malformed."""
    match = _HOST.fullmatch(value or "")
    if match is None:
        return None
    name = (match.group("v6") or match.group("name")).lower()
    port = match.group("port")
    return name, int(port) if port else None


def is_loopback(host: str | None) -> bool:
    """Whether `host` (an address or `localhost`, brackets allowed) is this machine only."""
    if not host:
        return False
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
