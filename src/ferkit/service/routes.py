"""/api/v1: thin handlers; the work is in the runtime (analysis), the pool (who may work) and db (storage).

Access (the API key) and request size are checked before any handler runs, in guard.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

import anyio
import cv2
from fastapi import APIRouter, Depends, File, Form, Header, HTTPException, Query, Request, Response, UploadFile
from fastapi import Path as FastApiPath
from fastapi.security import APIKeyHeader
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, raiseload, undefer
from sqlalchemy.orm.exc import StaleDataError

from ferkit.deadline import Deadline, asked_at_most_every
from ferkit.runtime.analyzer import AnalyzerOptions, option_specs
from ferkit.runtime.detectors import list_detectors
from ferkit.runtime.draw import annotate
from ferkit.runtime.results import FaceResult, ImageResult
from ferkit.service.assets import STATIC
from ferkit.service.db import Analysis, FaceRow
from ferkit.service.schemas import (
    AnalysisOut,
    AnalysisPage,
    AnalysisSummary,
    ChoiceOut,
    ErrorOut,
    ExampleOut,
    OptionsOut,
    RangeOut,
)
from ferkit.service.uploads import Upload, check_upload, clean_file_name
from ferkit.views import VIEW_NAMES, Views

# Documents the key in the OpenAPI schema (Swagger's "Authorize") of a server that has one (app.py includes it
# then); guard.py enforces it, before the body is read.
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="needed on every /api/v1 route when the server has a key"
)
router = APIRouter(prefix="/api/v1", tags=["analyses"])
# The upload's form fields are made from AnalyzerOptions' definitions, as the CLI's flags are.
DetectorName = Literal[tuple(list_detectors())]  # type: ignore[valid-type]  # the runtime's names, not a copy
ViewsName = Literal[VIEW_NAMES]  # type: ignore[valid-type]
SPECS = option_specs()
DETECTOR, THRESHOLD, VIEWS = SPECS["detector"], SPECS["threshold"], SPECS["views"]
DEFAULTS = AnalyzerOptions()
UNLABELLED = "unlabelled"  # a listing's name for faces under the threshold, which have no emotion label
IMAGE_CACHE_SECONDS = 86_400  # an analysis never changes; a deleted one answers 404 once the cache expires


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Every error a route can answer, as the JSON body it has: 401 (key), 422 (parameters), 503 (database)."""
    return {code: {"model": ErrorOut} for code in sorted({401, 422, 503, *codes})}


def session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as db:
        yield db


Db = Annotated[Session, Depends(session)]
AnalysisId = Annotated[uuid.UUID, FastApiPath(description="the analysis's id, as returned when it was made")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=128,
        description=("a client's key for this upload: retrying with the same key returns the analysis it first made"),
    ),
]


@router.post(
    "/analyses",
    status_code=201,
    response_model=AnalysisOut,
    responses={
        **errors(400, 409, 413, 415),
        200: {"model": AnalysisOut, "description": "made earlier with this Idempotency-Key"},
    },
)
def create_analysis(
    request: Request,
    response: Response,
    db: Db,
    file: Annotated[UploadFile, File(description="a photo")],
    threshold: Annotated[float, Form(ge=THRESHOLD.low, le=THRESHOLD.high, description=THRESHOLD.help)] = (
        DEFAULTS.threshold
    ),
    detector: Annotated[DetectorName, Form(description=DETECTOR.help)] = DEFAULTS.detector,  # type: ignore[valid-type]
    # Not nullable in the schema (a form field cannot say null); left out, the loaded model's own views.
    views: Annotated[ViewsName, Form(description=VIEWS.help)] = None,
    idempotency_key: IdempotencyKey = None,
) -> AnalysisOut:
    settings = request.app.state.settings
    pool = request.app.state.analyzers
    chosen_views = Views(views) if views else pool.views
    options = (detector, chosen_views, threshold)  # what a retry with the same Idempotency-Key must repeat
    with pool.admitted(_declared_size(request, settings.max_body_bytes)):
        upload = check_upload(
            file.file.read(settings.max_upload_bytes + 1), settings.max_upload_bytes, settings.max_pixels
        )
        earlier = _earlier_upload(db, idempotency_key, upload, options)
        if earlier is not None:
            response.status_code = 200
            return _out(earlier)
        # Decoded only here: at most `workers` decoded photos at once.
        with pool.borrow(detector, chosen_views) as analyzer:
            deadline = Deadline.after(settings.analysis_seconds, requester_gone=_client_gone(request))
            deadline.check("decoding")  # a client that left while waiting in line costs no decode
            image = upload.decode()
            result = analyzer.analyze(image, clean_file_name(file.filename), deadline).with_threshold(threshold)
    row = Analysis(
        file_name=result.file_name,
        sha256=upload.sha256,
        content_type=upload.content_type,
        width=result.width,
        height=result.height,
        detector=detector,
        views=chosen_views.value,
        model_version=pool.model_version,
        threshold=threshold,
        faces_dropped=result.faces_dropped,
        image=upload.data,
        idempotency_key=idempotency_key,
        faces=[_face_row(face) for face in result.faces],
    )
    try:
        with db.begin():  # the analysis and all its faces, or nothing
            db.add(row)
    except IntegrityError:
        # A retry with the same key raced this one and stored first: answer with its analysis.
        earlier = _earlier_upload(db, idempotency_key, upload, options) if idempotency_key else None
        if earlier is None:
            raise
        response.status_code = 200
        return _out(earlier)
    request.state.analysis_id = row.public_id
    return _out(row)


