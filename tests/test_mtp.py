#!/usr/bin/env python3
"""test_mtp.py: speculative decoding with DeepSeek V3's multi-token prediction layer
(`--speculative mtp`) is lossless. Two small checkpoints with an MTP layer, made by
tools/gen_checkpoint.py: one random, whose drafts are nearly all rejected, and one --bigram,
whose layers add nothing, so its MTP layer drafts exactly the token the model will predict
next. On both the output equals plain decoding's: greedy and sampled (temperature, top-k,
repetition penalty), up to the end of a small context, in a two-turn chat (the second turn
reuses the cached prefix) and through the server with several requests in one batch (rows
at different positions verified in one step). On the bigram one every greedy draft is
accepted: the MTP wiring (embedding, enorm/hnorm, eh_proj's [embedding; hidden] order, its
decoder layer and cache, the shared head) computes what it should.

usage: test_mtp.py VKSEEK_BINARY SOURCE_DIR"""
import os, re, shutil, subprocess, sys, tempfile, threading

from checks import check, summary
from serving import Server

VK, SRC = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="vkseek-mtp-")
SPEC = ["--speculative", "mtp"]
SAMPLINGS = {"greedy": ["--temp", "0"],
             "sampled": ["--temp", "0.9", "--seed", "7", "--top-k", "40", "--repeat-penalty", "1.1"]}


def make(name, *flags):
    d = os.path.join(TMP, name)
    subprocess.run(["/usr/bin/python3", os.path.join(SRC, "tools", "gen_checkpoint.py"),
                    "deepseek-v3-tiny", d, "--mtp", *flags], check=True, capture_output=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(SRC, "tests", "data", "tiny-chat", f), d)
    return d


def run(args, stdin=None):
    p = subprocess.run([VK, *args], input=stdin, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def drafts(err):
    m = re.search(r"MTP drafts accepted (\d+) of (\d+)", err)
    return (int(m.group(1)), int(m.group(2))) if m else None


def same_as_plain(what, args, stdin=None):
    """Runs args plain and speculative; their outputs must match. The drafts (accepted,
    checked) of the speculative run, or None."""
    rc0, out0, err0 = run(args, stdin)
    rc1, out1, err1 = run(args + SPEC, stdin)
    check(rc0 == 0 and rc1 == 0, f"{what}: exit {rc0}, {rc1}: {err0[-300:]} {err1[-300:]}")
    # the answer, and the reasoning on stderr, without the statistics lines
    out0, out1 = (o + re.sub(r"(?m)^vkseek: prompt .*$", "", e) for o, e in ((out0, err0), (out1, err1)))
    check(out0 == out1 and len(out0.strip()) > 10,
          f"{what}: speculative output differs:\n{out0!r}\n{out1!r}")
    return drafts(err1)


def main():
    rand, bigram = make("random"), make("bigram", "--bigram")
    for model in (rand, bigram):
        name = os.path.basename(model)
        for sname, sargs in SAMPLINGS.items():
            d = same_as_plain(f"{name} {sname}", ["run", "--model", model, "--raw", "-p",
                                                  "Hello there, how are you", "-n", "80", *sargs])
            check(d is not None and d[1] > 0, f"{name} {sname}: no MTP drafts reported")
            if name == "bigram" and sname == "greedy":
                check(d is not None and d[0] == d[1], f"bigram greedy: drafts {d}: all must be "
                                                      "accepted (an exact drafter)")
        # a context that ends mid-answer: the last steps cannot fit a draft
        same_as_plain(f"{name} end of context", ["run", "--model", model, "--raw", "-p", "Hi",
                                                 "--ctx", "21", "-n", "100", "--temp", "0"])
        same_as_plain(f"{name} two-turn chat", ["chat", "--model", model, "-n", "30", "--temp",
                                                "0"], stdin="hello there\nand then?\n")
    # the server: four requests in flight together, each as when alone and plain
    prompts = ["one", "two three", "a longer question about four things", "five"]
    answers = {}
    for spec in ([], SPEC):
        sv = Server(VK, None, "--model", bigram, "--max-batch", "4", *spec)
        out = [None] * len(prompts)

        def ask(i):
            out[i] = sv.post("/v1/chat/completions", {
                "messages": [{"role": "user", "content": prompts[i]}],
                "max_tokens": 24 + 8 * i, "temperature": 0})

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(prompts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        metrics = sv.get("/metrics")[1].decode()
        check(sv.stop() == 0, f"server {spec}: exit status")
        check(all(o and o[0] == 200 for o in out), f"server {spec}: {out}")
        msgs = [o[1]["choices"][0]["message"] if o and o[0] == 200 else {} for o in out]
        answers[bool(spec)] = [(m.get("reasoning_content"), m.get("content")) for m in msgs]
        check(all(len("".join(filter(None, a))) > 10 for a in answers[bool(spec)]),
              f"server {spec}: empty answers {answers[bool(spec)]}")
        m = re.search(r"vkseek_mtp_accepted_total (\d+)", metrics)
        if spec:
            check(m and int(m.group(1)) > 0, "server: no accepted drafts in /metrics")
            rows = re.search(r"vkseek_batched_rows_total (\d+)", metrics)
            steps = re.search(r"vkseek_steps_total (\d+)", metrics)
            check(rows and steps and int(rows.group(1)) > 1.5 * int(steps.group(1)),
                  f"server: the requests were not decoded together: {metrics}")
    check(answers[False] == answers[True],
          f"server: speculative answers differ:\n{answers[False]}\n{answers[True]}")
    # errors
    rc, _, err = run(["run", "--model", os.path.join(SRC, "tests", "data", "tiny-chat"), "-p",
                      "hi", *SPEC])
    lines = err.strip().splitlines()
    check(rc != 0 and len(lines) == 1 and "multi-token prediction" in lines[0],
          f"no MTP layer: exit {rc}, {err!r}")
    rc, _, err = run(["run", "--model", rand, "-p", "hi", "--speculative", "eagle"])
    check(rc != 0 and "mtp" in err, f"--speculative eagle: exit {rc}, {err!r}")
    shutil.rmtree(TMP)
    return summary("test_mtp")


if __name__ == "__main__":
    sys.exit(main())
