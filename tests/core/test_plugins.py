"""Loading plugins: what stops start-up (naming the plugin), schema clashes, and plugin-declared hooks.

Plugins here are objects passed in code (``extra_plugins``), named by ``helpline_plugin_name``, or
packages made on the fly in a temporary folder with a ``.dist-info`` announcing an entry point, as
pip would leave them. The installed example package has tests of its own (test_plugin_example.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pluggy
import pytest
import strawberry
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from helpline import RouteContribution, SchemaContribution, create_app, hookimpl, hookspec
from helpline.config import Settings
from helpline.core import plugins as plugins_module
from helpline.core.errors import PluginLoadError
from helpline.core.plugins import available_plugins, load_plugins
from helpline.testing import running_app


def make_app(*extra: object) -> None:
    """Build an app with only ``extra`` code plugins besides core (no database is opened)."""
    create_app(Settings(), plugins=[], database_url="sqlite://:memory:", extra_plugins=extra)


def install_fake_distribution(site: Path, plugin: str, module: str, source: str) -> None:
    """Write module ``module`` and a dist-info whose ``helpline.plugins`` entry point ``plugin`` names it."""
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    dist_info = site / f"{module}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n", encoding="utf-8")
    (dist_info / "entry_points.txt").write_text(f"[helpline.plugins]\n{plugin} = {module}\n", encoding="utf-8")


# --- what stops start-up ----------------------------------------------------------------------


def test_an_unknown_plugin_name_is_refused_by_name() -> None:
    with pytest.raises(PluginLoadError, match=r"unknown plugin\(s\) no_such_plugin \(available: "):
        load_plugins(["no_such_plugin"])
    with pytest.raises(PluginLoadError, match="no_such_plugin"):
        create_app(Settings(), plugins=["no_such_plugin"], database_url="sqlite://:memory:")


def test_core_is_always_loaded_and_cannot_be_listed_twice() -> None:
    assert load_plugins([]).names == ["core"]
    assert load_plugins(["core"]).names == ["core"]


def test_an_installed_plugin_that_fails_to_import_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_distribution(
        tmp_path,
        "broken_example",
        "helpline_broken_example",
        """
        raise RuntimeError("this plugin is broken on purpose")
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert available_plugins()["broken_example"] == "entrypoint"

    expected = r"Error importing plugin 'broken_example' \(helpline_broken_example\): this plugin is broken on purpose"
    with pytest.raises(PluginLoadError, match=expected):
        load_plugins(["broken_example"])
    with pytest.raises(PluginLoadError, match=expected):
        load_plugins(None)  # "all": an installed plugin is enabled by default, so it stops start-up too
    # Not enabled, it is never imported: start-up succeeds.
    assert load_plugins([]).names == ["core"]


def test_a_builtin_plugin_that_fails_to_import_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(plugins_module.BUILTIN_PLUGINS, "ghost", "helpline.plugins.no_such_module")
    with pytest.raises(PluginLoadError, match=r"Error importing plugin 'ghost' \(helpline.plugins.no_such_module\)"):
        load_plugins(["ghost"])


class TypoHook:
    helpline_plugin_name = "typo_plugin"

    @hookimpl
    def helpline_ticket_craeted(self, ticket: object) -> None:
        """Misspelt: pluggy registers it, then finds no hook of that name."""


class UnmarkedTypoHook:
    helpline_plugin_name = "unmarked_typo"

    def helpline_ticket_craeted(self, ticket: object) -> None:
        """Misspelt and without @hookimpl: pluggy alone would ignore it silently."""


class WrongArgument:
    helpline_plugin_name = "wrong_argument"

    @hookimpl
    def helpline_ticket_created(self, tiket: object) -> None:
        """Asks for an argument the hook does not have."""


def test_a_misspelt_hook_stops_start_up_naming_the_plugin_and_the_hook() -> None:
    with pytest.raises(PluginLoadError, match=r"plugin 'typo_plugin': unknown hook 'helpline_ticket_craeted'"):
        make_app(TypoHook())
    with pytest.raises(
        PluginLoadError, match=r"plugin 'unmarked_typo' implements unknown hook 'helpline_ticket_craeted'"
    ):
        make_app(UnmarkedTypoHook())
    with pytest.raises(PluginLoadError, match=r"(?s)Error registering plugin 'wrong_argument'.*tiket"):
        make_app(WrongArgument())


class Named:
    """A correct code plugin: its ``helpline_plugin_name`` is its name, not a hook."""

    helpline_plugin_name = "named"

    @hookimpl
    def helpline_ticket_created(self) -> None:
        """Takes none of the hook's arguments, which is allowed."""


class Unnamed:
    @hookimpl
    def helpline_ticket_created(self) -> None:
        """Named after its class."""


