"""`pilotbench mock-server`: an OpenAI-compatible mock provider."""

from __future__ import annotations

import sys

import click

from ..cli_flags import list_option
from .base import app


@app.command("mock-server")
@click.option("--port", "port", type=click.IntRange(min=0, max=65535), default=8000, show_default=True)
@click.option("--host", "host", default="127.0.0.1", show_default=True)
@list_option("--key", "--keys", "key", help="Accepted API key(s), comma-separated or repeated. Default: any key.")
@click.option("--max-concurrency", "max_concurrency", type=click.IntRange(min=1), default=None, help="Per key.")
@click.option("--rpm", "rpm", type=click.IntRange(min=1), default=None, help="Per key.")
@click.option("--latency", "latency", type=click.FloatRange(min=0.0), default=0.2, show_default=True, help="Seconds per request.")
@click.option("--fault-rate", "fault_rate", type=click.FloatRange(min=0.0, max=1.0), default=0.0, show_default=True, help="Share of requests with an injected fault.")
@click.option("--seed", "seed", type=int, default=0, show_default=True)
@click.option("--replay", "replay", type=click.Path(dir_okay=False), default=None,
              help="Answer with recorded real replies from this file (pilotbench.replay) instead of the simulated models.")
@click.option("--tpm", "tpm", type=click.IntRange(min=1), default=None, help="Tokens per minute, per key (a token bucket).")
@click.option("--budget-seconds", "budget_seconds", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Count --rpm as a token bucket holding this many seconds of budget (default: a sliding minute); also --tpm's.")
@click.option("--concurrency-retry-after", "concurrency_retry_after", type=click.FloatRange(min=0.0), default=1.0,
              show_default=True, help="Retry-After of a concurrency 429, in seconds.")
@click.option("--no-ratelimit-headers", "no_ratelimit_headers", is_flag=True, help="Do not send x-ratelimit-* headers.")
@click.option("--limits-per-model", "limits_per_model", is_flag=True, help="Count limits per key and model, not per key.")
@click.option("--error-503-rate", "error_503_rate", type=click.FloatRange(min=0.0, max=1.0), default=0.0, show_default=True,
              help="Share of requests answered 503 with Retry-After 1 s.")
@click.option("--context-tokens", "context_tokens", type=click.IntRange(min=1), default=None,
              help="The model's context in tokens (a request's bytes / 4): a longer conversation is answered 400, "
                   "as a server whose context it outgrew.")
@click.option("--context-wording", "context_wording", type=click.Choice(["openai", "vllm", "llamacpp"]), default="openai",
              show_default=True, help="Whose words the context-length 400 uses (openai also stands for Azure).")
@click.option("--usage-divisor", "usage_divisor", type=click.FloatRange(min=1.0), default=1.0, show_default=True,
              help="Report usage.prompt_tokens this many times lower than what each request is charged "
                   "(a provider whose usage disagrees with its rate-limit headers).")
def mock_server(port, host, key, max_concurrency, rpm, latency, fault_rate, seed, replay, tpm,  # type: ignore[no-untyped-def]
                budget_seconds, concurrency_retry_after, no_ratelimit_headers, limits_per_model, error_503_rate,
                context_tokens, context_wording, usage_divisor):
    """An OpenAI-compatible mock provider with limits, latency, faults and the simulated models."""
    from ..mock_server import config_from_options, serve

    responder, models = None, None
    if replay is not None:
        from ..replay import ReplayResponder

        responder = ReplayResponder.from_file(replay)
        models = responder.model_names()
    cfg = config_from_options(key or [], max_concurrency, rpm, latency, fault_rate, seed, models=models, tpm=tpm,
                              budget_seconds=budget_seconds, concurrency_retry_after=concurrency_retry_after,
                              ratelimit_headers=not no_ratelimit_headers, limits_per_model=limits_per_model,
                              error_503_rate=error_503_rate, context_tokens=context_tokens,
                              context_wording=context_wording, usage_divisor=usage_divisor)
    def listening(_server) -> None:  # type: ignore[no-untyped-def]  # said only once the port is bound
        print(f"mock server on http://{host}:{port}/v1 (Azure paths under /openai/deployments/...); Ctrl-C stops it",
              file=sys.stderr, flush=True)

    serve(cfg, host, port, responder=responder, on_ready=listening)

