"""The plugin contract: pluggy hook specifications for the project name ``seqkit``.

Every hook follows the ``register_*(register)`` pattern: seqkit passes a ``register``
callable and the plugin calls it once per thing it provides, ``register(obj)``, the same for
every kind: the name recipes use is ``obj.name`` (a class attribute). Nothing registers itself
at import time; the registries are built on first use (see :mod:`seqkit.plugins`), and a name
two registrations claim is disabled with a warning naming both plugins.

A plugin is any module or object with functions marked ``@seqkit.hookimpl``, published
under the ``seqkit`` entry-point group of its distribution.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("seqkit")
hookimpl = pluggy.HookimplMarker("seqkit")


# -- What a recipe names -----------------------------------------------------------------


@hookspec
def seqkit_register_tasks(register: Callable) -> None:
    """Register tasks: call ``register(task)`` once per task, a ``seqkit.Task`` instance."""


@hookspec
def seqkit_register_adapters(register: Callable) -> None:
    """Register data adapters: call ``register(adapter_class)`` once per adapter, a
    ``seqkit.data.Adapter`` subclass."""


# -- Model parts -------------------------------------------------------------------------


@hookspec
def seqkit_register_encoders(register: Callable) -> None:
    """Register input encoders: call ``register(encoder_class)`` once per encoder, a
    ``seqkit.models.parts.EncoderSpec`` subclass."""


@hookspec
def seqkit_register_heads(register: Callable) -> None:
    """Register output heads: call ``register(head_class)`` once per head, a
    ``seqkit.models.parts.HeadSpec`` subclass."""


# -- Command line ------------------------------------------------------------------------


@hookspec
def seqkit_register_commands(register: Callable) -> None:
    """Register command-line verbs: call ``register(seqkit.Command(...))`` once per verb
    (e.g. ``seqkit forecast``, ``seqkit generate``). A verb may not reuse a core verb's name."""
