"""``RepEvent``: what the counter says about one repetition, on the frame it ends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RepEvent:
    """One repetition (``partial=False``, counted) or an attempt that fell short (``partial=True``).

    Times are seconds on the input's clock (``t`` passed to ``RepCounter.update``); angles are
    degrees of the exercise's signal (``angle_name``, e.g. ``"knee_angle"``).

    Attributes:
        index: the count after this rep (1 for the first); for a partial rep, the count it did
            not add to (the number of complete reps before it).
        exercise: the exercise's name, e.g. ``"squat"``.
        side: which side was measured: ``"both"``, ``"left"`` or ``"right"``.
        start: when the body left the start position.
        end: the frame the rep was counted: back within a quarter of its range from the start
            position (the last quarter of the way, typically 0.2-0.5 s, is not included).
        duration: ``end - start``.
        concentric: time of the lifting half (standing up in a squat, curling up in a curl),
            from or to the turning point (the frame furthest from the start).
        eccentric: time of the lowering half.
        rom_min: the signal's smallest value during the rep.
        rom_max: its largest value; ``rom_max - rom_min`` is the range of motion.
        angle_name: the signal's name.
        flags: form remarks, from ``partial_range``, ``above_parallel``, ``asymmetric``.
        partial: True if the attempt did not reach the turning point or moved too little.
    """

    index: int
    exercise: str
    side: str
    start: float
    end: float
    duration: float
    concentric: float
    eccentric: float
    rom_min: float
    rom_max: float
    angle_name: str
    flags: tuple[str, ...] = ()
    partial: bool = False

    def to_json(self) -> dict[str, Any]:
        """The per-frame ``"rep"`` object: times rounded to 3 decimals, angles to 1."""
        return {
            "index": self.index,
            "exercise": self.exercise,
            "side": self.side,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "duration": round(self.duration, 3),
            "concentric": round(self.concentric, 3),
            "eccentric": round(self.eccentric, 3),
            "rom_min": round(self.rom_min, 1),
            "rom_max": round(self.rom_max, 1),
            "angle_name": self.angle_name,
            "flags": list(self.flags),
            "partial": self.partial,
        }
