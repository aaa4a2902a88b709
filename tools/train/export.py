"""Writes the model as a Hugging Face-style directory: config.json, model.safetensors (bf16,
as Janus-Pro is published; the router's correction bias f32, as in DeepSeek-V3), written to
a temporary name and renamed."""
import json
import os
import struct

import torch


def save_safetensors(tensors, path):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        if t.dtype == torch.bfloat16:
            data, dt = t.view(torch.int16).numpy().tobytes(), "BF16"
        else:
            data, dt = t.float().numpy().tobytes(), "F32"
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def export(model, cfg, directory):
    os.makedirs(directory, exist_ok=True)
    tensors = {}
    for name, t in model.state_dict().items():
        keep_f32 = name.endswith("e_score_correction_bias")
        tensors[name] = t.float() if keep_f32 else t.to(torch.bfloat16)
    save_safetensors(tensors, os.path.join(directory, "model.safetensors"))
    tmp = os.path.join(directory, "config.json.tmp")
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(directory, "config.json"))
