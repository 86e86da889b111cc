"""The README runs as written: every ```bash and ```python block after the two install lines, in document order,
all in one empty folder through a real shell and a `certbank` command on the PATH. The
session comes first and leaves the bank and files the later sections use; a section that needs another input
makes it in its own block. A command that exits non-zero or prints a traceback fails the test, naming the
section and the command."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

FENCE = re.compile(r"^```(\w*)\n(.*?)^```\s*$", flags=re.S | re.M)
HEREDOC = re.compile(r"<<-?\s*'?\"?(\w+)'?\"?")


def blocks(text: str) -> list[tuple[str, str, str]]:
    """(section heading, language, code) of every fenced block, in document order."""
    out = []
    for m in FENCE.finditer(text):
        heads = re.findall(r"^## (.+)$", text[: m.start()], flags=re.M)
        out.append((heads[-1] if heads else "(top)", m.group(1), m.group(2)))
    return out


def runnable_blocks(text: str) -> list[tuple[str, str, str]]:
    """The bash and python blocks, less the first one (the install lines)."""
    found = [b for b in blocks(text) if b[1] in ("bash", "python")]
    assert found and "pip install" in found[0][2], "the README starts with the install block"
    return found[1:]


def commands(block: str) -> list[str]:
    """A bash block's commands: continuation lines joined, a here-document kept with its command, comments and
    blank lines dropped."""
    lines = block.replace("\\\n", " ").splitlines()
    out, i = [], 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        m = HEREDOC.search(line)
        if m:
            body = [lines[i - 1]]
            while i < len(lines) and lines[i].strip() != m.group(1):
                body.append(lines[i])
                i += 1
            body.append(m.group(1))
            i += 1
            line = "\n".join(body)
        out.append(line)
    return out


def session_block() -> str:
    for section, lang, code in runnable_blocks(README.read_text(encoding="utf-8")):
        if section == "A session with certbank" and lang == "bash":
            return code
    raise AssertionError("no session block")


def environment(folder: Path) -> dict:
    """PATH with a `certbank` that runs this checkout (so the test needs no install), and no CERTBANK_* settings
    from the caller."""
    bindir = folder.parent / (folder.name + "-bin")
    bindir.mkdir(exist_ok=True)
    script = bindir / "certbank"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "import sys; sys.path.insert(0, \'{ROOT}\'); '
                      f'from cli import main; sys.argv[0] = \'certbank\'; sys.exit(main())" "$@"\n',
                      encoding="utf-8")
    script.chmod(0o755)
    python = bindir / "python"   # the README's `python` is the one running the tests
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    python.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTBANK_")}
    env["PATH"] = f"{bindir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["MPLBACKEND"] = "Agg"
    return env


def run(section: str, lang: str, code: str, folder: Path, env: dict) -> list[tuple[str, float]]:
    """Run one block; return (command, seconds) for each command. Fails naming the section and the command."""
    if lang == "python":
        steps = [("python snippet:\n" + code, [sys.executable, "-c", code])]
    else:
        steps = [(cmd, ["bash", "-o", "pipefail", "-c", cmd]) for cmd in commands(code)]
    times = []
    for shown, argv in steps:
        start = time.perf_counter()
        res = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
        times.append((shown, time.perf_counter() - start))
        out = res.stdout + res.stderr
        where = f'README section "{section}", command:\n{shown}\nexit {res.returncode}, output:\n{out[-4000:]}'
        assert res.returncode == 0, where
        assert "Traceback" not in out, where
    return times


def test_the_blocks_are_found():
    found = runnable_blocks(README.read_text(encoding="utf-8"))
    sections = {s for s, _, _ in found}
    assert "A session with certbank" in sections and len(sections) >= 10
    assert any(lang == "python" for _, lang, _ in found)
    cmds = commands(session_block())
    assert cmds[0].startswith("certbank init --sample") and len(cmds) > 15
    # a here-document stays with its command
    assert commands("cat > a.csv <<'EOF'\nx,y\n# not a comment\nEOF\necho hi\n") == [
        "cat > a.csv <<'EOF'\nx,y\n# not a comment\nEOF", "echo hi"]


def test_a_failing_command_or_a_traceback_fails_naming_section_and_command(tmp_path):
    env = environment(tmp_path)
    for lang, code, shown in (("bash", "echo fine\ncertbank forms show NOPE --bank none.db\n", "forms show NOPE"),
                              ("python", "raise SystemExit(0) if False else print('Traceback (most')\n", "python")):
        try:
            run("Some section", lang, code, tmp_path, env)
        except AssertionError as err:
            assert 'README section "Some section"' in str(err) and shown in str(err)
        else:
            raise AssertionError(f"{lang} block should have failed")


def test_no_command_hides_in_an_untyped_block():
    """A block of commands is a ```bash block, so the test below runs it; untyped blocks are program output."""
    hidden = [code.splitlines()[0] for _, lang, code in blocks(README.read_text(encoding="utf-8"))
              if lang == "" and any(line.lstrip().startswith("certbank ") for line in code.splitlines())]
    assert hidden == []


def run_readme(folder: Path) -> list[tuple[str, float]]:
    """Every runnable block in document order in ``folder`` (one newcomer's session); (command, seconds)."""
    folder.mkdir(parents=True, exist_ok=True)
    env = environment(folder)
    times = []
    for section, lang, code in runnable_blocks(README.read_text(encoding="utf-8")):
        times += run(section, lang, code, folder, env)
    return times


#: The README's run when it was started beside the rest of the suite (``start_in_background``): its commands
#: are separate processes that mostly keep one core busy, so on a two-core machine they overlap the other
#: tests instead of adding their 2 minutes to the suite. Nothing else changes: one folder, document order.
_BACKGROUND: dict = {}


def start_in_background(folder: Path) -> None:
    """Start ``run_readme(folder)`` on a daemon thread (an interrupted suite does not wait for it); the test
    below collects its result or re-raises its failure."""
    import threading

    outcome: dict = {}

    def work():
        try:
            outcome["times"] = run_readme(folder)
        except BaseException as err:  # noqa: BLE001 - handed to the test, which re-raises it
            outcome["error"] = err

    thread = threading.Thread(target=work, name="readme", daemon=True)
    _BACKGROUND.update(folder=folder, thread=thread, outcome=outcome)
    thread.start()


def _collect_background() -> list[tuple[str, float]]:
    _BACKGROUND.pop("thread").join()
    outcome = _BACKGROUND.pop("outcome")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["times"]


def test_every_readme_block_runs_as_written(tmp_path):
    if _BACKGROUND:
        folder = _BACKGROUND.pop("folder")
        times = _collect_background()
    else:
        folder = tmp_path / "newcomer"
        times = run_readme(folder)
    for name in ("item-analysis.xlsx", "standard-setting.xlsx", "scores.csv", "scores-2027.csv",
                 "conversion-2027.csv", "cal-2027/anchors.csv"):
        assert (folder / name).exists(), name
    slowest = sorted(times, key=lambda t: -t[1])[:5]
    print("README: %d commands in %.0f s; slowest: %s" % (
        len(times), sum(t for _, t in times), "; ".join(f"{t:.1f} s {c.splitlines()[0][:60]}" for c, t in slowest)))
