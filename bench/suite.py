#!/usr/bin/python3
"""suite.py: the whole benchmark suite in one command, its figures beside the previous ones.

  bench/suite.py [--vkseek BIN] [--only ops,text,mtp,image,load,tokenizer] [--quick]
                 [--dir CACHE] [--save]

Runs `vkseek bench ...` on random-weight checkpoints with the published shapes (made once by
tools/gen_checkpoint.py into CACHE, default $VKSEEK_BENCH_DIR or ~/.cache/vkseek/bench; the
full set takes about 25 GB) and prints every figure with the baseline's (bench/baseline.json)
and the change; a change for the worse beyond 10% is marked "!". --save makes this run the
baseline. --quick: shorter prompts and generations, images at n=1 only (figures then differ
from the full run's by their definition: compare quick runs with quick runs).

Debian's python3 only (and numpy for tools/gen_checkpoint.py)."""
import argparse, datetime, json, os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BASELINE = os.path.join(HERE, "baseline.json")
QUANTS = ("f16", "q8_0", "q4_0")
# name: (gen_checkpoint arguments, what it is)
CHECKPOINTS = {
    "janus-pro-1b-lm": (["janus-pro-1b-lm"], "Janus-Pro-1B's language model"),
    "v2-lite-4": (["deepseek-v2-lite", "--layers", "4"], "DeepSeek-V2-Lite, 4 of 27 layers"),
    "v2-lite-4-mtp-bigram": (["deepseek-v2-lite", "--layers", "4", "--mtp", "--bigram"],
                             "V2-Lite shapes, 4 layers + an MTP layer, exact drafts"),
    "v3-tiny-mtp": (["deepseek-v3-tiny", "--mtp"], "a tiny DeepSeek-V3 with a random MTP layer"),
    "janus-pro-1b": (["janus-pro-1b"], "Janus-Pro-1B, all towers"),
}
# (pattern, metric name template, higher is better); groups of a pattern fill the name
PARSERS = {
    "ops": [(r"host memory bandwidth\s+([\d.]+) GB/s", "host memcpy GB/s", True),
            (r"device copy\s+([\d.]+) GB/s", "device copy GB/s", True)],
    "text": [(r"prefill\s+\d+ tokens\s+([\d.]+) tokens/s", "prefill tokens/s", True),
             (r"decode\s+\d+ tokens\s+([\d.]+) tokens/s", "decode tokens/s", True),
             (r"decode reaches (\d+)%", "decode % of bound", True),
             (r"MB weights and caches, peak [\d.]+ MB: ([\d.]+) MB", "working memory MB", False)],
    "mtp": [(r"decode\s+\d+ tokens\s+([\d.]+) tokens/s", "plain decode tokens/s", True),
            (r"speculative \(MTP\)\s+\d+ tokens\s+([\d.]+) tokens/s", "MTP decode tokens/s", True),
            (r"drafts accepted \((\d+)%\)", "MTP acceptance %", True),
            (r"([\d.]+)x plain decode", "MTP speed-up x", True)],
    "image": [(r"([\d.]+) s per image", "s per image", False),
              (r"([\d.]+)x the bandwidth floor", "x bandwidth floor", False),
              (r"VQ decode ([\d.]+) s", "VQ decode s", False),
              (r"MB weights and caches, peak [\d.]+ MB: ([\d.]+) MB", "working memory MB", False)],
    "load": [(r"read the files\s+([\d.]+) GB/s", "read GB/s", True),
             (r"convert \+ upload\s+([\d.]+) GB/s", "convert+upload GB/s", True)],
    "tokenizer": [(r"empty cache:\s+([\d.]+) MB/s", "encode cold MB/s", True),
                  (r"warm cache:\s+([\d.]+) MB/s", "encode warm MB/s", True),
                  (r"decode:\s+([\d.]+) MB/s", "decode MB/s", True)],
}
OPS_TABLES = [(r"matrix-vector \S+ \(one token\):\n((?:  .*\n)+)", "matvec {} GB/s", 3),
              (r"matrix-vector \S+ with 8 vectors:\n((?:  .*\n)+)", "matvec x8 {} GFLOP/s", 2),
              (r"matrix-matrix .*:\n((?:  .*\n?)+)", "matmul {} GFLOP/s", 2)]


def checkpoint(cache, name):
    d = os.path.join(cache, name)
    if not os.path.exists(os.path.join(d, "config.json")):
        print(f"making {d} ({CHECKPOINTS[name][1]}) ...", file=sys.stderr, flush=True)
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "gen_checkpoint.py"),
                        *CHECKPOINTS[name][0], d], check=True)
    return d


