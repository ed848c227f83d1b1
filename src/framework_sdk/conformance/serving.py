"""The ``serve`` checks against one running container: readiness, payload types, bad requests, SIGTERM."""
import time

from framework_sdk import codecs
from framework_sdk.conformance.data import FEATURES, MALFORMED, _payloads
from framework_sdk.conformance.results import FAIL, PASS, SKIP, WARN

CONTAINER_PORT = "8080/tcp"
PAYLOAD_LIMIT_MB = 1
UNKNOWN_TYPE = "application/x-fsdk-conformance-unknown"

SERVE_PING = "serve: answers /ping"
SERVE_READY = "serve: /ping only when /invocations works"
SERVE_ANY_TYPE = "serve: handles at least one of CSV, JSON, NPY"
SERVE_STILL_SERVING = "serve: keeps serving after bad requests"
SERVE_CHECKS = (
    SERVE_PING, SERVE_READY, f"serve: handles {codecs.CSV}", f"serve: handles {codecs.JSON}",
    f"serve: handles {codecs.NPY}", SERVE_ANY_TYPE, "serve: 415 for an unknown content type",
    "serve: 400 for a malformed body", "serve: 400 for an empty body", "serve: 400 for the wrong number of features",
    "serve: 406 for an unknown Accept", f"serve: 413 over SAGEMAKER_MAX_PAYLOAD_IN_MB={PAYLOAD_LIMIT_MB}",
    SERVE_STILL_SERVING, "serve: /execution-parameters", "serve: stops on SIGTERM")


def _ok(status):
    return status is not None and 200 <= status < 300


