"""tap-dockerdvp: Docker Verified Publisher analytics for Singer and Meltano."""

__version__ = "0.1.0"
