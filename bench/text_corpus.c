/* text_corpus.c: the benchmark corpus (see text_corpus.h). Paragraph kinds are drawn with
 * fixed weights from a small xorshift generator; a share of the words are invented syllable strings so
 * the tokenizer's pre-token cache sees misses as it would on real, varied text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/text_corpus.h"

typedef struct {
    char *p;
    size_t n, cap;
    uint32_t rng;
} gen;

/* xorshift32: consecutive draws of a plain LCG were visibly correlated here. */
static uint32_t rnd(gen *g, uint32_t n)
{
    uint32_t x = g->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    g->rng = x;
    return (uint32_t)(((uint64_t)x * n) >> 32);
}

/* Appends s unless that would pass the capacity; returns 0 when full. */
static int put(gen *g, const char *s)
{
    size_t k = strlen(s);
    if (g->n + k >= g->cap) return 0;
    memcpy(g->p + g->n, s, k);
    g->n += k;
    return 1;
}

#define PICK(g, list) (list)[rnd(g, sizeof(list) / sizeof *(list))]

static const char *words[] = {
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by",
    "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an",
    "had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there",
    "been", "if", "more", "when", "will", "would", "who", "so", "no", "model", "tokenizer",
    "attention", "weights", "layer", "memory", "vector", "matrix", "training", "language",
    "network", "gradient", "inference", "sequence", "probability", "distribution", "expert",
    "mixture", "latent", "compression", "reasoning", "benchmark", "performance", "throughput",
    "don't", "it's", "we're", "they've", "I'm", "you'll", "he'd", "Hello", "World", "However",
};
static const char *syllables[] = {"ka", "ri", "mon", "tel", "za", "quo", "ex", "ph", "lin",
                                  "dra", "ves", "um", "or", "th", "ei", "ack", "sto", "ny"};
static const char *accented[] = {"café", "naïve", "résumé", "Ångström", "façade", "jalapeño",
                                 "Zürich", "São Paulo", "tiếng Việt", "crème brûlée"};
static const char *cyrillic[] = {"привет", "мир", "модель", "данные", "язык", "Москва"};
static const char *hanzi[] = {"的", "一", "是", "不", "了", "人", "我", "在", "有", "他", "这", "中",
                              "大", "来", "上", "国", "个", "到", "说", "们", "为", "子", "和", "你",
                              "地", "出", "道", "也", "时", "年", "模型", "深度", "求索", "语言",
                              "推理", "数据", "训练", "参数", "专家", "注意力"};
static const char *kana[] = {"これは", "テスト", "です", "日本語", "の", "文章", "を", "書きます",
                             "トークナイザー", "ひらがな", "カタカナ", "と", "漢字"};
static const char *cjk_punct[] = {"，", "。", "、", "！", "？", "：", "（", "）"};
static const char *emoji[] = {"😀", "🚀", "👍🏽", "❤️", "🎉", "🤖", "👨‍👩‍👧‍👦", "🇯🇵", "1️⃣", "🦙", "✅", "🔥"};
static const char *code_c[] = {
    "for (int i = 0; i < n; i++) {\n", "    if (x[i] > max) max = x[i];\n", "}\n",
    "static float dot(const float *a, const float *b, int n)\n", "    return sum / (float)n;\n",
    "#include <stdio.h>\n", "\tprintf(\"%d\\n\", count);\n", "    uint32_t h = 0x9E3779B9u ^ seed;\n",
    "    while (p != NULL && p->next) p = p->next;\n", "/* merge the lowest-rank pair first */\n"};
static const char *code_py[] = {
    "def forward(self, x):\n", "    h = self.norm(x)\n", "    return x + self.mlp(h)\n",
    "import numpy as np\n", "for k, v in enumerate(items):\n", "        print(f\"{k}: {v:.3f}\")\n",
    "class Tokenizer:\n", "    # TODO: handle the empty string\n", "    y = np.exp(x - x.max())\n",
    "    assert len(ids) == 42, 'bad length'\n"};

static void word(gen *g, int cap)
{
    if (rnd(g, 10) < 3) { /* an invented word: 2-4 syllables */
        char w[32] = "";
        int k = 2 + (int)rnd(g, 3);
        for (int i = 0; i < k; i++) strcat(w, PICK(g, syllables));
        if (cap) w[0] = (char)(w[0] - 32);
        put(g, w);
        return;
    }
    const char *w = PICK(g, words);
    if (cap && w[0] >= 'a' && w[0] <= 'z') {
        char c[2] = {(char)(w[0] - 32), 0};
        put(g, c);
        put(g, w + 1);
    } else
        put(g, w);
}

static void prose(gen *g)
{
    int sentences = 2 + (int)rnd(g, 5);
    for (int s = 0; s < sentences; s++) {
        int n = 5 + (int)rnd(g, 14);
        for (int i = 0; i < n; i++) {
            if (i) put(g, rnd(g, 12) == 0 ? ", " : " ");
            uint32_t r = rnd(g, 100);
            if (r < 3) put(g, PICK(g, accented));
            else if (r < 5) put(g, PICK(g, cyrillic));
            else if (r < 8) put(g, PICK(g, emoji));
            else if (r < 11) {
                char num[24];
                snprintf(num, sizeof num, rnd(g, 4) ? "%u" : "%u.%02u", rnd(g, 100000), rnd(g, 100));
                put(g, num);
            } else
                word(g, i == 0);
        }
        put(g, rnd(g, 6) == 0 ? "? " : rnd(g, 8) == 0 ? "! " : ". ");
    }
    put(g, "\n\n");
}

static void code(gen *g)
{
    int py = (int)rnd(g, 2), n = 4 + (int)rnd(g, 8);
    for (int i = 0; i < n; i++) put(g, py ? PICK(g, code_py) : PICK(g, code_c));
    put(g, "\n");
}

static void cjk(gen *g)
{
    int jp = rnd(g, 3) == 0, n = 10 + (int)rnd(g, 40);
    for (int i = 0; i < n; i++) {
        put(g, jp ? PICK(g, kana) : PICK(g, hanzi));
        if (rnd(g, 8) == 0) put(g, PICK(g, cjk_punct));
        if (rnd(g, 25) == 0) put(g, "DeepSeek");
        if (rnd(g, 30) == 0) put(g, PICK(g, emoji));
    }
    put(g, "。\n\n");
}

char *text_corpus(size_t bytes, uint32_t seed, size_t *len)
{
    gen g = {malloc(bytes + 1), 0, bytes + 1, seed ? seed : 1}; /* xorshift needs a non-zero state */
    if (!g.p) return NULL;
    for (;;) {
        size_t before = g.n;
        uint32_t r = rnd(&g, 100);
        if (r < 50) prose(&g);
        else if (r < 75) code(&g);
        else cjk(&g);
        /* A paragraph that did not fit whole ends the corpus at the previous one (pieces
         * that fit inside it may have been written). */
        if (g.n + 512 >= g.cap) {
            g.n = before;
            break;
        }
    }
    g.p[g.n] = 0;
    *len = g.n;
    return g.p;
}
