"""The tap uses the Singer SDK through its public API only, and marks what it overrides.

For every class in `tap_dockerdvp` derived from a singer_sdk class:
(a) each method or property it defines that a singer_sdk base class also defines carries `@override`
    (`typing_extensions.override` sets `__override__`; a property's getter, a cached_property's function);
(b) it defines no name that is private (`_x`, not dunder) on a singer_sdk base class: overriding one ties the
    tap to SDK internals that change without notice;
(c) and no code in `tap_dockerdvp/` calls `._x(` where `_x` is a private method of a singer_sdk class.
The private names come from the installed SDK's classes at test time, so the check follows SDK upgrades.

What is being rewritten right now is exempt, entry by entry, in PENDING_REWRITE; an entry that no longer
excuses anything fails the test, so the list only shrinks.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import re
import warnings
from pathlib import Path

import singer_sdk

import tap_dockerdvp

PACKAGE_DIR = Path(tap_dockerdvp.__file__).resolve().parent
ROOT = PACKAGE_DIR.parent

# (file, name): exempt from (a), (b) and (c) for `name` in `file`; (file, "*"): the whole file. Empty: nothing in
# tap_dockerdvp/ overrides or calls a private singer_sdk method.
PENDING_REWRITE: dict[tuple[str, str], str] = {}


def _exempt(path: str, name: str, used: set[tuple[str, str]]) -> bool:
    for key in ((path, name), (path, "*")):
        if key in PENDING_REWRITE:
            used.add(key)
            return True
    return False


@functools.lru_cache(maxsize=1)
def tap_modules() -> list:
    names = [m.name for m in pkgutil.walk_packages(tap_dockerdvp.__path__, "tap_dockerdvp.")]
    return [importlib.import_module(n) for n in names if not n.endswith("__main__")]  # __main__ runs the CLI


def sdk_subclasses() -> list[type]:
    """Classes defined in tap_dockerdvp with a singer_sdk class among their bases."""
    found = {
        obj
        for module in tap_modules()
        for obj in vars(module).values()
        if inspect.isclass(obj) and obj.__module__ == module.__name__ and any(_is_sdk(base) for base in obj.__mro__[1:])
    }
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


def _is_sdk(cls: type) -> bool:
    return cls.__module__.split(".")[0] == "singer_sdk"


def _function(value: object) -> object | None:
    """The function behind a method, classmethod, staticmethod, property or cached_property; None otherwise."""
    if isinstance(value, (classmethod, staticmethod)):
        return value.__func__
    if isinstance(value, property):
        return value.fget
    if isinstance(value, functools.cached_property):
        return value.func
    return value if inspect.isfunction(value) else None


def _marked(value: object) -> bool:
    return bool(getattr(value, "__override__", False) or getattr(_function(value), "__override__", False))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _source_path(cls: type) -> str:
    return Path(inspect.getfile(cls)).resolve().relative_to(ROOT).as_posix()


@functools.lru_cache(maxsize=1)
def sdk_private_methods() -> frozenset[str]:
    """Every private method name of every class in the installed singer_sdk."""
    names: set[str] = set()
    modules = [singer_sdk]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # importing every SDK module may raise its deprecation warnings
        for info in pkgutil.walk_packages(singer_sdk.__path__, "singer_sdk."):
            try:
                modules.append(importlib.import_module(info.name))
            except Exception:  # noqa: S112 - an optional extra that is not installed (pyarrow, ...)
                continue
    for module in modules:
        for obj in vars(module).values():
            # (named tuples' `_asdict`, `_replace`, ... are their public API, not SDK internals)
            if inspect.isclass(obj) and _is_sdk(obj) and not issubclass(obj, tuple):
                names |= {name for name, value in vars(obj).items() if _private(name) and _function(value)}
    return frozenset(names)


def test_overrides_of_sdk_methods_are_marked() -> None:
    used: set[tuple[str, str]] = set()
    unmarked = []
    for cls in sdk_subclasses():
        sdk_names = set().union(*(vars(base) for base in cls.__mro__[1:] if _is_sdk(base)))
        for name, value in vars(cls).items():
            if name.startswith("__") or name not in sdk_names or _function(value) is None:
                continue  # attributes (`name`, `schema` dicts, `parent_stream_type`) need no marker
            if not _marked(value) and not _exempt(_source_path(cls), name, used):
                unmarked.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    assert not unmarked, "overrides of singer_sdk methods without @override (typing_extensions):\n  " + "\n  ".join(
        unmarked
    )


def test_no_private_sdk_name_is_defined() -> None:
    used: set[tuple[str, str]] = set()
    defined = []
    for cls in sdk_subclasses():
        sdk_private = {n for base in cls.__mro__[1:] if _is_sdk(base) for n in vars(base) if _private(n)}
        sdk_private.discard("_abc_impl")  # set on every ABC by abc itself
        for name in sorted(set(vars(cls)) & sdk_private):
            if not _exempt(_source_path(cls), name, used):
                defined.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    assert not defined, "private singer_sdk names defined (overridden or shadowed):\n  " + "\n  ".join(defined)


def own_private_names() -> set[str]:
    """Private functions and methods tap_dockerdvp defines itself (calls to those are its own business)."""
    names: set[str] = set()
    for module in tap_modules():
        for name, obj in vars(module).items():
            if inspect.isfunction(obj) and obj.__module__ == module.__name__ and _private(name):
                names.add(name)
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                sdk_private = {n for base in obj.__mro__[1:] if _is_sdk(base) for n in vars(base)}
                names |= {n for n, v in vars(obj).items() if _private(n) and _function(v) and n not in sdk_private}
    return names


def private_sdk_calls(files: list[Path] | None = None) -> list[tuple[str, int, str]]:
    """(file, line, name) of each `._name(` call of a private singer_sdk method in tap_dockerdvp/ (or ``files``)."""
    names = sdk_private_methods() - own_private_names()
    calls = []
    for path in files if files is not None else sorted(PACKAGE_DIR.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name in re.findall(r"\.(_[A-Za-z]\w*)\s*\(", line):
                if name in names:
                    calls.append(
                        (path.as_posix() if files is not None else path.relative_to(ROOT).as_posix(), number, name)
                    )
    return calls


def test_no_private_sdk_method_is_called() -> None:
    used: set[tuple[str, str]] = set()
    calls = [f"{p}:{n}: .{name}(" for p, n, name in private_sdk_calls() if not _exempt(p, name, used)]
    assert not calls, "calls of private singer_sdk methods:\n  " + "\n  ".join(calls)


def test_the_scan_sees_the_sdk(tmp_path: Path) -> None:
    """The checks above can fail: the SDK's private methods are found, and so is a call of one."""
    assert {"_sync_records", "_write_state_message", "_increment_stream_state"} <= sdk_private_methods()
    assert "tap_dockerdvp.streams.base.DockerHubStream" in {
        f"{c.__module__}.{c.__qualname__}" for c in sdk_subclasses()
    }
    sample = tmp_path / "sample.py"
    sample.write_text("self._write_state_message()\nself._tap.state_writer.write_state(state)\nself._own()\n")
    assert [(line, name) for _p, line, name in private_sdk_calls([sample])] == [(1, "_write_state_message")]


