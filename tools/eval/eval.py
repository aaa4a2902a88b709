#!/usr/bin/python3
"""eval.py: scores a vkseek Janus model on the synthetic world (tools/world) by driving the
vkseek binary: pictures generated from captions are read back by classify.py, and questions
about new pictures are answered with `vkseek ask`. Deterministic for a seed and a model.

Scenes come from seeds 1_000_000 + S (world.EVAL_SEED_BASE); training uses seeds below
1_000_000, so no evaluation scene is a training scene.

  python3 tools/eval/eval.py --vkseek build/vkseek [--model DIR] --gen-seen N --gen-heldout N
      --understand N --seed S [--json OUT] [--min-gen-seen P] [--min-gen-heldout P]
      [--min-understand P] [--workdir DIR]

Exit status: 0, 1 when a figure is below its --min-*, 2 when a vkseek command fails."""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "world"))
sys.path.insert(0, HERE)
import world  # noqa: E402
from classify import classify  # noqa: E402
from png import read_png, write_png  # noqa: E402

# Independent random streams under one eval seed.
STREAM_GEN_SEEN, STREAM_GEN_HELDOUT, STREAM_UNDERSTAND = 1, 2, 3
GEN_ATTRS = ["colour", "shape", "position", "size", "background", "count"]


class CommandFailed(Exception):
    pass


