"""The package's layers, read from its import graph: each imports nothing above it, and no import goes round in a
circle, counting every import (at the top, inside functions, and those only for type checkers).

    errors, logs            what every layer may use
    http/                   talking to Docker: auth, retries, downloads, URLs
    dvp/                    Docker's API as data: endpoints, views, reports, periods, the catalogue (no HTTP, no SDK)
    files/                  the file engine: reader, encoders, chunks, the Arrow lane, batch files (no HTTP, no SDK)
    streams/                the Singer streams
    tap, settings, cli      the tap and its command line
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tap_dockerdvp

PACKAGE = Path(tap_dockerdvp.__file__).resolve().parent
LAYERS = {"errors": 0, "logs": 0, "__init__": 0, "http": 1, "dvp": 2, "files": 3, "streams": 4}
TOP = 5  # tap.py, settings.py, cli.py, __main__.py, merge_states.py
#: packages each layer must do without (what makes it plain data or plain files)
FORBIDDEN = {"dvp": ("singer_sdk", "requests", "urllib3"), "files": ("singer_sdk", "requests", "urllib3")}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], TOP) if len(parts) > 1 else 0


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, wherever the import statement is."""
    found: set[str] = set()
    inside = path.is_relative_to(PACKAGE)
    package = (
        "" if not inside else module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {i for i in imports(path) if i in modules and i != name} for name, path in modules.items()}


def test_no_layer_imports_a_layer_above_it() -> None:
    upward = [
        f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
        for module, targets in graph().items()
        for target in targets
        if layer(target) > layer(module)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycle() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_data_and_files_layers_do_without_http_and_the_sdk(package: str) -> None:
    found = [
        f"{module_name(path)} imports {name}"
        for path in (PACKAGE / package).rglob("*.py")
        for name in imports(path)
        if name.split(".")[0] in FORBIDDEN[package]
    ]
    assert not found, "\n".join(found)


def test_the_checks_see_an_upward_import_and_a_cycle(tmp_path: Path) -> None:
    """The graph is read right: a lazy import inside a function counts, and so does one for type checkers only."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import typing as t\nif t.TYPE_CHECKING:\n    from tap_dockerdvp.tap import TapDockerDVP\n"
        "def f():\n    from tap_dockerdvp.streams import base\n"
    )
    assert {"tap_dockerdvp.tap", "tap_dockerdvp.streams.base"} <= imports(sample)
    edges = graph()
    assert "tap_dockerdvp.files.engine" in edges["tap_dockerdvp.streams.period_files"]
    assert layer("tap_dockerdvp.files.arrow.lane") == 3 and layer("tap_dockerdvp.tap") == TOP


def test_no_function_is_too_complex_to_read() -> None:
    """`radon cc -n D tap_dockerdvp` prints nothing: no function of cyclomatic complexity grade D (21) or worse."""
    heavy = [f"{where} ({complexity})" for where, complexity in complexities() if complexity > 20]
    assert not heavy, "\n".join(heavy)


def complexities() -> list[tuple[str, int]]:
    """(file:line name, cyclomatic complexity) of every function, method, nested function and class, as radon
    counts them."""
    from radon.complexity import cc_visit

    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        blocks = list(cc_visit(path.read_text(encoding="utf-8")))
        while blocks:
            block = blocks.pop()
            blocks += [*getattr(block, "methods", []), *getattr(block, "closures", [])]
            found.append((f"{path.relative_to(PACKAGE)}:{block.lineno} {block.name}", block.complexity))
    return found


def test_the_complexity_check_sees_methods() -> None:
    found = dict(complexities())
    assert any(name.endswith(" _text_part") and value > 10 for name, value in found.items())  # a method of a class
