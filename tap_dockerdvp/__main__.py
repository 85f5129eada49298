"""`python -m tap_dockerdvp`."""

from tap_dockerdvp.tap import TapDockerDVP

TapDockerDVP.cli()
