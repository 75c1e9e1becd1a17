"""How long local ``visor`` commands take, against baselines measured in the same run.

    .venv/bin/python bench/cli.py [--repeat 5]

Every command runs as a fresh process (what a user waits for), in local (in-process) mode,
with all installed plugins and a scratch data directory. Baselines, in the same run:

- ``python -c pass``: the interpreter alone;
- "start everything": the same command the way the CLI used to run it, loading *and
  starting* every plugin's workers before doing anything (``local_services(start=True)``).

Targets (issue 16), checked here and not in tests: ``visor plugins`` < 1.5 s and
``visor run image_info`` on one file < 3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "face.jpg"
VISOR = [sys.executable, "-c", "from app.cli.main import main; main()"]

#: The CLI before it started only what it needs: every plugin's workers, then the command.
START_EVERYTHING = """
import sys
from app.cli.local import local_services
from app.settings import Settings
with local_services(Settings(), start=True) as service:
    if sys.argv[1] == "run":
        result, error = service.run("image_info", {"image": sys.argv[2]})
        assert result and not error, error
    else:
        service.list_plugins()
"""


def timed(argv: list[str], env: dict[str, str], repeat: int) -> float:
    """Median wall seconds of ``repeat`` runs (the command must succeed)."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True, timeout=300)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    import base64

    image_b64 = base64.b64encode(SAMPLE.read_bytes()).decode("ascii")
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VISOR_")}
        env["VISOR_DATA_DIR"] = scratch
        r = options.repeat
        interpreter = timed([sys.executable, "-c", "pass"], env, r)
        rows = [
            ("visor --help", timed([*VISOR, "--help"], env, r), None, None),
            (
                "visor plugins",
                timed([*VISOR, "plugins"], env, r),
                timed([sys.executable, "-c", START_EVERYTHING, "plugins"], env, r),
                1.5,
            ),
            (
                "visor run image_info face.jpg",
                timed([*VISOR, "run", "image_info", str(SAMPLE)], env, r),
                timed([sys.executable, "-c", START_EVERYTHING, "run", image_b64], env, r),
                3.0,
            ),
            ("visor doctor (starts all: it checks)", timed([*VISOR, "doctor"], env, r), None, None),
        ]
    load = os.getloadavg()[0]
    print(f"median of {r} runs each; interpreter start {interpreter:.3f} s; load {load:.1f}")
    print(f"{'command':40} {'now s':>7} {'x python':>9} {'start-all s':>12} {'speed-up':>9} target")
    for name, now, before, target in rows:
        old = f"{before:12.2f}" if before else f"{'':12}"
        gain = f"{before / now:8.1f}x" if before else f"{'':9}"
        verdict = "" if target is None else ("ok" if now < target else f"MISSED (< {target} s)")
        print(f"{name:40} {now:7.2f} {now / interpreter:8.1f}x {old} {gain} {verdict}")


if __name__ == "__main__":
    main()
