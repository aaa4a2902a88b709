#!/usr/bin/python3
"""Writes a random-weight checkpoint with the exact shapes of a published model, for
benchmarks (never committed: they are gigabytes). Values ~ N(0, 0.02), norms 1, BF16,
Hugging Face names, config.json as published (plus a note that the weights are random).

  tools/gen_checkpoint.py janus-pro-1b-lm OUT_DIR
  tools/gen_checkpoint.py janus-pro-1b OUT_DIR      (the whole Janus: towers and VQ decoder)
  tools/gen_checkpoint.py janus-pro-7b OUT_DIR --sparse   (its shapes for `vkseek inspect`)
  tools/gen_checkpoint.py deepseek-v2-lite OUT_DIR [--layers N]
  tools/gen_checkpoint.py deepseek-v3-tiny OUT_DIR [--mtp] [--bigram]   (tests)

--mtp adds DeepSeek V3's multi-token prediction layer (model.layers.N after the N layers, with
copies of the embedding and head, as published). --bigram makes every layer add nothing (o_proj
and the down projections zero) and eh_proj = [I 0]: the model then predicts from the last token
alone, and the MTP layer's draft for the token after next is exactly what the model will predict
(greedy speculative decoding accepts every draft). --sparse writes each file's header and leaves
its data a hole (zeros, no disk): enough for `vkseek inspect`'s memory figures of a model too
big to make here.

Runs with Debian's python3-numpy; shards at 4 GB like the hub's checkpoints."""
import argparse, json, os, struct, sys
import numpy as np

SHARD_BYTES = 4 << 30

CONFIGS = {
    # Janus-Pro-1B's language model (a LlamaForCausalLM)
    "janus-pro-1b-lm": {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 102400,
        "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 24,
        "num_attention_heads": 16, "num_key_value_heads": 16, "max_position_embeddings": 16384,
        "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": False,
        "bos_token_id": 100000, "eos_token_id": 100001, "torch_dtype": "bfloat16"},
    "deepseek-v2-lite": {
        "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2",
        "vocab_size": 102400, "hidden_size": 2048, "intermediate_size": 10944,
        "moe_intermediate_size": 1408, "num_hidden_layers": 27, "first_k_dense_replace": 1,
        "moe_layer_freq": 1, "num_attention_heads": 16, "num_key_value_heads": 16,
        "n_routed_experts": 64, "n_shared_experts": 2, "num_experts_per_tok": 6,
        "n_group": 1, "topk_group": 1, "topk_method": "greedy", "scoring_func": "softmax",
        "routed_scaling_factor": 1.0, "norm_topk_prob": False, "q_lora_rank": None,
        "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
        "v_head_dim": 128, "rope_theta": 10000.0, "max_position_embeddings": 163840,
        "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
                         "beta_fast": 32, "beta_slow": 1, "mscale": 0.707,
                         "mscale_all_dim": 0.707},
        "rms_norm_eps": 1e-6, "tie_word_embeddings": False, "bos_token_id": 100000,
        "eos_token_id": 100001, "torch_dtype": "bfloat16"},
    # the shapes of tests/golden/deepseek/v3-tiny (its 512-token vocabulary fits
    # tests/data/tiny-chat's tokenizer)
    "deepseek-v3-tiny": {
        "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
        "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128,
        "moe_intermediate_size": 32, "num_hidden_layers": 3, "first_k_dense_replace": 1,
        "moe_layer_freq": 1, "num_attention_heads": 4, "num_key_value_heads": 4,
        "n_routed_experts": 8, "n_shared_experts": 1, "num_experts_per_tok": 2, "n_group": 4,
        "topk_group": 2, "scoring_func": "sigmoid", "routed_scaling_factor": 2.5,
        "norm_topk_prob": True, "topk_method": "noaux_tc", "q_lora_rank": 32,
        "kv_lora_rank": 32, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "v_head_dim": 16,
        "rope_theta": 10000.0, "max_position_embeddings": 256, "rms_norm_eps": 1e-6,
        "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 1,
        "num_nextn_predict_layers": 0, "torch_dtype": "bfloat16"},
}


