"""One row shape for a face, whichever edge writes it: photo CSV, video CSV, batch Parquet, the service's rows."""

from ferkit.runtime.results import FACE_COLUMNS, FaceResult, FrameResult, ImageResult, row_columns

CLASSES = ["happy", "sad"]
FACE = FaceResult(3, (10, 20, 110, 140), 0.912345, {"happy": 0.712345, "sad": 0.287655}, "happy", "20-29", 24.26)


def test_a_face_row_has_its_columns_in_order_rounded_or_not():
    row = FACE.to_row(CLASSES)
    assert list(row) == row_columns(CLASSES)
    assert row == {
        "face_id": 3,
        "x1": 10,
        "y1": 20,
        "x2": 110,
        "y2": 140,
        "score": 0.9123,
        "emotion": "happy",
        "age_range": "20-29",
        "age": 24.3,
        "happy": 0.7123,
        "sad": 0.2877,
    }
    raw = FACE.to_row(CLASSES, prefix="p_", digits=None)
    assert list(raw) == [*FACE_COLUMNS, "p_happy", "p_sad"]
    assert (raw["score"], raw["age"], raw["p_happy"]) == (0.912345, 24.26, 0.712345)


def test_photo_and_video_csv_rows_carry_the_face_row():
    image = ImageResult("a.jpg", 640, 480, 0.0, [FACE])
    (row,) = image.csv_rows(CLASSES)
    assert list(row) == ImageResult.csv_columns(CLASSES)
    assert {k: row[k] for k in FACE_COLUMNS} == {k: v for k, v in FACE.to_row(CLASSES).items() if k in FACE_COLUMNS}

    frame = FrameResult(7, 0.2333, [FaceResult(**{**FACE.__dict__, "track_id": 2})])
    (row,) = frame.csv_rows(CLASSES)
    assert list(row) == FrameResult.csv_columns(CLASSES)
    assert (row["frame"], row["time"], row["track_id"], row["happy"]) == (7, 0.233, 2, 0.7123)


def test_an_image_without_faces_still_gets_a_row_saying_why():
    assert ImageResult("wall.png", 10, 10, 0.0).csv_rows(CLASSES) == [
        {"file_name": "wall.png", "width": 10, "height": 10, "error": "no face"}
    ]
    broken = ImageResult("torn.jpg", 0, 0, 0.0, error="cannot decode")
    assert broken.csv_rows(CLASSES)[0]["error"] == "cannot decode"
