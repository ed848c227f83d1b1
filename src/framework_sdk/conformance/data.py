"""The generated data: a small iris-like CSV channel for ``train``, and valid or malformed request bodies for
``serve``."""
import random

from framework_sdk import codecs

FEATURES = 4
CLASSES = 3
ROWS = 60


def sample_data(rows=ROWS, seed=0):
    """``(labels, features)``: a small iris-like set, numeric labels 0-2, four separable features."""
    generator = random.Random(seed)
    labels = [index % CLASSES for index in range(rows)]
    features = [[round(label * 2.0 + generator.random(), 3) for _ in range(FEATURES)] for label in labels]
    return labels, features


def _csv(rows):
    return "".join(",".join(str(value) for value in row) + "\n" for row in rows).encode()


def _payloads(features):
    """A valid request body per content type, for the same rows."""
    import numpy

    array = numpy.asarray(features, dtype="float64")
    return {codecs.CSV: _csv(features), codecs.JSON: bytes(codecs.encode(features, codecs.JSON)),
            codecs.NPY: bytes(codecs.encode(array, codecs.NPY))}


MALFORMED = {codecs.CSV: b"1.0,2.0,not-a-number,\x00\xff\n", codecs.JSON: b"{\"instances\": [1, 2,",
             codecs.NPY: b"\x93NUMPY\x01\x00garbage"}
