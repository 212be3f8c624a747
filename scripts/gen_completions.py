"""Write completions/orcli.bash, orcli.zsh and orcli.fish from Typer's templates.

The scripts hold no list of commands or flags: at each Tab the shell runs
`orcli` with _ORCLI_COMPLETE set and orcli answers from its own Typer app, so
the candidates always match the installed CLI. What the files must match is the
program name, the completion variable orcli.__main__ answers to and Typer's
templates; tests/test_completions.py regenerates them and fails on any drift.

Usage: python scripts/gen_completions.py [--check]
  --check  write nothing; exit 1 when a committed file differs from what would be written
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "completions"


def completion_scripts() -> dict[str, str]:
    """File name -> text, for each shell: what `orcli completion SHELL` prints."""
    from orcli.cli.shells import SHELLS, completion_script

    return {f"orcli.{shell}": completion_script(shell) for shell in SHELLS}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, text in completion_scripts().items():
        path = OUT_DIR / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not check:
            OUT_DIR.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if check and stale:
        print(f"out of date: {', '.join(stale)}; run python scripts/gen_completions.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # orcli from this checkout, installed or not
    sys.exit(main(sys.argv[1:]))
