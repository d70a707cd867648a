"""The repetition state machine on one scalar signal, with hysteresis, smoothing and debounce.

``SignalCounter`` follows one exercise signal (degrees, see ``edge.reps.exercises``) over time and
reports each *cycle*: the signal left its start position, maybe reached the turning point, and
came back. It knows nothing about poses, so it is tested with plain tables of (t, value).

The machine, written for a turning point that is a minimum (the counter flips the sign for a
maximum):

* ``idle``: nothing to follow yet. The first usable value on the start side of ``start_limit``
  becomes the start position. A first value already past ``turn_limit`` (the stream opens at the
  bottom) starts a rep "from the turn", counted on the way back only if the body was seen within
  the leave tolerance of the turning point for ``turn_dwell_s``, timed from when it got there (a
  stream that opens on the way down and passes the bottom in a flash did not open at the turn:
  the first frames of ``pushup/calimiro_push-up_43`` read 122, 116, 84, 91, 113 degrees while
  the arms are straight) (``count_from_turn``). Its start was not seen, so it is taken to be
  ``start_limit``, and the rep ends like any other, back within ``return_fraction`` of its range
  from there (a squat rising from the bottom out of the frame, last seen at 137 of 140 degrees on
  the flipped ``squat/calimiro_squat_24``).
* start phase (e.g. ``"up"``): the start level is the lowest-effort value seen there (the highest
  knee angle while standing). The rep begins when the signal moves ``leave_fraction * min_rom``
  away from it.
* still in the start phase while moving; once the signal is past ``turn_limit`` and ``min_rom``
  away from the start level, the phase becomes the turning phase (e.g. ``"down"``). Lingering
  there, or wobbling by less than the return criterion, changes nothing.
* the cycle ends when the signal is back within ``return_fraction`` of the rep's range from its
  start level: that frame is the rep's ``end`` (the body still has the last quarter of the way to
  go, typically 0.2-0.5 s). It is a complete rep if it reached the turning phase; a partial one
  if it moved at least ``partial_fraction * min_rom``; noise otherwise, and always when faster
  than ``min_rep_s``.
* a rep that reached its turning phase also ends where the body turns back towards the turning
  point (by the leave tolerance) after coming back at least ``turnaround_fraction`` (half) of its
  range and onto the start side of ``start_limit``: the body is in a start position by the
  exercise's own definition and has begun the next rep. Its ``end`` is the moment it turned. The
  body must have rested there ``rest_s`` (0.1 s): turn-backs of real reps rest 0.2-1.8 s, while
  a two-frame glitch at the top of a press (``shoulder_press/randy_shoulderpress_rearview``: both
  elbows read 40 degrees for 0.03 s) and a noise dip at the bottom of the first flipped
  ``joelo_pushup`` (0.07 s) made one rep two. The start level is the extreme of the rest before
  a rep, and a first rest can be an extreme the set never returns to: the flipped
  ``bicep_curl/wissem_bicep_curls`` opens with the arms hanging straight (163 degrees) and every
  later curl comes back to 133, short of the 142 that a quarter of the range asks for, so 0 of
  4-5 curls counted; the crunches of the flipped
  ``situp/randy_half_crunch`` come back to 2 degrees of torso elevation after a rest at -4
  (6 of 7). A return that stays short of the start limit (a squat coming up to 125 degrees and
  going down again) is still no rep.

Hysteresis comes from the distance between leaving (``leave_fraction``) and coming back
(``return_fraction`` of the actual range), so noise smaller than either never makes a cycle, and
a rep that stops short of the start position is not counted until it gets there. Without a usable
value for more than ``max_gap_s`` (tracking lost, person gone, landmarks not visible) the machine
drops the rep in progress and goes back to idle; shorter gaps are bridged. (A pose seen only for
a flicker between two losses, ``min_track_s``, is handled by ``RepCounter``.) All durations come
from timestamps, never from frame counts, because clips run at 5 to 60 frames per second.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, fields

from edge.errors import ConfigError
from edge.reps.exercises import ExerciseSpec

IDLE = "idle"


@dataclass(frozen=True)
class Tuning:
    """Tolerances shared by every exercise (the per-exercise limits are in ``ExerciseSpec``).

    Attributes:
        visibility_floor: a side is measured only if all its landmarks have at least this visibility.
        smoothing_s: time constant of the exponential smoothing of the signal, seconds.
        leave_fraction: a rep begins when the signal is this fraction of ``min_rom`` away from
            the start level.
        return_fraction: a rep ends when the signal is back within this fraction of the rep's
            range of motion from its start level.
        partial_fraction: a cycle that did not qualify as a rep is reported as partial if it
            moved at least this fraction of ``min_rom``.
        turnaround_fraction: a rep that reached its turning point also ends where the body,
            back on the start side of ``start_limit`` and at least this fraction of the rep's
            range back, turns towards the turning point again (the next rep has begun)...
        rest_s: ...if it rested there (within the leave tolerance) at least this long, seconds.
        min_rep_s: shortest plausible repetition, seconds (debounce).
        max_rep_s: longest plausible repetition, seconds; a cycle taking longer is dropped.
        max_gap_s: longest tracking loss bridged without dropping the rep in progress, seconds.
        min_track_s: a pose seen for less than this between two frames without one is a
            flicker (tracking locking on, a video transition), seconds: the reps in progress are
            dropped. The fade-in of ``situp/joelo_situp`` shows a lying person sitting up for
            0.12 s between losses; 0.25 and 0.5 count the same on all clips.
        count_from_turn: when tracking begins at the turning point (a push-up set started from
            the floor, a clip opening at the bottom of a squat), count the way back to the start
            position as a repetition. Human counters do; the start of that rep was not seen.
        turn_dwell_s: ...such a rep counts only if the body is seen at the turning point for at
            least this long, seconds, timed from when it got there (a stream that opens with the
            body already on its way back, or passing the turning point, missed it).
    """

    visibility_floor: float = 0.5
    smoothing_s: float = 0.1
    leave_fraction: float = 0.25
    return_fraction: float = 0.25
    partial_fraction: float = 0.75
    turnaround_fraction: float = 0.5
    rest_s: float = 0.1
    min_rep_s: float = 0.4
    max_rep_s: float = 15.0
    max_gap_s: float = 1.0
    min_track_s: float = 0.25
    count_from_turn: bool = True
    turn_dwell_s: float = 0.2

    @classmethod
    def from_overrides(cls, overrides: dict[str, float]) -> Tuning:
        """Build from keyword overrides, with a clear error for unknown keys or bad values."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            expected = ", ".join(sorted(known))
            raise ConfigError(f"reps: unknown tuning key {unknown[0]!r}; expected one of {expected}")
        values: dict[str, float | bool] = {}
        for key, value in overrides.items():
            if key == "count_from_turn":
                values[key] = bool(value)
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                problem = f"reps: invalid value {value!r} for key {key!r}: expected a number"
                raise ConfigError(problem) from None
            if not number >= 0.0:
                raise ConfigError(f"reps: invalid value {value!r} for key {key!r}: expected a number >= 0")
            values[key] = number
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Cycle:
    """One excursion from the start position and back, as ``SignalCounter`` saw it.

    Attributes:
        start: seconds, when the body left the position it rested in before the rep.
        turn: seconds, when it was furthest from the start level.
        end: seconds, when it was back (the frame the cycle was recognised).
        start_value: degrees, the signal in that position.
        turn_value: degrees, the value at the turning point.
        complete: True for a counted repetition, False for a partial one.
    """

    start: float
    turn: float
    end: float
    start_value: float
    turn_value: float
    complete: bool

    @property
    def rom(self) -> float:
        """Range of motion in degrees."""
        return abs(self.start_value - self.turn_value)


