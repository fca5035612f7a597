"""`ferkit train` for the classic baseline (model.name: hog_svm): HOG features of the Training faces, a linear
SVM per regularisation strength, the one best on the validation split kept. scikit-learn, no torch."""

from __future__ import annotations

import time
from pathlib import Path

from ferkit.card import ModelCard, Preprocessing
from ferkit.config import Config
from ferkit.data import load_store
from ferkit.errors import ConfigError
from ferkit.evaluation.classic import MODEL_FILE, HogSvmPredictor, hog_features
from ferkit.training.result import RunResult
from ferkit.views import Views

CLASSIC_MODELS = ("hog_svm",)
SVM_C = (0.001, 0.01, 0.1)  # regularisation strengths tried; the validation split picks one


def train_classic(config: Config, run_dir: Path, final_report: bool = True) -> RunResult:
    from sklearn.svm import LinearSVC

    store = load_store(config.data.store)
    train_part, val_part = (_labelled(store, *config.data.train_splits), _labelled(store, config.data.val_split))
    started = time.perf_counter()
    features = hog_features(train_part.images)
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
    features, val_features = (features - mean) / scale, (hog_features(val_part.images) - mean) / scale
    print(f"HOG features: {features.shape[1]} per face, {len(features)} training faces", flush=True)
    best = None
    for strength in SVM_C:
        svm = LinearSVC(C=strength, dual=False, max_iter=5000, random_state=config.train.seed)
        svm.fit(features, train_part.labels)
        accuracy = float((svm.predict(val_features) == val_part.labels).mean())
        print(f"C={strength:g}: {config.data.val_split} accuracy {accuracy:.4f}", flush=True)
        if best is None or accuracy > best[0]:
            best = (accuracy, strength, svm)
    accuracy, strength, svm = best
    seconds = time.perf_counter() - started
    card = _card(config, store, strength, seconds)
    HogSvmPredictor.save(run_dir / MODEL_FILE, svm.coef_, svm.intercept_, mean, scale, card)
    print(f"kept C={strength:g} ({config.data.val_split} {accuracy:.4f}); trained in {seconds:.0f} s", flush=True)
    if final_report:
        from ferkit.training.report import report_run

        report_run(run_dir, config.data.store, predictor=HogSvmPredictor(run_dir), views=(Views.CENTRE,))
    return RunResult(run_dir, 1, accuracy, 1)


def _labelled(store, *splits: str):
    part = store.split(*splits)
    part = part.subset(part.labels >= 0)
    if len(part) == 0:
        raise ConfigError(f"the store has no labelled faces in {', '.join(splits)}")
    return part


def _card(config: Config, store, strength: float, seconds: float) -> ModelCard:
    size = store.images.shape[1]
    return ModelCard(
        arch="hog_svm",
        classes=tuple(store.classes),
        preprocessing=Preprocessing(size, size, store.equalized, normalisation="HOG features, standardised"),
        label_set=store.label_set,
        data_hash=store.data_hash(),
        views=Views.CENTRE,  # whole faces, no crops
        extra={"svm_c": strength, "train_seconds": round(seconds, 1), "train_splits": config.data.train_splits},
    )
