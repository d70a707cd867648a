"""Counting accuracy against human labels: the numbers ``scripts/rep_accuracy.py`` and the tests
report.

Labels (``footage/labels.tsv``): ``reps`` complete repetitions, ``reps_max`` also admitting a last
rep that passed its turning point before the clip ended. A count c is *exact* when
``reps <= c <= reps_max`` and *within one* when ``reps - 1 <= c <= reps_max + 1``.
"""

from __future__ import annotations

import csv
import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from edge.errors import InputError
from edge.reps.exercises import EXERCISES
from edge.reps.rep_counter import RepCounter
from edge.reps.streams import Stream, mirrored


@dataclass(frozen=True)
class Label:
    """One row of ``labels.tsv``."""

    clip: str
    exercise: str
    reps: int
    reps_max: int

    @property
    def supported(self) -> bool:
        return self.exercise in EXERCISES

    def exact(self, count: int) -> bool:
        return self.reps <= count <= self.reps_max

    def within_one(self, count: int) -> bool:
        return self.reps - 1 <= count <= self.reps_max + 1


def read_labels(path: Path) -> list[Label]:
    """Read ``labels.tsv`` (tab-separated, header ``clip exercise reps reps_max ...``)."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        return [Label(r["clip"], r["exercise"], int(r["reps"]), int(r["reps_max"])) for r in rows]
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise InputError(f"{path}: not a labels table with clip, exercise, reps, reps_max ({exc})") from None


@dataclass
class CounterCost:
    """Time spent in ``RepCounter.update``, per mode (``"explicit"``, ``"auto"``)."""

    seconds: dict[str, float] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)

    def add(self, mode: str, seconds: float, frames: int) -> None:
        self.seconds[mode] = self.seconds.get(mode, 0.0) + seconds
        self.frames[mode] = self.frames.get(mode, 0) + frames

    def ms_per_frame(self, mode: str) -> float:
        """Mean milliseconds per frame (NaN before any frame)."""
        frames = self.frames.get(mode, 0)
        return 1000.0 * self.seconds.get(mode, 0.0) / frames if frames else math.nan


def run_counter(stream: Stream, exercise: str, cost: CounterCost | None = None) -> RepCounter:
    """Feed a whole stream to a fresh ``RepCounter`` and return it (``count``, ``exercise``).

    Args:
        stream: the frames.
        exercise: an exercise name or ``"auto"``.
        cost: if given, the time spent counting is added to it.
    """
    counter = RepCounter(exercise)
    started = time.perf_counter()
    for pose, t in stream:
        counter.update(pose, t)
    if cost is not None:
        cost.add("auto" if exercise == "auto" else "explicit", time.perf_counter() - started, len(stream))
    return counter


@dataclass(frozen=True)
class ClipResult:
    """Counts of one clip: with its exercise given explicitly and with ``auto``, each on the clip
    and on its mirror image. ``exercise``, ``reps`` and ``reps_max`` are the label's (``exercise``
    is the folder's guess and the reps are -1 for clips without a label; ``count`` is then -1 when
    the exercise is not supported)."""

    clip: str
    exercise: str
    reps: int
    reps_max: int
    count: int
    mirrored_count: int
    auto_count: int
    auto_mirrored_count: int
    auto_exercise: str
    auto_mirrored_exercise: str

    @property
    def labelled(self) -> bool:
        return self.reps >= 0


def evaluate(clip: str, exercise: str, stream: Stream, reps: int = -1, reps_max: int = -1) -> ClipResult:
    """Count one stream four ways (explicit/auto x normal/mirrored), the mirror image made by
    ``Pose.mirrored`` (geometric: x -> 1 - x, left and right swapped)."""
    return evaluate_pair(clip, exercise, stream, mirrored(stream), reps, reps_max)


def evaluate_pair(
    clip: str,
    exercise: str,
    normal: Stream,
    flipped: Stream,
    reps: int = -1,
    reps_max: int = -1,
    cost: CounterCost | None = None,
) -> ClipResult:
    """Count a clip and its mirror image four ways (explicit/auto x normal/mirrored).

    Args:
        clip: the clip's path under ``footage/``.
        exercise: the labelled (or guessed) exercise; explicit counts are -1 if it is not supported.
        normal: the clip's pose stream.
        flipped: the pose stream of the mirror image: the video flipped left-right before pose
            estimation (what a mirrored camera delivers), or ``mirrored(normal)``.
        reps, reps_max: the label, -1 for an unlabelled clip.
        cost: if given, the counting time is added to it.
    """
    supported = exercise in EXERCISES
    explicit = [run_counter(s, exercise, cost).count if supported else -1 for s in (normal, flipped)]
    auto = [run_counter(s, "auto", cost) for s in (normal, flipped)]
    return ClipResult(
        clip, exercise, reps, reps_max, explicit[0], explicit[1],
        auto[0].count, auto[1].count, auto[0].exercise or "-", auto[1].exercise or "-",
    )  # fmt: skip


_COLUMNS = [f.name for f in fields(ClipResult)]


def write_table(path: Path, results: Iterable[ClipResult]) -> None:
    """Write results as tab-separated values with a header (``expected_counts.tsv``)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(_COLUMNS)
        for r in results:
            writer.writerow([getattr(r, name) for name in _COLUMNS])