class SignalCounter:
    """Hysteresis state machine over one signal; see the module docstring.

    Args:
        spec: the exercise (limits, direction, phase names).
        tuning: shared tolerances.
    """

    def __init__(self, spec: ExerciseSpec, tuning: Tuning | None = None) -> None:
        self.spec = spec
        self.tuning = tuning or Tuning()
        self._sign = 1.0 if spec.turn == "max" else -1.0  # internal u = sign * value; the turn is a max of u
        self.count = 0
        self.reset()

    # -- state ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the rep in progress and the smoothing state (the count is kept)."""
        self._state = IDLE  # IDLE | "start" | "moving"
        self._reached = False
        self._from_turn = False  # the rep in progress began at the turning point (start unseen)
        self._smooth: float | None = None
        self._last_t: float | None = None
        self._level = 0.0  # start level, internal units
        self._depart_t = 0.0  # last time at the start level
        self._peak = 0.0
        self._peak_t = 0.0
        self._near_peak_t = 0.0  # last time within leave_fraction * min_rom of the peak
        self._low, self._low_t = 0.0, 0.0  # furthest back towards the start since the peak
        self._path: deque[tuple[float, float]] = deque()  # recent (t, u), to time the rep's start

    @property
    def phase(self) -> str:
        """``"idle"``, the spec's start phase name, or its turning phase name."""
        if self._state == IDLE:
            return IDLE
        return self.spec.phases[1] if self._reached else self.spec.phases[0]

    @property
    def in_rep(self) -> bool:
        """True while a repetition is under way (left the start, not back yet)."""
        return self._state == "moving"

    @property
    def rep_start(self) -> float | None:
        """When the rep under way left its start position (None if none, or begun at the turn)."""
        return self._depart_t if self._state == "moving" and not self._from_turn else None

    @property
    def value(self) -> float:
        """The smoothed signal in degrees (NaN before the first value)."""
        return math.nan if self._smooth is None else self._sign * self._smooth

    # -- update ---------------------------------------------------------------------------

    def update(self, value: float | None, t: float) -> Cycle | None:
        """Feed one frame.

        Args:
            value: the signal in degrees, or None/NaN when it cannot be measured in this frame.
            t: the frame's timestamp in seconds (non-decreasing).

        Returns:
            The cycle that ended on this frame (complete or partial), else None.
        """
        tune = self.tuning
        if value is None or math.isnan(value):
            if self._last_t is not None and t - self._last_t > tune.max_gap_s:
                self.reset()
            return None
        u = self._sign * float(value)
        if self._last_t is not None and t - self._last_t > tune.max_gap_s:
            self.reset()
        if self._smooth is None or self._last_t is None:
            self._smooth = u
        else:
            dt = max(t - self._last_t, 0.0)
            alpha = 1.0 if tune.smoothing_s <= 0 else 1.0 - math.exp(-dt / tune.smoothing_s)
            self._smooth += alpha * (u - self._smooth)
        self._last_t = t
        self._path.append((t, self._smooth))
        while self._path and t - self._path[0][0] > tune.max_rep_s:
            self._path.popleft()
        return self._step(self._smooth, t)

    def _step(self, u: float, t: float) -> Cycle | None:
        spec, tune = self.spec, self.tuning
        start_u = self._sign * spec.start_limit
        turn_u = self._sign * spec.turn_limit
        if self._state == IDLE:
            if u <= start_u:
                self._enter_start(u, t)
            elif tune.count_from_turn and u >= turn_u:
                # Tracking begins at the turning point (a set started from the floor, a clip that
                # opens at the bottom): the way back to the start position is a repetition.
                self._state, self._reached, self._from_turn = "moving", True, True
                self._level, self._depart_t = start_u, t
                self._peak, self._peak_t = u, t
                self._near_peak_t = t
                self._low, self._low_t = u, t
            return None
        if self._state == "start":
            if u <= self._level:
                self._level = u
            if u <= self._level + 0.5 * tune.leave_fraction * spec.min_rom:
                self._depart_t = t
            if u > self._level + tune.leave_fraction * spec.min_rom:
                self._state = "moving"
                self._reached = False
                self._peak, self._peak_t = u, t
                self._low, self._low_t = u, t
            return None
        # moving
        leave = tune.leave_fraction * spec.min_rom
        if u > self._peak:
            self._peak, self._peak_t = u, t
        if u >= self._peak - leave:
            self._near_peak_t = t
        if u <= self._low or self._peak_t == t:
            self._low, self._low_t = u, t
        rom = self._peak - self._level
        if not self._reached and self._peak >= turn_u and rom >= spec.min_rom:
            self._reached = True
        if t - self._depart_t > tune.max_rep_s:  # too slow to be a repetition: start over
            if u <= start_u:
                self._enter_start(u, t)
            else:
                self._state, self._reached = IDLE, False
            return None
        if u <= self._level + tune.return_fraction * rom:
            cycle = self._close(u, t, rom)
            self._enter_start(u, t)
            return cycle
        if (
            self._reached
            and self._low <= start_u
            and self._peak - self._low >= tune.turnaround_fraction * rom
            and u > self._low + leave
            and self._rested(leave) >= tune.rest_s
        ):
            # Turned back towards the turning point from short of the start level, on the start
            # side of start_limit and more than half way back: this rep is over and the next has
            # begun from there (the rest position moved, or the first one was an extreme).
            cycle = self._close(self._low, self._low_t, rom)
            self._enter_start(self._low, self._low_t)
            self._step(u, t)
            return cycle
        return None

    def _close(self, u: float, t: float, rom: float) -> Cycle | None:
        spec, tune = self.spec, self.tuning
        duration = t - self._depart_t
        if self._from_turn:
            # Begun at the turning point: a rep only if the turning point itself was seen (the body
            # stayed there a moment), not when the stream opens with the body already on its way
            # back, or on its way down (then it did not open at the turn); only half of it was
            # seen, so half the shortest duration is enough. Otherwise nothing was seen of an
            # attempt: no event.
            seen = self._near_peak_t - self._reached_turn_t() >= tune.turn_dwell_s
            if not (seen and duration >= tune.min_rep_s / 2):
                return None
            complete = True
        else:
            if duration < tune.min_rep_s:
                return None  # faster than any repetition: a glitch
            complete = self._reached
            if not complete and rom < tune.partial_fraction * spec.min_rom:
                return None
        if complete:
            self.count += 1
        start, start_u = (self._depart_t, u) if self._from_turn else self._left_start()
        return Cycle(
            start=start,
            turn=self._peak_t,
            end=t,
            start_value=self._sign * start_u,
            turn_value=self._sign * self._peak,
            complete=complete,
        )

    def _rested(self, leave: float) -> float:
        """Seconds the body stayed within ``leave`` of where it came back to since the turn."""
        times = [t for t, u in self._path if t >= self._peak_t and u <= self._low + leave]
        return times[-1] - times[0] if times else 0.0

    def _reached_turn_t(self) -> float:
        """The first time the signal came within the leave tolerance of the turning point."""
        near = self._peak - self.tuning.leave_fraction * self.spec.min_rom
        for t, u in self._path:
            if t >= self._depart_t and u >= near:
                return t
        return self._peak_t

    def _left_start(self) -> tuple[float, float]:
        """When, and from which value, the body left its start position for this rep.

        Walking back from the turning point: the signal moves towards the start until it reaches
        the position the body rested in before this rep (going further back, it either stays
        there or dips towards the turn again, an earlier movement). The rep began at the last
        moment the body was in that position (within half the leave tolerance), so a long rest,
        or shuffling into position, before the rep does not count in its duration.
        """
        leave = self.tuning.leave_fraction * self.spec.min_rom
        samples = [(t, u) for t, u in self._path if t <= self._peak_t]
        if not samples:
            return self._depart_t, self._level
        lowest, first = samples[-1][1], 0
        for j in range(len(samples) - 1, -1, -1):
            u = samples[j][1]
            if u < lowest:
                lowest = u
            elif u > lowest + leave:
                first = j + 1
                break
        for t, u in reversed(samples[first:]):
            if u <= lowest + 0.5 * leave:
                return t, lowest
        return self._depart_t, self._level

    def _enter_start(self, u: float, t: float) -> None:
        self._state = "start"
        self._reached = self._from_turn = False
        self._level = u
        self._depart_t = t
