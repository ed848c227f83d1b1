"""Train the classifier on the train channel (SageMaker's Chainer script mode)."""
import argparse
import os

import chainer
import chainer.links as L
from chainer import serializers

from net import Net, load


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--output-data-dir", default=os.environ.get("SM_OUTPUT_DATA_DIR"))
    args, _ = parser.parse_known_args()
    x, y = load(args.train)
    model = L.Classifier(Net())
    optimizer = chainer.optimizers.Adam(alpha=0.05)
    optimizer.setup(model)
    iterator = chainer.iterators.SerialIterator(chainer.datasets.TupleDataset(x, y), 32)
    updater = chainer.training.updaters.StandardUpdater(iterator, optimizer)
    chainer.training.Trainer(updater, (args.epochs, "epoch"), out=args.output_data_dir).run()
    print(f"trained on {len(x)} rows, last loss {float(model.loss.array):.4f}", flush=True)
    serializers.save_npz(os.path.join(args.model_dir, "model.npz"), model.predictor)


if __name__ == "__main__":
    main()
