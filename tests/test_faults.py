#!/usr/bin/env python3
"""test_faults.py: vkseek under faults, on the built-in model.
- Device memory runs out ($VKSEEK_DEVICE_MEMORY makes the device that small): the CLI stops
  with one line naming the allocation; the server answers that request with a JSON error and
  serves the next one.
- The disk fills (RLIMIT_FSIZE: writes fail with EFBIG, as with ENOSPC) or the directory is
  read-only, when `generate` saves a picture and when the server saves a gallery picture or
  appends its index line: an error, no file or temporary left, the index unchanged.
- SIGINT during `generate`: nothing written.
- Clients that send slowly or go idle: others are served meanwhile; idle ones are dropped
  after --timeout.

usage: test_faults.py VKSEEK_BINARY   (run with the validation layer on)"""
import json, os, re, resource, signal, socket, subprocess, sys, tempfile, threading, time

from checks import check, summary
from serving import Server, error_of

VK = sys.argv[1]
PROMPT = "a small red circle at the top left on a blue background"


def run(args, env=None, preexec_fn=None, prefix=()):
    p = subprocess.run([*prefix, VK, *args], capture_output=True, text=True, timeout=600,
                       env={**os.environ, **(env or {})}, preexec_fn=preexec_fn)
    return p.returncode, p.stdout, p.stderr


def file_limit(nbytes):
    """A child whose files cannot grow past nbytes: writes beyond fail (EFBIG)."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return limit


def one_line_error(rc, err, what, *words):
    lines = [l for l in err.splitlines() if l.strip() and "validation" not in l]
    check(rc != 0 and len(lines) == 1 and all(w in lines[0] for w in words),
          f"{what}: exit {rc}, want one line with {words}: {err[-600:]!r}")


def metric(srv, name):
    s, out, _ = srv.get("/metrics")
    m = re.search(rf"^{name} (\d+)", out.decode(), re.M)
    return int(m.group(1)) if m else None


def chat(words, max_tokens=3):
    return {"messages": [{"role": "user", "content": " ".join(["word"] * words)}],
            "max_tokens": max_tokens, "temperature": 0}


def gallery_state(d):
    """The gallery's files and its index lines; every line names a PNG that exists."""
    files = sorted(os.listdir(d))
    index = open(f"{d}/index.jsonl", "rb").read() if os.path.exists(f"{d}/index.jsonl") else b""
    ids = [json.loads(l)["id"] for l in index.decode().splitlines()]
    check(all(f"{i}.png" in files for i in ids), f"every index line names a saved picture: {ids} {files}")
    return files, index


tmp = tempfile.mkdtemp(prefix="vkseek-faults-")

# ---- device memory ----
out = f"{tmp}/oom.png"
rc, _, err = run(["generate", PROMPT, "-o", out], env={"VKSEEK_DEVICE_MEMORY": "4M"})
one_line_error(rc, err, "generate on a 4 MiB device", "device memory", "MiB")
check(not os.listdir(tmp), f"out of device memory: nothing written ({os.listdir(tmp)})")
rc, _, err = run(["generate", PROMPT, "-o", out], env={"VKSEEK_DEVICE_MEMORY": "lots"})
one_line_error(rc, err, "a bad VKSEEK_DEVICE_MEMORY", "VKSEEK_DEVICE_MEMORY")

# The model alone (with its planned scratch), then room for a short prompt's activations but
# not a long one's (the built-in model's take about 17 kB a token, `vkseek bench text`: 5.0 MB
# for 300 tokens; with the chat template a 10-word chat is 134 tokens, 2.3 MB, and a 225-word
# one about 350, 6 MB).
srv = Server(VK, None)
loaded = metric(srv, "vkseek_device_memory_bytes")
check(srv.stop() == 0 and loaded and loaded > 1 << 20, f"device memory after loading: {loaded}")
srv = Server(VK, None, env={**os.environ, "VKSEEK_DEVICE_MEMORY": str(loaded + (4 << 20))})
try:
    s, body = srv.post("/v1/chat/completions", chat(225))
    error_of(s, body, 500, what="a prompt past the device's memory")
    msg = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
    check("device memory" in msg and "MiB" in msg, f"the error names the allocation: {msg}")
    s, body = srv.post("/v1/chat/completions", chat(10))
    check(s == 200 and body["choices"][0]["finish_reason"] in ("stop", "length"),
          f"the next request is served: {s} {body}")
    check(srv.get("/health")[0] == 200, "healthy after running out of device memory")
finally:
    check(srv.stop() == 0, "a clean exit after running out of device memory")

# ---- disk full and read-only, from the CLI ----
d = f"{tmp}/full"
os.mkdir(d)
rc, _, err = run(["generate", PROMPT, "-o", f"{d}/x.png"], preexec_fn=file_limit(1000))
one_line_error(rc, err, "generate onto a full disk", f"{d}/x.png", "File too large")
check(not os.listdir(d), f"disk full: no file or temporary left ({os.listdir(d)})")

