"""The ``melody`` and ``piano_roll`` tasks: next-step prediction, NLL metrics, plots, and
generation (``Run.generate`` / ``seqkit generate``)."""

from __future__ import annotations

import numpy as np

from seqkit.plugin_api import DataError, ExplainTarget, Task
from seqkit_music import encodings

_PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(pitch: int) -> str:
    """MIDI pitch -> scientific pitch name (60 -> C4)."""
    return f"{_PITCH_CLASSES[pitch % 12]}{pitch // 12 - 1}"


def event_name(token: int, min_pitch: int) -> str:
    """A melody event token's name: a note (``E4``), ``hold``, ``rest``, ``start`` or ``pad``."""
    special = {encodings.PAD: "pad", encodings.START: "start", encodings.REST: "rest", encodings.HOLD: "hold"}
    token = int(token)
    return special.get(token) or note_name(min_pitch + token - encodings.FIRST_PITCH_TOKEN)


def _explained_step(target, real_steps: int) -> int:
    """The step whose next-step prediction is explained: ``target`` (1-based) or the last."""
    if target is None:
        return real_steps - 1
    text = str(target).strip()
    if not text.isdigit() or not 1 <= int(text) <= real_steps:
        raise DataError(
            f"explain target {target!r}: expected a step from 1 to {real_steps} (the next step after it is explained)"
        )
    return int(text) - 1


class MusicTask(Task):
    """Shared parts of the two music tasks."""

    encoding = ""
    monitor_mode = "min"
    adapters = ("midi", "music21", "jsb_chorales")
    # Each step predicts the next one: a bidirectional backbone would read the answer.
    causal = True

    def generate(self, run, **options):
        """Generate music from a trained run; see :func:`seqkit_music.generate`."""
        from seqkit_music.generation import generate

        return generate(run, **options)

    def format_prediction(self, raw_input, row):
        return f"{raw_input}: " + ", ".join(f"{k}={v}" for k, v in row.items())


class PianoRollTask(MusicTask):
    name = "piano_roll"
    description = "polyphonic music as 88-note piano-roll frames; predicts frame t+1 from frames <= t"
    encoding = "piano_roll"
    default_adapter = "jsb_chorales"
    default_encoder = "piano_roll"
    default_head = "next_frame"
    encoders = ("piano_roll",)
    heads = ("next_frame",)

    def explain_target(self, output, info, raw_input=None, target=None, model_input=None):
        """The probabilities of the keys the model turns on in the frame after step ``target``
        (1-based; default the last step), added up; the most likely key when it turns none on.
        Features are named by key (``C4``)."""
        output = np.asarray(output)
        step = _explained_step(target, int(output.shape[0]))
        on = np.flatnonzero(output[step] >= 0.5)
        keys = on if on.size else np.array([int(np.argmax(output[step]))])
        weights = np.zeros(output.shape)
        weights[step, keys] = 1.0
        lowest = int(info.get("lowest_pitch", encodings.LOWEST))
        names = [note_name(lowest + int(k)) for k in keys]
        features = [note_name(lowest + k) for k in range(int(output.shape[1]))]
        steps = [str(k + 1) for k in range(int(output.shape[0]))]
        return ExplainTarget(
            weights, f"p(next frame has {' '.join(names)}) after step {step + 1}", steps=steps, features=features
        )

    def evaluate(self, y_true, y_pred, info):
        y_true = np.asarray(y_true)
        nll, frames = encodings.frame_nll(y_true, y_pred, skip_first=True)
        nll_all, frames_all = encodings.frame_nll(y_true, y_pred, skip_first=False)
        valid = (y_true >= 0).all(axis=-1)
        valid[:, 0] = False
        truth = y_true[valid] > 0.5
        guess = np.asarray(y_pred)[valid] >= 0.5
        tp = float((truth & guess).sum())
        wrong = float((truth ^ guess).sum())
        return {
            # The published figure: frames 2..T of every sequence, each predicted from its prefix.
            "nll_per_step": nll,
            "frames": frames,
            # Also counting frame 1, predicted from the all-zero start frame (no history).
            "nll_per_step_with_first": nll_all,
            "frames_with_first": frames_all,
            # Frame-level accuracy of Bay et al. 2009 (TP / (TP + FP + FN)), notes on at p >= 0.5.
            "frame_accuracy": tp / (tp + wrong) if tp + wrong else 0.0,
            "sequences": int(len(y_true)),
        }

    def summary(self, metrics):
        return f"nll_per_step={metrics['nll_per_step']:.4f} nats ({metrics['frames']} frames), frame_accuracy={metrics['frame_accuracy']:.4f}"

    def decode(self, y_pred, info, inputs=None):
        return [{"expected_notes_per_frame": round(float(_frames(p).sum(axis=-1).mean()), 4)} for p in y_pred]

    def describe_targets(self, y_true, info, inputs=None):
        return [f"{int((np.asarray(t) >= 0).all(axis=-1).sum())} frames" for t in y_true]

    def plots(self, plot_dir, y_true, y_pred, info):
        from seqkit_music.plots import plot_prediction

        path = plot_dir / "piano_roll.png"
        truth = np.asarray(y_true[0])
        steps = int((truth >= 0).all(axis=-1).sum())
        plot_prediction(
            np.clip(truth[:steps], 0, 1),
            np.asarray(y_pred[0])[:steps],
            path,
            "test piece 1: frames (top), predicted probabilities (bottom)",
            info,
        )
        return [path]


