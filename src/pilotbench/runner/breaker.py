"""A circuit breaker on connection failures: a provider that refuses every connection stops its
model within seconds, instead of every test of the plan using up its retries against it.

The breaker counts connection failures (nothing answered: refused, reset before a reply, DNS)
in a row for one model; any answer from the server (a reply, or an HTTP error) resets it. It
trips when the streak is both long (`FAILURES` calls) and old (`SECONDS` since its first
failure), so a server restarting in under a few seconds is ridden out by the usual retries.
"""

from __future__ import annotations

from ..errors import ProviderError
from .runtime import ModelRuntime

FAILURES = 12
SECONDS = 3.0


def is_connection_error(err: ProviderError) -> bool:
    """Nothing answered: the providers classify these as transient "connection error ..."."""
    return err.kind == "transient" and str(err).startswith("connection error")


def connection_failed(rt: ModelRuntime, now: float, err: ProviderError) -> str | None:
    """Count one connection failure; the reason to stop the model when the breaker trips."""
    if rt.connection_failing_since is None:
        rt.connection_failing_since = now
    rt.connection_failures += 1
    lasted = now - rt.connection_failing_since
    if rt.connection_failures < FAILURES or lasted < SECONDS:
        return None
    return (
        f"{rt.name}: provider unreachable: {rt.connection_failures} connection failures in a row over "
        f"{lasted:.0f}s with no answer ({err}); check the provider's base_url and that its server is up"
    )


def answered(rt: ModelRuntime) -> None:
    """The server answered (a reply or an HTTP error): the streak is over."""
    if rt.connection_failures:
        rt.connection_failures = 0
        rt.connection_failing_since = None
