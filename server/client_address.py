"""Which client a request comes from, for the per-address session limit (SPEC §5).

``X-Forwarded-For`` is believed only when the peer is one of ``TRUSTED_PROXIES``; anyone else
could write any address into it. Proxies append the address they saw, so the list is read from
the right, skipping our own proxies, and the first address that is not one of them is the client:
everything to its left was written by that client and proves nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web

from settings import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# An IPv6 host usually holds a whole /64, so one person could otherwise rotate through 2**64
# addresses to dodge a per-address limit.
IPV6_PREFIX = 64


def _parse(raw: str) -> Address | None:
    """An address from a forwarded hop, tolerating ``[v6]:port`` and ``v4:port`` forms."""
    text = raw.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address | None, proxies: Sequence[Network]) -> bool:
    return address is not None and any(address in net for net in proxies)


def is_trusted_proxy(remote: str, proxies: Sequence[Network]) -> bool:
    """Whether a peer is one of ``TRUSTED_PROXIES`` (whose connections carry many clients)."""
    return _trusted(_parse(remote), proxies)


def client_address(request: web.BaseRequest, proxies: Sequence[Network]) -> str:
    """The client's address: the peer, or the right-most untrusted ``X-Forwarded-For`` hop."""
    remote = request.remote or ""
    if not proxies:
        return remote
    peer = _parse(remote)
    if not _trusted(peer, proxies):
        return str(peer) if peer is not None else remote
    hops = [
        hop
        for header in request.headers.getall("X-Forwarded-For", ())
        for hop in header.split(",")
        if hop.strip()
    ]
    client: Address | None = peer
    for raw in reversed(hops):
        hop = _parse(raw)
        if hop is None:
            # Our proxy passed on something that is no address: keep the last one we trust.
            break
        client = hop
        if not _trusted(hop, proxies):
            break
    return str(client) if client is not None else remote


def limit_key(address: str) -> str:
    """The key the session limit counts under: the address, or its /64 for IPv6."""
    parsed = _parse(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return str(parsed) if parsed is not None else address
