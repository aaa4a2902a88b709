#!/usr/bin/python3
"""Writes a random-weight checkpoint with the exact shapes of a published model, for
benchmarks (never committed: they are gigabytes). Values ~ N(0, 0.02), norms 1, BF16,
Hugging Face names, config.json as published (plus a note that the weights are random).

  tools/gen_checkpoint.py janus-pro-1b-lm OUT_DIR
  tools/gen_checkpoint.py janus-pro-1b OUT_DIR      (the whole Janus: towers and VQ decoder)
  tools/gen_checkpoint.py deepseek-v2-lite OUT_DIR [--layers N]

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
}


def tensors(c):
    """(name, shape, is_norm) in checkpoint order."""
    D, V = c["hidden_size"], c["vocab_size"]
    yield "model.embed_tokens.weight", (V, D), False
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        yield p + "input_layernorm.weight", (D,), True
        yield p + "post_attention_layernorm.weight", (D,), True
        if c["model_type"] == "llama":
            H, KV = c["num_attention_heads"], c["num_key_value_heads"]
            hd = D // H
            yield p + "self_attn.q_proj.weight", (H * hd, D), False
            yield p + "self_attn.k_proj.weight", (KV * hd, D), False
            yield p + "self_attn.v_proj.weight", (KV * hd, D), False
            yield p + "self_attn.o_proj.weight", (D, H * hd), False
        else:
            H, R = c["num_attention_heads"], c["kv_lora_rank"]
            nope, rope, vd = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
            yield p + "self_attn.q_proj.weight", (H * (nope + rope), D), False
            yield p + "self_attn.kv_a_proj_with_mqa.weight", (R + rope, D), False
            yield p + "self_attn.kv_a_layernorm.weight", (R,), True
            yield p + "self_attn.kv_b_proj.weight", (H * (nope + vd), R), False
            yield p + "self_attn.o_proj.weight", (D, H * vd), False
        moe = c.get("n_routed_experts") and i >= c.get("first_k_dense_replace", 0)
        if not moe:
            F = c["intermediate_size"]
            for n, s in (("gate_proj", (F, D)), ("up_proj", (F, D)), ("down_proj", (D, F))):
                yield p + f"mlp.{n}.weight", s, False
        else:
            F, E = c["moe_intermediate_size"], c["n_routed_experts"]
            yield p + "mlp.gate.weight", (E, D), False
            for e in range(E):
                for n, s in (("gate_proj", (F, D)), ("up_proj", (F, D)), ("down_proj", (D, F))):
                    yield p + f"mlp.experts.{e}.{n}.weight", s, False
            S = F * c["n_shared_experts"]
            for n, s in (("gate_proj", (S, D)), ("up_proj", (S, D)), ("down_proj", (D, S))):
                yield p + f"mlp.shared_experts.{n}.weight", s, False
    yield "model.norm.weight", (D,), True
    yield "lm_head.weight", (V, D), False


JANUS_TOWERS = {
    "vision_config": {"cls": "CLIPVisionTower", "model_type": "vision", "params": {
        "image_size": 384, "model_name": "siglip_large_patch16_384", "select_feature": "same",
        "select_layer": -1}},
    "aligner_config": {"cls": "MlpProjector", "model_type": "aligner", "params": {
        "depth": 2, "input_dim": 1024, "n_embed": 2048, "projector_type": "mlp_gelu"}},
    "gen_vision_config": {"cls": "VQ-16", "model_type": "gen_vision", "params": {
        "image_token_size": 16384, "n_embed": 8}},
    "gen_aligner_config": {"cls": "MlpProjector", "model_type": "gen_aligner", "params": {
        "depth": 2, "input_dim": 8, "n_embed": 2048, "projector_type": "mlp_gelu"}},
    "gen_head_config": {"cls": "vision_head", "model_type": "gen_head", "params": {
        "image_token_embed": 2048, "image_token_size": 16384, "n_embed": 2048}},
}


def janus_tensors(D):
    """Janus-Pro-1B's towers with the official names: SigLIP-L/16 at 384 px, the aligners,
    the generation head and embedding, and the VQ-16 decoder (ch 128, ch_mult 1,1,2,2,4)."""
    v = "vision_model.vision_tower."
    yield v + "patch_embed.proj.weight", (1024, 3, 16, 16), False
    yield v + "patch_embed.proj.bias", (1024,), True
    yield v + "pos_embed", (1, 576, 1024), False
    for i in range(24):
        b = v + f"blocks.{i}."
        for n, s in (("norm1", 1024), ("norm2", 1024)):
            yield b + n + ".weight", (s,), True
            yield b + n + ".bias", (s,), True
        for n, o, k in (("attn.qkv", 3072, 1024), ("attn.proj", 1024, 1024),
                        ("mlp.fc1", 4096, 1024), ("mlp.fc2", 1024, 4096)):
            yield b + n + ".weight", (o, k), False
            yield b + n + ".bias", (o,), True
    yield v + "norm.weight", (1024,), True
    yield v + "norm.bias", (1024,), True
    for p, i0 in (("aligner", 1024), ("gen_aligner", 8)):
        yield f"{p}.layers.0.weight", (D, i0), False
        yield f"{p}.layers.0.bias", (D,), True
        yield f"{p}.layers.2.weight", (D, D), False
        yield f"{p}.layers.2.bias", (D,), True
    yield "gen_embed.weight", (16384, 8), False
    yield "gen_head.output_mlp_projector.weight", (D, D), False
    yield "gen_head.output_mlp_projector.bias", (D,), True
    yield "gen_head.vision_head.weight", (16384, D), False
    yield "gen_head.vision_head.bias", (16384,), True
    g = "gen_vision_model."
    yield g + "quantize.embedding.weight", (16384, 8), False
    yield g + "post_quant_conv.weight", (256, 8, 1, 1), False
    yield g + "post_quant_conv.bias", (256,), True
    d = g + "decoder."

    def res(p, cin, cout):
        for n, c in (("norm1", cin), ("norm2", cout)):
            yield p + n + ".weight", (c,), True
            yield p + n + ".bias", (c,), True
        yield p + "conv1.weight", (cout, cin, 3, 3), False
        yield p + "conv1.bias", (cout,), True
        yield p + "conv2.weight", (cout, cout, 3, 3), False
        yield p + "conv2.bias", (cout,), True
        if cin != cout:
            yield p + "nin_shortcut.weight", (cout, cin, 1, 1), False
            yield p + "nin_shortcut.bias", (cout,), True

    def attn(p, c):
        yield p + "norm.weight", (c,), True
        yield p + "norm.bias", (c,), True
        for n in ("q", "k", "v", "proj_out"):
            yield p + n + ".weight", (c, c, 1, 1), False
            yield p + n + ".bias", (c,), True

    yield d + "conv_in.weight", (512, 256, 3, 3), False
    yield d + "conv_in.bias", (512,), True
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
            yield d + f"conv_blocks.{lvl}.upsample.conv.weight", (cin, cin, 3, 3), False
            yield d + f"conv_blocks.{lvl}.upsample.conv.bias", (cin,), True
    yield d + "norm_out.weight", (128,), True
    yield d + "norm_out.bias", (128,), True
    yield d + "conv_out.weight", (3, 128, 3, 3), False
    yield d + "conv_out.bias", (3,), True


def bf16(a):
    u = a.astype(np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def write_shard(path, items, rng):
    header, off = {}, 0
    for name, shape, _ in items:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for name, shape, norm in items:
            a = np.ones(shape, np.float32) if norm else rng.standard_normal(shape, np.float32) * 0.02
            f.write(bf16(a).tobytes())
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(CONFIGS) + ["janus-pro-1b"])
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, help="fewer layers than the real model")
    a = ap.parse_args()
    janus = a.model == "janus-pro-1b"
    c = dict(CONFIGS["janus-pro-1b-lm" if janus else a.model])
    if a.layers:
        c["num_hidden_layers"] = a.layers
    note = "random weights with the published shapes, from tools/gen_checkpoint.py"
    items = list(tensors(c))
    if janus:  # the language model under language_model.*, the towers around it
        items = [("language_model." + n, s, nm) for n, s, nm in items] + \
            list(janus_tensors(c["hidden_size"]))
        lc = {k: c[k] for k in c if k not in ("architectures",)}
        c = {"architectures": ["MultiModalityCausalLM"], "model_type": "multi_modality",
             "language_config": lc, **JANUS_TOWERS}
    c["vkseek_note"] = note
    os.makedirs(a.out, exist_ok=True)
    shards, cur, size = [], [], 0
    for it in items:
        n = int(np.prod(it[1])) * 2
        if cur and size + n > SHARD_BYTES:
            shards.append(cur)
            cur, size = [], 0
        cur.append(it)
        size += n
    shards.append(cur)
    rng = np.random.default_rng(1234)
    names = [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
    for name, sh in zip(names, shards):
        write_shard(os.path.join(a.out, name), sh, rng)
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
