"""The ASGI app: `create_app(settings)`; `ferkit serve` runs it with uvicorn.

The emotion model and detectors load once at start-up into a small pool of analyzers, so requests
run concurrently (each analyzer serves one request at a time: OpenCV's detectors keep per-call state).
"""

from __future__ import annotations

import queue
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from ferkit import __version__
from ferkit.errors import FerkitError
from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions
from ferkit.runtime.models import emotion_model_path
from ferkit.service.db import make_engine, make_sessions, migrate
from ferkit.service.settings import Settings
from ferkit.service.uploads import UploadError

STATIC = Path(__file__).parent / "static"


class AnalyzerPool:
    """One Analyzer per worker and detector, lent out for one request at a time."""

    def __init__(self, model: str | None, workers: int):
        self.model = str(emotion_model_path(model))
        self.pools: dict[str, queue.Queue] = {}
        self.workers = workers
        self.model_version = ""
        self.classes: tuple[str, ...] = ()
        for detector in ("yunet",):  # the default loads now; others on first use
            self._pool(detector)

    def _pool(self, detector: str) -> queue.Queue:
        if detector not in self.pools:
            pool = queue.Queue()
            for _ in range(self.workers):
                analyzer = Analyzer(AnalyzerOptions(detector=detector, threads=1), model=self.model)
                pool.put(analyzer)
            meta = analyzer.recognizer.meta
            self.model_version = f"{meta['arch']}-{meta['weights']}-{meta['data_hash']}"
            self.classes = analyzer.classes
            self.pools[detector] = pool
        return self.pools[detector]

    @contextmanager
    def borrow(self, detector: str):
        pool = self._pool(detector)
        analyzer = pool.get()
        try:
            yield analyzer
        finally:
            pool.put(analyzer)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = make_engine(settings.db_url)
        migrate(engine)
        app.state.engine = engine
        app.state.sessions = make_sessions(engine)
        app.state.analyzers = AnalyzerPool(settings.model, settings.workers)
        yield
        engine.dispose()

    app = FastAPI(title="ferkit", version=__version__, lifespan=lifespan,
                  description="Facial emotion recognition: upload a photo, get every face with its probabilities.")
    app.state.settings = settings
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"])

    @app.exception_handler(UploadError)
    async def upload_error(_request: Request, error: UploadError):
        return JSONResponse({"detail": str(error)}, status_code=error.status)

    @app.exception_handler(FerkitError)
    async def ferkit_error(_request: Request, error: FerkitError):
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError):
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid request')}"}, status_code=422)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "not ready"}})
    def readyz(request: Request):
        try:
            with request.app.state.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # any database failure means "not ready"
            return JSONResponse({"detail": f"database not reachable: {type(error).__name__}"}, status_code=503)
        return {"status": "ready"}

    from ferkit.service.routes import router

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html")

    return app

