"""5,000 malformed requests interleaved with valid ones: 4xx for each bad one, right answers for the
good ones, no worker restarts, bounded memory."""
import json
import random

import numpy as np

from framework_sdk import codecs
from test_serving_support import ServerProcess, rss_kib, write_model

MALFORMED = 5000


def malformed_bodies(rng):
    """(body, content type) pairs that no codec may accept, cycling through the kinds the issue names."""
    good_npy = bytes(codecs.npy_encode(np.ones((2, 16), np.float32)))
    object_npy = (b"\x93NUMPY\x01\x00" + b"v\x00" + b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
                  .ljust(117, b" ") + b"\n" + b"\x80\x04\x95" + b"cos\nsystem\n" * 3)
    huge_shape = (b"\x93NUMPY\x01\x00" + b"v\x00" + b"{'descr': '<f4', 'fortran_order': False, "
                  b"'shape': (1000000, 1000000), }".ljust(117, b" ") + b"\n" + b"\x00" * 64)
    fixed = [
        (good_npy[:len(good_npy) // 2], codecs.NPY),          # truncated NPY
        (object_npy, codecs.NPY),                             # would unpickle
        (huge_shape, codecs.NPY),                             # a 10^12-element shape
        (b'[[1.0, "\xff\xfe"]]', codecs.JSON),                # invalid UTF-8 JSON
        (b"1,2,3\n4,5\n6,7,8\n", codecs.CSV),                 # ragged CSV
        (b"[1, 2]\n{oops\n", codecs.JSONLINES),              # a bad JSON line
    ]
    while True:
        yield from fixed
        for content_type in codecs.SUPPORTED:                  # random bytes under each content type
            yield bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))), content_type


def test_malformed_requests_never_hurt_the_server(tmp_path):
    W = write_model(tmp_path, code="import numpy as np\ndef model_fn(d):\n    return np.load(d + '/W.npy')\n"
                                   "def predict_fn(x, W):\n    return np.asarray(x, dtype=np.float32) @ W\n")
    rng = random.Random(7)
    x = np.arange(32, dtype=np.float32).reshape(2, 16)
    expected = (x @ W).tolist()
    valid_body = json.dumps(x.tolist())
    with ServerProcess(tmp_path, workers=2) as server:
        server.wait_ready()
        pids = server.worker_pids()
        bodies = malformed_bodies(rng)
        statuses = {}
        memory_after_warmup = None
        for count in range(1, MALFORMED + 1):
            body, content_type = next(bodies)
            status, _, answer = server.invoke(body, content_type)
            assert 400 <= status < 500, (status, content_type, body[:80], answer)
            statuses[status] = statuses.get(status, 0) + 1
            if count % 10 == 0:
                status, _, answer = server.invoke(valid_body, codecs.JSON)
                assert status == 200 and json.loads(answer) == expected
            if count == 500:
                memory_after_warmup = {pid: rss_kib(pid) for pid in pids.values()}
        memory_after = {pid: rss_kib(pid) for pid in pids.values()}
        assert server.worker_pids() == pids and "starting a replacement" not in server.log
        for pid, before in memory_after_warmup.items():
            assert memory_after[pid] - before < 16 * 1024, (memory_after_warmup, memory_after)
        assert set(statuses) <= {400, 415} and statuses[400] > 0
