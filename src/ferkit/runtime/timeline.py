"""The timeline figure: for each track, every emotion's probability over time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ferkit.errors import FerkitError
from ferkit.runtime.draw import COLOURS

if TYPE_CHECKING:
    from ferkit.runtime.video import VideoResult


def check_timeline_output(path: str | Path) -> None:
    """Refuses, before any frame is analysed, a plot that could not be drawn or saved at the end."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise FerkitError("the timeline plot needs matplotlib: pip install 'ferkit[plot]'") from None
    if not Path(path).resolve().parent.is_dir():
        raise FerkitError(f"{path}: its folder does not exist")


def plot_timeline(result: VideoResult, path: str | Path, max_tracks: int = 6) -> Path:
    check_timeline_output(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tracks = sorted(result.tracks(), key=lambda t: -t.frames)[:max_tracks]
    rows = max(len(tracks), 1)
    figure, axes = plt.subplots(rows, 1, figsize=(11, 2.2 * rows + 0.6), sharex=True, squeeze=False)
    for axis, track in zip(axes[:, 0], tracks):
        points = [
            (frame.time, face) for frame in result.frames for face in frame.faces if face.track_id == track.track_id
        ]
        times = [t for t, _ in points]
        for name in result.classes:
            colour = tuple(c / 255 for c in COLOURS.get(name, (128, 128, 128))[::-1])  # BGR -> RGB
            axis.plot(times, [face.probabilities[name] for _, face in points], label=name, color=colour, lw=1.4)
        axis.set_ylim(0, 1)
        axis.set_ylabel(f"track {track.track_id}")
        axis.set_title(
            f"track {track.track_id}: {track.dominant_emotion or '?'} most of the time, "
            f"{track.first_seen:.1f}-{track.last_seen:.1f} s",
            fontsize=9,
            loc="left",
        )
        axis.grid(alpha=0.3)
    if not tracks:
        axes[0, 0].text(0.5, 0.5, "no faces found", ha="center", va="center")
    axes[0, 0].legend(loc="upper right", ncol=len(result.classes), fontsize=7)
    axes[-1, 0].set_xlabel("time (s)")
    figure.suptitle(f"{Path(result.source).name}: emotion probabilities per tracked face")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return Path(path)
