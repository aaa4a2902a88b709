/* tokenizer_pipeline.c: the parts of tokenizer.json around the BPE model (normalizer,
 * pre-tokenizer sequence, decoder, post-processor) and tokenizer_config.json (BOS, EOS).
 * Supports what byte-level BPE tokenizers use; any other component is refused by name,
 * since encoding without it would silently give different ids. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uninorm.h>
#include "text/tok_internal.h"

#define MAX_STAGES 32
#define MAX_DEPTH 8

/* GPT-2's split, which ByteLevel applies itself when use_regex is true. */
static const char gpt2_regex[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

int tk_nfc(const uint8_t *s, size_t n, tk_bytes *out)
{
    out->n = 0;
    if (n == 0) return 0;
    size_t len = out->cap ? out->cap - 1 : 0;
    uint8_t *r = u8_normalize(UNINORM_NFC, s, n, out->cap ? out->p : NULL, &len);
    if (!r) return -1;
    if (r != out->p) { /* did not fit: libunistring allocated a larger buffer */
        free(out->p);
        out->p = r;
        out->cap = len;
    }
    out->n = len;
    return 0;
}

/* A string from the file as it may appear in a one-line message. */
#define SHOW(s) tk_snippet((s), strlen(s), (char[64]){0}, 64)

static const char *type_of(const cJSON *j)
{
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(j, "type");
    return cJSON_IsString(ty) ? ty->valuestring : NULL;
}

static int normalizer(tk_loader *ld, const cJSON *j, int depth)
{
    if (!j || cJSON_IsNull(j)) return 0;
    const char *ty = type_of(j);
    if (!ty) return tk_fail(ld, "normalizer has no type");
    if (strcmp(ty, "NFC") == 0) {
        ld->t->nfc = 1;
        return 0;
    }
    if (strcmp(ty, "Sequence") == 0 && depth < MAX_DEPTH) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "normalizers"), *e;
        if (!cJSON_IsArray(list)) return tk_fail(ld, "normalizer Sequence has no normalizers array");
        cJSON_ArrayForEach(e, list) if (normalizer(ld, e, depth + 1)) return -1;
        return 0;
    }
    return tk_fail(ld, "normalizer \"%s\" is not supported (only NFC, or none)", SHOW(ty));
}

static int split_stage(tk_loader *ld, const cJSON *j, tk_stage *st)
{
    static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                  "Contiguous"};
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(j, "pattern");
    const cJSON *re = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
    const cJSON *lit = cJSON_GetObjectItemCaseSensitive(pat, "String");
    const cJSON *p = re ? re : lit;
    if (!cJSON_IsString(p)) return tk_fail(ld, "Split.pattern is neither {\"Regex\": ..} nor {\"String\": ..}");
    const cJSON *beh = cJSON_GetObjectItemCaseSensitive(j, "behavior");
    if (!cJSON_IsString(beh)) return tk_fail(ld, "Split.behavior is not a string");
    int b = -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(beh->valuestring, names[i]) == 0) b = i;
    if (b < 0) return tk_fail(ld, "Split.behavior \"%s\" is unknown", SHOW(beh->valuestring));
    st->behavior = (tk_behavior)b;
    if (tk_json_bool(ld, j, "Split", "invert", &st->invert)) return -1;
    char msg[400];
    if (p == lit && !p->valuestring[0]) /* HF: an empty string matches nowhere */
        st->re = tk_regex_compile("(?!)", 4, 0, msg, sizeof msg);
    else
        st->re = tk_regex_compile(p->valuestring, strlen(p->valuestring), p == lit, msg, sizeof msg);
    return st->re ? 0 : tk_fail(ld, "Split: %s", msg);
}

