"""Options as typed objects, each field defined once: its default, its help, its allowed range. The CLI flags, the
service's form fields and the checks on construction are all made from these definitions (`OptionSpec`), so a
value is validated the same way whichever door it came through. Dependency-free: the CLI builds its parser from
here without loading OpenCV.

    VideoOptions(every=2, smooth=0.6)        # how a video or camera stream is analysed
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ferkit.errors import FerkitError
from ferkit.runtime.schedule import AGE_EVERY, DETECT_EVERY


@dataclass(frozen=True)
class OptionSpec:
    """How one option field is offered at every door: the help the CLI flag and the service's form field show,
    and the range a value must fall in (checked once, when the options object is made)."""

    help: str
    low: float | None = None
    high: float | None = None
    below_high: bool = False  # the range is [low, high): high itself is refused
    parse: Callable[[str], Any] | None = None  # the CLI's parser, where the default's type does not tell it
    const: Any = None  # the value a CLI flag given without one takes (None: the flag needs a value)
    choices: tuple[str, ...] | None = None  # the values a CLI flag accepts, where they are names


def option(default: Any, help: str, **spec: Any) -> Any:
    """A dataclass field carrying its OptionSpec."""
    return field(default=default, metadata={OptionSpec: OptionSpec(help, **spec)})


def specs_of(options_class: type) -> dict[str, OptionSpec]:
    """Every field's OptionSpec, in field order."""
    return {item.name: item.metadata[OptionSpec] for item in fields(options_class)}


def check_ranges(options: Any) -> None:
    """A FerkitError naming the first field outside its OptionSpec's range."""
    for name, spec in specs_of(type(options)).items():
        value = getattr(options, name)
        if value is None or isinstance(value, (bool, str)):
            continue
        too_high = spec.high is not None and (value >= spec.high if spec.below_high else value > spec.high)
        if (spec.low is not None and value < spec.low) or too_high:
            raise FerkitError(f"{name} must be {_allowed(spec)}, not {value:g}")


def with_overrides(options: Any, overrides: dict[str, Any]) -> Any:
    """A copy of an options object with some fields replaced, validated again; an unknown field is a FerkitError."""
    if not overrides:
        return options
    try:
        return replace(options, **overrides)
    except TypeError as error:
        kind = type(options).__name__.removesuffix("Options").lower()  # VideoOptions -> "video"
        raise FerkitError(f"unknown {kind} option: {error}") from None


def _allowed(spec: OptionSpec) -> str:
    if spec.high is None:
        return f"{spec.low:g} or more"
    if spec.below_high:
        return f"at least {spec.low:g} and below {spec.high:g}"
    return f"between {spec.low:g} and {spec.high:g}"


WEBCAM_SMOOTH = 0.6  # a live view flickers without smoothing; a file's analysis is unsmoothed unless asked


@dataclass(frozen=True)
class VideoOptions:
    """How a video file, stream or camera is analysed, on top of the AnalyzerOptions each frame gets: which frames,
    how often the costly stages rerun, how much each track's probabilities are smoothed. Checked on construction."""

    every: int = option(1, "analyse every Nth frame", low=1)
    smooth: float = option(
        0.0,
        "temporal smoothing strength: the share of a track's running probabilities kept per frame (0.6 if the "
        "flag is given without a value)",
        low=0,
        high=1,
        below_high=True,
        const=0.6,
    )
    detect_every: int = option(
        DETECT_EVERY,
        "run the detector on every Nth analysed frame; faces follow their tracks in between (1: every frame)",
        low=1,
    )
    age_every: float = option(AGE_EVERY, "seconds between a face's age estimates (0: every frame)", low=0)

    def __post_init__(self) -> None:
        check_ranges(self)
