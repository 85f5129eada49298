"""SIGKILL the tap mid-extraction, resume from its last STATE, repeat: nothing lost, every duplicate whole."""

from __future__ import annotations

import datetime as dt
import random

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator.soak import compare, interrupted_extraction, tap_files


def test_kill_and_resume_until_done_equals_one_clean_run(simulator, tmp_path) -> None:
    cfg = SimConfig(
        weeks=4, rows_per_week=350, files_per_timespan=2, end_date=dt.date(2026, 11, 18), include_partial=False
    )
    sim = simulator(cfg)
    config_path, catalog_path = tap_files(sim, tmp_path)
    clean, clean_tally = interrupted_extraction(config_path, catalog_path, [])
    assert clean_tally.processes == 1 and len(clean) == 4 * 350 * 2

    rng = random.Random(20261126)
    kills = [rng.randrange(1, 700) for _ in range(5)]  # lines each process gets to print before SIGKILL
    emitted, tally = interrupted_extraction(config_path, catalog_path, kills)
    assert tally.kills == 5

    result = compare(clean, emitted)
    assert result.rows_lost == 0
    assert result.rows_unexpected == 0 and result.rows_differing == 0
    assert result.duplicates_differing == 0
    assert result.rows_duplicated < len(clean)  # resumed from state, not from scratch each time


def test_random_faults_and_kills_lose_nothing(simulator, tmp_path) -> None:
    from dockerdvp_simulator.soak import RETRIABLE_FAULTS

    cfg = SimConfig(
        weeks=3,
        rows_per_week=210,
        files_per_timespan=2,
        end_date=dt.date(2026, 11, 18),
        include_partial=False,
        namespaces=("acme",),
    )
    sim = simulator(cfg)
    config_path, catalog_path = tap_files(sim, tmp_path)
    clean, _ = interrupted_extraction(config_path, catalog_path, [])
    sim.add_fault([{**fault, "after": i} for i, fault in enumerate(RETRIABLE_FAULTS)])
    emitted, tally = interrupted_extraction(config_path, catalog_path, [150, 200])
    assert sim.stats["faults_injected"] >= 8
    assert tally.retries >= 5
    assert compare(clean, emitted).clean
