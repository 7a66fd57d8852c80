"""The plugin manager: finds plugins through entry points and builds registries lazily.

Built-in plugins (``plugins/seqkit_*``) and third-party plugins are both found through the
``seqkit`` entry-point group, so they load the same way. The registries are built from pluggy's
own hook calls: only functions marked ``@hookimpl`` are called (``specname=`` included), and who
registered what is the plugin whose hook implementation made the ``register`` call.

One plugin cannot take the others down. An entry point that fails to import, a hook that
raises, a name registered twice: each becomes one line in :attr:`PluginManager.problems`
(the command line prints them as warnings) and disables only what it concerns, the plugin,
that hook call, or that name.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import threading
from dataclasses import dataclass, field
from typing import Any

import pluggy

from seqkit import hookspecs
from seqkit.errors import PluginError, UnknownNameError, did_you_mean

ENTRY_POINT_GROUP = "seqkit"

# The core's own parts (backbone-independent heads and encoders) are a plugin too.
CORE_PLUGIN = "seqkit.builtin"

#: Registry kind -> the hook that fills it. Every hook is called as ``hook(register=...)``
#: and every kind is registered the same way: ``register(obj)``, named by ``obj.name``.
HOOKS = {
    "task": "seqkit_register_tasks",
    "adapter": "seqkit_register_adapters",
    "encoder": "seqkit_register_encoders",
    "head": "seqkit_register_heads",
    "command": "seqkit_register_commands",
}


@dataclass(frozen=True)
class PluginProblem:
    """Something wrong with installed plugins; ``str()`` is one line for the user.

    ``plugins`` names the plugins concerned; ``kind`` and ``name`` are set for a name that
    several registrations claim (it is disabled)."""

    message: str
    plugins: tuple[str, ...]
    kind: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        return self.message


@dataclass
class PluginInfo:
    name: str
    version: str
    distribution: str
    provides: dict[str, list[str]] = field(default_factory=dict)
    #: Names this plugin registered that another registration also claims (not usable).
    disabled: dict[str, list[str]] = field(default_factory=dict)
    #: The hooks pluggy holds implementations of for this plugin.
    hooks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    loaded: bool = True


class Registry:
    """Name -> object map for one kind of thing (tasks, adapters, encoders, heads, commands).

    Built by :class:`PluginManager` from ``(name, object, owner)`` registrations; a name
    registered more than once is disabled (:meth:`disabled`) and left out of the map."""

    def __init__(self, kind: str, registrations=(), plugins=(), failed: dict[str, str] | None = None):
        self.kind = kind
        self._items: dict[str, Any] = {}
        self._owners: dict[str, str] = {}
        self._disabled: dict[str, list[str]] = {}
        # For the message about a name nobody provides: what is installed, and what failed.
        self._plugins = sorted(plugins)
        self._failed = dict(failed or {})
        claims: dict[str, list[tuple[Any, str]]] = {}
        for name, obj, owner in registrations:
            claims.setdefault(name, []).append((obj, owner))
        for name, claimed in claims.items():
            if len(claimed) == 1:
                self._items[name], self._owners[name] = claimed[0]
            else:
                self._disabled[name] = sorted(owner for _obj, owner in claimed)

    def get(self, name: str) -> Any:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(
                self.kind,
                name,
                list(self._items),
                plugins=self._plugins,
                claimed_by=self._disabled.get(name),
                failed=self._failed,
            ) from None

    def owner(self, name: str) -> str:
        return self._owners[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self):
        return sorted(self._items.items())

    def disabled(self) -> dict[str, list[str]]:
        """Names registered more than once -> the plugins that registered them (sorted)."""
        return {name: list(owners) for name, owners in sorted(self._disabled.items())}

    def __contains__(self, name: str) -> bool:
        return name in self._items


class PluginManager:
    """Loads plugins and exposes the registries built from their hooks."""

    def __init__(self, load_entry_points: bool = True):
        self.pm = pluggy.PluginManager("seqkit")
        self.pm.add_hookspecs(hookspecs)
        self._load_entry_points = load_entry_points
        self._loaded = False
        # Built per kind on first use: `seqkit --help` builds only the commands (plugins import
        # their task and adapter modules, with NumPy, only when asked for them).
        self._registries: dict[str, Registry] = {}
        self._build_problems: dict[str, list[PluginProblem]] = {}
        self._versions: dict[str, tuple[str, str]] = {}
        # Entry points that did not load: name -> (version, distribution, reason).
        self._failed: dict[str, tuple[str, str, str]] = {}
        # Entry points seen: plugin name -> (entry point value, distribution).
        self._sources: dict[str, tuple[str, str]] = {}
        self._load_problems: list[PluginProblem] = []
        self._lock = threading.RLock()

    # -- loading ---------------------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        with self._lock:
            if self._loaded:
                return
            from seqkit import builtin

            self.pm.register(builtin, name=CORE_PLUGIN)
            self._versions[CORE_PLUGIN] = (_seqkit_version(), "seqkit")
            if self._load_entry_points:
                for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                    self._load_entry_point(ep)
            self._loaded = True

    def _load_entry_point(self, ep) -> None:
        dist = ep.dist
        distribution = dist.metadata["Name"] if dist else "unknown"
        source = (ep.value, distribution)
        taken = self._sources.get(ep.name) or (
            (CORE_PLUGIN, "seqkit") if self.pm.get_plugin(ep.name) is not None else None
        )
        if taken is not None:
            # The same distribution seen twice on sys.path is one plugin; another one under a
            # name already taken is not loaded, and said so.
            if taken != source:
                self._load_problems.append(
                    PluginProblem(
                        f"plugin {ep.name!r} (entry point {ep.value!r} of distribution {distribution!r}) is not loaded: "
                        f"the name is taken by entry point {taken[0]!r} of distribution {taken[1]!r}",
                        (ep.name,),
                    )
                )
            return
        self._sources[ep.name] = source
        version = dist.version if dist else "unknown"
        try:
            module = ep.load()
            self.pm.register(module, name=ep.name)
        except Exception as exc:  # any import failure is the plugin's: name it, load the others
            reason = _one_line(exc)
            self._failed[ep.name] = (version, distribution, reason)
            self._load_problems.append(
                PluginProblem(f"plugin {ep.name!r} (entry point {ep.value!r}) failed to load: {reason}", (ep.name,))
            )
            return
        # A plugin package's own __version__ wins over its distribution's.
        version = getattr(module, "__version__", None) or version
        self._versions[ep.name] = (str(version), distribution)
        self._load_problems.extend(self._marker_problems(ep.name, module))

    def _marker_problems(self, name: str, plugin: Any) -> list[PluginProblem]:
        """Hooks pluggy will not call, said once: a hook name without ``@hookimpl``, or an
        implementation of a hook seqkit does not have (a misspelt name)."""
        problems = []
        implemented = {caller.name for caller in self.pm.get_hookcallers(plugin) or []}
        for hook_name in HOOKS.values():
            function = getattr(plugin, hook_name, None)
            if callable(function) and hook_name not in implemented:
                problems.append(
                    PluginProblem(
                        f"plugin {name!r}: {hook_name} is not marked @hookimpl, so seqkit does not call it", (name,)
                    )
                )
        for caller in self.pm.get_hookcallers(plugin) or []:
            if not caller.has_spec():
                hint = did_you_mean(caller.name, list(HOOKS.values()))
                problems.append(
                    PluginProblem(
                        f"plugin {name!r} implements {caller.name!r}, which is not a seqkit hook"
                        + (f". {hint}" if hint else ""),
                        (name,),
                    )
                )
        return problems

    def register(self, plugin: Any, name: str, version: str = "0") -> None:
        """Register a plugin object in-process (tests, notebooks). Invalidates the registries.

        ``plugin`` is a module, a class or an instance of an ordinary class, with functions
        marked ``@hookimpl``; it must be hashable, as pluggy keeps plugins in sets."""
        with self._lock:
            self._ensure_loaded()
            try:
                hash(plugin)
            except TypeError:
                raise PluginError(
                    f"cannot register plugin {name!r}: a {type(plugin).__name__} is not hashable; "
                    "register a module, a class or an instance of a class (pluggy keeps plugins in sets)"
                ) from None
            try:
                self.pm.register(plugin, name=name)
            except (ValueError, pluggy.PluginValidationError) as exc:
                raise PluginError(f"cannot register plugin {name!r}: {_one_line(exc)}") from None
            self._versions[name] = (version, "in-process")
            self._load_problems.extend(self._marker_problems(name, plugin))
            self._registries, self._build_problems = {}, {}

    def unregister(self, name: str) -> None:
        with self._lock:
            plugin = self.pm.get_plugin(name)
            if plugin is not None:
                self.pm.unregister(plugin, name=name)
            self._versions.pop(name, None)
            self._load_problems = [p for p in self._load_problems if name not in p.plugins]
            self._registries, self._build_problems = {}, {}

    # -- registries ------------------------------------------------------------------------

    def _build(self, kind: str) -> None:
        """Build the registry of one kind (and its problems) from every plugin's hook."""
        self._ensure_loaded()
        # The base class a registration must be (an instance of, or a subclass of); imported for
        # this kind only, since the task base classes load NumPy.
        module, class_name, is_class = {
            "task": ("seqkit.task", "Task", False),
            "adapter": ("seqkit.data.adapter", "Adapter", True),
            "encoder": ("seqkit.models.parts", "EncoderSpec", True),
            "head": ("seqkit.models.parts", "HeadSpec", True),
            "command": ("seqkit.commands", "Command", False),
        }[kind]
        base = getattr(importlib.import_module(module), class_name)
        problems: list[PluginProblem] = []
        registrations: dict[str, list[tuple[str, Any, str]]] = {kind: []}
        plugins = [plugin for _name, plugin in self.pm.list_name_plugin()]
        for hook_name in (HOOKS[kind],):
            for owner, plugin in self._implementers(hook_name):
                staged: list[tuple[str, Any, str]] = []

                def register(obj, _kind=kind, _owner=owner, _staged=staged, _base=base, _is_class=is_class):
                    _staged.append((_checked_name(_kind, obj, _owner, _base, _is_class), obj, _owner))

                # Each plugin's implementations are called through pluggy's own caller, reduced to
                # that plugin (subset_hook_caller, public API): pluggy still binds the arguments by
                # name, runs wrappers and honours specname / tryfirst / trylast, while seqkit knows
                # whose implementation is calling `register` (the subset holds that plugin's only),
                # and a plugin whose hook raises loses that call's registrations, not the others'.
                caller = self.pm.subset_hook_caller(hook_name, remove_plugins=[p for p in plugins if p is not plugin])
                try:
                    caller(register=register)
                except Exception as exc:
                    problems.append(
                        PluginProblem(f"plugin {owner!r} failed in {hook_name}: {_one_line(exc)}", (owner,))
                    )
                    continue
                registrations[kind].extend(staged)
        loaded = [name for name, _plugin in self.pm.list_name_plugin() if name != CORE_PLUGIN]
        failed = {name: reason for name, (_v, _d, reason) in self._failed.items()}
        registry = Registry(kind, registrations[kind], loaded, failed)
        for name, owners in registry.disabled().items():
            problems.append(PluginProblem(_clash_message(kind, name, owners), tuple(dict.fromkeys(owners)), kind, name))
        self._registries[kind], self._build_problems[kind] = registry, problems

    def _implementers(self, hook_name: str) -> list[tuple[str, Any]]:
        """(name, plugin) of every plugin with an implementation of the hook, in pluggy's call
        order (tryfirst first, then the latest registered first)."""
        seen: dict[str, Any] = {}
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            seen.setdefault(impl.plugin_name, impl.plugin)
        return list(seen.items())

    def registry(self, kind: str) -> Registry:
        """The registry of one kind (task, adapter, encoder, head, command), built on first use."""
        with self._lock:
            if kind not in self._registries:
                self._build(kind)
            return self._registries[kind]

    def registries(self) -> dict[str, Registry]:
        with self._lock:
            return {kind: self.registry(kind) for kind in HOOKS}

    @property
    def problems(self) -> list[PluginProblem]:
        """Everything wrong with the installed plugins (failed imports, failed hooks, names
        registered twice), one line each; empty when all is well."""
        with self._lock:
            self.registries()
            return self.problems_so_far

    @property
    def problems_so_far(self) -> list[PluginProblem]:
        """The problems found by what has been loaded and built until now (``seqkit --help``
        builds only the commands); :attr:`problems` builds everything first."""
        with self._lock:
            self._ensure_loaded()
            built = [problem for kind in HOOKS for problem in self._build_problems.get(kind, [])]
            return [*self._load_problems, *built]

    @property
    def tasks(self) -> Registry:
        return self.registry("task")

    @property
    def adapters(self) -> Registry:
        return self.registry("adapter")

    @property
    def encoders(self) -> Registry:
        return self.registry("encoder")

    @property
    def heads(self) -> Registry:
        return self.registry("head")

    @property
    def commands(self) -> Registry:
        return self.registry("command")

    def plugin_infos(self) -> list[PluginInfo]:
        """Every plugin, loaded or not, with what it registered and what went wrong."""
        registries = self.registries()
        infos: dict[str, PluginInfo] = {}
        for name, plugin in self.pm.list_name_plugin():
            version, dist = self._versions.get(name, ("unknown", "unknown"))
            hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])
            infos[name] = PluginInfo(name=name, version=version, distribution=dist, hooks=hooks)
        for name, (version, dist, _reason) in self._failed.items():
            infos[name] = PluginInfo(name=name, version=version, distribution=dist, loaded=False)
        for kind, registry in registries.items():
            for item_name in registry.names():
                infos[registry.owner(item_name)].provides.setdefault(kind + "s", []).append(item_name)
            for item_name, owners in registry.disabled().items():
                for owner in dict.fromkeys(owners):
                    infos[owner].disabled.setdefault(kind + "s", []).append(item_name)
        for problem in self.problems:
            for name in problem.plugins:
                if name in infos:
                    infos[name].problems.append(str(problem))
        return sorted(infos.values(), key=lambda info: info.name)

    def plugin_versions(self) -> dict[str, str]:
        """Loaded plugins -> version (what a run records in environment.json)."""
        self._ensure_loaded()
        return {
            name: self._versions.get(name, ("unknown", ""))[0] for name, _plugin in sorted(self.pm.list_name_plugin())
        }


