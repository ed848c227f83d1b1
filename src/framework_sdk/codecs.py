"""Wire formats shared by the client and the model server, and HTTP content negotiation.

One module encodes and decodes every payload so the two halves can never disagree:

=========================  ===========================================================
``application/x-npy``      NPY (any non-object dtype, C or Fortran order); never unpickles
``application/json``       JSON; numpy arrays and scalars encode as nested lists
``text/csv``               numeric 1-D / 2-D arrays, one record per line
``application/jsonlines``  one JSON value per line
=========================  ===========================================================

Every malformed payload raises :class:`CodecError` (a ``ValueError``) whose message
names the content type and what was wrong. This is the bottom layer: it imports
nothing of ours, and numpy / orjson (the fast JSON library, chosen because it
serialises numpy arrays natively in C) only when first used.
"""
import ast
import functools
import io
import re
import warnings

NPY = "application/x-npy"
JSON = "application/json"
CSV = "text/csv"
JSONLINES = "application/jsonlines"
SUPPORTED = (NPY, JSON, CSV, JSONLINES)

_ALIASES = {
    "application/npy": NPY,
    "application/x-jsonlines": JSONLINES,
    "application/jsonl": JSONLINES,
    "application/json-lines": JSONLINES,
    "application/x-ndjson": JSONLINES,
}

_NPY_MAGIC = b"\x93NUMPY"
_NPY_HEADER_LIMIT = 1 << 18
# The header numpy and we write; anything else goes through ast.literal_eval.
_NPY_SIMPLE_HEADER = re.compile(
    r"\{'descr': '([<>|=]?[a-zA-Z]\d*)', 'fortran_order': (True|False), 'shape': \(((?:\d+, )*\d*,?)\), \} *\n?")


class CodecError(ValueError):
    """A payload that cannot be encoded or decoded; the message names the content type."""

    def __init__(self, content_type, message):
        self.content_type = content_type
        super().__init__(f"{content_type}: {message}")


# --------------------------------------------------------------------- content types


@functools.lru_cache(maxsize=512)  # a server sees few distinct header values: parse each once
def media_type(content_type):
    """``'Text/CSV; charset=utf-8'`` -> ``'text/csv'``: parameters dropped, lower case, aliases folded."""
    if not content_type:
        return ""
    base = content_type.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def _accept_entries(accept):
    for position, part in enumerate(accept.split(",")):
        fields = part.split(";")
        kind = media_type(fields[0])
        if not kind:
            continue
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        yield kind, quality, position


def _specificity(pattern, offered):
    if pattern == offered:
        return 2
    if pattern == "*/*":
        return 0
    if pattern.endswith("/*") and offered.split("/", 1)[0] == pattern[:-2]:
        return 1
    return -1


def negotiate(accept, offered, default=None):
    """Pick the best of ``offered`` for an HTTP ``Accept`` header, or ``None`` if nothing is acceptable.

    Understands lists, ``type/*``, ``*/*`` and q-values (``q=0`` excludes). An empty or
    missing header, or a bare ``*/*``, selects ``default`` (or the first offered type).
    """
    return _negotiate(accept, tuple(offered), default)


@functools.lru_cache(maxsize=512)
def _negotiate(accept, offered, default):
    offered = [media_type(kind) for kind in offered]
    if not offered:
        return None
    first = media_type(default) if default else offered[0]
    if not accept or not accept.strip():
        return first
    best, best_key = None, None
    for candidate in offered:
        # The most specific pattern matching a candidate sets its quality (RFC 9110 12.5.1).
        match = None
        for pattern, quality, position in _accept_entries(accept):
            specificity = _specificity(pattern, candidate)
            if specificity >= 0 and (match is None or specificity > match[0]):
                match = (specificity, quality, position)
        if match is None or match[1] <= 0:
            continue
        specificity, quality, position = match
        # Prefer higher q, then an explicit mention, then the default, then earlier in Accept.
        key = (quality, specificity > 0, candidate == first, -position)
        if best_key is None or key > best_key:
            best, best_key = candidate, key
    return best


# ----------------------------------------------------------------------------- NPY


