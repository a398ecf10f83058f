"""A cold `massage-qa ask` of two checkouts side by side, against `python -c pass`, in one run.

    python benchmarks/cold_ab.py BASE_CHECKOUT [THIS_CHECKOUT] --rounds 25 [--question "..."]

Each checkout runs with its own .venv (`python -m assistant` from its folder, so each imports its
own code; checked before timing) and its bytecode compiled first, as benchmarks/run.py's cold start
does. The commands take turns, in alternating order each round, so a busy spell on a shared machine
slows all of them alike; medians and ratios to `python -c pass` are printed, and whether both
checkouts printed the same answer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the checkout to compare with (e.g. a `git worktree` of main)")
    parser.add_argument("this", type=Path, nargs="?", default=ROOT)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--question", default="what oil should I use?")
    args = parser.parse_args()
    # bytecode cached, as an installed package starts (see run.py's cold_start)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    sides = {"base": args.base.resolve(), "this": args.this.resolve()}
    commands = {"python -c pass": ([sys.executable, "-c", "pass"], ROOT)}
    for name, root in sides.items():
        python = root / ".venv" / "bin" / "python"
        subprocess.run([python, "-m", "compileall", "-q", root / "assistant"], env=env, check=True)
        where = subprocess.run([python, "-c", "import assistant; print(assistant.__file__)"], cwd=root, env=env,
                               capture_output=True, text=True, check=True).stdout.strip()
        if not Path(where).is_relative_to(root):
            raise SystemExit(f"{name}: {python} imports {where}, not the code in {root}")
        commands[name] = ([python, "-m", "assistant", "ask", args.question], root)
    times: dict[str, list[float]] = {name: [] for name in commands}
    answers: dict[str, str] = {}
    for r in range(args.rounds):
        for name in (list(commands) if r % 2 == 0 else list(reversed(commands))):
            cmd, cwd = commands[name]
            started = time.perf_counter()
            run = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
            times[name].append((time.perf_counter() - started) * 1000)
            if run.returncode != 0:
                raise SystemExit(f"{name} failed: {run.stderr.strip()[-300:]}")
            answers.setdefault(name, run.stdout)
    bare = statistics.median(times["python -c pass"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:16} median {median:7.1f} ms  {median / bare:5.2f}x  (min {min(values):.1f}, {len(values)} runs)")
    print("same answer:", answers["base"] == answers["this"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
