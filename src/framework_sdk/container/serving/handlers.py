"""The handler chain: ``model_fn`` once per worker, then ``input_fn -> predict_fn -> output_fn``
(or ``transform_fn``) per request, each from the user module, else the framework's
default, else the generic default built on :mod:`framework_sdk.codecs`.
"""
import inspect
import logging
import os

from framework_sdk import codecs
from framework_sdk.container import frameworks
from framework_sdk.container.serving import batch
from framework_sdk.container.serving.errors import (INPUT, OUTPUT, PREDICT, HTTPError, StartupError,
                                                     classify)

log = logging.getLogger("framework_sdk.serving")

# hook name -> its arguments before the optional trailing ``context``
SIGNATURES = {
    "model_fn": ("model_dir",),
    "input_fn": ("input_data", "content_type"),
    "predict_fn": ("data", "model"),
    "output_fn": ("prediction", "accept"),
    "transform_fn": ("model", "input_data", "content_type", "accept"),
}

MODEL_FN_EXAMPLE = """    def model_fn(model_dir):
        model = MyModel()  # build the model the way training did
        model.load(os.path.join(model_dir, "model.bin"))
        return model"""


class Context:
    """What a hook declaring a trailing ``context`` argument receives.

    ``worker_id`` (0-based worker slot), ``model_dir``, and ``request_headers`` (a dict of
    lower-case header names to values; empty for ``model_fn``).
    """

    __slots__ = ("worker_id", "model_dir", "_raw_headers", "_headers")

    def __init__(self, worker_id, model_dir, raw_headers=()):
        self.worker_id = worker_id
        self.model_dir = str(model_dir)
        self._raw_headers = raw_headers
        self._headers = None

    @property
    def request_headers(self):
        if self._headers is None:
            self._headers = {name.decode("latin1").lower(): value.decode("latin1")
                             for name, value in self._raw_headers}
        return self._headers

    def __repr__(self):
        return f"Context(worker_id={self.worker_id}, model_dir={self.model_dir!r})"


class Hook:
    """A handler function and whether it takes the trailing ``context`` argument."""

    __slots__ = ("name", "function", "wants_context", "origin")

    def __init__(self, name, function, origin):
        self.name, self.function, self.origin = name, function, origin
        self.wants_context = _wants_context(name, function, origin)

    def __call__(self, context, *args):
        if self.wants_context:
            return self.function(*args, context)
        return self.function(*args)


def _wants_context(name, function, origin):
    expected = SIGNATURES[name]
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature: call them plainly
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return False
    if any(p.name == "context" for p in parameters) or len(positional) > len(expected):
        return True
    required = [p for p in positional if p.default is p.empty]
    if len(positional) < len(expected) and len(required) < len(expected):
        raise StartupError(f"{name} in {origin} takes {len(positional)} argument(s); it must take "
                           f"({', '.join(expected)}) and optionally a trailing context")
    return False


# ------------------------------------------------------------------ generic defaults


def default_input_fn(input_data, content_type):
    """NPY, CSV, JSON and JSON Lines bodies to numpy arrays (JSON must be numeric)."""
    return codecs.decode(input_data, content_type, as_array=True)


def default_predict_fn(data, model):
    """``model.predict(data)`` when the model has it, else ``model(data)``."""
    predict = getattr(model, "predict", None)
    return predict(data) if predict is not None else model(data)


def default_output_fn(prediction, accept):
    """Encode as an answer with the shared codecs (1-D in CSV: one value per line); ``(body, content_type)``."""
    return codecs.encode(prediction, accept, answer=True), accept


_GENERIC = {"input_fn": default_input_fn, "predict_fn": default_predict_fn, "output_fn": default_output_fn}


def load_framework():
    """The framework module named by ``FRAMEWORK_SDK_FRAMEWORK`` (its ``default_*`` hooks), or ``None``."""
    name = os.environ.get("FRAMEWORK_SDK_FRAMEWORK", "").strip()
    if not name:
        return None
    return frameworks.load(name)


