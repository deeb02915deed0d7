"""The root command: help of every group and command, --version, the entry points, import cost."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from modelcycle import __version__
from modelcycle.cli.main import app

COMMANDS = [
    [],
    ["runs"],
    ["runs", "list"],
    ["runs", "show"],
    ["runs", "compare"],
    ["runs", "delete"],
    ["experiments"],
    ["experiments", "list"],
    ["db"],
    ["db", "upgrade"],
    ["db", "current"],
    ["data"],
    ["data", "add"],
    ["data", "list"],
    ["data", "show"],
    ["data", "checkout"],
    ["data", "diff"],
    ["lineage"],
    ["quality"],
    ["quality", "drift"],
    ["quality", "profile"],
    ["quality", "schema"],
    ["quality", "validate"],
    ["gc"],
    ["demo"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help_of_every_command(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    assert "--help" in result.stdout


def test_every_option_has_help() -> None:
    from typer.main import get_command

    def walk(command: object, path: str) -> list[str]:
        missing = [
            f"{path} {param.name}"
            for param in getattr(command, "params", [])
            if not getattr(param, "help", None) and param.name != "help"
        ]
        for name, child in getattr(command, "commands", {}).items():
            missing += walk(child, f"{path} {name}")
        return missing

    assert walk(get_command(app), "modelcycle") == []


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"modelcycle {__version__}"


def test_no_command_shows_help_and_exits_2() -> None:
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 2
    assert "Commands" in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["nonsense"])
    assert result.exit_code == 2
    assert "nonsense" in result.stderr


def test_python_dash_m_runs_the_same_cli() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "modelcycle", "--version"], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"modelcycle {__version__}"


def test_help_does_not_import_the_heavy_stack() -> None:
    """--help must answer at once: the SDK's pandas, SQLAlchemy and scikit-learn load only
    inside the commands that use them."""
    code = (
        "import sys\n"
        "from modelcycle.cli.main import app\n"
        "heavy = {'pandas', 'sqlalchemy', 'sklearn', 'numpy', 'pydantic_settings'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
