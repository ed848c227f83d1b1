"""The shared codecs: round trips, numpy compatibility, errors, negotiation, and decoder fuzzing."""
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from framework_sdk import codecs
from framework_sdk.codecs import CSV, JSON, JSONLINES, NPY, CodecError, UnsupportedContentType

# ------------------------------------------------------------------------------ NPY

NUMERIC_DTYPES = ["<f2", "<f4", ">f8", "<i1", "<i2", ">i4", "<i8", "<u1", "<u2", "<u4", "<u8", "|b1", "<c8", "<c16"]


@pytest.mark.parametrize("dtype", NUMERIC_DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_npy_round_trip_matches_numpy(dtype, order):
    array = np.asarray(np.arange(24).reshape(2, 3, 4) % 7, dtype=dtype, order=order)
    body = codecs.npy_encode(array)
    assert np.load(io.BytesIO(bytes(body))).tolist() == array.tolist()  # numpy reads ours
    buffer = io.BytesIO()
    np.save(buffer, array)
    for payload in (bytes(body), buffer.getvalue()):  # we read ours and numpy's
        decoded = codecs.npy_decode(payload)
        assert decoded.dtype == array.dtype and decoded.shape == array.shape
        np.testing.assert_array_equal(decoded, array)


def test_npy_fortran_order_is_kept_without_copy():
    array = np.asfortranarray(np.arange(12, dtype="f4").reshape(3, 4))
    head, data = codecs.npy_chunks(array)
    assert b"'fortran_order': True" in head
    assert np.shares_memory(np.frombuffer(data, dtype=np.uint8), array)
    decoded = codecs.npy_decode(bytes(head) + bytes(data))
    assert decoded.flags.f_contiguous and decoded.tolist() == array.tolist()


def test_npy_decode_views_the_body():
    body = bytearray(codecs.npy_encode(np.arange(1000, dtype="f8")))
    decoded = codecs.npy_decode(body)
    body[-8:] = np.float64(-1).tobytes()
    assert decoded[-1] == -1  # a view, not a copy


def test_npy_chunks_do_not_copy_contiguous_data():
    array = np.arange(10_000, dtype="f4")
    _, data = codecs.npy_chunks(array)
    assert np.shares_memory(np.frombuffer(data, dtype="f4"), array)


@pytest.mark.parametrize("array", [np.float32(2.5), np.zeros((0, 3)), np.arange(5)[::2], np.ones((2, 1, 3), "i2")])
def test_npy_edge_shapes(array):
    decoded = codecs.npy_decode(bytes(codecs.npy_encode(array)))
    assert decoded.shape == np.shape(array)
    np.testing.assert_array_equal(decoded, array)


def test_npy_large_header_uses_version_2():
    array = np.zeros(2, dtype=[(f"field{i}", "<f4") for i in range(4000)])  # a header over 64 KiB
    body = bytes(codecs.npy_encode(array))
    assert body[6] == 2
    assert np.load(io.BytesIO(body), max_header_size=1 << 18).dtype == array.dtype
    assert codecs.npy_decode(body).dtype == array.dtype


def test_npy_refuses_object_arrays_both_ways():
    with pytest.raises(CodecError, match="object"):
        codecs.npy_encode(np.array([{"a": 1}], dtype=object))
    buffer = io.BytesIO()
    np.save(buffer, np.array([1, "x"], dtype=object), allow_pickle=True)
    with pytest.raises(CodecError, match="unpickle"):
        codecs.npy_decode(buffer.getvalue())


def _npy_with_header(header):
    text = header.encode("latin1")
    text += b" " * ((-(10 + len(text) + 1)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text


@pytest.mark.parametrize("body, message", [
    (b"", "truncated header"),
    (b"\x93NUMPY\x01", "truncated header"),
    (b"PK\x03\x04" + b"\0" * 20, "magic"),
    (b"\x93NUMPY\x01\x00\xff\x00{", "truncated header"),
    (_npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"), "needs"),
    (_npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }") + b"\0" * 7, "needs 8 bytes"),
    (_npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }") + b"\0" * 9, "unexpected bytes"),
    (_npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), "non-negative"),
    (_npy_with_header("{'descr': 'nonsense', 'fortran_order': False, 'shape': (1,), }"), "not a dtype"),
    (_npy_with_header("__import__('os').system('true')"), "unreadable header"),
    (b"\x93NUMPY\x09\x00\x10\x00" + b" " * 16, "version"),
])
def test_npy_malformed_payloads_name_the_problem(body, message):
    with pytest.raises(CodecError, match=message) as info:
        codecs.npy_decode(body)
    assert str(info.value).startswith(NPY)


# ----------------------------------------------------------------------------- JSON


def test_json_encodes_numpy_values_as_lists():
    body = codecs.json_encode({"a": np.arange(3, dtype="f4"), "b": np.int64(7), "c": np.float32(0.5)})
    assert codecs.json_decode(body) == {"a": [0.0, 1.0, 2.0], "b": 7, "c": 0.5}


def test_json_non_contiguous_and_exotic_dtypes():
    array = np.arange(12, dtype=">f8").reshape(3, 4)[:, ::2]
    assert codecs.json_decode(codecs.json_encode(array)) == array.tolist()
    swapped = np.arange(4, dtype=">f4")  # contiguous but byte-swapped, as a big-endian NPY body decodes
    assert codecs.json_decode(codecs.json_encode({"y": swapped})) == {"y": [0.0, 1.0, 2.0, 3.0]}
    assert codecs.jsonlines_decode(codecs.jsonlines_encode(swapped.reshape(2, 2))) == [[0.0, 1.0], [2.0, 3.0]]
    with pytest.raises(codecs.CodecError, match="application/json: cannot encode.*complex"):
        codecs.json_encode(np.array([1 + 2j]))


def test_json_decodes_to_array_when_asked():
    decoded = codecs.decode(b"[[1, 2], [3, 4]]", "application/json; charset=utf-8", dtype="float32")
    assert decoded.dtype == np.float32 and decoded.shape == (2, 2)


@pytest.mark.parametrize("body, message", [(b"\xff\xfe[1]", "malformed JSON"), (b"[1, 2", "malformed JSON")])
def test_json_errors(body, message):
    with pytest.raises(CodecError, match=message):
        codecs.json_decode(body)


def test_json_ragged_array_is_an_error():
    with pytest.raises(CodecError, match="array"):
        codecs.decode(b"[[1, 2], [3]]", JSON, as_array=True)


# ------------------------------------------------------------------------------ CSV


def test_csv_round_trip_is_exact_for_floats():
    array = np.random.default_rng(0).standard_normal((50, 7))
    np.testing.assert_array_equal(codecs.csv_decode(codecs.csv_encode(array)), array)


def test_csv_byte_order_mark_is_ignored():
    assert codecs.csv_decode(b"\xef\xbb\xbf1,2\r\n3,4\r\n").tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_csv_one_dimensional_is_one_line_and_decodes_two_dimensional():
    assert codecs.csv_encode(np.array([1, 2, 3])) == b"1,2,3\n"
    assert codecs.csv_decode(b"1,2,3\n").shape == (1, 3)


def test_csv_answers_write_a_one_dimensional_prediction_one_value_per_line():
    labels = np.array([1, 2, 0])
    assert codecs.csv_encode(labels, column=True) == b"1\n2\n0\n"  # as numpy.savetxt writes it
    assert codecs.encode(labels, "text/csv", answer=True) == b"1\n2\n0\n"
    assert codecs.encode(labels, "text/csv") == b"1,2,0\n"  # a request: one record
    assert codecs.encode(np.array([[1, 2]]), "text/csv", answer=True) == b"1,2\n"
    assert codecs.encode(labels, codecs.JSONLINES, answer=True) == codecs.encode(labels, codecs.JSONLINES)


def test_csv_float32_and_non_finite_values():
    array = np.array([[0.1, np.nan], [np.inf, -np.inf]], dtype="f4")
    decoded = codecs.csv_decode(codecs.csv_encode(array), dtype="f4")
    np.testing.assert_array_equal(decoded, array)


def test_csv_booleans_become_numbers():
    assert codecs.csv_encode(np.array([[True, False]])) == b"1,0\n"


@pytest.mark.parametrize("body, message", [
    (b"1,2,3,4\n" * 16 + b"1,2,3\n", "line 17 has 3 columns instead of 4"),
    (b"1,2\n3,abc\n", "line 2, column 2: 'abc' is not a number"),
    (b"1,2\n\xff,1\n", "bad UTF-8 at byte 4"),
    (b"   \n", "empty body"),
    (b"1,,2\n", "line 1, column 2"),
])
def test_csv_errors_name_the_line(body, message):
    with pytest.raises(CodecError, match=message) as info:
        codecs.csv_decode(body)
    assert str(info.value).startswith(CSV)


@pytest.mark.parametrize("data", [np.zeros((2, 2, 2)), np.array(["a", "b"])])
def test_csv_refuses_what_it_cannot_write(data):
    with pytest.raises(CodecError):
        codecs.csv_encode(data)


# ----------------------------------------------------------------------- JSON Lines


def test_jsonlines_both_ways():
    values = [{"instances": [1, 2]}, [3.5], "text", None]
    body = codecs.jsonlines_encode(values)
    assert body.count(b"\n") == 4
    assert codecs.jsonlines_decode(body + b"\n\n") == values


def test_jsonlines_array_rows_and_errors():
    assert codecs.jsonlines_decode(codecs.jsonlines_encode(np.eye(2))) == [[1.0, 0.0], [0.0, 1.0]]
    with pytest.raises(CodecError, match="line 2"):
        codecs.jsonlines_decode(b'{"a": 1}\n{"a": \n')


# ---------------------------------------------------------------- content negotiation


@pytest.mark.parametrize("given_type, expected", [
    ("Text/CSV; charset=utf-8", CSV),
    ("application/JSON", JSON),
    ("application/x-jsonlines", JSONLINES),
    ("", ""),
    (None, ""),
])
def test_media_type(given_type, expected):
    assert codecs.media_type(given_type) == expected


@pytest.mark.parametrize("accept, expected", [
    (None, JSON),
    ("", JSON),
    ("*/*", JSON),
    ("text/csv", CSV),
    ("text/csv;q=0.5, application/x-npy", NPY),
    ("application/*;q=0.9, text/csv;q=0.8", JSON),  # the default wins a tie among application/*
    ("application/x-npy;q=0, */*;q=0.1", JSON),
    ("text/html", None),
    ("text/*", CSV),
    ("*/*;q=0.1, application/jsonlines", JSONLINES),
    ("application/json;q=0", None),
])
def test_negotiate(accept, expected):
    assert codecs.negotiate(accept, [NPY, JSON, CSV, JSONLINES], default=JSON) == expected


def test_dispatch_and_unsupported_types():
    array = np.arange(6, dtype="f4").reshape(2, 3)
    for kind in (NPY, JSON, CSV):
        np.testing.assert_array_equal(codecs.decode(codecs.encode(array, kind), kind, dtype="f4"), array)
    with pytest.raises(UnsupportedContentType, match="unsupported content type"):
        codecs.decode(b"x", "image/png")
    assert issubclass(UnsupportedContentType, CodecError) and issubclass(CodecError, ValueError)


# ---------------------------------------------------------------------------- fuzzing

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=400), st.sampled_from([NPY, JSON, CSV, JSONLINES]))
def test_fuzz_random_bytes_raise_only_codec_errors(body, content_type):
    try:
        codecs.decode(body, content_type, as_array=True)
    except CodecError:
        pass


@FUZZ
@given(hnp.arrays(dtype=hnp.scalar_dtypes().filter(lambda d: d.kind in "biufc"),
                  shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=5)),
       st.data())
def test_fuzz_truncated_and_corrupted_npy(array, data):
    body = bytes(codecs.npy_encode(array))
    np.testing.assert_array_equal(codecs.npy_decode(body), array)
    cut = data.draw(st.integers(0, len(body) - 1))
    with pytest.raises(CodecError):
        codecs.npy_decode(body[:cut])
    position = data.draw(st.integers(0, len(body) - 1))
    corrupted = bytearray(body)
    corrupted[position] = data.draw(st.integers(0, 255))
    try:
        codecs.npy_decode(bytes(corrupted))
    except CodecError:
        pass


@FUZZ
@given(st.lists(st.lists(st.floats(allow_nan=False, width=64), min_size=3, max_size=3), min_size=1, max_size=5),
       st.data())
def test_fuzz_truncated_csv_and_json(rows, data):
    array = np.array(rows)
    for kind in (CSV, JSON, JSONLINES):
        body = bytes(codecs.encode(array, kind))
        cut = data.draw(st.integers(0, len(body)))
        try:
            codecs.decode(body[:cut], kind, as_array=True)
        except CodecError:
            pass
