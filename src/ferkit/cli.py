"""The `ferkit` command: one thin function per subcommand, each calling the Python API."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ferkit.errors import FerkitError
from ferkit.runtime.shipped import DEFAULT_EMOTION, EMOTION_MODELS
from ferkit.views import VIEW_NAMES, Views

if TYPE_CHECKING:
    from ferkit.card import Calibration, Predictor
    from ferkit.runtime.analyzer import Analyzer, AnalyzerOptions
    from ferkit.runtime.options import VideoOptions
    from ferkit.runtime.shipped import EmotionModel

T = TypeVar("T")
MODEL_HELP = (
    f"emotion model: a shipped name ({', '.join(EMOTION_MODELS)}; default {DEFAULT_EMOTION}), "
    "an .onnx file or an ensemble .json"
)


def cmd_data_prepare(args: argparse.Namespace) -> int:
    from ferkit.data.ingest import prepare

    store = prepare(
        args.source,
        args.out,
        votes=args.votes,
        merge_disgust=args.merge_disgust,
        splits=args.splits.split(",") if args.splits else None,
        resize=args.resize,
        equalize=args.equalize,
        force=args.force,
    )
    from ferkit.data.info import counts_table

    out = Path(args.out) if Path(args.out).suffix == ".npz" else Path(args.out).with_suffix(".npz")
    print(f"wrote {out}: {len(store):,} images, label set {store.label_set}, hash {store.data_hash()}")
    print(counts_table(store))
    return 0


def cmd_data_info(args: argparse.Namespace) -> int:
    from ferkit.data import load_store
    from ferkit.data.info import counts_table, plot_counts

    store = load_store(args.store)
    if args.json:
        print(json.dumps({"meta": store.meta(), "counts": store.counts()}, indent=2))
    else:
        print(
            f"{args.store}: {store.source}, {len(store):,} images, label set {store.label_set}, "
            f"equalized={store.equalized}, hash {store.data_hash()}"
        )
        print(counts_table(store))
    if args.plot:
        print(f"wrote {plot_counts(store, args.plot)}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """The shipped models (needs only the runtime), then the trainable architectures (needs torch)."""
    _print_shipped_models(args.speed)
    try:
        from ferkit.models import list_models, model_summary
    except ImportError:
        print("\ntrainable architectures: install the train extra (pip install 'ferkit[train]') to list them")
        return 0
    print(
        f"\ntrainable architectures (ferkit train --set model.name=NAME):\n"
        f"{'name':<18}{'params (M)':>11}{'MFLOPs':>10}{'input':>7}  description"
    )
    for name in list_models():
        info = model_summary(name)
        print(
            f"{name:<18}{info['params_m']:>11.2f}{info['mflops']:>10.1f}{info['input_size']:>7}  {info['description']}"
        )
    print("MFLOPs count a multiply-add as two operations, for one image at the input size.")
    return 0


def _print_shipped_models(speed_seconds: float | None) -> None:
    from ferkit.cpu import cpu_line
    from ferkit.runtime.model_table import shipped_models_table
    from ferkit.runtime.shipped import DEFAULT_EMOTION

    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("shipped models: install the runtime extra (pip install 'ferkit[runtime]') to run them")
        return
    print(f"shipped emotion models (--model NAME; default {DEFAULT_EMOTION}), measured on the test set named:")
    rows = shipped_models_table(speed_seconds)
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print(
        "balanced = mean per-class recall; ECE = expected calibration error (15 bins) with the file's temperature"
        " (and prior correction, where it has one), as analyze answers (runtime path, the model's views)"
    )
    print(
        "views: those analyze answers on by default (centre crop, mirror average, ten crops); figures on them where "
        "the file records them, else on the centre crop, marked (centre)"
    )
    if speed_seconds:
        print(f"crops/s: batch 64, onnxruntime's default threads, the kernel in brackets; {cpu_line()}")
    else:
        print("crops/s on this CPU: ferkit models --speed")


def cmd_train(args: argparse.Namespace) -> int:
    from ferkit.config import Config
    from ferkit.training.trainer import train

    config = Config.load(args.config, args.set)
    result = train(
        config, resume=args.resume, finetune=args.finetune, progress=not args.no_progress, stop_after=args.stop_after
    )
    print(f"run {result.run_dir}: {result.epochs_done} epochs done, {result.best()}")
    return 0


SPLIT_ALIASES = {"val": "PublicTest", "test": "PrivateTest", "train": "Training"}
OWN_VIEWS = "own"  # --views own: the views the model's card names, those `ferkit analyze` uses
VIEWS_SAID = {
    Views.CENTRE: "centre crop",
    Views.MIRROR: "each face averaged with its mirror image",
    Views.TEN: "ten crops",
}


def load_predictor(path: str) -> Predictor:
    """A shipped model's name, an .onnx file or an ensemble .json runs on the torch-free runtime; anything
    else is a torch checkpoint or run folder."""
    from ferkit.runtime.shipped import EMOTION_MODELS, MODEL_SUFFIXES, load_emotion_model

    if Path(path).suffix in MODEL_SUFFIXES or path in EMOTION_MODELS:
        return load_emotion_model(path)
    from ferkit.evaluation.classic import MODEL_FILE, HogSvmPredictor

    if Path(path).name == MODEL_FILE or (Path(path) / MODEL_FILE).is_file():
        return HogSvmPredictor(path)
    from ferkit.training.predict import CheckpointPredictor

    return CheckpointPredictor(path)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ferkit.evaluation.evaluate import evaluate_on_store

    split = SPLIT_ALIASES.get(args.split, args.split)
    predictor = load_predictor(args.model)
    views = _views(args, predictor)
    report, timing = evaluate_on_store(predictor, args.store, split, views, args.runtime_path, tuple(args.leave_out))
    path = ", runtime path: each face equalised again as `ferkit analyze` does" if args.runtime_path else ""
    print(f"{args.model} on {split} ({VIEWS_SAID[views]}){path}:")
    print(report.table())
    print(f"speed: {timing['images_per_second']:.0f} images/s ({timing['ms_per_image']:.2f} ms/image)")
    if args.json:
        record = {
            **report.to_dict(),
            "split": split,
            "runtime_path": args.runtime_path,
            "views": views.value,
            "timing": timing,
        }
        Path(args.json).write_text(json.dumps(record, indent=2))
    if args.plot:
        from ferkit.evaluation.metrics import ClassificationReport
        from ferkit.evaluation.plots import plot_confusion

        if not isinstance(report, ClassificationReport):
            raise FerkitError("--plot draws a confusion matrix, which an age model does not have")
        plot_confusion(
            report.confusion, report.classes, args.plot, f"{Path(args.model).name} {split}: acc {report.accuracy:.4f}"
        )
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from ferkit.evaluation.compare import compare_models, format_table, write_csv

    split = SPLIT_ALIASES.get(args.split, args.split)
    rows = compare_models(
        {model: load_predictor(model) for model in args.models},
        args.store,
        split,
        None if args.views == OWN_VIEWS else Views(args.views),
    )
    said = "each model's own views" if args.views == OWN_VIEWS else VIEWS_SAID[Views(args.views)]
    print(f"{split} ({said})")
    print(format_table(rows))
    if args.csv:
        write_csv(rows, args.csv)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ferkit.export.onnx import export_onnx

    if args.int8 and (args.fp16_weights or not args.store):
        raise FerkitError("--int8 needs --store (its Training faces calibrate the quantiser) and no --fp16-weights")
    views = Views(args.views) if args.views else None
    if args.int8:
        from ferkit.export.quantize import quantize_int8

        # Quantise exactly what the fp16-weight export ships, so the two files differ only by int8.
        with tempfile.TemporaryDirectory() as folder:
            half = export_onnx(
                args.checkpoint,
                Path(folder) / "fp16.onnx",
                fp16_weights=True,
                teacher_share=args.teacher_share,
                views=views,
            )
            out = quantize_int8(half, args.out, args.store, count=args.calibration_count)
    else:
        out = export_onnx(
            args.checkpoint, args.out, fp16_weights=args.fp16_weights, teacher_share=args.teacher_share, views=views
        )
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    if args.store:
        _record_metrics(out, args.store)
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    if Path(args.model).suffix != ".onnx":
        raise FerkitError(
            f"{args.model}: ferkit record measures one .onnx file; "
            "an ensemble manifest is measured when `ferkit ensemble --store` writes it"
        )
    _record_metrics(Path(args.model), args.store)
    print(f"recorded in {args.model}")
    return 0


def _record_metrics(path: Path, store: str) -> None:
    from ferkit.evaluation.evaluate import recorded_metrics
    from ferkit.export.onnx import write_metrics
    from ferkit.runtime.recognizer import EmotionRecognizer

    write_metrics(path, recorded_metrics(EmotionRecognizer(path), store))


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the temperature on PublicTest as the analyzer sees it (runtime path, the model's own views unless
    --views says otherwise), measure calibration on both test splits the same way, write it into the file."""
    from ferkit.evaluation.calibrate import fit_on_store
    from ferkit.runtime.shipped import emotion_model_path

    path = emotion_model_path(args.model)
    model = _raw_model(path)
    views = _views(args, model)
    if not 0 <= args.prior_power <= 1:
        raise FerkitError(f"--prior-power {args.prior_power}: give a power from 0 (answers as trained) to 1")
    fit, curves = fit_on_store(model, args.store, views, args.prior_power)
    for split, record in fit.splits.items():
        print(
            f"{split:<12} ECE {record.ece_before:.4f} -> {record.ece_after:.4f}   "
            f"NLL {record.nll_before:.4f} -> {record.nll_after:.4f}"
        )
    _write_calibration(path, fit)
    said = VIEWS_SAID[views] + (f", FER's prior divided out to the power {fit.prior_power}" if fit.prior_power else "")
    print(f"temperature {fit.temperature:.4f} (fitted on PublicTest, runtime path, {said}) in {path}")
    if args.plot:
        from ferkit.evaluation.plots import plot_reliability

        plot_reliability(curves, args.plot, f"{path.stem}, PrivateTest")
        print(f"wrote {args.plot}")
    return 0


