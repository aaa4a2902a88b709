/* serve.c: `vkseek serve [--model DIR] [--host 127.0.0.1] [--port 8080] [--api-key KEY]
 * [--max-batch N] [--queue N] [--gallery DIR] [--max-body BYTES] [--timeout S] [--ctx N]
 * [--quant Q] [--speculative mtp]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "engine/loader.h"
#include "serve/server.h"

static const char usage[] =
    "usage: vkseek serve [--model DIR] [options]\n"
    "  --host ADDR        IPv4 address to listen on (default 127.0.0.1: this machine only)\n"
    "  --port N           TCP port (default 8080)\n"
    "  --api-key KEY      require Authorization: Bearer KEY on every route but /health\n"
    "                     (also $VKSEEK_API_KEY)\n"
    "  --max-batch N      sequences decoded together: cache slots (default 8; an image takes 2)\n"
    "  --queue N          requests waiting or running before 429 (default 64)\n"
    "  --gallery DIR      where generated images are saved (default\n"
    "                     $XDG_DATA_HOME/vkseek/gallery, else ~/.local/share/vkseek/gallery)\n"
    "  --max-body BYTES   request body limit before 413 (default 8388608)\n"
    "  --timeout S        seconds a connection may stay idle (sending or reading nothing)\n"
    "                     before it is closed (default 60)\n"
    "  --ctx N            context per sequence (default min(the model's, 4096))\n"
    "  --quant Q          weight format on the device: keep, f16, bf16, q8_0, q4_0\n"
    "  --speculative mtp  DeepSeek V3/R1: draft each next token with the checkpoint's\n"
    "                     multi-token prediction layer and verify two at a time\n"
    "  --kv-cache f16|f32 the KV cache's format (default f16)\n"
    "  --device N         Vulkan device\n"
    "routes: POST /v1/chat/completions, POST /v1/images/generations, GET /v1/models,\n"
    "        GET /health, GET /metrics, GET /gallery, GET /gallery/ID.png\n";

int cmd_serve(int argc, char **argv)
{
    serve_options o = {.host = "127.0.0.1", .port = 8080, .max_batch = 8, .queue = 64,
                       .max_body = 8u << 20, .timeout = 60, .quant = QUANT_KEEP,
                       .device = cli_device_arg(&argc, argv), .api_key = getenv("VKSEEK_API_KEY")};
    if (o.device == -2) return cli_error("--device needs a device index");
    int kv = cli_kv_cache_arg(&argc, argv);
    if (kv < 0) return cli_error("--kv-cache: use f16 or f32");
    o.kv_f32 = kv;
    const char *dir = NULL, *qname = "keep";
    char dir_buf[4096], gal[4096];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(usage, stdout), 0;
        if (!v) return cli_error("serve: %s needs a value", a);
        char *end;
        long long x = strtoll(v, &end, 10);
        int num = end != v && !*end;
        if (!strcmp(a, "--model") || !strcmp(a, "-m")) dir = v;
        else if (!strcmp(a, "--host")) o.host = v;
        else if (!strcmp(a, "--port") && num && x >= 0 && x <= 65535) o.port = (int)x;
        else if (!strcmp(a, "--api-key") && v[0]) o.api_key = v;
        else if (!strcmp(a, "--max-batch") && num && x >= 1 && x <= 256) o.max_batch = (int)x;
        else if (!strcmp(a, "--queue") && num && x >= 1 && x <= 100000) o.queue = (int)x;
        else if (!strcmp(a, "--gallery") && v[0]) o.gallery_dir = v;
        else if (!strcmp(a, "--max-body") && num && x >= 1024 && x <= (1ll << 32)) o.max_body = (size_t)x;
        else if (!strcmp(a, "--timeout") && num && x >= 1 && x <= 86400) o.timeout = (unsigned)x;
        else if (!strcmp(a, "--ctx") && num && x >= 16 && x <= (1 << 20)) o.n_ctx = (int)x;
        else if (!strcmp(a, "--quant")) qname = v;
        else if (!strcmp(a, "--speculative") && !strcmp(v, "mtp")) o.mtp = 1;
        else return cli_error("serve: bad option or value: %s %s", a, v);
        i++;
    }
    if (quant_from_name(qname, &o.quant))
        return cli_error("--quant '%s': use f16, bf16, q8_0, q4_0 or keep", qname);
    if (o.api_key && !o.api_key[0]) o.api_key = NULL;
    if (!(o.model_dir = cli_model_dir(dir, dir_buf, sizeof dir_buf))) return 1;
    if (!o.gallery_dir) {
        const char *x = getenv("XDG_DATA_HOME"), *h = getenv("HOME");
        if (x && x[0] == '/') snprintf(gal, sizeof gal, "%s/vkseek/gallery", x);
        else if (h && h[0]) snprintf(gal, sizeof gal, "%s/.local/share/vkseek/gallery", h);
        else return cli_error("serve: no $XDG_DATA_HOME or $HOME: give --gallery DIR");
        o.gallery_dir = gal;
    }
    return serve_run(&o);
}
