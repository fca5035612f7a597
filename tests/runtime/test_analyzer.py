import csv
import json
import shutil
import struct

import cv2
import numpy as np
import pytest

from ferkit.cli import main
from ferkit.deadline import Deadline, DeadlinePassed, RequesterGone, asked_at_most_every
from ferkit.labels import age_range
from ferkit.runtime.analyzer import Analyzer
from ferkit.runtime.crop import crop_face, eye_angle
from ferkit.runtime.draw import annotate
from ferkit.runtime.images import decode_image
from ferkit.runtime.results import Face
from ferkit.views import Views

# The default model answers in FER+'s eight classes, in one vocabulary with every model (labels.canonical).
CLASSES = ["neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt"]


@pytest.fixture(scope="module")
def portrait(samples):
    return cv2.imread(str(samples / "photos" / "obama_small.jpg"))  # 320x240, one face


def test_result_shape_and_json(analyzer, samples):
    result = analyzer.analyze_path(samples / "photos" / "two_people.jpg")
    data = json.loads(json.dumps(result.to_dict()))
    assert (data["file_name"], data["width"], data["height"]) == ("two_people.jpg", 1126, 661)
    assert len(data["faces"]) == 2 and [f["face_id"] for f in data["faces"]] == [0, 1]
    for face in data["faces"]:
        assert all(isinstance(v, int) for v in face["bbox"])
        assert list(face["probabilities"]) == CLASSES
        assert sum(face["probabilities"].values()) == pytest.approx(1, abs=1e-3)
        assert face["emotion"] == max(face["probabilities"], key=face["probabilities"].get)
        assert "age_range" in face


def test_threshold_hides_the_label_but_keeps_the_face(samples):
    result = Analyzer(threshold=1.0).analyze_path(samples / "photos" / "kit_with_rose.jpg")
    assert len(result.faces) == 2 and all(f.emotion is None for f in result.faces)
    assert result.to_dict()["threshold"] == 1.0


def test_a_photo_without_faces_is_an_empty_list(analyzer):
    result = analyzer.analyze(np.full((480, 640, 3), 90, np.uint8), "wall.jpg")
    assert result.faces == [] and result.error is None


