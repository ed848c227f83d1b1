"""The batch-transform contract: records in, exactly as many lines out, in order.

With ``SAGEMAKER_BATCH=true`` SageMaker splits the input by line and sends either one
record per request (``SINGLE_RECORD``) or as many as fit (``MULTI_RECORD``); with
``AssembleWith=Line`` it expects one output line per record.
"""
from framework_sdk import codecs
from framework_sdk.container.serving.errors import HTTPError

LINE_TYPES = (codecs.CSV, codecs.JSONLINES)


def count_records(body, content_type, strategy):
    """Non-empty lines in a CSV or JSON Lines body (``None`` for other types); enforces SINGLE_RECORD."""
    if codecs.media_type(content_type) not in LINE_TYPES:
        return None
    records = sum(1 for line in bytes(body).split(b"\n") if line.strip())
    if strategy == "SINGLE_RECORD" and records > 1:
        raise HTTPError(400, f"BatchStrategy is SINGLE_RECORD but the body holds {records} records; "
                             "send one record per request or use MULTI_RECORD")
    return records


def as_records(prediction, kind, records):
    """Shape ``prediction`` so a line-based encoding writes one line per record.

    A 1-D CSV answer is one value per line (a prediction per record) already; for a single
    record, a 1-D prediction of several values is that record's one line.
    """
    if records != 1 or kind != codecs.CSV or not hasattr(prediction, "__len__"):
        return prediction
    import numpy as np

    array = np.asarray(prediction)
    return array.reshape(1, -1) if array.ndim == 1 and array.size > 1 else prediction


def check_lines(payload, content_type, records):
    """Raise a 500 when a line-based answer does not hold one line per input record."""
    if records is None or codecs.media_type(content_type) not in LINE_TYPES:
        return
    data = bytes(payload)
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    if lines != records:
        raise HTTPError(500, f"batch transform: the answer has {lines} lines for {records} input records; "
                             "return one prediction per record (predict_fn/output_fn)")