def _raw_model(path: Path) -> EmotionModel:
    from ferkit.runtime.ensemble import EnsembleRecognizer
    from ferkit.runtime.recognizer import EmotionRecognizer

    if path.suffix == ".json":
        return EnsembleRecognizer.load(path, calibrated=False)
    return EmotionRecognizer(path, calibrated=False)


def _write_calibration(path: Path, record: Calibration) -> None:
    from ferkit.runtime.ensemble import file_sha256, repin_members, write_calibration

    if path.suffix == ".json":
        write_calibration(path, record)
        return
    from ferkit.export.onnx import update_card

    before = file_sha256(path)
    update_card(path, calibration=record)
    for manifest in repin_members(path.parent, before, file_sha256(path)):
        print(f"{manifest}: member {path.name} pinned again (weights unchanged)")


def cmd_teacher(args: argparse.Namespace) -> int:
    from ferkit.runtime.shipped import emotion_model_path, load_emotion_model

    path = emotion_model_path(args.model)
    model = _raw_model(path) if args.raw else load_emotion_model(path)
    if args.augmented_views:
        return _teacher_views(args, model, path)
    from ferkit.evaluation.teacher import write_teacher_targets

    out = write_teacher_targets(
        model,
        args.store,
        args.out,
        views=Views(args.views),
        name=path.name,
        progress=not args.no_progress,
    )
    print(
        f"wrote {out}: {path.name}'s probabilities for every face of {args.store}; distil with --set data.teacher={out}"
    )
    return 0