class _Serving:
    """The checks against one running ``serve`` container."""

    def __init__(self, suite, container, http):
        self.suite, self.container, self.http = suite, container, http
        self.record = suite.record
        self.payloads = _payloads(suite.features)
        self.rows = len(suite.features)
        self.url = None
        self.kind = None  # a content type the server accepts: every control request uses it
        self.broken = None  # why later request checks cannot be judged (valid requests stopped working)

    def run(self):
        started = time.monotonic()
        if not self.wait_for_ping():
            return self.skip_rest(f"serve did not start (see {SERVE_PING!r}): fix that first")
        self.record(SERVE_PING, PASS, f"200 after {time.monotonic() - started:.1f} s")
        supported = self.check_readiness_and_types()
        if not supported:
            return self.skip_rest(f"no valid payload was answered (see {SERVE_ANY_TYPE!r}): fix that first")
        self.kind = supported[0]
        self.check_bad_requests()
        self.check_still_serving()
        if self.exited():
            return self.skip_rest(f"the server exited (code {self.exit_code()}) during the checks above: fix that "
                                  "first")
        self.check_execution_parameters()
        self.check_sigterm()

    def skip_rest(self, reason):
        self.suite.skip_undecided(SERVE_CHECKS, reason)

    # ---------------------------------------------------------------- helpers

    def exited(self):
        self.container.reload()
        return self.container.status in ("exited", "dead")

    def exit_code(self):
        return self.container.attrs["State"]["ExitCode"]

    def log_tail(self, lines=3):
        tail = self.container.logs(tail=lines).decode("utf-8", "replace").strip().replace("\n", " | ")
        return f" (log: {tail})" if tail else ""

    def post(self, body, content_type, accept=None):
        """``(status, content_type, body)`` of one ``/invocations``; status None when the connection failed."""
        import requests

        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        try:
            response = self.http.post(f"{self.url}/invocations", data=body, headers=headers, timeout=30)
        except requests.exceptions.RequestException as error:
            return None, "", str(error).encode()
        return response.status_code, response.headers.get("Content-Type", ""), response.content

    def post_each(self):
        """One valid request per content type; stops early when the server dies (the rest are missing)."""
        answers = {}
        for kind, body in self.payloads.items():
            answers[kind] = self.post(body, kind)
            if answers[kind][0] is None and self.exited():
                break
        return answers

    def wait_for_ping(self):
        import requests

        deadline = time.monotonic() + self.suite.timeout
        delay = 0.02
        while True:
            if self.url is None:
                self.container.reload()
                ports = (self.container.attrs["NetworkSettings"]["Ports"] or {}).get(CONTAINER_PORT)
                if ports:
                    self.url = f"http://127.0.0.1:{ports[0]['HostPort']}"
            if self.url is not None:
                try:
                    if self.http.get(f"{self.url}/ping", timeout=5).status_code == 200:
                        return True
                except requests.exceptions.RequestException:
                    pass
            if self.exited():
                self.record(SERVE_PING, FAIL, f"serve exited with code {self.exit_code()} before /ping answered 200"
                            + self.log_tail())
                return False
            if time.monotonic() > deadline:
                self.record(SERVE_PING, FAIL, f"no 200 from /ping within {self.suite.timeout} s" + self.log_tail())
                return False
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 1.5, 0.25)

    def retry_until_ok(self, body, content_type, bound=30.0):
        """Seconds until the request first succeeds, or None within ``bound``."""
        start = time.monotonic()
        delay = 0.05
        while time.monotonic() - start < bound and not self.exited():
            status, _, _ = self.post(body, content_type)
            if _ok(status):
                return time.monotonic() - start
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
        return None

    # ------------------------------------------------------------------ checks

    def check_readiness_and_types(self):
        """Right after the first /ping 200: every valid payload at once; returns the supported types."""
        answers = self.post_each()
        accepted = [kind for kind, answer in answers.items() if _ok(answer[0])]
        if accepted:
            self.record(SERVE_READY, PASS, f"a valid {accepted[0]} request got {answers[accepted[0]][0]} at the "
                        "first try after /ping's first 200")
        else:
            answers = self.judge_late_readiness(answers)

        supported = []
        for kind in self.payloads:
            check = f"serve: handles {kind}"
            if kind not in answers:
                self.record(check, SKIP, "the server exited on an earlier request (see above): fix that first")
                continue
            status, response_type, body = answers[kind]
            if status is None or status >= 500:
                self.record(check, FAIL, f"a valid {self.rows}-row payload got {status or 'no answer'}: "
                            f"{_snippet(body)}" + self.log_tail())
            elif status == 415:
                self.record(check, WARN, "not supported (415)")
            elif status >= 400:
                self.record(check, FAIL, f"a valid {self.rows}-row payload was rejected with {status}: "
                            f"{_snippet(body)}")
            else:
                supported.append(kind)
                self.record(check, *self.judge_answer(kind, response_type, body))
        if supported:
            self.record(SERVE_ANY_TYPE, PASS, "answered " + ", ".join(supported))
        elif len(answers) < len(self.payloads):
            self.record(SERVE_ANY_TYPE, SKIP, "the server exited before every type was tried: fix that first")
        else:
            self.record(SERVE_ANY_TYPE, FAIL, "no payload type was accepted")
        return supported

    def judge_late_readiness(self, answers):
        """No valid request worked at once: readiness fails when one works later, else it cannot be judged."""
        errors = {kind: answer for kind, answer in answers.items() if answer[0] is None or answer[0] >= 500}
        if not errors:
            self.record(SERVE_READY, SKIP, "every valid payload got a 4xx, so readiness cannot be judged: fix "
                        "that first")
            return answers
        kind, (status, _, body) = next(iter(errors.items()))
        later = self.retry_until_ok(self.payloads[kind], kind)
        if later is None:
            self.record(SERVE_READY, SKIP, f"no valid request succeeded, then or within 30 s ({kind}: "
                        f"{status or 'no answer'}), so readiness cannot be judged: fix that first")
            return answers
        self.record(SERVE_READY, FAIL, f"/ping answered 200 but /invocations ({kind}) answered "
                    f"{status or 'no connection'} ({_snippet(body)}) and only worked {later:.1f} s "
                    "later: answer /ping 200 only once the model is loaded")
        return self.post_each()

    def judge_answer(self, kind, response_type, body):
        if not body:
            return WARN, "200 with an empty body"
        answered = codecs.media_type(response_type) or "no Content-Type"
        if codecs.media_type(response_type) == codecs.CSV:
            lines = len(body.decode("utf-8", "replace").strip().splitlines())
            if lines != self.rows:
                return WARN, f"{self.rows} rows in, {lines} CSV lines out: expected one prediction per row"
            return PASS, f"200 {answered} for a valid {self.rows}-row payload, one prediction per row"
        return PASS, f"200 {answered} for a valid {self.rows}-row payload, {len(body)} bytes"

    def bad_request(self, name, body, content_type, wanted, what, accept=None, soft=False):
        """Send a bad request, then a valid one; record ``name`` (see :meth:`judge_bad_request`)."""
        if self.broken:
            return self.record(name, SKIP, self.broken)
        answer = self.post(body, content_type, accept)
        control = self.post(self.payloads[self.kind], self.kind)[0]
        if not _ok(control):
            self.broken = (f"a valid request after {what} got {control or 'no answer'}: the server stopped working "
                           f"(see {SERVE_STILL_SERVING!r}): fix that first")
        return self.judge_bad_request(name, answer, control, wanted, what, soft)

    def judge_bad_request(self, name, answer, control, wanted, what, soft):
        """``wanted`` passes when a valid request right after succeeds; another 4xx warns; 2xx fails (warns when
        ``soft``: a model may accept it); 5xx or a dropped connection fails; a 4xx with a failing valid request
        after it proves nothing and is skipped."""
        status, _, body = answer
        expected = "/".join(map(str, wanted))
        if _ok(status):
            if soft:
                return self.record(name, WARN, f"{status} for {what}: accepted")
            return self.record(name, FAIL, f"{status} for {what}: it was accepted; answer {expected} with a message")
        if status is None or status >= 500:
            return self.record(name, FAIL, f"{status or 'no answer'} for {what}: a client error must get a 4xx "
                               f"with a message, not a server error ({_snippet(body)})" + self.log_tail())
        if not _ok(control):
            return self.record(name, SKIP, f"{status} for {what}, but a valid request right after got "
                               f"{control or 'no answer'} too: the {status} is not about the input; fix that first")
        if status in wanted:
            return self.record(name, PASS, f"{status} for {what} ({_snippet(body)}), while a valid request right "
                               f"after got {control}")
        return self.record(name, WARN, f"{status} for {what}; SageMaker clients expect {expected}: {_snippet(body)}")

    def check_bad_requests(self):
        kind = self.kind
        self.bad_request("serve: 415 for an unknown content type", self.payloads[codecs.CSV], UNKNOWN_TYPE, (415,),
                         f"{UNKNOWN_TYPE} (a CSV body)")
        self.bad_request("serve: 400 for a malformed body", MALFORMED[kind], kind, (400, 422),
                         f"a malformed {kind} body")
        self.bad_request("serve: 400 for an empty body", b"", kind, (400, 422), f"an empty {kind} body")
        wide = [row + [1.0] for row in self.suite.features]
        self.bad_request("serve: 400 for the wrong number of features", _payloads(wide)[kind], kind, (400, 422),
                         f"rows of {FEATURES + 1} features", soft=True)
        self.bad_request("serve: 406 for an unknown Accept", self.payloads[kind], kind, (406,),
                         f"Accept: {UNKNOWN_TYPE}", accept=UNKNOWN_TYPE, soft=True)
        big = self.oversized(kind)
        self.bad_request(f"serve: 413 over SAGEMAKER_MAX_PAYLOAD_IN_MB={PAYLOAD_LIMIT_MB}", big, kind, (413,),
                         f"a {len(big) / 2**20:.1f} MB body", soft=True)

    def oversized(self, kind):
        """The valid rows repeated until the body is half as large again as the limit."""
        repeats = int(PAYLOAD_LIMIT_MB * 2**20 * 1.5 // len(self.payloads[codecs.CSV])) + 1
        return _payloads(self.suite.features * repeats)[kind]

    def check_still_serving(self):
        import requests

        if self.exited():
            self.record(SERVE_STILL_SERVING, FAIL, f"the server exited (code {self.exit_code()})" + self.log_tail())
            return
        try:
            ping = self.http.get(f"{self.url}/ping", timeout=10).status_code
        except requests.exceptions.RequestException as error:
            ping = f"no answer ({error.__class__.__name__})"
        status, _, body = self.post(self.payloads[self.kind], self.kind)
        if ping == 200 and _ok(status):
            self.record(SERVE_STILL_SERVING, PASS, f"/ping 200 and a valid request {status} after the bad requests")
        else:
            self.record(SERVE_STILL_SERVING, FAIL, f"afterwards /ping answered {ping}, a valid request "
                        f"{status or 'no answer'}" + self.log_tail())

    def check_execution_parameters(self):
        import requests

        name = "serve: /execution-parameters"
        try:
            response = self.http.get(f"{self.url}/execution-parameters", timeout=10)
        except requests.exceptions.RequestException as error:
            self.record(name, FAIL, f"no answer: {error}")
            return
        if response.status_code == 404:
            self.record(name, WARN, "404: not served; batch transform falls back to its own settings")
            return
        try:
            values = response.json()
            keys = {"MaxConcurrentTransforms", "BatchStrategy", "MaxPayloadInMB"} & set(values)
        except ValueError:
            keys = set()
        if response.status_code == 200 and keys:
            self.record(name, PASS, "200 with " + ", ".join(f"{key}={values[key]}" for key in sorted(keys)))
        else:
            self.record(name, WARN if response.status_code < 500 else FAIL,
                        f"{response.status_code}: expected JSON with MaxConcurrentTransforms, BatchStrategy, "
                        f"MaxPayloadInMB ({_snippet(response.content)})")

    def check_sigterm(self):
        import requests

        name = "serve: stops on SIGTERM"
        grace = 10
        self.http.close()  # no idle keep-alive connection for the server to wait on
        if self.exited():  # a crash is no answer to SIGTERM
            self.record(name, SKIP, f"the server had exited already (code {self.exit_code()}): fix that first")
            return
        started = time.monotonic()
        try:
            self.container.stop(timeout=grace)  # SIGTERM, then SIGKILL after the grace period
        except requests.exceptions.RequestException as error:
            self.record(name, FAIL, f"the engine did not confirm the stop: {error}")
            return
        self.container.reload()
        code = self.exit_code()
        took = time.monotonic() - started
        if took >= grace or code == 137:
            self.record(name, WARN, f"ignored SIGTERM and was killed after {grace} s: SageMaker stops "
                        "endpoints with SIGTERM; exit on it (exec the server so it is PID 1)")
        else:
            self.record(name, PASS, f"a running server exited with code {code} {took:.1f} s after SIGTERM")


def _snippet(body, limit=80):
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    text = " ".join(text.split())
    return repr(text[:limit] + ("..." if len(text) > limit else ""))