def run(cmd):
    """Runs one vkseek command; its stdout, or CommandFailed with its stderr."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise CommandFailed(f"exit {p.returncode}: {shlex.join(cmd)}\n"
                            f"{p.stderr.decode('utf-8', 'replace').strip()}")
    return p.stdout.decode("utf-8", "replace")


def stream_rng(seed, stream, i):
    return np.random.default_rng([world.EVAL_SEED_BASE + seed, stream, i])


def gen_scenes(seed, stream, split, n):
    return [world.sample_scene(stream_rng(seed, stream, i), split, n_shapes=1) for i in range(n)]


def supports_prompts(vkseek):
    """Whether `generate` takes --prompts FILE (many prompts, one start-up)."""
    p = subprocess.run([vkseek, "generate", "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    return b"--prompts" in p.stdout


def generate_all(vkseek, model, captions, seed, work):
    """Pictures for the captions, image k with generation seed seed+k; returns their paths."""
    base = [vkseek, "generate"] + (["--model", model] if model else [])
    if supports_prompts(vkseek):
        listing = os.path.join(work, "prompts.txt")
        with open(listing, "w") as f:
            f.write("".join(c + "\n" for c in captions))
        out = os.path.join(work, "gen.png")
        run(base + ["--prompts", listing, "-o", out, "--seed", str(seed)])
        paths = [os.path.join(work, f"gen-{k + 1}.png") for k in range(len(captions))]
        if len(captions) == 1 and not os.path.exists(paths[0]):
            paths = [out]  # a single picture may keep the plain name, as `generate -n 1` does
        return paths
    paths = []
    for k, c in enumerate(captions):
        out = os.path.join(work, f"gen-{k + 1}.png")
        run(base + [c, "-o", out, "--seed", str(seed + k)])
        paths.append(out)
    return paths


def score_generation(scene, path):
    """Per attribute, whether the picture shows it; "full" needs exactly one shape whose
    colour, shape and position match (size and background are reported, not required)."""
    got = classify(read_png(path))
    want = scene["shapes"][0]
    main = max(got["shapes"], key=lambda s: s["area"], default=None)
    ok = {k: main is not None and main[k] == want[k] for k in ["colour", "shape", "position", "size"]}
    ok["background"] = got["background"] == scene["background"]
    ok["count"] = got["count"] == 1
    ok["full"] = ok["count"] and ok["colour"] and ok["shape"] and ok["position"]
    return ok, got


def pick_question(scene, rng):
    """One question: a kind drawn uniformly among the kinds the scene has (so every kind is
    asked about equally often), then one question of that kind."""
    qa = world.questions(scene, rng)
    kinds = sorted({world.question_kind(q) for q, _ in qa}, key=world.QUESTION_KINDS.index)
    kind = kinds[int(rng.integers(len(kinds)))]
    of_kind = [x for x in qa if world.question_kind(x[0]) == kind]
    return of_kind[int(rng.integers(len(of_kind)))]


def normalise(answer):
    return answer.strip().lower().rstrip(".").strip()


def pct(n, d):
    return 100.0 * n / d if d else 0.0


def main():
    ap = argparse.ArgumentParser(description="Scores a vkseek Janus model on the synthetic world.")
    ap.add_argument("--vkseek", required=True, help="the vkseek binary")
    ap.add_argument("--model", help="model directory (default: the binary's built-in model)")
    ap.add_argument("--gen-seen", type=int, default=0, help="captions of seen colour-shape pairs")
    ap.add_argument("--gen-heldout", type=int, default=0, help="captions of held-out pairs")
    ap.add_argument("--understand", type=int, default=0, help="pictures, one question each")
    ap.add_argument("--seed", type=int, default=0, help="eval seed; scenes use 1_000_000 + seed")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--workdir", help="keep pictures and answers here (default: a temp dir)")
    ap.add_argument("--min-gen-seen", type=float, help="exit 1 below this percentage")
    ap.add_argument("--min-gen-heldout", type=float)
    ap.add_argument("--min-understand", type=float)
    a = ap.parse_args()
    if a.seed < 0 or min(a.gen_seen, a.gen_heldout, a.understand) < 0:
        ap.error("seed and counts must be non-negative")
    work = a.workdir or tempfile.mkdtemp(prefix="vkseek-eval-")
    os.makedirs(work, exist_ok=True)
    model = ["--model", a.model] if a.model else []
    report = {"model": a.model or "built-in", "seed": a.seed}
    log = []  # every item, for the workdir
    try:
        # ---- generation: seen and held-out captions in one batch of prompts
        t0 = time.time()
        seen = gen_scenes(a.seed, STREAM_GEN_SEEN, "train", a.gen_seen)
        held = gen_scenes(a.seed, STREAM_GEN_HELDOUT, "heldout", a.gen_heldout)
        scenes = seen + held
        paths = generate_all(a.vkseek, a.model, [world.caption(s) for s in scenes], a.seed,
                             work) if scenes else []
        results = [score_generation(s, p) for s, p in zip(scenes, paths)]
        gen_time = time.time() - t0
        for name, part in (("gen_seen", results[:len(seen)]), ("gen_heldout", results[len(seen):])):
            n = len(part)
            report[name] = {"total": n, "correct": sum(r["full"] for r, _ in part),
                            "pct": pct(sum(r["full"] for r, _ in part), n),
                            **{f"{k}_pct": pct(sum(r[k] for r, _ in part), n) for k in GEN_ATTRS}}
        report["gen_seconds"] = gen_time
        for s, p, (ok, got) in zip(scenes, paths, results):
            log.append({"task": "generate", "caption": world.caption(s), "file": p, "ok": ok,
                        "classified": got})

        # ---- understanding: a new picture and one question each
        t0 = time.time()
        by_kind = {k: [0, 0] for k in world.QUESTION_KINDS}
        for i in range(a.understand):
            rng = stream_rng(a.seed, STREAM_UNDERSTAND, i)
            scene = world.sample_scene(rng, "train")
            question, answer = pick_question(scene, rng)
            img = os.path.join(work, f"ask-{i + 1}.png")
            write_png(img, world.render(scene))
            said = normalise(run([a.vkseek, "ask"] + model + ["--image", img, question,
                                                                "-n", "8", "--temp", "0"]))
            kind = world.question_kind(question)
            by_kind[kind][0] += said == answer
            by_kind[kind][1] += 1
            log.append({"task": "ask", "file": img, "question": question, "answer": answer,
                        "said": said, "ok": said == answer})
        right = sum(c for c, _ in by_kind.values())
        report["understand"] = {"total": a.understand, "correct": right,
                                "pct": pct(right, a.understand),
                                "by_kind": {k: {"correct": c, "total": n, "pct": pct(c, n)}
                                            for k, (c, n) in by_kind.items() if n}}
        report["understand_seconds"] = time.time() - t0
    except CommandFailed as e:
        print(f"eval: {e}", file=sys.stderr)
        return 2
    finally:
        if a.workdir:
            with open(os.path.join(work, "items.jsonl"), "w") as f:
                f.write("".join(json.dumps(x) + "\n" for x in log))
        else:
            shutil.rmtree(work, ignore_errors=True)

    if a.json:
        tmp = f"{a.json}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(report, f, indent=1)
        os.replace(tmp, a.json)
    print_table(report)
    rc = 0
    for key, need in (("gen_seen", a.min_gen_seen), ("gen_heldout", a.min_gen_heldout),
                      ("understand", a.min_understand)):
        if need is not None and report[key]["pct"] < need:
            print(f"eval: {key} {report[key]['pct']:.1f}% is below {need:g}%", file=sys.stderr)
            rc = 1
    return rc


def print_table(r):
    print(f"world eval: model {r['model']}, seed {r['seed']}")
    print(f"{'':<26}{'correct':>9}{'%':>8}   " + " ".join(f"{k:>10}" for k in GEN_ATTRS))
    for key, name in (("gen_seen", "generation, seen"), ("gen_heldout", "generation, held-out")):
        g = r[key]
        print(f"{name:<26}{g['correct']:>4}/{g['total']:<4}{g['pct']:>7.1f}%   "
              + " ".join(f"{g[k + '_pct']:>9.1f}%" for k in GEN_ATTRS))
    u = r["understand"]
    print(f"{'understanding':<26}{u['correct']:>4}/{u['total']:<4}{u['pct']:>7.1f}%")
    for k, v in u["by_kind"].items():
        print(f"{'  ' + k:<26}{v['correct']:>4}/{v['total']:<4}{v['pct']:>7.1f}%")
    print(f"wall time: generation {r['gen_seconds']:.1f} s, understanding "
          f"{r['understand_seconds']:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
