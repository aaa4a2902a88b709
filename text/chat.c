/* chat.c: renders chat messages into prompt text, one function per template family, each
 * written after the official template it mirrors (the Jinja chat_template of the HF
 * checkpoint, or Janus' conversation.py). chat_detect.c picks the family. Never tokenizes. */
#include "text/chat.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "text/tk_buf.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

/* U+FF5C fullwidth bars and U+2581 lower blocks, byte for byte as in tokenizer.json */
#define DS_BOS "<｜begin▁of▁sentence｜>"
#define DS_EOS "<｜end▁of▁sentence｜>"
#define DS_USER "<｜User｜>"
#define DS_ASSISTANT "<｜Assistant｜>"

chat_specials chat_specials_deepseek(void)
{
    chat_specials sp = {DS_BOS, DS_EOS};
    return sp;
}

static int copy_special(char *dst, const tokenizer *t, int32_t id, const char *what, char *err,
                        size_t errlen)
{
    dst[0] = 0;
    if (id < 0) return 0;
    size_t len = 0;
    const char *s = tok_token_text(t, id, &len);
    if (!s || len >= CHAT_MAX_SPECIAL || memchr(s, 0, len)) {
        snprintf(err, errlen, "chat: the tokenizer's %s (id %d) is no usable token string", what,
                 (int)id);
        return -1;
    }
    memcpy(dst, s, len);
    dst[len] = 0;
    return 0;
}

int chat_specials_from_tokenizer(const tokenizer *t, chat_specials *sp, char *err, size_t errlen)
{
    if (copy_special(sp->bos, t, tok_bos(t), "BOS", err, errlen) ||
        copy_special(sp->eos, t, tok_eos(t), "EOS", err, errlen))
        return -1;
    return 0;
}

static const char *const names[] = {"deepseek-v3", "deepseek-r1", "deepseek-v2", "janus"};
#define N_TEMPLATES (int)(sizeof names / sizeof *names)

const char *chat_template_name(chat_template t)
{
    return (int)t >= 0 && (int)t < N_TEMPLATES ? names[t] : "unknown";
}

int chat_template_by_name(const char *name, chat_template *t, char *err, size_t errlen)
{
    for (int i = 0; name && i < N_TEMPLATES; i++)
        if (strcmp(name, names[i]) == 0) {
            *t = (chat_template)i;
            return 0;
        }
    snprintf(err, errlen, "chat: unknown template '%s' (deepseek-v3, deepseek-r1, deepseek-v2, "
             "janus)", name ? name : "(null)");
    return -1;
}

int chat_template_opens_think(chat_template t) { return t == CHAT_DEEPSEEK_R1; }

/* The prompt being built; the first failure sticks and later appends do nothing. */
typedef struct {
    tk_bytes b;
    int failed;
    char *err;
    size_t errlen;
} out_buf;

static void put(out_buf *o, const char *s, size_t n)
{
    if (o->failed) return;
    if (n > CHAT_MAX_PROMPT_BYTES - o->b.n) {
        snprintf(o->err, o->errlen, "chat: the prompt would pass %zu bytes",
                 CHAT_MAX_PROMPT_BYTES);
        o->failed = 1;
    } else if (tk_bytes_put(&o->b, s, n)) {
        snprintf(o->err, o->errlen, "chat: out of memory for a %zu-byte prompt", o->b.n + n);
        o->failed = 1;
    }
}

static void puts_(out_buf *o, const char *s) { put(o, s, strlen(s)); }

static const char *text(const chat_msg *m) { return m->content ? m->content : ""; }

/* R1: an earlier answer is fed back without its reasoning: content.split('</think>')[-1]. */
static const char *after_think(const char *s)
{
    const char *at = s, *hit;
    while ((hit = strstr(at, "</think>")) != NULL) at = hit + strlen("</think>");
    return at;
}

/* DeepSeek-V3 / R1 (tokenizer_config.json of the releases; the distills' is the same up to
 * their BOS): every system message first, joined by blank lines, then the turns. */
static void render_v3(out_buf *o, const chat_msg *m, int n, int gen, int r1,
                      const chat_specials *sp)
{
    puts_(o, sp->bos);
    int first = 1;
    for (int i = 0; i < n; i++)
        if (m[i].role == CHAT_SYSTEM) {
            if (!first) puts_(o, "\n\n");
            puts_(o, text(&m[i]));
            first = 0;
        }
    for (int i = 0; i < n; i++) {
        if (m[i].role == CHAT_USER) {
            puts_(o, DS_USER);
            puts_(o, text(&m[i]));
        } else if (m[i].role == CHAT_ASSISTANT) {
            puts_(o, DS_ASSISTANT);
            puts_(o, r1 ? after_think(text(&m[i])) : text(&m[i]));
            puts_(o, sp->eos);
        }
    }
    if (gen) puts_(o, r1 ? DS_ASSISTANT "<think>\n" : DS_ASSISTANT);
}

