"""The service against hostile and careless clients: each test here failed on the service before issue 26."""

import io
import json
import logging
import socket
import threading
import time
import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine, event, func, select

from ferkit.service import routes
from ferkit.service.db import Analysis, migrate
from ferkit.service.guard import Guard
from ferkit.service.settings import Settings
from ferkit.service.uploads import Upload, clean_file_name

KEY = "k3y-for-tests"


def upload(client, data, name="photo.jpg", headers=None, **form):
    return client.post(
        "/api/v1/analyses",
        files={"file": (name, io.BytesIO(data), "image/jpeg")},
        data={k: str(v) for k, v in form.items()},
        headers=headers or {},
    )


def count_analyses(client) -> int:
    with client.app.state.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Analysis))


# --- security ----------------------------------------------------------------------------------------


def test_every_answer_carries_the_security_headers(client):
    for path in ("/", "/static/app.js", "/api/v1/analyses", "/healthz", "/api/v1/nowhere"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split("style-src")[0]
        assert "frame-ancestors 'none'" in policy
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"


def test_the_page_builds_no_markup_from_data():
    from ferkit.service.assets import STATIC

    script = (STATIC / "app.js").read_text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "outerHTML" not in script


def test_a_key_guards_every_api_route(make_client, photo_bytes):
    client = make_client(api_key=KEY)
    assert upload(client, photo_bytes).status_code == 401
    created = upload(client, photo_bytes, headers={"X-API-Key": KEY}).json()
    one = f"/api/v1/analyses/{created['id']}"
    for path in ("/api/v1/analyses", one, f"{one}/image", "/api/v1/examples"):
        refused = client.get(path)
        assert refused.status_code == 401 and refused.json() == {"detail": "missing or wrong X-API-Key"}
        assert client.get(path, headers={"X-API-Key": "wrong"}).status_code == 401
        assert client.get(path, headers={"X-API-Key": KEY}).status_code == 200
    assert client.delete(one, headers={"X-API-Key": "wrong"}).status_code == 401
    for path in ("/", "/static/app.js", "/healthz", "/readyz", "/openapi.json"):
        assert client.get(path).status_code == 200, path  # the page, its files, the probes and the schema stay open
    assert client.delete(one, headers={"X-API-Key": KEY}).status_code == 204


def test_public_read_opens_reads_only(make_client, photo_bytes):
    client = make_client(api_key=KEY, public_read=True)
    assert client.get("/api/v1/analyses").status_code == 200
    assert upload(client, photo_bytes).status_code == 401


def test_the_key_comes_from_a_file_or_the_environment(tmp_path, monkeypatch):
    from ferkit.errors import FerkitError

    (tmp_path / "key").write_text("from-a-file\n")
    monkeypatch.setenv("FERKIT_API_KEY", "from-the-environment")
    assert Settings().api_key == "from-the-environment"
    monkeypatch.setenv("FERKIT_API_KEY_FILE", str(tmp_path / "key"))
    assert Settings().api_key == "from-a-file"
    monkeypatch.setenv("FERKIT_API_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(FerkitError, match="cannot read the API key file"):
        Settings()


def test_ids_are_random_and_never_reused(client, photo_bytes):
    first = upload(client, photo_bytes).json()["id"]
    assert uuid.UUID(first).version == 4
    assert client.delete(f"/api/v1/analyses/{first}").status_code == 204
    second = upload(client, photo_bytes).json()["id"]
    assert second != first  # SQLite hands the deleted row's integer to the next insert; the public id is new
    assert client.get(f"/api/v1/analyses/{first}").status_code == 404


def test_a_database_made_before_public_ids_is_migrated(db_url, make_client, photo_bytes):
    engine = create_engine(db_url)
    migrate(engine, "0001")  # the schema as the service made it before issue 26
    old = {
        "created_at": datetime(2026, 11, 30, 12, 0),
        "file_name": "old.jpg",
        "sha256": "0" * 64,
        "content_type": "image/jpeg",
        "width": 10,
        "height": 10,
        "detector": "yunet",
        "model_version": "v",
        "threshold": 0.0,
        "image": photo_bytes,
    }
    table = sa.table("analyses", *(sa.column(name) for name in ("id", *old)))
    with engine.begin() as connection:
        connection.execute(table.insert().values(id=1, **old))
        connection.execute(table.insert().values(id=2, **{**old, "file_name": "older.jpg"}))
    engine.dispose()
    client = make_client()
    items = client.get("/api/v1/analyses").json()["items"]
    assert sorted(item["file_name"] for item in items) == ["old.jpg", "older.jpg"]
    ids = [item["id"] for item in items]
    assert len(set(ids)) == 2 and all(uuid.UUID(i).version == 4 for i in ids)
    assert client.get(f"/api/v1/analyses/{ids[0]}/image").status_code == 200
    assert client.get("/api/v1/analyses/1").status_code == 422  # the old integer ids are gone from URLs


# --- resource bounds ---------------------------------------------------------------------------------


def raw_request(base_url: str, head: str, body: bytes = b"") -> bytes:
    """Send a request by hand (a client that lies or streams), read the answer, close."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        while not _complete(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def _complete(answer: bytes) -> bool:
    head, found, body = answer.partition(b"\r\n\r\n")
    lengths = [line.split(b":")[1] for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
    return bool(found) and len(body) >= int(lengths[0]) if lengths else bool(found)


def test_a_declared_huge_body_is_refused_before_it_is_sent(live_server):
    head = (
        "POST /api/v1/analyses HTTP/1.1\nHost: 127.0.0.1\nContent-Type: multipart/form-data; boundary=b\n"
        "Content-Length: 1073741824\n"
    )
    answer = raw_request(live_server, head, b"--b\r\n")  # 5 bytes of the gigabyte it announced
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"larger than the 10 MiB upload limit" in answer


def test_a_request_without_the_key_is_refused_before_its_body(live_server_with_key):
    head = (
        "POST /api/v1/analyses HTTP/1.1\nHost: 127.0.0.1\nContent-Type: multipart/form-data; boundary=b\n"
        "Content-Length: 5000000\n"
    )
    assert raw_request(live_server_with_key, head, b"--b\r\n").startswith(b"HTTP/1.1 401")


async def run_guard(settings: Settings, chunks: list[bytes], headers: list[tuple[bytes, bytes]]):
    """The guard around an app that reads the whole body; returns (bytes the app got, status sent)."""
    delivered = {"bytes": 0}
    sent = []

    async def app(scope, receive, send):
        while True:
            message = await receive()
            delivered["bytes"] += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    pending = [{"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks]
    pending[-1]["more_body"] = False

    async def receive():
        return pending.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/analyses", "headers": headers, "query_string": b""}
    await Guard(app, settings)(scope, receive, send)
    return delivered["bytes"], next(m["status"] for m in sent if m["type"] == "http.response.start")


def test_a_streamed_body_is_cut_off_at_the_limit():
    import asyncio

    settings = Settings(db_url="sqlite://", max_upload_bytes=100_000, api_key=None, allowed_hosts=["*"])
    chunks = [b"x" * 65536] * 64  # 4 MiB, chunked: no Content-Length to refuse it on
    delivered, status = asyncio.run(run_guard(settings, chunks, []))
    assert status == 413 and delivered <= settings.max_body_bytes
    small, status = asyncio.run(run_guard(settings, [b"x" * 1000], [(b"content-length", b"1000")]))
    assert status == 200 and small == 1000


def test_a_listing_never_reads_image_bytes(client, photo_bytes):
    for _ in range(3):
        upload(client, photo_bytes)
    statements = []
    engine = client.app.state.engine
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        page = client.get("/api/v1/analyses", params={"per_page": 100}).json()
        client.get(f"/api/v1/analyses/{page['items'][0]['id']}")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(page["items"]) == 3 and statements
    reads = [s for s in statements if "analyses" in s]
    assert not [s for s in reads if "analyses.image" in s or "analyses.annotated" in s], reads


def test_uploads_are_decoded_only_inside_an_analysis_slot(make_client, photo_bytes, monkeypatch):
    client = make_client(workers=1)
    pool = client.app.state.analyzers
    free_slots_at_decode = []
    real_decode = Upload.decode

    def watched(self):
        free_slots_at_decode.append(pool._slots._value)
        return real_decode(self)

    monkeypatch.setattr(Upload, "decode", watched)
    assert upload(client, photo_bytes).status_code == 201
    assert free_slots_at_decode == [0]


def test_a_full_line_is_answered_503_at_once(make_client, photo_bytes):
    client = make_client(workers=1, max_waiting=0)
    pool = client.app.state.analyzers
    holding, release = threading.Event(), threading.Event()

    def hold_the_only_slot():
        with pool.admitted(), pool.slot():
            holding.set()
            release.wait(30)

    worker = threading.Thread(target=hold_the_only_slot)
    worker.start()
    try:
        assert holding.wait(10)
        busy = upload(client, photo_bytes)
        assert busy.status_code == 503 and busy.headers["retry-after"].isdigit()
        assert "busy" in busy.json()["detail"] and count_analyses(client) == 0
    finally:
        release.set()
        worker.join()
    assert upload(client, photo_bytes).status_code == 201


def test_the_line_is_bounded_by_the_bytes_it_holds(make_client, photo_bytes):
    client = make_client(workers=1, max_waiting=64, max_waiting_bytes=len(photo_bytes) + 100_000)
    pool = client.app.state.analyzers
    with pool.admitted(len(photo_bytes)):  # one upload already in line holds most of the budget
        busy = upload(client, photo_bytes)
    assert busy.status_code == 503 and count_analyses(client) == 0
    assert upload(client, photo_bytes).status_code == 201  # alone in line, any size within the limit is admitted


def test_a_wait_for_an_analyzer_is_bounded(make_client, photo_bytes):
    client = make_client(workers=1, wait_seconds=0.5)
    with client.app.state.analyzers.slot():
        started = time.perf_counter()
        busy = upload(client, photo_bytes)
    assert busy.status_code == 503 and time.perf_counter() - started < 5
    assert "within 0.5 s" in busy.json()["detail"]


def test_a_detector_loads_once_and_all_share_one_model(make_client, monkeypatch):
    from ferkit.service import pool as pool_module

    client = make_client(workers=2)
    pool = client.app.state.analyzers
    built = []
    real = pool_module.Analyzer

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pool_module, "Analyzer", counting)
    threads = [threading.Thread(target=pool._analyzer_pool, args=("haar", pool.views)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 2 and pool.loaded_detectors == ["haar", "yunet"]
    analyzers = [pool._analyzers[d, pool.views].get() for d in ("haar", "haar", "yunet", "yunet")]
    assert {id(a.recognizer) for a in analyzers} == {id(pool.recognizer)}
    assert {id(a.age_estimator) for a in analyzers} == {id(pool.age_estimator)}


# --- contract and robustness -------------------------------------------------------------------------


def test_a_database_outage_is_a_json_503(client):
    from sqlalchemy.orm import sessionmaker

    client.app.state.sessions = sessionmaker(create_engine("postgresql+psycopg://nobody:x@127.0.0.1:9/none"))
    response = client.get("/api/v1/analyses")
    assert response.status_code == 503 and response.headers["retry-after"].isdigit()
    assert "database" in response.json()["detail"]


@pytest.mark.parametrize(
    "given,kept",
    [
        ("a\x00b\x1fc.jpg", "abc.jpg"),
        ("dir\\evil\u202egpj.exe", "evilgpj.exe"),
        ("\x00\x01", "upload"),
        ("é" * 300 + ".jpg", "é" * 255),
    ],
)
def test_file_names_lose_control_characters(given, kept):
    assert clean_file_name(given) == kept


def test_a_name_with_nul_is_stored_on_every_database(client, photo_bytes):
    # Built by hand: HTTP clients percent-encode such names, hostile ones send the bytes.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="bad\x00name\x07.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + photo_bytes + b"\r\n--b--\r\n"
    )
    response = client.post(
        "/api/v1/analyses", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 201 and response.json()["file_name"] == "badname.jpg"


def test_times_carry_their_zone_on_every_database(client, photo_bytes):
    created = upload(client, photo_bytes).json()
    for body in (
        created,
        client.get(f"/api/v1/analyses/{created['id']}").json(),
        client.get("/api/v1/analyses").json()["items"][0],
    ):
        stamp = datetime.fromisoformat(body["created_at"])
        assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0


def test_a_retried_upload_returns_the_first_analysis(client, photo_bytes):
    first = upload(client, photo_bytes, headers={"Idempotency-Key": "retry-1"})
    again = upload(client, photo_bytes, headers={"Idempotency-Key": "retry-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and count_analyses(client) == 1
    other = upload(client, photo_bytes[:-10] + b"\xff\xd9" * 5, headers={"Idempotency-Key": "retry-1"})
    assert other.status_code == 409 and count_analyses(client) == 1
    # The same file with other options is another request: refused, not answered with the first result.
    for options in ({"detector": "ssd"}, {"threshold": 0.5}, {"views": "ten"}):
        answer = upload(client, photo_bytes, headers={"Idempotency-Key": "retry-1"}, **options)
        assert answer.status_code == 409 and "other options" in answer.json()["detail"], options
    assert upload(client, photo_bytes, headers={"Idempotency-Key": "retry-2"}).status_code == 201


def test_concurrent_retries_store_one_analysis(client, photo_bytes):
    answers = []

    def send():
        answers.append(upload(client, photo_bytes, headers={"Idempotency-Key": "race"}))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({a.json()["id"] for a in answers}) == 1 and count_analyses(client) == 1
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]


def test_the_annotated_image_is_drawn_once_and_cached(client, photo_bytes, monkeypatch):
    drawn = []
    real = routes.annotate
    monkeypatch.setattr(routes, "annotate", lambda *args: drawn.append(1) or real(*args))
    url = upload(client, photo_bytes).json()["image_url"]
    first, second = client.get(url), client.get(url)
    assert first.content == second.content and len(drawn) == 1
    assert "max-age" in first.headers["cache-control"]
    unchanged = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304 and unchanged.content == b""


def test_the_access_log_has_one_line_per_request_without_secrets(make_client, photo_bytes, caplog):
    client = make_client(access_log=True, api_key=KEY)
    with caplog.at_level(logging.INFO, logger="ferkit.access"):
        created = upload(client, photo_bytes, headers={"X-API-Key": KEY}).json()
        client.get(f"/api/v1/analyses/{created['id']}", headers={"X-API-Key": KEY})
        client.get("/api/v1/analyses")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "ferkit.access"]
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("POST", "/api/v1/analyses", 201),
        ("GET", "/api/v1/analyses/{analysis_id}", 200),
        ("GET", "/api/v1/analyses", 401),
    ]
    assert lines[0]["analysis"] == created["id"] == lines[1]["analysis"] and lines[0]["ms"] > 0
    assert KEY not in caplog.text


def test_size_errors_say_the_limit_in_units(make_client):
    client = make_client(max_upload_bytes=50_000)
    response = upload(client, b"\xff\xd8\xff" + b"\x00" * 60_000)
    assert response.status_code == 413 and "48.8 KiB" in response.json()["detail"]


def test_options_lists_every_method(client):
    allowed = client.options("/api/v1/analyses")
    assert allowed.status_code == 204 and allowed.headers["allow"] == "GET, OPTIONS, POST"
    one = client.options("/api/v1/analyses/7d1c3b9e-2f4a-4c55-9a1e-0b7f3c2d1e00")
    assert one.headers["allow"] == "DELETE, GET, OPTIONS"
    assert client.options("/healthz").headers["allow"] == "GET, HEAD, OPTIONS"
    wrong = client.put("/api/v1/analyses")
    assert wrong.status_code == 405 and wrong.headers["allow"] and wrong.json()["detail"]


def test_every_route_documents_its_errors(client):
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/api/v1"):
                assert {"401", "422", "503"} <= set(operation["responses"]), (method, path)
            for code, answer in operation["responses"].items():
                if code.startswith(("4", "5")):
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
    post = schema["paths"]["/api/v1/analyses"]["post"]["responses"]
    assert {"400", "409", "413", "415"} <= set(post)


def test_the_docs_page_loads_nothing_from_outside(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "http" not in page.text.split("<body>")[0].replace("http-equiv", "")
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    bundle = client.get("/docs-assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 500_000


def test_upload_form_fields_are_the_analyzer_options(client):
    """The upload's detector and threshold come from AnalyzerOptions' definitions, as the CLI's flags do."""
    from ferkit.runtime.analyzer import AnalyzerOptions, option_specs
    from ferkit.runtime.detectors import list_detectors

    schema = client.get("/openapi.json").json()
    form_ref = schema["paths"]["/api/v1/analyses"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    form = schema["components"]["schemas"][form_ref["$ref"].rsplit("/", 1)[1]]["properties"]
    defaults, specs = AnalyzerOptions(), option_specs()
    assert form["detector"]["enum"] == list_detectors() and form["detector"]["default"] == defaults.detector
    assert form["threshold"]["default"] == defaults.threshold
    assert (form["threshold"]["minimum"], form["threshold"]["maximum"]) == (
        specs["threshold"].low,
        specs["threshold"].high,
    )
    assert form["threshold"]["description"] == specs["threshold"].help
    assert form["views"]["enum"] == ["centre", "mirror", "ten"] and form["views"]["description"] == specs["views"].help


# --- CPU per upload ------------------------------------------------------------------------------------


def scan_bomb(repeats: int) -> bytes:
    """The audit's attack: a progressive 2000x2000 JPEG whose last scan is repeated before the end marker."""
    import cv2
    import numpy as np

    image = np.full((2000, 2000, 3), 128, np.uint8)  # flat: each scan is a few bytes, as in the audit's 66 KB file
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    data = encoded.tobytes()
    last_scan = data.rindex(b"\xff\xda")
    return data[:-2] + data[last_scan:-2] * repeats + b"\xff\xd9"


def test_scan_counts_are_read_from_the_markers():
    import cv2
    import numpy as np

    from ferkit.service.uploads import jpeg_scan_count

    image = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    baseline = cv2.imencode(".jpg", image)[1].tobytes()
    progressive = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    assert jpeg_scan_count(baseline) == 1
    assert 5 <= jpeg_scan_count(progressive) <= 20  # libjpeg's progressive script
    assert jpeg_scan_count(scan_bomb(100)) == 65  # counting stops one past the limit


def test_a_scan_bomb_is_refused_before_decoding(client, photo_bytes):
    """3,000 repeated scans decoded in 30 s; refused here from its markers in well under a second, unstored."""
    bomb = scan_bomb(3000)
    assert len(bomb) < 1_000_000
    before = count_analyses(client)
    started = time.perf_counter()
    answer = upload(client, bomb)
    assert answer.status_code == 422 and "more than 64 scans" in answer.json()["detail"]
    assert time.perf_counter() - started < 1.0 and count_analyses(client) == before
    assert upload(client, photo_bytes).status_code == 201  # an ordinary photo still goes through


# --- safe defaults without a key ------------------------------------------------------------------------


def test_without_a_key_only_loopback_names_are_served(make_client):
    """A DNS-rebinding page reaches the service under its own host name: refused unless a key guards it."""
    client = make_client(allowed_hosts=[])
    for host in ("127.0.0.1:8000", "localhost", "[::1]:8000"):
        assert client.get("/healthz", headers={"host": host}).status_code == 200, host
    answer = client.get("/api/v1/analyses", headers={"host": "attacker.example:8000"})
    assert answer.status_code == 400 and "not served here" in answer.json()["detail"]
    assert answer.headers["x-frame-options"] == "DENY"
    keyed = make_client(allowed_hosts=[], api_key=KEY)
    assert keyed.get("/healthz", headers={"host": "photos.example.org"}).status_code == 200
    named = make_client(allowed_hosts=["photos.example.org"])
    assert named.get("/healthz", headers={"host": "photos.example.org:443"}).status_code == 200
    assert named.get("/healthz", headers={"host": "localhost"}).status_code == 400


def test_cross_site_writes_are_refused(make_client, client, photo_bytes):
    """A form another site's page posts (or a fetch it makes) stores nothing; the page's own uploads, clients
    that send no Origin, and origins allowed by --cors go through."""
    before = count_analyses(client)
    for headers in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
        answer = upload(client, photo_bytes, headers=headers)
        assert answer.status_code == 403 and "cross-site" in answer.json()["detail"], headers
    assert count_analyses(client) == before
    own_page = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
    assert upload(client, photo_bytes, headers=own_page).status_code == 201
    assert client.get("/api/v1/analyses", headers={"origin": "https://evil.example"}).status_code == 200
    partner = make_client(cors_origins=["https://app.example"])
    assert upload(partner, photo_bytes, headers={"origin": "https://app.example"}).status_code == 201


def test_serving_an_open_address_without_a_key_needs_saying_so(monkeypatch, capsys):
    from ferkit.cli import main

    monkeypatch.delenv("FERKIT_API_KEY", raising=False)
    monkeypatch.delenv("FERKIT_API_KEY_FILE", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--db", "sqlite:///:memory:"]) == 2
    assert "without an API key lets anyone" in capsys.readouterr().err


def test_a_form_without_a_file_part_is_told_what_to_send(client):
    """An url-encoded body (or a text field named file) gets words a client can act on, no Python type names."""
    for request in (
        {"data": {"file": "abc"}},
        {"content": b"file=abc", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    ):
        answer = client.post("/api/v1/analyses", **request)
        assert answer.status_code == 422 and "<class" not in answer.text
        assert answer.json()["detail"] == "file: a photo is expected as a file part of a multipart/form-data body"


# --- connections and bodies ---------------------------------------------------------------------------------


def healthz_seconds(url: str) -> float:
    """Seconds for /healthz to answer 200 over a fresh connection (fails if it does not)."""
    started = time.perf_counter()
    answer = raw_request(url, "GET /healthz HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n", b"")
    assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
    return time.perf_counter() - started


def is_closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0.5)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_idle_and_half_sent_connections_cost_nothing(strict_server):
    """1,000 sockets that say nothing or half a header: /healthz keeps answering (the oldest idle connections
    make room past the cap), and each one is closed once its header deadline passes."""
    import resource

    url, port = strict_server
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))  # both ends live here
    sockets = []
    try:
        for index in range(1000):
            sock = socket.create_connection(("127.0.0.1", port))
            if index % 4 == 0:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # never finished
            sockets.append(sock)
        assert max(healthz_seconds(url) for _ in range(5)) < 1.0
        time.sleep(1.5)  # the header deadline
        assert sum(is_closed_by_server(sock) for sock in sockets[-100:]) == 100
        assert healthz_seconds(url) < 1.0
    finally:
        for sock in sockets:
            sock.close()


def test_a_body_that_does_not_arrive_in_time_is_cut_off(strict_server):
    url, port = strict_server
    head = (
        "POST /api/v1/analyses HTTP/1.1\nHost: 127.0.0.1\nContent-Type: multipart/form-data; boundary=b\n"
        "Content-Length: 100000\n"
    )
    started = time.perf_counter()
    answer = raw_request(url, head, b"--b\r\n")  # 5 bytes of the 100,000 announced, then nothing
    assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive within 4 s" in answer
    assert time.perf_counter() - started < 8


def test_bytes_being_received_at_once_are_bounded(strict_server):
    """Uploads that send most of their body and hold the rest: past 3 MiB received at once the next is 503, and
    the bytes are released when they end."""
    url, port = strict_server
    head = (
        "POST /api/v1/analyses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        "Content-Length: 2000000\r\n\r\n"
    )
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    held = []
    try:
        for _ in range(2):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(head.encode() + part + b"x" * 1_500_000)  # the closing boundary never comes
            held.append(sock)
        # A third, whole upload of 1.8 MB is past the bound once the server has read 1.4 of the 3 MB held; on a
        # loaded machine it may not have yet, so the third is tried again for a few seconds.
        body = part + b"y" * 1_800_000 + b"\r\n--b--\r\n"
        third = head.replace("2000000", str(len(body))).replace("\r\n", "\n").strip("\n") + "\n"
        deadline = time.perf_counter() + 3  # within the held bodies' deadline (4 s)
        while True:
            answer = raw_request(url, third, body)
            if answer.startswith(b"HTTP/1.1 503") or time.perf_counter() > deadline:
                break
            time.sleep(0.2)
        assert answer.startswith(b"HTTP/1.1 503") and b"receiving too many uploads" in answer
    finally:
        for sock in held:
            sock.close()
    time.sleep(4.5)  # their body deadline ends them
    assert healthz_seconds(url) < 1.0


def test_a_listing_is_a_summary_whatever_the_face_count(client, photo_bytes):
    """A listing entry counts the faces per emotion and links the full analysis; its size does not grow with
    the faces (two photos tiled with many faces list in well under a kilobyte each)."""
    import cv2
    import numpy as np

    face = cv2.imdecode(np.frombuffer(photo_bytes, np.uint8), cv2.IMREAD_COLOR)
    crowd = cv2.imencode(".jpg", np.tile(cv2.resize(face, (320, 240)), (4, 4, 1)))[1].tobytes()
    made = [upload(client, crowd).json() for _ in range(2)]
    assert all(len(analysis["faces"]) >= 16 for analysis in made)
    listing = client.get("/api/v1/analyses", params={"per_page": 100})
    items = listing.json()["items"]
    assert len(listing.content) < 2 * 1024 and "faces" not in items[0]
    for item, analysis in zip(items, made[::-1]):
        labels = [f["emotion"] or "unlabelled" for f in analysis["faces"]]
        assert item["face_count"] == len(labels) and item["emotions"] == {e: labels.count(e) for e in set(labels)}
        assert item["top_emotion"] == max(set(labels) - {"unlabelled"}, key=lambda e: (labels.count(e), e))
        assert client.get(item["url"]).json()["faces"] == analysis["faces"]


def test_deleting_while_the_image_is_first_drawn_is_a_404(client, photo_bytes, monkeypatch):
    made = upload(client, photo_bytes).json()
    real = routes._render

    def render_then_delete(db, row):
        drawn = real(db, row)
        with client.app.state.sessions() as other, other.begin():
            other.execute(sa.delete(Analysis).where(Analysis.public_id == made["id"]))
        return drawn

    monkeypatch.setattr(routes, "_render", render_then_delete)
    answer = client.get(made["image_url"])
    assert answer.status_code == 404 and "not found" in answer.json()["detail"]


def test_a_stuck_statement_is_cancelled_by_the_database(db_url):
    """PostgreSQL ends a statement that runs past the engine's bound, so a request holding a connection to a
    stuck database gets the service's 503 (an OperationalError) in seconds instead of hanging."""
    from sqlalchemy.exc import OperationalError

    from ferkit.service.db import make_engine

    if db_url.startswith("sqlite"):
        pytest.skip("SQLite runs in the process: nothing to time out")
    engine = make_engine(db_url, statement_seconds=0.5)
    started = time.perf_counter()
    with pytest.raises(OperationalError, match="statement timeout"), engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_sleep(5)"))
    assert time.perf_counter() - started < 3
    engine.dispose()


def test_a_frozen_database_costs_a_request_seconds_not_forever(db_url):
    """A PostgreSQL backend stopped with SIGSTOP answers nothing, not even its own statement timeout: the watch
    closes a connection that waited past its bound, the statement fails as on a lost connection (the service's
    503), and the next checkout's check finds the dead connection and lends a fresh one instead of hanging."""
    import os
    import signal

    from sqlalchemy.exc import OperationalError

    from ferkit.service.db import make_engine

    if db_url.startswith("sqlite"):
        pytest.skip("SQLite runs in the process: nothing to freeze")
    engine = make_engine(db_url, statement_seconds=30, frozen_seconds=1.0)
    frozen = []
    try:
        with engine.connect() as connection:
            frozen.append(connection.scalar(sa.text("SELECT pg_backend_pid()")))
            os.kill(frozen[-1], signal.SIGSTOP)
            started = time.perf_counter()
            with pytest.raises(OperationalError, match="server closed the connection") as lost:
                connection.execute(sa.text("SELECT 1"))
            assert time.perf_counter() - started < 5 and lost.value.connection_invalidated
            connection.rollback()
        with engine.connect() as connection:  # a pooled connection to a frozen backend is checked, then replaced
            frozen.append(connection.scalar(sa.text("SELECT pg_backend_pid()")))
        os.kill(frozen[-1], signal.SIGSTOP)
        started = time.perf_counter()
        with engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT pg_backend_pid()")) not in frozen
        assert time.perf_counter() - started < 5
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        engine.dispose()


def test_reads_never_wait_behind_a_full_line_of_uploads(line_server, photo_bytes, monkeypatch):
    """The only analyzer busy and 60 uploads waiting in line (more than anyio's 40 threads): a listing still
    answers at once, and an upload past the line gets its 503 at once."""
    import httpx

    from ferkit.runtime.analyzer import Analyzer
    from ferkit.runtime.results import ImageResult

    release = threading.Event()

    def held(self, image, file_name="", deadline=None):
        release.wait(30)  # the only analyzer is busy until the checks below are done
        return ImageResult(file_name, image.shape[1], image.shape[0], self.options.threshold, [])

    monkeypatch.setattr(Analyzer, "analyze", held)
    url, app = line_server
    uploads = f"{url}/api/v1/analyses"

    def send() -> None:
        httpx.post(uploads, files={"file": ("a.jpg", photo_bytes)}, timeout=60)

    senders = [threading.Thread(target=send) for _ in range(61)]
    for sender in senders:
        sender.start()
    deadline = time.perf_counter() + 20
    while app.state.analyzers._queued < 61 and time.perf_counter() < deadline:
        time.sleep(0.05)  # until the line has filled: one analysing, 60 waiting
    started = time.perf_counter()
    listing = httpx.get(uploads, timeout=60)
    listed = time.perf_counter() - started
    started = time.perf_counter()
    extra = httpx.post(uploads, files={"file": ("b.jpg", photo_bytes)}, timeout=60)
    refused = time.perf_counter() - started
    release.set()
    for sender in senders:
        sender.join()
    assert listing.status_code == 200 and listed < 1.0
    assert extra.status_code == 503 and refused < 1.0


def test_faces_beyond_the_cap_are_counted_and_kept_with_the_analysis(make_client, photo_bytes):
    """FERKIT_MAX_FACES: the largest faces are classified; the answer, the stored analysis and its listing
    entry say how many more were found."""
    import cv2
    import numpy as np

    face = cv2.imdecode(np.frombuffer(photo_bytes, np.uint8), cv2.IMREAD_COLOR)
    crowd = cv2.imencode(".jpg", np.tile(cv2.resize(face, (320, 240)), (2, 2, 1)))[1].tobytes()
    everything = upload(make_client(), crowd).json()
    assert everything["faces_dropped"] == 0 and len(everything["faces"]) >= 6
    client = make_client(max_faces=3)
    capped = upload(client, crowd).json()
    assert len(capped["faces"]) == 3 and capped["faces_dropped"] == len(everything["faces"]) - 3
    assert client.get(f"/api/v1/analyses/{capped['id']}").json()["faces_dropped"] == capped["faces_dropped"]
    entry = client.get("/api/v1/analyses").json()["items"][0]
    assert (entry["face_count"], entry["faces_dropped"]) == (3, capped["faces_dropped"])


def test_the_operator_sets_the_size_photos_are_searched_at(make_client, photo_bytes, monkeypatch):
    """FERKIT_DETECT_SIZE reaches every analyzer of the pool: a photo larger than it is searched on a copy that
    size, so at the smallest size allowed the faces in the sample photo are too small to be found."""
    from ferkit.errors import FerkitError
    from ferkit.service.settings import Settings

    monkeypatch.setenv("FERKIT_DETECT_SIZE", "32")
    assert Settings().detect_size == 32
    monkeypatch.setenv("FERKIT_DETECT_SIZE", "large")
    with pytest.raises(FerkitError, match="FERKIT_DETECT_SIZE='large' is not a whole number"):
        Settings()
    monkeypatch.setenv("FERKIT_DETECT_SIZE", "8")
    with pytest.raises(FerkitError, match="FERKIT_DETECT_SIZE: detect_size must be 32 or more, not 8"):
        make_client()  # refused before the app starts, so `ferkit serve` says it in one line
    monkeypatch.delenv("FERKIT_DETECT_SIZE")
    assert upload(make_client(), photo_bytes).json()["faces"]
    tiny = make_client(detect_size=32)
    assert upload(tiny, photo_bytes).json()["faces"] == []


def test_an_upload_names_its_views_or_gets_the_model_s_own(client, photo_bytes):
    """The views travel from the form to the analyzer and are stored and shown with the analysis; an upload
    that names none is analysed on the model's own (its card's), as `ferkit analyze` does."""
    pool = client.app.state.analyzers
    default = upload(client, photo_bytes).json()
    assert default["views"] == pool.views.value == pool.recognizer.card.views
    named = "mirror" if default["views"] == "centre" else "centre"
    other = upload(client, photo_bytes, views=named).json()
    assert other["views"] == named and [f["bbox"] for f in other["faces"]] == [f["bbox"] for f in default["faces"]]
    assert other["faces"][0]["probabilities"] != default["faces"][0]["probabilities"]
    assert client.get(f"/api/v1/analyses/{other['id']}").json()["views"] == named
    assert [item["views"] for item in client.get("/api/v1/analyses").json()["items"]] == [named, default["views"]]
    refused = upload(client, photo_bytes, views="sideways")
    assert refused.status_code == 422 and "views" in refused.text


def test_the_options_route_says_what_an_upload_accepts(client, photo_bytes):
    """/api/v1/options is made from the definitions the upload is checked with; each default is accepted."""
    from ferkit.runtime.analyzer import option_specs
    from ferkit.runtime.detectors import list_detectors

    options = client.get("/api/v1/options").json()
    specs = option_specs()
    assert options["detector"]["choices"] == list_detectors() and options["views"]["choices"] == [
        "centre",
        "mirror",
        "ten",
    ]
    assert options["views"]["default"] == client.app.state.analyzers.recognizer.card.views
    assert (options["threshold"]["minimum"], options["threshold"]["maximum"]) == (
        specs["threshold"].low,
        specs["threshold"].high,
    )
    made = upload(
        client, photo_bytes, detector=options["detector"]["default"], threshold=options["threshold"]["default"]
    )
    assert made.status_code == 201 and made.json()["views"] == options["views"]["default"]


def test_an_analysis_past_its_deadline_stops_and_frees_its_slot(make_client, photo_bytes):
    """A photo that costs more than FERKIT_ANALYSIS_SECONDS is stopped at its next stage with a 422 that says why,
    nothing is stored, and the slot is free at once for the next upload (a held slot would answer 503)."""
    client = make_client(workers=1, wait_seconds=1.0, analysis_seconds=1e-9)
    for _ in range(3):
        stopped = upload(client, photo_bytes)
        assert stopped.status_code == 422, stopped.text
        assert "longer than the 1e-09 s allowed" in stopped.json()["detail"]
    assert count_analyses(client) == 0


def test_a_client_that_leaves_the_line_costs_no_analysis(line_server, photo_bytes, monkeypatch):
    """An upload whose client closes its connection while waiting for the busy analyzer is dropped when its turn
    comes: not decoded, not analysed, not stored."""
    import socket

    import httpx

    from ferkit.runtime.analyzer import Analyzer
    from ferkit.runtime.results import ImageResult

    release, analysed = threading.Event(), []

    def held(self, image, file_name="", deadline=None):
        analysed.append(file_name)
        release.wait(30)
        return ImageResult(file_name, image.shape[1], image.shape[0], self.options.threshold, [])

    monkeypatch.setattr(Analyzer, "analyze", held)
    url, app = line_server
    pool = app.state.analyzers
    first = threading.Thread(
        target=lambda: httpx.post(f"{url}/api/v1/analyses", files={"file": ("first.jpg", photo_bytes)}, timeout=60)
    )
    first.start()
    deadline = time.perf_counter() + 20
    while not analysed and time.perf_counter() < deadline:
        time.sleep(0.05)  # the first upload holds the only analyzer
    body = httpx.Request("POST", f"{url}/api/v1/analyses", files={"file": ("gone.jpg", photo_bytes)})
    head = "".join(f"{name}: {value}\r\n" for name, value in body.headers.items())
    leaver = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])))
    leaver.sendall(f"POST /api/v1/analyses HTTP/1.1\r\n{head}\r\n".encode() + body.read())
    while pool._queued < 2 and time.perf_counter() < deadline:
        time.sleep(0.05)  # both in line: the first analysing, the leaver waiting
    assert pool._queued == 2
    leaver.close()
    time.sleep(0.5)  # the server reads the close
    release.set()
    first.join()
    while pool._queued and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert analysed == ["first.jpg"]
    assert httpx.get(f"{url}/api/v1/analyses").json()["total"] == 1