def _teacher_views(args: argparse.Namespace, model: EmotionModel, path: Path) -> int:
    from ferkit.config import Config
    from ferkit.training.teacher_views import write_teacher_views

    if not args.recipe:
        raise FerkitError("--augmented-views draws the views a recipe's augmentation draws: name it (--recipe)")
    out = write_teacher_views(
        model,
        args.store,
        args.out,
        recipe=Config.load(args.recipe),
        passes=args.augmented_views,
        seed=args.view_seed,
        views=Views(args.views),
        name=path.name,
        progress=not args.no_progress,
    )
    print(
        f"wrote {out}: {path.name}'s probabilities on {args.augmented_views} augmented views of every Training face "
        f"of {args.store}; distil with --set data.teacher_views={out}"
    )
    return 0


def cmd_ensemble(args: argparse.Namespace) -> int:
    from ferkit.evaluation.evaluate import recorded_metrics
    from ferkit.runtime.ensemble import EnsembleRecognizer, check_manifest_place, write_manifest

    check_manifest_place(args.members, args.out)
    ensemble = EnsembleRecognizer.from_files(args.members)
    metrics = recorded_metrics(ensemble, args.store) if args.store else {}
    out = write_manifest(args.members, args.out, metrics)
    print(f"wrote {out}: {ensemble.card.arch} ({len(args.members)} members)")
    return 0


def cmd_export_mtcnn(args: argparse.Namespace) -> int:
    from ferkit.export.mtcnn import export_mtcnn

    for path in export_mtcnn(args.weights, args.out):
        print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from ferkit.config import Config
    from ferkit.training.sweep import format_results, run_sweep

    config = Config.load(args.config, args.set)
    rows = run_sweep(
        config, args.optimizers.split(","), args.schedulers.split(","), args.out, progress=not args.no_progress
    )
    print(format_results(rows))
    print(f"wrote {Path(args.out) / 'results.csv'} and {Path(args.out) / 'sweep.png'}")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from ferkit.runtime.images import expand_inputs, videos_in
    from ferkit.runtime.outputs import OutputWriter

    options = _analyzer_options(args)  # a bad flag is named before any input is looked at
    paths = expand_inputs(args.inputs)
    videos = videos_in(args.inputs)
    if videos:
        print(f"ferkit: {len(videos)} video(s) left out, e.g. {videos[0]}: `ferkit video` reads them", file=sys.stderr)
    if not paths:
        raise FerkitError("no images found in the given inputs")
    analyzer = _analyzer_from_args(args, options)
    failed, collected = 0, []
    with OutputWriter(args.out, args.csv, analyzer.classes, annotate_images=not args.no_annotate) as writer:
        for path, result, image in analyzer.analyze_paths(paths):
            writer.write(path, result, image)
            if result.error:
                failed += 1
                print(f"ferkit: error: {result.error}", file=sys.stderr)
            elif not args.json:
                labels = ", ".join(f"#{f.face_id} {f.emotion or '?'} {f.top_probability:.0%}" for f in result.faces)
                print(f"{path}: {len(result.faces)} face(s){': ' + labels if labels else ''}")
            collected.append({"source": str(path), **result.to_dict()})
    if args.json:
        print(json.dumps(collected, indent=2))
    if failed:
        print(f"ferkit: {failed} of {len(paths)} input(s) failed", file=sys.stderr)
    return 1 if failed else 0


