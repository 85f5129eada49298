"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dockerdvp_simulator import SimConfig, Simulator


@pytest.fixture
def simulator() -> Iterator[Callable[..., Simulator]]:
    """Factory: ``simulator(SimConfig(...) or None, **overrides)`` starts a Simulator, stopped after."""
    started: list[Simulator] = []

    def factory(config: SimConfig | None = None, **overrides: Any) -> Simulator:
        sim = Simulator(config, **overrides).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()
