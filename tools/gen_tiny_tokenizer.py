#!/usr/bin/python3
"""Writes tokenizer.json and tokenizer_config.json for the test model directories: byte-level
BPE tokenizers small enough for the golden test models, so the CLI runs end to end on real
weights (the weights and config.json are symlinks to the goldens).

  tiny-chat:  the 512-token DeepSeek-V3 golden; DeepSeek's chat tokens
  tiny-janus: the 640-token Janus golden; Janus' image and role tokens

Ids: 0 BOS, 1 EOS, 2 pad, 3..258 the 256 byte symbols, a few merges, then the specials."""
import json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "train"))
from bpe import byte_symbols  # noqa: E402  (GPT-2's byte-to-unicode table)

DATA = os.path.join(os.path.dirname(__file__), "..", "tests", "data")
SPECIALS = {
    "tiny-chat": (512, ["<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"]),
    "tiny-janus": (640, ["<image_placeholder>", "<begin_of_image>", "<end_of_image>",
                         "<|User|>", "<|Assistant|>"]),
}


def write(name):
    limit, specials = SPECIALS[name]
    out = os.path.join(DATA, name)
    sym = byte_symbols()
    vocab = {"<｜begin▁of▁sentence｜>": 0, "<｜end▁of▁sentence｜>": 1, "<｜▁pad▁｜>": 2}
    for b in range(256):
        vocab[sym[b]] = 3 + b
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    added = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": i < 3} for c, i in list(vocab.items())[:3]]
    for s in specials:
        vocab[s] = len(vocab)
        added.append({"id": vocab[s], "content": s, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": False})
    assert len(vocab) <= limit
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": []},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }
    cfg = {"add_bos_token": True, "add_eos_token": False,
           "bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>",
           "tokenizer_class": "LlamaTokenizerFast",
           "chat_template": "{{bos_token}}{% for m in messages %}{% if m['role'] == 'user' %}<｜User｜>{{m['content']}}{% else %}<｜Assistant｜>{{m['content']}}<｜end▁of▁sentence｜>{% endif %}{% endfor %}{% if add_generation_prompt %}<｜Assistant｜><think>\\n{% endif %}{# strips </think> #}"}
    if name == "tiny-janus":
        del cfg["chat_template"]  # Janus' format comes from its model_type
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    for name in sys.argv[1:] or sorted(SPECIALS):
        write(name)