def cmd_evaluate_detector(args: argparse.Namespace) -> int:
    from ferkit.runtime.detector_eval import evaluate_detector, format_scores, read_boxes

    boxes = read_boxes(args.boxes)
    names = args.detectors.split(",")
    scores = [evaluate_detector(name, args.images, boxes, args.iou) for name in names]
    print(format_scores(scores, args.iou))
    return 0


def _analyzer_from_args(args: argparse.Namespace, options: AnalyzerOptions | None = None) -> Analyzer:
    from ferkit.runtime.analyzer import Analyzer

    return Analyzer(options or _analyzer_options(args), model=args.model, age_model=args.age_model)


def _analyzer_options(args: argparse.Namespace) -> AnalyzerOptions:
    from ferkit.runtime.analyzer import AnalyzerOptions

    return _options_from_args(args, AnalyzerOptions)


def _video_options(args: argparse.Namespace) -> VideoOptions:
    from ferkit.runtime.options import VideoOptions

    return _options_from_args(args, VideoOptions)


def _options_from_args(args: argparse.Namespace, options_class: type[T]) -> T:
    """The options object whose fields the flags of _add_option_flags filled (validated on construction)."""
    from ferkit.runtime.options import specs_of

    return options_class(**{name: getattr(args, name) for name in specs_of(options_class)})


