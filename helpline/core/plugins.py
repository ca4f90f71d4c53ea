"""The plugin manager: which plugins load, from where, and how the core calls their hooks.

Sources, in loading order:

1. the essential ``core`` plugin (always on; it contributes the core models through the same hooks
   every other plugin uses);
2. built-in plugins, by name (:data:`BUILTIN_PLUGINS`);
3. third-party plugins, from the ``helpline.plugins`` entry point group;
4. plugin objects passed in code (tests, embedding applications).

``Settings.plugins`` of ``None`` enables every built-in and installed plugin; a list enables exactly
those names. A disabled plugin is blocked before anything is imported from it, so it contributes no
tables, types, routes or jobs. Each plugin is imported and registered on its own, so a broken one
is reported by name, and ``check_pending()`` catches a hook implementation that matches no spec.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import inspect
import logging
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

import pluggy

from helpline.core import hookspecs
from helpline.core.contributions import Contributed
from helpline.core.errors import PluginError, PluginLoadError, ValidationFailed, Veto

logger = logging.getLogger("helpline.plugins")
ENTRY_POINT_GROUP = "helpline.plugins"
ESSENTIAL_PLUGINS: dict[str, str] = {"core": "helpline.core.default_plugin"}
# Built-in capability plugins, by name -> module. They use only the public hooks.
BUILTIN_PLUGINS: dict[str, str] = {
    "sla": "helpline.plugins.sla.plugin",
    "performance": "helpline.plugins.performance.plugin",
    "importer": "helpline.plugins.importer.plugin",
}


@dataclasses.dataclass(frozen=True)
class PluginInfo:
    """What ``helpline plugins`` shows about one loaded plugin."""

    name: str
    version: str
    source: str  # "essential", "builtin", "entrypoint" or "code"
    hooks: tuple[str, ...]


class HelplinePlugins:
    """A pluggy manager plus what the core needs to know about each plugin."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        # Historic: every plugin registered from now on is asked to declare its own hooks.
        self.pm.hook.helpline_add_hookspecs.call_historic(kwargs={"plugin_manager": self.pm})
        self._sources: dict[str, tuple[str, str]] = {}

    # -- loading ---------------------------------------------------------------------------

    def register(self, plugin: object, name: str, source: str, version: str = "") -> None:
        """Register ``plugin`` under ``name``; a second plugin with the same name is an error."""
        if self.pm.has_plugin(name) or name in self._sources:
            raise PluginLoadError(f"two plugins are named {name!r}; plugin names must be unique")
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            raise PluginLoadError(f"Error registering plugin {name!r}: {exc}") from exc
        self._sources[name] = (source, version or _version_of(plugin))

    def check(self) -> None:
        """Fail, naming plugin and hook, when an implementation matches no declared hook."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            name = self.pm.get_name(exc.plugin) or repr(exc.plugin)
            raise PluginLoadError(
                f"plugin {name!r}: {exc} (if it is another plugin's hook, mark it "
                "@hookimpl(optionalhook=True) to load without that plugin)"
            ) from exc
        for name, plugin in self.pm.list_name_plugin():
            for attr in dir(plugin):
                # Unmarked functions named like hooks (pluggy ignores them); not helpline_plugin_name.
                if (
                    attr.startswith("helpline_")
                    and callable(getattr(plugin, attr, None))
                    and not hasattr(self.pm.hook, attr)
                ):
                    raise PluginLoadError(f"plugin {name!r} implements unknown hook {attr!r}")

    @property
    def names(self) -> list[str]:
        """Names of the loaded plugins, in loading order."""
        return list(self._sources)

    def info(self) -> list[PluginInfo]:
        """Name, version, source and implemented hooks of every loaded plugin."""
        result = []
        for name, (source, version) in self._sources.items():
            plugin = self.pm.get_plugin(name)
            hooks = tuple(sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or ()))
            result.append(PluginInfo(name, version, source, hooks))
        return result

    # -- calling ---------------------------------------------------------------------------

    def _impls(self, hook_name: str, *, loading_order: bool = False) -> list[pluggy.HookImpl]:
        caller = getattr(self.pm.hook, hook_name, None)
        if caller is None:
            return []
        impls = list(caller.get_hookimpls())
        # Events and decisions go as pluggy goes (most recently registered first, tryfirst/trylast
        # honoured); contributions are collected in loading order, core first.
        return impls if loading_order else list(reversed(impls))

    def collect(self, hook_name: str, **kwargs: Any) -> list[Contributed]:
        """Call a ``register`` hook on every plugin in loading order; flatten lists; drop ``None``; keep names."""
        contributions: list[Contributed] = []
        for impl in self._impls(hook_name, loading_order=True):
            try:
                result = impl.function(*(kwargs[arg] for arg in impl.argnames))
            except Exception as exc:
                raise PluginLoadError(f"plugin {impl.plugin_name!r} failed in {hook_name}: {exc}") from exc
            items = result if isinstance(result, list | tuple) else [result]
            contributions.extend(Contributed(impl.plugin_name, item) for item in items if item is not None)
        return contributions

    async def _call(self, impl: pluggy.HookImpl, hook_name: str, kwargs: dict[str, Any]) -> Any:
        """Call one implementation, awaiting it if async; failures become :class:`PluginError`.

        :class:`ValidationFailed` passes through (a plugin may report input problems as userErrors).
        """
        try:
            result = impl.function(*(kwargs[arg] for arg in impl.argnames))
            return await result if inspect.isawaitable(result) else result
        except ValidationFailed:
            raise
        except Exception as exc:
            if not isinstance(exc, Veto):
                logger.error("plugin %r failed in %s", impl.plugin_name, hook_name, exc_info=exc)
            raise PluginError(impl.plugin_name, hook_name, exc) from exc

    async def broadcast(self, hook_name: str, **kwargs: Any) -> None:
        """Call an event hook on every plugin, awaiting async ones; a failure names its plugin."""
        for impl in self._impls(hook_name):
            await self._call(impl, hook_name, kwargs)

    async def first_answer(self, hook_name: str, **kwargs: Any) -> Any:
        """Ask plugins one at a time; return the first non-``None`` answer (or ``None``)."""
        for impl in self._impls(hook_name):
            result = await self._call(impl, hook_name, kwargs)
            if result is not None:
                return result
        return None


def _version_of(plugin: object) -> str:
    version = getattr(plugin, "__version__", None) or getattr(plugin, "version", None)
    if isinstance(version, str):
        return version
    module_name = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
    top = module_name.split(".")[0]
    try:
        return importlib.metadata.version(top)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _import(name: str, module_path: str) -> ModuleType:
    try:
        return importlib.import_module(module_path)
    except Exception as exc:
        raise PluginLoadError(f"Error importing plugin {name!r} ({module_path}): {exc}") from exc


def available_plugins() -> dict[str, str]:
    """Every plugin name that could be enabled: built-ins and installed entry points -> source."""
    names = {name: "builtin" for name in BUILTIN_PLUGINS}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(entry_point.name, "entrypoint")
    return names


def load_plugins(enabled: Sequence[str] | None = None, extra: Iterable[object] = ()) -> HelplinePlugins:
    """Build the plugin manager.

    ``enabled`` is ``None`` for "every built-in and installed plugin", or the exact names to load
    (``core`` is always loaded). ``extra`` are plugin objects registered as well, whatever
    ``enabled`` says; each is named by its ``helpline_plugin_name`` attribute or its class name.
    Raises :class:`PluginLoadError` naming the plugin that is unknown, fails to import or
    implements a hook that does not exist.
    """
    plugins = HelplinePlugins()
    entry_points = {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    if enabled is not None:
        wanted = [name for name in dict.fromkeys(enabled) if name not in ESSENTIAL_PLUGINS]
        unknown = [name for name in wanted if name not in BUILTIN_PLUGINS and name not in entry_points]
        if unknown:
            known = ", ".join(sorted({*BUILTIN_PLUGINS, *entry_points})) or "none besides core, which is always on"
            raise PluginLoadError(f"unknown plugin(s) {', '.join(unknown)} (available: {known})")
    else:
        wanted = [*BUILTIN_PLUGINS, *(name for name in entry_points if name not in BUILTIN_PLUGINS)]

    for name, module_path in ESSENTIAL_PLUGINS.items():
        plugins.register(_import(name, module_path), name, "essential")
    for name in wanted:
        if name in BUILTIN_PLUGINS:
            plugins.register(_import(name, BUILTIN_PLUGINS[name]), name, "builtin")
            continue
        entry_point = entry_points[name]
        try:
            plugin = entry_point.load()
        except Exception as exc:
            raise PluginLoadError(f"Error importing plugin {name!r} ({entry_point.value}): {exc}") from exc
        version = entry_point.dist.version if entry_point.dist is not None else ""
        plugins.register(plugin, name, "entrypoint", version)
    for plugin in extra:
        name = getattr(plugin, "helpline_plugin_name", None) or type(plugin).__name__
        plugins.register(plugin, name, "code")
    plugins.check()
    return plugins
