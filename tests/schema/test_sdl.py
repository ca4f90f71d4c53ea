"""The checked-in SDL (helpline/schema/schema.graphql) is the schema with every built-in plugin on."""

from pathlib import Path

from click.testing import CliRunner

import helpline
from helpline.cli import cli
from helpline.config import Settings
from helpline.core.plugins import BUILTIN_PLUGINS, load_plugins
from helpline.schema.compose import export_sdl

SDL_PATH = Path(helpline.__file__).parent / "schema" / "schema.graphql"


def test_checked_in_sdl_is_up_to_date() -> None:
    expected = export_sdl(load_plugins(list(BUILTIN_PLUGINS)), Settings())
    assert SDL_PATH.read_text(encoding="utf-8") == expected, (
        "helpline/schema/schema.graphql is out of date: run "
        "`helpline schema export --builtin -o helpline/schema/schema.graphql`"
    )


def test_cli_exports_the_same_sdl() -> None:
    plugins = load_plugins(list(BUILTIN_PLUGINS))
    result = CliRunner().invoke(
        cli, ["schema", "export"], obj={"settings": Settings(), "plugins": plugins}, catch_exceptions=False
    )
    assert result.exit_code == 0
    assert result.output == export_sdl(plugins, Settings())
    assert "type Ticket {" in result.output