def tensors(c):
    """(name, shape, kind) in checkpoint order; kind "rand", "ones" or "zero" (or "eye",
    "copy:NAME" for the MTP layer's)."""
    D, V = c["hidden_size"], c["vocab_size"]
    yield "model.embed_tokens.weight", (V, D), "rand"
    L = c["num_hidden_layers"]
    for i in range(L):
        yield from layer(c, i, f"model.layers.{i}.")
    yield "model.norm.weight", (D,), "ones"
    yield "lm_head.weight", (V, D), "rand"
    for i in range(L, L + c.get("num_nextn_predict_layers", 0)):  # the MTP layer
        p = f"model.layers.{i}."
        yield from layer(c, i, p)
        yield p + "enorm.weight", (D,), "ones"
        yield p + "hnorm.weight", (D,), "ones"
        yield p + "eh_proj.weight", (D, 2 * D), "eye" if c.get("bigram") else "rand"
        yield p + "embed_tokens.weight", (V, D), "copy:model.embed_tokens.weight"
        yield p + "shared_head.norm.weight", (D,), "ones"
        yield p + "shared_head.head.weight", (V, D), "copy:lm_head.weight"


def layer(c, i, p):
    """Decoder layer i's tensors; with c["bigram"] its output projections are zero."""
    D = c["hidden_size"]
    out = "zero" if c.get("bigram") else "rand"
    yield p + "input_layernorm.weight", (D,), "ones"
    yield p + "post_attention_layernorm.weight", (D,), "ones"
    a = p + "self_attn."
    if c["model_type"] == "llama":
        H, KV = c["num_attention_heads"], c["num_key_value_heads"]
        hd = D // H
        yield a + "q_proj.weight", (H * hd, D), "rand"
        yield a + "k_proj.weight", (KV * hd, D), "rand"
        yield a + "v_proj.weight", (KV * hd, D), "rand"
        yield a + "o_proj.weight", (D, H * hd), out
    else:
        H, R, QL = c["num_attention_heads"], c["kv_lora_rank"], c.get("q_lora_rank")
        nope, rope, vd = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
        if QL:
            yield a + "q_a_proj.weight", (QL, D), "rand"
            yield a + "q_a_layernorm.weight", (QL,), "ones"
            yield a + "q_b_proj.weight", (H * (nope + rope), QL), "rand"
        else:
            yield a + "q_proj.weight", (H * (nope + rope), D), "rand"
        yield a + "kv_a_proj_with_mqa.weight", (R + rope, D), "rand"
        yield a + "kv_a_layernorm.weight", (R,), "ones"
        yield a + "kv_b_proj.weight", (H * (nope + vd), R), "rand"
        yield a + "o_proj.weight", (D, H * vd), out

    def mlp(q, F):
        yield q + "gate_proj.weight", (F, D), "rand"
        yield q + "up_proj.weight", (F, D), "rand"
        yield q + "down_proj.weight", (D, F), out

    if not (c.get("n_routed_experts") and i >= c.get("first_k_dense_replace", 0)):
        yield from mlp(p + "mlp.", c["intermediate_size"])
        return
    E = c["n_routed_experts"]
    yield p + "mlp.gate.weight", (E, D), "rand"
    if c.get("topk_method") == "noaux_tc":
        yield p + "mlp.gate.e_score_correction_bias", (E,), "f32zero"
    for e in range(E):
        yield from mlp(p + f"mlp.experts.{e}.", c["moe_intermediate_size"])
    yield from mlp(p + "mlp.shared_experts.", c["moe_intermediate_size"] * c["n_shared_experts"])


# Janus-Pro-7B's: the 1B's with the widths and depth (LlamaConfig defaults its config.json
# leaves out, written out)
CONFIGS["janus-pro-7b-lm"] = dict(CONFIGS["janus-pro-1b-lm"], hidden_size=4096,
                                  intermediate_size=11008, num_hidden_layers=30,
                                  num_attention_heads=32, num_key_value_heads=32)


def janus_towers(D):
    return {
        "vision_config": {"cls": "CLIPVisionTower", "model_type": "vision", "params": {
            "image_size": 384, "model_name": "siglip_large_patch16_384", "select_feature": "same",
            "select_layer": -1}},
        "aligner_config": {"cls": "MlpProjector", "model_type": "aligner", "params": {
            "depth": 2, "input_dim": 1024, "n_embed": D, "projector_type": "mlp_gelu"}},
        "gen_vision_config": {"cls": "VQ-16", "model_type": "gen_vision", "params": {
            "image_token_size": 16384, "n_embed": 8}},
        "gen_aligner_config": {"cls": "MlpProjector", "model_type": "gen_aligner", "params": {
            "depth": 2, "input_dim": 8, "n_embed": D, "projector_type": "mlp_gelu"}},
        "gen_head_config": {"cls": "vision_head", "model_type": "gen_head", "params": {
            "image_token_embed": D, "image_token_size": 16384, "n_embed": D}},
    }


