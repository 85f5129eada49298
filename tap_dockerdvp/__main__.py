"""The ``tap-dockerdvp`` command and ``python -m tap_dockerdvp``."""

from tap_dockerdvp.cli import prepare_process
from tap_dockerdvp.tap import TapDockerDVP


def main() -> None:
    """Run the tap's command line in a process set up for it."""
    prepare_process()
    TapDockerDVP.cli()


if __name__ == "__main__":
    main()
