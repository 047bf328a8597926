"""Proof that a refactor changed no score: run one fixed plan and fingerprint every stored result.

    python -m bench.same_scores --out before.jsonl          # on the old commit
    python -m bench.same_scores --compare before.jsonl      # on the new one: exit 1 on any difference

The plan is every simulated model x every prompt type (flawed ones included) x every task type x
every difficulty x every tool success rate x N instances (seed 42), run through `pilotbench run`
into a throwaway SQLite store and exported as JSONL. What may differ between two runs of the same
code (ids of the attempt and run, clocks, latencies, the run's log directory) is dropped; all else
is kept: the suite version, every score, the error category, every call with its arguments, the
final answer and the whole transcript (so the generated task texts are compared too).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

VOLATILE = {"attempt_id", "run_id", "latency_s", "call_latencies", "started_at", "finished_at"}
VOLATILE_TRAJECTORY = {"turn_seconds", "turn_tokens"}


def canonical(row: dict) -> dict:
    row = {k: v for k, v in row.items() if k not in VOLATILE}
    trajectory = row.get("trajectory")
    if isinstance(trajectory, dict):
        row["trajectory"] = {k: v for k, v in trajectory.items() if k not in VOLATILE_TRAJECTORY}
    return row


def fingerprint(instances: int) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        db, out = Path(tmp) / "same.db", Path(tmp) / "same.jsonl"
        run = [sys.executable, "-m", "pilotbench", "run", "--db", str(db), "--group", "sim",
               "--prompt-types", "all_with_flawed", "--difficulty", "all", "--tool-success-rate", "all",
               "-n", str(instances), "--seed", "42"]
        subprocess.run(run, check=True, cwd=tmp, stdout=subprocess.DEVNULL)
        subprocess.run([sys.executable, "-m", "pilotbench", "export", "--db", str(db), "--format", "jsonl",
                        "--out", str(out)], check=True, cwd=tmp, stdout=subprocess.DEVNULL)
        rows = [canonical(json.loads(line)) for line in out.read_text().splitlines() if line.strip()]
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--instances", type=int, default=2)
    ap.add_argument("--out", type=Path, help="write the canonical rows here")
    ap.add_argument("--compare", type=Path, help="compare with rows written earlier by --out")
    args = ap.parse_args()
    lines = fingerprint(args.instances)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    print(f"{len(lines)} results, fingerprint {digest}")
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    if args.compare:
        before = args.compare.read_text().splitlines()
        if before == lines:
            print(f"identical to {args.compare}")
            return 0
        old, new = set(before), set(lines)
        print(f"DIFFERENT from {args.compare}: {len(old - new)} rows only before, {len(new - old)} only now")
        for line in sorted(new - old)[:3]:
            print("  now:", line[:400])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
