"""Temperature scaling and calibration error: known answers, and the runtime applying a file's temperature."""

from dataclasses import replace

import numpy as np
import pytest

from ferkit import calibration
from ferkit.views import Views


def test_ece_by_hand():
    probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.8, 0.2], [0.3, 0.7]])
    labels = np.array([0, 1, 0, 1])
    # One answer per bin; gaps |0.9-1|, |0.6-0|, |0.8-1|, |0.7-1| averaged.
    assert calibration.reliability(probabilities, labels).ece == pytest.approx(0.3)
    two_bins = calibration.reliability(probabilities, labels, bins=2)
    assert two_bins.count.tolist() == [0, 4] and two_bins.accuracy[1] == pytest.approx(0.75)
    assert two_bins.ece == pytest.approx(abs(0.75 - 0.75))  # mean confidence 0.75 = accuracy 0.75


def test_scaling_keeps_the_top_class_and_sums_to_one():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(7), 500).astype(np.float32)
    for temperature in (0.5, 1.0, 3.0):
        scaled = calibration.scale(probabilities, temperature)
        assert (scaled.argmax(1) == probabilities.argmax(1)).all() and np.allclose(scaled.sum(1), 1, atol=1e-5)
    assert (calibration.scale(probabilities, 0.5).max(1) >= probabilities.max(1) - 1e-6).all()


def test_fit_recovers_an_overconfident_models_temperature():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 1.5, (20_000, 7))
    true = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(7, p=row) for row in true])  # calibrated at T = 1
    overconfident = np.exp(2 * logits) / np.exp(2 * logits).sum(1, keepdims=True)
    assert calibration.fit_temperature(overconfident, labels) == pytest.approx(2.0, rel=0.05)
    before = calibration.reliability(overconfident, labels).ece
    after = calibration.reliability(calibration.scale(overconfident, 2.0), labels).ece
    assert after < 0.02 < before


def test_fit_on_views_is_fitted_on_their_average():
    """The analyzer averages a crop's and its mirror's scaled answers; the temperature fitted on the two views is
    the one whose average has the least NLL (not either view's own), and one view fits as the plain array does."""
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 1.5, (20_000, 7))
    labels = np.array([rng.choice(7, p=row) for row in np.exp(logits) / np.exp(logits).sum(1, keepdims=True)])
    views = [np.exp(2 * (logits + rng.normal(0, 0.7, logits.shape))) for _ in range(2)]
    views = [view / view.sum(1, keepdims=True) for view in views]
    fitted = calibration.fit_temperature(views, labels)
    assert calibration.fit_temperature([views[0]], labels) == calibration.fit_temperature(views[0], labels)
    assert fitted < calibration.fit_temperature(views[0], labels)  # the average is less sure than one view

    def nll(temperature):
        return calibration.negative_log_likelihood(calibration.scale_views(views, temperature), labels)

    assert nll(fitted) < min(nll(fitted * 1.05), nll(fitted / 1.05))


def test_a_files_temperature_is_applied_after_the_crops_are_averaged():
    import cv2

    from ferkit.runtime.recognizer import EmotionRecognizer
    from ferkit.runtime.shipped import emotion_model_path
    from ferkit.service.assets import STATIC

    path = emotion_model_path("fer2013-int8")
    calibrated, raw = EmotionRecognizer(path), EmotionRecognizer(path, calibrated=False)
    photo = cv2.imread(str(STATIC / "examples" / "portrait.jpg"))
    height, width = photo.shape[:2]
    crops = [photo[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4], photo]
    for views in Views:  # one rule for every views: each view at the temperature, then their mean
        each = raw.view_probabilities(raw.prepare(crops), views)
        expected = np.mean([calibration.scale(view, calibrated.temperature) for view in each], axis=0)
        assert np.allclose(calibrated.predict_faces(crops, views), expected, atol=1e-6)
        assert np.allclose(raw.predict_faces(crops, views), each.mean(axis=0), atol=1e-6)


