"""The built wheel, installed (not editable) in a fresh environment, serves the web page and analyses a photo:
the page, the migrations and the models must all be inside it."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_installed_wheel_serves_the_page(tmp_path):
    # Built from a copy: a build writes build/ and *.egg-info next to the sources it reads.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv*", "build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(source)],
        check=True,
        timeout=600,
    )
    wheel = next((tmp_path / "dist").glob("ferkit-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    subprocess.run([str(tmp_path / "venv/bin/pip"), "install", "-q", f"{wheel}[serve]"], check=True, timeout=900)
    port = free_port()
    server = subprocess.Popen(
        [str(tmp_path / "venv/bin/ferkit"), "serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'wheel.db'}"],
        cwd=tmp_path,  # not the source tree
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": ""},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base, server)
        page = httpx.get(base)
        assert page.status_code == 200 and "drag a photo" in page.text.lower()
        assert httpx.get(f"{base}/static/app.js").status_code == 200
        example = httpx.get(f"{base}/static/examples/two-people.jpg").content
        created = httpx.post(f"{base}/api/v1/analyses", files={"file": ("two-people.jpg", example)}, timeout=60)
        assert created.status_code == 201 and len(created.json()["faces"]) == 2
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    location = subprocess.run(
        [str(tmp_path / "venv/bin/python"), "-c", "import ferkit; print(ferkit.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout
    assert str(tmp_path / "venv") in location  # the installed copy ran, not the repository's


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(base: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert server.poll() is None, server.stdout.read().decode()[-3000:]
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("the installed service did not become ready")
