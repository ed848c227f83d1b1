"""A local batch transform: one model server, records split and packed, responses assembled.

Follows SageMaker's batch contract: ``GET /execution-parameters`` supplies defaults
for ``MaxConcurrentTransforms``, ``BatchStrategy`` and ``MaxPayloadInMB``; each input
file ``x`` yields ``x.out`` under ``S3OutputPath`` (``file://`` or ``s3://``).
"""
import collections
import concurrent.futures
import json
import threading

from framework_sdk import contract
from framework_sdk.local import runs
from framework_sdk.local.errors import LocalModeError
from framework_sdk.local.serving import ModelServers
from framework_sdk.local.storage import join

MB = 1024 * 1024


def split_records(data, split_type):
    """The records of one input file: lines for ``Line`` (empty lines dropped), the whole file for ``None``."""
    if split_type in (None, contract.NONE):
        return [data] if data else []
    if split_type == contract.LINE:
        return [line for line in data.splitlines() if line.strip()]
    raise LocalModeError(f"SplitType {split_type!r} is not supported locally; use 'Line' or 'None'")


def pack(records, strategy, max_payload_bytes, source):
    """Group records into request bodies: one each (``SingleRecord``) or newline-joined up to the limit."""
    batches, current, size = [], [], 0
    for number, record in enumerate(records):
        if len(record) > max_payload_bytes:
            raise LocalModeError(
                f"record {number + 1} of {source} is {len(record)} bytes, more than MaxPayloadInMB="
                f"{max_payload_bytes // MB}; raise max_payload or split the input into smaller records")
        added = len(record) + (1 if current else 0)
        if strategy == contract.SINGLE_RECORD or (current and size + added > max_payload_bytes):
            if current:
                batches.append(b"\n".join(current))
            current, size = [], 0
            added = len(record)
        current.append(record)
        size += added
    if current:
        batches.append(b"\n".join(current))
    return batches


def assemble(responses, assemble_with):
    if assemble_with == contract.LINE:
        return b"".join(r if r.endswith(b"\n") else r + b"\n" for r in responses)
    return b"".join(responses)


