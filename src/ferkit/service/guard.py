"""The service's front door, in plain ASGI so it acts before any route reads a body: security headers on
every answer, the API key, the request-size bound, and one access-log line per request."""

from __future__ import annotations

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


class BodyTooLarge(Exception):
    pass


class Guard:
    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings

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
        finally:
            if self.settings.access_log:
                _log_request(scope, status["code"], time.perf_counter() - started)

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        """The answer to a request refused on its headers alone, before a byte of its body is read."""
        headers = Headers(scope=scope)
        if self._needs_key(scope) and not self._key_matches(headers.get("x-api-key")):
            return JSONResponse({"detail": "missing or wrong X-API-Key"}, status_code=401)
        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            return JSONResponse({"detail": "Content-Length is not a number"}, status_code=400)
        if length is not None and int(length) > self.settings.max_body_bytes:
            return self._too_large()
        return None

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
        """Run the app, cutting the body off once it passes the limit (a chunked body declares no length):
        whatever the app answered to the cut-off body is replaced by a 413."""
        received = 0
        cut_off = False
        response_started = False

        async def receive_bounded() -> Message:
            nonlocal received, cut_off
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.settings.max_body_bytes:
                    cut_off = True
                    raise BodyTooLarge
            return message

        async def send_unless_cut_off(message: Message) -> None:
            nonlocal response_started
            if cut_off:
                return
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_bounded, send_unless_cut_off)
        except Exception:
            if not cut_off:
                raise
        if cut_off and not response_started:
            await self._too_large()(scope, receive, send)


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
