"""Response shapes, which are also the OpenAPI schema the service documents and is fuzzed against."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel


class FaceOut(BaseModel):
    face_id: int
    bbox: list[int]
    score: float
    emotion: str | None
    probabilities: dict[str, float]
    age_range: str | None = None
    age: float | None = None


class AnalysisOut(BaseModel):
    id: str  # random (UUID 4), never reused: knowing one gives no way to the others
    created_at: AwareDatetime  # RFC 3339 with its zone (UTC) on every database
    file_name: str
    sha256: str
    width: int
    height: int
    detector: str
    views: str  # the views of each face the classifier answered on (centre, mirror, ten)
    model_version: str
    threshold: float
    faces_dropped: int  # faces found beyond the cap on faces per photo (the smallest), neither classified nor kept
    image_url: str
    faces: list[FaceOut]


class AnalysisSummary(BaseModel):
    """A listing's entry: what an analysis found, counted, whatever the number of faces; its faces are at `url`."""

    id: str
    created_at: AwareDatetime
    file_name: str
    width: int
    height: int
    detector: str
    views: str
    model_version: str
    threshold: float
    faces_dropped: int
    url: str
    image_url: str
    face_count: int
    emotions: dict[str, int]  # faces per emotion label ("unlabelled": under the threshold)
    top_emotion: str | None  # the label of the most faces (None without a labelled face)


class AnalysisPage(BaseModel):
    items: list[AnalysisSummary]
    total: int
    page: int
    per_page: int


class ChoiceOut(BaseModel):
    choices: list[str]
    default: str
    help: str


class RangeOut(BaseModel):
    minimum: float | None  # None: unbounded
    maximum: float | None
    default: float
    help: str


class OptionsOut(BaseModel):
    """What an upload's form fields accept, from the definitions the server checks them with: the page builds
    its controls from this, so it never offers a value the server refuses."""

    detector: ChoiceOut
    views: ChoiceOut
    threshold: RangeOut
    model_version: str


class ExampleOut(BaseModel):
    name: str
    url: str


class ErrorOut(BaseModel):
    detail: str
