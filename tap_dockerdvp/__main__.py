"""The ``tap-dockerdvp`` command and ``python -m tap_dockerdvp``.

Worker processes (see :mod:`tap_dockerdvp.files.chunks`) import the command's script again as their main module, so
the script imports only this module: the tap and the SDK are imported when the command runs, never by a worker
(they cost a worker about 45 MiB).
"""


def main() -> None:
    """Run the tap's command line."""
    from tap_dockerdvp.tap import TapDockerDVP  # here, not at the top: see the docstring

    TapDockerDVP.cli()


if __name__ == "__main__":
    main()
