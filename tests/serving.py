"""serving.py: a `vkseek serve` process for the Python tests (and tools/soak.py), and the
check of an OpenAI-style error reply."""
import atexit, http.client, json, shutil, signal, socket, subprocess, tempfile, time

from checks import check


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self, vk, key, *args, gallery=None, env=None, preexec_fn=None):
        self.key = key
        self.port = free_port()
        if gallery is None:  # a gallery of its own, gone when the test ends
            gallery = tempfile.mkdtemp(prefix="vkseek-gallery-")
            atexit.register(shutil.rmtree, gallery, True)
        self.gallery = gallery
        self.log = tempfile.TemporaryFile("w+")  # a pipe nobody reads would fill and block it
        self.p = subprocess.Popen([vk, "serve", "--port", str(self.port), "--gallery", self.gallery,
                                   *args], stderr=self.log, text=True, env=env,
                                  preexec_fn=preexec_fn)
        atexit.register(lambda: self.p.poll() is None and self.p.kill())  # a test that raised
        for _ in range(600):
            try:
                if self.get("/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.p.kill()
        raise SystemExit("the server did not come up: " + self.stderr()[-2000:])

    def request(self, method, path, body=None, key="", raw=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        h = {"Content-Type": "application/json", **(headers or {})}
        key = self.key if key == "" else key
        if key:
            h["Authorization"] = "Bearer " + key
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        out = r.read()
        c.close()
        return r.status, out, r.getheader("Content-Type") or ""

    def get(self, path, key=""):
        return self.request("GET", path, key=key)

    def post(self, path, body, **kw):
        s, out, t = self.request("POST", path, body, **kw)
        try:
            return s, json.loads(out)
        except ValueError:
            return s, out

    def stderr(self):
        """What the server has written to stderr so far."""
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = None
        return rc


def error_of(s, body, status, param=None, code=None, what=""):
    ok = (s == status and isinstance(body, dict) and "error" in body
          and isinstance(body["error"].get("message"), str) and body["error"]["message"]
          and "type" in body["error"])
    if ok and param is not None:
        ok = body["error"].get("param") == param
    if ok and code is not None:
        ok = body["error"].get("code") == code
    check(ok, f"{what}: want {status} (param {param}), got {s} {body}")
