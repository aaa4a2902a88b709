#!/usr/bin/python3
"""Trains vkseek's built-in model from nothing but tools/world, reproducibly from --seed:
  1. a byte-level BPE tokenizer on the world's captions, questions and answers;
  2. the VQ image tokenizer (encoder, L2-normalised codebook, Janus-structured decoder);
  3. jointly, the DeepSeek-V3 language model, the vision tower + aligner, gen_embed,
     gen_aligner and gen_head on captions -> image codes, image -> answers and plain text;
then exports a Janus-style checkpoint (config.json with a deepseek_v3 language_config,
model.safetensors, tokenizer.json, tokenizer_config.json).
Needs Debian's python3-torch and python3-numpy (tools/setup.sh --train installs them with
OpenBLAS, which makes CPU training ~20x faster than the reference BLAS)."""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import bpe
import data
from data import world
from export import export
from janus import Janus

T0 = time.time()


PATCH = 4          # pixels per image code, across: world.SIZE // PATCH codes a side
CODEBOOK = 4096


def log(msg):
    print(f"[{time.time() - T0:7.1f}s] {msg}", flush=True)


def make_config(vocab, a):
    D = a.width
    lc = {"model_type": "deepseek_v3", "architectures": ["DeepseekV3ForCausalLM"],
          "vocab_size": vocab, "hidden_size": D, "intermediate_size": 2 * D,
          "moe_intermediate_size": D // 2, "num_hidden_layers": a.layers,
          "num_attention_heads": 4, "num_key_value_heads": 4, "q_lora_rank": D // 2,
          "kv_lora_rank": 64, "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 32,
          "n_routed_experts": 8, "num_experts_per_tok": 2, "n_shared_experts": 1,
          "routed_scaling_factor": 2.5, "n_group": 4, "topk_group": 2, "topk_method": "noaux_tc",
          "scoring_func": "sigmoid", "norm_topk_prob": True, "first_k_dense_replace": 1,
          "moe_layer_freq": 1, "hidden_act": "silu", "max_position_embeddings": 1024,
          "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "rope_scaling": None,
          "attention_bias": False, "tie_word_embeddings": False, "bos_token_id": 0,
          "eos_token_id": 1, "num_nextn_predict_layers": 0, "torch_dtype": "bfloat16"}
    # Codes for 4x4-pixel patches (a 16x16 grid): with 8x8 patches, about 80 colour pairs
    # share the codebook, leaving ~12 codes per pair for an edge's shape, and circles, squares,
    # stars and crosses come back as blobs (42% of round-trips right, against 85% here).
    # 4096 codes: 85% right where 1024 give 79%.
    # The decoder's full-resolution level has 128 channels, four per GroupNorm group: with two,
    # norm_out (no skip path around it) reduces a flat region to a sign pattern per group, and
    # flat colours come back wrong. One res block per level (num_res_blocks 0) halves the cost.
    # A per-patch encoder (vq.py, encoder_patch): each code is a function of its own 4x4
    # pixels, so a flat patch has exactly one code per colour (an encoder with attention,
    # GroupNorm or a receptive field reaching the border gave ~18 to ~200 per colour, entropy
    # the language model cannot predict, and sampled pictures were noise).
    S, K = world.SIZE, CODEBOOK
    return {
        "architectures": ["MultiModalityCausalLM"], "model_type": "multi_modality",
        "torch_dtype": "bfloat16",
        "language_config": lc,
        "vision_config": {"cls": "CLIPVisionTower", "model_type": "vision", "params": {
            "image_size": S, "patch_size": 8, "width": 128, "layers": 4, "heads": 4,
            "mlp_ratio": 4.0, "select_layer": -1, "select_feature": "same",
            "model_name": "siglip_vkseek_patch8_64"}},
        "aligner_config": {"cls": "MlpProjector", "model_type": "aligner", "params": {
            "depth": 2, "input_dim": 128, "n_embed": D, "projector_type": "mlp_gelu"}},
        "gen_vision_config": {"cls": "VQ-16", "model_type": "gen_vision", "params": {
            "image_token_size": K, "n_embed": 8, "codebook_size": K, "codebook_embed_dim": 8,
            "codebook_l2_norm": True, "z_channels": 64, "ch": 32, "num_res_blocks": 0,
            "encoder_ch_mult": [1, 2, 2], "decoder_ch_mult": [4, 2, 2], "encoder_patch": True}},
        "gen_aligner_config": {"cls": "MlpProjector", "model_type": "gen_aligner", "params": {
            "depth": 2, "input_dim": 8, "n_embed": D, "projector_type": "mlp_gelu"}},
        "gen_head_config": {"cls": "vision_head", "model_type": "gen_head", "params": {
            "image_token_embed": D, "image_token_size": K, "n_embed": D}},
    }


