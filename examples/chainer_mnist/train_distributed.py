"""Data-parallel training of the same MLP with ChainerMN over MPI, SageMaker-style.

Launched by the container's MPI runner (mpirun) on every host; each rank trains on its
shard and the gradients are averaged across ranks. Rank 0 saves the model.
"""
import argparse
import json
import os

import chainer
import chainer.links as L
import chainermn
from chainer import serializers, training

from train import MLP, load, model_fn  # noqa: F401  (model_fn serves the saved model)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--communicator", default="naive")
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--output-data-dir", default=os.environ.get("SM_OUTPUT_DATA_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--test", default=os.environ.get("SM_CHANNEL_TEST"))
    args, _ = parser.parse_known_args()

    comm = chainermn.create_communicator(args.communicator)
    host = os.environ.get("SM_CURRENT_HOST", "?")
    print(f"rank {comm.rank} of size {comm.size} on host {host}", flush=True)
    total = comm.mpi_comm.allreduce(comm.rank + 1)
    print(f"allreduce sum of rank+1 over {comm.size} ranks: {total}", flush=True)

    train = chainermn.scatter_dataset(load(args.train) if comm.rank == 0 else None, comm, shuffle=True)
    model = L.Classifier(MLP(args.units, 10))
    optimizer = chainermn.create_multi_node_optimizer(chainer.optimizers.Adam(), comm)
    optimizer.setup(model)
    train_iter = chainer.iterators.SerialIterator(train, args.batch_size)
    updater = training.updaters.StandardUpdater(train_iter, optimizer)
    training.Trainer(updater, (args.epochs, "epoch"), out=args.output_data_dir).run()

    if comm.rank == 0:
        test = load(args.test)
        with chainer.using_config("train", False), chainer.no_backprop_mode():
            x, y = chainer.dataset.concat_examples(test)
            accuracy = float(chainer.functions.accuracy(model.predictor(x), y).array)
        print(f"test accuracy: {accuracy:.4f}", flush=True)
        with open(os.path.join(args.output_data_dir, "metrics.json"), "w") as f:
            json.dump({"test_accuracy": accuracy, "world_size": comm.size, "allreduce": total}, f)
        serializers.save_npz(os.path.join(args.model_dir, "model.npz"), model.predictor)


if __name__ == "__main__":
    main()
