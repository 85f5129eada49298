"""`python -m tap_dockerdvp`."""

from tap_dockerdvp.tap import TapDockerDVP

if __name__ == "__main__":  # worker processes (see parallel.py) import the main module again: do nothing then
    TapDockerDVP.cli()
