"""Readers: MIDI files (pretty_midi), MusicXML / ABC / Humdrum kern and music21's bundled
corpus (music21), and the JSB Chorales JSON. Each returns :class:`Piece` objects whose notes
are timed in quarter notes. MIDI libraries are imported when a file is read."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqkit.plugin_api import DataError, cached_json, require_file
from seqkit_music.encodings import Note

MIDI_SUFFIXES = (".mid", ".midi")
SCORE_SUFFIXES = (".xml", ".musicxml", ".mxl", ".abc", ".krn")


@dataclass
class Piece:
    """One piece: a name (file or corpus entry), its parts (lists of notes), its tempo."""

    name: str
    parts: list[list[Note]] = field(default_factory=list)
    qpm: float = 120.0
    roll: Any = None  # the piece's own (steps, 88) piano roll, when the source is frames (JSB)

    def notes(self, part: int | None = None) -> list[Note]:
        """All notes, or those of one part (``part`` counts from 0)."""
        if part is None:
            return [n for p in self.parts for n in p]
        if part >= len(self.parts):
            raise DataError(f"{self.name}: has {len(self.parts)} part(s); data.part is {part}")
        return list(self.parts[part])


# -- MIDI ----------------------------------------------------------------------------------


def read_midi(path: Path) -> Piece:
    """A MIDI file -> Piece (one part per non-drum instrument, times in quarter notes)."""
    import pretty_midi

    require_file(path, "MIDI file")
    try:
        with warnings.catch_warnings():
            # pretty_midi warns about meta events on non-zero tracks, which are harmless here.
            warnings.simplefilter("ignore")
            midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # mido / pretty_midi raise OSError, EOFError, ValueError, KeyError...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: not a readable MIDI file ({reason})") from None
    resolution = float(midi.resolution)
    parts = []
    for instrument in midi.instruments:
        if instrument.is_drum:
            continue
        parts.append(
            [
                Note(n.pitch, midi.time_to_tick(n.start) / resolution, midi.time_to_tick(n.end) / resolution)
                for n in sorted(instrument.notes, key=lambda n: (n.start, n.pitch))
            ]
        )
    tempi = midi.get_tempo_changes()[1]
    qpm = float(tempi[0]) if len(tempi) else 120.0
    return Piece(str(path), parts, qpm)


# -- music21 -------------------------------------------------------------------------------


def _score_parts(score) -> list[list[Note]]:
    score = score.stripTies()
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    out = []
    for part in parts:
        notes = []
        for element in part.flatten().notes:
            length = float(element.duration.quarterLength)
            if length <= 0:  # grace notes
                continue
            start = float(element.offset)
            for pitch in getattr(element, "pitches", ()):
                notes.append(Note(int(pitch.midi), start, start + length))
        notes.sort(key=lambda n: (n.start, n.pitch))
        out.append(notes)
    return out


# Parsed scores are cached (seqkit's data cache, plain JSON keyed by the file's bytes): music21
# takes about 0.1-0.3 s a chorale, the cached notes a millisecond. Bump when _score_parts changes.
SCORE_CACHE_FORMAT = 1


def _cached_pieces(path: Path, parse) -> list[tuple[list[list[Note]], float]]:
    """``parse()``'s (parts, tempo) of each piece in the score file ``path``, from the cache
    when this file was parsed before by this music21 version."""
    import music21

    def compute():
        return [
            {"parts": [[[n.pitch, n.start, n.end] for n in part] for part in parts], "qpm": qpm}
            for parts, qpm in parse()
        ]

    version = f"music21 {music21.__version__}, format {SCORE_CACHE_FORMAT}"
    return [
        ([[Note(int(p), float(a), float(b)) for p, a, b in part] for part in item["parts"]], float(item["qpm"]))
        for item in cached_json("music21-scores", version, path, compute)
    ]


def read_score(path: Path) -> list[Piece]:
    """A MusicXML / ABC / kern file -> Pieces (an ABC file may hold several tunes)."""
    require_file(path, "score file")
    scores = _cached_pieces(path, lambda: _parse_score(path))
    return [
        Piece(str(path) if len(scores) == 1 else f"{path}#{i + 1}", parts, qpm) for i, (parts, qpm) in enumerate(scores)
    ]


def _parse_score(path: Path) -> list[tuple[list[list[Note]], float]]:
    import music21

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = music21.converter.parse(str(path), forceSource=True)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: not a readable score ({reason[:200]})") from None
    scores = list(parsed.scores) if isinstance(parsed, music21.stream.Opus) else [parsed]
    return [(_score_parts(score), _score_tempo(score)) for score in scores]


def _score_tempo(score) -> float:
    marks = list(score.flatten().getElementsByClass("MetronomeMark"))
    number = getattr(marks[0], "number", None) if marks else None
    return float(number) if number else 120.0


CORPORA = ("bach_chorales",)


def corpus_names(corpus: str, limit: int | None = None) -> list[str]:
    """Entries of a music21 corpus that ships with music21 (no download)."""
    from music21 import corpus as m21corpus

    if corpus != "bach_chorales":
        raise DataError(f"data.corpus: unknown corpus {corpus!r}. Available: {', '.join(CORPORA)}")
    names = list(m21corpus.chorales.Iterator(returnType="filename"))
    if not names:
        raise DataError("data.corpus: music21's Bach chorales are not installed (pip install music21)")
    return names[:limit] if limit else names


def corpus_files(name: str) -> list[Path]:
    """Score files of a composer or collection (``mozart``, ``essenFolksong``) or of a work
    (``mozart/k80``, ``essenFolksong/altdeu10``) in music21's bundled corpus."""
    from music21 import corpus as m21corpus
    from music21.exceptions21 import CorpusException

    files = [Path(p) for p in m21corpus.getComposer(name)] if "/" not in name else []
    if not files:
        try:
            found = m21corpus.getWork(name)
        except CorpusException:
            found = []
        files = [Path(p) for p in (found if isinstance(found, list) else [found])]
    files = sorted(p for p in files if p.suffix.lower() in SCORE_SUFFIXES)
    if not files:
        root = Path(m21corpus.__file__).parent
        known = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
        from seqkit.plugin_api import did_you_mean

        hint = did_you_mean(name.split("/")[0], known) if name.split("/")[0] not in known else ""
        raise DataError(
            f"data.corpus: music21's corpus has no composer, collection or work {name!r}."
            + (f" {hint}" if hint else "")
            + f" Composers and collections: bach_chorales, {', '.join(known)}"
        )
    return files


