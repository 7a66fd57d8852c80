"""Music encodings on a fixed time grid (NumPy only; no Keras, no MIDI library).

A piece is a list of :class:`Note` with times in quarter notes. Two encodings:

* **Melody events** (monophonic, Magenta MelodyRNN style): one token per grid step,
  ``REST``, ``HOLD`` (the previous note keeps sounding) or the pitch of a new note. Token ids:
  ``0`` padding, ``1`` start of sequence, ``2`` rest, ``3`` hold, ``4 + (pitch - min_pitch)``
  for a note-on.
* **Piano roll** (polyphonic): one frame per grid step, 88 binary notes (MIDI 21..108).
  Consecutive sounding frames of one pitch are one note when converted back to notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from seqkit.plugin_api import DataError

LOWEST = 21  # A0, the lowest piano key
KEYS = 88  # A0 .. C8 (MIDI 21 .. 108)
HIGHEST = LOWEST + KEYS - 1

PAD, START, REST, HOLD = 0, 1, 2, 3
FIRST_PITCH_TOKEN = 4


@dataclass(frozen=True)
class Note:
    """One sounding note: MIDI pitch, start and end in quarter notes."""

    pitch: int
    start: float
    end: float


# -- grid ----------------------------------------------------------------------------------


def quantize(notes: Iterable[Note], steps_per_quarter: int) -> list[tuple[int, int, int]]:
    """Notes -> (pitch, first step, end step) on the grid; every note lasts >= 1 step."""
    out = []
    for note in notes:
        first = int(round(note.start * steps_per_quarter))
        last = max(first + 1, int(round(note.end * steps_per_quarter)))
        out.append((int(note.pitch), first, last))
    return out


def steps_to_notes(triples: Iterable[tuple[int, int, int]], steps_per_quarter: int) -> list[Note]:
    return [Note(p, a / steps_per_quarter, b / steps_per_quarter) for p, a, b in triples]


# -- melody events -------------------------------------------------------------------------


def vocabulary_size(min_pitch: int, max_pitch: int) -> int:
    return FIRST_PITCH_TOKEN + (max_pitch - min_pitch + 1)


def fold_pitch(pitch: int, min_pitch: int, max_pitch: int) -> int:
    """Move a pitch by octaves into [min_pitch, max_pitch] (Magenta's melody range handling)."""
    while pitch < min_pitch:
        pitch += 12
    while pitch > max_pitch:
        pitch -= 12
    if pitch < min_pitch:  # range narrower than an octave
        raise DataError(f"pitch range {min_pitch}..{max_pitch} is narrower than an octave")
    return pitch


def skyline(triples: Sequence[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """A monophonic line from possibly polyphonic notes: at each step the highest note that
    starts there wins, and a new note cuts the one before it."""
    by_start: dict[int, tuple[int, int, int]] = {}
    for p, a, b in triples:
        if a not in by_start or p > by_start[a][0]:
            by_start[a] = (p, a, b)
    line = [by_start[a] for a in sorted(by_start)]
    out = []
    for index, (p, a, b) in enumerate(line):
        if index + 1 < len(line):
            b = min(b, line[index + 1][1])
        out.append((p, a, b))
    return out


def notes_to_events(notes: Iterable[Note], steps_per_quarter: int, min_pitch: int, max_pitch: int) -> np.ndarray:
    """Notes -> melody event tokens (int32), one per grid step, from step 0 to the last note's end."""
    line = skyline(quantize(notes, steps_per_quarter))
    if not line:
        return np.zeros(0, dtype="int32")
    events = np.full(max(b for _, _, b in line), REST, dtype="int32")
    for p, a, b in line:
        events[a] = FIRST_PITCH_TOKEN + fold_pitch(p, min_pitch, max_pitch) - min_pitch
        events[a + 1 : b] = HOLD
    return events


def events_to_notes(events: Sequence[int], steps_per_quarter: int, min_pitch: int) -> list[Note]:
    """Melody event tokens -> notes. A HOLD after a rest (or at the start) is a rest."""
    triples = []
    current = None  # [pitch, start]
    for step, token in enumerate(list(events) + [REST]):
        token = int(token)
        if token == HOLD and current is not None:
            continue
        if current is not None:
            triples.append((current[0], current[1], step))
            current = None
        if token >= FIRST_PITCH_TOKEN:
            current = [min_pitch + token - FIRST_PITCH_TOKEN, step]
    return steps_to_notes(triples, steps_per_quarter)


def transpose_events(events: np.ndarray, semitones: int, min_pitch: int, max_pitch: int) -> np.ndarray | None:
    """Shift every note-on token; None if a pitch would leave [min_pitch, max_pitch]."""
    events = np.asarray(events)
    notes = events >= FIRST_PITCH_TOKEN
    pitches = events[notes] - FIRST_PITCH_TOKEN + min_pitch + semitones
    if len(pitches) and (pitches.min() < min_pitch or pitches.max() > max_pitch):
        return None
    out = events.copy()
    out[notes] = pitches - min_pitch + FIRST_PITCH_TOKEN
    return out


# -- piano roll ----------------------------------------------------------------------------


def notes_to_roll(notes: Iterable[Note], steps_per_quarter: int, steps: int | None = None) -> np.ndarray:
    """Notes -> (steps, 88) binary piano roll (float32). Pitches outside 21..108 are dropped."""
    triples = [t for t in quantize(notes, steps_per_quarter) if LOWEST <= t[0] <= HIGHEST]
    length = steps if steps is not None else max((b for _, _, b in triples), default=0)
    roll = np.zeros((length, KEYS), dtype="float32")
    for p, a, b in triples:
        roll[a:b, p - LOWEST] = 1.0
    return roll


def frames_to_roll(frames: Sequence[Sequence[int]], origin: str = "") -> np.ndarray:
    """JSB-style frames (lists of sounding MIDI pitches) -> (steps, 88) piano roll."""
    roll = np.zeros((len(frames), KEYS), dtype="float32")
    for step, frame in enumerate(frames):
        for pitch in frame:
            if isinstance(pitch, bool) or not isinstance(pitch, (int, float)) or int(pitch) != pitch:
                raise DataError(f"{origin}step {step + 1}: expected MIDI pitch numbers. Received: {pitch!r}")
            if not LOWEST <= pitch <= HIGHEST:
                raise DataError(
                    f"{origin}step {step + 1}: pitch {pitch} is outside the piano range {LOWEST}..{HIGHEST}"
                )
            roll[step, int(pitch) - LOWEST] = 1.0
    return roll


def roll_to_notes(roll: np.ndarray, steps_per_quarter: int) -> list[Note]:
    """(steps, 88) piano roll -> notes; a run of sounding frames of one pitch is one note."""
    roll = np.asarray(roll) > 0.5
    padded = np.concatenate([np.zeros((1, KEYS), bool), roll, np.zeros((1, KEYS), bool)])
    change = np.diff(padded.astype(np.int8), axis=0)
    triples = []
    for key in range(KEYS):
        starts = np.flatnonzero(change[:, key] == 1)
        ends = np.flatnonzero(change[:, key] == -1)
        triples += [(LOWEST + key, int(a), int(b)) for a, b in zip(starts, ends)]
    triples.sort(key=lambda t: (t[1], t[0]))
    return steps_to_notes(triples, steps_per_quarter)


def transpose_roll(roll: np.ndarray, semitones: int) -> np.ndarray | None:
    """Shift a piano roll by semitones; None if a sounding note would leave 21..108."""
    if semitones == 0:
        return roll
    sounding = np.flatnonzero(roll.any(axis=0))
    if len(sounding) and (sounding.min() + semitones < 0 or sounding.max() + semitones >= KEYS):
        return None
    return np.roll(roll, semitones, axis=1)


def transpositions(low: int, high: int) -> list[int]:
    """The shifts of an augmentation range, 0 first (the original piece)."""
    return [0] + [s for s in range(low, high + 1) if s != 0]


# -- the frame-level NLL -------------------------------------------------------------------


def frame_nll(y_true: np.ndarray, y_prob: np.ndarray, skip_first: bool = True, eps: float = 1e-7) -> tuple[float, int]:
    """Frame-level negative log-likelihood per time step, in nats (Boulanger-Lewandowski et
    al. 2012; Chung et al. 2014): the sum over the 88 notes of the binary cross-entropy,
    averaged over every predicted frame of every sequence.

    ``y_true`` is (sequences, steps, 88) with padded frames marked -1; ``y_prob`` the
    predicted probabilities. With ``skip_first`` the prediction of each sequence's first
    frame (from the all-zero start frame, i.e. no history) is left out, so frames 2..T count,
    the practice of the published results. Returns (nll, frames counted).
    """
    y_true = np.asarray(y_true, dtype="float64")
    p = np.clip(np.asarray(y_prob, dtype="float64"), eps, 1 - eps)
    valid = (y_true >= 0).all(axis=-1)
    if skip_first:
        valid[:, 0] = False
    t = np.clip(y_true, 0, 1)
    per_frame = -(t * np.log(p) + (1 - t) * np.log1p(-p)).sum(axis=-1)
    count = int(valid.sum())
    return (float(per_frame[valid].sum() / count) if count else float("nan")), count


def event_nll(y_true: np.ndarray, y_prob: np.ndarray, eps: float = 1e-7) -> tuple[float, float, int]:
    """Melody events: mean negative log-likelihood per step in nats, next-event accuracy and
    the number of steps counted (padding, token 0, excluded)."""
    y_true = np.asarray(y_true).astype(int)
    valid = y_true != PAD
    probs = np.asarray(y_prob, dtype="float64")
    picked = np.take_along_axis(probs, np.maximum(y_true, 0)[..., None], axis=-1)[..., 0]
    count = int(valid.sum())
    if not count:
        return float("nan"), float("nan"), 0
    nll = float(-np.log(np.clip(picked[valid], eps, 1.0)).sum() / count)
    accuracy = float((probs.argmax(axis=-1) == y_true)[valid].mean())
    return nll, accuracy, count