def janus_tensors(D):
    """Janus-Pro's towers with the official names: SigLIP-L/16 at 384 px, the aligners,
    the generation head and embedding, and the VQ-16 decoder (ch 128, ch_mult 1,1,2,2,4)."""
    v = "vision_model.vision_tower."
    yield v + "patch_embed.proj.weight", (1024, 3, 16, 16), "rand"
    yield v + "patch_embed.proj.bias", (1024,), "ones"
    yield v + "pos_embed", (1, 576, 1024), "rand"
    for i in range(24):
        b = v + f"blocks.{i}."
        for n, s in (("norm1", 1024), ("norm2", 1024)):
            yield b + n + ".weight", (s,), "ones"
            yield b + n + ".bias", (s,), "ones"
        for n, o, k in (("attn.qkv", 3072, 1024), ("attn.proj", 1024, 1024),
                        ("mlp.fc1", 4096, 1024), ("mlp.fc2", 1024, 4096)):
            yield b + n + ".weight", (o, k), "rand"
            yield b + n + ".bias", (o,), "ones"
    yield v + "norm.weight", (1024,), "ones"
    yield v + "norm.bias", (1024,), "ones"
    for p, i0 in (("aligner", 1024), ("gen_aligner", 8)):
        yield f"{p}.layers.0.weight", (D, i0), "rand"
        yield f"{p}.layers.0.bias", (D,), "ones"
        yield f"{p}.layers.2.weight", (D, D), "rand"
        yield f"{p}.layers.2.bias", (D,), "ones"
    yield "gen_embed.weight", (16384, 8), "rand"
    yield "gen_head.output_mlp_projector.weight", (D, D), "rand"
    yield "gen_head.output_mlp_projector.bias", (D,), "ones"
    yield "gen_head.vision_head.weight", (16384, D), "rand"
    yield "gen_head.vision_head.bias", (16384,), "ones"
    g = "gen_vision_model."
    yield g + "quantize.embedding.weight", (16384, 8), "rand"
    yield g + "post_quant_conv.weight", (256, 8, 1, 1), "rand"
    yield g + "post_quant_conv.bias", (256,), "ones"
    d = g + "decoder."

    def res(p, cin, cout):
        for n, c in (("norm1", cin), ("norm2", cout)):
            yield p + n + ".weight", (c,), "ones"
            yield p + n + ".bias", (c,), "ones"
        yield p + "conv1.weight", (cout, cin, 3, 3), "rand"
        yield p + "conv1.bias", (cout,), "ones"
        yield p + "conv2.weight", (cout, cout, 3, 3), "rand"
        yield p + "conv2.bias", (cout,), "ones"
        if cin != cout:
            yield p + "nin_shortcut.weight", (cout, cin, 1, 1), "rand"
            yield p + "nin_shortcut.bias", (cout,), "ones"

    def attn(p, c):
        yield p + "norm.weight", (c,), "ones"
        yield p + "norm.bias", (c,), "ones"
        for n in ("q", "k", "v", "proj_out"):
            yield p + n + ".weight", (c, c, 1, 1), "rand"
            yield p + n + ".bias", (c,), "ones"

    yield d + "conv_in.weight", (512, 256, 3, 3), "rand"
    yield d + "conv_in.bias", (512,), "ones"
    yield from res(d + "mid.0.", 512, 512)
    yield from attn(d + "mid.1.", 512)
    yield from res(d + "mid.2.", 512, 512)
    cin = 512
    for lvl, cout in enumerate((512, 256, 256, 128, 128)):
        for r in range(3):
            yield from res(d + f"conv_blocks.{lvl}.res.{r}.", cin, cout)
            cin = cout
            if lvl == 0:
                yield from attn(d + f"conv_blocks.{lvl}.attn.{r}.", cin)
        if lvl != 4:
            yield d + f"conv_blocks.{lvl}.upsample.conv.weight", (cin, cin, 3, 3), "rand"
            yield d + f"conv_blocks.{lvl}.upsample.conv.bias", (cin,), "ones"
    yield d + "norm_out.weight", (128,), "ones"
    yield d + "norm_out.bias", (128,), "ones"
    yield d + "conv_out.weight", (3, 128, 3, 3), "rand"
    yield d + "conv_out.bias", (3,), "ones"


