"""Where a webhook may be sent: public addresses only, unless an allow-list names the host or its network.

A webhook URL is checked when it is subscribed and again before every delivery, against the addresses its host
resolves to *then* (DNS can change in between: rebinding). Every resolved address must be public: loopback,
private, link-local (169.254.169.254, the cloud metadata service), multicast, reserved, unspecified (0.0.0.0),
shared (100.64/10) addresses and their IPv4-mapped / NAT64 / 6to4 IPv6 forms are refused. Numeric hosts are read the
way the system resolver reads them (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1`` are all 127.0.0.1). The
delivery then connects to the address that was checked (:attr:`Target.address`), never to a second lookup.

``QA_ENGINE_WEBHOOK_ALLOW_HOSTS`` (comma-separated host names and networks, e.g. ``hooks.corp.local, 10.20.0.0/16``)
lets an on-premises receiver through: a named host may resolve to anything, an address inside a named network passes.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Not flagged by every Python's ``is_private``/``is_reserved``, yet never a public receiver.
EXTRA_BLOCKED = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "255.255.255.255/32",
    "64:ff9b:1::/48", "fc00::/7", "fe80::/10", "fec0::/10"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeTarget(ValueError):
    """The webhook URL's host is (or resolves to) an address webhooks may not reach; the message says which."""


@dataclass(frozen=True)
class AllowList:
    """Host names and networks webhooks may reach although internal (``QA_ENGINE_WEBHOOK_ALLOW_HOSTS``)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """Read ``"name, 10.0.0.0/8, 127.0.0.1"``; a bad network is an error naming it."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                if "/" in item:
                    raise ValueError(f"QA_ENGINE_WEBHOOK_ALLOW_HOSTS: {item!r} is not a network") from None
                hosts.add(_host_key(item))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return _host_key(host) in self.hosts

    def allows(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self.networks)


@dataclass(frozen=True)
class Target:
    """A checked webhook destination: connect to ``address`` (the host's name stays in Host and TLS SNI)."""

    scheme: str
    host: str
    port: int
    address: IPAddress

    def pinned_url(self, url: str) -> str:
        """``url`` with its host replaced by the checked address (path and query kept)."""
        parts = urlsplit(url)
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return parts._replace(netloc=f"{literal}:{self.port}").geturl()

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def _host_key(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def numeric_host(host: str) -> IPAddress | None:
    """The address a numeric host stands for, read as ``inet_aton`` does (1 to 4 parts, decimal/octal/hex), or None."""
    name = host.strip("[]")
    try:
        return ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        pass
    parts = name.rstrip(".").split(".") if name else []
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                values.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                values.append(int(part, 10) if part.isdigit() else -1)
        except ValueError:
            return None
    if any(v < 0 for v in values):
        return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (4 - len(head)) + last
    return ipaddress.IPv4Address(number)


def blocked_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public one (None when it is); IPv4 embedded in IPv6 is judged as IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64 else None)
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None:
            reason = blocked_reason(embedded)
            return f"{reason} (as {address})" if reason else None
    for label, flagged in (("loopback", address.is_loopback), ("link-local", address.is_link_local),
                           ("multicast", address.is_multicast), ("unspecified", address.is_unspecified),
                           ("private", address.is_private), ("reserved", address.is_reserved)):
        if flagged:
            return f"{address} is a {label} address"
    if any(address.version == n.version and address in n for n in EXTRA_BLOCKED):
        return f"{address} is not a public address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to now (numeric hosts without a lookup)."""
    numeric = numeric_host(host)
    if numeric is not None:
        return [numeric]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise UnsafeTarget(f"cannot resolve the webhook host {host!r}: {exc}") from None
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    if not found:
        raise UnsafeTarget(f"the webhook host {host!r} resolves to no address")
    return found


def check_url(url: str, allow: AllowList) -> Target:
    """Resolve ``url``'s host and check every address; the target to connect to.

    Raises:
        UnsafeTarget: not http(s), no host, unresolvable, or an address that is not public and not allowed.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("only http and https URLs with a host are accepted")
    host = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(host, port)
    if not allow.allows_host(host):
        for address in addresses:
            reason = blocked_reason(address)
            if reason is not None and not allow.allows(address):
                raise UnsafeTarget(f"webhook host {host!r} is refused: {reason}; webhooks reach only public "
                                   "addresses unless QA_ENGINE_WEBHOOK_ALLOW_HOSTS names the host or its network")
    return Target(parts.scheme, host, port, addresses[0])


__all__ = ["AllowList", "Target", "UnsafeTarget", "blocked_reason", "check_url", "numeric_host", "resolve"]