def make_pool(n, seed):
    """n world examples (train split) with their pictures."""
    ex = [world.example(seed, i) for i in range(n)]
    imgs = np.stack([world.render(e["scene"]) for e in ex])
    return ex, imgs


def cosine_lr(peak, step, steps, warmup, floor):
    """Linear warm-up over `warmup` steps, then a cosine from peak down to floor x peak."""
    return peak * min(1.0, step / warmup) * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * step / steps)))


def foreground(x):
    """Pixels that differ from the picture's corner colour, which is always background."""
    return ((x - x[:, :, :1, :1]).abs().amax(1, keepdim=True) > 0.02).float()


def shape_crops(x, fg, size, rng):
    """A size x size window of each picture around a random shape pixel, on the code grid:
    four times cheaper than the whole picture, and nearly all of it edges to learn."""
    out, mask = [], []
    S = x.shape[-1]
    for b in range(len(x)):
        ys, xs = fg[b, 0].nonzero(as_tuple=True)
        j = int(rng.integers(len(ys))) if len(ys) else None
        cy, cx = (int(ys[j]), int(xs[j])) if j is not None else (S // 2, S // 2)
        r, c = (min(max(v - size // 2 + int(rng.integers(-4, 5)), 0), S - size) // PATCH * PATCH
                for v in (cy, cx))
        out.append(x[b, :, r:r + size, c:c + size])
        mask.append(fg[b, :, r:r + size, c:c + size])
    return torch.stack(out), torch.stack(mask)


def train_vq(vq, imgs, steps, bs, rng):
    """Reconstruction (shape pixels weighted up) + codebook + commitment losses; 32x32 crops
    around shapes, then whole pictures for the last tenth of the steps, so that GroupNorm's
    statistics and the plain backgrounds are those of whole pictures."""
    opt = torch.optim.Adam(vq.parameters(), lr=1e-3)
    K = vq.quantize.embedding.num_embeddings
    used = torch.zeros(K)
    for step in range(1, steps + 1):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(1e-3, step, steps, 50, 0.05)
        x = data.pixels(imgs[rng.integers(len(imgs), size=bs)])
        fg = foreground(x)
        if step <= 0.9 * steps:
            x, fg = shape_crops(x, fg, 32, rng)
        y, idx, qloss = vq(x)
        rec = ((y - x) ** 2 * (1 + 20 * fg)).mean()
        loss = rec + qloss
        opt.zero_grad()
        loss.backward()
        opt.step()
        used += torch.bincount(idx.flatten(), minlength=K).float()
        if step % 100 == 0:
            # restart dead codes on encoder outputs of patches with shapes in them
            dead = (used == 0).nonzero().flatten()
            if len(dead) and step <= 0.8 * steps:
                with torch.no_grad():
                    z = F.normalize(vq.quant_conv(vq.encoder(x)).permute(0, 2, 3, 1), dim=-1)
                    has = F.max_pool2d(fg, PATCH)[:, 0] > 0
                    z = z[has] if has.sum() >= 8 else z.reshape(-1, z.shape[-1])
                    pick = torch.from_numpy(rng.integers(len(z), size=len(dead)))
                    vq.quantize.embedding.weight[dead] = z[pick] + 0.01 * torch.randn(len(dead), z.shape[-1])
            mse = F.mse_loss(y, x).item()
            log(f"vq {step}/{steps}: weighted {rec.item():.5f}, plain {mse:.5f} "
                f"({10 * math.log10(4 / mse):.1f} dB), shape pixels "
                f"{(((y - x) ** 2).mean(1, keepdim=True) * fg).sum().item() / max(fg.sum().item(), 1):.4f}; "
                f"codes used {int((used > 0).sum())}/{K}, unused {len(dead)}")
            used.zero_()


def encode_pool(vq, imgs):
    codes = []
    with torch.no_grad():
        for i in range(0, len(imgs), 256):
            codes.append(vq.encode(data.pixels(imgs[i:i + 256]))[1].flatten(1))
    return torch.cat(codes).numpy()


class Probe(torch.nn.Module):
    """Training-only heads on the vision tower (not exported): what is in each of the 3x3
    cells (shape, colour, size), the background and the count. Their direct signal teaches
    the tower to see before the language model has learnt to ask it anything."""
    GROUPS = ([0, 1, 2], [3, 4], [5, 6, 7])   # 8 px patch rows/columns inside each cell

    def __init__(self, W):
        super().__init__()
        self.cell = torch.nn.Linear(W, 1 + len(world.SHAPES) + 1 + len(world.COLOURS) + 3)
        self.whole = torch.nn.Linear(W, len(world.BACKGROUNDS) + 2)

    @staticmethod
    def targets(scenes):
        n = len(scenes)
        t = torch.zeros(n, 3, 3, 3, dtype=torch.long)          # shape, colour, size per cell
        bg = torch.tensor([list(world.BACKGROUNDS).index(s["background"]) for s in scenes])
        count = torch.tensor([len(s["shapes"]) - 1 for s in scenes])
        for i, s in enumerate(scenes):
            for sh in s["shapes"]:
                p = world.POSITIONS.index(sh["position"])
                t[i, p // 3, p % 3] = torch.tensor([1 + world.SHAPES.index(sh["shape"]),
                                                    1 + list(world.COLOURS).index(sh["colour"]),
                                                    1 + list(world.SIZES).index(sh["size"])])
        return t, bg, count

    def heads(self, v, scenes):
        """(logits, targets) pairs: per cell shape, colour, size; background; count."""
        n, P, W = v.shape
        g = v.view(n, 8, 8, W)
        cells = torch.stack([torch.stack([g[:, r][:, :, c].mean((1, 2)) for c in self.GROUPS], 1)
                             for r in self.GROUPS], 1)              # (n, 3, 3, W)
        t, bg, count = self.targets(scenes)
        o = self.cell(cells)
        ns, nc = 1 + len(world.SHAPES), 1 + len(world.COLOURS)
        w = self.whole(v.mean(1))
        return [(o[..., :ns].reshape(-1, ns), t[..., 0].flatten()),
                (o[..., ns:ns + nc].reshape(-1, nc), t[..., 1].flatten()),
                (o[..., ns + nc:].reshape(-1, 3), t[..., 2].flatten()),
                (w[:, :-2], bg), (w[:, -2:], count)]

    def loss(self, v, scenes):
        return sum(F.cross_entropy(o, t) for o, t in self.heads(v, scenes))

    def accuracy(self, v, scenes):
        """Fraction right per head: shape, colour and size of the cells that hold a shape;
        background; count."""
        h = self.heads(v, scenes)
        held = h[0][1] > 0
        return [float((o.argmax(-1) == t)[held if i < 3 else slice(None)].float().mean())
                for i, (o, t) in enumerate(h)]


def train_vision(tower, probe, ex, imgs, steps, bs, rng, seed):
    """The tower and probe alone first, on large batches: cheap steps (no language model) in
    which the tower learns to see what the questions ask about."""
    params = list(tower.parameters()) + list(probe.parameters())
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=0.01)
    for step in range(1, steps + 1):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(2e-3, step, steps, 50, 0.1)
        i = rng.integers(len(ex), size=bs)
        loss = probe.loss(tower(data.pixels(imgs[i])), [ex[j]["scene"] for j in i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            log(f"vision {step}/{steps}: probe {loss.item():.3f}")
    # how well the tower sees, on pictures it has not trained on
    test = [world.example(seed, i) for i in range(256)]
    with torch.no_grad():
        acc = probe.accuracy(tower(data.pixels(np.stack([world.render(e["scene"]) for e in test]))),
                             [e["scene"] for e in test])
    log("vision: new pictures read right: " + ", ".join(
        f"{k} {100 * v:.1f}%" for k, v in zip(("shape", "colour", "size", "background", "count"), acc)))


def train_joint(model, probe, b, ex, imgs, codes, a, rng):
    params = [p for n, p in model.named_parameters() if not n.startswith("gen_vision_model.")]
    params += list(probe.parameters())
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.95), weight_decay=0.01)
    lm = model.language_model
    n = len(ex)
    for step in range(1, a.lm_steps + 1):
        lr = cosine_lr(a.lr, step, a.lm_steps, 100, 0.1)
        for g in opt.param_groups:
            g["lr"] = lr
        # captions -> image codes (10% unconditional, for classifier-free guidance)
        gi = rng.integers(n, size=a.bs_gen)
        gen = data.batch([b.generation(ex[i]["caption"], codes[i], rng.random() < 0.1) for i in gi], b.pad)
        h = model(gen[0], gen[1], gen[2], None)
        l_gen = F.cross_entropy(model.image_logits(h).flatten(0, 1), gen[4].flatten())
        # picture + question -> answer
        ui = rng.integers(n, size=a.bs_und)
        und = data.batch([b.understanding([ex[i]["questions"][j] for j in
                                           rng.permutation(len(ex[i]["questions"]))[:rng.integers(1, 4)]])
                          for i in ui], b.pad)
        v = model.vision_model.vision_tower(data.pixels(imgs[ui]))
        l_probe = probe.loss(v, [ex[i]["scene"] for i in ui])
        h = model(und[0], und[1], und[2], None, vision=v)
        l_und = F.cross_entropy(lm.lm_head(h).flatten(0, 1), und[3].flatten())
        # plain text
        ti = rng.integers(n, size=a.bs_text)
        txt = data.batch([b.text(ex[i]["caption"]) for i in ti], b.pad)
        h = model(txt[0], txt[1], txt[2], None)
        l_txt = F.cross_entropy(lm.lm_head(h).flatten(0, 1), txt[3].flatten())
        loss = l_gen + l_und + 0.5 * l_txt + 0.5 * l_probe
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            lm.balance(1e-3)
        if step % 50 == 0 or step == a.lm_steps:
            log(f"joint {step}/{a.lm_steps}: lr {lr:.2e} gen {l_gen.item():.3f} "
                f"und {l_und.item():.3f} text {l_txt.item():.3f} probe {l_probe.item():.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "models", "vkseek-shapes"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pool", type=int, default=20000, help="world examples rendered for training")
    ap.add_argument("--vq-steps", type=int, default=3000)
    ap.add_argument("--vision-steps", type=int, default=600)
    ap.add_argument("--lm-steps", type=int, default=600)
    ap.add_argument("--bs-gen", type=int, default=24)
    ap.add_argument("--bs-und", type=int, default=12)
    ap.add_argument("--bs-text", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--width", type=int, default=192, help="language model width")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    random.seed(a.seed)

    tok = bpe.Tokenizer(bpe.train(data.corpus(2000, a.seed + 100), 600), data.SPECIALS)
    log(f"tokenizer: {len(tok)} tokens ({len(tok.merges)} merges)")
    cfg = make_config(len(tok), a)
    model = Janus(cfg)
    n_par = sum(p.numel() for p in model.parameters())
    log(f"model: {n_par / 1e6:.2f} M parameters")

    ex, imgs = make_pool(a.pool, a.seed)
    log(f"pool: {len(ex)} pictures")
    train_vq(model.gen_vision_model, imgs, a.vq_steps, 8, rng)
    model.gen_vision_model.eval()
    # generation learns the canonical picture of each caption (no jitter), so that its codes
    # are a function of the caption: what to draw is never a guess of how far to shift it
    codes = encode_pool(model.gen_vision_model,
                        np.stack([world.render(world.canonical(e["scene"])) for e in ex]))
    log(f"pool encoded: {len(np.unique(codes))} distinct codes in use")

    tower = model.vision_model.vision_tower
    probe = Probe(tower.norm.normalized_shape[0])
    train_vision(tower, probe, ex, imgs, a.vision_steps, 64, rng, a.seed + 200)
    vp = cfg["vision_config"]["params"]
    b = data.Builder(tok, (vp["image_size"] // vp["patch_size"]) ** 2)  # understanding's patches
    train_joint(model, probe, b, ex, imgs, codes, a, rng)

    export(model, cfg, a.out)
    tok.save(a.out)
    with open(os.path.join(a.out, "training.json"), "w") as f:
        json.dump({"seed": a.seed, "args": vars(a), "seconds": round(time.time() - T0),
                   "parameters": n_par}, f, indent=1)
    log(f"exported to {a.out}")


if __name__ == "__main__":
    sys.exit(main())