static int pre_tokenizer(tk_loader *ld, const cJSON *j, int depth)
{
    tokenizer *t = ld->t;
    const char *ty = type_of(j);
    if (!ty) return tk_fail(ld, "pre_tokenizer has no type");
    if (strcmp(ty, "Sequence") == 0 && depth < MAX_DEPTH) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "pretokenizers"), *e;
        if (!cJSON_IsArray(list)) return tk_fail(ld, "pre_tokenizer Sequence has no pretokenizers array");
        cJSON_ArrayForEach(e, list) if (pre_tokenizer(ld, e, depth + 1)) return -1;
        return 0;
    }
    if (t->n_stages >= MAX_STAGES) return tk_fail(ld, "more than %d pre-tokenizers", MAX_STAGES);
    if (t->n_stages > 0 && t->stages[t->n_stages - 1].byte_level)
        return tk_fail(ld, "pre_tokenizer \"%s\" after ByteLevel is not supported", SHOW(ty));
    tk_stage *st = &t->stages[t->n_stages++];
    char msg[400];
    if (strcmp(ty, "Split") == 0) return split_stage(ld, j, st);
    if (strcmp(ty, "Digits") == 0) {
        /* Rust's char::is_numeric is \p{N}: one digit per piece, or runs (Contiguous). */
        int individual = 0;
        if (tk_json_bool(ld, j, "Digits", "individual_digits", &individual)) return -1;
        st->behavior = individual ? TK_ISOLATED : TK_CONTIGUOUS;
        st->re = tk_regex_compile("\\p{N}", 5, 0, msg, sizeof msg);
        return st->re ? 0 : tk_fail(ld, "Digits: %s", msg);
    }
    if (strcmp(ty, "ByteLevel") == 0) {
        int use_regex = 1;
        st->byte_level = 1;
        st->add_prefix_space = 1; /* HF's defaults for absent fields */
        if (tk_json_bool(ld, j, "ByteLevel", "add_prefix_space", &st->add_prefix_space) ||
            tk_json_bool(ld, j, "ByteLevel", "use_regex", &use_regex))
            return -1;
        if (!use_regex) return 0;
        st->re = tk_regex_compile(gpt2_regex, sizeof gpt2_regex - 1, 0, msg, sizeof msg);
        return st->re ? 0 : tk_fail(ld, "ByteLevel: %s", msg);
    }
    return tk_fail(ld, "pre_tokenizer \"%s\" is not supported (Split, Digits, ByteLevel)", SHOW(ty));
}

/* Only ByteLevel decoding exists here: anything else would decode differently. */
static int decoder(tk_loader *ld, const cJSON *j, int depth)
{
    if (!j || cJSON_IsNull(j)) return 0;
    const char *ty = type_of(j);
    if (ty && strcmp(ty, "ByteLevel") == 0) return 0;
    if (ty && strcmp(ty, "Sequence") == 0 && depth < MAX_DEPTH) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "decoders"), *e;
        if (!cJSON_IsArray(list)) return tk_fail(ld, "decoder Sequence has no decoders array");
        cJSON_ArrayForEach(e, list) if (decoder(ld, e, depth + 1)) return -1;
        return 0;
    }
    return tk_fail(ld, "decoder \"%s\" is not supported (ByteLevel only)", ty ? SHOW(ty) : "?");
}

int tk_load_pipeline(tk_loader *ld, const cJSON *root)
{
    tokenizer *t = ld->t;
    if (normalizer(ld, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), 0)) return -1;
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    if (!(t->stages = calloc(MAX_STAGES, sizeof *t->stages))) return tk_fail(ld, "out of memory");
    if (pre && !cJSON_IsNull(pre) && pre_tokenizer(ld, pre, 0)) return -1;
    if (t->n_stages == 0 || !t->stages[t->n_stages - 1].byte_level)
        return tk_fail(ld, "the pre_tokenizer has no ByteLevel step: not a byte-level BPE tokenizer");
    return decoder(ld, cJSON_GetObjectItemCaseSensitive(root, "decoder"), 0);
}

/* TemplateProcessing's single-sequence template: a special token before $A is BOS. */
static int template_processing(tk_loader *ld, const cJSON *j, int32_t *bos)
{
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(j, "single"), *e;
    if (!cJSON_IsArray(single)) return tk_fail(ld, "TemplateProcessing.single is not an array");
    int seen_text = 0;
    cJSON_ArrayForEach(e, single) {
        if (cJSON_GetObjectItemCaseSensitive(e, "Sequence")) {
            seen_text = 1;
            continue;
        }
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(e, "SpecialToken");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(sp, "id");
        if (!cJSON_IsString(name)) return tk_fail(ld, "TemplateProcessing.single has an unknown item");
        if (seen_text || *bos >= 0)
            return tk_fail(ld, "TemplateProcessing adds tokens other than one BOS before the text; not supported");
        /* The template's own table gives the ids; fall back to the token's name. */
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "special_tokens"),
                                                           name->valuestring);
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(st, "ids");
        int64_t id = -1;
        if (cJSON_IsArray(ids) && cJSON_GetArraySize(ids) == 1) {
            if (tk_json_int(cJSON_GetArrayItem(ids, 0), 0, ld->t->n_ids - 1, &id))
                return tk_fail(ld, "TemplateProcessing: the id of %s is out of range", SHOW(name->valuestring));
        } else
            id = tok_token_id(ld->t, name->valuestring);
        if (id < 0) return tk_fail(ld, "TemplateProcessing: %s is not a token", SHOW(name->valuestring));
        *bos = (int32_t)id;
    }
    return 0;
}

