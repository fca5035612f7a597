"""The ASGI app: `create_app(settings)`; `ferkit serve` runs it with uvicorn.

The emotion model and detectors load once at start-up into a pool of analyzers (pool.py), so requests run
concurrently; the front door (guard.py) checks the key and the size of every request before a route runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.routing import Match

from ferkit import __version__
from ferkit.deadline import DeadlinePassed, RequesterGone
from ferkit.errors import FerkitError
from ferkit.service.assets import STATIC
from ferkit.service.db import make_engine, make_sessions, migrate
from ferkit.service.guard import Guard
from ferkit.service.pool import AnalyzerPool, ServiceBusy
from ferkit.service.routes import api_key_header, router
from ferkit.service.schemas import ErrorOut
from ferkit.service.settings import Settings
from ferkit.service.uploads import UploadError

log = logging.getLogger("ferkit.service")
READ_THREADS = 32
DATABASE_RETRY_SECONDS = 5
READINESS_TIMEOUT_SECONDS = 3.0
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.check()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.db_url)
        migrate(engine)
        app.state.engine = engine
        app.state.sessions = make_sessions(engine)
        app.state.analyzers = AnalyzerPool(
            settings.model,
            settings.workers,
            max_waiting=settings.max_waiting,
            max_waiting_bytes=settings.max_waiting_bytes,
            wait_seconds=settings.wait_seconds,
            max_faces=settings.max_faces,
            detect_size=settings.detect_size,
            preload=settings.preload,
        )
        # The readiness probe's own thread: it never queues behind uploads in the shared thread pool.
        app.state.probe_executor = ThreadPoolExecutor(1, thread_name_prefix="ferkit-probe")
        # Every upload the line admits holds a thread while it waits; room for all of them and READ_THREADS
        # more, so reads never wait behind uploads (with anyio's 40, 82 waiting uploads stalled a listing 46 s).
        threads = settings.workers + settings.max_waiting + READ_THREADS
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield
        app.state.probe_executor.shutdown(wait=False)
        engine.dispose()

    app = FastAPI(
        title="ferkit",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="Facial emotion recognition: upload a photo, get every face with its probabilities.",
    )
    app.state.settings = settings
    app.add_middleware(Guard, settings=settings)
    if settings.cors_origins:  # outside the guard, so a refusal still carries the CORS headers a browser needs
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"]
        )
    _add_error_handlers(app)
    _add_probes(app)
    _add_offline_docs(app)
    app.include_router(router, dependencies=[Security(api_key_header)] if settings.api_key else [])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    _add_options(app)  # last: it answers only paths no other route answers OPTIONS for
    return app


def _add_options(app: FastAPI) -> None:
    """OPTIONS on any path lists its methods in Allow (CORS preflights are answered before, by the CORS layer)."""

    @app.options("/{path:path}", include_in_schema=False)
    async def options(request: Request) -> Response:
        routes = [route for route in request.app.routes if getattr(route, "path", None) != "/{path:path}"]
        methods = {
            method
            for method in HTTP_METHODS
            for route in routes
            if route.matches({**request.scope, "method": method})[0] == Match.FULL
        }
        if not methods:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return Response(status_code=204, headers={"Allow": ", ".join(sorted(methods | {"OPTIONS"}))})


def _add_error_handlers(app: FastAPI) -> None:
    """Every error is a JSON body {"detail": ...}, whatever raised it."""

    @app.exception_handler(UploadError)
    async def upload_error(_request: Request, error: UploadError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=error.status)

    @app.exception_handler(ServiceBusy)
    async def busy(_request: Request, error: ServiceBusy) -> JSONResponse:
        return JSONResponse(
            {"detail": str(error)}, status_code=503, headers={"Retry-After": str(error.retry_after_seconds)}
        )

    @app.exception_handler(DeadlinePassed)
    async def too_costly(_request: Request, error: DeadlinePassed) -> JSONResponse:
        return JSONResponse({"detail": f"{error}; this photo costs more than the service allows"}, status_code=422)

    @app.exception_handler(RequesterGone)
    async def client_gone(_request: Request, error: RequesterGone) -> JSONResponse:
        # Nobody reads this answer; 499 (nginx's "client closed request") is what the access log records.
        return JSONResponse({"detail": str(error)}, status_code=499)

    @app.exception_handler(FerkitError)
    async def ferkit_error(_request: Request, error: FerkitError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = first.get("msg", "invalid request")
        if "Expected UploadFile" in message:  # pydantic's words name Python types; a client needs what to send
            message = "a photo is expected as a file part of a multipart/form-data body"
        return JSONResponse({"detail": f"{where}: {message}"}, status_code=422)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def database_down(_request: Request, error: Exception) -> JSONResponse:
        log.warning("database error: %s", type(error).__name__)
        return JSONResponse(
            {"detail": "the database is not reachable; retry shortly"},
            status_code=503,
            headers={"Retry-After": str(DATABASE_RETRY_SECONDS)},
        )

    # Anything else is a 500 answered by guard.Guard, where the security headers and the access log are.


def _add_probes(app: FastAPI) -> None:
    """Liveness and readiness run on the event loop (readiness's query on a thread of its own), so a server
    busy with uploads still answers them at once."""

    @app.get("/healthz", tags=["health"], operation_id="healthz")
    @app.head("/healthz", tags=["health"], operation_id="healthz_head")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    unready: dict[int | str, dict[str, Any]] = {503: {"model": ErrorOut}}

    @app.get("/readyz", tags=["health"], operation_id="readyz", responses=unready, response_model=None)
    @app.head("/readyz", tags=["health"], operation_id="readyz_head", responses=unready, response_model=None)
    async def readyz(request: Request) -> JSONResponse | dict[str, str]:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(
                loop.run_in_executor(request.app.state.probe_executor, _ping, request.app.state.engine),
                READINESS_TIMEOUT_SECONDS,
            )
        except Exception as error:  # any database failure means "not ready"
            return JSONResponse(
                {"detail": f"database not reachable: {type(error).__name__}"},
                status_code=503,
                headers={"Retry-After": str(DATABASE_RETRY_SECONDS)},
            )
        return {"status": "ready"}


def _add_offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from files installed with the serve extra (fastapi-offline's copy of Swagger UI 5),
    not from a CDN: the docs work on a machine without internet and load nothing from a third party."""
    import fastapi_offline
    from fastapi.openapi.docs import get_swagger_ui_html

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="ferkit API",
            swagger_favicon_url="/docs-assets/favicon.png",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
        )


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
