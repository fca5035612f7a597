import io
import json
import logging
import threading

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from ferkit.runtime.shipped import load_emotion_model
from ferkit.service import routes
from ferkit.service.db import Analysis, FaceRow


def upload(client, data, name="photo.jpg", **form):
    return client.post(
        "/api/v1/analyses",
        files={"file": (name, io.BytesIO(data), "image/jpeg")},
        data={k: str(v) for k, v in form.items()},
    )


def stored(client) -> tuple[int, int]:
    engine = client.app.state.engine
    with engine.connect() as connection:
        return (
            connection.scalar(select(func.count()).select_from(Analysis)),
            connection.scalar(select(func.count()).select_from(FaceRow)),
        )


def test_upload_stores_every_probability(client, photo_bytes):
    response = upload(client, photo_bytes, "../../etc/two 'people'.jpg", threshold=0.99)
    assert response.status_code == 201
    body = response.json()
    assert body["file_name"] == "two 'people'.jpg"  # the base name only, stored verbatim
    assert len(body["faces"]) == 2 and body["threshold"] == 0.99
    assert all(isinstance(v, int) for f in body["faces"] for v in f["bbox"])
    default_arch = load_emotion_model().card.arch  # the version names the default model's network first
    assert body["sha256"] and body["model_version"].startswith(f"{default_arch}-")
    engine = client.app.state.engine
    with engine.connect() as connection:
        rows = connection.execute(select(FaceRow)).all()
    assert len(rows) == 2
    for row in rows:  # all classes kept even where the threshold hid the label
        assert sorted(row.probabilities) == sorted(load_emotion_model().classes)
        assert row.emotion is None or max(row.probabilities.values()) >= 0.99


def test_paging_newest_first(client, photo_bytes):
    ids = [upload(client, photo_bytes, f"{i}.jpg").json()["id"] for i in range(3)]
    page = client.get("/api/v1/analyses", params={"per_page": 2}).json()
    assert page["total"] == 3 and [item["id"] for item in page["items"]] == ids[::-1][:2]
    second = client.get("/api/v1/analyses", params={"per_page": 2, "page": 2}).json()
    assert [item["id"] for item in second["items"]] == [ids[0]]


def test_get_image_and_delete(client, photo_bytes):
    created = upload(client, photo_bytes).json()
    assert client.get(f"/api/v1/analyses/{created['id']}").json()["faces"] == created["faces"]
    image = client.get(created["image_url"])
    assert image.headers["content-type"] == "image/jpeg"
    decoded = cv2.imdecode(np.frombuffer(image.content, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[:2] == (created["height"], created["width"])
    assert client.delete(f"/api/v1/analyses/{created['id']}").status_code == 204
    assert client.get(f"/api/v1/analyses/{created['id']}").status_code == 404
    assert stored(client) == (0, 0)  # faces went with their analysis


def test_examples_are_served(client):
    examples = client.get("/api/v1/examples").json()
    assert len(examples) >= 3
    image = client.get(examples[0]["url"])
    assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"


def png(width, height) -> bytes:
    return cv2.imencode(".png", np.zeros((height, width), np.uint8))[1].tobytes()


@pytest.mark.parametrize(
    "data,status,message",
    [
        (b"hello, not an image", 415, "not an image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, 422, "corrupt image"),
        (b"", 422, "empty file"),
    ],
)
def test_bad_uploads_store_nothing(client, data, status, message):
    response = upload(client, data)
    assert response.status_code == status and message in response.json()["detail"]
    assert stored(client) == (0, 0)


def test_size_and_pixel_limits(make_client):
    client = make_client(max_upload_bytes=50_000, max_pixels=1_000_000)
    too_big = upload(client, np.random.default_rng(0).integers(0, 255, 60_000, dtype=np.uint8).tobytes())
    assert too_big.status_code == 413 and "larger than" in too_big.json()["detail"]
    bomb = png(2000, 2000)  # tiny file, four million pixels
    assert len(bomb) < 50_000
    response = upload(client, bomb, "bomb.png")
    assert response.status_code == 413 and "pixels" in response.json()["detail"]
    assert stored(client) == (0, 0)


@pytest.mark.parametrize(
    "params,where",
    [
        ({"threshold": 2}, "threshold"),
        ({"threshold": "high"}, "threshold"),
        ({"detector": "dlib"}, "detector"),
    ],
)
def test_bad_parameters(client, photo_bytes, params, where):
    response = upload(client, photo_bytes, **params)
    assert response.status_code == 422 and response.json()["detail"].startswith(where)
    assert stored(client) == (0, 0)


def test_bad_paging_and_ids(client):
    assert client.get("/api/v1/analyses", params={"page": 0}).status_code == 422
    assert client.get("/api/v1/analyses", params={"per_page": 1000}).status_code == 422
    assert client.get("/api/v1/analyses/abc").status_code == 422
    assert client.get("/api/v1/analyses/999").status_code == 422  # ids are UUIDs
    missing = "/api/v1/analyses/7d1c3b9e-2f4a-4c55-9a1e-0b7f3c2d1e00"
    assert client.get(missing).status_code == 404 and "not found" in client.get(missing).json()["detail"]
    assert client.delete(missing).status_code == 404


def test_a_failed_write_stores_nothing(client, photo_bytes, monkeypatch):
    real = routes._face_row

    def broken(face):
        row = real(face)
        if face.face_id == 1:
            row.x1 = None  # NOT NULL: the database refuses the second face mid-transaction
        return row

    monkeypatch.setattr(routes, "_face_row", broken)
    assert upload(client, photo_bytes).status_code == 500
    assert stored(client) == (0, 0)


def test_an_unexpected_error_is_a_json_500(make_client, photo_bytes, monkeypatch, caplog):
    """JSON, with the security headers, logged once with its traceback and as a 500 in the access log."""
    client = make_client(access_log=True)
    monkeypatch.setattr(routes, "_face_row", lambda face: 1 / 0)
    with caplog.at_level(logging.INFO):
        response = upload(client, photo_bytes)
    assert response.status_code == 500 and response.json() == {"detail": "internal server error"}
    assert "content-security-policy" in response.headers and response.headers["x-content-type-options"] == "nosniff"
    assert stored(client) == (0, 0)
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and tracebacks[0].exc_info[0] is ZeroDivisionError
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name == "ferkit.access"]
    assert [line["status"] for line in access] == [500]


def test_cors_is_configurable(make_client):
    client = make_client(cors_origins=["https://app.example"])
    preflight = client.options(
        "/api/v1/analyses", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    other = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_concurrent_uploads_all_land(client, photo_bytes):
    statuses = []

    def worker():
        statuses.append(upload(client, photo_bytes).status_code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 8 and stored(client) == (8, 16)


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    assert client.head("/healthz").status_code == 200 and client.head("/readyz").status_code == 200


def test_web_page_is_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "drag a photo" in page.text.lower()
    assert client.get("/static/app.js").status_code == 200


def test_detector_none_reads_the_upload_as_one_face(client):
    face = cv2.imencode(".png", np.full((48, 48), 128, np.uint8))[1].tobytes()
    body = upload(client, face, "face.png", detector="none").json()
    assert body["detector"] == "none" and [f["bbox"] for f in body["faces"]] == [[0, 0, 48, 48]]
