"""What an HTTP answer is, before anything tries to parse it: JSON, an HTML page, or something else.

A wrong `api_url` or `hub_url` (a web server, a proxy's sign-in page) answers HTML; saying so in one line beats a
JSON decode error.
"""

from __future__ import annotations

import requests


def body_start(response: requests.Response, limit: int = 64) -> str:
    """The first non-blank characters of the body, lower-cased."""
    return response.content[: limit * 4].decode("utf-8", "replace").lstrip().lower()[:limit]


def is_html(response: requests.Response) -> bool:
    """An HTML page: by its Content-Type, or by a body that starts like one."""
    if "html" in response.headers.get("Content-Type", "").lower():
        return True
    start = body_start(response)
    return start.startswith(("<!doctype html", "<html", "<head", "<body", "<title", "<h1"))


def is_json(response: requests.Response) -> bool:
    """A body that can be a JSON object or array (every Docker Hub API answer the tap reads is one)."""
    return body_start(response).startswith(("{", "["))


def kind_of(response: requests.Response) -> str:
    """`an HTML page`, `a non-JSON answer` or `JSON`, for messages."""
    if is_html(response):
        return "an HTML page"
    return "JSON" if is_json(response) else "a non-JSON answer"


def bearer_of(response: requests.Response) -> str:
    """The bearer token the request of ``response`` carried ("" for none)."""
    return str(response.request.headers.get("Authorization") or "").removeprefix("Bearer ")
