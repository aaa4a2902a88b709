/* pipeline.c: compute pipelines from the embedded SPIR-V, created on first use and kept
 * per (shader, specialisation constants); the driver's pipeline cache is persisted under
 * $XDG_CACHE_HOME/vkseek (or ~/.cache/vkseek), keyed by device and driver. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

static const gpu_shader_code *find_shader(const char *name)
{
    for (int i = 0; i < gpu_shader_count; i++)
        if (strcmp(gpu_shader_table[i].name, name) == 0) return &gpu_shader_table[i];
    return NULL;
}

static int create(gpu_ctx *ctx, gpu_pipeline *p, const gpu_shader_code *code)
{
    VkShaderModuleCreateInfo smi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                    .codeSize = code->size,
                                    .pCode = code->code};
    VKC(ctx, vkCreateShaderModule(ctx->dev, &smi, NULL, &p->module));
    VkDescriptorSetLayoutBinding lb[GPU_MAX_BINDINGS];
    for (int i = 0; i < p->n_bind; i++)
        lb[i] = (VkDescriptorSetLayoutBinding){.binding = (uint32_t)i,
                                               .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                               .descriptorCount = 1,
                                               .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo dli = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                           .bindingCount = (uint32_t)p->n_bind,
                                           .pBindings = lb};
    VKC(ctx, vkCreateDescriptorSetLayout(ctx->dev, &dli, NULL, &p->dsl));
    VkPushConstantRange pr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, p->push_size};
    VkPipelineLayoutCreateInfo pli = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                      .setLayoutCount = 1,
                                      .pSetLayouts = &p->dsl,
                                      .pushConstantRangeCount = p->push_size ? 1 : 0,
                                      .pPushConstantRanges = &pr};
    VKC(ctx, vkCreatePipelineLayout(ctx->dev, &pli, NULL, &p->layout));
    VkSpecializationMapEntry me[GPU_MAX_SPEC];
    for (int i = 0; i < p->n_spec; i++)
        me[i] = (VkSpecializationMapEntry){(uint32_t)i, (uint32_t)(i * 4), 4};
    VkSpecializationInfo si = {(uint32_t)p->n_spec, me, (size_t)p->n_spec * 4, p->spec};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = p->module,
                  .pName = "main",
                  .pSpecializationInfo = &si},
        .layout = p->layout,
    };
    VKC(ctx, vkCreateComputePipelines(ctx->dev, ctx->pcache, 1, &ci, NULL, &p->pipe));
    return 0;
}

static void destroy(gpu_ctx *ctx, gpu_pipeline *p)
{
    if (p->pipe) vkDestroyPipeline(ctx->dev, p->pipe, NULL);
    if (p->layout) vkDestroyPipelineLayout(ctx->dev, p->layout, NULL);
    if (p->dsl) vkDestroyDescriptorSetLayout(ctx->dev, p->dsl, NULL);
    if (p->module) vkDestroyShaderModule(ctx->dev, p->module, NULL);
}

gpu_pipeline *gpu_pipeline_get(gpu_ctx *ctx, const char *shader, const uint32_t *spec,
                               int n_spec, int n_bind, uint32_t push_size)
{
    for (int i = 0; i < ctx->n_pipes; i++) {
        gpu_pipeline *p = &ctx->pipes[i];
        if (p->n_spec == n_spec && strcmp(p->name, shader) == 0 &&
            memcmp(p->spec, spec, (size_t)n_spec * 4) == 0) {
            if (p->n_bind != n_bind || p->push_size != push_size) {
                gpu_fail(ctx, "shader '%s' used with two binding layouts", shader);
                return NULL;
            }
            return p;
        }
    }
    char sg[64];
    snprintf(sg, sizeof sg, "%s_sg", shader);
    const gpu_shader_code *code = ctx->subgroup_arith ? find_shader(sg) : NULL;
    if (!code) code = find_shader(shader);
    if (!code) {
        gpu_fail(ctx, "shader '%s' is not built into this binary", shader);
        return NULL;
    }
    if (ctx->n_pipes == ctx->cap_pipes) {
        int nc = ctx->cap_pipes ? ctx->cap_pipes * 2 : 32;
        gpu_pipeline *np = realloc(ctx->pipes, (size_t)nc * sizeof *np);
        if (!np) {
            gpu_fail(ctx, "out of host memory");
            return NULL;
        }
        ctx->pipes = np, ctx->cap_pipes = nc;
    }
    gpu_pipeline *p = &ctx->pipes[ctx->n_pipes];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", shader);
    memcpy(p->spec, spec, (size_t)n_spec * 4);
    p->n_spec = n_spec, p->n_bind = n_bind, p->push_size = push_size;
    if (create(ctx, p, code)) {
        destroy(ctx, p);
        return NULL;
    }
    ctx->n_pipes++;
    return p;
}

void gpu_pipelines_destroy(gpu_ctx *ctx)
{
    for (int i = 0; i < ctx->n_pipes; i++) destroy(ctx, &ctx->pipes[i]);
    free(ctx->pipes);
    ctx->pipes = NULL;
    ctx->n_pipes = 0;
    if (ctx->pcache) vkDestroyPipelineCache(ctx->dev, ctx->pcache, NULL);
    ctx->pcache = VK_NULL_HANDLE;
}

static int cache_dir(char *buf, size_t n)
{
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (x && *x) snprintf(buf, n, "%s/vkseek", x);
    else if (home && *home) snprintf(buf, n, "%s/.cache/vkseek", home);
    else return -1;
    return 0;
}

/* The driver validates the blob's header too; we check it first so a stale or foreign
 * file is simply ignored. */