def cmd_video(args: argparse.Namespace) -> int:
    from ferkit.runtime.timeline import check_timeline_output, plot_timeline
    from ferkit.runtime.video import analyze_video

    # Outputs written at the end are checked before the first frame, not after the last.
    if args.plot:
        check_timeline_output(args.plot)
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise FerkitError(f"{args.json}: its folder does not exist")
    options = _video_options(args)  # a bad --smooth or --every is named before any model loads
    result = analyze_video(
        args.input,
        _analyzer_from_args(args),
        options,
        annotated=args.out,
        csv_path=args.csv,
        progress=not args.no_progress,
        keep_frames=bool(args.json or args.plot),
    )
    tracks = result.tracks()
    print(f"{args.input}: {result.frames_read} frames read, {result.analysed_frames} analysed, {len(tracks)} track(s)")
    for track in tracks:
        shares = ", ".join(f"{k} {v:.0%}" for k, v in sorted(track.shares.items(), key=lambda kv: -kv[1]) if v > 0)
        print(
            f"  track {track.track_id}: {track.first_seen:.2f}-{track.last_seen:.2f} s, {track.frames} frames, "
            f"mostly {track.dominant_emotion or '?'} ({shares})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=1))
    if args.plot:
        plot_timeline(result, args.plot)
    if result.error:
        print(f"ferkit: error: {result.error} (results for the frames read are written)", file=sys.stderr)
        return 1
    return 0


def cmd_webcam(args: argparse.Namespace) -> int:
    from ferkit.runtime.video import run_webcam

    options = _video_options(args)  # a bad --smooth or --every is named before any model loads
    result = run_webcam(
        args.camera,
        _analyzer_from_args(args),
        options,
        record=args.record,
        max_frames=args.max_frames,
    )
    print(
        f"webcam {args.camera}: {result.frames_read} frames, {len(result.tracks())} track(s)"
        f"{f', recorded to {args.record}' if args.record else ''}"
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from ferkit.service.server import server_config
    from ferkit.service.settings import Settings, is_loopback, read_api_key_file

    settings = Settings()
    for key in ("db_url", "api_key", "model", "workers", "max_waiting"):
        if getattr(args, key) is not None:
            setattr(settings, key, getattr(args, key))
    if args.api_key_file:
        settings.api_key = read_api_key_file(args.api_key_file)
    settings.public_read = settings.public_read or args.public_read
    settings.access_log = settings.access_log or args.access_log
    if args.preload:
        settings.preload = _detector_names([*settings.preload, *args.preload.split(",")])
    if args.cors:
        settings.cors_origins = [origin.strip() for origin in args.cors.split(",")]
    if args.allowed_hosts:
        settings.allowed_hosts = [host.strip() for host in args.allowed_hosts.split(",")]
    if not settings.api_key and not is_loopback(args.host) and not args.no_key:
        raise FerkitError(
            f"--host {args.host} without an API key lets anyone who reaches it read and delete every photo: give "
            "--api-key-file (or FERKIT_API_KEY), or --no-key to serve it open on purpose"
        )
    if settings.access_log:
        access = logging.getLogger("ferkit.access")
        access.setLevel(logging.INFO)
        access.addHandler(logging.StreamHandler(sys.stdout))
        access.propagate = False
    config = server_config(settings, args.host, args.port)  # checks the settings: a mistake ends here, in one line
    print(
        f"ferkit service on http://{args.host}:{args.port} (database {settings.db_url.split('@')[-1]}; "
        f"{'API key required' if settings.api_key else 'no API key: anyone who reaches it can use it'})",
        flush=True,
    )
    uvicorn.Server(config).run()
    return 0


def _detector_names(names: list[str]) -> tuple[str, ...]:
    from ferkit.runtime.detectors import checked_detector

    return tuple(dict.fromkeys(checked_detector(name.strip()) for name in names))


def cmd_batch(args: argparse.Namespace) -> int:
    from ferkit.batch.run import run_batch
    from ferkit.batch.work import WorkSpec

    spec = WorkSpec(_analyzer_options(args), args.model, args.age_model, _video_options(args))
    summary = run_batch(
        args.source,
        args.out,
        spec,
        engine=args.engine,
        address=args.address,
        workers=args.workers,
        chunk=args.chunk,
        progress=not args.no_progress,
    )
    print(
        f"{summary.inputs} inputs: {summary.skipped} already done, {summary.processed} analysed in "
        f"{summary.seconds:.1f} s ({summary.inputs_per_second:.1f}/s); {args.out} holds {summary.rows} rows"
    )
    if summary.failed:
        print(f"ferkit: {summary.failed} input(s) failed; their rows have status 'error' and say why", file=sys.stderr)
    return 1 if summary.failed else 0


def build_parser() -> argparse.ArgumentParser:
    from ferkit import __version__

    parser = argparse.ArgumentParser(prog="ferkit", description="Facial emotion recognition toolkit")
    parser.add_argument("--version", action="version", version=f"ferkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for add_group in (
        _data_commands,
        _training_commands,
        _measuring_commands,
        _model_file_commands,
        _analysis_commands,
        _service_commands,
    ):
        add_group(commands)
    return parser


def _data_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands for ingesting and inspecting data sets."""
    data = commands.add_parser("data", help="ingest and inspect data sets").add_subparsers(
        dest="data_command", required=True
    )
    prep = data.add_parser("prepare", help="ingest fer2013.csv, the Kaggle image release or FER+ into a store")
    prep.add_argument("source", help="fer2013.csv, an image folder or its .tar.gz/.zip, or the FER+ folders")
    prep.add_argument("--out", required=True, help="the store to write (.npz)")
    prep.add_argument("--votes", help="fer2013new.csv: FER+ votes for a fer2013.csv source (or for FER+ folders)")
    prep.add_argument("--merge-disgust", action="store_true", help="fold disgust into angry (6 or 7 classes)")
    prep.add_argument("--splits", help="comma-separated splits to keep (Training,PublicTest,PrivateTest)")
    prep.add_argument("--resize", action="store_true", help="resize images that are not 48x48 instead of failing")
    prep.add_argument("--equalize", action="store_true", help="histogram-equalise raw pixels, as the Kaggle JPEGs are")
    prep.add_argument("--force", action="store_true", help="overwrite an existing store")
    prep.set_defaults(func=cmd_data_prepare)
    info = data.add_parser("info", help="counts per split and class")
    info.add_argument("store")
    info.add_argument("--plot", help="also write a bar chart PNG here")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(func=cmd_data_info)


def _training_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands for training, sweeps and teachers' answers."""
    train = commands.add_parser("train", help="train a model (config file and/or --set overrides)")
    train.add_argument("config", nargs="?", help="YAML config")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. optim.lr=0.01")
    train.add_argument("--resume", metavar="RUN", help="continue a run folder where it stopped")
    train.add_argument("--finetune", metavar="CKPT", help="last stage: train+val, cosine, from this checkpoint")
    train.add_argument("--stop-after", type=int, metavar="N", help="stop after N more epochs (resume later)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar (epoch lines only)")
    train.set_defaults(func=cmd_train)

    sweep = commands.add_parser("sweep", help="optimizers x schedulers on a fixed epoch budget")
    sweep.add_argument("config", nargs="?")
    sweep.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value (repeatable)"
    )
    sweep.add_argument("--optimizers", default="sgd,sgd_nesterov,adam,adamw", help="comma-separated: %(default)s")
    sweep.add_argument("--schedulers", default="plateau,cosine,one_cycle", help="comma-separated: %(default)s")
    sweep.add_argument("--out", required=True, help="sweep folder (reruns resume unfinished cells)")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.set_defaults(func=cmd_sweep)

    teacher = commands.add_parser(
        "teacher",
        help="a model's probabilities for every face of a store: soft targets "
        "to distil a student on (--set data.teacher=FILE)",
    )
    teacher.add_argument("model", help="a shipped model's name, an .onnx file or an ensemble .json")
    teacher.add_argument("--store", required=True, help="the store whose every face gets the teacher's answer")
    teacher.add_argument("--out", required=True, help="the teacher file to write (.npz)")
    _add_views_flag(teacher, "centre", "; mirror teaches a flip-trained student to need no mirror at run time")
    teacher.add_argument("--raw", action="store_true", help="without the model's fitted temperature")
    teacher.add_argument(
        "--augmented-views",
        type=int,
        default=0,
        metavar="K",
        help="answer on K passes of the recipe's augmentation over the Training faces instead, for consistent "
        "distillation (--set data.teacher_views=FILE)",
    )
    teacher.add_argument("--recipe", help="with --augmented-views: the student's recipe (its augment and model)")
    teacher.add_argument("--view-seed", type=int, default=0, help="with --augmented-views: the passes' seed")
    teacher.add_argument("--no-progress", action="store_true", help="no progress bar")
    teacher.set_defaults(func=cmd_teacher)


def _measuring_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands for measuring models and detectors."""
    evaluate = commands.add_parser("evaluate", help="accuracy, per-class recall, macro-F1, confusion matrix")
    evaluate.add_argument("model", help="checkpoint (.pt), run folder, .onnx file or shipped model name")
    evaluate.add_argument("--store", required=True, help="the store (.npz from `ferkit data prepare`) to measure on")
    evaluate.add_argument("--split", default="test", help="test (PrivateTest), val (PublicTest) or a split name")
    _add_views_flag(evaluate, "centre", ", the protocol's figure; `ferkit analyze` answers on the model's own")
    evaluate.add_argument(
        "--runtime-path",
        action="store_true",
        help="feed each face as `ferkit analyze` feeds a crop (equalised again), not the store's pixels as they are",
    )
    evaluate.add_argument(
        "--leave-out",
        action="append",
        default=[],
        metavar="CLASS",
        help="leave this class's faces out and read the model in the others (repeatable; e.g. contempt, to compare "
        "a FER+ model with FER2013 models on FER+'s faces)",
    )
    evaluate.add_argument("--json", help="write the report here")
    evaluate.add_argument("--plot", help="write the confusion matrix PNG here")
    evaluate.set_defaults(func=cmd_evaluate)

    compare = commands.add_parser("compare", help="several models side by side on one split")
    compare.add_argument("models", nargs="+", help="checkpoints, run folders, .onnx files or shipped model names")
    compare.add_argument("--store", required=True, help="the store (.npz from `ferkit data prepare`) to measure on")
    compare.add_argument("--split", default="test", help="split to measure (default: %(default)s, PrivateTest)")
    _add_views_flag(compare, "centre")
    compare.add_argument("--csv", help="also write the table here")
    compare.set_defaults(func=cmd_compare)

    calibrate = commands.add_parser(
        "calibrate",
        help="fit a temperature on PublicTest so probabilities can be read "
        "as such; ECE on both test splits, recorded in the file",
    )
    calibrate.add_argument("model", help="a shipped model's name, an .onnx file or an ensemble .json")
    calibrate.add_argument("--store", required=True, help="the store with PublicTest and PrivateTest")
    calibrate.add_argument("--plot", help="write a reliability diagram (PNG) of PrivateTest, before and after")
    calibrate.add_argument(
        "--prior-power",
        type=float,
        default=0.0,
        help="divide each answer by the model's mean answer on PublicTest (FER's class prior) to this power, 0-1, "
        "before the temperature: fewer happy and neutral answers, more disgust and fear (scripts/class_prior.py "
        "shows what each power does to both label sets) (default: 0, the answers as trained)",
    )
    _add_views_flag(calibrate, OWN_VIEWS, ": the views `ferkit analyze` runs this model on")
    calibrate.set_defaults(func=cmd_calibrate)

    detector_eval = commands.add_parser(
        "evaluate-detector", help="recall, precision, false positives and speed per detector"
    )
    detector_eval.add_argument("--images", required=True, help="folder of the photos named in the boxes file")
    detector_eval.add_argument("--boxes", required=True, help="CSV: image,x1,y1,x2,y2[,ignore]")
    detector_eval.add_argument(
        "--detectors", default="yunet,ssd,haar", help="comma-separated detectors to compare (default: %(default)s)"
    )
    detector_eval.add_argument(
        "--iou", type=float, default=0.5, help="overlap a found box needs with a drawn one (default: %(default)s)"
    )
    detector_eval.set_defaults(func=cmd_evaluate_detector)


def _model_file_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands for listing, exporting and combining model files."""
    models = commands.add_parser("models", help="list the shipped models and the trainable architectures")
    models.add_argument(
        "--speed",
        type=float,
        nargs="?",
        const=1.0,
        metavar="SECONDS",
        help="also time each shipped model's crops/s on this CPU (1 s each unless given)",
    )
    models.set_defaults(func=cmd_models)

    export = commands.add_parser("export", help="checkpoint -> self-describing ONNX")
    export.add_argument("checkpoint")
    export.add_argument("--out", required=True, help="the ONNX file to write")
    export.add_argument(
        "--fp16-weights", action="store_true", help="store weights as fp16 (half the size; fp32 compute)"
    )
    export.add_argument(
        "--int8", action="store_true", help="static int8 quantisation, calibrated on --store's Training faces"
    )
    export.add_argument("--calibration-count", type=int, default=512, help="Training faces that calibrate --int8")
    export.add_argument(
        "--views",
        choices=VIEW_NAMES,
        help="the views users' analyses run it on unless they ask otherwise, recorded in its card (default: mirror; "
        "centre for a student taught on mirror-averaged targets, which has the mirror folded in)",
    )
    export.add_argument(
        "--teacher-share",
        type=float,
        help="two-head runs (data.teacher_head): the teacher head's share of the answer, 0..1 "
        "(default: data.teacher_weight; scripts/head_mix.py measures each share on PublicTest)",
    )
    export.add_argument(
        "--store", help="measure the ONNX on this store's PublicTest and PrivateTest and record it inside"
    )
    export.set_defaults(func=cmd_export)

    record = commands.add_parser("record", help="measure an ONNX file on a store's test splits again, recorded inside")
    record.add_argument("model", help="a ferkit .onnx file (its other metadata and weights stay as they are)")
    record.add_argument("--store", required=True, help="the store whose PublicTest and PrivateTest measure it")
    record.set_defaults(func=cmd_record)

    ensemble = commands.add_parser("ensemble", help="several ONNX models -> one averaged model (a JSON manifest)")
    ensemble.add_argument(
        "members", nargs="+", help="ferkit ONNX files over the same classes, in the manifest's folder"
    )
    ensemble.add_argument("--out", required=True, help="the manifest to write (.json)")
    ensemble.add_argument("--store", help="measure the ensemble on this store's test splits and record it inside")
    ensemble.set_defaults(func=cmd_ensemble)

    export_mtcnn = commands.add_parser("export-mtcnn", help="MTCNN P/R/O-Net state dicts -> ONNX for the runtime")
    export_mtcnn.add_argument("--weights", required=True, help="folder with pnet.pt, rnet.pt, onet.pt")
    export_mtcnn.add_argument("--out", required=True, help="the folder for the three ONNX networks")
    export_mtcnn.set_defaults(func=cmd_export_mtcnn)


def _analysis_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands for analysing photos, videos, a webcam and collections."""
    from ferkit.batch.work import BATCH_EVERY
    from ferkit.runtime.options import WEBCAM_SMOOTH, VideoOptions

    analyze = commands.add_parser("analyze", help="detect faces in photos and classify their emotions")
    analyze.add_argument("inputs", nargs="+", help="image files, folders or glob patterns")
    _add_analyzer_options(analyze)
    analyze.add_argument("--out", help="folder for annotated images and one JSON per image")
    analyze.add_argument("--csv", help="write one row per face here")
    analyze.add_argument("--json", action="store_true", help="print all results as JSON")
    analyze.add_argument("--no-annotate", action="store_true", help="with --out, write JSON only")
    analyze.set_defaults(func=cmd_analyze)

    video = commands.add_parser("video", help="faces in a video file or stream: tracks, smoothing, timeline")
    video.add_argument("input", help="video file or stream URL")
    _add_analyzer_options(video)
    video.add_argument("--out", help="annotated video (.mp4), same size and frame rate as the input")
    video.add_argument("--csv", help="one row per face per analysed frame")
    video.add_argument("--json", help="frames and per-track summaries")
    video.add_argument("--plot", help="timeline PNG: emotion probabilities over time per track")
    _add_option_flags(video, VideoOptions())
    video.add_argument("--no-progress", action="store_true", help="no progress bar")
    video.set_defaults(func=cmd_video)

    webcam = commands.add_parser("webcam", help="live window with boxes, labels and FPS; q quits")
    webcam.add_argument("--camera", default="0", help="camera index, or any video file or stream URL")
    _add_analyzer_options(webcam)
    webcam.add_argument("--record", help="also write the annotated frames to this .mp4")
    _add_option_flags(webcam, VideoOptions(smooth=WEBCAM_SMOOTH))
    webcam.add_argument("--max-frames", type=int, help="stop after this many frames")
    webcam.set_defaults(func=cmd_webcam)

    batch = commands.add_parser("batch", help="analyse a large collection into Parquet (local pool or Ray)")
    batch.add_argument("source", help="folder, glob, text file of paths, or Parquet with a path column")
    batch.add_argument("--out", required=True, help="results .parquet (a rerun skips inputs already in it)")
    batch.add_argument("--engine", default="local", help="local (process pool) or ray")
    batch.add_argument("--address", help="Ray cluster address (default: start Ray on this machine)")
    batch.add_argument("--workers", type=int, default=2, help="processes or Ray actors")
    _add_option_flags(batch, VideoOptions(every=BATCH_EVERY))  # for the videos among the inputs
    batch.add_argument("--chunk", type=int, default=8, help="inputs per task")
    _add_analyzer_options(batch)
    batch.add_argument("--no-progress", action="store_true", help="no progress bar")
    batch.set_defaults(func=cmd_batch)


def _service_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands for the service."""
    serve = commands.add_parser("serve", help="REST API, database and web page")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s; others need a key or --no-key)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default %(default)s)")
    serve.add_argument(
        "--allowed-hosts",
        help="comma-separated host names requests may address ('*': any; default: loopback names without a key, "
        "any with one)",
    )
    serve.add_argument(
        "--no-key", action="store_true", help="serve on a non-loopback --host without an API key, on purpose"
    )
    serve.add_argument(
        "--db", dest="db_url", help="SQLAlchemy URL (default sqlite:///ferkit.db; postgresql+psycopg://...)"
    )
    serve.add_argument(
        "--api-key-file",
        help="require the key in this file's first line as X-API-Key on every /api/v1 "
        "route (or FERKIT_API_KEY_FILE, or FERKIT_API_KEY)",
    )
    serve.add_argument("--api-key", help="the key itself (visible in `ps`: prefer --api-key-file or the environment)")
    serve.add_argument("--public-read", action="store_true", help="with a key, let anyone list and view analyses")
    serve.add_argument("--access-log", action="store_true", help="one JSON line per request on stdout")
    serve.add_argument(
        "--max-waiting",
        type=int,
        help="requests that may wait for a busy analyzer (default 64); more get 503 with Retry-After",
    )
    serve.add_argument(
        "--preload", help="detectors to load at start besides the default one, comma-separated (e.g. ssd,mtcnn)"
    )
    serve.add_argument("--cors", help="comma-separated allowed origins")
    serve.add_argument("--workers", type=int, help="analyzers loaded for concurrent requests (default 2)")
    serve.add_argument("--model", help=MODEL_HELP)
    serve.set_defaults(func=cmd_serve)