class TransformJob:
    """One local ``CreateTransformJob``, run in a thread; ``describe()`` answers like ``DescribeTransformJob``."""

    def __init__(self, request, model, backend, storage, work_dir=None, serving_port=None):
        self.request = request
        self.name = request["TransformJobName"]
        self.model = model
        self.backend = backend
        self.storage = storage
        self.work_dir = work_dir
        self.serving_port = serving_port
        self.done = threading.Event()
        self.error = None
        self.servers = None
        self._stop_reason = None
        self.status = {"TransformJobStatus": "InProgress", "CreationTime": runs.utc_now()}
        self.logs = runs.LogBook()

    def start(self):
        container = self.model.get("PrimaryContainer") or (self.model.get("Containers") or [{}])[0]
        self.backend.check_image(container.get("Image", ""))
        runs.track(self)
        threading.Thread(target=self._run, name=f"local-transform-{self.name}", daemon=True).start()
        return self

    def stop(self, reason="stopped by stop_transform_job"):
        self._stop_reason = reason
        if self.servers is not None:
            self.servers.stop()
        self.done.wait(60)

    def describe(self):
        request = {k: v for k, v in self.request.items() if k != "TransformJobName"}
        return {"TransformJobName": self.name,
                "TransformJobArn": f"arn:aws:sagemaker:local:000000000000:transform-job/{self.name}",
                **request, **self.status}

    def _run(self):
        scratch = runs.new_root(self.name, self.work_dir)
        try:
            self.status["TransformStartTime"] = runs.utc_now()
            resources = self.request.get("TransformResources", {})
            self.servers = ModelServers(self.name, self.model, 1, self.backend, self.storage,
                                        instance_type=resources.get("InstanceType", contract.LOCAL),
                                        work_dir=self.work_dir, serving_port=self.serving_port,
                                        environment=self.request.get("Environment"))
            self.servers.logs = self.logs
            self.servers.start()
            self._transform(self.servers.urls[0], scratch)
            self.status["TransformJobStatus"] = "Completed"
        except BaseException as error:
            self.error = error
            stopped = self._stop_reason is not None
            self.status.update(TransformJobStatus="Stopped" if stopped else "Failed",
                               FailureReason=self._stop_reason if stopped else str(error))
        finally:
            if self.servers is not None:
                self.servers.stop()
            runs.remove_tree(scratch)
            self.status["TransformEndTime"] = runs.utc_now()
            runs.untrack(self)
            self.done.set()

    def _settings(self, pool):
        """The request's settings, with the server's ``/execution-parameters`` for what it leaves out."""
        response = pool.request("GET", contract.EXECUTION_PARAMETERS)
        advised = {}
        if response.status == 200:
            try:
                advised = json.loads(response.data)
            except ValueError:
                advised = {}
        request = self.request
        payload = next((source["MaxPayloadInMB"] for source in (request, advised)
                        if source.get("MaxPayloadInMB") is not None),
                       contract.DEFAULT_MAX_PAYLOAD_MB)  # 0: no limit but ours
        return (int(request.get("MaxConcurrentTransforms") or advised.get("MaxConcurrentTransforms") or 1),
                request.get("BatchStrategy") or advised.get("BatchStrategy") or contract.MULTI_RECORD,
                int(payload))

    def _transform(self, url, scratch):
        import urllib3

        transform_input = self.request["TransformInput"]
        output = self.request["TransformOutput"]
        source = transform_input["DataSource"]["S3DataSource"]["S3Uri"]
        pool = urllib3.connectionpool.connection_from_url(url, maxsize=1, retries=False, timeout=300)
        concurrency, strategy, max_payload = self._settings(pool)
        pool.close()
        pool = urllib3.connectionpool.connection_from_url(url, maxsize=concurrency, retries=False, timeout=300)
        max_payload_bytes = max_payload * MB if max_payload else 100 * MB
        headers = {"Content-Type": transform_input.get("ContentType") or contract.OCTET_STREAM}
        if output.get("Accept"):
            headers["Accept"] = output["Accept"]

        def send(item):
            name, body = item
            response = pool.urlopen("POST", contract.INVOCATIONS, body=body, headers=headers)
            if response.status >= 400:
                raise LocalModeError(f"the model server answered "
                                     f"{response.status} for a request from {name}: "
                                     f"{response.data.decode('utf-8', 'replace')[:2000]}")
            return response.data

        files = self.storage.list_files(source, scratch / "input")
        if not files:
            raise LocalModeError(f"{source} holds no input files")
        executor = concurrent.futures.ThreadPoolExecutor(concurrency)
        try:
            # Files are read ahead while earlier ones are answered, so many small files keep
            # MaxConcurrentTransforms requests in flight too; at most that many files wait in memory.
            pending = collections.deque()
            for relative, path in files:
                records = split_records(path.read_bytes(), transform_input.get("SplitType"))
                bodies = pack(records, strategy, max_payload_bytes, relative)
                pending.append((relative, [executor.submit(send, (relative, body)) for body in bodies]))
                while len(pending) > concurrency:
                    self._write(*pending.popleft(), scratch)
            while pending:
                self._write(*pending.popleft(), scratch)
        finally:
            executor.shutdown(cancel_futures=True)
        pool.close()

    def _write(self, relative, answers, scratch):
        """Assemble the answers for input file ``relative`` into ``relative.out`` under ``S3OutputPath``."""
        output = self.request["TransformOutput"]
        result = scratch / "out" / f"{relative}.out"
        result.parent.mkdir(parents=True, exist_ok=True)
        result.write_bytes(assemble([answer.result() for answer in answers], output.get("AssembleWith")))
        self.storage.put(result, join(output["S3OutputPath"], f"{relative}.out"))
