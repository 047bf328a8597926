"""Peak memory of `pilotbench run` against the size of its plan.

    python -m bench.memory                      # -n 20, 200, 2000: 300, 3,000 and 30,000 tests of sim/strong
    python -m bench.memory -n 20 -n 200         # only these sizes
    python -m bench.memory --out bench/results/memory.json

Each size is the CLI in its own process, on a fresh SQLite store in a temporary directory:
`pilotbench run --model sim/strong --prompt-types all --task-types all -n N`. Its peak resident
set (ru_maxrss of that child alone, from os.wait4) is what the run needed at its worst. The
targets (BENCHMARKS.md): the peak at 10x the tests within 1.2x (30,000 against 3,000) and
within 1.3x (3,000 against 300).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TESTS_PER_INSTANCE = 15  # 3 prompt types x 5 task types, one difficulty, one tool success rate
SIZES = (20, 200, 2000)
TARGETS = ((200, 20, 1.3), (2000, 200, 1.2))  # (larger n, smaller n, the most its peak may be of the smaller's)


def command(n: int, db: Path) -> list[str]:
    return [sys.executable, "-m", "pilotbench", "run", "--model", "sim/strong", "--prompt-types", "all",
            "--task-types", "all", "-n", str(n), "--db", str(db), "--no-progress"]


def measure(n: int) -> dict[str, Any]:
    """One run of `n` instances in a child process: its peak RSS (MB), wall time and exit status."""
    with tempfile.TemporaryDirectory(prefix="pb-memory-") as tmp:
        db = Path(tmp) / "results.db"
        started = time.monotonic()
        proc = subprocess.Popen(command(n, db), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"-n {n}: pilotbench run exited {proc.returncode}: {err.decode(errors='replace')[-500:]}")
    # ru_maxrss is in kilobytes on Linux
    return {"n": n, "tests": n * TESTS_PER_INSTANCE, "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "seconds": round(elapsed, 1)}


def verdicts(rows: dict[int, dict[str, Any]]) -> list[str]:
    out = []
    for big, small, most in TARGETS:
        if big in rows and small in rows:
            ratio = rows[big]["peak_rss_mb"] / rows[small]["peak_rss_mb"]
            ok = "met" if ratio <= most else "MISSED"
            out.append(f"{rows[big]['tests']:,} tests / {rows[small]['tests']:,}: {ratio:.2f}x (target <= {most}x) {ok}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, action="append", help="instances per cell (repeatable); default 20, 200, 2000")
    parser.add_argument("--out", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rows: dict[int, dict[str, Any]] = {}
    for n in args.n or SIZES:
        rows[n] = measure(n)
        r = rows[n]
        print(f"-n {n:>5} ({r['tests']:>7,} tests): peak RSS {r['peak_rss_mb']:7.1f} MB, {r['seconds']:6.1f} s", flush=True)
    lines = verdicts(rows)
    for line in lines:
        print(line)
    if args.out:
        args.out.write_text(json.dumps({"rows": list(rows.values()), "verdicts": lines}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
