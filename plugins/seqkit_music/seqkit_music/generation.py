"""Generation from a trained music run: sampling with temperature and top-k, beam search, a
primer to continue, a seed; writes a MIDI file and a piano-roll PNG.

The model predicts step t+1 from steps <= t; generation feeds each chosen step back in. The
model's LSTM states are carried from step to step (``seqkit.plugin_api.StepModel``), so each
step costs the same however long the piece has grown; ``stateful=False`` keeps the old way,
the model re-run over the whole context at every step, as the reference the tests compare
against. Neither cuts the context: ``data.max_steps`` windows only the training pieces, and
both paths read everything generated so far, so they choose the same steps.
"""

from __future__ import annotations

import math
import os
import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seqkit.plugin_api import DataError, SeqkitError, track
from seqkit_music import encodings

MAX_STEPS = 100000
VELOCITY = 80


@dataclass
class Generation:
    """What :func:`generate` made.

    Attributes:
        sequence: every step, primer first: event tokens ``(steps,)`` (melody) or a binary
            piano roll ``(steps, 88)``.
        primer_steps: how many leading steps came from the primer.
        notes: the notes (times in quarter notes).
        log_likelihood: natural log of the model's probability of the generated steps
            (temperature 1), and ``nll_per_step`` the negative of it per generated step.
        midi_path / png_path: the files written (None when ``out`` was not given).
    """

    encoding: str
    sequence: np.ndarray
    primer_steps: int
    steps_per_quarter: int
    qpm: float
    notes: list = field(default_factory=list)
    log_likelihood: float = 0.0
    midi_path: Path | None = None
    png_path: Path | None = None

    @property
    def steps(self) -> int:
        """Generated steps (the primer not counted)."""
        return len(self.sequence) - self.primer_steps

    @property
    def total_steps(self) -> int:
        return len(self.sequence)

    @property
    def seconds(self) -> float:
        return self.total_steps / self.steps_per_quarter * 60.0 / self.qpm

    @property
    def nll_per_step(self) -> float:
        return -self.log_likelihood / max(self.steps, 1)

    def roll(self) -> np.ndarray:
        if self.encoding == "piano_roll":
            return np.asarray(self.sequence, dtype="float32")
        return encodings.notes_to_roll(self.notes, self.steps_per_quarter, steps=self.total_steps)

    def to_midi(self):
        """A ``pretty_midi.PrettyMIDI`` of the notes. A final 'all notes off' controller
        event marks the end of the last step, so the file lasts exactly ``seconds`` even
        when the music ends with a rest."""
        import pretty_midi

        seconds_per_quarter = 60.0 / self.qpm
        midi = pretty_midi.PrettyMIDI(initial_tempo=self.qpm)
        piano = pretty_midi.Instrument(program=0, name="seqkit")
        for note in self.notes:
            piano.notes.append(
                pretty_midi.Note(
                    VELOCITY, int(note.pitch), note.start * seconds_per_quarter, note.end * seconds_per_quarter
                )
            )
        piano.control_changes.append(pretty_midi.ControlChange(123, 0, self.seconds))
        midi.instruments.append(piano)
        return midi

    def write_midi(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        if path.suffix.lower() not in (".mid", ".midi"):
            raise SeqkitError(f"--out: expected a .mid or .midi file name. Received: {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        self.to_midi().write(str(tmp))
        tmp.replace(path)
        self.midi_path = path
        return path

    def write_png(self, path: str | os.PathLike) -> Path:
        from seqkit_music.plots import plot_roll

        title = f"{self.steps} generated steps" + (
            f" after a {self.primer_steps}-step primer" if self.primer_steps else ""
        )
        self.png_path = plot_roll(self.roll(), Path(path), title, self.primer_steps)
        return self.png_path


# -- arguments -----------------------------------------------------------------------------


def _check_int(name: str, value, low: int, high: int | None = None, optional: bool = False):
    if value is None and optional:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < low
        or (high is not None and value > high)
    ):
        bound = f">= {low}" + (f" and <= {high}" if high is not None else "")
        raise SeqkitError(f"{name}: expected an integer {bound}. Received: {value!r}")
    return int(value)


def check_options(info: dict, steps, temperature, top_k, beam) -> tuple[int, float, int | None, int | None]:
    steps = _check_int("--steps", steps, 1, MAX_STEPS)
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not math.isfinite(temperature)
        or temperature < 0
    ):
        raise SeqkitError(f"--temperature: expected a number >= 0 (0: greedy). Received: {temperature!r}")
    choices = int(info["vocabulary"]) - 2 if info["encoding"] == "melody" else int(info.get("keys", encodings.KEYS))
    top_k = _check_int("--top-k", top_k, 1, choices, optional=True)
    beam = _check_int("--beam", beam, 1, 1000, optional=True)
    if beam is not None and top_k is not None:
        raise SeqkitError(
            "--beam and --top-k: beam search keeps the most likely continuations; --top-k restricts sampling. Use one"
        )
    if beam is not None and temperature == 0:
        raise SeqkitError(
            "--beam: needs --temperature > 0 (beam search scores continuations with the tempered distribution; 1 is the model's own)"
        )
    return steps, float(temperature), top_k, beam


