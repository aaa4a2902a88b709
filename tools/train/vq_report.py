#!/usr/bin/python3
"""How well the exported VQ tokenizer alone keeps what the evaluation judges: canonical world
pictures encoded to codes (palette.py with the coverage masks training.json records, or
objects.py's object codes) and decoded back, then read by tools/eval's classifier. The fully-correct
rate is the ceiling for generation (a perfect language model still draws through this
decoder).  tools/train/vq_report.py --model models/vkseek-shapes [--count 200]"""
import argparse
import json
import os
import sys

import numpy as np
import torch

import data
from check_export import load_safetensors
from data import world
from janus import Janus
import objects
import palette
from palette import Palette

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval"))
from classify import classify  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--count", type=int, default=200)
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    model = Janus(cfg)
    model.load_state_dict(load_safetensors(os.path.join(a.model, "model.safetensors")))
    vq = model.gen_vision_model.eval()
    with open(os.path.join(a.model, "training.json")) as f:
        t = json.load(f)
    pal = Palette(t["palette_masks"]) if "palette_masks" in t else None

    def encode(scene, img):
        return pal.encode(img[None])[0] if pal else objects.encode(scene)

    right = {k: 0 for k in ("colour", "shape", "position", "all")}
    mse = 0.0
    for split in ("train", "heldout"):
        for i in range(a.count):
            scene = world.canonical(world.sample_scene(np.random.default_rng([world.EVAL_SEED_BASE + 77, i]),
                                                       split, n_shapes=1))
            img = world.render(scene)
            G = img.shape[0] // palette.PATCH
            with torch.no_grad():
                x = data.pixels(img[None])
                y = vq.decode_codes(torch.from_numpy(encode(scene, img)).view(1, G, G))
            mse += float(((y - x) ** 2).mean())
            rec = np.clip((y[0].permute(1, 2, 0).numpy() + 1) / 2 * 255, 0, 255).astype(np.uint8)
            got = classify(rec)
            want = scene["shapes"][0]
            ok = {k: got["count"] == 1 and got["shapes"][0][k] == want[k] for k in ("colour", "shape", "position")}
            for k, v in ok.items():
                right[k] += v
            right["all"] += all(ok.values())
        n = a.count
        print(f"{split}: reconstruction MSE {mse / n:.4f}; classified right: " +
              ", ".join(f"{k} {100 * v / n:.1f}%" for k, v in right.items()))
        right = {k: 0 for k in right}
        mse = 0.0


if __name__ == "__main__":
    sys.exit(main())
