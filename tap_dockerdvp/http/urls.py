"""The base URLs a run talks to, and how a message names the setting behind a URL (never its query string).

``api_url`` is the DVP Data API; ``hub_url`` is Docker Hub, the only host that gets the credentials. Left unset,
``hub_url`` is the origin of ``api_url``, so credentials never go to a host the user did not choose: with
``api_url`` at a proxy or the simulator, logging in at hub.docker.com would send them there.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_API_URL = "https://hub.docker.com/api/publisher/analytics/v1"
DEFAULT_HUB_URL = "https://hub.docker.com"  # the origin of DEFAULT_API_URL


@dataclass(frozen=True)
class Urls:
    api_url: str  # without a trailing slash
    hub_url: str
    hub_url_derived: bool  # `hub_url` was not set: it is the origin of a non-default `api_url`

    @classmethod
    def of(cls, config: t.Mapping[str, t.Any]) -> Urls:
        api_url = str(config.get("api_url") or DEFAULT_API_URL).rstrip("/")
        if config.get("hub_url"):
            return cls(api_url, str(config["hub_url"]).rstrip("/"), False)
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return cls(api_url, DEFAULT_HUB_URL, False)  # `api_url` itself is refused by the settings' checks
        return cls(api_url, f"{parts.scheme}://{parts.netloc}", api_url != DEFAULT_API_URL)

    def base(self, setting: str) -> str:
        """The base URL of setting ``api_url`` or ``hub_url``."""
        return self.api_url if setting == "api_url" else self.hub_url

    def setting_of(self, url: str | None) -> tuple[str, str, str]:
        """(the setting to check, how messages name the service, its base URL) for a URL under one of them. A
        derived ``hub_url`` is named through ``api_url``, the setting the user gave."""
        if (url or "").startswith(self.api_url):
            return "api_url", f"`api_url` {self.api_url}", self.api_url
        if self.hub_url_derived:
            return (
                "api_url",
                f"Docker Hub at {self.hub_url} (the origin of `api_url`; `hub_url` is not set)",
                self.hub_url,
            )
        return "hub_url", f"`hub_url` {self.hub_url}", self.hub_url


def check_hint(setting: str, base_url: str) -> str:
    """What a line about an unreachable URL asks the user to check: the setting, or, where it is Docker's own
    default, the network (a user who never set it has nothing to fix there)."""
    if base_url.rstrip("/") in (DEFAULT_API_URL, DEFAULT_HUB_URL):
        return f"check the network and any proxy (HTTPS_PROXY): `{setting}` is Docker's own"
    return f"check `{setting}`"


def safe_path(url: str | None) -> str:
    """A URL reduced to its path: query strings can carry presigned signatures."""
    return urlsplit(url or "").path or "/"


def file_id_of(url: str) -> str:
    """What tells one file from another in its URL, a renewed URL's the same: the path, and the query without what a
    signing adds (a signature, its date and lifetime, the signer's credential). Two files may share a path and differ
    by their query (`.../download?id=7`) or share a name in two folders: known by name alone, one was lost."""
    parts = urlsplit(url)
    kept = sorted(p for p in parts.query.split("&") if p and not _SIGNING.match(p.partition("=")[0]))
    return parts.path + ("?" + "&".join(kept) if kept else "")


# the query parameters presigned URLs carry for their signature (S3, CloudFront, Google Cloud Storage, Azure SAS)
_SIGNING = re.compile(
    r"(?i)(x-amz-.*|x-goog-.*|awsaccesskeyid|googleaccessid|signature|sig|expires|key-pair-id|policy|token|"
    r"access_token|se|st|sp|sv|sr|spr|ske|skoid|skt|sktid|sks|skv)$"
)


def same_host(url: str, other: str) -> bool:
    """Whether two URLs name the same host and port (a default port spelled or not)."""
    return _host(url) == _host(other)


def _host(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return (parts.hostname or "").lower(), parts.port or default
