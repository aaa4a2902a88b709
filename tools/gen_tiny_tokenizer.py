#!/usr/bin/python3
"""Writes tests/data/tiny-chat/tokenizer.json and tokenizer_config.json: a byte-level BPE
tokenizer small enough for the 512-token DeepSeek-V3 test model (tests/golden/deepseek/
v3-tiny), with DeepSeek's special tokens, so `vkseek run` and `vkseek chat` can be tested
end to end on real weights. The weights and config are symlinks to the golden.

Ids: 0 BOS, 1 EOS, 2 pad, 3..258 the 256 byte symbols, then a few merges, then
<｜User｜>, <｜Assistant｜>, <think>, </think>."""
import json, os

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "tiny-chat")


def byte_symbols():
    """GPT-2's byte-to-unicode table: printable bytes map to themselves."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def main():
    sym = byte_symbols()
    vocab = {"<｜begin▁of▁sentence｜>": 0, "<｜end▁of▁sentence｜>": 1, "<｜▁pad▁｜>": 2}
    for b in range(256):
        vocab[sym[b]] = 3 + b
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    specials = ["<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"]
    added = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": i < 3} for c, i in list(vocab.items())[:3]]
    for s in specials:
        vocab[s] = len(vocab)
        added.append({"id": vocab[s], "content": s, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": False})
    assert len(vocab) <= 512
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
    with open(os.path.join(OUT, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
    with open(os.path.join(OUT, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
