"""The Singer SDK's standard tap tests, against a simulator that lives for this module."""

from __future__ import annotations

import atexit
import datetime as dt

from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_harness import tap_config

from dockerdvp_simulator import SimConfig, Simulator
from tap_dockerdvp.tap import TapDockerDVP

# get_tap_test_class needs its config when the module is imported, so the simulator starts here.
_SIM = Simulator(
    SimConfig(
        weeks=2,
        rows_per_week=70,
        end_date=dt.date(2026, 11, 18),
        include_partial=False,
        extension_namespaces=("globex",),
        report_namespaces=("globex",),  # the report streams need a catalogue with reports
        metadata_extras=True,  # namespaces.publisher_type / extension_publisher need values to test
    )
).start()
atexit.register(_SIM.stop)

TestTapDockerDVP = get_tap_test_class(
    tap_class=TapDockerDVP,
    config=tap_config(_SIM),
    suite_config=SuiteConfig(
        # The premium extension views exist in the API but this simulated account is not entitled to them.
        ignore_no_records_for_streams=["ext_premium_summary", "ext_premium_geo"],
    ),
)
