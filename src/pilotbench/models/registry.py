"""Provider kinds, registered once: how each is built, its defaults and its key rules.

A provider entry's `kind` (``[providers.NAME] kind = "..."``) names one `ProviderKind` here. The
configuration reads the registry to validate kinds, for each kind's default limits, for which keys
its providers need and for the entries of models named by kind (`openai/<model>`,
`azure/<deployment>`); the runtime builds every provider client through `make_provider`; the Ray
executor asks it which kinds need no key from the environment. A new kind is one `register` call.

Built-in kinds::

    kind        built by                                  keys       remote  concurrency  timeout
    azure       the SDK or lean provider (Azure paths)    required   yes     50           120 s
    openai      the SDK or lean provider                  optional   yes     10           120 s
    simulated   models.simulated (in process)             builtin    no      256          30 s
    human       models.human (a person plays)             none       no      1            86400 s

Nothing here imports a provider's transport: the factories import theirs when first called, so
reading the registry (the configuration does) loads no SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError

if TYPE_CHECKING:
    from .base import Provider
    from .human import HumanOptions

__all__ = [
    "AZURE_API_VERSION",
    "OPENAI_BASE_URL",
    "KeyRule",
    "ProviderArgs",
    "ProviderKind",
    "kinds",
    "make_provider",
    "provider_kind",
    "register",
    "unregister",
]

KeyRule = Literal["required", "optional", "builtin", "none"]
"""How a kind's providers get their keys:

required  from the entry's ``api_keys`` (or ``<PROVIDER>_API_KEY_OVERRIDE``); a run without them stops.
optional  as "required", but a provider with no ``api_keys``, or ``key_required = false``, runs on one
          keyless lane when none is set (a local vLLM, Ollama or llama.cpp server).
builtin   no key at all: one lane with the built-in pseudo key named after the kind; a Ray run gives it
          one owner and reads nothing from the nodes' environment.
none      no key: one keyless lane (a person plays the model).
"""

AZURE_API_VERSION = "2024-10-21"
OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True, slots=True)
class ProviderArgs:
    """What a kind's factory gets to build one provider client: one key, one model."""

    kind: str
    base_url: str | None
    api_key: str
    api_version: str | None
    drop_params: Sequence[str]
    model: str  # the catalog name
    client: str = "sdk"  # the HTTP path of the OpenAI-protocol kinds: "sdk" or "lean"
    human: HumanOptions | None = None
    deployment: str | None = None
    max_response_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class ProviderKind:
    """One kind of provider.

    factory: builds one client (`models.base.Provider`) from `ProviderArgs`.
    max_concurrency, request_timeout: the defaults of a lane when neither the model's nor the
        provider's entry (nor a flag) says otherwise.
    keys: the key rule (`KeyRule`).
    remote: called over HTTP at the entry's base_url or endpoint: its variables are checked before a
        run and every call carries a completion cap (`config.DEFAULT_MAX_TOKENS`). Not remote: played
        in process (simulated models, human players): no endpoint, no cap.
    seconds_per_call: how long one call typically takes, for a dry run's estimate (never more than the
        request timeout).
    preset: the provider entry of a model named by the kind (`openai/<model>`: base URL, key
        variable; `azure/<deployment>`: endpoint, api-version, key variable), or None.
    """

    name: str
    factory: Callable[[ProviderArgs], Provider]
    max_concurrency: int
    request_timeout: float
    keys: KeyRule = "required"
    remote: bool = True
    seconds_per_call: float = 2.0
    preset: Mapping[str, Any] | None = field(default=None)

    def entry(self) -> dict[str, Any]:
        """A fresh provider entry for this kind: ``kind`` then its preset's fields."""
        return {"kind": self.name, **{k: list(v) if isinstance(v, tuple) else v for k, v in (self.preset or {}).items()}}


_KINDS: dict[str, ProviderKind] = {}


def register(kind: ProviderKind, *, replace: bool = False) -> ProviderKind:
    """Make `kind` known by its name; a name already registered is an error unless `replace`."""
    if kind.name in _KINDS and not replace:
        raise ValueError(f"provider kind {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Forget a registered kind (a test's toy kind); built-in kinds stay unless named."""
    _KINDS.pop(name, None)


def kinds() -> tuple[str, ...]:
    """The registered kinds' names, in registration order (the built-ins first)."""
    return tuple(_KINDS)


def provider_kind(name: str) -> ProviderKind:
    """The registered kind `name`; a ConfigError naming the known ones if there is none."""
    kind = _KINDS.get(name)
    if kind is None:
        raise ConfigError(f"unknown provider kind {name!r} (expected one of {', '.join(_KINDS)})")
    return kind


def make_provider(args: ProviderArgs) -> Provider:
    """One provider client, built by the factory of `args.kind`."""
    return provider_kind(args.kind).factory(args)


# ---------------------------------------------------------------------- the built-in kinds


def _http(args: ProviderArgs) -> Provider:
    """The OpenAI-protocol providers: the lean aiohttp path, or the official SDK (the default)."""
    if args.client == "lean":
        from .lean import LeanOpenAIProvider

        return LeanOpenAIProvider(kind=args.kind, base_url=args.base_url or "", api_key=args.api_key,
                                  api_version=args.api_version, drop_params=args.drop_params,
                                  max_response_bytes=args.max_response_bytes)
    from .openai_compat import OpenAICompatProvider

    return OpenAICompatProvider(kind=args.kind, base_url=args.base_url or "", api_key=args.api_key,
                                api_version=args.api_version, drop_params=args.drop_params,
                                max_response_bytes=args.max_response_bytes)


def _simulated(args: ProviderArgs) -> Provider:
    from .simulated import get_simulated_model

    try:
        return get_simulated_model(args.model)
    except KeyError as e:
        raise ConfigError(str(e.args[0])) from None


def _human(args: ProviderArgs) -> Provider:
    from .human import make_player

    return make_player(args.deployment or args.model, args.human)


# Default limits from the guide's measurements: Azure deployments take 50+ concurrent calls, an
# IdealLab-like gateway about 10 per model per key; simulated models are in process. A person at the
# keyboard or a player behind files: one turn at a time, no key, no budget; the time a turn may take
# is the run's --human-timeout (models.human), not a request timeout.
register(ProviderKind(
    "azure", _http, max_concurrency=50, request_timeout=120.0, keys="required",
    preset=MappingProxyType({
        "endpoint": "env:AZURE_OPENAI_ENDPOINT",
        "api_version": f"env:OPENAI_API_VERSION:-{AZURE_API_VERSION}",
        "api_keys": ("env:AZURE_OPENAI_API_KEY",),
    }),
))
register(ProviderKind(
    "openai", _http, max_concurrency=10, request_timeout=120.0, keys="optional",
    preset=MappingProxyType({"base_url": f"env:OPENAI_BASE_URL:-{OPENAI_BASE_URL}", "api_keys": ("env:OPENAI_API_KEY",)}),
))
register(ProviderKind("simulated", _simulated, max_concurrency=256, request_timeout=30.0, keys="builtin", remote=False,
                          seconds_per_call=0.002))
register(ProviderKind("human", _human, max_concurrency=1, request_timeout=86400.0, keys="none", remote=False,
                          seconds_per_call=60.0))  # a person reading a turn and typing the next