def read_table(path: Path) -> list[ClipResult]:
    """Read what ``write_table`` wrote."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    out = []
    for row in rows:
        values = {
            f.name: (int(row[f.name]) if f.type in ("int", int) else row[f.name]) for f in fields(ClipResult)
        }
        out.append(ClipResult(**values))  # type: ignore[arg-type]
    return out


@dataclass(frozen=True)
class Scores:
    """Acceptance figures over labelled clips of supported exercises."""

    clips: int
    exact: dict[str, int]  # per column: explicit, explicit_mirrored, auto, auto_mirrored
    within_one: dict[str, int]
    recognised: int  # auto settled on the labelled exercise (normal)
    recognised_mirrored: int
    confusion: Counter[tuple[str, str]]  # (label, auto exercise) -> clips


_COUNT_COLUMNS = {
    "explicit": "count",
    "explicit_mirrored": "mirrored_count",
    "auto": "auto_count",
    "auto_mirrored": "auto_mirrored_count",
}


def score(results: Sequence[ClipResult]) -> Scores:
    """Exact / within-one counts per column, recognition accuracy and confusion."""
    rows = [r for r in results if r.labelled and r.exercise in EXERCISES]
    labels = {r.clip: Label(r.clip, r.exercise, r.reps, r.reps_max) for r in rows}
    exact = {k: sum(labels[r.clip].exact(getattr(r, c)) for r in rows) for k, c in _COUNT_COLUMNS.items()}
    within = {
        k: sum(labels[r.clip].within_one(getattr(r, c)) for r in rows) for k, c in _COUNT_COLUMNS.items()
    }
    return Scores(
        clips=len(rows),
        exact=exact,
        within_one=within,
        recognised=sum(r.auto_exercise == r.exercise for r in rows),
        recognised_mirrored=sum(r.auto_mirrored_exercise == r.exercise for r in rows),
        confusion=Counter((r.exercise, r.auto_exercise) for r in rows),
    )


#: The issue's bar, per column: exact on at least this share of the labelled clips...
EXACT_SHARE = 0.9
#: ...and within one on this share (all of them).
WITHIN_ONE_SHARE = 1.0


def meets_bar(scores: Scores, column: str) -> bool:
    """Whether a column (``"explicit"``, ``"explicit_mirrored"``, ``"auto"``, ``"auto_mirrored"``)
    meets the acceptance bar: exact on >= 90 % of the labelled clips, within one on all."""
    n = scores.clips
    return (
        n > 0
        and scores.exact[column] >= EXACT_SHARE * n
        and scores.within_one[column] >= WITHIN_ONE_SHARE * n
    )


def guess_exercise(clip: str) -> str:
    """The exercise an unlabelled clip shows, from its path: the longest exercise name in the file
    name (``lunge/nowva_side_lunge.mp4`` -> ``side_lunge``), else its folder's name if that is an
    exercise, else ``"-"``."""
    folder, _, name = clip.rpartition("/")
    stem = name.rsplit(".", 1)[0]
    inside = [n for n in EXERCISES if n in stem]
    if inside:
        return max(inside, key=len)
    return folder.rsplit("/", 1)[-1] if folder.rsplit("/", 1)[-1] in EXERCISES else "-"
