"""Serializers (request bodies) and deserializers (response bodies) for :class:`~framework_sdk.Predictor`.

Names and defaults follow SageMaker Python SDK v2. Every wire format goes through
:mod:`framework_sdk.codecs`, the same code the model server uses, so both ends agree.

A serializer has ``CONTENT_TYPE`` and ``serialize(data) -> bytes`` (:class:`NumpySerializer`
returns a :class:`ChunkedBody` instead, so a large array is sent without being copied into
one new bytes object first); a deserializer has
``ACCEPT`` (a tuple of media types) and ``deserialize(stream, content_type)``.
:class:`NumpyDeserializer` never unpickles: object arrays are refused.
"""
from __future__ import annotations

import functools
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import codecs, contract
from .exceptions import ConfigurationError, SDKError, SerializationError

if TYPE_CHECKING:
    from typing import Callable, TypeVar

    from numpy.typing import DTypeLike, NDArray
    from typing_extensions import Buffer, ParamSpec

    _P = ParamSpec("_P")
    _R = TypeVar("_R")


class ChunkedBody(io.RawIOBase):
    """A request body made of buffers sent in turn and never joined (an NPY header plus a view of the array).

    It is a readable, seekable, sized file object, so botocore sends it like any file body;
    an HTTP client that can send buffers directly (the local runtime client) uses :meth:`chunks`.
    ``bytes(body)`` joins it when a single object is needed.
    """

    def __init__(self, chunks: Iterable[Buffer]) -> None:
        super().__init__()
        self._chunks = [memoryview(chunk).cast("B") for chunk in chunks]
        self._size = sum(chunk.nbytes for chunk in self._chunks)
        self._position = 0

    def chunks(self) -> list[memoryview]:
        return list(self._chunks)

    def __len__(self) -> int:
        return self._size

    def __bytes__(self) -> bytes:
        return b"".join(self._chunks)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Buffer) -> int:
        target = memoryview(buffer).cast("B")
        written, start = 0, 0
        for chunk in self._chunks:
            end = start + chunk.nbytes
            if self._position < end and written < target.nbytes:
                offset = self._position - start
                count = min(chunk.nbytes - offset, target.nbytes - written)
                target[written:written + count] = chunk[offset:offset + count]
                written += count
                self._position += count
            start = end
        return written


