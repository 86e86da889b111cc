"""Every command of the CLI is documented: it has help text and appears in the README."""
from pathlib import Path

import click
from click.testing import CliRunner

from cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(cmd, prefix=()):
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from _commands(sub, prefix + (name,))
    else:
        yield prefix, cmd


def test_every_command_has_help_and_is_in_the_readme():
    commands = list(_commands(main))
    assert len(commands) > 30
    missing = []
    for path, cmd in commands:
        words = " ".join(path)
        assert cmd.help, f"certbank {words} has no help text"
        result = CliRunner().invoke(main, list(path) + ["--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, words
        if not any(f"certbank {opts}{words}" in README for opts in ("", "--user maria ")):
            missing.append(words)
    assert missing == [], f"not in the README: {missing}"
