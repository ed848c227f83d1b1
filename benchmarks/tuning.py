#!/usr/bin/env python3
"""Local hyperparameter tuning on the process backend: the engine's overhead, the search quality, and the peer.

    .venv/bin/python benchmarks/tuning.py [--seeds 5] [--jobs 20] [--parallel 2] [--skip-sagemaker]

1. Overhead: a Random search of 8 training jobs of a script that sleeps 1 s and logs an
   objective, ``max_parallel_jobs=2``. The tuning job's wall time (``tuner.fit()``) against the
   ideal: the sum of its training jobs' own durations (``CreationTime`` to ``TrainingEndTime``)
   divided by 2. Target: within 10% + 1 s of the ideal.
2. Search quality: a script that trains nothing and logs a known smooth function of two
   continuous and one integer hyperparameter (maximum 0 at x=1.3, y=-2.1, n=14). For each of
   ``--seeds`` random seeds, a Random and a Bayesian search of ``--jobs`` jobs; the median over
   the seeds of the best objective found. Bayesian must beat Random, and both the value at the
   midpoint of the ranges. One job at a time by default, so each search repeats exactly with
   its seed (with ``--parallel 2`` which job ends first changes what the Bayesian model has
   seen, and the figures vary from run to run).
3. The peer: the SageMaker Python SDK v2 (in its throwaway venv, benchmarks/_peers.py) asked to
   tune in local mode; it cannot, and what it raises is printed.

Tuning job records go to a temporary state dir, not the user's.
"""
import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

SLEEPER = """import json, os, time
time.sleep(1.0)
print(f"objective={json.loads(os.environ['SM_HPS'])['x']}", flush=True)
"""
SMOOTH = """import json, os
hps = json.loads(os.environ["SM_HPS"])
x, y, n = float(hps["x"]), float(hps["y"]), int(hps["n"])
print(f"objective={-((x - 1.3) ** 2 + (y + 2.1) ** 2 + 0.1 * (n - 14) ** 2):.6f}", flush=True)
"""
METRICS = [{"Name": "objective", "Regex": r"objective=([-0-9.e]+)"}]


def smooth(x, y, n):
    return -((x - 1.3) ** 2 + (y + 2.1) ** 2 + 0.1 * (n - 14) ** 2)


PEER_SCRIPT = r'''
import json, traceback
from sagemaker.local import LocalSession
from sagemaker.estimator import Estimator
from sagemaker.tuner import HyperparameterTuner, ContinuousParameter
session = LocalSession()
session.config = {"local": {"local_code": True}}
estimator = Estimator(image_uri="framework-sdk-python:3.11-cpu-py3", role="arn:aws:iam::111111111111:role/benchmark",
                      instance_count=1, instance_type="local", sagemaker_session=session,
                      output_path="file://" + __import__("sys").argv[1])
tuner = HyperparameterTuner(estimator, "objective", {"x": ContinuousParameter(0, 1)},
                            metric_definitions=[{"Name": "objective", "Regex": "objective=(\\S+)"}],
                            strategy="Random", max_jobs=2)
try:
    tuner.fit({"train": "file://" + __import__("sys").argv[1]})
    print("RESULT " + json.dumps({"raised": None}))
except Exception as error:
    frame = traceback.extract_tb(error.__traceback__)[-1]
    print("RESULT " + json.dumps({"raised": f"{type(error).__name__}: {error}",
                                  "where": f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}"}))
'''


def script_estimator(session, work, source, name):
    from framework_sdk.estimator import Framework

    class Script(Framework):
        _framework_name = "python"

    folder = work / name
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text(source)
    return Script("train.py", source_dir=str(folder), framework_version="3.11", instance_type="local",
                  instance_count=1, sagemaker_session=session, output_path=f"file://{work}/models",
                  metric_definitions=METRICS)


def overhead(session, work, jobs=8, parallel=2):
    """``(wall seconds, ideal seconds, job durations)`` of a Random search of sleeping jobs."""
    from framework_sdk.tuner import ContinuousParameter, HyperparameterTuner

    tuner = HyperparameterTuner(script_estimator(session, work, SLEEPER, "sleeper"), "objective",
                                {"x": ContinuousParameter(0, 1)}, strategy="Random", max_jobs=jobs,
                                max_parallel_jobs=parallel, random_seed=0)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        tuner.fit()
    wall = time.perf_counter() - started
    durations = []
    for summary in tuner.analytics().training_job_summaries():
        job = session.describe_training_job(summary["TrainingJobName"])
        durations.append((job["TrainingEndTime"] - job["CreationTime"]).total_seconds())
    return wall, sum(durations) / parallel, durations


