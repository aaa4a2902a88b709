#!/usr/bin/python3
"""Trains vkseek's built-in model from nothing but tools/world, reproducibly from --seed:
  1. a byte-level BPE tokenizer on the world's captions, questions and answers;
  2. the VQ image tokenizer: codes read from the pictures (palette.py), then the
     L2-normalised codebook and the Janus-structured decoder that turns codes into pixels;
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
import objects
import palette
from data import world
from export import export
from janus import CODE, Janus

T0 = time.time()


PATCH = palette.PATCH   # pixels per image code, across: world.SIZE // PATCH codes a side


def log(msg):
    print(f"[{time.time() - T0:7.1f}s] {msg}", flush=True)


def make_config(vocab, a, codebook):
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
    # Codes for 4x4-pixel patches (a 16x16 grid), one per (colour, coverage mask) pair
    # (palette.py): 11 colours x the training pictures' masks. With 8x8 patches a 12-pixel
    # shape is 2x2 or 3x3 codes and comes back a blob. Learnt encoders (Janus' own, then one
    # per patch) gave the same flat colour many codes and an edge a code per colour pair
    # (~2,400 shape codes), which the language model could not learn to predict in budget.
    # The decoder's full-resolution level has 128 channels, four per GroupNorm group: with two,
    # norm_out (no skip path around it) reduces a flat region to a sign pattern per group, and
    # flat colours come back wrong. One res block per level (num_res_blocks 0) halves the cost.
    # Code embeddings of 16 dims: a colour row plus a mask row must keep both apart.
    S, K, E = world.SIZE, codebook, 16
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
            "image_token_size": K, "n_embed": E, "codebook_size": K, "codebook_embed_dim": E,
            "codebook_l2_norm": True, "z_channels": 64, "ch": 32, "num_res_blocks": 0,
            "decoder_ch_mult": [4, 2, 2]}},
        "gen_aligner_config": {"cls": "MlpProjector", "model_type": "gen_aligner", "params": {
            "depth": 2, "input_dim": E, "n_embed": D, "projector_type": "mlp_gelu"}},
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


def shape_crops(x, codes, fg, size, rng):
    """A size x size window of each picture (and its codes) around a random shape pixel, on
    the code grid: four times cheaper than the whole picture, and nearly all of it edges."""
    out, cout, mask = [], [], []
    S = x.shape[-1]
    for b in range(len(x)):
        ys, xs = fg[b, 0].nonzero(as_tuple=True)
        j = int(rng.integers(len(ys))) if len(ys) else None
        cy, cx = (int(ys[j]), int(xs[j])) if j is not None else (S // 2, S // 2)
        r, c = (min(max(v - size // 2 + int(rng.integers(-4, 5)), 0), S - size) // PATCH * PATCH
                for v in (cy, cx))
        out.append(x[b, :, r:r + size, c:c + size])
        cout.append(codes[b, r // PATCH:(r + size) // PATCH, c // PATCH:(c + size) // PATCH])
        mask.append(fg[b, :, r:r + size, c:c + size])
    return torch.stack(out), torch.stack(cout), torch.stack(mask)


def train_decoder(vq, imgs, codes, steps, bs, rng, crops):
    """The codebook and decoder on reconstruction of the pictures from their codes (shape
    pixels weighted up). With crops: 32x32 crops around shapes, then whole pictures for the
    last tenth of the steps, so that GroupNorm's statistics and the plain backgrounds are
    those of whole pictures (object codes need the whole picture: a crop may cut off the
    code a shape is drawn from)."""
    opt = torch.optim.Adam(vq.parameters(), lr=1e-3)
    G = imgs.shape[1] // PATCH
    for step in range(1, steps + 1):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(1e-3, step, steps, 50, 0.05)
        i = rng.integers(len(imgs), size=bs)
        x, c = data.pixels(imgs[i]), torch.from_numpy(codes[i]).view(bs, G, G)
        fg = foreground(x)
        if crops and step <= 0.9 * steps:
            x, c, fg = shape_crops(x, c, fg, 32, rng)
        y = vq.decode_codes(c)
        rec = ((y - x) ** 2 * (1 + 20 * fg)).mean()
        opt.zero_grad()
        rec.backward()
        opt.step()
        if step % 100 == 0:
            mse = F.mse_loss(y, x).item()
            log(f"decoder {step}/{steps}: weighted {rec.item():.5f}, plain {mse:.5f} "
                f"({10 * math.log10(4 / mse):.1f} dB), shape pixels "
                f"{(((y - x) ** 2).mean(1, keepdim=True) * fg).sum().item() / max(fg.sum().item(), 1):.4f}")


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


def turns(e, rng):
    """A conversation about one picture: all its questions in a random order and, half the
    time, a request for its caption among them. The picture's 64 positions cost more than
    all its turns, and answers are the only signal that teaches the language model to read
    the picture (one to three questions a picture left colour, shape and position at chance)."""
    qa = [e["questions"][j] for j in rng.permutation(len(e["questions"]))]
    if rng.random() < 0.5:
        k = int(rng.integers(len(qa) + 1))
        qa = qa[:k] + [(data.DESCRIBE, e["caption"])] + qa[k:]
    return qa


def background_holes(code_in, is_code, rng):
    """Half the rows get a random share (up to half) of their input codes replaced by the
    first one, the background's; targets stay. Teacher-forced, the model learns to continue
    the rows above, and a sampled picture whose shape is not begun at its exact first patch
    never gets one: with holes, it learns to draw what the caption puts at each place
    whatever the picture so far lacks."""
    out = code_in.clone()
    c = out[is_code].view(len(out), -1)
    rate = rng.uniform(0, 0.5, (len(c), 1)) * (rng.random((len(c), 1)) < 0.5)
    hole = torch.from_numpy(rng.random(tuple(c.shape)) < rate)
    out[is_code] = torch.where(hole, c[:, :1].expand_as(c), c).flatten()
    return out


def decision_weighted(logits, target, decides_fn, w):
    """Cross-entropy over image codes, with the codes where the caption decides the picture
    (decides_fn(target, previous target): the first, and those of shapes) weighted 1 + w; the
    rest mostly repeat their neighbours, and teacher-forced they drown the decisions out (the
    background's code and each shape's are a few codes in 256)."""
    prev = torch.cat([torch.full_like(target[:, :1], -100), target[:, :-1]], 1)
    real = target >= 0
    decides = real & decides_fn(target, prev)
    weight = (1 + w * decides.float()) * real
    nll = F.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none", ignore_index=-100)
    return (nll * weight.flatten()).sum() / weight.sum()


def train_joint(model, probe, b, ex, imgs, codes, decides_fn, a, rng):
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
        h = model(gen[0], gen[1], background_holes(gen[2], gen[1] == CODE, rng), None)
        l_gen = decision_weighted(model.image_logits(h), gen[4], decides_fn, a.decision_weight)
        # picture -> every question about it, and half the time its caption among them
        ui = rng.integers(n, size=a.bs_und)
        und = data.batch([b.understanding(turns(ex[i], rng)) for i in ui], b.pad)
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
    ap.add_argument("--lm-steps", type=int, default=550)
    ap.add_argument("--bs-gen", type=int, default=24)
    ap.add_argument("--bs-und", type=int, default=12)
    ap.add_argument("--bs-text", type=int, default=8)
    ap.add_argument("--decision-weight", type=float, default=5.0,
                    help="extra loss weight of image codes that change colour")
    ap.add_argument("--codes", choices=("palette", "object"), default="palette",
                    help="image codes: per patch colour and coverage, or one per shape")
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
    ex, imgs = make_pool(a.pool, a.seed)
    # generation learns the canonical picture of each caption (no jitter), so that its codes
    # are a function of the caption: what to draw is never a guess of how far to shift it
    canon = np.stack([world.render(world.canonical(e["scene"])) for e in ex])
    if a.codes == "palette":
        pal = palette.Palette.learn(canon)
        codes, _ = pal.encode(canon)
        K, decides, record = pal.size, pal.decides, {"palette_masks": pal.masks.tolist()}
        log(f"pool: {len(ex)} pictures; {pal.n_masks} coverage masks, {K} codes, "
            f"{len(np.unique(codes))} in use")
    else:
        codes = np.stack([objects.encode(world.canonical(e["scene"])) for e in ex])
        K, decides, record = objects.SIZE, objects.decides, {"codes": "object"}
        log(f"pool: {len(ex)} pictures; {K} object codes, {len(np.unique(codes))} in use")

    cfg = make_config(len(tok), a, K)
    model = Janus(cfg)
    tables = [(model.gen_vision_model.quantize.embedding, "weight", 1.0), (model.gen_embed, "weight", 1.0),
              (model.gen_head.vision_head, "weight", 0.02), (model.gen_head.vision_head, "bias", 0.02)]
    for module, name, scale in tables:
        if a.codes == "palette":
            palette.factor(module, name, pal, scale)
        else:
            objects.factor(module, name, scale)

    train_decoder(model.gen_vision_model, canon, codes, a.vq_steps, 8, rng, a.codes == "palette")
    model.gen_vision_model.eval()

    tower = model.vision_model.vision_tower
    probe = Probe(tower.norm.normalized_shape[0])
    train_vision(tower, probe, ex, imgs, a.vision_steps, 64, rng, a.seed + 200)
    vp = cfg["vision_config"]["params"]
    b = data.Builder(tok, (vp["image_size"] // vp["patch_size"]) ** 2)  # understanding's patches
    train_joint(model, probe, b, ex, imgs, codes, decides, a, rng)

    for module, name, _ in tables:
        torch.nn.utils.parametrize.remove_parametrizations(module, name)
    n_par = sum(p.numel() for p in model.parameters())
    log(f"model: {n_par / 1e6:.2f} M parameters")
    export(model, cfg, a.out)
    tok.save(a.out)
    with open(os.path.join(a.out, "training.json"), "w") as f:
        json.dump({"seed": a.seed, "args": vars(a), "seconds": round(time.time() - T0),
                   "parameters": n_par, **record}, f)
    log(f"exported to {a.out}")


if __name__ == "__main__":
    sys.exit(main())