# -- primer --------------------------------------------------------------------------------


def read_primer(path: str | os.PathLike, info: dict) -> tuple[np.ndarray, float]:
    """A MIDI file -> (steps on the run's grid, the file's tempo)."""
    from seqkit_music.sources import read_midi

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: primer file not found")
    piece = read_midi(path)
    spq = int(info["steps_per_quarter"])
    if info["encoding"] == "melody":
        part = info.get("part")
        notes = piece.notes(part if part is not None and part < len(piece.parts) else None)
        sequence = encodings.notes_to_events(notes, spq, int(info["min_pitch"]), int(info["max_pitch"]))
    else:
        sequence = encodings.notes_to_roll(piece.notes(), spq)
    if not len(sequence):
        raise DataError(f"{path}: the primer has no notes to continue")
    return sequence, piece.qpm


# -- the model -----------------------------------------------------------------------------


_STEP_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Stateful:
    """Next-step distributions, one step at a time: the model's layers carry their LSTM
    states from step to step (:class:`seqkit.plugin_api.StepModel`), so every step costs the
    same however long the context has grown."""

    def __init__(self, model):
        from seqkit.plugin_api import StepModel

        # One per model: tracing the step and prime functions takes a good part of a second.
        if model not in _STEP_MODELS:
            _STEP_MODELS[model] = StepModel(model)
        self.steps = _STEP_MODELS[model]
        self.states = None

    def start(self, context: np.ndarray) -> np.ndarray:
        """The distribution after ``context`` (the start token and the primer), ``(1, ...)``."""
        out, self.states = self.steps.prime(context[None])
        return _numpy(out)

    def advance(self, steps: np.ndarray, parents: list[int] | None = None) -> np.ndarray:
        """Append ``steps[i]`` to context ``parents[i]`` (context i when None); the
        distributions after them."""
        out, self.states = self.steps.step(steps, self.states, rows=parents)
        return _numpy(out)


class _FullPrefix:
    """Next-step distributions by running the model over each whole context at every step:
    time per step grows with the context. The reference the stateful path is tested against
    (``generate(..., stateful=False)``)."""

    def __init__(self, model):
        self.model = model
        self.contexts = None

    def start(self, context: np.ndarray) -> np.ndarray:
        self.contexts = context[None]
        return self._predict()

    def advance(self, steps: np.ndarray, parents: list[int] | None = None) -> np.ndarray:
        contexts = self.contexts if parents is None else self.contexts[np.asarray(parents)]
        self.contexts = np.concatenate([contexts, steps.astype(contexts.dtype)[:, None]], axis=1)
        return self._predict()

    def _predict(self) -> np.ndarray:
        return _numpy(self.model.predict_on_batch(self.contexts))[:, -1]


def _numpy(out) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(out), dtype="float64")


