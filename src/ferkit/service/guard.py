"""The service's front door, in plain ASGI so it acts before any route reads a body: security headers on
every answer, the API key, the request-size bound, and one access-log line per request."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ferkit.service.settings import Settings
from ferkit.service.uploads import human_bytes

access_logger = logging.getLogger("ferkit.access")
error_logger = logging.getLogger("ferkit.service")
# The page loads only its own script, style and images (and blob: images drawn from fetched bytes); nothing
# inline runs, so a string that slips into the page as markup still cannot execute.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI starts itself with an inline script; that page shows the schema, never stored data.
DOCS_POLICY = PAGE_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}
SAFE_METHODS = {"GET", "HEAD"}


class BodyRefused(Exception):
    """The body is cut off: too large, too slow, or more than the server is receiving at once allows."""

    def __init__(self, answer: JSONResponse):
        self.answer = answer


class Guard:
    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings
        self.receiving = 0  # body bytes of requests not yet finished, counted as they arrive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 0}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", _policy(scope["path"]))
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send_with_headers)
            else:
                await self._bounded(scope, receive, send_with_headers)
        except Exception:
            if status["code"]:
                raise  # the answer had begun: nothing else can be sent on it
            # Answered here, inside the guard, so a 500 is JSON with the security headers, the access log
            # records it as 500, and its traceback is logged once (nothing re-raises it to the server).
            error_logger.error("unhandled error on %s %s", scope["method"], scope["path"], exc_info=True)
            await JSONResponse({"detail": "internal server error"}, status_code=500)(scope, receive, send_with_headers)
        finally:
            if self.settings.access_log:
                _log_request(scope, status["code"], time.perf_counter() - started)

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        """The answer to a request refused on its headers alone, before a byte of its body is read."""
        headers = Headers(scope=scope)
        host = _host_name(headers.get("host", ""))
        allowed = self.settings.hosts()
        if "*" not in allowed and host not in allowed:
            detail = f"host {host!r} is not served here (allowed: {', '.join(allowed)}; FERKIT_ALLOWED_HOSTS)"
            return JSONResponse({"detail": detail}, status_code=400)
        if scope["method"] not in SAFE_METHODS | {"OPTIONS"} and self._cross_site(headers):
            return JSONResponse({"detail": "cross-site writes are refused (allow the origin with --cors)"}, 403)
        if self._needs_key(scope) and not self._key_matches(headers.get("x-api-key")):
            return JSONResponse({"detail": "missing or wrong X-API-Key"}, status_code=401)
        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            return JSONResponse({"detail": "Content-Length is not a number"}, status_code=400)
        if length is not None and int(length) > self.settings.max_body_bytes:
            return self._too_large()
        return None

    def _cross_site(self, headers: Headers) -> bool:
        """A write sent by a page of another site (a form or fetch a browser made for it): told by the browser's
        Sec-Fetch-Site, or by an Origin that is neither this host and port nor a CORS origin allowed here."""
        origin = headers.get("origin")
        if origin in self.settings.cors_origins:
            return False
        if headers.get("sec-fetch-site") == "cross-site":
            return True
        return origin is not None and origin.partition("://")[2] != headers.get("host", "")

    def _needs_key(self, scope: Scope) -> bool:
        if not self.settings.api_key or not scope["path"].startswith("/api/") or scope["method"] == "OPTIONS":
            return False  # CORS preflights carry no key; the page, its files and the probes stay open
        return not (self.settings.public_read and scope["method"] in SAFE_METHODS)

    def _key_matches(self, given: str | None) -> bool:
        expected = (self.settings.api_key or "").encode()
        return given is not None and secrets.compare_digest(given.encode("latin-1"), expected)

    def _too_large(self) -> JSONResponse:
        limit = human_bytes(self.settings.max_upload_bytes)
        return JSONResponse({"detail": f"request is larger than the {limit} upload limit"}, status_code=413)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, cutting the body off once it passes the size limit (a chunked body declares no length),
        takes longer than `body_seconds`, or would take the bytes being received at once past
        `max_receiving_bytes`: whatever the app answered to the cut-off body is replaced by the refusal."""
        settings = self.settings
        deadline = asyncio.get_running_loop().time() + settings.body_seconds
        received, body_done = 0, False
        refused: JSONResponse | None = None
        response_started = False

        async def receive_bounded() -> Message:
            nonlocal received, body_done, refused
            if body_done:
                return await receive()  # a response listening for the client to go away: no deadline
            try:
                message = await asyncio.wait_for(receive(), deadline - asyncio.get_running_loop().time())
            except TimeoutError:
                refused = _answer(408, f"the request body did not arrive within {settings.body_seconds:g} s")
                raise BodyRefused(refused) from None
            if message["type"] == "http.request":
                size = len(message.get("body", b""))
                received, self.receiving = received + size, self.receiving + size
                body_done = not message.get("more_body", False)
                if received > settings.max_body_bytes:
                    refused = self._too_large()
                elif self.receiving > settings.max_receiving_bytes:
                    refused = _answer(503, "the server is receiving too many uploads; retry shortly", retry=5)
                if refused is not None:
                    raise BodyRefused(refused)
            return message

        async def send_unless_refused(message: Message) -> None:
            nonlocal response_started
            if refused is not None:
                return
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_bounded, send_unless_refused)
        except Exception:
            if refused is None:
                raise
        finally:
            self.receiving -= received
        if refused is not None and not response_started:
            await refused(scope, receive, send)


def _answer(status: int, detail: str, retry: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry)} if retry else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _host_name(host: str) -> str:
    """'example.org:8000' -> 'example.org', '[::1]:8000' -> '::1'."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _policy(path: str) -> str:
    return DOCS_POLICY if path == "/docs" else PAGE_POLICY


def _log_request(scope: Scope, status: int, seconds: float) -> None:
    """One JSON line: no query string, no header, no body, so neither keys nor image data reach the log."""
    route = scope.get("route")
    state = scope.get("state") or {}
    line = {
        "method": scope["method"],
        "route": getattr(route, "path", scope["path"] if status != 404 else None),
        "status": status,
        "ms": round(seconds * 1000, 1),
        "analysis": state.get("analysis_id"),
    }
    access_logger.info(json.dumps(line))
