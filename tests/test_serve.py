#!/usr/bin/env python3
"""test_serve.py: `vkseek serve` over real HTTP on the built-in model, as OpenAI clients use
it: chat (plain, streamed, with pictures), image generation, the gallery, models, health and
metrics; batching (concurrent requests answer as they do alone); authentication; every kind
of bad request getting the right status and an OpenAI-style error; the queue bound; a client
that disconnects freeing its slot; and a clean shutdown on SIGTERM.

usage: test_serve.py VKSEEK_BINARY   (run from tests/, with the validation layer on)"""
import base64, http.client, json, os, socket, sys, threading, time

from checks import check, summary
from serving import Server, error_of

VK = sys.argv[1]
KEY = "sekrit-key"


def chat(q, **kw):
    return {"messages": [{"role": "user", "content": q}], "temperature": 0, "max_tokens": 12, **kw}


def stream(srv, body):
    """The SSE events of a streamed chat, as parsed JSON (and the final "[DONE]")."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=300)
    c.request("POST", "/v1/chat/completions", json.dumps({**body, "stream": True}),
              {"Authorization": "Bearer " + KEY})
    r = c.getresponse()
    events = []
    for line in r.read().decode().split("\n"):
        if line.startswith("data: "):
            d = line[6:]
            events.append(d if d == "[DONE]" else json.loads(d))
    c.close()
    return r.status, r.getheader("Content-Type"), events


srv = Server(VK, KEY, "--api-key", KEY, "--max-batch", "6", "--queue", "16", "--max-body", "400000")
try:
    # health, models, authentication
    check(srv.get("/health", key=None)[0] == 200, "/health needs no key")
    s, out, _ = srv.get("/v1/models", key=None)
    error_of(s, json.loads(out), 401, what="no key")
    s, out, _ = srv.get("/v1/models", key="wrong")
    error_of(s, json.loads(out), 401, what="wrong key")
    s, out, _ = srv.get("/v1/models")
    models = json.loads(out)
    check(s == 200 and models["object"] == "list" and models["data"][0]["id"] == "vkseek-shapes",
          f"/v1/models: {out}")

    # a chat, then the same chat streamed: the same answer
    q = chat("what shapes are there?")
    s, a = srv.post("/v1/chat/completions", q)
    check(s == 200 and a["object"] == "chat.completion" and a["choices"][0]["message"]["role"] == "assistant"
          and a["choices"][0]["finish_reason"] in ("stop", "length")
          and a["usage"]["prompt_tokens"] > 10 and a["usage"]["completion_tokens"] >= 1,
          f"chat: {s} {a}")
    answer = a["choices"][0]["message"]["content"] if s == 200 else None
    s, ctype, ev = stream(srv, {**q, "stream_options": {"include_usage": True}})
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in ev
                   if isinstance(e, dict) and e.get("choices"))
    check(s == 200 and ctype.startswith("text/event-stream") and ev and ev[-1] == "[DONE]",
          f"stream framing: {s} {ctype} {ev[-1:] if ev else ev}")
    check(ev and ev[0]["object"] == "chat.completion.chunk" and ev[0]["choices"][0]["delta"].get("role") == "assistant",
          "the first chunk carries the role")
    check(text == answer, f"streamed text {text!r} equals the plain answer {answer!r}")
    fin = [e for e in ev if isinstance(e, dict) and e.get("choices") and e["choices"][0].get("finish_reason")]
    use = [e for e in ev if isinstance(e, dict) and e.get("usage")]
    check(len(fin) == 1 and len(use) == 1 and use[0]["usage"]["completion_tokens"] == a["usage"]["completion_tokens"]
          and use[0]["usage"]["prompt_tokens_details"]["cached_tokens"] > 0,
          f"one finish chunk and a usage chunk (the prompt came from the cache): {fin} {use}")
    s, st = srv.post("/v1/chat/completions", chat("what shapes are there?", stop=["zzz"], seed=3,
                                                  max_tokens=100000))
    check(s == 200, f"stop, seed and a max_tokens past the context accepted: {s} {st}")

    # images: URLs into the gallery, the PNG files, base64, the gallery page
    s, im = srv.post("/v1/images/generations",
                     {"prompt": "a large green star in the centre on a white background <b>", "n": 2, "seed": 5})
    check(s == 200 and len(im.get("data", [])) == 2, f"images: {s} {im}")
    urls = [d["url"] for d in im["data"]] if s == 200 else []
    pngs = []
    for u in urls:
        path = u[u.index("/gallery/"):]
        s, png, t = srv.get(path)
        check(s == 200 and t == "image/png" and png[:8] == b"\x89PNG\r\n\x1a\n" and b"green star" in png,
              f"{path}: a PNG with the prompt in it ({s} {t})")
        pngs.append(png)
    s, im1 = srv.post("/v1/images/generations",
                      {"prompt": "a large green star in the centre on a white background <b>", "seed": 5,
                       "response_format": "b64_json"})
    check(s == 200 and pngs and base64.b64decode(im1["data"][0]["b64_json"])[:8] == pngs[0][:8],
          "b64_json gives the PNG")
    check(s == 200 and pngs and base64.b64decode(im1["data"][0]["b64_json"]) != b"" and
          im1["data"][0]["revised_prompt"].startswith("a large green"), "revised_prompt")
    s, page, t = srv.get("/gallery")
    page = page.decode()
    check(s == 200 and t.startswith("text/html") and page.count("<figure>") == 3 and "&lt;b&gt;" in page
          and "<b>" not in page.split("</style>")[1] and "seed 5" in page,
          "the gallery page lists the images, prompts escaped")
    index = open(os.path.join(srv.gallery, "index.jsonl")).read().splitlines()
    check(len(index) == 3 and all(json.loads(l)["id"] + ".png" in os.listdir(srv.gallery) for l in index),
          "the index names the three files")

    # a question about a gallery picture and about an uploaded one
    gid = urls[0][urls[0].index("/gallery/"):] if urls else "/gallery/x.png"
    pic = {"type": "image_url", "image_url": {"url": gid}}
    s, a1 = srv.post("/v1/chat/completions",
                     {"messages": [{"role": "user", "content": [pic, {"type": "text", "text": "what colour is the star?"}]}],
                      "temperature": 0, "max_tokens": 4})
    up = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(pngs[0] if pngs else b"").decode()}}
    s2, a2 = srv.post("/v1/chat/completions",
                      {"messages": [{"role": "user", "content": [up, {"type": "text", "text": "what colour is the star?"}]}],
                       "temperature": 0, "max_tokens": 4})
    check(s == 200 and s2 == 200 and a1["choices"][0]["message"]["content"] == a2["choices"][0]["message"]["content"],
          f"a gallery URL and the same picture uploaded give one answer: {a1} {a2}")

    # concurrent requests are batched and answer as they do alone
    qs = [chat("what is at the top left?", max_tokens=10), chat("how many shapes?", max_tokens=10),
          chat("what colour is the circle?", max_tokens=10, temperature=0.9, seed=7)]
    alone = [srv.post("/v1/chat/completions", x)[1] for x in qs]
    got = [None] * 4
    def run(i):
        if i < 3:
            got[i] = srv.post("/v1/chat/completions", qs[i])[1]
        else:
            got[i] = srv.post("/v1/images/generations", {"prompt": "a small red circle at the top left", "seed": 9})
    ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    before = srv.get("/metrics")[1].decode()
    [t.start() for t in ts]
    [t.join() for t in ts]
    for i in range(3):
        check(got[i] and got[i]["choices"][0]["message"]["content"] == alone[i]["choices"][0]["message"]["content"],
              f"concurrent request {i} answers as alone: {got[i]} vs {alone[i]}")
    check(got[3][0] == 200, f"an image request among chats: {got[3]}")
    def metric(text, name):
        for l in text.splitlines():
            if l.startswith(name + " "):
                return float(l.split()[1])
        return -1
    # the counters are as of the scheduler's last step, which may end just after the replies
    for _ in range(100):
        metrics = srv.get("/metrics")[1].decode()
        if metric(metrics, "vkseek_running") == 0:
            break
        time.sleep(0.05)
    rows = metric(metrics, "vkseek_batched_rows_total") - metric(before, "vkseek_batched_rows_total")
    steps = metric(metrics, "vkseek_steps_total") - metric(before, "vkseek_steps_total")
    check(rows > steps > 0, f"steps carried several rows ({rows} rows in {steps} steps)")
    check(metric(metrics, "vkseek_images_total") == 4 and 'vkseek_http_responses_total{code="401"} 2' in metrics
          and metric(metrics, "vkseek_queue_depth") == 0, f"metrics count images, 401s and the queue: {metrics}")

    # bad requests
    bad = [
        ("/v1/chat/completions", b"{not json", 400, None, None, "malformed JSON"),
        ("/v1/chat/completions", {"model": "gpt-4", **chat("hi")}, 404, "model", "model_not_found", "unknown model"),
        ("/v1/chat/completions", {"messages": "hi"}, 400, "messages", None, "messages not an array"),
        ("/v1/chat/completions", {}, 400, "messages", None, "no messages"),
        ("/v1/chat/completions", {"messages": [{"role": "wizard", "content": "hi"}]}, 400, "messages", None, "bad role"),
        ("/v1/chat/completions", chat("hi", temperature="hot"), 400, "temperature", None, "temperature of the wrong type"),
        ("/v1/chat/completions", chat("hi", temperature=7), 400, "temperature", None, "temperature out of range"),
        ("/v1/chat/completions", chat("hi", max_tokens=0), 400, "max_tokens", None, "max_tokens of 0"),
        ("/v1/chat/completions", chat("<image_placeholder> hi"), 400, "messages", None, "a smuggled picture placeholder"),
        ("/v1/chat/completions", chat("hi", n=3), 400, "n", None, "n > 1"),
        ("/v1/chat/completions", chat("hi", stop=[1, 2]), 400, "stop", None, "stop of the wrong type"),
        ("/v1/chat/completions", chat("hi", stream="yes"), 400, "stream", None, "stream of the wrong type"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]}]},
         400, "messages", None, "bad base64"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(b"hello, not a picture").decode()}}]}]},
         400, "messages", None, "not an image"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]},
         400, "messages", None, "remote image URL"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "/gallery/../../etc/passwd"}}]}]},
         400, "messages", None, "gallery path traversal"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x" * 20000}]}, 400, None, None, "a prompt longer than the context"),
        ("/v1/images/generations", {"prompt": "a red circle", "size": "1024x1024"}, 400, "size", None, "size not native"),
        ("/v1/images/generations", {"prompt": "a red circle", "n": 4}, 400, "n", None, "n beyond the slots"),
        ("/v1/images/generations", {"prompt": ""}, 400, "prompt", None, "empty prompt"),
        ("/v1/images/generations", {"n": 1}, 400, "prompt", None, "no prompt"),
        ("/v1/images/generations", {"prompt": "x", "response_format": "gif"}, 400, "response_format", None, "bad format"),
        ("/v1/images/generations", {"prompt": "x", "cfg": "strong"}, 400, "cfg", None, "cfg of the wrong type"),
    ]
    for path, body, status, param, code, what in bad:
        if isinstance(body, bytes):
            s, out, _ = srv.request("POST", path, raw=body)
            out = json.loads(out)
        else:
            s, out = srv.post(path, body)
        error_of(s, out, status, param, code, what)
    s, out, _ = srv.request("POST", "/v1/chat/completions", raw=b"{" + b" " * 500000 + b"}")
    error_of(s, json.loads(out), 413, what="a body over --max-body")
    s, out, _ = srv.get("/v1/nothing")
    error_of(s, json.loads(out), 404, what="unknown route")
    s, out, _ = srv.get("/v1/chat/completions")
    error_of(s, json.loads(out), 405, what="GET on a POST route")
    for p in ["/gallery/../../etc/passwd", "/gallery/..%2f..%2fetc%2fpasswd", "/gallery/0123456789abcdef.png",
              "/gallery/index.jsonl"]:
        s, out, _ = srv.get(p)
        check(s == 404, f"{p}: 404, got {s}")

    # a client that disconnects mid-stream frees its slot
    c = socket.create_connection(("127.0.0.1", srv.port))
    body = json.dumps({"messages": [{"role": "user", "content": "tell me about the shapes"}],
                       "temperature": 1, "seed": 1, "max_tokens": 900, "stream": True}).encode()
    c.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() +
              b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    c.recv(100)
    c.close()
    running = -1
    for _ in range(100):
        running = metric(srv.get("/metrics")[1].decode(), "vkseek_running")
        if running == 0:
            break
        time.sleep(0.1)
    check(running == 0, f"the disconnected stream's request ended (running {running})")
    s, a = srv.post("/v1/chat/completions", chat("still there?"))
    check(s == 200, "the server serves on after a disconnect")
finally:
    rc = srv.stop()
    err = srv.stderr()
    check(rc == 0 and "shutting down" in err, f"SIGTERM: a clean exit (status {rc}): {err[-300:]}")
    check("validation:" not in err, f"no validation messages: {err[-500:]}")

# the queue bound: past it, 429
srv = Server(VK, KEY, "--max-batch", "2", "--queue", "2")
try:
    res = []
    def long(i):
        res.append(srv.post("/v1/chat/completions", chat("tell me everything", max_tokens=300, temperature=1, seed=i), key=None))
    ts = [threading.Thread(target=long, args=(i,)) for i in range(5)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    codes = sorted(r[0] for r in res)
    check(codes.count(429) >= 1 and codes.count(200) >= 2, f"a bounded queue answers 429 past it: {codes}")
    r429 = [r for r in res if r[0] == 429]
    if r429:
        error_of(429, r429[0][1], 429, code="queue_full", what="429 body")
    # in flight during SIGTERM: the request gets an answer (an error), the server exits cleanly
    out = []
    t = threading.Thread(target=lambda: out.append(srv.post("/v1/chat/completions",
                         chat("go on", max_tokens=900, temperature=1, seed=2), key=None)))
    t.start()
    time.sleep(1.0)
finally:
    rc = srv.stop()
    t.join(timeout=60)
    err = srv.stderr()
    check(rc == 0 and "validation:" not in err, f"SIGTERM with a request in flight: exit {rc}: {err[-500:]}")
    check(out and out[0][0] in (200, 503), f"the in-flight request got an answer: {out[:1]}")

sys.exit(summary("test_serve"))