def npy_chunks(array):
    """Encode ``array`` as NPY without copying its data: ``(header_bytes, data_memoryview)``.

    Send both in turn (``b"".join`` them only if you need one object).
    """
    import numpy as np

    array = np.asanyarray(array)
    if array.dtype.hasobject:
        raise CodecError(NPY, "object arrays cannot be sent as NPY (they would need pickle); "
                              "convert to a numeric dtype first")
    fortran = bool(array.flags.f_contiguous and not array.flags.c_contiguous and array.ndim > 1)
    if fortran:
        flat = array.T
    else:
        flat = np.ascontiguousarray(array)
    shape = array.shape
    shape_text = "(%s)" % ("%d," % shape[0] if len(shape) == 1 else ", ".join(map(str, shape)))
    descr = np.lib.format.dtype_to_descr(array.dtype)
    header = "{'descr': %r, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_text)
    header_len = len(header) + 1  # the newline
    version = 1
    prefix = 10
    if prefix + header_len > 0xFFFF:
        version, prefix = 2, 12
    padding = (-(prefix + header_len)) % 64
    head_body = (header + " " * padding + "\n").encode("latin1")
    size = len(head_body)
    length = size.to_bytes(2 if version == 1 else 4, "little")
    head = _NPY_MAGIC + bytes((version, 0)) + length + head_body
    data = memoryview(flat.reshape(-1).view(np.uint8)) if flat.size else memoryview(b"")
    return head, data


def npy_encode(array):
    """Encode ``array`` as NPY ``bytes``, copying its data exactly once."""
    return b"".join(npy_chunks(array))


def _npy_header(view):
    if len(view) < 10:
        raise CodecError(NPY, f"truncated header: {len(view)} bytes, an NPY payload starts with at least 10")
    if bytes(view[:6]) != _NPY_MAGIC:
        raise CodecError(NPY, "not an NPY payload (missing the \\x93NUMPY magic string)")
    major = view[6]
    if major == 1:
        start, length = 10, int.from_bytes(view[8:10], "little")
    elif major in (2, 3):
        if len(view) < 12:
            raise CodecError(NPY, "truncated header: version 2 header length missing")
        start, length = 12, int.from_bytes(view[8:12], "little")
    else:
        raise CodecError(NPY, f"unsupported NPY format version {major}")
    if length > _NPY_HEADER_LIMIT:
        raise CodecError(NPY, f"header declares {length} bytes, more than the {_NPY_HEADER_LIMIT} allowed")
    if start + length > len(view):
        raise CodecError(NPY, f"truncated header: declares {length} bytes but only {len(view) - start} follow")
    try:
        text = bytes(view[start:start + length]).decode("utf8" if major == 3 else "latin1")
    except UnicodeDecodeError:
        raise CodecError(NPY, "unreadable header (bad UTF-8)") from None
    simple = _NPY_SIMPLE_HEADER.fullmatch(text)
    if simple:
        descr, fortran, dims = simple.groups()
        shape = tuple(int(n) for n in dims.replace(",", " ").split())
        return descr, fortran == "True", shape, start + length
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # odd escapes in hostile headers
            header = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as error:
        raise CodecError(NPY, f"unreadable header ({error.__class__.__name__})") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise CodecError(NPY, "header must be a dict with exactly 'descr', 'fortran_order' and 'shape'")
    shape, fortran = header["shape"], header["fortran_order"]
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise CodecError(NPY, f"header shape {shape!r} is not a tuple of non-negative integers")
    if not isinstance(fortran, bool):
        raise CodecError(NPY, "header fortran_order must be True or False")
    return header["descr"], fortran, shape, start + length