static int header_matches(gpu_ctx *ctx, const uint8_t *d, size_t n)
{
    if (n < 16 + VK_UUID_SIZE) return 0;
    uint32_t len, ver, vendor, device;
    memcpy(&len, d, 4), memcpy(&ver, d + 4, 4), memcpy(&vendor, d + 8, 4), memcpy(&device, d + 12, 4);
    return len >= 16 + VK_UUID_SIZE && ver == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
           vendor == ctx->props.vendorID && device == ctx->props.deviceID &&
           memcmp(d + 16, ctx->props.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

int gpu_pipeline_cache_open(gpu_ctx *ctx)
{
    char dir[400];
    uint8_t *data = NULL;
    size_t n = 0;
    if (cache_dir(dir, sizeof dir) == 0) {
        snprintf(ctx->pcache_path, sizeof ctx->pcache_path, "%s/pipelines-%04x-%04x.bin", dir,
                 ctx->props.vendorID, ctx->props.deviceID);
        FILE *f = fopen(ctx->pcache_path, "rb");
        if (f) {
            if (fseek(f, 0, SEEK_END) == 0) {
                long sz = ftell(f);
                if (sz > 0 && sz < (64L << 20) && fseek(f, 0, SEEK_SET) == 0 &&
                    (data = malloc((size_t)sz)) && fread(data, 1, (size_t)sz, f) == (size_t)sz)
                    n = (size_t)sz;
            }
            fclose(f);
            if (n && !header_matches(ctx, data, n)) n = 0;
        }
    }
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                    .initialDataSize = n,
                                    .pInitialData = n ? data : NULL};
    VkResult r = vkCreatePipelineCache(ctx->dev, &ci, NULL, &ctx->pcache);
    if (r != VK_SUCCESS && n) { /* a corrupt blob: start empty */
        ci.initialDataSize = 0, ci.pInitialData = NULL;
        r = vkCreatePipelineCache(ctx->dev, &ci, NULL, &ctx->pcache);
    }
    free(data);
    VKC(ctx, r);
    return 0;
}

static void mkdirs(const char *path)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0755);
            *p = '/';
        }
    mkdir(tmp, 0755);
}

/* Best effort: a cache that cannot be written only costs compile time next run. */
void gpu_pipeline_cache_save(gpu_ctx *ctx)
{
    if (!ctx->pcache || !ctx->pcache_path[0] || !ctx->n_pipes) return;
    size_t n = 0;
    if (vkGetPipelineCacheData(ctx->dev, ctx->pcache, &n, NULL) != VK_SUCCESS || n == 0) return;
    uint8_t *data = malloc(n);
    if (!data) return;
    if (vkGetPipelineCacheData(ctx->dev, ctx->pcache, &n, data) == VK_SUCCESS) {
        char dir[400], tmp[560];
        if (cache_dir(dir, sizeof dir) == 0) {
            mkdirs(dir);
            snprintf(tmp, sizeof tmp, "%s.%d.tmp", ctx->pcache_path, (int)getpid());
            FILE *f = fopen(tmp, "wb");
            if (f) {
                int ok = fwrite(data, 1, n, f) == n;
                ok = (fclose(f) == 0) && ok;
                if (!ok || rename(tmp, ctx->pcache_path) != 0) unlink(tmp);
            }
        }
    }
    free(data);
}
