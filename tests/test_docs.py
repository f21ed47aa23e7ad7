"""The README says what the program does: its command table against `bilu --help`, its settings table against
the Settings class. A command, option or setting added (or removed) without the README fails here.
"""
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from api.cli import cli
from engine.settings import Settings
from transcribe.model import COMPUTE_TYPES

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
CODE = re.compile(r"`([^`]+)`")
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])\b")
OPTION_WITH_CHOICES = re.compile(r"(--[a-z][a-z0-9-]*) ([^\s\[\]|]+(?:\|[^\s\[\]|]+)+)")


def _section(title: str) -> str:
    start = README.index(f"\n## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def _table_rows(section: str) -> list[list[str]]:
    """The cells of each row of the section's tables (header and rule lines left out); `\\|` is a literal |."""
    rows = []
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [cell.strip().replace("\0", "|") for cell in line.replace("\\|", "\0").strip("|").split(" | ")]
            rows.append(cells)
    return rows[1:] if rows else rows


# The command table

def _help_commands(*path: str) -> list[str]:
    """The commands `bilu [path] --help` lists."""
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    listed = result.output.split("\nCommands:\n", 1)[1]
    return [line.split()[0] for line in listed.splitlines() if line.startswith("  ") and line.split()]


def _cli_commands() -> dict[tuple[str, ...], click.Command]:
    """Every command `bilu --help` and its groups' `--help` list, by path: ("users", "add") ..."""
    found = {}
    for name in _help_commands():
        command = cli.commands[name]
        if isinstance(command, click.Group):
            for sub in _help_commands(name):
                found[(name, sub)] = command.commands[sub]
        else:
            found[(name,)] = command
    return found


def _documented_commands() -> dict[tuple[str, ...], list[str]]:
    """Each command path the README's command table names, with the code spans that show its usage."""
    documented: dict[tuple[str, ...], list[str]] = {}
    for cells in _table_rows(_section("The command line")):
        for usage in CODE.findall(cells[0]):
            words = usage.split()
            if words[0] != "bilu":
                continue
            command = cli.commands.get(words[1])
            path = (words[1], words[2]) if isinstance(command, click.Group) else (words[1],)
            documented.setdefault(path, []).append(usage)
    return documented


def _options(command: click.Command) -> list[click.Option]:
    return [param for param in command.params if isinstance(param, click.Option) and param.name != "help"]


def test_the_command_table_documents_every_command_and_no_other():
    commands, documented = _cli_commands(), _documented_commands()
    assert len(commands) >= 20, commands  # the walk found the commands, groups included
    assert sorted(set(commands) - set(documented)) == [], "commands missing from the README's table"
    assert sorted(set(documented) - set(commands)) == [], "the README's table names commands bilu does not have"


def test_the_command_table_shows_every_option_and_no_other():
    commands = _cli_commands()
    missing, unknown, wrong_choices, choices_checked = [], [], [], 0
    for path, usages in _documented_commands().items():
        command = commands[path]
        shown = {option for usage in usages for option in OPTION.findall(usage)}
        for option in _options(command):
            # A flag's off switch (--no-demo) need not be shown when off is already its default.
            switches = (option.opts,) if option.default is False else (option.opts, option.secondary_opts)
            for names in switches:
                if names and not shown & set(names):
                    missing.append(f"bilu {' '.join(path)} {'/'.join(names)}")
        known = {name for option in _options(command) for name in (*option.opts, *option.secondary_opts)}
        unknown += [f"bilu {' '.join(path)} {name}" for name in sorted(shown - known - {"-h", "--help"})]
        for usage in usages:
            for name, values in OPTION_WITH_CHOICES.findall(usage):
                option = next((o for o in _options(command) if name in o.opts), None)
                if option is None or not isinstance(option.type, click.Choice):
                    continue
                choices_checked += 1
                if set(values.split("|")) != set(option.type.choices):
                    wrong_choices.append(f"bilu {' '.join(path)} {name}: README {values}, bilu "
                                         f"{'|'.join(option.type.choices)}")
    assert not missing, "options missing from the README's command table: " + ", ".join(missing)
    assert not unknown, "the README's command table shows options bilu does not have: " + ", ".join(unknown)
    assert choices_checked >= 5  # --diarizer (twice), --format, --role, --level
    assert not wrong_choices, "choices that differ: " + "; ".join(wrong_choices)


# The settings table

def _settings_rows() -> list[tuple[list[str], list[str], str]]:
    """(the BILU_ names, the documented defaults, the meaning) of each row of the settings table."""
    rows = []
    for cells in _table_rows(_section("Settings (environment variables)")):
        names = [name for name in CODE.findall(cells[0]) if name.startswith("BILU_")]
        rows.append((names, CODE.findall(cells[1]), cells[2]))
    return rows


def _field_env(field: str) -> str:
    return f"BILU_{field.upper()}"


def test_every_setting_has_a_row_in_the_settings_table():
    documented = {name for names, _, _ in _settings_rows() for name in names}
    fields = {_field_env(field) for field in Settings.model_fields}
    assert len(fields) >= 20, fields
    assert sorted(fields - documented) == [], "settings missing from the README's settings table"


def test_every_setting_the_readme_names_exists():
    named = set(re.findall(r"\bBILU_[A-Z0-9_]*[A-Z0-9]", README))
    assert "BILU_HOME" in named
    assert sorted(named - {_field_env(field) for field in Settings.model_fields}) == [], \
        "the README names settings that Settings does not have"


def _shown(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_the_documented_defaults_are_the_defaults():
    checked, wrong = 0, []
    for names, defaults, _ in _settings_rows():
        if len(defaults) != len(names):  # "(none)", "(generated)", "(auto)": nothing to compare
            continue
        for name, documented in zip(names, defaults):
            field = Settings.model_fields[name.removeprefix("BILU_").lower()]
            if field.default_factory is not None or field.default is None:  # a path made at run time
                continue
            checked += 1
            if _shown(field.default) != documented:
                wrong.append(f"{name}: README {documented!r}, Settings {_shown(field.default)!r}")
    assert checked >= 12
    assert not wrong, wrong


def test_every_compute_type_is_documented():
    meaning = next(meaning for names, _, meaning in _settings_rows() if names == ["BILU_ASR_COMPUTE"])
    assert sorted(set(COMPUTE_TYPES) - set(CODE.findall(meaning))) == []


@pytest.mark.parametrize("claim", ["GET /` | the list of sessions", "the file pipeline does not yet"])
def test_claims_found_untrue_stay_out(claim):
    assert claim not in README