def read_corpus_entry(name: str) -> Piece:
    from music21 import corpus as m21corpus

    def parse():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = m21corpus.parse(name, forceSource=True)  # forceSource: not music21's pickle cache
        return [(_score_parts(score), _score_tempo(score))]

    found = m21corpus.getWork(name)
    parts, qpm = _cached_pieces(Path(found[0] if isinstance(found, list) else found), parse)[0]
    return Piece(f"music21:{name}", parts, qpm)


# -- files and folders ---------------------------------------------------------------------


def list_files(path: Path, suffixes: tuple[str, ...], what: str) -> list[Path]:
    """A file, or every file with one of ``suffixes`` under a folder (sorted), or a glob."""
    if any(ch in str(path) for ch in "*?["):
        files = sorted(p for p in path.parent.glob(path.name) if p.suffix.lower() in suffixes)
        if not files:
            raise DataError(f"{path}: no {what} files match ({', '.join(suffixes)})")
        return files
    if not path.exists():
        raise DataError(f"{path}: {what} file or folder not found")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
        if not files:
            raise DataError(f"{path}: no {what} files ({', '.join(suffixes)}) in this folder")
        return files
    return [path]


# -- JSB Chorales JSON ---------------------------------------------------------------------

JSB_SPLITS = {"train": "train", "validation": "valid", "test": "test"}


def read_jsb(path: Path) -> dict[str, list[list[list[int]]]]:
    """The JSB Chorales JSON (``{"train", "valid", "test"}``: chorales -> steps -> pitches)."""
    require_file(path, "JSB Chorales JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object with keys train, valid, test")
    missing = [key for key in JSB_SPLITS.values() if key not in data]
    if missing:
        raise DataError(
            f"{path}: missing key(s) {', '.join(missing)}; expected train, valid, test. Found: {', '.join(map(str, data))}"
        )
    for key in JSB_SPLITS.values():
        chorales = data[key]
        if not isinstance(chorales, list) or not all(
            isinstance(c, list) and all(isinstance(s, list) for s in c) for c in chorales
        ):
            raise DataError(
                f"{path}: '{key}' must be a list of chorales, each a list of time steps, each a list of MIDI pitches"
            )
    return data
