"""Byte-level BPE: trains merges on a corpus, encodes text exactly as the vkseek tokenizer does
for the tokenizer.json this module writes (added tokens split out first, then GPT-2's split,
bytes mapped to GPT-2's printable symbols, merges applied by rank). The corpus is ASCII, so
GPT-2's \\p{L} and \\p{N} classes reduce to [A-Za-z] and [0-9]."""
import json
import re

BOS, EOS, PAD = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"
SPLIT = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")


def byte_symbols():
    """GPT-2's byte-to-unicode table: printable bytes stand for themselves."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


SYM = byte_symbols()


def words(text):
    return ["".join(SYM[b] for b in w.encode()) for w in SPLIT.findall(text)]


def train(corpus, n_merges):
    """Merges learnt from a list of texts: the most frequent adjacent pair each round, ties
    broken by the pair's text so the result does not depend on dict order."""
    freq = {}
    for text in corpus:
        for w in words(text):
            freq[w] = freq.get(w, 0) + 1
    seqs = {w: list(w) for w in freq}
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for w, s in seqs.items():
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + freq[w]
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        if best[1] < 2:
            break
        a, b = best[0]
        merges.append((a, b))
        for w, s in seqs.items():
            i, out = 0, []
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    return merges


class Tokenizer:
    def __init__(self, merges, specials):
        self.vocab = {BOS: 0, EOS: 1, PAD: 2}
        for b in range(256):
            self.vocab[SYM[b]] = 3 + b
        for a, b in merges:
            self.vocab.setdefault(a + b, len(self.vocab))
        self.merges = merges
        self.rank = {m: i for i, m in enumerate(merges)}
        self.added = [BOS, EOS, PAD] + list(specials)
        for s in specials:
            self.vocab[s] = len(self.vocab)
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.added_re = re.compile("(" + "|".join(re.escape(s) for s in
                                                  sorted(self.added, key=len, reverse=True)) + ")")
        self.cache = {}

    def __len__(self):
        return len(self.vocab)

    def id(self, token):
        return self.vocab[token]

    def bpe(self, w):
        if w in self.cache:
            return self.cache[w]
        s = list(w)
        while len(s) > 1:
            ranked = [(self.rank.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(s, s[1:]))]
            r, i = min(ranked)
            if r == 1 << 30:
                break
            s = s[:i] + [s[i] + s[i + 1]] + s[i + 2:]
        ids = [self.vocab[t] for t in s]
        self.cache[w] = ids
        return ids

    def encode(self, text):
        ids = []
        for part in self.added_re.split(text):
            if part in self.vocab and part in self.added:
                ids.append(self.vocab[part])
            elif part:
                for w in words(part):
                    ids.extend(self.bpe(w))
        return ids

    def decode(self, ids):
        inv = {v: k for k, v in SYM.items()}
        out = bytearray()
        for i in ids:
            t = self.id_to_token[i]
            if t in self.added:
                out += t.encode()
            else:
                out += bytes(inv[c] for c in t)
        return out.decode("utf-8", "replace")

    def save(self, directory):
        added = [{"id": self.vocab[c], "content": c, "single_word": False, "lstrip": False,
                  "rstrip": False, "normalized": False, "special": c in (BOS, EOS, PAD)}
                 for c in self.added]
        tok = {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                              "use_regex": True},
            "post_processor": {"type": "ByteLevel", "add_prefix_space": True,
                               "trim_offsets": False, "use_regex": True},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                        "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None,
                      "continuing_subword_prefix": None, "end_of_word_suffix": None,
                      "fuse_unk": False, "byte_fallback": False, "vocab": self.vocab,
                      "merges": [a + " " + b for a, b in self.merges]},
        }
        with open(f"{directory}/tokenizer.json", "w", encoding="utf-8") as f:
            json.dump(tok, f, ensure_ascii=False, indent=1)
        cfg = {"add_bos_token": True, "add_eos_token": False, "bos_token": BOS, "eos_token": EOS,
               "pad_token": PAD, "model_max_length": 1024, "tokenizer_class": "LlamaTokenizerFast"}
        with open(f"{directory}/tokenizer_config.json", "w", encoding="utf-8") as f:
            json.dump(cfg, f, ensure_ascii=False, indent=1)
