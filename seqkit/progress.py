"""Progress on long steps: a live bar on a terminal (tqdm), plain lines when the output is piped.

Every step that can take more than a few seconds reports through :func:`track` (a loop over
known items: pieces to parse, series to backtest, steps to generate, words to decode) or
:func:`phase` (one call that cannot be split: fitting a vocabulary). Plugins reach both through
``seqkit.plugin_api``. On a terminal ``track`` draws tqdm's bar on stderr; when stderr is not a
terminal (a pipe, a log file, CI) it prints nothing for steps shorter than ``QUIET_S`` seconds,
then one line at most every ``EVERY_S`` seconds and one closing line, so no phase is silent
for longer than that and logs stay free of carriage returns. ``seqkit run --quiet`` (and
``quiet=True`` in the Python API) silences both through :func:`silenced`.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")

QUIET_S = 3.0  # a step done sooner prints nothing when piped
EVERY_S = 10.0  # when piped, at most one line this often (and at least one, while items finish)

_silenced: contextvars.ContextVar[bool] = contextvars.ContextVar("seqkit_progress_silenced", default=False)
_tracking = [0]  # loops being tracked now: a phase around them lets their own lines speak


@contextlib.contextmanager
def silenced(on: bool = True) -> Iterator[None]:
    """No progress output inside the block (when ``on``)."""
    token = _silenced.set(on or _silenced.get())
    try:
        yield
    finally:
        _silenced.reset(token)


def is_silenced() -> bool:
    return _silenced.get()


def _stream(stream: TextIO | None) -> TextIO:
    return stream if stream is not None else sys.stderr


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _count(total: int | None, unit: str) -> str:
    return f"{total} {unit}{'' if total == 1 else 's'}"


def track(
    items: Iterable[T],
    description: str,
    *,
    total: int | None = None,
    unit: str = "item",
    stream: TextIO | None = None,
) -> Iterator[T]:
    """Yield ``items`` while reporting progress as ``description`` (for example "parsing chorales")."""
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    if _silenced.get():
        yield from items
        return
    _tracking[0] += 1
    try:
        yield from _tracked(items, description, total, unit, _stream(stream))
    finally:
        _tracking[0] -= 1


def _tracked(items, description, total, unit, out):
    if _is_terminal(out):
        from tqdm.auto import tqdm

        with tqdm(items, desc=description, total=total, unit=unit, file=out, dynamic_ncols=True) as bar:
            yield from bar
        return
    start = last = time.monotonic()
    done = 0
    for item in items:
        yield item
        done += 1
        now = time.monotonic()
        if now - start >= QUIET_S and now - last >= EVERY_S:
            of = f"/{total}" if total is not None else ""
            print(f"{description}: {done}{of} {unit}s, {now - start:.0f} s", file=out, flush=True)
            last = now
    elapsed = time.monotonic() - start
    if elapsed >= QUIET_S:
        print(f"{description}: {_count(done, unit)} in {elapsed:.1f} s", file=out, flush=True)


@contextlib.contextmanager
def phase(description: str, *, stream: TextIO | None = None) -> Iterator[None]:
    """Report one step that cannot be counted: a line if it is still running after
    ``QUIET_S`` seconds (then every ``EVERY_S`` seconds), and its duration at the end."""
    if _silenced.get():
        yield
        return
    out = _stream(stream)
    start = time.monotonic()
    stop = threading.Event()
    announced = threading.Event()

    def watch() -> None:
        wait = QUIET_S
        while not stop.wait(wait):
            if not _tracking[0]:
                print(f"{description} ... {time.monotonic() - start:.0f} s", file=out, flush=True)
                announced.set()
            wait = EVERY_S

    watcher = threading.Thread(target=watch, name="seqkit-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
    if announced.is_set():
        print(f"{description}: done in {time.monotonic() - start:.1f} s", file=out, flush=True)
