"""A real third-party plugin, installed with pip and loaded through its entry point.

``tests/example_plugin`` is its own package (``helpline-example-plugin`` 0.3.0). Once per test
session it is built and installed with pip into a temporary folder (never into the virtualenv);
each test that wants it "installed" puts that folder on ``sys.path`` for its own duration only, so
no other test sees the plugin. Everything else is real: databases, HTTP through the app, GraphQL.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpline import hookimpl
from helpline.cli import cli
from helpline.config import Settings
from helpline.core.db import connection
from helpline.core.errors import PluginLoadError
from helpline.core.models import Message, Ticket, TicketEvent
from helpline.core.plugins import available_plugins, load_plugins
from helpline.schema.ids import encode_id
from helpline.testing import HelplineClient, running_app

EXAMPLE_SOURCE = Path(__file__).resolve().parents[1] / "example_plugin"
PLUGIN = "example_watchers"
PACKAGE = "helpline_example_plugin"
EXAMPLE_HOOKS = (
    "helpline_register_models",
    "helpline_register_routes",
    "helpline_register_schema",
    "helpline_ticket_created",
)

CREATE_TICKET = """
mutation($input: CreateTicketInput!) {
  createTicket(input: $input) {
    ticket { id number watcherCount watchers { id name } }
    userErrors { field message code }
  }
}"""
WATCH_TICKET = """
mutation($input: WatchTicketInput!) {
  watchTicket(input: $input) {
    ticket { id number watcherCount watchers { id name } }
    userErrors { field message code }
  }
}"""
TICKETS = "{ tickets(first: 10) { nodes { number watcherCount watchers { name } } } }"


# --- installing the package ------------------------------------------------------------------


@pytest.fixture(scope="session")
def example_plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build and install tests/example_plugin with pip into a temporary folder, once per session.

    The source is copied first so the build leaves nothing in the repository; ``--no-index`` and
    ``--no-build-isolation`` keep it offline (setuptools comes from the dev extras); ``--target``
    keeps it out of the virtualenv.
    """
    root = tmp_path_factory.mktemp("example_plugin")
    source, site = root / "src", root / "site"
    shutil.copytree(EXAMPLE_SOURCE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        "--no-build-isolation",
        "--disable-pip-version-check",
        "--target",
        str(site),
        str(source),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"pip could not install the example plugin:\n{result.stdout}\n{result.stderr}"
    assert (site / f"{PACKAGE}-0.3.0.dist-info" / "entry_points.txt").is_file()
    return site


@pytest.fixture
def installed(example_plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example plugin is installed for this test only (its folder is on ``sys.path``)."""
    monkeypatch.syspath_prepend(str(example_plugin_site))  # also invalidates the import caches
    yield example_plugin_site
    monkeypatch.undo()
    importlib.invalidate_caches()


async def table_exists(name: str) -> bool:
    """Whether the current test database has a table ``name`` (in the test's own schema on PostgreSQL)."""
    db = connection()
    if db.capabilities.dialect == "postgres":
        rows = await db.execute_query_dict("SELECT to_regclass($1) IS NOT NULL AS present", [name])
        return bool(rows[0]["present"])
    rows = await db.execute_query_dict(
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?", [name]
    )
    return int(rows[0]["n"]) == 1


# --- discovery and the CLI --------------------------------------------------------------------


def test_the_installed_package_is_found_through_its_entry_point(installed: Path) -> None:
    assert available_plugins()[PLUGIN] == "entrypoint"
    plugins = load_plugins([PLUGIN])
    assert plugins.names == ["core", PLUGIN]
    [info] = [info for info in plugins.info() if info.name == PLUGIN]
    assert (info.version, info.source, info.hooks) == ("0.3.0", "entrypoint", EXAMPLE_HOOKS)
    # It is the pip-installed copy that loaded, not the source tree.
    module = plugins.pm.get_plugin(PLUGIN)
    assert Path(module.__file__).is_relative_to(installed)


def test_the_cli_lists_the_plugin_with_its_version_and_hooks(installed: Path) -> None:
    obj = {"settings": Settings(plugins=(PLUGIN,)), "plugins": load_plugins([PLUGIN])}
    result = CliRunner().invoke(cli, ["plugins"], obj=obj, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index(f"{PLUGIN} 0.3.0 (entrypoint)")
    assert lines[start + 1 : start + 1 + len(EXAMPLE_HOOKS)] == [f"    {hook}" for hook in EXAMPLE_HOOKS]

    result = CliRunner().invoke(cli, ["plugins", "--json"], obj=obj, catch_exceptions=False)
    listed = {entry["name"]: entry for entry in json.loads(result.output)}
    assert listed[PLUGIN] == {"name": PLUGIN, "version": "0.3.0", "source": "entrypoint", "hooks": list(EXAMPLE_HOOKS)}


def test_an_installed_plugin_is_enabled_by_default(installed: Path) -> None:
    assert PLUGIN in load_plugins(None).names


# --- end to end through GraphQL ---------------------------------------------------------------


@pytest.fixture
async def watchers_client(installed: Path) -> AsyncIterator[HelplineClient]:
    """An app with the example plugin enabled by name, on a fresh database."""
    async with running_app(plugins=[PLUGIN]) as client:
        yield client


async def test_the_plugin_table_field_mutation_and_route_work_end_to_end(watchers_client: HelplineClient) -> None:
    client = watchers_client
    assert await table_exists("example_watcher")
    customer = await client.make_user("customer", name="Cora Customer")
    agent = await client.make_user("agent", name="Alan Agent")

    # helpline_ticket_created (async) ran in the creation's transaction: the requester watches.
    data = await client.data(CREATE_TICKET, {"input": {"subject": "Printer", "description": "Broken"}}, customer.token)
    ticket = data["createTicket"]["ticket"]
    assert ticket["watcherCount"] == 1
    assert [watcher["name"] for watcher in ticket["watchers"]] == ["Cora Customer"]

    data = await client.data(WATCH_TICKET, {"input": {"ticketId": ticket["id"]}}, agent.token)
    payload = data["watchTicket"]
    assert payload["userErrors"] == []
    assert payload["ticket"]["watcherCount"] == 2
    assert [watcher["name"] for watcher in payload["ticket"]["watchers"]] == ["Cora Customer", "Alan Agent"]

    # Watching twice is harmless.
    data = await client.data(WATCH_TICKET, {"input": {"ticketId": ticket["id"]}}, agent.token)
    assert data["watchTicket"]["ticket"]["watcherCount"] == 2

    # The field works on lists too (one DataLoader batch per request), for every viewer who sees the ticket.
    data = await client.data(TICKETS, token=customer.token)
    assert data["tickets"]["nodes"] == [
        {"number": 1001, "watcherCount": 2, "watchers": [{"name": "Cora Customer"}, {"name": "Alan Agent"}]}
    ]

    # The rows are in the plugin's own table.
    from helpline_example_plugin.models import Watcher

    assert sorted(await Watcher.all().values_list("user_id", flat=True)) == sorted([customer.id, agent.id])

    response = await client.http.get("/example-watchers")
    assert response.status_code == 200
    assert response.json() == {"plugin": PLUGIN, "version": "0.3.0"}


async def test_watching_follows_the_core_visibility_rules(watchers_client: HelplineClient) -> None:
    client = watchers_client
    from helpline_example_plugin.models import Watcher

    owner = await client.make_user("customer", name="Owner")
    stranger = await client.make_user("customer", name="Stranger")
    data = await client.data(CREATE_TICKET, {"input": {"subject": "Mine", "description": "Private"}}, owner.token)
    ticket_id = data["createTicket"]["ticket"]["id"]
    before = await Watcher.all().count()

    # Another customer cannot see the ticket: NOT_FOUND, exactly as for a ticket that does not exist.
    hidden = await client.post(WATCH_TICKET, {"input": {"ticketId": ticket_id}}, stranger.token)
    missing = await client.post(WATCH_TICKET, {"input": {"ticketId": encode_id("Ticket", 999_999)}}, stranger.token)
    for body in (hidden, missing):
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "NOT_FOUND"}
        assert error["message"].startswith("no ticket with id ")

    # Ids are the core's typed global ids; anonymous callers are refused.
    wrong_type = await client.post(WATCH_TICKET, {"input": {"ticketId": encode_id("User", owner.id)}}, owner.token)
    assert wrong_type["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    anonymous = await client.post(WATCH_TICKET, {"input": {"ticketId": ticket_id}})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await Watcher.all().count() == before


class LateCreationVeto:
    """Vetoes every ticket, after the example plugin has written its watcher row."""

    helpline_plugin_name = "late_veto"

    @hookimpl(trylast=True)
    def helpline_ticket_created(self) -> None:
        raise RuntimeError("no new tickets today")


async def test_a_veto_rolls_back_the_plugin_rows_with_the_core_rows(installed: Path) -> None:
    async with running_app(plugins=[PLUGIN], extra_plugins=[LateCreationVeto()]) as client:
        from helpline_example_plugin.models import Watcher

        customer = await client.make_user("customer")
        body = await client.post(CREATE_TICKET, {"input": {"subject": "Hi", "description": "Hello"}}, customer.token)
        assert body["errors"][0]["extensions"] == {"code": "PLUGIN_ERROR", "plugin": "late_veto"}
        assert await Watcher.all().count() == 0
        assert (await Ticket.all().count(), await Message.all().count(), await TicketEvent.all().count()) == (0, 0, 0)


# --- disabled ---------------------------------------------------------------------------------


async def test_a_disabled_plugin_contributes_no_tables_types_or_routes(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
        monkeypatch.delitem(sys.modules, name)  # restored afterwards

    async with running_app(plugins=[]) as client:
        assert PLUGIN in available_plugins()  # installed...
        assert client.runtime.plugins.names == ["core"]  # ...but not enabled
        assert not await table_exists("example_watcher")
        assert await table_exists("helpline_ticket")
        sdl = str(client.app.state.schema)
        for name in ("watchers", "watcherCount", "watchTicket", "WatchTicketInput", "WatchTicketPayload"):
            assert name not in sdl
        assert (await client.http.get("/example-watchers")).status_code == 404
        customer = await client.make_user("customer")
        body = await client.post("{ tickets { nodes { watcherCount } } }", token=customer.token)
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    # Not even imported: a disabled plugin is blocked before anything of it loads.
    assert not [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]


def test_the_plugin_is_unknown_once_uninstalled(example_plugin_site: Path) -> None:
    # Without its folder on sys.path (this test does not use `installed`), it is not available.
    assert PLUGIN not in available_plugins()
    with pytest.raises(PluginLoadError, match=PLUGIN):
        load_plugins([PLUGIN])