def _melody_log_probs(p: np.ndarray) -> np.ndarray:
    p = np.array(p, dtype="float64")
    p[..., encodings.PAD] = 0.0
    p[..., encodings.START] = 0.0
    p = p / np.maximum(p.sum(axis=-1, keepdims=True), 1e-300)
    with np.errstate(divide="ignore"):
        return np.log(p)


def _tempered_melody(log_p: np.ndarray, temperature: float, top_k: int | None) -> np.ndarray:
    logits = log_p / temperature
    if top_k is not None:
        cut = np.sort(logits)[-top_k]
        logits = np.where(logits >= cut, logits, -np.inf)
    logits = logits - logits.max()
    q = np.exp(logits)
    return q / q.sum()


def _note_logits(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def _frame_log_prob(frame: np.ndarray, q: np.ndarray) -> float:
    q = np.clip(q, 1e-12, 1 - 1e-12)
    return float(np.where(frame > 0.5, np.log(q), np.log1p(-q)).sum())


def _sample(decoder, context: np.ndarray, steps: int, temperature: float, top_k, rng, melody: bool):
    """Sampling (temperature > 0) or greedy decoding (temperature 0)."""
    chosen, log_likelihood = [], 0.0
    p = decoder.start(context)[0]
    for index in track(range(steps), "generating", unit="step"):
        if melody:
            log_p = _melody_log_probs(p)
            if temperature == 0:
                token = int(np.argmax(log_p))
            else:
                token = int(rng.choice(len(log_p), p=_tempered_melody(log_p, temperature, top_k)))
            log_likelihood += float(log_p[token])
            step = np.array([token], dtype=context.dtype)
            chosen.append(token)
        else:
            if temperature == 0:
                frame = (p >= 0.5).astype("float32")
            else:
                q = 1.0 / (1.0 + np.exp(-_note_logits(p) / temperature))
                if top_k is not None:
                    q[np.argsort(p)[:-top_k]] = 0.0
                frame = (rng.random(len(q)) < q).astype("float32")
            log_likelihood += _frame_log_prob(frame, p)
            step = frame[None]
            chosen.append(frame)
        if index + 1 < steps:
            p = decoder.advance(step)[0]
    return np.asarray(chosen), log_likelihood


def _frame_candidates(q: np.ndarray, width: int) -> list[tuple[np.ndarray, float]]:
    """The most likely frame under independent notes, and the frames that differ from it in
    one of the ``width`` least certain notes, with their log-probabilities."""
    best = (q >= 0.5).astype("float32")
    base = _frame_log_prob(best, q)
    qc = np.clip(q, 1e-12, 1 - 1e-12)
    cost = np.abs(np.log(qc) - np.log1p(-qc))  # log-prob lost by flipping each note
    out = [(best, base)]
    for key in np.argsort(cost)[:width]:
        frame = best.copy()
        frame[key] = 1.0 - frame[key]
        out.append((frame, base - float(cost[key])))
    return out


def _beam_search(decoder, context: np.ndarray, steps: int, beam: int, temperature: float, melody: bool):
    """Keep the ``beam`` most likely continuations (log-probabilities of the tempered
    distribution); return the best one and its log-likelihood under the model."""
    beams = [(0.0, 0.0, [], 0)]  # (tempered score, model log-likelihood, steps, parent beam)
    for index in track(range(steps), f"generating (beam {beam})", unit="step"):
        if index == 0:
            dists = decoder.start(context)
        else:
            last = np.stack([np.asarray(seq[-1], dtype=context.dtype) for _, _, seq, _ in beams])
            dists = decoder.advance(last, [parent for _, _, _, parent in beams])
        candidates = []
        for parent, ((score, ll, seq, _), p) in enumerate(zip(beams, dists)):
            if melody:
                log_p = _melody_log_probs(p)
                tempered = np.log(np.maximum(_tempered_melody(log_p, temperature, None), 1e-300))
                for token in np.argsort(tempered)[::-1][:beam]:
                    if np.isfinite(log_p[token]):
                        candidates.append(
                            (score + float(tempered[token]), ll + float(log_p[token]), seq + [int(token)], parent)
                        )
            else:
                q = 1.0 / (1.0 + np.exp(-_note_logits(p) / temperature))
                for frame, frame_score in _frame_candidates(q, beam):
                    candidates.append((score + frame_score, ll + _frame_log_prob(frame, p), seq + [frame], parent))
        candidates.sort(key=lambda c: -c[0])
        beams = candidates[:beam]
    _, ll, seq, _ = beams[0]
    return np.asarray(seq), ll


# -- the call ------------------------------------------------------------------------------


def _open_run(run_or_path):
    if isinstance(run_or_path, (str, os.PathLike)):
        from seqkit.plugin_api import load_run

        return load_run(run_or_path)
    return run_or_path


def generate(
    run_or_path: Any,
    steps: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    beam: int | None = None,
    primer: str | os.PathLike | None = None,
    seed: int | None = None,
    out: str | os.PathLike | None = None,
    png: bool = True,
    stateful: bool = True,
) -> Generation:
    """Generate music with a trained ``melody`` or ``piano_roll`` run.

    Args:
        run_or_path: a run directory or a :class:`seqkit.api.Run`.
        steps: new steps to generate (after the primer).
        temperature: 0 is greedy (deterministic); 1 samples from the model's distribution;
            lower is more conservative, higher more adventurous.
        top_k: sample only among the k most likely events (melody) or notes (piano roll).
        beam: beam search with this many beams (deterministic; not with ``top_k``).
        primer: a MIDI file to continue; it is put on the run's grid and kept at the start.
        seed: seeds the sampling, so a call can be repeated exactly.
        out: a ``.mid`` file to write (and, with ``png``, a piano-roll ``.png`` beside it).
        stateful: carry the model's LSTM states from step to step (time linear in ``steps``).
            False re-runs the model over the whole context at every step (quadratic; the
            reference the stateful path is tested against: same tokens, same seed).

    Returns:
        A :class:`Generation` (sequence, notes, log-likelihood, files written).
    """
    run = _open_run(run_or_path)
    info = run.info
    if info.get("encoding") not in ("melody", "piano_roll"):
        raise SeqkitError(
            f"{run.path}: task {run.recipe.task!r} does not generate music; use a melody or piano_roll run"
        )
    steps, temperature, top_k, beam = check_options(info, steps, temperature, top_k, beam)
    if seed is not None:
        _check_int("--seed", seed, 0, 2**32 - 1)
    if out is not None and Path(out).suffix.lower() not in (".mid", ".midi"):
        raise SeqkitError(f"--out: expected a .mid or .midi file name. Received: {out}")
    melody = info["encoding"] == "melody"
    qpm = float(info.get("qpm", 120.0))
    if primer is not None:
        primed, qpm = read_primer(primer, info)
    else:
        primed = np.zeros((0,) if melody else (0, encodings.KEYS), dtype="int32" if melody else "float32")
    start = np.array([encodings.START], dtype="int32") if melody else np.zeros((1, encodings.KEYS), dtype="float32")
    context = np.concatenate([start, primed.astype(start.dtype)])
    decoder = _Stateful(run.model) if stateful else _FullPrefix(run.model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras notes about retracing on new lengths
        if beam is not None:
            new, log_likelihood = _beam_search(decoder, context, steps, beam, temperature, melody)
        else:
            new, log_likelihood = _sample(
                decoder, context, steps, temperature, top_k, np.random.default_rng(seed), melody
            )
    sequence = np.concatenate([primed.astype(new.dtype), new])
    spq = int(info["steps_per_quarter"])
    notes = (
        encodings.events_to_notes(sequence, spq, int(info["min_pitch"]))
        if melody
        else encodings.roll_to_notes(sequence, spq)
    )
    result = Generation(info["encoding"], sequence, len(primed), spq, qpm, notes, float(log_likelihood))
    if out is not None:
        result.write_midi(out)
        if png:
            result.write_png(Path(out).with_suffix(".png"))
    return result
