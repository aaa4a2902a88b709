#!/usr/bin/python3
"""gallery.py: draws the README's grid of images made by the built-in model. Runs the vkseek
binary on a fixed list of prompts (one process, --prompts), tiles the pictures into one PNG
(nearest-neighbour upscaled, so the 64x64 pictures stay crisp) and prints the Markdown table
of prompts that goes under it.
  tools/gallery.py --vkseek build/vkseek [--model DIR] [--out docs/gallery.png]"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "world"))
from png import read_png, write_png  # noqa: E402

PROMPTS = [
    "a large green star in the centre on a white background",
    "a small red circle at the top left on a blue background",
    "a large yellow triangle at the bottom on a black background",
    "a large cyan cross in the centre on a gray background",
    "a small orange square at the bottom right on a purple background",
    "a large pink circle at the right on a green background",
    "a small blue star at the top right on a yellow background",
    "a large purple triangle at the left on a white background",
    "a small red circle at the top left and a small blue square at the bottom right on a white background",
    "a small yellow star at the top and a small green cross at the bottom on a black background",
    # held out: never seen in training
    "a large red star in the centre on a white background",
    "a large blue triangle at the top on a yellow background",
]
HELD_OUT_FROM = 10
COLS, SCALE, GAP = 4, 3, 6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vkseek", required=True)
    ap.add_argument("--model")
    ap.add_argument("--out", default="docs/gallery.png")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        listing = os.path.join(tmp, "prompts.txt")
        with open(listing, "w") as f:
            f.write("\n".join(PROMPTS) + "\n")
        cmd = [a.vkseek, "generate", "--prompts", listing, "-o", os.path.join(tmp, "g.png"),
               "--seed", str(a.seed)] + (["--model", a.model] if a.model else [])
        subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
        pics = [read_png(os.path.join(tmp, f"g-{i + 1}.png")) for i in range(len(PROMPTS))]
    s = pics[0].shape[0] * SCALE
    rows = (len(pics) + COLS - 1) // COLS
    grid = np.full((rows * (s + GAP) + GAP, COLS * (s + GAP) + GAP, 3), 255, np.uint8)
    for i, p in enumerate(pics):
        y, x = GAP + (i // COLS) * (s + GAP), GAP + (i % COLS) * (s + GAP)
        grid[y:y + s, x:x + s] = p.repeat(SCALE, 0).repeat(SCALE, 1)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    write_png(a.out + ".tmp", grid)
    os.replace(a.out + ".tmp", a.out)
    print("| # | prompt |\n|---|---|")
    for i, p in enumerate(PROMPTS):
        print(f"| {i + 1} | {p}{' (held out)' if i >= HELD_OUT_FROM else ''} |")


if __name__ == "__main__":
    sys.exit(main())