def encode(image, ext, *params):
    return cv2.imencode(ext, image, list(params))[1].tobytes()


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """Insert an APP1 Exif segment holding only the Orientation tag right after SOI."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_formats_users_have(analyzer, portrait):
    gray = cv2.cvtColor(portrait, cv2.COLOR_BGR2GRAY)
    rgba = cv2.cvtColor(portrait, cv2.COLOR_BGR2BGRA)
    deep = portrait.astype(np.uint16) * 257
    variants = {
        "jpeg": encode(portrait, ".jpg"),
        "png": encode(portrait, ".png"),
        "webp": encode(portrait, ".webp"),
        "bmp": encode(portrait, ".bmp"),
        "gray": encode(gray, ".png"),
        "rgba": encode(rgba, ".png"),
        "16-bit": encode(deep, ".png"),
    }
    for name, data in variants.items():
        image = decode_image(data, name)
        assert image.shape == portrait.shape and image.dtype == np.uint8, name
        assert len(analyzer.analyze(image, name).faces) == 1, name


def test_exif_rotation_is_applied(analyzer, portrait):
    # Stored turned a quarter left; orientation 6 tells viewers to turn it right again.
    stored = cv2.rotate(portrait, cv2.ROTATE_90_COUNTERCLOCKWISE)
    image = decode_image(with_exif_orientation(encode(stored, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 95), 6))
    assert image.shape == portrait.shape
    assert len(analyzer.analyze(image).faces) == 1


def test_very_large_photo_boxes_come_back_in_original_coordinates(analyzer, portrait):
    small_box = np.array(analyzer.analyze(portrait).faces[0].bbox)
    huge = cv2.resize(portrait, None, fx=10, fy=10, interpolation=cv2.INTER_LINEAR)  # 3200x2400
    faces = analyzer.analyze(huge).faces
    assert len(faces) == 1
    from ferkit.runtime.boxes import pairwise_iou as iou

    assert iou(np.array([faces[0].bbox], float), np.array([small_box * 10], float))[0, 0] > 0.85


def test_eye_angle_and_aligned_crop():
    landmarks = np.array([[40, 50], [60, 60], [50, 70], [42, 80], [58, 85]], float)
    assert eye_angle(landmarks) == pytest.approx(np.degrees(np.arctan2(10, 20)))
    image = np.zeros((100, 100, 3), np.uint8)
    face = Face((30, 30, 70, 90), 0.9, landmarks)
    crop = crop_face(image, face, margin=0.25, align=True)
    assert crop.shape == (90, 90, 3)  # longest side 60, plus 25% on each side


def test_annotation_keeps_size_and_draws(analyzer, samples):
    image = cv2.imread(str(samples / "photos" / "two_people.jpg"))
    drawn = annotate(image, analyzer.analyze(image).faces)
    assert drawn.shape == image.shape and (drawn != image).any()


def test_faces_per_photo_are_capped_and_counted(analyzer, samples):
    """A photo tiled with faces costs at most `max_faces` classifications: the largest faces are kept, the
    answer says how many more were found."""
    face = cv2.resize(cv2.imread(str(samples / "photos" / "obama.jpg")), (160, 120))
    tiled = np.tile(face, (4, 5, 1))
    tiled[:120, :160] = cv2.resize(cv2.imread(str(samples / "photos" / "obama.jpg")), (320, 240))[60:180, 80:240]
    found = len(analyzer.detect_counted(tiled)[0])
    assert found >= 15
    capped = Analyzer(max_faces=6, age=False).analyze(tiled)
    assert len(capped.faces) == 6 and capped.faces_dropped == found - 6
    assert capped.to_dict()["faces_dropped"] == found - 6 and "faces_dropped" not in analyzer.analyze(face).to_dict()
    largest = max(analyzer.detect(tiled), key=lambda f: f.width * f.height)
    assert largest.bbox in [f.bbox for f in capped.faces]


def test_an_analysis_stops_between_stages_when_its_deadline_says_so(analyzer, portrait):
    """A passed deadline or a requester gone stops the work before the emotions are read; a deadline with time
    left changes nothing in the answer."""
    with pytest.raises(DeadlinePassed, match="before reading emotions"):
        analyzer.analyze(portrait, deadline=Deadline.after(0))
    with pytest.raises(RequesterGone, match="client went away"):
        analyzer.analyze(portrait, deadline=Deadline.after(60, requester_gone=lambda: True))
    timed = analyzer.analyze(portrait, deadline=Deadline.after(60, requester_gone=lambda: False))
    assert timed.to_dict() == analyzer.analyze(portrait).to_dict() and len(timed.faces) == 1


def test_a_costly_question_is_asked_at_most_so_often_and_gone_stays_gone(monkeypatch):
    """The service asks whether a client left through the event loop: the first check asks, checks within the
    interval reuse the answer, a check after it asks again, and a requester once gone is never asked again."""
    now, answers, asked = [100.0], iter([False, True]), []
    monkeypatch.setattr("ferkit.deadline.time.monotonic", lambda: now[0])
    gone = asked_at_most_every(0.25, lambda: asked.append(now[0]) or next(answers))
    assert gone() is False and gone() is False and asked == [100.0]
    now[0] = 100.2
    assert gone() is False and asked == [100.0]
    now[0] = 100.3
    assert gone() is True and asked == [100.0, 100.3]
    now[0] = 200.0
    assert gone() is True and asked == [100.0, 100.3]
    with pytest.raises(RequesterGone):
        Deadline.after(60, requester_gone=gone).check("reading emotions")


@pytest.mark.parametrize("shape", [(1, 3000, 3), (3000, 1, 3), (1, 1, 3)])
def test_degenerate_image_sizes_are_analysed(analyzer, shape):
    """A 1x3000 strip is shrunk for the detector to at least one pixel a side, not to zero (a 500 in the
    service before)."""
    assert analyzer.analyze(np.full(shape, 128, np.uint8)).faces == []


def test_video_faces_are_labelled_by_their_track(analyzer, samples, monkeypatch):
    """The annotated video names a face as its CSV and JSON do (the track id); a photo's face by its number."""
    image = cv2.imread(str(samples / "photos" / "two_people.jpg"))
    faces = analyzer.analyze(image).faces
    texts: list[str] = []
    monkeypatch.setattr(cv2, "putText", lambda canvas, text, *args: texts.append(text))
    annotate(image, faces)
    faces[0].track_id, faces[1].track_id = 17, 4
    annotate(image, faces)
    assert [text.split()[0] for text in texts] == ["#0", "#1", "#17", "#4"]


def test_labels_stay_inside_the_image_and_do_not_cover_each_other():
    from ferkit.runtime.draw import place_label

    placed = []
    shape = (300, 400, 3)
    # Two faces side by side near the top and one at the right edge: the naive spots collide or overflow.
    for bbox in [(100, 30, 160, 90), (150, 40, 210, 100), (370, 200, 400, 240)]:
        box = place_label(bbox, (120, 20), shape, placed)
        assert 0 <= box[0] and box[2] <= shape[1] and 0 <= box[1] and box[3] <= shape[0]
        assert not any(box[0] < o[2] and o[0] < box[2] and box[1] < o[3] and o[1] < box[3] for o in placed)
        placed.append(box)
    assert placed[2][2] == 400  # pulled left to fit, not cut off


