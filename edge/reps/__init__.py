"""Repetition counting, per-rep metrics and exercise recognition on a stream of poses.

``RepCounter(exercise)`` takes one ``Pose`` (or None) per frame and its timestamp, and says how
many repetitions are done, in which phase the body is, and, on the frame a repetition ends, a
``RepEvent`` with its timing, range of motion and form flags. ``EXERCISES`` lists the supported
exercises as data; ``"auto"`` recognises which one is being done.

Modules: ``geometry`` (angles and body orientation on world landmarks), ``exercises`` (the specs),
``signals`` (one exercise signal per side, visibility-gated), ``counter`` (the hysteresis state
machine on one signal), ``tracker`` (one exercise on a pose stream), ``recognizer`` (which
exercise), ``events`` (``RepEvent``), ``rep_counter`` (``RepCounter``).
"""

from edge.reps.events import RepEvent
from edge.reps.exercises import EXERCISES, ExerciseSpec, exercise_names
from edge.reps.rep_counter import RepCounter

__all__ = ["EXERCISES", "ExerciseSpec", "RepCounter", "RepEvent", "exercise_names"]
