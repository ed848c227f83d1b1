"""The inference app: `/ping` and CSV `/invocations` for the decision tree in /opt/ml/model.

/opt/ml is $SAGEMAKER_BASE_DIR when set (framework-sdk's process backend runs it outside a container).

The model is loaded when the app is imported (gunicorn --preload), so the server
answers `/ping` only once it can predict.
"""
import csv
import io
import json
import os

import joblib
import numpy as np
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

MODEL_PATH = os.path.join(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"), "model", "decision-tree-model.joblib")
MAX_PAYLOAD_MB = int(os.environ.get("SAGEMAKER_MAX_PAYLOAD_IN_MB", "6"))
CSV = "text/csv"

model = joblib.load(MODEL_PATH)
app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = MAX_PAYLOAD_MB * 1024 * 1024


def error(status, message):
    return Response(message + "\n", status=status, mimetype="text/plain")


@app.errorhandler(HTTPException)
def http_error(exception):
    if exception.code == 413:
        return error(413, f"payload larger than SAGEMAKER_MAX_PAYLOAD_IN_MB={MAX_PAYLOAD_MB}; "
                          "split it into smaller requests")
    return error(exception.code, exception.description or exception.name)


@app.route("/ping", methods=["GET"])
def ping():
    return Response("\n", status=200, mimetype="text/plain")


@app.route("/execution-parameters", methods=["GET"])
def execution_parameters():
    workers = int(os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS", os.cpu_count() or 1))
    body = {"MaxConcurrentTransforms": workers, "BatchStrategy": "MultiRecord", "MaxPayloadInMB": MAX_PAYLOAD_MB}
    return Response(json.dumps(body), status=200, mimetype="application/json")


def parse_rows(text):
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row:
            continue
        try:
            rows.append([float(value) for value in row])
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
    if not rows:
        raise ValueError("the body holds no CSV rows; send one row of features per line")
    widths = {len(row) for row in rows}
    if widths != {model.n_features_in_}:
        raise ValueError(f"each row must have {model.n_features_in_} features, got {sorted(widths)}")
    return np.array(rows)


@app.route("/invocations", methods=["POST"])
def invocations():
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    if content_type != CSV:
        return error(415, f"this predictor only supports {CSV}, not {content_type or 'no content type'!r}")
    accept = request.headers.get("Accept", "")
    if accept and not any(kind.split(";")[0].strip() in (CSV, "text/*", "*/*") for kind in accept.split(",")):
        return error(406, f"this predictor answers {CSV} only, not {accept!r}")
    try:
        features = parse_rows(request.get_data().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return error(400, f"bad CSV: {exc}")
    predictions = model.predict(features)
    body = "".join(f"{value}\n" for value in predictions)
    return Response(body, status=200, mimetype=CSV)
