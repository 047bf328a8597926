"""An OpenAI-compatible mock provider server (README, "Providers, keys and limits"): see `app` for what it does.

Everything importable from the former single module stays importable from here.
"""

from .app import MockServer, MockServerThread, Responder, default_responder, serve
from .config import ALL_FAULT_KINDS, FAULT_KINDS, Faults, KeyLimits, MockConfig, config_from_options, mask_key
from .limits import fmt_duration
from .stats import MockStats
from .wire import completion_body

__all__ = [
    "ALL_FAULT_KINDS",
    "FAULT_KINDS",
    "Faults",
    "KeyLimits",
    "MockConfig",
    "MockServer",
    "MockServerThread",
    "MockStats",
    "Responder",
    "config_from_options",
    "completion_body",
    "default_responder",
    "fmt_duration",
    "mask_key",
    "serve",
]
