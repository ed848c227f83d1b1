"""Evaluate model.tar.gz on the test channel; write evaluation.json (a SageMaker processing script)."""
import argparse
import io
import json
import os
import tarfile

import chainer
import chainer.functions as F
from chainer import serializers

from net import Net, load


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="/opt/ml/processing/model/model.tar.gz")
    parser.add_argument("--test", default="/opt/ml/processing/test")
    parser.add_argument("--output", default="/opt/ml/processing/evaluation")
    args = parser.parse_args()
    net = Net()
    with tarfile.open(args.model) as archive:  # only the weights are read: nothing is extracted
        serializers.load_npz(io.BytesIO(archive.extractfile("model.npz").read()), net)
    x, y = load(args.test)
    with chainer.using_config("train", False), chainer.no_backprop_mode():
        accuracy = float(F.accuracy(net(x), y).array)
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "evaluation.json"), "w") as report:
        json.dump({"accuracy": accuracy, "test_rows": int(len(y))}, report)
    print(f"accuracy {accuracy:.3f} on {len(y)} test rows", flush=True)


if __name__ == "__main__":
    main()