/* DeepSeek-V2 / V2-Lite chat: system messages stay where they are. */
static void render_v2(out_buf *o, const chat_msg *m, int n, int gen, const chat_specials *sp)
{
    puts_(o, sp->bos);
    for (int i = 0; i < n; i++) {
        if (m[i].role == CHAT_SYSTEM) {
            puts_(o, text(&m[i]));
            puts_(o, "\n\n");
        } else if (m[i].role == CHAT_USER) {
            puts_(o, "User: ");
            puts_(o, text(&m[i]));
            puts_(o, "\n\n");
        } else {
            puts_(o, "Assistant: ");
            puts_(o, text(&m[i]));
            puts_(o, sp->eos);
        }
    }
    if (gen) puts_(o, "Assistant:");
}

/* Python's str.isspace(): Unicode White_Space plus the separators U+001C..U+001F. */
static int py_space(uint32_t cp) { return tk_is_white_space(cp) || (cp >= 0x1c && cp <= 0x1f); }

/* str.strip() on valid UTF-8: the [*start, *end) left after trimming both ends. */
static void py_strip(const uint8_t *s, size_t n, size_t *start, size_t *end)
{
    size_t a = 0, b = n;
    uint32_t cp;
    int len;
    while (a < b && (len = tk_utf8_next(s + a, b - a, &cp)) > 0 && py_space(cp)) a += (size_t)len;
    while (b > a) {
        size_t c = b - 1;
        while (c > a && (s[c] & 0xC0) == 0x80) c--; /* back to the lead byte */
        if ((len = tk_utf8_next(s + c, b - c, &cp)) <= 0 || !py_space(cp)) break;
        b = c;
    }
    *start = a;
    *end = b;
}

/* Janus: conversation.py get_prompt() for SeparatorStyle.DEEPSEEK with roles <|User|> and
 * <|Assistant|>, sep ["\n\n", eos] by the message's position, an empty message as "role:",
 * the whole stripped (VLChatProcessor), then BOS (its tokenizer adds it; here the text). */
static void render_janus(out_buf *o, const chat_msg *m, int n, int gen, const chat_specials *sp)
{
    out_buf body = {.err = o->err, .errlen = o->errlen};
    int first = 1;
    for (int i = 0; i < n; i++)
        if (m[i].role == CHAT_SYSTEM && text(&m[i])[0]) {
            if (!first) puts_(&body, "\n\n");
            puts_(&body, text(&m[i]));
            first = 0;
        }
    if (!first) puts_(&body, "\n\n");
    int pos = 0; /* index among the turns: conversation.messages excludes the system */
    for (int i = 0; i <= n; i++) {
        const char *role, *msg;
        if (i < n) {
            if (m[i].role == CHAT_SYSTEM) continue;
            role = m[i].role == CHAT_USER ? "<|User|>" : "<|Assistant|>";
            msg = text(&m[i]);
        } else if (gen) {
            role = "<|Assistant|>";
            msg = "";
        } else {
            break;
        }
        puts_(&body, role);
        if (msg[0]) {
            puts_(&body, ": ");
            puts_(&body, msg);
            puts_(&body, pos % 2 == 0 ? "\n\n" : sp->eos);
        } else {
            puts_(&body, ":");
        }
        pos++;
    }
    if (body.failed) {
        o->failed = 1;
    } else {
        size_t a = 0, b = 0;
        if (body.b.n) py_strip(body.b.p, body.b.n, &a, &b);
        puts_(o, sp->bos);
        put(o, (const char *)body.b.p + a, b - a);
    }
    free(body.b.p);
}

int chat_render(chat_template t, const chat_msg *msgs, int n, int add_generation_prompt,
                const chat_specials *sp, char **out, size_t *out_len, char *err, size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    if (n < 0 || n > CHAT_MAX_MESSAGES || (n > 0 && !msgs)) {
        snprintf(err, errlen, "chat: %d messages (0 to %d)", n, CHAT_MAX_MESSAGES);
        return -1;
    }
    if ((int)t < 0 || (int)t >= N_TEMPLATES) {
        snprintf(err, errlen, "chat: unknown template %d", (int)t);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (msgs[i].role != CHAT_SYSTEM && msgs[i].role != CHAT_USER &&
            msgs[i].role != CHAT_ASSISTANT) {
            snprintf(err, errlen, "chat: message %d has unknown role %d", i, (int)msgs[i].role);
            return -1;
        }
        const char *s = text(&msgs[i]);
        size_t len = strlen(s), bad = tk_utf8_check((const uint8_t *)s, len);
        if (bad < len) {
            snprintf(err, errlen, "chat: message %d is not valid UTF-8 (byte %zu of %zu)", i, bad,
                     len);
            return -1;
        }
    }
    chat_specials ds = chat_specials_deepseek();
    if (!sp) sp = &ds;
    out_buf o = {.err = err, .errlen = errlen};
    puts_(&o, ""); /* an empty prompt is still an allocated string */
    switch (t) {
    case CHAT_DEEPSEEK_V3:
    case CHAT_DEEPSEEK_R1:
        render_v3(&o, msgs, n, add_generation_prompt, t == CHAT_DEEPSEEK_R1, sp);
        break;
    case CHAT_DEEPSEEK_V2:
        render_v2(&o, msgs, n, add_generation_prompt, sp);
        break;
    case CHAT_JANUS:
        render_janus(&o, msgs, n, add_generation_prompt, sp);
        break;
    }
    if (o.failed) {
        free(o.b.p);
        return -1;
    }
    *out = (char *)o.b.p;
    *out_len = o.b.n;
    return 0;
}
