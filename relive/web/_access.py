"""Who may reach the backend: allowed hosts and origins from settings (never from the request's
own `Host`, which a DNS-rebinding page controls), and the security headers on every response.

`Access` is plain logic; `Guard` is the ASGI middleware that applies it to every HTTP request and
WebSocket handshake before any route runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relive._net import parse_host

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
PROBES = frozenset({"/healthz", "/readyz"})  # liveness and readiness: answered for any Host

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; media-src 'self' blob:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_RAW_HEADERS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]


@dataclass(frozen=True)
class Access:
    """The hosts this server answers as, and the origins whose pages may open its socket."""

    hosts: frozenset[str] = LOOPBACK_HOSTS
    origins: frozenset[str] | None = None  # None: http(s)://HOST:PORT, HOST allowed, PORT ours

    @classmethod
    def of(cls, hosts: Iterable[str], origins: Iterable[str] | None) -> Access:
        names = frozenset(h.strip("[]").lower() for h in hosts)
        return cls(names, frozenset(origins) if origins is not None else None)

    def host_allowed(self, host: str | None) -> bool:
        parsed = parse_host(host)
        return parsed is not None and parsed[0] in self.hosts

    def origin_allowed(self, origin: str | None, server_port: int | None) -> bool:
        """A page may open the socket only from a configured origin (none: refused)."""
        if not origin:
            return False
        if self.origins is not None:
            return origin in self.origins
        try:
            parts = urlsplit(origin)
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        except ValueError:
            return False
        return (
            parts.scheme in ("http", "https")
            and parts.hostname in self.hosts
            and port == server_port
            and origin == f"{parts.scheme}://{parts.netloc}"  # no path, user or query
        )


class Guard:
    """ASGI middleware: a foreign `Host` gets 421 (HTTP) or a refused handshake (WebSocket);
    every HTTP response gets the security headers."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
        # Probes (a load balancer's, the kubelet's) name the replica by its address: /healthz
        # and /readyz answer any host, and say nothing a rebinding page could use.
        probe = scope["type"] == "http" and scope["path"] in PROBES
        if not probe and not self.access.host_allowed(host):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": "host not allowed"})
                return
            body = b"421 Misdirected Request: this server does not answer for that host\n"
            await send(
                {
                    "type": "http.response.start",
                    "status": 421,
                    "headers": [
                        *_RAW_HEADERS,
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _RAW_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)