def _codec_errors_as_ours(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Let a codec failure leave ``method`` as a :class:`SerializationError` (an SDKError, still a CodecError)."""
    @functools.wraps(method)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except codecs.CodecError as error:
            if isinstance(error, SDKError):
                raise
            raise SerializationError(error) from None

    return call


def _read(stream: Any) -> bytes:
    """Read and close a botocore ``StreamingBody`` (or any file-like), or pass bytes through."""
    if isinstance(stream, (bytes, bytearray, memoryview)):
        return bytes(stream)
    try:
        return stream.read()
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()


def _file_body(data: Any) -> bytes | None:
    """The bytes of a file-like ``data``, or ``None`` when ``data`` is not file-like."""
    read = getattr(data, "read", None)
    return read() if callable(read) else None


class BaseSerializer:
    """Turns Python data into a request body of :attr:`CONTENT_TYPE`."""

    CONTENT_TYPE = contract.OCTET_STREAM

    def __init__(self, content_type: str | None = None) -> None:
        if content_type:
            self.CONTENT_TYPE = content_type

    @property
    def content_type(self) -> str:
        return self.CONTENT_TYPE

    def serialize(self, data: Any) -> bytes | ChunkedBody:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(content_type={self.CONTENT_TYPE!r})"


class IdentitySerializer(BaseSerializer):
    """Sends bytes (or a file's bytes, or UTF-8 text) unchanged."""

    def serialize(self, data: Any) -> bytes:
        body = _file_body(data)
        if body is not None:
            return body
        if isinstance(data, str):
            return data.encode("utf-8")
        if isinstance(data, (bytes, bytearray, memoryview)):
            return bytes(data)
        raise TypeError(f"IdentitySerializer sends bytes, str or a file, not {type(data).__name__}; "
                        f"use JSONSerializer, CSVSerializer or NumpySerializer for Python data")


class NumpySerializer(BaseSerializer):
    """NPY (``application/x-npy``) from anything ``numpy.asarray`` accepts; ``dtype`` casts first."""

    CONTENT_TYPE = codecs.NPY

    def __init__(self, dtype: DTypeLike | None = None, content_type: str = codecs.NPY) -> None:
        super().__init__(content_type)
        self.dtype = dtype

    @_codec_errors_as_ours
    def serialize(self, data: Any) -> bytes | ChunkedBody:
        body = _file_body(data)
        if body is not None:
            return body
        import numpy as np

        array = np.asarray(data, dtype=self.dtype)
        if array.size == 0:
            raise ConfigurationError("NumpySerializer: cannot send an empty array; the endpoint would have nothing to predict")
        return ChunkedBody(codecs.npy_chunks(array))


class JSONSerializer(BaseSerializer):
    """JSON (``application/json``); numpy arrays and scalars become lists and numbers."""

    CONTENT_TYPE = codecs.JSON

    @_codec_errors_as_ours
    def serialize(self, data: Any) -> bytes:
        body = _file_body(data)
        return body if body is not None else codecs.json_encode(data)


class CSVSerializer(BaseSerializer):
    """CSV (``text/csv``): a row (1-D) or rows (2-D) of numbers, or of any values written as text.

    Numbers go through the shared codec (the model server's); rows holding text or of uneven
    length are written with :mod:`csv` (values containing commas or quotes are quoted). Strings
    and bytes are sent as they are; empty data is refused.
    """

    CONTENT_TYPE = codecs.CSV

    @_codec_errors_as_ours
    def serialize(self, data: Any) -> bytes:
        body = _file_body(data)
        if body is not None:
            return body
        if isinstance(data, str):
            return data.encode("utf-8")
        if isinstance(data, (bytes, bytearray)):
            return bytes(data)
        import numpy as np

        try:
            array = np.asarray(data)
        except ValueError:  # rows of uneven length
            array = np.asarray(data, dtype=object)
        if array.size == 0:
            raise ConfigurationError("CSVSerializer: cannot send empty data; the endpoint would have nothing to predict")
        if array.dtype.kind in "biuf":
            return codecs.csv_encode(array)
        return _csv_text(array.tolist() if array.dtype != object else data)


def _csv_text(data: Any) -> bytes:
    """Rows of arbitrary values as CSV text (one row when ``data`` holds no sequences)."""
    import csv
    import io

    def is_row(value: Any) -> bool:
        return isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) > 0

    rows = list(data) if isinstance(data, (list, tuple)) else [data]
    if not any(is_row(row) for row in rows):
        rows = [rows]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(row.tolist() if hasattr(row, "tolist") else row)
    return out.getvalue().encode("utf-8")


class JSONLinesSerializer(BaseSerializer):
    """JSON Lines (``application/jsonlines``): one JSON value per line (an array: one row per line)."""

    CONTENT_TYPE = codecs.JSONLINES

    @_codec_errors_as_ours
    def serialize(self, data: Any) -> bytes:
        body = _file_body(data)
        if body is not None:
            return body
        if isinstance(data, str):
            return data.encode("utf-8")
        return codecs.jsonlines_encode(data)


class BaseDeserializer:
    """Turns a response body into Python data; :attr:`ACCEPT` lists the media types asked for."""

    ACCEPT: tuple[str, ...] = ("*/*",)

    def __init__(self, accept: str | Iterable[str] | None = None) -> None:
        if accept:
            self.ACCEPT = (accept,) if isinstance(accept, str) else tuple(accept)

    @property
    def accept(self) -> str | tuple[str, ...]:
        """One media type as a string, several as a tuple (as SageMaker Python SDK's ``accept``)."""
        return self.ACCEPT[0] if len(self.ACCEPT) == 1 else self.ACCEPT

    def deserialize(self, stream: Any, content_type: str | None) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(accept={self.ACCEPT!r})"


class BytesDeserializer(BaseDeserializer):
    """The body as ``bytes``."""

    def deserialize(self, stream: Any, content_type: str | None) -> bytes:
        return _read(stream)


class StringDeserializer(BaseDeserializer):
    """The body decoded as text (``encoding``, UTF-8 by default)."""

    ACCEPT = (codecs.JSON,)

    def __init__(self, encoding: str = "UTF-8", accept: str | Iterable[str] = codecs.JSON) -> None:
        super().__init__(accept)
        self.encoding = encoding

    def deserialize(self, stream: Any, content_type: str | None) -> str:
        return _read(stream).decode(self.encoding)


class StreamDeserializer(BaseDeserializer):
    """``(stream, content_type)`` unread, for large responses; the caller closes the stream."""

    def deserialize(self, stream: Any, content_type: str | None) -> tuple[Any, str | None]:
        return stream, content_type


class JSONDeserializer(BaseDeserializer):
    """Parsed JSON (dicts, lists, numbers)."""

    ACCEPT = (codecs.JSON,)

    @_codec_errors_as_ours
    def deserialize(self, stream: Any, content_type: str | None) -> Any:
        return codecs.json_decode(_read(stream))


class JSONLinesDeserializer(BaseDeserializer):
    """A list with one parsed value per JSON Lines line."""

    ACCEPT = (codecs.JSONLINES,)

    @_codec_errors_as_ours
    def deserialize(self, stream: Any, content_type: str | None) -> list[Any]:
        return codecs.jsonlines_decode(_read(stream))


class CSVDeserializer(BaseDeserializer):
    """A list of rows, each a list of strings (as SageMaker Python SDK returns; cast as needed)."""

    ACCEPT = (codecs.CSV,)

    def __init__(self, encoding: str = "utf-8", accept: str | Iterable[str] = codecs.CSV) -> None:
        super().__init__(accept)
        self.encoding = encoding

    def deserialize(self, stream: Any, content_type: str | None) -> list[list[str]]:
        import csv

        return list(csv.reader(_read(stream).decode(self.encoding).splitlines()))


class NumpyDeserializer(BaseDeserializer):
    """A numpy array from an NPY, JSON, CSV or JSON Lines body; never unpickles.

    ``allow_pickle`` exists for SageMaker Python SDK compatibility and must stay ``False``.
    """

    ACCEPT = (codecs.NPY,)

    def __init__(self, dtype: DTypeLike | None = None, accept: str | Iterable[str] = codecs.NPY,
                 allow_pickle: bool = False) -> None:
        if allow_pickle:
            raise ConfigurationError("NumpyDeserializer never unpickles (a response could run code); "
                             "send numeric arrays as NPY, JSON or CSV instead")
        super().__init__(accept)
        self.dtype = dtype

    @_codec_errors_as_ours
    def deserialize(self, stream: Any, content_type: str | None) -> NDArray[Any]:
        body = _read(stream)
        kind = codecs.media_type(content_type)
        if kind in (codecs.JSON, codecs.JSONLINES):
            return codecs.decode(body, kind, as_array=True, dtype=self.dtype)
        return codecs.decode(body, kind or codecs.NPY, dtype=self.dtype)
