"""Outbound HTTP to URLs an organisation chose: internal addresses refused, and only the checked address dialled.

A name is resolved once per connection, every address it gives is judged, and the socket goes to one of
those very addresses; TLS still verifies (and sends SNI for) the URL's host name. A DNS answer that
changes between a check and httpx's own lookup (DNS rebinding) therefore has nothing to slip through.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable

import anyio
import httpcore
import httpx

from fleet_dashboard.core.settings import get_settings

# Local-use NAT64 (RFC 8215): the IPv4 address may sit at several offsets, so the whole prefix is refused.
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: NAT64, 6to4, Teredo, IPv4-compatible or -translated."""
    found: list[ipaddress.IPv4Address] = []
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64 or ip in _TRANSLATED or ip in _COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    return found


def _not_public(ip: IPAddress) -> bool:
    return not ip.is_global or ip.is_multicast


def is_internal(address: str | IPAddress) -> bool:
    """True for loopback, private, link-local, reserved or multicast addresses, and IPv6 ones embedding them."""
    ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return _not_public(ip)
    if ip.ipv4_mapped is not None:
        return _not_public(ip.ipv4_mapped)
    if ip in _NAT64_LOCAL or _not_public(ip):
        return True
    return any(_not_public(v4) for v4 in embedded_ipv4(ip))


def is_address(host: str) -> bool:
    """True when `host` is an IP literal rather than a name."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


# The numeric IPv4 spellings inet_aton (and so the resolver) accepts: 127.1, 2130706433, 0x7f.0.0.1, 0177.0.0.1.
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)


def literal_address(host: str) -> str | None:
    """The address a host spells literally, the legacy numeric IPv4 forms included; None for a name."""
    host = (host or "").strip("[]").rstrip(".")
    if is_address(host):
        return host
    if _LEGACY_IPV4.match(host):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return "0.0.0.0"  # a number no address parses as: nothing public either
    return None


def refusal(host: str, addresses: Iterable[str]) -> str | None:
    """Why `host` must not be called at these addresses, or None."""
    internal = [a for a in addresses if is_internal(a)]
    return f"{host} is a private or reserved address ({', '.join(internal)})" if internal else None


def _allow_private() -> bool:
    return get_settings().webhook_allow_private_networks


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, except that connect_tcp resolves, judges, and dials the judged address."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def _resolve(self, host: str, port: int) -> list[str]:
        if is_address(host):
            return [host]
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await self._resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        reason = None if _allow_private() else refusal(host, addresses)
        if reason or not addresses:
            raise httpcore.ConnectError(f"refused: {reason or f'{host} has no address'}")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure  # type: ignore[misc]

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("refused: unix sockets are not reachable from here")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over a connection pool that dials through CheckedBackend (no proxies, no env)."""

    def __init__(self, *, verify: bool | str | object = True, limits: httpx.Limits | None = None) -> None:
        super().__init__(trust_env=False)
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections, max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, network_backend=CheckedBackend())


def checked_client(*, verify: bool | str | object = True, timeout: float = 10.0) -> httpx.AsyncClient:
    """An AsyncClient for organisation-chosen URLs: checked dialling, no redirects, no proxy from the env."""
    return httpx.AsyncClient(transport=CheckedTransport(verify=verify), follow_redirects=False, trust_env=False,
                             timeout=timeout)
