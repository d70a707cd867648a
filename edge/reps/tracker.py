"""``ExerciseTracker``: one exercise followed on a pose stream, producing ``RepEvent``s.

It measures the exercise's signal on the usable sides (``edge.reps.signals``), feeds one
``SignalCounter`` (``sides`` both, left or right) or one per side (``each``), keeps a short history
of per-side values for the form checks, and turns each finished cycle into a ``RepEvent``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from edge.pose import Pose
from edge.reps.counter import IDLE, Cycle, SignalCounter, Tuning
from edge.reps.events import RepEvent
from edge.reps.exercises import PLANTED_TRAVEL, ExerciseSpec
from edge.reps.limbs import LimbLengths
from edge.reps.signals import Measures, combine, side_landmarks


@dataclass(frozen=True)
class _Sample:
    t: float
    left: float  # degrees or NaN (side not usable)
    right: float
    depth: float  # the depth segment's elevation (deepest usable side) or NaN
    planted: tuple[tuple[float, float, float], ...] = ()  # per side: end x, y and limb length, pixels


class ExerciseTracker:
    """Counts one exercise's repetitions on a stream of poses.

    Args:
        spec: the exercise.
        tuning: shared tolerances.
    """

    def __init__(self, spec: ExerciseSpec, tuning: Tuning | None = None) -> None:
        self.spec = spec
        self.tuning = tuning or Tuning()
        sides = ("left", "right") if spec.sides == "each" else (spec.sides,)
        self._counters = {side: SignalCounter(spec, self.tuning) for side in sides}
        self._history: deque[_Sample] = deque()
        # The stream's usual limb lengths, when no caller shares its ``Measures`` (``update``).
        self._limbs = LimbLengths(visibility_floor=self.tuning.visibility_floor)

    @property
    def count(self) -> int:
        """Complete repetitions so far."""
        return sum(c.count for c in self._counters.values())

    @property
    def phase(self) -> str:
        """``"idle"`` or one of the spec's two phase names (for ``each``: the side that moves)."""
        counters = list(self._counters.values())
        for counter in counters:
            if counter.in_rep:
                return counter.phase
        for counter in counters:
            if counter.phase != IDLE:
                return counter.phase
        return IDLE

    @property
    def rep_start(self) -> float | None:
        """When the rep under way left its start position, seconds (None if none is under way)."""
        starts = [c.rep_start for c in self._counters.values() if c.rep_start is not None]
        return min(starts) if starts else None

    def reset(self) -> None:
        """Count back to zero and forget the rep in progress."""
        for counter in self._counters.values():
            counter.count = 0
        self.restart()

    def restart(self) -> None:
        """Forget the rep in progress and the recent history, keeping the count."""
        for counter in self._counters.values():
            counter.reset()
        self._history.clear()
        self._limbs.clear()

    def update(self, pose: Pose | None, t: float, measures: Measures | None = None) -> list[RepEvent]:
        """Feed one frame; return the repetitions (complete or partial) that ended on it.

        Args:
            pose: the pose, or None.
            t: timestamp in seconds.
            measures: this pose's ``Measures`` when the caller shares them between trackers.
        """
        if measures is None:
            measures = Measures(pose, self.tuning.visibility_floor, self._limbs)
            self._limbs.observe(measures.world, measures.visibility, t)
        m = measures
        if not m.valid or not m.in_posture(self.spec.posture):
            readings = None
            self._history.append(_Sample(t, math.nan, math.nan, math.nan))
        else:
            readings = {side: m.reading(self.spec.signal, side) for side in ("left", "right")}
            sample = _Sample(
                t, readings["left"].value, readings["right"].value, self._depth(m), self._planted(pose, m)
            )
            self._history.append(sample)
        while self._history and t - self._history[0].t > self.tuning.max_rep_s + 1.0:
            self._history.popleft()

        events: list[RepEvent] = []
        for side, counter in self._counters.items():
            if readings is None:
                value = math.nan
            elif side == "both":
                value, _ = combine(readings["left"], readings["right"])
            else:
                value = readings[side].value
            cycle = counter.update(value, t)
            event = None if cycle is None else self._event(cycle, side, counter)
            if event is not None:
                events.append(event)
        return events

    # -- per-rep measurements ---------------------------------------------------------------

    def _depth(self, m: Measures) -> float:
        if self.spec.depth is None:
            return math.nan
        start, end, _ = self.spec.depth
        best = math.nan
        for side in ("left", "right"):
            lms = side_landmarks((start, end), side)
            if float(np.min(m.visibilities(lms))) >= self.tuning.visibility_floor:
                elevation = m.value("elevation", lms)
                best = elevation if math.isnan(best) else max(best, elevation)
        return best

    def _planted(self, pose: Pose | None, m: Measures) -> tuple[tuple[float, float, float], ...]:
        """Image position of each side's planted end and its limb's image length (NaN unseen)."""
        if self.spec.planted is None or pose is None:
            return ()
        scale = np.asarray(pose.image_size, np.float64)
        out = []
        for side in ("left", "right"):
            lms = side_landmarks(self.spec.planted, side)
            if float(np.min(m.visibilities(lms))) < self.tuning.visibility_floor:
                out.append((math.nan, math.nan, math.nan))
                continue
            xy = pose.landmarks[[int(lm) for lm in lms], :2].astype(np.float64) * scale
            length = float(np.linalg.norm(xy[1] - xy[0]) + np.linalg.norm(xy[2] - xy[1]))
            out.append((float(xy[2, 0]), float(xy[2, 1]), length))
        return tuple(out)

    def _stayed_planted(self, window: list[_Sample]) -> bool:
        """Whether a planted end of a seen limb stayed put over the rep (``ExerciseSpec.planted``).

        Its travel is the distance between the 5th and 95th percentiles of its image position;
        a side seen on fewer than half the frames (or three) is not judged, and with no side
        judged the rep keeps the benefit of the doubt.
        """
        judged = False
        for i in range(2):
            rows = np.array(
                [s.planted[i] for s in window if len(s.planted) == 2 and math.isfinite(s.planted[i][2])]
            )
            if len(rows) < max(3, len(window) / 2):
                continue
            judged = True
            travel = float(
                np.linalg.norm(np.percentile(rows[:, :2], 95, axis=0) - np.percentile(rows[:, :2], 5, axis=0))
            )
            if travel <= PLANTED_TRAVEL * float(np.median(rows[:, 2])):
                return True
        return not judged

    def _event(self, cycle: Cycle, side: str, counter: SignalCounter) -> RepEvent | None:
        spec = self.spec
        window = [s for s in self._history if cycle.start - 1e-9 <= s.t <= cycle.end + 1e-9]
        if cycle.complete and spec.planted is not None and not self._stayed_planted(window):
            counter.count -= 1  # the hands (feet) did not bear the weight: not this exercise
            return None
        flags: list[str] = []
        if not cycle.complete:
            flags.append("partial_range")
        if side == "both":
            side = self._dominant_side(window)
        if cycle.complete and spec.depth is not None:
            depths = [s.depth for s in window if not math.isnan(s.depth)]
            if depths and max(depths) < spec.depth[2]:
                flags.append("above_parallel")
        if cycle.complete and spec.asymmetry_limit is not None:
            both = [(s.left, s.right) for s in window if not (math.isnan(s.left) or math.isnan(s.right))]
            if window and len(both) >= 0.5 * len(window) and len(both) >= 3:
                arr = np.asarray(both)
                rom_left, rom_right = np.ptp(arr[:, 0]), np.ptp(arr[:, 1])
                if abs(rom_left - rom_right) > spec.asymmetry_limit:
                    flags.append("asymmetric")
        first, second = cycle.turn - cycle.start, cycle.end - cycle.turn
        concentric, eccentric = (first, second) if spec.first_half == "concentric" else (second, first)
        return RepEvent(
            index=self.count,
            exercise=spec.name,
            side=side,
            start=cycle.start,
            end=cycle.end,
            duration=cycle.end - cycle.start,
            concentric=concentric,
            eccentric=eccentric,
            rom_min=min(cycle.start_value, cycle.turn_value),
            rom_max=max(cycle.start_value, cycle.turn_value),
            angle_name=spec.signal.name,
            flags=tuple(flags),
            partial=not cycle.complete,
        )

    @staticmethod
    def _dominant_side(window: list[_Sample]) -> str:
        votes = {"both": 0, "left": 0, "right": 0}
        for s in window:
            has_left, has_right = not math.isnan(s.left), not math.isnan(s.right)
            if has_left and has_right:
                votes["both"] += 1
            elif has_left:
                votes["left"] += 1
            elif has_right:
                votes["right"] += 1
        return max(votes, key=lambda k: votes[k]) if any(votes.values()) else "both"
