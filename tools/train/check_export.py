#!/usr/bin/python3
"""Checks an exported model against vkseek: the tokenizer encodes the training formats to the
same ids, the language model's logits agree, and greedy generation and greedy answers give
the same codes, pixels and words. Run after train.py:
  tools/train/check_export.py --vkseek build/vkseek --model models/vkseek-shapes"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

import bpe
import data
from data import world
from janus import Janus, TEXT

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "world"))
import png  # noqa: E402


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        if h["dtype"] == "BF16":
            x = np.frombuffer(blob[a:b], np.uint16).astype(np.uint32) << 16
            t = torch.from_numpy(x.view(np.float32).copy())
        else:
            t = torch.from_numpy(np.frombuffer(blob[a:b], np.float32).copy())
        out[name] = t.reshape(h["shape"])
    return out


def load_tokenizer(d):
    t = json.load(open(os.path.join(d, "tokenizer.json"), encoding="utf-8"))
    merges = [tuple(m.split(" ")) for m in t["model"]["merges"]]
    return bpe.Tokenizer(merges, data.SPECIALS)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"check: {' '.join(cmd)} failed: {r.stderr.strip()}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vkseek", required=True)
    ap.add_argument("--model", required=True)
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    model = Janus(cfg)
    model.load_state_dict(load_safetensors(os.path.join(a.model, "model.safetensors")))
    model.eval()
    tok = load_tokenizer(a.model)
    b = data.Builder(tok, (world.SIZE // cfg["vision_config"]["params"]["patch_size"]) ** 2)
    ok = True
    ex = world.example(999_999, 0)
    cap = ex["caption"]
    q, ans = ex["questions"][0]

    # 1. tokenizer: the training formats encode to vkseek's ids
    for text in (cap, f"{data.SYSTEM}\n\n<|User|>: <image_placeholder>\n{q}\n\n<|Assistant|>: {ans}",
                 f"<|User|>: {cap}\n\n<|Assistant|>:<begin_of_image>"):
        mine = tok.encode(text)
        theirs = [int(x) for x in run([a.vkseek, "tokenize", "--no-bos", "--model", a.model, text]).split()]
        print(f"tokenize {len(mine)} ids: {'same' if mine == theirs else 'DIFFERENT'}")
        ok &= mine == theirs

    # 2. language model logits on a text sequence
    ids = b.text(cap)[0]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "logits.f32")
        run([a.vkseek, "logits", "--model", a.model, "--tokens", " ".join(map(str, ids)), "--all", "-o", out])
        got = np.fromfile(out, np.float32).reshape(len(ids), -1)
        with torch.no_grad():
            ref = model.language_model.lm_head(model(torch.tensor([ids]), torch.zeros(1, len(ids), dtype=torch.long),
                                                     torch.zeros(1, len(ids), dtype=torch.long), None))[0].numpy()
        err = np.abs(got - ref).max() / np.abs(ref).max()
        print(f"logits: max error {err:.2e} of the largest")
        ok &= err < 2e-2

        # 3. greedy generation with guidance: codes and pixels
        img = os.path.join(tmp, "gen.png")
        run([a.vkseek, "generate", "--model", a.model, cap, "-o", img, "--temp", "0", "--seed", "1"])
        got = png.read_png(img)
        gen = b.generation(cap, [], False)
        n = len(gen[0])
        cond = torch.tensor([gen[0], [gen[0][0]] + [b.pad] * (n - 2) + [gen[0][-1]]])
        levels = len(cfg["gen_vision_config"]["params"]["decoder_ch_mult"])
        T = (world.SIZE // 2 ** (levels - 1)) ** 2  # codes per picture
        codes = []
        with torch.no_grad():
            for i in range(T):
                kind = torch.tensor([[TEXT] * n + [2] * i] * 2)
                ids_ = torch.cat([cond, torch.full((2, i), b.pad)], 1)
                cin = torch.tensor([[0] * n + codes] * 2)
                h = model(ids_, kind, cin, None)[:, -1]
                lg = model.image_logits(h)
                lg = lg[1] + 5.0 * (lg[0] - lg[1])
                codes.append(int(lg.argmax()))
            g = int(T ** 0.5)
            pix = model.gen_vision_model.decode_codes(torch.tensor(codes).view(1, g, g))
            ref = np.clip((pix[0].permute(1, 2, 0).numpy() + 1) / 2 * 255, 0, 255).astype(np.uint8)
        diff = np.abs(got.astype(int) - ref.astype(int))
        print(f"generation: pixels differ by at most {diff.max()} (mean {diff.mean():.3f})")
        ok &= diff.mean() < 1.0

        # 4. greedy answer
        pic = os.path.join(tmp, "q.png")
        png.write_png(pic, world.render(ex["scene"]))
        said = run([a.vkseek, "ask", "--model", a.model, "--image", pic, q, "-n", "8", "--temp", "0"]).strip()
        und = b.understanding([(q, ans)])
        start = len(und[0]) - len(tok.encode(" " + ans)) - 1
        ids_ = und[0][:start]
        kind = und[1][:start]
        px = data.pixels(world.render(ex["scene"])[None])
        out_ids = []
        with torch.no_grad():
            for _ in range(8):
                h = model(torch.tensor([ids_]), torch.tensor([kind]), torch.zeros(1, len(ids_), dtype=torch.long), px)
                t = int(model.language_model.lm_head(h[0, -1]).argmax())
                if t == b.eos:
                    break
                out_ids.append(t)
                ids_, kind = ids_ + [t], kind + [TEXT]
        mine = tok.decode(out_ids).strip()
        print(f"answer to {q!r}: vkseek {said!r}, torch {mine!r}, truth {ans!r}")
        ok &= said == mine
    print("check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
