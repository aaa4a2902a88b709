/* chat_detect.c: which chat template a checkpoint was trained with, from the Jinja text in
 * its tokenizer_config.json (recognised by substrings each family alone contains, never
 * evaluated) and its config.json model_type. Reads at most CHAT_MAX_FILE_BYTES per file. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text/chat.h"

#define CHAT_MAX_FILE_BYTES ((long)64 << 20)

static int has(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

static int is(const char *s, const char *v) { return s && strcmp(s, v) == 0; }

int chat_template_detect(const char *jinja, const char *model_type, chat_template *t,
                         char *err, size_t errlen)
{
    if (is(model_type, "multi_modality") || is(model_type, "janus")) {
        *t = CHAT_JANUS;
        return 0;
    }
    if (jinja && jinja[0]) {
        if (has(jinja, "<｜Assistant｜>")) {
            /* V3.1: '<｜Assistant｜></think>' closes an empty think block for its non-thinking
             * mode and a `thinking` flag switches it: neither V3's nor R1's format. */
            if (has(jinja, "<｜Assistant｜></think>")) {
                snprintf(err, errlen, "chat: this is a DeepSeek-V3.1-style template with "
                         "thinking modes, which vkseek does not render; choose a template by "
                         "name");
                return -1;
            }
            *t = has(jinja, "</think>") ? CHAT_DEEPSEEK_R1 : CHAT_DEEPSEEK_V3;
            return 0;
        }
        if (has(jinja, "'Assistant: '") || has(jinja, "\"Assistant: \"")) {
            *t = CHAT_DEEPSEEK_V2;
            return 0;
        }
        if (has(jinja, "<|Assistant|>")) {
            *t = CHAT_JANUS;
            return 0;
        }
        snprintf(err, errlen, "chat: the chat_template (%zu bytes%s%s) is none of DeepSeek-V3, "
                 "R1, V2 or Janus; choose a template by name", strlen(jinja),
                 model_type ? ", model_type " : "", model_type ? model_type : "");
        return -1;
    }
    if (is(model_type, "deepseek_v3")) {
        *t = CHAT_DEEPSEEK_V3;
        return 0;
    }
    if (is(model_type, "deepseek_v2")) {
        *t = CHAT_DEEPSEEK_V2;
        return 0;
    }
    snprintf(err, errlen, "chat: no chat_template and model_type '%s' names no template; choose "
             "one by name", model_type ? model_type : "(none)");
    return -1;
}

/* Reads a whole file; *missing = 1 (and NULL, no error) when it does not exist. */
static char *slurp(const char *path, int *missing, char *err, size_t errlen)
{
    *missing = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) *missing = 1;
        else snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || size > CHAT_MAX_FILE_BYTES || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: %s", path,
                 size > CHAT_MAX_FILE_BYTES ? "too large (limit 64 MiB)" : "cannot get its size");
    } else if (!(buf = malloc((size_t)size + 1))) {
        snprintf(err, errlen, "%s: out of memory", path);
    } else if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        snprintf(err, errlen, "%s: read error", path);
        free(buf);
        buf = NULL;
    } else {
        buf[size] = 0;
    }
    fclose(f);
    return buf;
}

/* Parses DIR/NAME as JSON; NULL with *missing = 1 when absent, NULL with a message when
 * broken. */
static cJSON *read_json(const char *dir, const char *name, int *missing, char *err,
                        size_t errlen)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        snprintf(err, errlen, "chat: model path too long");
        return NULL;
    }
    char *text = slurp(path, missing, err, errlen);
    if (!text) return NULL;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root || !cJSON_IsObject(root)) {
        snprintf(err, errlen, "%s: not a JSON object", path);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* tokenizer_config.json's chat_template: a string, or [{name, template}, ...] of which
 * "default" is the chat one. NULL when absent. */
static const char *template_of(const cJSON *cfg)
{
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(cfg, "chat_template");
    if (cJSON_IsString(ct)) return ct->valuestring;
    const cJSON *list = cJSON_IsArray(ct) ? ct : NULL, *e;
    cJSON_ArrayForEach(e, list)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(e, "template");
        if (cJSON_IsString(name) && is(name->valuestring, "default") && cJSON_IsString(tmpl))
            return tmpl->valuestring;
    }
    return NULL;
}

int chat_template_for_model(const char *model_dir, chat_template *t, char *err, size_t errlen)
{
    int missing = 0, r = -1;
    char *jinja_file = NULL;
    cJSON *tcfg = read_json(model_dir, "tokenizer_config.json", &missing, err, errlen);
    cJSON *mcfg = NULL;
    if (!tcfg && !missing) return -1;
    const char *jinja = tcfg ? template_of(tcfg) : NULL;
    if (!jinja) { /* newer transformers save it beside the config */
        char path[4096];
        snprintf(path, sizeof path, "%s/chat_template.jinja", model_dir);
        jinja_file = slurp(path, &missing, err, errlen);
        if (!jinja_file && !missing) goto done;
        jinja = jinja_file;
    }
    mcfg = read_json(model_dir, "config.json", &missing, err, errlen);
    if (!mcfg && !missing) goto done;
    const cJSON *mt = mcfg ? cJSON_GetObjectItemCaseSensitive(mcfg, "model_type") : NULL;
    r = chat_template_detect(jinja, cJSON_IsString(mt) ? mt->valuestring : NULL, t, err, errlen);
done:
    cJSON_Delete(tcfg);
    cJSON_Delete(mcfg);
    free(jinja_file);
    return r;
}