class MelodyTask(MusicTask):
    name = "melody"
    description = "monophonic melodies as events on a grid (note-on pitch / hold / rest); predicts the next event"
    encoding = "melody"
    default_adapter = "music21"
    default_encoder = "melody_events"
    default_head = "next_event"
    encoders = ("melody_events",)
    heads = ("next_event",)

    def explain_target(self, output, info, raw_input=None, target=None, model_input=None):
        """The probability of the event the model predicts next after step ``target`` (1-based;
        default the last real step): which earlier notes the next note depended on. Steps are
        named by their events (``E4``, ``hold``, ``rest``)."""
        output = np.asarray(output)
        events = np.asarray(model_input).reshape(-1) if model_input is not None else None
        real = int((events != encodings.PAD).sum()) if events is not None else int(output.shape[0])
        step = _explained_step(target, max(real, 1))
        predicted = int(np.argmax(output[step]))
        weights = np.zeros(output.shape)
        weights[step, predicted] = 1.0
        low = int(info.get("min_pitch", encodings.LOWEST))
        steps = [event_name(e, low) for e in events[:real]] if events is not None else None
        return ExplainTarget(
            weights,
            f"p(next event = {event_name(predicted, low)}) after step {step + 1}",
            steps=steps,
            highlight=[step],
        )

    def evaluate(self, y_true, y_pred, info):
        nll, accuracy, steps = encodings.event_nll(y_true, y_pred)
        return {
            "nll_per_step": nll,
            "perplexity": float(np.exp(nll)) if np.isfinite(nll) else float("nan"),
            "accuracy": accuracy,
            "steps": steps,
            "sequences": int(len(y_true)),
        }

    def summary(self, metrics):
        return f"nll_per_step={metrics['nll_per_step']:.4f} nats, perplexity={metrics['perplexity']:.3f}, accuracy={metrics['accuracy']:.4f} ({metrics['steps']} steps)"

    def decode(self, y_pred, info, inputs=None):
        return [{"mean_top_probability": round(float(_frames(p).max(axis=-1).mean()), 4)} for p in y_pred]

    def describe_targets(self, y_true, info, inputs=None):
        return [f"{int((np.asarray(t) != encodings.PAD).sum())} steps" for t in y_true]

    def plots(self, plot_dir, y_true, y_pred, info):
        from seqkit_music.plots import plot_melody, plot_prediction

        path = plot_dir / "melody.png"
        truth = np.asarray(y_true[0])
        steps = int((truth != encodings.PAD).sum())
        if "min_pitch" in info:
            plot_melody(truth[:steps], np.asarray(y_pred[0])[:steps], path, "test piece 1", info)
            return [path]
        one_hot = np.eye(int(info["vocabulary"]), dtype="float32")[truth[:steps]]
        plot_prediction(
            one_hot,
            np.asarray(y_pred[0])[:steps],
            path,
            "test piece 1: events (top), predicted probabilities (bottom)",
            info,
        )
        return [path]


def _frames(prediction) -> np.ndarray:
    """A piece's predicted steps without the all-zero ones past its end (a split scored in
    length buckets has zeros there)."""
    prediction = np.asarray(prediction)
    real = prediction.reshape(len(prediction), -1).any(axis=-1)
    return prediction[real] if real.any() else prediction
