#!/usr/bin/python3
"""soak.py: runs `vkseek serve` on loopback for a while under mixed concurrent traffic, bad
requests included, and reports what it served, the errors by status, the server's peak RSS
early and late in the run, and whether it ever crashed.

usage: tools/soak.py [--vkseek build/vkseek] [--seconds 600] [--clients 4] [-- SERVE ARGS]
Exit status 0 when the server never crashed, answered every request with the status its
kind expects, exited 0 on SIGTERM, and its peak RSS in the last tenth of the run is within
5% of that in the second tenth (the first is warm-up: caches and scratch growing)."""
import argparse, base64, http.client, json, os, random, shutil, socket, struct, sys, threading
import time, zlib
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from serving import Server  # noqa: E402  (the tests' server process: start, log, stop)


def png(w, h, rgb):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + bytes(rgb) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PICTURE = "data:image/png;base64," + base64.b64encode(png(64, 64, (200, 30, 30))).decode()
QUESTIONS = ["what colour is the circle?", "what shape is at the top left?", "how many shapes are there?",
             "what is the background colour?", "is the star large or small?"]
CAPTIONS = ["a small red circle at the top left on a blue background",
            "a large green star in the centre on a white background",
            "two yellow squares on a black background"]


def chat(rnd, stream=False, picture=False):
    content = ([{"type": "image_url", "image_url": {"url": PICTURE}}, {"type": "text", "text": rnd.choice(QUESTIONS)}]
               if picture else rnd.choice(QUESTIONS))
    return {"messages": [{"role": "user", "content": content}], "max_tokens": rnd.randint(4, 24),
            "temperature": rnd.choice([0, 0.7, 1]), "stream": stream}


# kind -> (the status it must get, None: the client leaves; rnd -> (method, path, body))
KINDS = {
    "chat": (200, lambda r: ("POST", "/v1/chat/completions", chat(r))),
    "chat_stream": (200, lambda r: ("POST", "/v1/chat/completions", chat(r, stream=True))),
    "chat_picture": (200, lambda r: ("POST", "/v1/chat/completions", chat(r, picture=True))),
    "image": (200, lambda r: ("POST", "/v1/images/generations", {"prompt": r.choice(CAPTIONS),
                                                                 "n": r.randint(1, 2)})),
    "health": (200, lambda r: ("GET", "/health", None)),
    "metrics": (200, lambda r: ("GET", "/metrics", None)),
    "gallery": (200, lambda r: ("GET", "/gallery", None)),
    "bad_json": (400, lambda r: ("POST", "/v1/chat/completions", b"{\"messages\": [")),
    "bad_field": (400, lambda r: ("POST", "/v1/chat/completions", {**chat(r), "temperature": "hot"})),
    "bad_picture": (400, lambda r: ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo!!"}}]}]})),
    "wrong_model": (404, lambda r: ("POST", "/v1/chat/completions", {**chat(r), "model": "gpt-9"})),
    "wrong_method": (405, lambda r: ("GET", "/v1/chat/completions", None)),
    "no_route": (404, lambda r: ("GET", "/v2/everything", None)),
    "too_big": (413, lambda r: ("POST", "/v1/chat/completions", None)),  # declared, not sent
    "disconnect": (None, lambda r: ("POST", "/v1/chat/completions", {**chat(r, stream=True), "max_tokens": 64})),
}
WEIGHTS = {"chat": 6, "chat_stream": 4, "chat_picture": 3, "image": 2, "health": 1, "metrics": 1,
           "gallery": 1, "bad_json": 1, "bad_field": 1, "bad_picture": 1, "wrong_model": 1,
           "wrong_method": 1, "no_route": 1, "too_big": 1, "disconnect": 2}


def one(port, kind, rnd):
    """Sends one request of kind; the status it got (or an error string)."""
    method, path, body = KINDS[kind][1](rnd)
    if kind == "too_big":
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (path.encode(), 1 << 30))
            head = s.recv(64).split(b" ")
            return int(head[1]) if len(head) > 1 and head[1].isdigit() else "no status"
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        c.request(method, path, body=data, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        if kind == "disconnect":  # the first chunk, then go away mid-stream
            r.read1(64) if hasattr(r, "read1") else r.read(64)
            c.sock.close()
            return "disconnected"
        r.read()
        return r.status
    except (OSError, http.client.HTTPException) as e:
        return f"{type(e).__name__}"
    finally:
        c.close()


def rss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vkseek", default="build/vkseek")
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("serve_args", nargs="*")
    a = ap.parse_args()
    srv = Server(a.vkseek, None, *a.serve_args)
    port, p = srv.port, srv.p

    t0 = time.time()
    stop = t0 + a.seconds
    lock = threading.Lock()
    got = Counter()            # (kind, status)
    wrong = Counter()          # (kind, status) that is not what the kind must get
    samples = []               # (seconds, RSS kB)
    crashed = []

    def client(seed):
        rnd = random.Random(seed)
        kinds = [k for k, w in WEIGHTS.items() for _ in range(w)]
        while time.time() < stop and not crashed:
            kind = rnd.choice(kinds)
            status = one(port, kind, rnd)
            want = KINDS[kind][0]
            with lock:
                got[kind, status] += 1
                if (want is None and status != "disconnected") or (want is not None and status != want):
                    wrong[kind, status] += 1

    threads = [threading.Thread(target=client, args=(a.seed * 1000 + i,)) for i in range(a.clients)]
    for t in threads:
        t.start()
    while time.time() < stop:
        if p.poll() is not None:
            crashed.append(p.returncode)
            break
        samples.append((time.time() - t0, rss_kb(p.pid)))
        time.sleep(1)
    for t in threads:
        t.join()
    rc = srv.stop()  # None: it hung and was killed
    err = srv.stderr()

    def peak(lo, hi):
        v = [r for s, r in samples if lo * a.seconds <= s < hi * a.seconds and r]
        return max(v) if v else 0
    early, late = peak(0.1, 0.2), peak(0.9, 1.0)
    growth = (late - early) / early * 100 if early else float("inf")
    by_status = Counter()
    for (kind, status), n in got.items():
        by_status[status] += n
    served = sum(got.values())
    print(f"soak: {a.seconds:.0f} s, {a.clients} clients, {served} requests "
          f"({served / a.seconds:.2f}/s)")
    print("  by kind: " + ", ".join(f"{k} {sum(n for (kk, _), n in got.items() if kk == k)}" for k in KINDS))
    print("  by status: " + ", ".join(f"{s} {n}" for s, n in sorted(by_status.items(), key=str)))
    print(f"  peak RSS: {early / 1024:.1f} MiB early (10-20%), {late / 1024:.1f} MiB late (90-100%): "
          f"{growth:+.1f}%")
    print(f"  crashes: {len(crashed)}; exit on SIGTERM: {rc}")
    if wrong:
        print("  unexpected answers: " + ", ".join(f"{k} -> {s} x{n}" for (k, s), n in wrong.items()))
    if crashed or rc != 0:
        print(err[-3000:])
    shutil.rmtree(srv.gallery)
    sys.exit(0 if not crashed and rc == 0 and not wrong and growth <= 5 else 1)


if __name__ == "__main__":
    main()