def test_a_card_round_trips_and_refuses_what_it_cannot_read():
    from ferkit.card import ModelCard, Preprocessing, SplitMetrics, metric_key
    from ferkit.errors import FerkitError

    card = ModelCard(
        "vgg_fer",
        ("a", "b"),
        Preprocessing(48, 40, True, 0.5, 0.25),
        metrics={"PrivateTest": SplitMetrics(count=10, accuracy=0.7, recall={"a": 0.5, "b": 1.0})},
        extra={"input": "pixels"},
    )
    again = ModelCard.from_json(card.to_json(), "x")
    assert again == card and again.metric("PrivateTest").accuracy == 0.7 and again.metric("PublicTest") is None
    assert again.metric("PrivateTest").balanced == 0.75  # older files record no balanced accuracy: the recalls' mean
    assert metric_key("PrivateTest", Views.TEN) == "PrivateTest-tencrop" and card.temperature == 1.0
    assert metric_key("PrivateTest", Views.MIRROR) == "PrivateTest-mirror" and card.views == Views.MIRROR
    centre = ModelCard.from_json(replace(card, views=Views.CENTRE).to_json(), "x")
    assert centre.views is Views.CENTRE and ModelCard.from_dict({**card.to_dict(), "views": "ten"}).views is Views.TEN
    # The calibration record is typed; a file calibrated before views were named said "mirror": true or false.
    from ferkit.card import Calibration, SplitCalibration

    fit = Calibration(
        1.5, "PublicTest", "runtime", Views.CENTRE, 15, "h", {"PrivateTest": SplitCalibration(0.1, 0.02, 1.0, 0.9)}
    )
    assert ModelCard.from_json(replace(card, calibration=fit).to_json()).calibration == fit
    older = {**fit.to_dict(), "mirror": False}
    del older["views"]
    assert (
        Calibration.from_dict(older) == fit and Calibration.from_dict({**older, "mirror": True}).views is Views.MIRROR
    )
    assert Calibration.from_dict({}) == Calibration() and Calibration().to_dict() == {} and card.temperature == 1.0
    with pytest.raises(FerkitError, match="unknown views 'sideways'"):
        ModelCard.from_dict({**card.to_dict(), "views": "sideways"}, "odd.onnx")
    with pytest.raises(FerkitError, match="newer than this ferkit reads"):
        ModelCard.from_dict({**card.to_dict(), "format": 99}, "future.onnx")
    with pytest.raises(FerkitError, match="lacks preprocessing"):
        ModelCard.from_dict({"arch": "x", "classes": ["a"]}, "old.onnx")
    with pytest.raises(FerkitError, match="not JSON"):
        ModelCard.from_json("{", "broken.onnx")


def test_every_shipped_file_s_metrics_read_typed_and_write_back_as_recorded():
    """The typed record reads what each shipped file and manifest holds and writes the same JSON back."""
    import json

    import onnxruntime

    from ferkit.card import METADATA_KEY, ModelCard, SplitMetrics, metrics_from_dict, metrics_to_dict
    from ferkit.runtime.shipped import SHIPPED_MODELS

    for model in SHIPPED_MODELS:
        if model.file.suffix == ".json":  # an ensemble's manifest
            recorded = json.loads(model.file.read_text())["metrics"]
            typed = metrics_from_dict(recorded)
        else:
            session = onnxruntime.InferenceSession(str(model.file), providers=["CPUExecutionProvider"])
            text = session.get_modelmeta().custom_metadata_map[METADATA_KEY]
            recorded, typed = json.loads(text)["metrics"], ModelCard.from_json(text, model.name).metrics
        assert recorded and all(isinstance(record, SplitMetrics) for record in typed.values()), model.name
        expected = {key: {k: v for k, v in record.items() if v is not None} for key, record in recorded.items()}
        assert metrics_to_dict(typed) == expected, model.name


def test_a_temperature_is_fitted_on_the_answer_as_the_labels_name_it():
    """A model of three classes calibrated on labels of two: the fit minimises the log-likelihood of the answer
    read in those two (scaled, then restricted to them), which a grid over temperatures confirms."""
    from ferkit.labels import restrict_probabilities

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(400, 3)) * 2
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = (probabilities[:, 1] > probabilities[:, 0]).astype(int)  # labels name the first two classes only
    labels[rng.random(400) < 0.2] ^= 1  # and are noisy

    def read(answer: np.ndarray) -> np.ndarray:
        return restrict_probabilities(answer, ("a", "b", "c"), ("a", "b"))

    fitted = calibration.fit_temperature(probabilities, labels, read=read)
    grid = np.exp(np.linspace(np.log(0.1), np.log(10), 2001))
    nll = [calibration.negative_log_likelihood(read(calibration.scale_views([probabilities], t)), labels) for t in grid]
    assert fitted == pytest.approx(grid[int(np.argmin(nll))], rel=0.01)
    unread = calibration.fit_temperature(probabilities, labels)  # the third class's share counted as wrong
    assert abs(unread - fitted) > 0.05


def test_a_prior_correction_divides_the_answer_by_the_prior_before_the_temperature():
    """softmax((log p - power * log prior) / T): a class the model gives most of its answers to loses, a rare one
    gains; with power 0 nothing is added; the card keeps the prior and power, and older cards load without them."""
    from ferkit.card import Calibration

    probabilities = np.array([[0.5, 0.4, 0.1], [0.2, 0.3, 0.5]], np.float32)
    prior = (0.6, 0.3, 0.1)
    bias = calibration.prior_bias(prior, 0.5)
    expected = probabilities / np.sqrt(prior)
    expected = expected ** (1 / 2.0) / (expected ** (1 / 2.0)).sum(axis=1, keepdims=True)
    assert np.allclose(calibration.scale(probabilities, 2.0, bias), expected, atol=1e-6)
    assert calibration.scale(probabilities, 1.0, bias).argmax(axis=1).tolist() == [1, 2]  # the first answer moves
    assert calibration.prior_bias(prior, 0.0) is None
    record = Calibration(temperature=1.5, fitted_on="PublicTest", path="runtime", prior=prior, prior_power=0.5)
    again = Calibration.from_dict(record.to_dict())
    assert again == record and np.allclose(again.log_bias, bias)
    older = {key: value for key, value in record.to_dict().items() if not key.startswith("prior")}
    assert Calibration.from_dict(older).log_bias is None