def best_found(session, work, strategy, seed, jobs, parallel):
    from framework_sdk.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

    tuner = HyperparameterTuner(script_estimator(session, work, SMOOTH, "smooth"), "objective",
                                {"x": ContinuousParameter(-5, 5), "y": ContinuousParameter(-5, 5),
                                 "n": IntegerParameter(1, 20)},
                                strategy=strategy, max_jobs=jobs, max_parallel_jobs=parallel, random_seed=seed)
    with contextlib.redirect_stdout(io.StringIO()):
        tuner.fit()
    best = tuner.describe()["BestTrainingJob"]
    return best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]


def sagemaker_v2(work):
    """What the SageMaker Python SDK v2 raises when asked to tune in local mode (or why it did not run)."""
    from _peers import peer_env, sagemaker_v2_python

    try:
        python = sagemaker_v2_python()
    except (subprocess.CalledProcessError, OSError) as error:
        return {"skipped": f"could not make the SageMaker v2 venv ({error}); it needs PyPI"}
    config = work / "sagemaker-config.yaml"
    config.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    env = dict(peer_env(), AWS_ACCESS_KEY_ID="benchmark", AWS_SECRET_ACCESS_KEY="benchmark",
               AWS_EC2_METADATA_DISABLED="true", SAGEMAKER_SUPPRESS_V2_WARNING="1",
               SAGEMAKER_USER_CONFIG_OVERRIDE=str(config), SAGEMAKER_ADMIN_CONFIG_OVERRIDE=str(config))
    script = work / "sagemaker_v2_tuning.py"
    script.write_text(PEER_SCRIPT)
    done = subprocess.run([python, str(script), str(work)], env=env, cwd=work, capture_output=True, text=True,
                          timeout=300)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return {"skipped": f"the SageMaker v2 script failed (exit {done.returncode}): {done.stderr[-1500:]}"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="searches per strategy (medians over them)")
    parser.add_argument("--jobs", type=int, default=20, help="training jobs per search")
    parser.add_argument("--parallel", type=int, default=1,
                        help="max_parallel_jobs of the quality searches (1: Bayesian repeats exactly with its seed)")
    parser.add_argument("--skip-sagemaker", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fsdk-bench-tuning-") as folder:
        work = Path(folder)
        os.environ["XDG_STATE_HOME"] = str(work / "state")
        from framework_sdk import LocalSession, venvs

        venvs.framework_python("python", "3.11")  # built once, before anything is timed
        session = LocalSession(backend="process")
        try:
            wall, ideal, durations = overhead(session, work)
            quality = {strategy: [best_found(session, work, strategy, seed, args.jobs, args.parallel)
                                  for seed in range(args.seeds)] for strategy in ("Random", "Bayesian")}
        finally:
            session.close()
        peer = None if args.skip_sagemaker else sagemaker_v2(work)

    target = 1.1 * ideal + 1.0
    print("\nlocal tuning, process backend")
    print(f"overhead: 8 jobs sleeping 1 s, 2 at a time: wall {wall:.2f} s, ideal {ideal:.2f} s "
          f"(jobs' own durations {min(durations):.2f}-{max(durations):.2f} s, sum / 2); "
          f"ratio {wall / ideal:.3f}, overhead {wall - ideal:+.2f} s; target <= {target:.2f} s "
          f"(10% + 1 s): {'met' if wall <= target else 'MISSED'}")
    midpoint = smooth(0.0, 0.0, 10.5)
    medians = {strategy: statistics.median(values) for strategy, values in quality.items()}
    print(f"search quality: best objective after {args.jobs} jobs ({args.parallel} at a time), median over "
          f"{args.seeds} seeds (maximum 0)")
    for strategy, values in quality.items():
        print(f"  {strategy:<9} median {medians[strategy]:8.3f}   seeds: {', '.join(f'{v:.3f}' for v in values)}")
    print(f"  midpoint  f(0, 0, 10.5) = {midpoint:.3f}")
    verdicts = [("Bayesian beats Random", medians["Bayesian"] > medians["Random"]),
                ("both beat the midpoint", min(medians.values()) > midpoint)]
    print("  " + "; ".join(f"{what}: {'yes' if ok else 'NO'}" for what, ok in verdicts))
    if peer is not None:
        print("peer: SageMaker Python SDK v2, HyperparameterTuner.fit() in local mode")
        if "skipped" in peer:
            print(f"  not measured: {peer['skipped']}")
        elif peer["raised"] is None:
            print("  it ran (a newer SDK can tune locally: compare its timings here)")
        else:
            print(f"  raises {peer['raised']} (at {peer['where']})")


if __name__ == "__main__":
    main()
