"""Make small MNIST-shaped data (784 features, 10 classes) that a model can learn."""
import os
import sys

import numpy as np


def make(n, seed=0, features=784, classes=10):
    """Each class is a fixed random prototype plus noise; returns float32 x and int32 y."""
    prototypes = np.random.default_rng(1234).random((classes, features), dtype=np.float32)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n).astype(np.int32)
    x = prototypes[y] + rng.normal(0, 1.0, (n, features)).astype(np.float32)
    return x.astype(np.float32), y


def write(folder, n, seed):
    """Write `data.npz` with `n` samples into `folder` (created); returns the folder."""
    os.makedirs(folder, exist_ok=True)
    x, y = make(n, seed)
    np.savez(os.path.join(folder, "data.npz"), x=x, y=y)
    return folder


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else "data"
    write(os.path.join(root, "train"), 2000, seed=1)
    write(os.path.join(root, "test"), 500, seed=2)
    print(f"wrote {root}/train and {root}/test")