# Each ask is a round trip to the event loop while the worker slot waits: under load (bench_service.py, 8 clients)
# asking at every stage held the analysis threads 10% of their time. Asked before the decode (a client may have left
# while in line), then at most this often: a long analysis still stops at its first stage a quarter second after.
CLIENT_GONE_EVERY_SECONDS = 0.25


def _client_gone(request: Request) -> Callable[[], bool]:
    """Asked from the analysis thread: whether the server has seen the client close its connection."""
    return asked_at_most_every(CLIENT_GONE_EVERY_SECONDS, lambda: anyio.from_thread.run(request.is_disconnected))


@router.get("/analyses", response_model=AnalysisPage, responses=errors())
def list_analyses(
    db: Db, page: Annotated[int, Query(ge=1, le=1_000_000)] = 1, per_page: Annotated[int, Query(ge=1, le=100)] = 20
) -> AnalysisPage:
    """Newest first, one summary per analysis (faces counted per emotion, links): a page's size and cost do not
    grow with the faces in its photos (100 photos of 1,764 faces each made a 40.8 MB listing before)."""
    total = db.scalar(select(func.count()).select_from(Analysis))
    rows = db.scalars(
        select(Analysis)
        .options(raiseload(Analysis.faces))  # counted below by the database, never loaded here
        .order_by(Analysis.created_at.desc(), Analysis.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    counts = _emotion_counts(db, [row.id for row in rows])
    items = [_summary(row, counts.get(row.id, {})) for row in rows]
    return AnalysisPage(items=items, total=total or 0, page=page, per_page=per_page)


def _emotion_counts(db: Session, analysis_ids: list[int]) -> dict[int, dict[str, int]]:
    """Faces per emotion label for each analysis, counted by the database."""
    counts: dict[int, dict[str, int]] = {}
    if not analysis_ids:
        return counts
    grouped = db.execute(
        select(FaceRow.analysis_id, FaceRow.emotion, func.count())
        .where(FaceRow.analysis_id.in_(analysis_ids))
        .group_by(FaceRow.analysis_id, FaceRow.emotion)
    )
    for analysis_id, emotion, count in grouped:
        counts.setdefault(analysis_id, {})[emotion or UNLABELLED] = count
    return counts


def _summary(row: Analysis, emotions: dict[str, int]) -> AnalysisSummary:
    labelled = {label: count for label, count in emotions.items() if label != UNLABELLED}
    return AnalysisSummary(
        **_described(row),
        url=f"/api/v1/analyses/{row.public_id}",
        face_count=sum(emotions.values()),
        emotions=emotions,
        top_emotion=max(labelled, key=lambda label: (labelled[label], label)) if labelled else None,
    )


@router.get("/analyses/{analysis_id}", response_model=AnalysisOut, responses=errors(404))
def get_analysis(request: Request, analysis_id: AnalysisId, db: Db) -> AnalysisOut:
    request.state.analysis_id = str(analysis_id)
    return _out(_find(db, analysis_id))


@router.get(
    "/analyses/{analysis_id}/image",
    response_class=Response,
    responses={**errors(404), 200: {"content": {"image/jpeg": {}}}, 304: {"description": "not modified"}},
)
def get_annotated_image(
    request: Request,
    analysis_id: AnalysisId,
    db: Db,
    if_none_match: Annotated[str | None, Header(max_length=256)] = None,
) -> Response:
    """The photo with its boxes and labels, drawn on first request and kept: an analysis never changes."""
    request.state.analysis_id = str(analysis_id)
    etag = f'"{analysis_id}"'
    cache = {"ETag": etag, "Cache-Control": f"private, max-age={IMAGE_CACHE_SECONDS}"}
    row = _find(db, analysis_id, undefer(Analysis.annotated))
    if if_none_match and etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers=cache)
    pool = request.app.state.analyzers
    if row.annotated is None:
        with pool.admitted(), pool.slot():  # decoding a stored photo costs what an analysis does
            row.annotated = _render(db, row)
        try:
            db.commit()
        except StaleDataError:  # deleted while it was being drawn: gone, as a request a moment later would find
            db.rollback()
            raise HTTPException(404, f"analysis {analysis_id} not found") from None
    return Response(row.annotated, media_type="image/jpeg", headers=cache)


@router.delete("/analyses/{analysis_id}", status_code=204, responses=errors(404))
def delete_analysis(request: Request, analysis_id: AnalysisId, db: Db) -> Response:
    request.state.analysis_id = str(analysis_id)
    with db.begin():
        db.delete(_find(db, analysis_id))
    return Response(status_code=204)


@router.get("/options", response_model=OptionsOut, responses=errors())
def upload_options(request: Request) -> OptionsOut:
    """The upload form's fields: the detectors, views and threshold range the server accepts, and its defaults
    (the views: the loaded model's own)."""
    pool = request.app.state.analyzers
    return OptionsOut(
        detector=ChoiceOut(choices=list_detectors(), default=DEFAULTS.detector, help=DETECTOR.help),
        views=ChoiceOut(choices=list(VIEW_NAMES), default=pool.views.value, help=VIEWS.help),
        threshold=RangeOut(
            minimum=THRESHOLD.low, maximum=THRESHOLD.high, default=DEFAULTS.threshold, help=THRESHOLD.help
        ),
        model_version=pool.model_version,
    )


@router.get("/examples", response_model=list[ExampleOut], tags=["examples"], responses=errors())
def examples() -> list[ExampleOut]:
    files = sorted(p for p in (STATIC / "examples").iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    return [ExampleOut(name=p.stem, url=f"/static/examples/{p.name}") for p in files]


def _find(db: Session, analysis_id: uuid.UUID, *options: Any) -> Analysis:
    row = db.scalar(select(Analysis).where(Analysis.public_id == str(analysis_id)).options(*options))
    if row is None:
        raise HTTPException(404, f"analysis {analysis_id} not found")
    return row


def _declared_size(request: Request, largest: int) -> int:
    """The upload's size as its request declared it (the guard has checked it); a chunked one may be the largest."""
    length = request.headers.get("content-length", "")
    return int(length) if length.isdigit() else largest


def _render(db: Session, row: Analysis) -> bytes:
    image = db.scalar(select(Analysis.image).where(Analysis.id == row.id))
    if image is None:  # deleted between the two reads
        raise HTTPException(404, f"analysis {row.public_id} not found")
    stored = Upload(image, row.content_type, row.sha256)
    drawn = annotate(stored.decode(), [_face_result(face) for face in row.faces])
    return cv2.imencode(".jpg", drawn, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def _earlier_upload(
    db: Session, idempotency_key: str | None, upload: Upload, options: tuple[str, Views, float]
) -> Analysis | None:
    """The analysis this key made before, if the same file was sent with the same options; another file or
    other options under the same key are a 409, never the first answer passed off as theirs."""
    if idempotency_key is None:
        return None
    earlier = db.scalar(select(Analysis).where(Analysis.idempotency_key == idempotency_key))
    if earlier is not None and earlier.sha256 != upload.sha256:
        raise HTTPException(409, "this Idempotency-Key was used for another file")
    if earlier is not None and (earlier.detector, earlier.views, earlier.threshold) != options:
        raise HTTPException(409, "this Idempotency-Key was used with other options (detector, views, threshold)")
    db.rollback()  # end the read transaction, so the write that may follow opens its own
    return earlier


def _face_row(face: FaceResult) -> FaceRow:
    probabilities = {name: float(value) for name, value in face.probabilities.items()}  # one JSON column
    return FaceRow(**face.to_row(digits=None), probabilities=probabilities)


def _face_result(row: FaceRow) -> FaceResult:
    return FaceResult(
        row.face_id,
        (row.x1, row.y1, row.x2, row.y2),
        row.score,
        dict(row.probabilities),
        row.emotion,
        row.age_range,
        row.age,
    )


def _out(row: Analysis) -> AnalysisOut:
    image = ImageResult(row.file_name, row.width, row.height, row.threshold, [_face_result(f) for f in row.faces])
    return AnalysisOut(**_described(row), sha256=row.sha256, faces=image.to_dict()["faces"])


def _described(row: Analysis) -> dict[str, Any]:
    """What an analysis's full answer and its listing entry both say of it."""
    return {
        "id": row.public_id,
        "created_at": row.created_at,
        "file_name": row.file_name,
        "width": row.width,
        "height": row.height,
        "detector": row.detector,
        "views": row.views,
        "model_version": row.model_version,
        "threshold": row.threshold,
        "faces_dropped": row.faces_dropped,
        "image_url": f"/api/v1/analyses/{row.public_id}/image",
    }
