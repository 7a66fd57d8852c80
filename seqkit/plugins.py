"""The plugin manager: finds plugins through entry points and builds registries lazily.

Built-in plugins (``plugins/seqkit_*``) and third-party plugins are both found through the
``seqkit`` entry-point group, so they load the same way. An entry point that fails to import
is reported by name with its reason; a name registered twice is an error naming both plugins.
"""

from __future__ import annotations

import importlib.metadata
import threading
from dataclasses import dataclass, field
from typing import Any

import pluggy

from seqkit import hookspecs
from seqkit.errors import PluginError, UnknownNameError

ENTRY_POINT_GROUP = "seqkit"

# The core's own parts (backbone-independent heads and encoders) are a plugin too.
CORE_PLUGIN = "seqkit.builtin"


@dataclass
class PluginInfo:
    name: str
    version: str
    distribution: str
    provides: dict[str, list[str]] = field(default_factory=dict)


class Registry:
    """Name -> object map for one kind of thing (tasks, adapters, encoders, heads, commands)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, Any] = {}
        self._owners: dict[str, str] = {}

    def add(self, name: str, obj: Any, owner: str) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"Plugin {owner!r} registered a {self.kind} with an invalid name: {name!r}")
        if name in self._items:
            raise PluginError(
                f"Duplicate {self.kind} name {name!r}: registered by plugin "
                f"{self._owners[name]!r} and by plugin {owner!r}"
            )
        self._items[name] = obj
        self._owners[name] = owner

    def get(self, name: str) -> Any:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, list(self._items)) from None

    def owner(self, name: str) -> str:
        return self._owners[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self):
        return sorted(self._items.items())

    def __contains__(self, name: str) -> bool:
        return name in self._items


class PluginManager:
    """Loads plugins and exposes the registries built from their hooks."""

    def __init__(self, load_entry_points: bool = True):
        self.pm = pluggy.PluginManager("seqkit")
        self.pm.add_hookspecs(hookspecs)
        self._load_entry_points = load_entry_points
        self._loaded = False
        self._registries: dict[str, Registry] | None = None
        self._versions: dict[str, tuple[str, str]] = {}
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
                    if self.pm.get_plugin(ep.name) is not None:
                        continue
                    try:
                        module = ep.load()
                    except Exception as exc:  # any import failure is the plugin's, name it
                        raise PluginError(
                            f"Plugin {ep.name!r} (entry point {ep.value!r}) failed to load: "
                            f"{type(exc).__name__}: {exc}"
                        ) from exc
                    self.pm.register(module, name=ep.name)
                    dist = ep.dist
                    # A plugin package's own __version__ wins over its distribution's (the
                    # built-ins share seqkit's distribution but version themselves).
                    version = getattr(module, "__version__", None) or (dist.version if dist else "unknown")
                    self._versions[ep.name] = (str(version), dist.metadata["Name"] if dist else "unknown")
            self._loaded = True

    def register(self, plugin: Any, name: str, version: str = "0") -> None:
        """Register a plugin object in-process (tests, notebooks). Invalidates the registries."""
        with self._lock:
            self._ensure_loaded()
            self.pm.register(plugin, name=name)
            self._versions[name] = (version, "in-process")
            self._registries = None

    def unregister(self, name: str) -> None:
        with self._lock:
            plugin = self.pm.get_plugin(name)
            if plugin is not None:
                self.pm.unregister(plugin, name=name)
            self._versions.pop(name, None)
            self._registries = None

    # -- registries ------------------------------------------------------------------------

    def _build(self) -> dict[str, Registry]:
        self._ensure_loaded()
        registries = {kind: Registry(kind) for kind in ("task", "adapter", "encoder", "head", "command")}
        hooks = {
            "task": "seqkit_register_tasks",
            "adapter": "seqkit_register_adapters",
            "encoder": "seqkit_register_encoders",
            "head": "seqkit_register_heads",
            "command": "seqkit_register_commands",
        }
        for plugin_name, plugin in self.pm.list_name_plugin():
            for kind, hook_name in hooks.items():
                impl = getattr(plugin, hook_name, None)
                if impl is None:
                    continue
                registry = registries[kind]

                if kind in ("task", "command"):

                    def register(obj, _r=registry, _o=plugin_name):
                        _r.add(getattr(obj, "name", None), obj, _o)

                else:

                    def register(name, obj, _r=registry, _o=plugin_name):
                        _r.add(name, obj, _o)

                try:
                    impl(register=register)
                except PluginError:
                    raise
                except Exception as exc:
                    raise PluginError(
                        f"Plugin {plugin_name!r} failed in {hook_name}: {type(exc).__name__}: {exc}"
                    ) from exc
        return registries

    def registries(self) -> dict[str, Registry]:
        with self._lock:
            if self._registries is None:
                self._registries = self._build()
            return self._registries

    @property
    def tasks(self) -> Registry:
        return self.registries()["task"]

    @property
    def adapters(self) -> Registry:
        return self.registries()["adapter"]

    @property
    def encoders(self) -> Registry:
        return self.registries()["encoder"]

    @property
    def heads(self) -> Registry:
        return self.registries()["head"]

    @property
    def commands(self) -> Registry:
        return self.registries()["command"]

    def plugin_infos(self) -> list[PluginInfo]:
        registries = self.registries()
        infos: dict[str, PluginInfo] = {}
        for name, _plugin in self.pm.list_name_plugin():
            version, dist = self._versions.get(name, ("unknown", "unknown"))
            infos[name] = PluginInfo(name=name, version=version, distribution=dist)
        for kind, registry in registries.items():
            for item_name in registry.names():
                owner = registry.owner(item_name)
                infos[owner].provides.setdefault(kind + "s", []).append(item_name)
        return sorted(infos.values(), key=lambda info: info.name)

    def plugin_versions(self) -> dict[str, str]:
        return {info.name: info.version for info in self.plugin_infos()}


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
