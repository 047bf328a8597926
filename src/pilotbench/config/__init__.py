"""Configuration: providers, models and groups, from built-in entries and `pilotbench.toml`.

Flags, the config file and the environment are merged here and nowhere else. Precedence for a
lane's concurrency: `--max-concurrency` flag > `MAX_WORKERS` > the model's entry > the
provider's entry > the default for the provider's kind. API keys are references (`env:VAR`, or
`env:VAR:-default` with a default); a variable may hold several keys, comma-separated;
`<PROVIDER>_API_KEY_OVERRIDE` replaces a provider's keys. A resolved key is held in a
`ResolvedKey` whose repr shows only its last four characters. An OpenAI-compatible provider with
no keys (a local vLLM, Ollama or llama.cpp server) gets one keyless lane, labelled "none".

Models outside the catalog are named by provider, as inspect_ai users expect (`openai/gpt-4o`,
`azure/<deployment>`, `vllm/<model>`, `ollama/<model>`, `llamacpp/<model>`,
`openai-api/<name>/<model>`, and `human/<name>` for a person playing the model); `open_model`
turns such a name into a catalog entry.

One module per concept: `model` (the entries' shape; what a model sends with each call), `load`
(the built-in catalog, overlaid with TOML), `keys` (env references, resolved keys, missing
variables), `open_models` (names by provider; `--model`/`--group`), `players` (human players),
`lanes` (a lane's limits). Every name imports from `pilotbench.config`, as before.
"""

from __future__ import annotations

# The names of the configuration, wherever they live: `from pilotbench.config import X` as before.
from ..errors import ConfigError  # noqa: F401
from ..models.registry import AZURE_API_VERSION, OPENAI_BASE_URL, kinds, provider_kind  # noqa: F401
from ..secrets import key_label, unsendable  # noqa: F401
from .model import (  # noqa: F401
    DEFAULT_CONFIG_FILE, KEY_POLICIES, PROVIDER_KINDS, DEFAULT_MAX_TOKENS, ProviderConfig, ModelConfig, Config,
    request_params, generation_params,
)
from .load import load_config  # noqa: F401
from .keys import (  # noqa: F401
    ResolvedKey, NO_KEY_LABEL, NO_KEY, override_var, env_ref, keyless, resolve_keys, resolve_value, Missing,
    missing_variables, check_environment, open_name_hint,
)
from .open_models import LOCAL_SERVERS, LOCAL_DEFAULTS, OPEN_PREFIXES, open_model, expand_models  # noqa: F401
from .players import HUMAN_PREFIX, is_human_name, player_label, is_human  # noqa: F401
from .lanes import LaneLimits, lane_limits  # noqa: F401
