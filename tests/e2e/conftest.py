"""Fixtures the end-to-end modules share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e_support import Sim, run_simulator


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    """The simulator serving the e2e data, one per module (a module that needs other data defines its own)."""
    with run_simulator(tmp_path_factory.mktemp("simulator")) as running:
        yield running