static int post_processor(tk_loader *ld, const cJSON *j, int depth, int32_t *bos)
{
    if (!j || cJSON_IsNull(j)) return 0;
    const char *ty = type_of(j);
    if (ty && strcmp(ty, "ByteLevel") == 0) return 0; /* offsets only: ids unchanged */
    if (ty && strcmp(ty, "TemplateProcessing") == 0) return template_processing(ld, j, bos);
    if (ty && strcmp(ty, "Sequence") == 0 && depth < MAX_DEPTH) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "processors"), *e;
        if (!cJSON_IsArray(list)) return tk_fail(ld, "post_processor Sequence has no processors array");
        cJSON_ArrayForEach(e, list) if (post_processor(ld, e, depth + 1, bos)) return -1;
        return 0;
    }
    return tk_fail(ld, "post_processor \"%s\" is not supported", ty ? SHOW(ty) : "?");
}

int tk_load_post_processor(tk_loader *ld, const cJSON *root, int32_t *template_bos)
{
    *template_bos = -1;
    return post_processor(ld, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), 0, template_bos);
}

/* bos_token / eos_token: a string or {"content": ...}; *id -1 when null, unchanged when
 * absent. */
static int config_token(tk_loader *ld, const cJSON *root, const char *key, int32_t *id)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!j) return 0;
    if (cJSON_IsNull(j)) {
        *id = -1;
        return 0;
    }
    if (cJSON_IsObject(j)) j = cJSON_GetObjectItemCaseSensitive(j, "content");
    if (!cJSON_IsString(j)) return tk_fail(ld, "%s is neither a string nor {\"content\": string}", key);
    char snip[96];
    if ((*id = tok_token_id(ld->t, j->valuestring)) < 0)
        return tk_fail(ld, "%s \"%s\" is not a token of tokenizer.json", key,
                       tk_snippet(j->valuestring, strlen(j->valuestring), snip, sizeof snip));
    return 0;
}

int tk_load_config(tokenizer *t, const char *dir, int32_t template_bos, char *err, size_t errlen)
{
    size_t plen = strlen(dir) + 32;
    char *path = malloc(plen);
    if (!path) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(path, plen, "%s/tokenizer_config.json", dir);
    tk_loader ld = {t, path, err, errlen};
    int missing, rc = -1;
    t->bos = template_bos;
    t->add_bos = template_bos >= 0;
    cJSON *root = tk_read_json(path, &missing, err, errlen);
    if (!root) {
        rc = missing ? 0 : -1; /* the file is optional */
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        tk_fail(&ld, "the top level is not an object");
        goto done;
    }
    int add_bos = -1, add_eos = 0;
    if (config_token(&ld, root, "bos_token", &t->bos) || config_token(&ld, root, "eos_token", &t->eos) ||
        tk_json_bool(&ld, root, "tokenizer_config", "add_bos_token", &add_bos) ||
        tk_json_bool(&ld, root, "tokenizer_config", "add_eos_token", &add_eos))
        goto done;
    if (add_eos) {
        tk_fail(&ld, "add_eos_token is true: appending EOS is not supported");
        goto done;
    }
    if (add_bos < 0) {
        /* Unset: the template decides; Llama tokenizer classes default to adding BOS. */
        const cJSON *cls = cJSON_GetObjectItemCaseSensitive(root, "tokenizer_class");
        add_bos = template_bos >= 0 ||
                  (cJSON_IsString(cls) && strncmp(cls->valuestring, "LlamaTokenizer", 14) == 0);
    }
    t->add_bos = add_bos && t->bos >= 0;
    rc = 0;
done:
    cJSON_Delete(root);
    free(path);
    return rc;
}