def test_cli_outputs_and_partial_failure(samples, tmp_path, capsys):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    photos = [str(samples / "photos" / n) for n in ("obama.jpg", "kit_with_rose.jpg")]
    code = main(
        [
            "analyze",
            *photos,
            str(tmp_path / "broken.jpg"),
            "--out",
            str(tmp_path / "out"),
            "--csv",
            str(tmp_path / "faces.csv"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "broken.jpg: unreadable or corrupt image" in captured.err and "Traceback" not in captured.err
    assert "kit_with_rose.jpg: 2 face(s)" in captured.out
    data = json.loads((tmp_path / "out" / "kit_with_rose.json").read_text())
    assert len(data["faces"]) == 2
    annotated = cv2.imread(str(tmp_path / "out" / "obama.annotated.jpg"))
    assert annotated.shape == cv2.imread(photos[0]).shape
    with open(tmp_path / "faces.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4  # 1 + 2 faces, and a row for the failed file
    assert rows[-1]["error"].endswith("unreadable or corrupt image") and rows[0]["happy"]


def test_cli_says_a_video_is_a_video(samples, tmp_path, capsys):
    """A video named as a photo is not 'corrupt': the error points to `ferkit video`; one in a folder is named
    in a note instead of being skipped without a word."""
    clip = samples / "video" / "short_hamilton_clip.mp4"
    assert main(["analyze", str(clip), "--out", str(tmp_path / "a")]) == 1
    assert f"{clip}: a video, not a photo; analyse it with `ferkit video {clip}`" in capsys.readouterr().err
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(clip, folder / "clip.mp4")
    shutil.copy(samples / "photos" / "obama.jpg", folder / "obama.jpg")
    assert main(["analyze", str(folder), "--out", str(tmp_path / "b")]) == 0
    captured = capsys.readouterr()
    assert "1 video(s) left out" in captured.err and "clip.mp4" in captured.err and "obama.jpg: 1 face" in captured.out


def test_photos_named_alike_keep_their_source_in_the_json(samples, tmp_path, capsys):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(samples / "photos" / "obama.jpg", tmp_path / folder / "x.jpg")
    assert main(["analyze", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "out"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [item["source"] for item in printed] == [str(tmp_path / "a" / "x.jpg"), str(tmp_path / "b" / "x.jpg")]
    written = [json.loads((tmp_path / "out" / name).read_text())["source"] for name in ("x.json", "x-2.json")]
    assert written == [item["source"] for item in printed]


def test_cli_folder_input_and_json(samples, capsys):
    assert main(["analyze", str(samples / "photos"), "--json", "--detector", "ssd"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 11 and all("faces" in r for r in results)


def test_cli_bad_options(samples, capsys):
    assert main(["analyze", str(samples / "photos" / "obama.jpg"), "--detector", "nope"]) == 2
    assert "unknown detector" in capsys.readouterr().err
    assert main(["analyze", str(samples / "photos" / "obama.jpg"), "--model", "missing.onnx"]) == 2
    assert "no such model file" in capsys.readouterr().err


def test_every_face_gets_an_age_estimate_and_range(samples):
    """End to end with the shipped age model: photo in, age and range out, in JSON and CSV alike."""
    from ferkit.runtime.analyzer import DEFAULT_AGE_MODEL

    assert DEFAULT_AGE_MODEL.is_file()
    result = Analyzer().analyze_path(samples / "photos" / "obama_and_biden.jpg")
    assert len(result.faces) == 3
    ranges = {"0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+"}
    for face in result.to_dict()["faces"]:
        assert 0 <= face["age"] <= 100 and face["age_range"] in ranges
        # Whole years, so the age and its range never disagree at a boundary (49.5 beside "50-59").
        assert face["age"] == int(face["age"]) and face["age_range"] == age_range(face["age"])
    adults = [f for f in result.faces if f.bbox[2] - f.bbox[0] > 150]
    child = min(result.faces, key=lambda f: f.bbox[2] - f.bbox[0])
    assert all(f.age > child.age for f in adults)  # the girl in the corner is read younger than both men
    assert Analyzer(age=False).analyze_path(samples / "photos" / "obama.jpg").faces[0].age is None


def test_detector_none_classifies_the_whole_image(analyzer, portrait, tmp_path):
    from ferkit.runtime.analyzer import Analyzer
    from ferkit.runtime.detectors import create_detector, list_detectors
    from ferkit.runtime.shipped import load_emotion_model

    assert "none" in list_detectors()
    x1, y1, x2, y2 = analyzer.detect(portrait)[0].bbox
    crop = cv2.resize(cv2.cvtColor(portrait[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY), (48, 48))  # as data sets keep faces
    cv2.imwrite(str(tmp_path / "face.png"), crop)
    mirrored_model = "fer2013-resnet"  # a model whose card's own views are the mirror's
    whole = Analyzer(detector="none", age=False, model=mirrored_model).analyze_path(tmp_path / "face.png")
    assert [face.bbox for face in whole.faces] == [(0, 0, 48, 48)]
    image = cv2.imread(str(tmp_path / "face.png"))
    recognizer = load_emotion_model(mirrored_model)
    face, mirrored = recognizer.predict_faces([image, np.ascontiguousarray(image[:, ::-1])])
    # By default (the model's card) a face's answer is the mean of its own and its mirror image's; --views centre
    # keeps its own.
    assert list(whole.faces[0].probabilities.values()) == pytest.approx(((face + mirrored) / 2).tolist(), abs=1e-6)
    alone = Analyzer(detector="none", age=False, views="centre", model=mirrored_model).analyze_path(
        tmp_path / "face.png"
    )
    assert list(alone.faces[0].probabilities.values()) == pytest.approx(face.tolist(), abs=1e-6)
    assert np.abs(face - mirrored).max() > 1e-3  # so the two assertions above tell the modes apart
    assert len(create_detector("none").detect(np.zeros((5, 7, 3), np.uint8))) == 1  # even a blank image: by design


@pytest.mark.parametrize(
    "options,message",
    [
        ({"detector": "nope"}, "unknown detector 'nope'"),
        ({"confidence": 1.5}, "confidence must be between"),
        ({"margin": -0.1}, "margin must be between"),
        ({"min_face": -1}, "min_face must be 0 or more"),
    ],
)
def test_options_are_checked_once_on_construction(options, message):
    from ferkit.errors import FerkitError
    from ferkit.runtime.analyzer import AnalyzerOptions

    with pytest.raises(FerkitError, match=message):
        AnalyzerOptions(**options)


def test_overrides_apply_to_given_options():
    from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions

    analyzer = Analyzer(AnalyzerOptions(threshold=0.2), threshold=0.7, age=False)
    assert analyzer.options.threshold == 0.7 and analyzer.options.age is False


@pytest.mark.parametrize("command", ["video", "webcam"])
def test_cli_video_bad_smoothing_is_one_line_before_any_model_loads(samples, capsys, monkeypatch, command):
    import ferkit.cli as cli

    monkeypatch.setattr(cli, "_analyzer_from_args", lambda *a: pytest.fail("models loaded before the check"))
    source = [str(samples / "video" / "short_hamilton_clip.mp4")] if command == "video" else []
    assert cli.main([command, *source, "--smooth", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "smooth" in err and "Traceback" not in err


def test_analyzer_options_cannot_change_under_an_analyzer():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        Analyzer(age=False).options.threshold = 0.9  # type: ignore[misc]


@pytest.mark.parametrize("command", ["analyze", "video", "webcam", "batch"])
def test_every_option_is_a_flag_with_the_options_default(command):
    """The CLI's analyzer flags are made from AnalyzerOptions: none is missing, none has its own default."""
    from ferkit.cli import _analyzer_options, build_parser
    from ferkit.runtime.analyzer import AnalyzerOptions

    inputs = {"analyze": ["x.jpg"], "video": ["x.mp4"], "webcam": [], "batch": ["x", "--out", "y.parquet"]}
    args = build_parser().parse_args([command, *inputs[command]])
    assert _analyzer_options(args) == AnalyzerOptions()

    args = build_parser().parse_args(
        [
            command,
            *inputs[command],
            "--detector",
            "haar",
            "--min-face",
            "12",
            "--no-align",
            "--views",
            "ten",
            "--threads",
            "1",
        ]
    )
    assert _analyzer_options(args) == AnalyzerOptions(
        detector="haar", min_face=12, align=False, views=Views.TEN, threads=1
    )


@pytest.mark.parametrize("flags", [["--min-face", "-1"], ["--threshold", "2"], ["--detect-size", "8"]])
def test_out_of_range_flag_is_one_line_and_exit_2(flags, tmp_path, capsys):
    from ferkit.cli import main

    assert main(["analyze", str(tmp_path), *flags]) == 2
    err = capsys.readouterr().err
    assert flags[0].lstrip("-").replace("-", "_") in err and "Traceback" not in err
