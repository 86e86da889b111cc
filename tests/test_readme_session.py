"""The README's session runs as written: every command of its first shell block after the install lines, in
order, in an empty folder, through a real shell and the installed `certbank` script. A command that fails or
prints a traceback fails the test, naming the command."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def commands(block: str) -> list[str]:
    """The block's commands: continuation lines joined, comments and blank lines dropped."""
    joined = block.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def session_block() -> str:
    text = README.read_text(encoding="utf-8")
    head = text.index("## A session with certbank")
    return shell_blocks(text[head:])[0]


def test_the_session_block_is_found():
    cmds = commands(session_block())
    assert cmds[0].startswith("certbank init --sample") and len(cmds) > 15


def test_the_readme_session_runs_as_written(tmp_path):
    bindir = Path(sys.executable).parent
    if not (bindir / "certbank").exists():
        pytest.skip(f"the certbank script is not installed beside {sys.executable} (pip install '.[test]')")
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", "CERTBANK_BANK": ""}
    env.pop("CERTBANK_BANK")
    for cmd in commands(session_block()):
        res = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=300)
        out = res.stdout + res.stderr
        assert res.returncode == 0, f"{cmd}\n{out}"
        assert "Traceback" not in out, f"{cmd}\n{out}"
    for name in ("item-analysis.xlsx", "standard-setting.xlsx", "scores.csv", "scores-2027.csv",
                 "conversion-2027.csv", "cal-2027/anchors.csv"):
        assert (tmp_path / name).exists(), name
