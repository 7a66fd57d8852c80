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
            message = f"{len(self.problems)} problems in recipe:\n" + "\n".join(
                f"  {p}" for p in self.problems
            )
        super().__init__(message)


class DataError(SeqkitError):
    """A data file is missing, unreadable or does not match what the recipe declares."""


class PluginError(SeqkitError):
    """A plugin failed to load, or two plugins registered the same name."""


class UnknownNameError(SeqkitError):
    """A name (task, adapter, head, encoder...) that no installed plugin registered."""

    def __init__(self, kind: str, name: str, available: list[str]):
        self.kind, self.name, self.available = kind, name, sorted(available)
        message = f"Unknown {kind}: {name!r}."
        hint = did_you_mean(name, self.available)
        if hint:
            message += f" {hint}"
        message += f" Available: {', '.join(self.available) or '(none)'}"
        super().__init__(message)


class RunError(SeqkitError):
    """A run directory is missing, incomplete, or cannot be resumed."""


class TrainingError(SeqkitError):
    """Training stopped on a failure the user can act on (e.g. a NaN loss)."""

    exit_code = 1


def did_you_mean(name: str, candidates) -> str:
    """Return 'Did you mean 'x'?' for the closest candidate, or ''."""
    matches = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f"Did you mean {matches[0]!r}?" if matches else ""
