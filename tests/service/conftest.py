"""Service tests run against SQLite and a real PostgreSQL server (scripts/start-postgres; CI starts it)."""

import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service needs the serve extra")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import shared_data_dir  # noqa: E402

PG_URL = os.environ.get("FERKIT_TEST_PG_URL")


def database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'ferkit.db'}"
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the service tests on PostgreSQL: FERKIT_TEST_PG_URL is not set")
        pytest.skip("no PostgreSQL (run scripts/start-postgres and set FERKIT_TEST_PG_URL); CI runs it")
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_URL)
    with engine.begin() as connection:  # a clean schema per test
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    return database_url(request.param, tmp_path)


@pytest.fixture
def make_client(db_url):
    from fastapi.testclient import TestClient

    from ferkit.service.app import create_app
    from ferkit.service.settings import Settings

    clients = []

    def make(**overrides):
        settings = Settings(db_url=db_url, workers=2, cors_origins=[], api_key=None, allowed_hosts=["testserver"])
        for key, value in overrides.items():
            setattr(settings, key, value)
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture(scope="session")
def photo_bytes() -> bytes:
    path = shared_data_dir() / "samples" / "photos" / "two_people.jpg"
    if path.exists():
        return path.read_bytes()
    return (Path(__file__).resolve().parents[2] / "src/ferkit/service/static/examples/two-people.jpg").read_bytes()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_in_thread(settings):
    """The app under uvicorn on a loopback port, in a thread; yields its base URL."""
    for url, _app in serve_app_in_thread(settings):
        yield url


def serve_app_in_thread(settings):
    """As serve_in_thread, yielding the base URL and the app (whose state a test may watch)."""
    import threading
    import time

    import uvicorn

    from ferkit.service.server import server_config

    port = free_port()
    server = uvicorn.Server(server_config(settings, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "the service did not start"
    yield f"http://127.0.0.1:{port}", server.config.app
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def live_server(db_url):
    from ferkit.service.settings import Settings

    yield from serve_in_thread(Settings(db_url=db_url, api_key=None, cors_origins=[]))


@pytest.fixture
def live_server_with_key(tmp_path):
    from ferkit.service.settings import Settings

    yield from serve_in_thread(
        Settings(db_url=f"sqlite:///{tmp_path / 'keyed.db'}", api_key="k3y-for-tests", cors_origins=[])
    )


@pytest.fixture(scope="session")
def photo_path() -> Path:
    path = shared_data_dir() / "samples" / "photos" / "two_people.jpg"
    if not path.exists():
        pytest.skip(f"{path} not found (set FERKIT_SHARED_DATA); CI runs this test")
    return path


@pytest.fixture
def strict_server(tmp_path):
    """A live server with short client deadlines and a small connection cap, so attacks show in seconds."""
    from ferkit.service.settings import Settings

    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 'strict.db'}",
        api_key=None,
        cors_origins=[],
        header_seconds=1.0,
        body_seconds=4.0,
        max_connections=100,
        max_receiving_bytes=3 << 20,
    )
    for url in serve_in_thread(settings):
        yield url, int(url.rsplit(":", 1)[1])


@pytest.fixture
def line_server(tmp_path):
    """A live server with one analyzer and a line of 60: room to fill the line past anyio's 40 threads."""
    from ferkit.service.settings import Settings

    yield from serve_app_in_thread(
        Settings(db_url=f"sqlite:///{tmp_path / 'line.db'}", api_key=None, cors_origins=[], workers=1, max_waiting=60)
    )
