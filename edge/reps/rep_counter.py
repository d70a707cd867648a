"""``RepCounter``: the one object the pipeline talks to, per person stream.

``RepCounter("squat")`` counts squats. ``RepCounter("auto")`` (the default) runs a tracker per
candidate exercise (``AUTO_CANDIDATES``) side by side. Each tracker reports the cycles of its own
signal; ``edge.reps.recognizer.classify`` judges from the whole body whether a cycle is that
exercise's movement:

* the first cycle whose tracker's exercise the recognizer confirms names the exercise
  (``exercise`` is None until then) and counts 1;
* after that, a cycle of the exercise followed counts unless the body clearly did another
  family's movement (no evidence, or a leg out of view, keeps the count going);
* ``SWITCH_REPS`` consecutive movements that clearly are another exercise switch to it; the
  count then restarts with that exercise's cycles among them, so a set whose first reps came
  before the switch was recognised is counted in full (their events come late, one per frame on
  the following frames, with their true start and end times);
* a cycle of the same kind seen by a twin tracker (squat and lunge both follow the knee closing)
  counts once: a cycle and an accepted one that overlap by more than half the shorter one's
  duration are the same movement.
  Trackers following one angle the other way (curl and press both follow the elbow) see a movement
  half a cycle apart; their cycles count only for their own exercise, when the body confirms it.

Frames without a pose are passed on (short gaps are bridged, see ``edge.reps.counter``), but a
pose seen only for a flicker between two of them (``Tuning.min_track_s``) drops the reps in
progress: what it showed (a video transition read as a sit-up) may have started or turned a rep.
The stream's usual arm segment lengths (``edge.reps.limbs``) are kept here and shared by all
trackers.

A cycle is judged with some context: from its start position (a quarter of its duration before
it left), and from the start of a longer rep of another tracker still under way that encloses it
(at most one duration earlier), so that hands moving at the bottom of a squat belong to the squat
and elbows flapping at the top of a sit-up to the sit-up.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any

from edge.errors import ConfigError
from edge.pose import Pose
from edge.reps.counter import IDLE, Tuning
from edge.reps.events import RepEvent
from edge.reps.exercises import AUTO_CANDIDATES, EXERCISES, exercise_names
from edge.reps.limbs import LimbLengths
from edge.reps.recognizer import FAMILY, FeatureHistory, classify
from edge.reps.signals import Measures
from edge.reps.tracker import ExerciseTracker

AUTO = "auto"
#: Consecutive repetitions of another exercise that make ``auto`` switch to it.
SWITCH_REPS = 2
#: A candidate rep and an accepted rep that overlap by more than this share of the shorter one's
#: duration are the same movement (a twin tracker's cycle lying inside the accepted one: on the
#: mirrored ``lunge/nowva_lunge`` the front knee's side-lunge cycle, 1.2 s, inside the lunge's 2.3 s).
_SAME_MOVEMENT_OVERLAP = 0.5


def _check_name(name: str) -> str:
    if name != AUTO and name not in EXERCISES:
        expected = ", ".join(exercise_names())
        raise ConfigError(f"reps.exercise: unknown exercise {name!r}; expected one of {expected}")
    return name


class RepCounter:
    """Counts repetitions on a stream of poses and describes each one.

    Args:
        exercise: an exercise name (``exercise_names()``) or ``"auto"``.
        **tuning: overrides of ``edge.reps.counter.Tuning`` fields (e.g. ``visibility_floor=0.6``).

    Raises:
        ConfigError: unknown exercise name or tuning key, or a bad tuning value.

    ``phase`` is ``"idle"`` (nothing followed: no pose, nothing visible, no start position seen
    yet, or ``auto`` has not recognised an exercise) or one of the exercise's two phase names:
    ``"up"``/``"down"`` for squat, lunge, side lunge and push-up (``"up"`` is the start);
    ``"down"``/``"up"`` for curls, shoulder press, sit-up and front raise (``"down"`` is the start);
    ``"closed"``/``"open"`` for the jumping jack. The phase turns to the second name once the rep
    has reached its turning point, and back when the rep is counted.
    """

    def __init__(self, exercise: str = AUTO, **tuning: Any) -> None:
        self.tuning = Tuning.from_overrides(tuning)
        self._name = _check_name(exercise)
        self._start(self._name)

    # -- configuration -------------------------------------------------------------------

    def set_exercise(self, name: str) -> None:
        """Follow another exercise (or ``"auto"``); the count restarts at 0."""
        self._name = _check_name(name)
        self._start(self._name)

    def reset(self) -> None:
        """Count back to 0, keeping the exercise (``auto`` also forgets what it recognised)."""
        self._start(self._name)

    def _start(self, name: str) -> None:
        self._queue: deque[RepEvent] = deque()
        self._count = 0
        # Consecutive evidence for another exercise: (its name, its own cycle or None).
        self._streak: list[tuple[str, RepEvent | None]] = []
        self._accepted: deque[tuple[float, float]] = deque(maxlen=8)
        self._last_t: float | None = None
        self._track_since: float | None = None  # first frame of the pose seen without a break
        self._track_last = 0.0
        self._limbs = LimbLengths(visibility_floor=self.tuning.visibility_floor)
        if name == AUTO:
            self._trackers = {n: ExerciseTracker(EXERCISES[n], self.tuning) for n in AUTO_CANDIDATES}
            self._history: FeatureHistory | None = FeatureHistory(self.tuning.max_rep_s + 1.0)
            self._current: str | None = None
        else:
            self._trackers = {name: ExerciseTracker(EXERCISES[name], self.tuning)}
            self._history = None
            self._current = name

    # -- state ---------------------------------------------------------------------------

    @property
    def exercise(self) -> str | None:
        """The exercise followed: the configured one, or what ``auto`` recognised (None until then)."""
        return self._current

    @property
    def count(self) -> int:
        """Complete repetitions of the current exercise."""
        return self._count

    @property
    def phase(self) -> str:
        """See the class docstring."""
        if self._current is None:
            return IDLE
        return self._trackers[self._current].phase

    def snapshot(self) -> dict[str, Any]:
        """The per-frame ``"reps"`` object: ``{"exercise": ..., "count": ..., "phase": ...}``."""
        return {"exercise": self.exercise, "count": self.count, "phase": self.phase}

    # -- update --------------------------------------------------------------------------

    def update(self, pose: Pose | None, t: float) -> RepEvent | None:
        """Feed one frame.

        Args:
            pose: the person's pose, or None when no pose was found in this frame.
            t: the frame's timestamp in seconds, non-decreasing.

        Returns:
            The repetition that ended on this frame (complete, or partial with ``partial=True``),
            else None. Should two end on one frame, the second comes with the next frame.

        A timestamp earlier than the previous one (a looped file starting over) drops the rep in
        progress; the count stays.
        """
        if self._last_t is not None and t < self._last_t:
            self._rewind()
        self._last_t = t
        self._follow_track(pose, t)
        measures = Measures(pose, self.tuning.visibility_floor, self._limbs)
        self._limbs.observe(measures.world, measures.visibility, t)
        if self._history is not None:
            self._history.add(measures, t)
        for name, tracker in self._trackers.items():
            for event in tracker.update(pose, t, measures):
                if self._history is None:
                    self._on_explicit(event)
                else:
                    self._on_candidate(name, event)
        return self._queue.popleft() if self._queue else None

    def _follow_track(self, pose: Pose | None, t: float) -> None:
        """Drop the reps in progress when a pose was seen only for a flicker between two losses
        (``Tuning.min_track_s``): what it showed may have started or turned a rep that never was."""
        if pose is not None:
            if self._track_since is None:
                self._track_since = t
            self._track_last = t
            return
        if self._track_since is not None and self._track_last - self._track_since < self.tuning.min_track_s:
            for tracker in self._trackers.values():
                tracker.restart()
        self._track_since = None

    def _rewind(self) -> None:
        self._limbs.clear()
        for tracker in self._trackers.values():
            tracker.restart()
        if self._history is not None:
            self._history.clear()
        self._accepted.clear()
        self._streak.clear()

    def _on_explicit(self, event: RepEvent) -> None:
        if not event.partial:
            self._count += 1
        self._queue.append(dataclasses.replace(event, index=self._count))

    def _on_candidate(self, name: str, event: RepEvent) -> None:
        if event.partial:
            if name == self._current:
                self._queue.append(dataclasses.replace(event, index=self._count))
            return
        if self._overlaps_accepted(event):
            return  # the same cycle, already seen by a twin tracker (squat and lunge)
        assert self._history is not None
        # Context: the start position, and an enclosing rep under way (module docstring).
        starts = [tr.rep_start for n, tr in self._trackers.items() if n != name and tr.rep_start is not None]
        begin = max(min([event.start - 0.25 * event.duration, *starts]), event.start - event.duration)
        summary = self._history.summary(begin, event.end)
        if summary is None:
            return
        verdict = classify(summary)
        current = self._current
        if current is None:
            if verdict.exercise != name:
                return
            self._current = name
            self._count_rep(event)
        elif name == current or _twins(name, current):
            # A cycle of the current exercise's kind. It counts unless the body clearly did
            # another family's movement; a certain verdict for another exercise is evidence
            # towards switching (a lunge that keeps looking like a squat).
            if verdict.family not in (None, FAMILY[current]):
                return
            self._count_rep(dataclasses.replace(event, exercise=current))
            if verdict.certain and verdict.exercise not in (None, current):
                self._streak.append((verdict.exercise, None))
                self._maybe_switch()
            else:
                self._streak.clear()
        elif verdict.exercise == name:
            # Another exercise's own cycle, and the body moved that way: evidence, not counted yet.
            self._streak.append((name, event))
            self._maybe_switch()
        else:
            return
        self._accepted.append((event.start, event.end))

    def _overlaps_accepted(self, event: RepEvent) -> bool:
        for start, end in self._accepted:
            overlap = min(end, event.end) - max(start, event.start)
            shorter = min(event.duration, end - start)
            if overlap > _SAME_MOVEMENT_OVERLAP * max(shorter, 1e-6):
                return True
        return False

    def _count_rep(self, event: RepEvent) -> None:
        self._count += 1
        self._queue.append(dataclasses.replace(event, index=self._count))

    def _maybe_switch(self) -> None:
        """Switch after ``SWITCH_REPS`` consecutive pieces of evidence for one other exercise.

        The count restarts with that exercise's own cycles among them (the current exercise's
        cycles that looked like it were already counted, and would count the movement twice).
        """
        names = {name for name, _ in self._streak}
        if len(self._streak) < SWITCH_REPS or len(names) != 1:
            if len(names) > 1:
                self._streak = self._streak[-1:]
            return
        self._current, self._count = names.pop(), 0
        for _, event in self._streak:
            if event is not None:
                self._count_rep(event)
        self._streak.clear()


def _twins(a: str, b: str) -> bool:
    """Whether two exercises of one family follow the same signal the same way (squat, lunge)."""
    sa, sb = EXERCISES[a], EXERCISES[b]
    return FAMILY[a] == FAMILY[b] and sa.signal == sb.signal and sa.turn == sb.turn
