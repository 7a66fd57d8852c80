"""Command-line verbs contributed by plugins (``seqkit_register_commands``).

A plugin adds a verb such as ``seqkit forecast`` or ``seqkit generate`` by registering a
:class:`Command`. ``add_arguments`` receives the verb's ``argparse`` sub-parser; ``run``
receives the parsed arguments and returns the exit status. Both must import TensorFlow /
Keras only inside ``run``, so ``seqkit --help`` stays instant. Errors are reported by
raising :class:`seqkit.errors.SeqkitError` (one line, exit 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str = ""
