"""Run every benchmark script (``benchmarks/bench_*.py``) in its own process; ``--quick`` for a smoke run."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    scripts = sorted(Path(__file__).resolve().parent.glob("bench_*.py"))
    failed = []
    for script in scripts:
        start = time.perf_counter()
        print(f"== {script.name}", flush=True)
        result = subprocess.run([sys.executable, str(script), *(["--quick"] if quick else [])], check=False)
        print(f"== {script.name}: exit {result.returncode} in {time.perf_counter() - start:.0f} s", flush=True)
        if result.returncode:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
