"""Opening files seqkit reads: regular files only, and a size limit where a file is read whole.

A FIFO would block ``open`` forever and ``/dev/zero`` never ends, so a path is opened with
``O_NONBLOCK`` (a FIFO opens at once instead of waiting for a writer) and checked with
``fstat`` on the open descriptor before a byte is read: the check and the read are about the
same file. Errors are one line naming the file; the caller chooses the exception class.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from seqkit.errors import SeqkitError

MiB = 1 << 20
RECIPE_LIMIT = 4 * MiB  # a recipe is a page of settings
JSON_LIMIT = 256 * MiB  # run-directory JSON (state.json holds the history of every epoch)
WHOLE_FILE_LIMIT = 2048 * MiB  # data tables and predict --input files read whole


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a plain file"


def _size(n: int) -> str:
    return f"{n / MiB:,.0f} MiB" if n >= MiB else f"{n:,} bytes"


def open_regular(path, what: str = "file", error: type[SeqkitError] = SeqkitError):
    """Open ``path`` for reading in binary mode; refuse anything but a regular file."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected a {what}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"{path}: not a regular file ({_kind(mode)}); expected a {what}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bounded(
    path, what: str = "file", limit: int = WHOLE_FILE_LIMIT, error: type[SeqkitError] = SeqkitError, hint: str = ""
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (checked before and while reading:
    a file may grow, and /proc files report size 0)."""
    with open_regular(path, what, error) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise error(f"{path}: {what} is too large ({_size(size)}; at most {_size(limit)} is read whole){hint}")
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise error(f"{path}: {what} is too large (more than {_size(limit)} is not read whole){hint}")
    return data


def require_regular(path, what: str = "file", error: type[SeqkitError] = SeqkitError) -> None:
    """Refuse a path that is missing or not a regular file, without reading it."""
    open_regular(path, what, error).close()


def check_output_dir(folder, where: str) -> list[str]:
    """``output.dir`` must be a folder, or a path that can be made one: not a file, not under a
    file, not in /proc or /sys, and writable. Checked when a recipe is loaded, before any work."""
    if not folder:
        return []
    path = Path(folder).expanduser().absolute()
    prefix = f"{where}: output.dir: {folder}"
    resolved = Path(os.path.realpath(path))
    if any(resolved == Path(top) or Path(top) in resolved.parents for top in ("/proc", "/sys")):
        return [f"{prefix}: lies in /{resolved.parts[1]}, which holds no run folders"]
    if path.exists() and not path.is_dir():
        return [f"{prefix}: is a file, expected a folder for run directories"]
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        return [f"{prefix}: lies under {existing}, which is a file, not a folder"]
    if not os.access(existing, os.W_OK | os.X_OK):
        return [f"{prefix}: cannot be created or written (no permission to write in {existing})"]
    return []