def _add_analyzer_options(parser: argparse.ArgumentParser) -> None:
    """One flag per AnalyzerOptions field, and the models."""
    from ferkit.runtime.analyzer import AnalyzerOptions

    _add_option_flags(parser, AnalyzerOptions())
    parser.add_argument("--model", help=MODEL_HELP)
    parser.add_argument("--age-model", help="age model .onnx (default: the shipped one)")


def _add_views_flag(parser: argparse.ArgumentParser, default: str, why: str = "") -> None:
    """--views, as AnalyzerOptions.views offers it, plus `own`: the views the model's card names."""
    parser.add_argument(
        "--views",
        choices=[*VIEW_NAMES, OWN_VIEWS],
        default=default,
        help="views of each face the model answers on, averaged: centre, mirror (2x the work), ten (10x), or own "
        f"(the model's, from its card) (default: {default}{why})",
    )


def _views(args: argparse.Namespace, predictor: Predictor) -> Views:
    return predictor.card.views if args.views == OWN_VIEWS else Views(args.views)


def _add_option_flags(parser: argparse.ArgumentParser, defaults: object) -> None:
    """One flag per field of an options dataclass, made from the field's OptionSpec (its help, range and type)
    and the default given."""
    from ferkit.runtime.options import specs_of

    for name, spec in specs_of(type(defaults)).items():
        flag, default = name.replace("_", "-"), getattr(defaults, name)
        if isinstance(default, bool):
            negated = f"--no-{flag}" if default else f"--{flag}"
            help = f"turn off: {spec.help}" if default else spec.help
            parser.add_argument(negated, dest=name, action="store_false" if default else "store_true", help=help)
            continue
        parse = spec.parse or type(default)
        nargs = "?" if spec.const is not None else None
        shown = f"{spec.help} (default: {default})" if default is not None else spec.help
        parser.add_argument(
            f"--{flag}",
            dest=name,
            type=parse,
            default=default,
            nargs=nargs,
            const=spec.const,
            choices=spec.choices,
            help=shown,
        )


# Which extra (pyproject.toml) brings each optional top-level module, for the error a smaller install gets.
EXTRA_OF = {
    **dict.fromkeys(
        ("fastapi", "fastapi_offline", "uvicorn", "sqlalchemy", "alembic", "multipart", "psycopg", "PIL"), "serve"
    ),
    **dict.fromkeys(("pyarrow", "ray"), "batch"),
    "torch": "train",
    "onnx": "export",
    "onnxruntime": "runtime",
    "matplotlib": "plot",
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except FerkitError as error:
        print(f"ferkit: error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        extra = EXTRA_OF.get((error.name or "").partition(".")[0])
        if extra is None:
            raise  # not a missing optional dependency: a bug to report, with its traceback
        print(
            f"ferkit: error: `ferkit {args.command}` needs {error.name}, which comes with the {extra} extra: "
            f"pip install 'ferkit[{extra}]'",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("ferkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
