"""The layers of STYLE.md, enforced: who may import what (imports inside functions too).

cli -> commands -> the rest; the pure layers (request, response, models) reach no
I/O layer; only http imports requests or urllib3; only render imports rich.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "orcli"
PURE = ("orcli.request", "orcli.response", "orcli.models")
IO_LAYERS = ("orcli.http", "orcli.render", "orcli.io", "orcli.commands", "orcli.cli",
             "orcli.app")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it, as absolute dotted names."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


MODULES = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize(("library", "home"), [
    ("requests", ("orcli.http",)), ("urllib3", ("orcli.http",)), ("rich", ("orcli.render",)),
])
def test_a_library_is_imported_only_by_its_layer(library: str, home: tuple[str, ...]) -> None:
    users = [m for m, deps in MODULES.items()
             if any(within(d, (library,)) for d in deps) and not within(m, home)]
    assert users == []


def test_the_pure_layers_reach_no_io_layer() -> None:
    crossings = [(m, d) for m, deps in MODULES.items() if within(m, PURE)
                 for d in deps if within(d, IO_LAYERS)]
    assert crossings == []


def test_nothing_below_the_cli_imports_cli_or_commands() -> None:
    upward = [(m, d) for m, deps in MODULES.items()
              if not within(m, ("orcli.cli", "orcli.commands", "orcli.__main__"))
              for d in deps if within(d, ("orcli.cli", "orcli.commands"))]
    assert upward == []