def npy_decode(body):
    """Decode an NPY payload into an array that views ``body`` (no copy when the body allows it).

    The result is read-only when ``body`` is ``bytes``. Object dtypes are refused: nothing is unpickled.
    """
    import numpy as np

    view = memoryview(body).cast("B") if not isinstance(body, memoryview) or body.format != "B" else body
    descr, fortran, shape, offset = _npy_header(view)
    try:
        dtype = np.lib.format.descr_to_dtype(descr)
    except (TypeError, ValueError) as error:
        raise CodecError(NPY, f"header descr {descr!r} is not a dtype: {error}") from None
    if dtype.hasobject:
        raise CodecError(NPY, "object arrays are refused: decoding them would unpickle untrusted data")
    count = 1
    for n in shape:
        count *= n
    needed = count * dtype.itemsize
    available = len(view) - offset
    if needed > available:
        raise CodecError(NPY, f"declared shape {shape} of {dtype} needs {needed} bytes but the body has {available}")
    if needed < available:
        raise CodecError(NPY, f"{available - needed} unexpected bytes after the data of shape {shape}")
    if dtype.itemsize == 0 and count:
        raise CodecError(NPY, f"dtype {dtype} has no size")
    flat = np.frombuffer(view, dtype=dtype, count=count, offset=offset)
    if fortran:
        return flat.reshape(shape[::-1]).T
    return flat.reshape(shape)


# ---------------------------------------------------------------------------- JSON


def _orjson():
    import orjson

    return orjson


