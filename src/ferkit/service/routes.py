"""/api/v1: thin handlers; the work is in the runtime (analysis) and db (storage)."""

from __future__ import annotations

import secrets
from pathlib import PurePath
from typing import Annotated, Literal

import cv2
from fastapi import APIRouter, Depends, File, Form, Header, HTTPException, Query, Request, Response, UploadFile
from fastapi import Path as FastApiPath
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ferkit.runtime.draw import annotate
from ferkit.runtime.images import decode_image
from ferkit.runtime.results import FaceResult, ImageResult
from ferkit.service.db import Analysis, FaceRow
from ferkit.service.schemas import AnalysisOut, AnalysisPage, ErrorOut, ExampleOut
from ferkit.service.uploads import check_upload

router = APIRouter(prefix="/api/v1", tags=["analyses"])
DetectorName = Literal["yunet", "ssd", "mtcnn", "haar"]
ERRORS = {code: {"model": ErrorOut} for code in (401, 404, 413, 415, 422)}


def session(request: Request):
    with request.app.state.sessions() as db:
        yield db


def require_api_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
    expected = request.app.state.settings.api_key
    if expected and not (x_api_key and secrets.compare_digest(x_api_key, expected)):
        raise HTTPException(401, "missing or wrong X-API-Key")


Db = Annotated[Session, Depends(session)]
# Ids are 32-bit integers in every database ferkit supports; larger ones are a 422, not a crash.
AnalysisId = Annotated[int, FastApiPath(ge=1, le=2_147_483_647)]


@router.post("/analyses", status_code=201, response_model=AnalysisOut, responses=ERRORS,
             dependencies=[Depends(require_api_key)])
def create_analysis(request: Request, db: Db, file: Annotated[UploadFile, File(description="a photo")],
                    threshold: Annotated[float, Form(ge=0, le=1)] = 0.0,
                    detector: Annotated[DetectorName, Form()] = "yunet") -> AnalysisOut:
    settings = request.app.state.settings
    upload = check_upload(file.file.read(settings.max_upload_bytes + 1), settings.max_upload_bytes, settings.max_pixels)
    # Only the base name is kept: a client's path is neither trusted nor stored.
    name = PurePath((file.filename or "upload").replace("\\", "/")).name[:255] or "upload"
    pool = request.app.state.analyzers
    with pool.borrow(detector) as analyzer:
        result = analyzer.analyze(upload.image, name).with_threshold(threshold)
    row = Analysis(file_name=name, sha256=upload.sha256, content_type=upload.content_type, width=result.width,
                   height=result.height, detector=detector, model_version=pool.model_version, threshold=threshold,
                   image=upload.data, faces=[_face_row(face) for face in result.faces])
    with db.begin():  # the analysis and all its faces, or nothing
        db.add(row)
    return _out(row)


@router.get("/analyses", response_model=AnalysisPage)
def list_analyses(db: Db, page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                  per_page: Annotated[int, Query(ge=1, le=100)] = 20) -> AnalysisPage:
    total = db.scalar(select(func.count()).select_from(Analysis))
    rows = db.scalars(select(Analysis).order_by(Analysis.created_at.desc(), Analysis.id.desc())
                      .offset((page - 1) * per_page).limit(per_page)).all()
    return AnalysisPage(items=[_out(row) for row in rows], total=total, page=page, per_page=per_page)


@router.get("/analyses/{analysis_id}", response_model=AnalysisOut, responses=ERRORS)
def get_analysis(analysis_id: AnalysisId, db: Db) -> AnalysisOut:
    return _out(_find(db, analysis_id))


@router.get("/analyses/{analysis_id}/image", responses={**ERRORS, 200: {"content": {"image/jpeg": {}}}},
            response_class=Response)
def get_annotated_image(analysis_id: AnalysisId, db: Db) -> Response:
    row = _find(db, analysis_id)
    faces = [_face_result(face) for face in row.faces]
    drawn = annotate(decode_image(row.image, row.file_name), faces)
    return Response(cv2.imencode(".jpg", drawn, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes(), media_type="image/jpeg")


@router.delete("/analyses/{analysis_id}", status_code=204, responses=ERRORS, dependencies=[Depends(require_api_key)])
def delete_analysis(analysis_id: AnalysisId, db: Db) -> Response:
    with db.begin():
        db.delete(_find(db, analysis_id))
    return Response(status_code=204)


@router.get("/examples", response_model=list[ExampleOut], tags=["examples"])
def examples() -> list[ExampleOut]:
    from ferkit.service.app import STATIC

    files = sorted(p for p in (STATIC / "examples").iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    return [ExampleOut(name=p.stem, url=f"/static/examples/{p.name}") for p in files]


def _find(db: Session, analysis_id: int) -> Analysis:
    row = db.get(Analysis, analysis_id)
    if row is None:
        raise HTTPException(404, f"analysis {analysis_id} not found")
    return row


def _face_row(face: FaceResult) -> FaceRow:
    x1, y1, x2, y2 = (int(v) for v in face.bbox)
    return FaceRow(face_id=face.face_id, x1=x1, y1=y1, x2=x2, y2=y2, score=float(face.score), emotion=face.emotion,
                   probabilities={k: float(v) for k, v in face.probabilities.items()}, age_range=face.age_range,
                   age=face.age)


def _face_result(row: FaceRow) -> FaceResult:
    return FaceResult(row.face_id, (row.x1, row.y1, row.x2, row.y2), row.score, dict(row.probabilities), row.emotion,
                      row.age_range, row.age)


def _out(row: Analysis) -> AnalysisOut:
    image = ImageResult(row.file_name, row.width, row.height, row.threshold, [_face_result(f) for f in row.faces])
    return AnalysisOut(id=row.id, created_at=row.created_at, file_name=row.file_name, sha256=row.sha256,
                       width=row.width, height=row.height, detector=row.detector, model_version=row.model_version,
                       threshold=row.threshold, image_url=f"/api/v1/analyses/{row.id}/image",
                       faces=image.to_dict()["faces"])
