"""``Session.upload_data`` against SageMaker Python SDK v2's, over HTTP to one local moto server.

    python benchmarks/s3_transfer.py [--files 1000] [--big-mb 200] [--repeat 2]

Both upload the same 1,000-file folder and the same large file to the same moto server (a
separate process on a free loopback port); the peer runs in its own virtual environment
(``benchmarks/_peers.py``), timed inside its process so imports do not count. Prints the best
of ``--repeat`` runs and the ratio peer/ours (above 1: we are faster). moto is the server for
both, so absolute rates say more about moto than about S3; the ratio is the point.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _peers import peer_env, sagemaker_v2_python

PEER = r"""
import json, sys, time, boto3, sagemaker
folder, big, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
session = sagemaker.Session(boto_session=boto3.Session(region_name="us-east-1"), default_bucket="bench")
best = {}
for round_ in range(rounds):
    for label, path in (("folder", folder), ("big", big)):
        started = time.perf_counter()
        session.upload_data(path, bucket="bench", key_prefix=f"peer/{round_}/{label}")
        best[label] = min(best.get(label, 1e9), time.perf_counter() - started)
print(json.dumps(best))
"""


def start_moto():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ready = threading.Event()

    def watch():
        for line in server.stderr:
            if "Running on" in line:
                ready.set()
        ready.set()

    threading.Thread(target=watch, daemon=True).start()
    if not ready.wait(60) or server.poll() is not None:
        server.kill()
        sys.exit("moto_server did not start")
    return server, f"http://127.0.0.1:{port}"


def make_data(root, files, big_mb):
    folder = os.path.join(root, "folder")
    for index in range(files):
        path = os.path.join(folder, f"part-{index % 10}", f"file-{index:04d}.bin")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(os.urandom(4096))
    big = os.path.join(root, "big.bin")
    block = os.urandom(1 << 20)
    with open(big, "wb") as out:
        for _ in range(big_mb):
            out.write(block)
    return folder, big


def ours(url, folder, big, rounds):
    import boto3

    from framework_sdk.session import Session

    boto = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    session = Session(boto_session=boto, s3_client=boto.client("s3", endpoint_url=url))
    session.s3_client.create_bucket(Bucket="bench")
    best = {}
    for round_ in range(rounds):
        for label, path in (("folder", folder), ("big", big)):
            started = time.perf_counter()
            session.upload_data(path, bucket="bench", key_prefix=f"ours/{round_}/{label}")
            best[label] = min(best.get(label, 1e9), time.perf_counter() - started)
    return best


def peer(url, folder, big, rounds):
    env = dict(peer_env(), AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               SAGEMAKER_SUPPRESS_V2_WARNING="1")
    done = subprocess.run([sagemaker_v2_python(), "-c", PEER, folder, big, str(rounds)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--big-mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    server, url = start_moto()
    try:
        with tempfile.TemporaryDirectory() as root:
            folder, big = make_data(root, args.files, args.big_mb)
            mine = ours(url, folder, big, args.repeat)
            theirs = peer(url, folder, big, args.repeat)
    finally:
        server.terminate()
        server.wait(10)
    print(f"{'upload':<28}{'framework-sdk':>14}{'sagemaker v2':>14}{'ratio':>8}")
    for label, what in (("folder", f"{args.files} files x 4 KB"), ("big", f"1 file x {args.big_mb} MB")):
        print(f"{what:<28}{mine[label]:>13.2f}s{theirs[label]:>13.2f}s{theirs[label] / mine[label]:>7.1f}x")


if __name__ == "__main__":
    main()
