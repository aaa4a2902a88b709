/* fuzz_request.c: HTTP request bodies as a Janus server reads them: the bytes as a chat
 * completion (messages, image_url parts with data: URLs, sampling fields, stop strings),
 * rendered by the chat template, and as an image generation request. */
#include <stdlib.h>
#include "serve/request.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *q = cJSON_ParseWithLength((const char *)data, size);
    if (!cJSON_IsObject(q)) {
        cJSON_Delete(q);
        return 0;
    }
    /* small pictures keep preprocessing cheap; the code is the same at 384 */
    req_model m = {.id = "vkseek-shapes", .tmpl = CHAT_JANUS, .picture_size = 16,
                   .image_size = 16, .ctx = 4096, .max_images = 4};
    chat_req r = {0};
    char param[64], err[512];
    if (!chat_req_parse(q, &m, &r, param, err, sizeof err)) {
        for (chat_template t = CHAT_DEEPSEEK_V3; t <= CHAT_JANUS; t++) {
            char *text;
            size_t len;
            if (!chat_render(t, r.msgs, r.n, 1, NULL, &text, &len, err, sizeof err)) free(text);
        }
        if (r.gp.max_tokens > m.ctx || r.n_pictures > SERVE_MAX_PICTURES) abort();
    }
    chat_req_free(&r);
    image_req ir;
    if (!image_req_parse(q, &m, &ir, param, err, sizeof err) && (ir.n < 1 || ir.n > m.max_images))
        abort();
    cJSON_Delete(q);
    return 0;
}