def _to_jsonable(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(data, option, content_type):
    """orjson with its native numpy path, else (e.g. a byte-swapped array it refuses) ``tolist()``."""
    orjson = _orjson()
    try:
        return orjson.dumps(data, default=_to_jsonable, option=option | orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:
        pass
    try:
        return orjson.dumps(data, default=_to_jsonable, option=option)
    except TypeError as error:
        raise CodecError(content_type, f"cannot encode: {error}") from None


def json_encode(data):
    """Encode ``data`` as JSON ``bytes``; numpy arrays and scalars become (nested) lists and numbers."""
    return _dumps(data, 0, JSON)


def _text(body, content_type):
    if isinstance(body, str):
        return body
    try:
        return bytes(body).decode("utf-8-sig")  # a leading byte-order mark (spreadsheet exports) is dropped
    except UnicodeDecodeError as error:
        raise CodecError(content_type, f"bad UTF-8 at byte {error.start}") from None


def json_decode(body, as_array=False, dtype=None):
    """Decode JSON; with ``as_array`` (or a ``dtype``) return a numpy array."""
    orjson = _orjson()
    try:
        value = orjson.loads(body if isinstance(body, (bytes, bytearray, memoryview, str)) else bytes(body))
    except orjson.JSONDecodeError as error:
        raise CodecError(JSON, f"malformed JSON: {error}") from None
    if as_array or dtype is not None:
        return _as_array(value, dtype, JSON)
    return value


def _as_array(value, dtype, content_type):
    import numpy as np

    try:
        array = np.asarray(value, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise CodecError(content_type, f"cannot make an array: {error}") from None
    if array.dtype.hasobject:
        raise CodecError(content_type, "cannot make a numeric array (ragged or mixed values)")
    return array


# ----------------------------------------------------------------------------- CSV


def csv_encode(data, column=False):
    """Encode a numeric 2-D array (one line per row) or 1-D array as CSV ``bytes``.

    A 1-D array is one record on one line, as a request sends it; with ``column=True`` it is one
    value per line (one prediction per record), as a model server answers, like ``numpy.savetxt``
    in SageMaker's serving toolkits.
    """
    import numpy as np

    array = np.asarray(data)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim > 2:
        raise CodecError(CSV, f"only 1-D and 2-D arrays can be written as CSV, got shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise CodecError(CSV, f"only numbers can be written as CSV, got dtype {array.dtype}")
    if array.dtype.kind == "b":
        array = array.astype(np.uint8)
    elif array.dtype.kind == "f" and array.dtype.itemsize not in (2, 4, 8):
        array = array.astype(np.float64)
    if array.ndim == 1:
        array = array.reshape(-1, 1) if column else array.reshape(1, -1)
    if array.size == 0:
        return b"" if array.shape[0] == 0 else b"\n" * array.shape[0]
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))
    # orjson writes the shortest round-trip text for every number; rows become lines.
    text = _orjson().dumps(array, option=_orjson().OPT_SERIALIZE_NUMPY)
    out = text[2:-2].replace(b"],[", b"\n")
    if array.dtype.kind == "f" and b"null" in out:
        out = _csv_slow(array)  # orjson writes NaN and infinities as null
    return out + b"\n"


def _csv_slow(array):
    return "\n".join(",".join(repr(float(x)) for x in row) for row in array).encode()


def csv_decode(body, dtype="float64"):
    """Decode numeric CSV into a 2-D array (one row per line); errors name the offending line."""
    import numpy as np

    text = _text(body, CSV)
    if not text.strip():
        raise CodecError(CSV, "empty body: expected at least one line of comma-separated numbers")
    try:
        array = np.loadtxt(io.StringIO(text), dtype=dtype, delimiter=",", ndmin=2, comments=None)
    except (ValueError, TypeError, IndexError):
        raise _csv_error(text, dtype) from None
    return array


def _csv_error(text, dtype):
    import numpy as np

    width = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cells = line.split(",")
        if width is None:
            width = len(cells)
        elif len(cells) != width:
            return CodecError(CSV, f"line {number} has {len(cells)} columns instead of {width}")
        for column, cell in enumerate(cells, 1):
            try:
                np.array(cell.strip(), dtype=dtype) if cell.strip() else _raise()
            except (ValueError, TypeError):
                return CodecError(CSV, f"line {number}, column {column}: {cell.strip()[:40]!r} is not a number")
    return CodecError(CSV, f"not numeric CSV of {np.dtype(dtype)}")


def _raise():
    raise ValueError("empty cell")


# ----------------------------------------------------------------------- JSON Lines


def jsonlines_encode(values):
    """Encode an iterable of JSON values (arrays: one line per row) as JSON Lines ``bytes``."""
    option = _orjson().OPT_APPEND_NEWLINE
    if isinstance(values, (dict, str, bytes)):
        values = [values]
    return b"".join(_dumps(value, option, JSONLINES) for value in values)


def jsonlines_decode(body):
    """Decode JSON Lines into a list of values; blank lines are skipped, errors name the line."""
    orjson = _orjson()
    data = body.encode() if isinstance(body, str) else bytes(body)
    values = []
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            values.append(orjson.loads(line))
        except orjson.JSONDecodeError as error:
            raise CodecError(JSONLINES, f"line {number}: malformed JSON: {error}") from None
    return values


# -------------------------------------------------------------------------- dispatch


def encode(data, content_type, answer=False):
    """Encode ``data`` for ``content_type`` (one of :data:`SUPPORTED`) as a bytes-like object.

    ``answer=True`` encodes a model server's answer: a 1-D array in CSV is then one value per
    line (one prediction per input record); in a request it is one record on one line. The
    other formats encode both the same way (JSON Lines always writes a 1-D array's values one per line).
    """
    kind = media_type(content_type)
    if kind == NPY:
        return npy_encode(data)
    if kind == JSON:
        return json_encode(data)
    if kind == CSV:
        return csv_encode(data, column=answer)
    if kind == JSONLINES:
        return jsonlines_encode(data)
    raise UnsupportedContentType(content_type)


def decode(body, content_type, as_array=False, dtype=None):
    """Decode ``body`` of ``content_type``; ``as_array``/``dtype`` turn JSON and JSON Lines into arrays.

    NPY and CSV always decode to arrays (``dtype`` casts them when given).
    """
    kind = media_type(content_type)
    if kind == NPY:
        array = npy_decode(body)
        return array if dtype is None else array.astype(dtype, copy=False)
    if kind == JSON:
        return json_decode(body, as_array=as_array, dtype=dtype)
    if kind == CSV:
        return csv_decode(body, dtype=dtype or "float64")
    if kind == JSONLINES:
        values = jsonlines_decode(body)
        return _as_array(values, dtype, JSONLINES) if as_array or dtype is not None else values
    raise UnsupportedContentType(content_type)


class UnsupportedContentType(CodecError):
    """No codec exists for this content type (HTTP 415 on the server)."""

    def __init__(self, content_type):
        super().__init__(content_type or "(no content type)",
                         f"unsupported content type; use one of {', '.join(SUPPORTED)}")
