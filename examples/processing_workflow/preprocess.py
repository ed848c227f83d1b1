"""Split and normalise raw CSV shards into train/test channels: a SageMaker processing script.

Each instance reads its share of the raw shards (ShardedByS3Key) under /opt/ml/processing/input,
standardises the four feature columns with the statistics of its share, keeps every fifth row
for testing, and writes <host>-<shard>.csv under /opt/ml/processing/train and .../test.
Rows are ``f1,f2,f3,f4,label``. Paths are SageMaker's; the arguments can move them.
"""
import argparse
import json
import os

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", default="/opt/ml/processing/input")
    parser.add_argument("--train", default="/opt/ml/processing/train")
    parser.add_argument("--test", default="/opt/ml/processing/test")
    parser.add_argument("--test-every", type=int, default=5)
    args = parser.parse_args()
    with open("/opt/ml/config/resourceconfig.json") as config:
        host = json.load(config)["current_host"]
    shards = sorted(name for name in os.listdir(args.input) if name.endswith(".csv"))
    rows = {name: np.loadtxt(os.path.join(args.input, name), delimiter=",", ndmin=2) for name in shards}
    features = np.concatenate([data[:, :-1] for data in rows.values()])
    mean, std = features.mean(axis=0), features.std(axis=0) + 1e-8
    for folder in (args.train, args.test):
        os.makedirs(folder, exist_ok=True)
    for name, data in rows.items():
        data = np.concatenate([(data[:, :-1] - mean) / std, data[:, -1:]], axis=1)
        test = np.arange(len(data)) % args.test_every == 0
        np.savetxt(os.path.join(args.train, f"{host}-{name}"), data[~test], delimiter=",", fmt="%.6f")
        np.savetxt(os.path.join(args.test, f"{host}-{name}"), data[test], delimiter=",", fmt="%.6f")
    print(f"{host}: {len(shards)} shards, {len(features)} rows -> train and test", flush=True)


if __name__ == "__main__":
    main()