def _checked_name(kind: str, obj: Any, owner: str, base: type, is_class: bool) -> str:
    """The name ``obj`` registers under; a PluginError naming the plugin if it has none or is
    not the kind of object the hook registers."""
    fits = (inspect.isclass(obj) and issubclass(obj, base)) if is_class else isinstance(obj, base)
    if not fits:
        what = f"a subclass of {base.__module__}.{base.__name__}" if is_class else f"a {base.__name__} instance"
        raise PluginError(f"plugin {owner!r} registered {obj!r} as {_a(kind)}: expected {what}")
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        label = obj.__name__ if inspect.isclass(obj) else type(obj).__name__
        raise PluginError(
            f"plugin {owner!r} registered {_a(kind)} without a name: {label}.name is {name!r}; "
            f'expected a non-empty string (a `name = "..."` class attribute)'
        )
    return name


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _clash_message(kind: str, name: str, owners: list[str]) -> str:
    unique = list(dict.fromkeys(owners))
    if len(unique) == 1:
        return f"plugin {unique[0]!r} registers {kind} {name!r} {len(owners)} times; {kind} {name!r} is disabled"
    listed = ", ".join(repr(o) for o in unique[:-1]) + f" and {unique[-1]!r}"
    return f"plugins {listed} {'both' if len(unique) == 2 else 'all'} register {kind} {name!r}; {kind} {name!r} is disabled until one of them is uninstalled"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _seqkit_version() -> str:
    from seqkit import __version__

    return __version__


_manager: PluginManager | None = None
_manager_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, created on first use."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = PluginManager()
        return _manager
