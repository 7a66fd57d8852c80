"""Data adapters: MIDI files, scores through music21 (its bundled Bach chorales by default)
and the JSB Chorales JSON, each encoded the way the recipe's task asks (melody events or
piano roll), with key-transposition augmentation of the training split."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqkit.plugin_api import Adapter, DataBundle, DataError, Split, split_indices, track
from seqkit_music import encodings
from seqkit_music.sources import (
    JSB_SPLITS,
    MIDI_SUFFIXES,
    SCORE_SUFFIXES,
    Piece,
    corpus_files,
    corpus_names,
    list_files,
    read_corpus_entry,
    read_jsb,
    read_midi,
    read_score,
)

RATIO = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
PITCH = {"type": "integer", "minimum": 0, "maximum": 127}
ENCODING_KEYS = {
    "steps_per_quarter": {
        "type": "integer",
        "minimum": 1,
        "maximum": 96,
        "description": "Grid resolution: steps per quarter note (4: sixteenth notes).",
    },
    "transpose": {
        "type": "array",
        "items": {"type": "integer", "minimum": -24, "maximum": 24},
        "minItems": 2,
        "maxItems": 2,
        "default": [0, 0],
        "description": "Augmentation of the training split only: every shift in [low, high] semitones "
        "(e.g. [-5, 6]); shifts that move a note out of range are dropped.",
    },
    "part": {
        "type": ["integer", "null"],
        "minimum": 0,
        "maximum": 1000,
        "default": 0,
        "description": "Melody task: the part / instrument the melody is taken from (0: the first, e.g. the "
        "soprano); null: the highest note of all parts.",
    },
    "pitch_range": {
        "type": "array",
        "items": PITCH,
        "minItems": 2,
        "maxItems": 2,
        "default": [36, 96],
        "description": "Melody task: lowest and highest pitch; others are moved by octaves into the range.",
    },
    "max_steps": {
        "type": "integer",
        "minimum": 0,
        "maximum": 1000000,
        "default": 0,
        "description": "Cut longer pieces into windows of this many steps (0: whole pieces).",
    },
    "min_steps": {
        "type": "integer",
        "minimum": 2,
        "maximum": 1000000,
        "default": 2,
        "description": "Skip shorter pieces.",
    },
    "qpm": {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 1000,
        "description": "Tempo of generated MIDI (quarter notes a minute).",
    },
}
SPLIT = {
    "type": "object",
    "additionalProperties": False,
    "default": {},
    "properties": {
        "validation": {**RATIO, "default": 0.1, "description": "Fraction of the pieces held out for validation."},
        "test": {**RATIO, "default": 0.1, "description": "Fraction of the pieces held out for testing."},
    },
    "description": "Fractions of the pieces held out (seeded, by piece).",
}
LIMIT = {"type": "integer", "minimum": 1, "maximum": 1000000, "description": "Read at most this many pieces."}


class MusicAdapter(Adapter):
    """Shared logic: encoding by task, splits by piece, transposition, padding."""

    default_steps_per_quarter = 4

    # -- what subclasses provide ---------------------------------------------------------

    def pieces(self) -> dict[str, list[Piece]] | list[Piece]:
        """Either all pieces (split here by ratio) or a dict with train / validation / test."""
        raise NotImplementedError

    # -- encoding ------------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        from seqkit_music.tasks import MusicTask

        task = self.context.task
        if not isinstance(task, MusicTask):
            name = task.name if task is not None else "?"
            raise DataError(f"data.adapter: music adapters work with the tasks melody and piano_roll, not {name!r}")
        return task.encoding

    def settings(self) -> dict:
        c = self.config
        low, high = c.get("pitch_range") or [36, 96]
        if low > high:
            raise DataError(f"data.pitch_range: the lowest pitch must come first. Received: [{low}, {high}]")
        t_low, t_high = c.get("transpose") or [0, 0]
        if t_low > t_high:
            raise DataError(f"data.transpose: expected [low, high] with low <= high. Received: [{t_low}, {t_high}]")
        return {
            "encoding": self.encoding,
            "steps_per_quarter": int(c.get("steps_per_quarter") or self.default_steps_per_quarter),
            "min_pitch": int(low),
            "max_pitch": int(high),
            "part": c.get("part", 0),
            "transpose": [int(t_low), int(t_high)],
        }

    def encode_piece(self, piece: Piece, settings: dict) -> np.ndarray:
        """A piece -> event tokens (melody) or a (steps, 88) piano roll."""
        spq = settings["steps_per_quarter"]
        if settings["encoding"] == "melody":
            return encodings.notes_to_events(
                piece.notes(settings["part"]), spq, settings["min_pitch"], settings["max_pitch"]
            )
        return encodings.notes_to_roll(piece.notes(), spq)

    def _transposed(self, sequence: np.ndarray, shift: int, settings: dict):
        if settings["encoding"] == "melody":
            return encodings.transpose_events(sequence, shift, settings["min_pitch"], settings["max_pitch"])
        return encodings.transpose_roll(sequence, shift)

    def _windows(self, sequence: np.ndarray) -> list[np.ndarray]:
        size = int(self.config.get("max_steps") or 0)
        if not size or len(sequence) <= size:
            return [sequence]
        return [sequence[i : i + size] for i in range(0, len(sequence), size) if len(sequence[i : i + size]) >= 2]

    def make_split(self, sequences: list[np.ndarray], names: list[str], settings: dict, augment: bool) -> Split | None:
        """Sequences -> padded (inputs, targets): inputs are the sequence shifted right by one
        step behind a start symbol (token START, or an all-zero frame), targets the sequence;
        padded target steps are 0 (melody) or -1 (piano roll) and never counted."""
        rows, raw = [], []
        shifts = encodings.transpositions(*settings["transpose"]) if augment else [0]
        for sequence, name in zip(sequences, names):
            for shift in shifts:
                moved = self._transposed(sequence, shift, settings)
                if moved is None:
                    continue
                for index, window in enumerate(self._windows(moved)):
                    rows.append(window)
                    label = (
                        name
                        + (f" {shift:+d}" if shift else "")
                        + (f" [{index + 1}]" if len(moved) != len(window) else "")
                    )
                    raw.append(label)
        if not rows:
            return None
        length = max(len(r) for r in rows)
        if settings["encoding"] == "melody":
            x = np.zeros((len(rows), length), dtype="int32")
            y = np.zeros((len(rows), length), dtype="int32")
            for i, r in enumerate(rows):
                x[i, 0] = encodings.START
                x[i, 1 : len(r)] = r[:-1]
                y[i, : len(r)] = r
        else:
            x = np.zeros((len(rows), length, encodings.KEYS), dtype="float32")
            y = np.full((len(rows), length, encodings.KEYS), -1.0, dtype="float32")
            for i, r in enumerate(rows):
                x[i, 1 : len(r)] = r[:-1]
                y[i, : len(r)] = r
        return Split(x, y, raw)

    # -- Adapter API ---------------------------------------------------------------------

    def load(self) -> DataBundle:
        settings = self.settings()
        found = self.pieces()
        min_steps = int(self.config.get("min_steps") or 2)
        if isinstance(found, dict):
            groups = found
        else:
            # data.validation / data.test beside data.path are those splits; the others are
            # carved from data.path's pieces.
            given = {key: self.read_key(key) for key in ("validation", "test") if self.config.get(key)}
            split = self.config.get("split") or {}
            ratios = [0.0 if key in given else split.get(key, 0.1) for key in ("validation", "test")]
            tr, va, te = split_indices(len(found), *ratios, self.context.seed)
            groups = {
                "train": [found[i] for i in tr],
                "validation": given.get("validation", [found[i] for i in va]),
                "test": given.get("test", [found[i] for i in te]),
            }
        encoded: dict[str, tuple[list, list]] = {}
        qpms = []
        for split_name, pieces in groups.items():
            sequences, names = [], []
            for piece in pieces:
                sequence = self.encode_piece(piece, settings)
                if len(sequence) >= min_steps:
                    sequences.append(sequence)
                    names.append(piece.name)
                    qpms.append(piece.qpm)
            encoded[split_name] = (sequences, names)
        if not encoded.get("train", ([], []))[0]:
            raise DataError(f"{self.describe_source()}: no training pieces with at least {min_steps} steps")
        splits = {
            name: self.make_split(seqs, names, settings, augment=(name == "train"))
            for name, (seqs, names) in encoded.items()
        }
        counts = {name: len(seqs) for name, (seqs, _) in encoded.items()}
        steps = {name: int(sum(len(s) for s in seqs)) for name, (seqs, _) in encoded.items()}
        info = {
            **settings,
            "qpm": float(self.config.get("qpm") or (float(np.median(qpms)) if qpms else 120.0)),
            "pieces": counts,
            "steps": steps,
            "train_sequences": len(splits["train"]),
            "start": "start_token" if settings["encoding"] == "melody" else "zero_frame",
        }
        if settings["encoding"] == "melody":
            info["vocabulary"] = encodings.vocabulary_size(settings["min_pitch"], settings["max_pitch"])
        else:
            info["keys"] = encodings.KEYS
            info["lowest_pitch"] = encodings.LOWEST
        return DataBundle(splits["train"], splits.get("validation"), splits.get("test"), info)

    def describe_source(self) -> str:
        return str(self.config.get("path") or self.config.get("train") or "data")

    def read_key(self, key: str) -> list[Piece]:
        """The pieces of the file, folder or glob that data.<key> names."""
        raise NotImplementedError

    def encode_inputs(self, raw_inputs, info):
        raise DataError(
            "music runs do not predict from raw inputs; use `seqkit generate RUN_DIR --primer FILE.mid` "
            "to continue a piece, or `seqkit evaluate RUN_DIR` to score files"
        )


class MidiAdapter(MusicAdapter):
    name = "midi"
    description = "MIDI files (pretty_midi): a file, a folder or a glob; or train / validation / test folders"
    schema = {
        "properties": {
            "path": {
                "type": "string",
                "format": "path",
                "description": "A .mid file, a folder of them or a glob; split by data.split.",
            },
            "train": {
                "type": "string",
                "format": "path",
                "description": "Training MIDI file(s), a folder or a glob (instead of data.path).",
            },
            "validation": {
                "type": "string",
                "format": "path",
                "description": "Validation MIDI file(s); beside data.path, the whole validation split.",
            },
            "test": {
                "type": "string",
                "format": "path",
                "description": "Test MIDI file(s); beside data.path, the whole test split.",
            },
            "split": SPLIT,
            "limit": LIMIT,
            **ENCODING_KEYS,
        }
    }

    @classmethod
    def check(cls, config):
        if not config.get("path") and not config.get("train"):
            return [("path", "give data.path (MIDI files split by data.split) or data.train / data.test")]
        if config.get("path") and config.get("train"):
            return [("train", "give data.path or data.train, not both")]
        return []

    def read_key(self, key: str) -> list[Piece]:
        files = list_files(self.context.resolve(self.config[key]), MIDI_SUFFIXES, "MIDI")
        limit = self.config.get("limit")
        return [
            read_midi(f) for f in track(files[:limit] if limit else files, f"reading {key} MIDI files", unit="file")
        ]

    def pieces(self):
        if self.config.get("path"):
            return self.read_key("path")
        return {name: self.read_key(name) for name in ("train", "validation", "test") if self.config.get(name)}


class Music21Adapter(MusicAdapter):
    name = "music21"
    description = "scores through music21: its bundled Bach chorales (default) or MusicXML / ABC / kern files"
    schema = {
        "properties": {
            "corpus": {
                "type": "string",
                "minLength": 1,
                "description": "What of music21's bundled corpus to read when data.path is absent: bach_chorales (the "
                "default), a composer or collection (mozart, haydn, essenFolksong...) or a work (mozart/k80).",
            },
            "path": {
                "type": "string",
                "format": "path",
                "description": "A score file (.xml .musicxml .mxl .abc .krn), a folder or a glob.",
            },
            "validation": {
                "type": "string",
                "format": "path",
                "description": "Validation score file(s): the whole validation split.",
            },
            "test": {"type": "string", "format": "path", "description": "Test score file(s): the whole test split."},
            "split": SPLIT,
            "limit": LIMIT,
            **ENCODING_KEYS,
        }
    }

    @classmethod
    def check(cls, config):
        if config.get("path") and config.get("corpus"):
            return [("corpus", "give data.path or data.corpus, not both")]
        return []

    def describe_source(self):
        return str(self.config.get("path") or f"music21 corpus {self.config.get('corpus') or 'bach_chorales'}")

    def read_key(self, key: str) -> list[Piece]:
        return self._read_files(list_files(self.context.resolve(self.config[key]), SCORE_SUFFIXES, "score"))

    def _read_files(self, files) -> list[Piece]:
        limit = self.config.get("limit")
        pieces = []
        for path in track(files, "parsing scores", unit="file"):
            pieces += read_score(path)
            if limit and len(pieces) >= limit:
                break
        return pieces[:limit] if limit else pieces

    def pieces(self):
        limit = self.config.get("limit")
        if self.config.get("path"):
            return self.read_key("path")
        corpus = self.config.get("corpus") or "bach_chorales"
        if corpus != "bach_chorales":
            return self._read_files(corpus_files(corpus))
        names = corpus_names(self.config.get("corpus") or "bach_chorales", limit)
        return [read_corpus_entry(name) for name in track(names, "parsing music21's Bach chorales", unit="chorale")]


class JsbChoralesAdapter(MusicAdapter):
    name = "jsb_chorales"
    description = "JSB Chorales JSON (Boulanger-Lewandowski 2012 split: train / valid / test)"
    default_steps_per_quarter = 1
    schema = {
        "properties": {
            "path": {
                "type": "string",
                "format": "path",
                "description": "jsb-chorales-quarter.json (steps_per_quarter 1, the default) or jsb-chorales-16th.json (4, the default for a file named *16th*).",
            },
            "limit": LIMIT,
            **ENCODING_KEYS,
        },
        "required": ["path"],
    }

    def settings(self):
        settings = super().settings()
        if not self.config.get("steps_per_quarter") and "16th" in Path(self.config["path"]).name:
            settings["steps_per_quarter"] = 4  # jsb-chorales-16th.json: a sixteenth-note grid
        return settings

    def pieces(self):
        path = self.context.resolve(self.config["path"])
        data = read_jsb(path)
        spq = self.settings()["steps_per_quarter"]
        limit = self.config.get("limit")
        out = {}
        for split_name, key in JSB_SPLITS.items():
            pieces = []
            for index, frames in enumerate(data[key][:limit] if limit else data[key]):
                roll = encodings.frames_to_roll(frames, origin=f"{path}: {key} chorale {index + 1}, ")
                pieces.append(Piece(f"{key}[{index}]", [encodings.roll_to_notes(roll, spq)], 120.0, roll=roll))
            out[split_name] = pieces
        return out

    def encode_piece(self, piece, settings):
        if settings["encoding"] == "piano_roll":
            return piece.roll  # the chorale's own frames, rests included
        return super().encode_piece(piece, settings)