def test_code_plugins_are_named_by_attribute_or_class_and_names_are_unique() -> None:
    loaded = load_plugins([], extra=[Named(), Unnamed()])
    assert loaded.names == ["core", "named", "Unnamed"]
    assert [(info.name, info.source, info.hooks) for info in loaded.info()][1:] == [
        ("named", "code", ("helpline_ticket_created",)),
        ("Unnamed", "code", ("helpline_ticket_created",)),
    ]
    with pytest.raises(PluginLoadError, match="two plugins are named 'named'"):
        load_plugins([], extra=[Named(), Named()])

    class Impostor:
        helpline_plugin_name = "core"

    with pytest.raises(PluginLoadError, match="two plugins are named 'core'"):
        load_plugins([], extra=[Impostor()])


def test_a_plugins_models_module_may_import_core_models(tmp_path: Path) -> None:
    """In a fresh interpreter, a plugin whose models module imports core models still starts.

    Tortoise puts a model in the first app whose module shows it; the core's app must be read
    first or ``Ticket`` would land in the plugin's app and ``"core.Ticket"`` would not resolve.
    A fresh process matters: once any app has opened, the core models keep their app label.
    """
    (tmp_path / "helpline_importing_models.py").write_text(
        textwrap.dedent(
            """
            from tortoise import fields
            from tortoise.models import Model

            from helpline.core.models import Ticket, User  # noqa: F401  (imported for annotations)


            class Note(Model):
                id = fields.IntField(primary_key=True)
                ticket = fields.ForeignKeyField("core.Ticket", related_name=False)

                class Meta:
                    table = "importing_note"
            """
        ),
        encoding="utf-8",
    )
    script = textwrap.dedent(
        """
        import asyncio, sys
        from helpline import ModelsContribution, hookimpl
        from helpline.core.db import open_database
        from helpline.core.models import Ticket
        from helpline.core.plugins import load_plugins


        class Notes:
            helpline_plugin_name = "notes"

            @hookimpl
            def helpline_register_models(self):
                return ModelsContribution(app="notes", modules=["helpline_importing_models"])


        async def main():
            async with open_database(load_plugins([], extra=[Notes()]), sys.argv[1]):
                print(Ticket._meta.app)


        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, f"sqlite://{tmp_path}/fresh.db"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "core"


# --- schema clashes ---------------------------------------------------------------------------


@strawberry.type
class EchoQueryA:
    @strawberry.field
    def echo(self) -> str:
        return "a"


@strawberry.type
class EchoQueryB:
    @strawberry.field
    def echo(self) -> str:
        return "b"


@strawberry.type
class TicketsQuery:
    @strawberry.field
    def tickets(self) -> str:
        return "mine"


@strawberry.type
class SubjectField:
    @strawberry.field
    def subject(self) -> str:
        return "mine"


class Contributes:
    """A code plugin contributing one SchemaContribution under a given name."""

    def __init__(self, name: str, contribution: SchemaContribution) -> None:
        self.helpline_plugin_name = name
        self.contribution = contribution

    @hookimpl
    def helpline_register_schema(self) -> SchemaContribution:
        return self.contribution


def test_two_plugins_defining_the_same_field_stop_start_up_naming_both() -> None:
    alpha = Contributes("alpha", SchemaContribution(query=EchoQueryA))
    beta = Contributes("beta", SchemaContribution(query=EchoQueryB))
    with pytest.raises(PluginLoadError) as caught:
        make_app(alpha, beta)
    message = str(caught.value)
    assert message.startswith("schema clash: Query field 'echo' is defined by both ")
    assert "'alpha'" in message and "'beta'" in message
    # Either alone is fine.
    make_app(alpha)
    make_app(beta)


def test_a_plugin_redefining_a_core_field_is_refused_naming_core() -> None:
    with pytest.raises(PluginLoadError, match="Query field 'tickets' is defined by both 'core' and 'thief'"):
        make_app(Contributes("thief", SchemaContribution(query=TicketsQuery)))
    with pytest.raises(PluginLoadError, match="Ticket field 'subject' is defined by both 'core' and 'thief'"):
        make_app(Contributes("thief", SchemaContribution(ticket_fields=SubjectField)))


def test_a_contribution_that_is_not_a_strawberry_type_is_refused_by_name() -> None:
    class NotAType:
        pass

    with pytest.raises(PluginLoadError, match=r"plugin 'sloppy'.*is not a strawberry type"):
        make_app(Contributes("sloppy", SchemaContribution(query=NotAType)))


async def test_fields_of_a_code_plugin_are_served() -> None:
    async with running_app(extra_plugins=[Contributes("alpha", SchemaContribution(query=EchoQueryA))]) as client:
        assert await client.data("{ echo }") == {"echo": "a"}


# --- hooks declared by plugins (helpline_add_hookspecs) ---------------------------------------


class GreetingSpecs:
    """The hooks the ``greeter`` plugin declares."""

    @hookspec
    def helpline_greeting_wanted(self, name: str) -> str | None:
        """Return a greeting for ``name``."""


class Greeter:
    """Declares ``helpline_greeting_wanted`` and calls it."""

    helpline_plugin_name = "greeter"

    @hookimpl
    def helpline_add_hookspecs(self, plugin_manager: pluggy.PluginManager) -> None:
        plugin_manager.add_hookspecs(GreetingSpecs)


class Listener:
    """Implements the greeter's hook (required: start-up fails without the greeter)."""

    helpline_plugin_name = "listener"

    @hookimpl
    async def helpline_greeting_wanted(self, name: str) -> str:
        return f"hello {name}"


class OptionalListener:
    """Implements the greeter's hook, but also loads without the greeter."""

    helpline_plugin_name = "optional_listener"

    @hookimpl(optionalhook=True)
    def helpline_greeting_wanted(self, name: str) -> str:
        return f"hi {name}"


class MisspeltListener:
    helpline_plugin_name = "misspelt_listener"

    @hookimpl
    def helpline_greeting_wanted(self, nme: str) -> str:
        return nme


@pytest.mark.parametrize("order", ["declarer first", "implementer first"])
async def test_a_plugin_can_declare_hooks_that_others_implement(order: str) -> None:
    extra = [Greeter(), Listener()] if order == "declarer first" else [Listener(), Greeter()]
    loaded = load_plugins([], extra=extra)
    assert loaded.pm.hook.helpline_greeting_wanted.spec is not None
    info = {plugin.name: plugin.hooks for plugin in loaded.info()}
    assert info["greeter"] == ("helpline_add_hookspecs",)
    assert info["listener"] == ("helpline_greeting_wanted",)

    # The declaring plugin calls its hook the way the core calls its own (async implementations awaited).
    assert await loaded.first_answer("helpline_greeting_wanted", name="Ada") == "hello Ada"


def test_implementing_an_absent_plugins_hook_fails_unless_marked_optional() -> None:
    """Decided behaviour: a hook nobody declares is a typo until proven otherwise.

    Without the declaring plugin (not installed, or disabled), an implementation of its hook stops
    start-up naming the implementing plugin and the hook, exactly like a misspelt core hook. A
    plugin that should also work without the declaring plugin marks the implementation
    ``@hookimpl(optionalhook=True)``; it then loads, and is simply never called.
    """
    with pytest.raises(
        PluginLoadError, match=r"plugin 'listener': unknown hook 'helpline_greeting_wanted'.*optionalhook"
    ):
        load_plugins([], extra=[Listener()])

    alone = load_plugins([], extra=[OptionalListener()])
    assert alone.names == ["core", "optional_listener"]
    together = load_plugins([], extra=[Greeter(), OptionalListener()])
    assert together.pm.hook.helpline_greeting_wanted(name="Ada") == ["hi Ada"]


def test_an_implementation_that_does_not_match_a_declared_hook_is_refused() -> None:
    with pytest.raises(PluginLoadError, match=r"(?s)Error registering plugin 'misspelt_listener'.*nme"):
        load_plugins([], extra=[Greeter(), MisspeltListener()])
    # Registered the other way round, the check happens when the greeter declares its hook: the
    # error starts with the greeter, and pluggy's text names the implementation at fault.
    with pytest.raises(PluginLoadError, match=r"(?s)Error registering plugin 'greeter'.*'misspelt_listener'.*nme"):
        load_plugins([], extra=[MisspeltListener(), Greeter()])


class _RoutePlugin:
    """Serves one path; two of these (or one on a core path) must not start."""

    def __init__(self, name: str, path: str) -> None:
        self.helpline_plugin_name = name
        self.path = path

    @hookimpl
    def helpline_register_routes(self) -> RouteContribution:
        async def hello(_request: Any) -> PlainTextResponse:
            return PlainTextResponse(self.helpline_plugin_name)

        return RouteContribution(routes=[Route(self.path, hello)])


def test_a_route_clash_names_both_plugins() -> None:
    with pytest.raises(PluginLoadError, match=r"'/hello'.*'first'.*'second'"):
        create_app(
            plugins=[],
            database_url="sqlite://:memory:",
            extra_plugins=[_RoutePlugin("first", "/hello"), _RoutePlugin("second", "/hello")],
        )
    with pytest.raises(PluginLoadError, match=r"'/graphql'.*'core'.*'greedy'"):
        create_app(plugins=[], database_url="sqlite://:memory:", extra_plugins=[_RoutePlugin("greedy", "/graphql")])
