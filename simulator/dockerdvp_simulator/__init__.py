"""A local Docker Hub simulator for tests, the benchmark and the no-credentials demo.

``Simulator(SimConfig(...))`` serves the legacy DVP Data API, the Hub login endpoints, repository
listings and presigned export downloads on 127.0.0.1, with deterministic data (see :mod:`.data`) and
injectable faults (see :mod:`.faults`).
"""

from .data import SimConfig
from .faults import FaultRule
from .server import Simulator

__all__ = ["FaultRule", "SimConfig", "Simulator"]