def bench(vk, args):
    print("$ vkseek bench " + " ".join(args), file=sys.stderr, flush=True)
    p = subprocess.run([vk, "bench", *args], capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"vkseek bench {' '.join(args)} failed: {p.stderr.strip()}")
    return p.stdout


def parse(group, out, prefix, figures):
    for pat, name, better in PARSERS[group]:
        m = re.search(pat, out)
        if m:
            figures[f"{prefix}{name}"] = (float(m.group(1)), better)
    if group == "ops":
        for pat, name, col in OPS_TABLES:
            m = re.search(pat, out)
            for line in (m.group(1).splitlines() if m else [])[1:]:
                f = line.split()
                if len(f) > col:
                    figures[name.format(f[0])] = (float(f[col].rstrip("%")), True)


def run(a, figures):
    cache, vk = a.dir, a.vkseek
    tok = ["--prompt", "128", "--gen", "32"] if a.quick else []
    for group in a.only:
        if group == "ops":
            parse("ops", bench(vk, ["ops"]), "", figures)
        elif group == "text":
            for name in ("janus-pro-1b-lm", "v2-lite-4"):
                for q in QUANTS:
                    out = bench(vk, ["text", "--model", checkpoint(cache, name), "--quant", q, *tok])
                    parse("text", out, f"{name} {q} ", figures)
        elif group == "mtp":
            for name in ("v3-tiny-mtp", "v2-lite-4-mtp-bigram"):
                q = ["--quant", "q8_0"] if "v2" in name else []
                out = bench(vk, ["text", "--model", checkpoint(cache, name), *q, "--speculative",
                                 "mtp", *tok])
                parse("mtp", out, f"{name} ", figures)
        elif group == "image":
            d = checkpoint(cache, "janus-pro-1b")
            for q in QUANTS:
                for n in ((1,) if a.quick else (1, 4)):
                    out = bench(vk, ["image", "--model", d, "--quant", q, "-n", str(n)])
                    parse("image", out, f"janus-pro-1b {q} n={n} ", figures)
        elif group == "load":
            d = checkpoint(cache, "janus-pro-1b-lm")
            for q in ("keep", "q4_0"):
                parse("load", bench(vk, ["load", "--model", d, "--quant", q]), f"load {q} ", figures)
        elif group == "tokenizer":
            d = os.path.join(ROOT, "tests", "golden", "tokenizer", "deepseek_v3")
            parse("tokenizer", bench(vk, ["tokenizer", "--model", d]), "tokenizer ", figures)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--vkseek", default=os.path.join(ROOT, "build", "vkseek"))
    ap.add_argument("--only", default="ops,text,mtp,image,load,tokenizer")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dir", default=os.environ.get("VKSEEK_BENCH_DIR") or
                    os.path.expanduser("~/.cache/vkseek/bench"))
    ap.add_argument("--save", action="store_true", help="write this run as the baseline")
    a = ap.parse_args()
    a.only = [g for g in a.only.split(",") if g]
    bad = [g for g in a.only if g not in PARSERS]
    if bad:
        sys.exit(f"--only: unknown group(s) {bad}; groups: {', '.join(PARSERS)}")
    os.makedirs(a.dir, exist_ok=True)
    figures = {}
    run(a, figures)
    base = json.load(open(BASELINE)) if os.path.exists(BASELINE) else {"figures": {}}
    key = "quick" if a.quick else "full"
    prev = base.get(key, {})
    print(f"\n{'figure':<44} {'baseline':>10} {'now':>10} {'change':>8}")
    print(f"{'(baseline: ' + prev.get('date', 'none') + ')':<44}")
    for name, (v, better) in figures.items():
        old = prev.get("figures", {}).get(name)
        ch = "" if not old else f"{100 * (v - old) / old:+.0f}%"
        worse = old and (v < 0.9 * old if better else v > 1.1 * old)
        print(f"{name:<44} {old if old is not None else '-':>10} {v:>10g} {ch:>8}{' !' if worse else ''}")
    if a.save:
        figs = dict(prev.get("figures", {}))
        figs.update({n: v for n, (v, _) in figures.items()})
        base[key] = {"date": datetime.date.today().isoformat(), "figures": figs}
        base.pop("figures", None)
        with open(BASELINE + ".tmp", "w") as f:
            json.dump(base, f, indent=1, sort_keys=True)
        os.replace(BASELINE + ".tmp", BASELINE)
        print(f"saved as the {key} baseline: {BASELINE}")


if __name__ == "__main__":
    main()
