"""Reading the limits a provider states in its headers."""

from __future__ import annotations

import pytest

from pilotbench.models.ratelimits import Budget, RateLimits, parse_duration, parse_rate_limits


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6m0s", 360.0),
        ("1s", 1.0),
        ("17ms", 0.017),
        ("1h2m3.5s", 3723.5),
        ("2m59.56s", 179.56),
        ("0.5", 0.5),
        ("12", 12.0),
        ("  250MS ", 0.25),
        ("120us", 0.00012),
    ],
)
def test_durations_in_openai_and_plain_formats(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "1x", "s", "-3", "1s junk", "nan", None])
def test_unreadable_durations_are_none(text: str | None) -> None:
    assert parse_duration(text) is None


def test_openai_headers_both_budgets() -> None:
    headers = {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-tokens": "29000",
        "x-ratelimit-reset-tokens": "2s",
    }
    stated = parse_rate_limits(headers)
    assert stated == RateLimits(Budget(500, 499, 0.12), Budget(30000, 29000, 2.0))


def test_header_names_are_case_insensitive_and_azure_seconds_are_read() -> None:
    stated = parse_rate_limits({"X-RateLimit-Remaining-Tokens": "1200", "X-RateLimit-Reset-Tokens": "3"})
    assert stated is not None
    assert stated.tokens == Budget(None, 1200, 3.0) and not stated.requests.known


def test_ietf_draft_headers_are_the_request_budget() -> None:
    stated = parse_rate_limits({"ratelimit-limit": "60", "ratelimit-remaining": "10", "ratelimit-reset": "5"})
    assert stated is not None and stated.requests == Budget(60, 10, 5.0)


def test_no_stated_budget_is_none() -> None:
    assert parse_rate_limits({"content-type": "application/json"}) is None
    assert parse_rate_limits({"x-ratelimit-limit-requests": "500"}) is None  # a limit but nothing remaining
    assert parse_rate_limits(None) is None
    assert parse_rate_limits({"x-ratelimit-remaining-requests": "lots"}) is None