def bf16(a):
    u = a.astype(np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def nbytes(shape, kind):
    return int(np.prod(shape)) * (4 if kind == "f32zero" else 2)


def value(shape, kind, rng, made):
    """A tensor's bytes by its kind (see tensors()); made keeps the copies' sources."""
    if kind == "f32zero":
        return np.zeros(shape, np.float32).tobytes()
    if kind.startswith("copy:"):
        return made[kind[5:]]
    a = {"ones": lambda: np.ones(shape, np.float32),
         "zero": lambda: np.zeros(shape, np.float32),
         "eye": lambda: np.eye(shape[0], shape[1], dtype=np.float32),
         "rand": lambda: rng.standard_normal(shape, np.float32) * 0.02}[kind]()
    return bf16(a).tobytes()


def write_shard(path, items, rng, made, sources, sparse):
    header, off = {}, 0
    for name, shape, kind in items:
        n = nbytes(shape, kind)
        header[name] = {"dtype": "F32" if kind == "f32zero" else "BF16", "shape": list(shape),
                        "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        if sparse:
            f.truncate(8 + len(h) + off)
        for name, shape, kind in [] if sparse else items:
            b = value(shape, kind, rng, made)
            if name in sources:
                made[name] = b
            f.write(b)
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(CONFIGS) + ["janus-pro-1b", "janus-pro-7b"])
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, help="fewer layers than the real model")
    ap.add_argument("--mtp", action="store_true", help="a multi-token prediction layer (DeepSeek)")
    ap.add_argument("--bigram", action="store_true", help="layers that add nothing (see above)")
    ap.add_argument("--sparse", action="store_true", help="headers only, the data a hole")
    a = ap.parse_args()
    janus = a.model in ("janus-pro-1b", "janus-pro-7b")
    c = dict(CONFIGS[a.model + "-lm" if janus else a.model])
    if a.layers:
        c["num_hidden_layers"] = a.layers
    if a.mtp:
        if not c["model_type"].startswith("deepseek"):
            sys.exit("--mtp: only DeepSeek models have a multi-token prediction layer")
        c["num_nextn_predict_layers"] = 1
    note = "random weights with the published shapes, from tools/gen_checkpoint.py"
    if a.sparse:
        note = "the published shapes, no weights (--sparse), from tools/gen_checkpoint.py"
    if a.bigram:
        c["bigram"] = True
        note += "; --bigram: the layers add nothing"
    items = list(tensors(c))
    c.pop("bigram", None)
    if janus:  # the language model under language_model.*, the towers around it
        items = [("language_model." + n, s, nm) for n, s, nm in items] + \
            list(janus_tensors(c["hidden_size"]))
        lc = {k: c[k] for k in c if k not in ("architectures",)}
        c = {"architectures": ["MultiModalityCausalLM"], "model_type": "multi_modality",
             "language_config": lc, **janus_towers(c["hidden_size"])}
    c["vkseek_note"] = note
    os.makedirs(a.out, exist_ok=True)
    shards, cur, size = [], [], 0
    for it in items:
        n = nbytes(it[1], it[2])
        if cur and size + n > SHARD_BYTES:
            shards.append(cur)
            cur, size = [], 0
        cur.append(it)
        size += n
    shards.append(cur)
    rng = np.random.default_rng(1234)
    names = [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
    made, sources = {}, {k[5:] for _, _, k in items if k.startswith("copy:")}
    for name, sh in zip(names, shards):
        write_shard(os.path.join(a.out, name), sh, rng, made, sources, a.sparse)
    if len(shards) == 1:
        os.replace(os.path.join(a.out, names[0]), os.path.join(a.out, "model.safetensors"))
    else:
        wm = {t[0]: n for n, sh in zip(names, shards) for t in sh}
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": wm}, f, indent=1)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    total = sum(int(np.prod(t[1])) for t in items)
    print(f"{a.out}: {a.model}, {total / 1e9:.3f} B parameters, {len(shards)} file(s)")


if __name__ == "__main__":
    sys.exit(main())
