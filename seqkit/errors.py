"""Small exception classes. Every error a user can cause is a `SeqkitError`.

The command line prints `str(error)` on one line and exits with `exit_code`; no traceback.
"""

from __future__ import annotations

import difflib


class SeqkitError(Exception):
    """Base class for errors caused by user input (recipes, data, arguments, files)."""

    exit_code = 2


class RecipeError(SeqkitError):
    """One or more problems in a recipe. `problems` holds each as a one-line message."""

    def __init__(self, problems: list[str] | str):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} problems in recipe:\n" + "\n".join(f"  {p}" for p in self.problems)
        super().__init__(message)


class DataError(SeqkitError):
    """A data file is missing, unreadable or does not match what the recipe declares."""


class PluginError(SeqkitError):
    """A plugin failed to load, or two plugins registered the same name."""


class UnknownNameError(SeqkitError):
    """A name (task, adapter, head, encoder...) that no installed plugin registered.

    A close misspelling gets a suggestion; any other name says that no installed plugin
    provides it, with what is installed. ``claimed_by`` (the plugins that registered a name
    twice, so it is disabled) and ``failed`` (plugins that did not load -> why) say why a name
    may be missing."""

    def __init__(
        self,
        kind: str,
        name: str,
        available: list[str],
        plugins: list[str] | None = None,
        claimed_by: list[str] | None = None,
        failed: dict[str, str] | None = None,
    ):
        self.kind, self.name, self.available = kind, name, sorted(available)
        listed = ", ".join(self.available) or "(none)"
        hint = did_you_mean(name, self.available)
        if claimed_by:
            owners = list(dict.fromkeys(claimed_by))
            if len(owners) > 1:
                who = "plugins " + ", ".join(repr(o) for o in owners[:-1]) + f" and {owners[-1]!r}"
            else:
                who = f"plugin {owners[0]!r} more than once"
            message = f"{kind} {name!r} is disabled: registered by {who}; uninstall one of them"
        elif hint:
            message = f"Unknown {kind}: {name!r}. {hint} Available: {listed}"
        else:
            message = f"no installed plugin provides {kind} {name!r}; installed {kind}s: {listed}"
            if plugins is not None:
                message += f" (plugins: {', '.join(plugins) or 'none'})"
        if failed:
            message += "; not loaded: " + ", ".join(f"plugin {p!r} ({why})" for p, why in sorted(failed.items()))
        super().__init__(message)


class RunError(SeqkitError):
    """A run directory is missing, incomplete, or cannot be resumed."""


class WriteError(SeqkitError):
    """A file could not be written: the disk is full, a quota is reached, or the OS refused.
    Built by :func:`seqkit.train.rundir.write_error` with the file's name."""

    exit_code = 1


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT or SIGTERM); the command exits 128 + signum
    (130 for Ctrl-C, 143 for SIGTERM), as shells report a process ended by that signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class TrainingError(SeqkitError):
    """Training stopped on a failure the user can act on (e.g. a NaN loss)."""

    exit_code = 1


def did_you_mean(name: str, candidates) -> str:
    """Return 'Did you mean 'x'?' for the closest candidate, or ''."""
    matches = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f"Did you mean {matches[0]!r}?" if matches else ""
