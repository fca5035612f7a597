"""deploy/nginx-ferkit.conf, the README's reverse-proxy example, in front of a live `ferkit serve`."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import free_port, serve_in_thread

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "nginx-ferkit.conf"
MAIN = """
daemon off;
{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/ferkit.conf;
}}
"""


@pytest.fixture
def proxy(tmp_path):
    """nginx on a free port with the example configuration, forwarding to a live ferkit; yields both URLs."""
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (CI installs nginx-light)")
    from ferkit.service.settings import Settings

    for ferkit_url in serve_in_thread(Settings(db_url=f"sqlite:///{tmp_path / 'proxied.db'}", api_key=None)):
        port = free_port()
        example = CONFIG.read_text()
        assert "listen 80;" in example and "server 127.0.0.1:8000;" in example
        example = example.replace("listen 80;", f"listen 127.0.0.1:{port};")
        example = example.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{ferkit_url.rsplit(':', 1)[1]};")
        (tmp_path / "ferkit.conf").write_text(example)
        user = "user root;" if os.geteuid() == 0 else ""  # workers must reach the temporary folders
        (tmp_path / "nginx.conf").write_text(MAIN.format(folder=tmp_path, user=user))
        server = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
        try:
            _wait_for(f"http://127.0.0.1:{port}/healthz")
            yield f"http://127.0.0.1:{port}", ferkit_url
        finally:
            server.terminate()
            server.wait(10)


def _wait_for(url: str) -> None:
    import httpx

    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def test_the_example_proxy_forwards_limits_and_refuses(proxy, photo_bytes):
    """Through the proxy: an upload is analysed and listed; a body over ferkit's limit is refused by nginx before
    ferkit sees it; a burst of uploads from one address is cut to the configured rate with 429, reads are not."""
    import httpx

    url, ferkit_url = proxy
    uploads = f"{url}/api/v1/analyses"
    stored = httpx.post(uploads, files={"file": ("a.jpg", photo_bytes)}, timeout=60)
    assert stored.status_code == 201, stored.text
    assert httpx.get(uploads).json()["total"] == 1

    huge = httpx.post(uploads, files={"file": ("huge.jpg", b"\xff" * (12 << 20))}, timeout=60)
    assert huge.status_code == 413 and huge.headers["server"].startswith("nginx")
    assert httpx.get(f"{ferkit_url}/api/v1/analyses").json()["total"] == 1

    statuses = [httpx.post(uploads, files={"file": ("x.jpg", b"not a photo")}).status_code for _ in range(20)]
    assert 429 in statuses and statuses.count(415) >= 10  # the burst of 10 passes, to ferkit's own refusal
    assert all(httpx.get(uploads).status_code == 200 for _ in range(20))
