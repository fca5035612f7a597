"""The HTTP server around the app: uvicorn with deadlines on what a client sends before the app sees it.

uvicorn closes an idle keep-alive connection after a few seconds but waits for ever on a connection that has
not finished its request's headers (a fresh socket that says nothing, or half a header), and it accepts
connections until the process runs out of file descriptors. So every connection gets `header_seconds` to
complete each request's headers, and past `max_connections` the oldest idle connection is closed to make room
(1,100 idle sockets took the service down before). Bodies are bounded by the guard (time and bytes in flight)."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ferkit.service.app import create_app
from ferkit.service.settings import Settings


def protocol_for(settings: Settings) -> type[H11Protocol]:
    class DeadlineProtocol(H11Protocol):
        header_seconds = settings.header_seconds
        max_connections = settings.max_connections
        header_deadline: asyncio.TimerHandle | None = None
        made_at = 0.0

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self.made_at = self.loop.time()
            if len(self.connections) > self.max_connections:
                self._make_room()
            if not transport.is_closing():
                self._await_headers()

        def _make_room(self) -> None:
            """Over the cap, the oldest connection with no request under way goes (an idle or half-sent one, most
            likely an attacker's), so a new client such as a health probe still gets in; if every connection is
            busy, the new one is refused."""
            waiting = [c for c in self.connections if isinstance(c, DeadlineProtocol) and c._between_requests()]
            oldest = min((c for c in waiting if c is not self), key=lambda c: c.made_at, default=self)
            oldest.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._between_requests():
                if self.header_deadline is None:
                    self._await_headers()
            elif self.header_deadline is not None:
                self.header_deadline.cancel()  # the headers are complete: the request is the app's now
                self.header_deadline = None

        def connection_lost(self, exc: Exception | None) -> None:
            if self.header_deadline is not None:
                self.header_deadline.cancel()
            super().connection_lost(exc)

        def _between_requests(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _await_headers(self) -> None:
            self.header_deadline = self.loop.call_later(self.header_seconds, self._headers_too_slow)

        def _headers_too_slow(self) -> None:
            self.header_deadline = None
            if self._between_requests() and not self.transport.is_closing():
                self.transport.close()

    return DeadlineProtocol


def server_config(settings: Settings, host: str, port: int, **options: Any) -> uvicorn.Config:
    """The one uvicorn configuration: `ferkit serve` and the tests' live servers both use it."""
    return uvicorn.Config(
        create_app(settings), host=host, port=port, http=protocol_for(settings), log_level="warning", **options
    )