d = f"{tmp}/ro"
os.mkdir(d)
os.chmod(d, 0o555)
prefix, env = (), None
if os.geteuid() == 0:  # root writes anywhere: run as nobody, with a home of its own
    home = f"{tmp}/home"
    os.mkdir(home)
    os.chmod(home, 0o777)
    os.chmod(tmp, 0o755)
    prefix, env = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"), {"HOME": home}
rc, _, err = run(["generate", PROMPT, "-o", f"{d}/x.png"], env=env, prefix=prefix)
one_line_error(rc, err, "generate into a read-only directory", f"{d}/x.png", "Permission denied")
check(not os.listdir(d), f"read-only: nothing left ({os.listdir(d)})")

# ---- SIGINT during generate ----
d = f"{tmp}/sigint"
os.mkdir(d)
p = subprocess.Popen([VK, "generate", PROMPT, "-n", "4", "-o", f"{d}/x.png"], stderr=subprocess.PIPE, text=True)
for _ in range(6000):  # until its SIGINT handler is in place (the model has loaded)
    caught = [l for l in open(f"/proc/{p.pid}/status") if l.startswith("SigCgt:")]
    if caught and int(caught[0].split()[1], 16) & 1 << (signal.SIGINT - 1) or p.poll() is not None:
        break
    time.sleep(0.01)
p.send_signal(signal.SIGINT)
rc, err = p.wait(timeout=120), p.stderr.read()
check(rc == 1 and "interrupted; nothing written" in err and not os.listdir(d),
      f"SIGINT during generate: exit {rc}, files {os.listdir(d)}: {err[-300:]!r}")

# ---- the gallery on a full disk ----
# first a gallery whose index is bigger than a new picture: pictures with long prompts
srv = Server(VK, None)
try:
    for i in range(3):
        # about 730 prompt tokens: with the picture's 256 codes, within the model's 1024 positions
        s, body = srv.post("/v1/images/generations", {"prompt": f"{i} " + "a red circle " * 240, "seed": i})
        check(s == 200, f"a long-prompt picture: {s}")
finally:
    srv.stop()
g = srv.gallery
files, index = gallery_state(g)
short = f"{tmp}/short.png"
run(["generate", PROMPT, "-o", short])
check(1000 < os.path.getsize(short) < len(index),
      f"the index ({len(index)} bytes) is bigger than a short prompt's picture ({os.path.getsize(short)})")


def full_disk(limit, what, why):
    """An image request with files limited to `limit` bytes: a 500 saying `why`, the gallery
    unchanged, chat still served."""
    srv = Server(VK, None, gallery=g, preexec_fn=file_limit(limit))
    try:
        s, body = srv.post("/v1/images/generations", {"prompt": PROMPT})
        error_of(s, body, 500, what=f"{what} onto a full disk")
        msg = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
        check(why in msg, f"{what}: the error says why ({why}): {msg}")
        check(gallery_state(g) == (files, index), f"no room for {what}: the gallery is unchanged")
        s, body = srv.post("/v1/chat/completions", chat(5))
        check(s == 200, f"chat is served with the disk full: {s}")
    finally:
        check(srv.stop() == 0, f"a clean exit after no room for {what}")


full_disk(1000, "the picture", "File too large")
full_disk(len(index), "the index line", "index")  # the picture is written, then removed again

# ---- slow and idle clients ----
srv = Server(VK, None, "--timeout", "5")
try:
    body = json.dumps(chat(5)).encode()
    slow = socket.create_connection(("127.0.0.1", srv.port))
    slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body))

    def trickle():  # 8 bytes a second: slow, never idle for --timeout
        for i in range(0, len(body), 8):
            slow.sendall(body[i:i + 8])
            time.sleep(1)
    t = threading.Thread(target=trickle)
    t.start()
    s, answer = srv.post("/v1/chat/completions", chat(5))
    check(s == 200 and t.is_alive(), f"served while another client sends slowly: {s}")
    t.join()
    reply = slow.recv(65536)
    check(reply.startswith(b"HTTP/1.1 200"), f"a slow sender is answered in the end: {reply[:80]!r}")
    slow.close()
    idle = socket.create_connection(("127.0.0.1", srv.port))
    idle.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    idle.settimeout(60)
    t0 = time.time()
    try:
        gone = idle.recv(100) == b""
    except OSError:
        gone = True
    check(gone and 4 < time.time() - t0 < 20, f"an idle client is dropped after --timeout ({time.time() - t0:.1f} s)")
    idle.close()
finally:
    check(srv.stop() == 0, "a clean exit after slow clients")

subprocess.run(["rm", "-rf", tmp])
sys.exit(summary("test_faults"))
