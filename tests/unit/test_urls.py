"""What a line about a URL asks the user to check."""

from __future__ import annotations

from tap_dockerdvp.http.urls import DEFAULT_API_URL, DEFAULT_HUB_URL, check_hint


def test_a_url_the_user_set_is_named_as_the_setting_to_check() -> None:
    assert check_hint("api_url", "http://127.0.0.1:8080/api/publisher/analytics/v1") == "check `api_url`"


def test_docker_s_own_url_asks_for_the_network_not_a_setting_the_user_never_set() -> None:
    for setting, url in (
        ("hub_url", DEFAULT_HUB_URL),
        ("api_url", DEFAULT_API_URL),
        ("hub_url", DEFAULT_HUB_URL + "/"),
    ):
        hint = check_hint(setting, url)
        assert hint.startswith("check the network and any proxy (HTTPS_PROXY)") and f"`{setting}`" in hint