def test_every_pending_rewrite_entry_still_excuses_something() -> None:
    used: set[tuple[str, str]] = set()
    for cls in sdk_subclasses():
        path = _source_path(cls)
        sdk_names = {n for base in cls.__mro__[1:] if _is_sdk(base) for n in vars(base)} - {"_abc_impl"}
        for name, value in vars(cls).items():
            if name in sdk_names and (
                (_private(name)) or (not name.startswith("__") and _function(value) and not _marked(value))
            ):
                _exempt(path, name, used)
    for path, _number, name in private_sdk_calls():
        _exempt(path, name, used)
    stale = sorted(set(PENDING_REWRITE) - used)
    assert not stale, f"PENDING_REWRITE entries with nothing left to excuse (remove them): {stale}"


def final_overrides(classes: list[type]) -> list[str]:
    """Methods the classes define that a singer_sdk base marks `@typing.final` (it sets `__final__`)."""
    found = []
    for cls in classes:
        for name in vars(cls):
            for base in cls.__mro__[1:]:
                if _is_sdk(base) and getattr(_function(vars(base).get(name)), "__final__", False):
                    found.append(f"{cls.__module__}.{cls.__qualname__}.{name} (final in {base.__qualname__})")
    return found


# The SDK's own attributes the tap must not reach into: its settings' storage, and its state writer (an internal
# the SDK's docs do not show; the tap writes STATE with the public `write_message`).
PRIVATE_MEMBERS = re.compile(r"\._config\b|\.state_writer\b|\._state_writer\b")


def private_members(files: list[Path]) -> list[str]:
    return [
        f"{path.name}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PRIVATE_MEMBERS.search(line)
    ]


def test_no_method_the_sdk_marks_final_is_overridden() -> None:
    found = final_overrides(sdk_subclasses())
    assert not found, "overrides of @final singer_sdk methods:\n  " + "\n  ".join(found)


def test_no_sdk_settings_storage_or_state_writer_is_reached() -> None:
    found = private_members(sorted(PACKAGE_DIR.rglob("*.py")))
    assert not found, "SDK internals reached:\n  " + "\n  ".join(found)


def test_the_final_and_member_checks_can_fail(tmp_path: Path) -> None:
    """Positive controls: a class overriding `Tap.sync_all` (final in the SDK) is found, and so are writes to
    `_config` and calls into `state_writer`."""
    from singer_sdk import Tap

    class Overriding(Tap):
        name = "overriding"

        def sync_all(self) -> None:  # type: ignore[misc]
            pass

    assert final_overrides([Overriding]) == [f"{__name__}.{Overriding.__qualname__}.sync_all (final in Tap)"]
    sample = tmp_path / "sample.py"
    sample.write_text("self._config['x'] = 1\nself._tap.state_writer.write_state(s)\nself.config\n")
    assert [line.split(":")[1] for line in private_members([sample])] == ["1", "2"]
