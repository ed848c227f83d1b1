#!/usr/bin/env python3
"""Import cost: `import framework_sdk` and `from framework_sdk.chainer import Chainer` against `import sagemaker` (v2).

Usage: python benchmarks/import_cost.py
Each statement runs in a fresh interpreter several times; the best wall time is kept,
and the interpreter's own start-up (`python -c pass`) is subtracted.
"""
import subprocess
import sys
import time

import _peers

RUNS = 7


def best(python, statement):
    env = _peers.peer_env() if python != sys.executable else None
    times = []
    for _ in range(RUNS + 1):  # the first run warms the file cache and is dropped
        start = time.perf_counter()
        subprocess.run([python, "-c", statement], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times[1:])


def main():
    ours = sys.executable
    theirs = _peers.sagemaker_v2_python()
    rows = {
        "python -c pass (ours)": best(ours, "pass"),
        "import framework_sdk": best(ours, "import framework_sdk"),
        "from framework_sdk.chainer import Chainer": best(ours, "from framework_sdk.chainer import Chainer"),
        "python -c pass (sagemaker venv)": best(theirs, "pass"),
        "import sagemaker (v2)": best(theirs, "import sagemaker"),
    }
    for name, seconds in rows.items():
        print(f"{name:45} {seconds * 1e3:8.1f} ms")
    base = rows["python -c pass (ours)"]
    chainer = rows["from framework_sdk.chainer import Chainer"] - base
    sagemaker = rows["import sagemaker (v2)"] - rows["python -c pass (sagemaker venv)"]
    print(f"\nimport framework_sdk: {rows['import framework_sdk'] * 1e3:.1f} ms wall (target < 50 ms), "
          f"{(rows['import framework_sdk'] - base) * 1e3:.1f} ms above bare start-up")
    print(f"Chainer import vs import sagemaker: {chainer * 1e3:.1f} ms vs {sagemaker * 1e3:.1f} ms "
          f"= {chainer / sagemaker:.3f} (target < 0.1)")


if __name__ == "__main__":
    main()
