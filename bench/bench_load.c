/* bench_load.c: `vkseek bench load --model DIR [--quant Q]`: checkpoint loading against the
 * disk. Times opening (mapping and validating every header), reading the files' bytes (the
 * rate the disk or page cache gives), and converting + uploading every tensor in the
 * loader's formats; loading should be limited by the read, not by parsing. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench/bench.h"
#include "cli/cli.h"
#include "engine/checkpoint.h"
#include "engine/loader.h"

/* Reads the whole file through a buffer; bytes read, or -1. */
static long long read_file(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    long long total = 0;
    ssize_t r;
    while ((r = read(fd, buf, n)) > 0) total += r;
    close(fd);
    return r < 0 ? -1 : total;
}

int bench_load(int argc, char **argv)
{
    const char *dir = NULL, *qname = "keep";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) dir = argv[++i];
        else if (strcmp(argv[i], "--quant") == 0 && i + 1 < argc) qname = argv[++i];
        else return cli_error("bench load: unexpected argument '%s'", argv[i]);
    }
    if (!dir) return cli_error("bench load: --model DIR is required");
    int quant;
    if (quant_from_name(qname, &quant))
        return cli_error("--quant '%s': use f16, bf16, q8_0, q4_0 or keep", qname);
    char err[512];
    double t0 = bench_now();
    checkpoint *ck;
    if (ckpt_open(dir, &ck, err, sizeof err)) return cli_error("%s", err);
    double t_open = bench_now() - t0;

    size_t bufn = 64u << 20;
    char *buf = malloc(bufn);
    long long bytes = 0;
    t0 = bench_now();
    for (int s = 0; s < ckpt_shards(ck) && buf; s++) {
        long long n = read_file(ckpt_shard_path(ck, s), buf, bufn);
        if (n < 0) {
            free(buf);
            ckpt_close(ck);
            return cli_error("%s: read failed", ckpt_shard_path(ck, s));
        }
        bytes += n;
    }
    double t_read = bench_now() - t0;
    free(buf);

    gpu_ctx *ctx = gpu_open(-1);
    if (!ctx) {
        ckpt_close(ck);
        return cli_error("%s", gpu_errmsg());
    }
    int n = ckpt_count(ck), rc = 0;
    gpu_tensor **g = calloc((size_t)n, sizeof *g);
    uint64_t dev_bytes = 0;
    t0 = bench_now();
    for (int i = 0; i < n && g && !rc; i++) {
        const tf_tensor *t = ckpt_tensor(ck, i);
        if (strstr(t->name, "_scale_inv")) continue;
        g[i] = load_tensor(ctx, ck, t->name, load_format(t, quant), err, sizeof err);
        if (!g[i]) rc = cli_error("%s", err);
        else dev_bytes += gpu_nbytes(g[i]);
    }
    double t_load = bench_now() - t0;
    for (int i = 0; i < n && g; i++) gpu_free(ctx, g[i]);
    free(g);
    if (!rc) {
        printf("checkpoint: %s, %d tensors, %.2f GB in %d file(s), device: %s\n", dir, n,
               bytes / 1e9, ckpt_shards(ck), gpu_info(ctx)->name);
        printf("%-28s %9.1f ms\n", "open + validate headers", t_open * 1e3);
        printf("%-28s %9.2f GB/s (%.2f s; page cache if warm)\n", "read the files", bytes / t_read / 1e9,
               t_read);
        printf("%-28s %9.2f GB/s of checkpoint (%.2f s) -> %.2f GB as --quant %s\n",
               "convert + upload", bytes / t_load / 1e9, t_load, dev_bytes / 1e9, qname);
        printf("%-28s %9.2f\n", "upload time / read time", t_load / t_read);
    }
    gpu_close(ctx);
    ckpt_close(ck);
    return rc;
}