class HandlerChain:
    """Resolves the hooks once; :meth:`load` loads the model; :meth:`invoke` answers one request."""

    def __init__(self, module, config, framework=None):
        self.config = config
        self.model = None
        origin = getattr(module, "__file__", None) or "the user module"
        user = {name: getattr(module, name) for name in SIGNATURES
                if module is not None and callable(getattr(module, name, None))}
        if "transform_fn" in user:
            both = sorted(set(user) & {"input_fn", "predict_fn", "output_fn"})
            if both:
                raise StartupError(f"{origin} defines transform_fn and {', '.join(both)}: define either "
                                   "transform_fn or input_fn/predict_fn/output_fn, not both")
        hooks = {}
        for name in SIGNATURES:
            if name in user:
                hooks[name] = Hook(name, user[name], origin)
            elif framework is not None and callable(getattr(framework, f"default_{name}", None)):
                hooks[name] = Hook(name, getattr(framework, f"default_{name}"), framework.__name__)
            elif name in _GENERIC:
                hooks[name] = Hook(name, _GENERIC[name], __name__)
        if "model_fn" not in hooks:
            where = f"{origin}" if module is not None else "your inference script (SAGEMAKER_PROGRAM)"
            raise StartupError(f"no model_fn: add to {where}\n{MODEL_FN_EXAMPLE}")
        self.hooks = hooks
        self.transform = hooks.get("transform_fn")
        self.input_fn, self.predict_fn = hooks["input_fn"], hooks["predict_fn"]
        self.output_fn = hooks["output_fn"]
        self.default_output = self.output_fn.function is default_output_fn
        self.wants_context = any(hook.wants_context for hook in hooks.values())
        self.offered = (config.default_accept,) + tuple(t for t in codecs.SUPPORTED if t != config.default_accept)

    def load(self, context):
        """Call ``model_fn`` (once per worker); a model the default ``predict_fn`` cannot call is an error."""
        self.model = self.hooks["model_fn"](context, str(self.config.model_dir))
        if (self.transform is None and self.predict_fn.function is default_predict_fn
                and not callable(self.model) and not callable(getattr(self.model, "predict", None))):
            raise StartupError(f"model_fn returned a {type(self.model).__name__}, which has no predict() and "
                               "is not callable: define predict_fn(data, model) in your inference script")
        return self.model

    def invoke(self, body, content_type, accept, context):
        """Answer one request: ``(payload, content_type)``; every failure is an :class:`HTTPError`."""
        config = self.config
        records = batch.count_records(body, content_type, config.batch_strategy) if config.batch else None
        accept = self._accept(accept, content_type, records)
        phase = INPUT
        try:
            if self.transform is not None:
                result = self.transform(context, self.model, body, content_type, accept)
            else:
                data = self.input_fn(context, body, content_type)
                phase = PREDICT
                prediction = self.predict_fn(context, data, self.model)
                phase = OUTPUT
                if records is not None and self.default_output:
                    prediction = batch.as_records(prediction, codecs.media_type(accept), records)
                result = self.output_fn(context, prediction, accept)
            phase = OUTPUT
            payload, kind = _split(result, accept)
        except HTTPError:
            raise
        except Exception as error:
            status, message, expected = classify(error, phase)
            if not expected:
                log.error("request failed in %s", _hook_name(phase, self.transform), exc_info=error)
            raise HTTPError(status, message) from error
        if records is not None:
            batch.check_lines(payload, kind, records)
        return payload, kind

    def _accept(self, header, content_type, records):
        if not header or not header.strip() or header.strip() == "*/*":
            if records is not None:  # batch transform: answer line-based input in the same type
                return codecs.media_type(content_type)
            if not self.default_output:
                return self.config.default_accept
        if not self.default_output:
            return header
        chosen = codecs.negotiate(header, self.offered, self.config.default_accept)
        if chosen is None:
            raise HTTPError(406, f"cannot answer in any type of Accept: {header}; this server produces "
                                 f"{', '.join(codecs.SUPPORTED)}")
        return chosen


def _hook_name(phase, transform):
    if transform is not None:
        return "transform_fn"
    return {INPUT: "input_fn", PREDICT: "predict_fn", OUTPUT: "output_fn"}[phase]


def _split(result, accept):
    if isinstance(result, tuple) and len(result) == 2:
        payload, kind = result
    else:
        payload, kind = result, accept
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    elif not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError(f"output_fn must return bytes or str (optionally with a content type), "
                        f"not {type(payload).__name__}")
    return payload, kind or accept
