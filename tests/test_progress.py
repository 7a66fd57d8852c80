"""Progress on long steps (seqkit.progress): a tqdm bar on a terminal, plain lines when piped,
nothing for short steps or under --quiet."""

from __future__ import annotations

import io
import time

import pytest

from seqkit import progress
from seqkit.plugin_api import phase, track


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def eager(monkeypatch):
    """Report at once: no quiet period, a line after every item."""
    monkeypatch.setattr(progress, "QUIET_S", 0.0)
    monkeypatch.setattr(progress, "EVERY_S", 0.0)


def test_a_short_piped_step_prints_nothing():
    out = io.StringIO()
    assert list(track(range(5), "counting", stream=out)) == [0, 1, 2, 3, 4]
    assert out.getvalue() == ""


def test_a_long_piped_step_prints_plain_lines_with_counts_and_a_closing_line(eager):
    out = io.StringIO()
    assert list(track(iter("abc"), "parsing", total=3, unit="piece", stream=out)) == ["a", "b", "c"]
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["parsing: 1/3 pieces, 0 s", "parsing: 2/3 pieces, 0 s", "parsing: 3/3 pieces, 0 s"]
    assert lines[3].startswith("parsing: 3 pieces in ") and lines[3].endswith(" s")
    assert "\r" not in out.getvalue()


def test_a_terminal_gets_a_live_bar():
    out = Terminal()
    assert list(track(range(4), "decoding", unit="word", stream=out)) == [0, 1, 2, 3]
    assert "decoding" in out.getvalue() and "4/4" in out.getvalue() and "\r" in out.getvalue()


def test_silenced_prints_nothing(eager):
    out, tty = io.StringIO(), Terminal()
    with progress.silenced():
        assert list(track(range(3), "x", stream=out)) == [0, 1, 2]
        assert list(track(range(3), "x", stream=tty)) == [0, 1, 2]
        with phase("waiting", stream=out):
            time.sleep(0.05)
    with progress.silenced(False):
        assert not progress.is_silenced()
    assert out.getvalue() == tty.getvalue() == ""


def test_a_phase_speaks_only_when_it_lasts(monkeypatch):
    monkeypatch.setattr(progress, "QUIET_S", 0.05)
    monkeypatch.setattr(progress, "EVERY_S", 10.0)
    quick, slow = io.StringIO(), io.StringIO()
    with phase("fitting the vocabulary", stream=quick):
        pass
    with phase("fitting the vocabulary", stream=slow):
        time.sleep(0.3)
    assert quick.getvalue() == ""
    first, last = slow.getvalue().splitlines()
    assert first.startswith("fitting the vocabulary ... ") and last.startswith("fitting the vocabulary: done in ")


def test_a_failed_phase_does_not_claim_to_be_done(monkeypatch):
    monkeypatch.setattr(progress, "QUIET_S", 0.01)
    out = io.StringIO()
    with pytest.raises(ValueError), phase("loading the data", stream=out):
        time.sleep(0.1)
        raise ValueError("bad row")
    assert "done" not in out.getvalue() and "loading the data ..." in out.getvalue()


def test_a_phase_around_a_tracked_loop_lets_the_loop_speak(monkeypatch):
    monkeypatch.setattr(progress, "QUIET_S", 0.02)
    monkeypatch.setattr(progress, "EVERY_S", 0.02)
    out = io.StringIO()
    with phase("loading the data", stream=out):
        for _ in track(range(3), "parsing", stream=out):
            time.sleep(0.1)
    assert "loading the data ..." not in out.getvalue()
    assert "parsing: 3 items in" in out.getvalue()
