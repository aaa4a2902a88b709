/* internal.h: what the gpu/ sources share and nothing outside gpu/ may include.
 * The context, allocations, the dispatch entry point with its central barrier tracker,
 * and the helpers ops use to bind tensors. */
#ifndef VKSEEK_GPU_INTERNAL_H
#define VKSEEK_GPU_INTERNAL_H

#include <vulkan/vulkan.h>
#include "gpu.h"

#define GPU_MAX_BINDINGS 8
#define GPU_MAX_SPEC 8
#define GPU_PUSH_MAX 128
/* lavapipe ends a shader invocation silently after this many loop iterations in total. */
#define GPU_LAVAPIPE_LOOP_CAP 65535

struct gpu_mem {
    VkBuffer buf;
    VkDeviceMemory mem;
    uint8_t *map;       /* persistent mapping on shared-memory devices, else NULL */
    uint64_t size;
    uint64_t bytes;     /* of device memory, counted in the context's mem_in_use */
    int refs;           /* the tensor and its views */
};

typedef struct {
    struct gpu_mem *mem;
    uint64_t lo, hi;    /* byte range */
} gpu_range;

typedef struct {
    char name[48];
    uint32_t spec[GPU_MAX_SPEC];
    int n_spec, n_bind;
    uint32_t push_size;
    VkShaderModule module;
    VkDescriptorSetLayout dsl;
    VkPipelineLayout layout;
    VkPipeline pipe;
} gpu_pipeline;

typedef struct {
    char op[32];
    uint64_t count;
    double ms;
} gpu_prof_row;

struct gpu_ctx {
    VkInstance inst;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice pdev;
    VkDevice dev;
    VkQueue queue;
    uint32_t qfam;
    VkQueueFlags qflags;     /* the queue family's abilities */
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties memprops;
    gpu_device_info info;
    int uma;                 /* allocate host-visible device memory and map it */
    int is_lavapipe;
    int subgroup_arith;      /* subgroupAdd/Max usable in compute */
    uint32_t subgroup_size;  /* the device's (lavapipe: its vector width) */
    uint32_t wg;             /* default workgroup size for 1-D ops */
    uint64_t max_range;      /* maxStorageBufferRange */
    uint64_t align;          /* minStorageBufferOffsetAlignment */
    uint64_t validation_errors;
    uint64_t mem_in_use;     /* bytes of device memory allocated by gpu_mem_new */
    uint64_t mem_peak;       /* the most mem_in_use has been since the last reset */
    uint64_t mem_limit;      /* $VKSEEK_DEVICE_MEMORY: allocations past it fail; 0 none */

    /* command stream */
    VkCommandPool cmdpool;
    VkCommandBuffer cmd;
    VkFence fence;
    int recording;
    VkDescriptorPool *dpools;
    int n_dpools, cur_dpool;
    gpu_range *reads, *writes;   /* accesses since the last barrier */
    int n_reads, n_writes, cap_reads, cap_writes;

    /* pipelines */
    gpu_pipeline *pipes;
    int n_pipes, cap_pipes;
    VkPipelineCache pcache;
    char pcache_path[512];

    /* staging for devices without shared memory */
    struct gpu_mem *staging;
    /* scratch for ops' intermediates: bump-allocated, reclaimed at gpu_sync */
    struct gpu_mem **scratch;
    int n_scratch;
    uint64_t scratch_used;   /* in the newest block */
    uint64_t scratch_stream, scratch_peak; /* all blocks' use in this stream; its most */
    gpu_tensor **temps;      /* gpu_new_temp's tensors, freed at gpu_sync */
    int n_temps, cap_temps;
    /* rope frequency tables, made once per parameter set */
    struct gpu_rope_table *rope_tables;
    int n_rope_tables;
    uint32_t matvec_rt;      /* threads per row in matrix-vector products */
    uint32_t matvec_rows;    /* rows per invocation in matrix-vector products */
    uint32_t matvec_max_m;   /* up to this many tokens use matrix-vector passes of 8 */
    uint32_t matmul_rows;    /* weight rows per invocation in the tiled product (8 or 16) */
    uint32_t attn_rows_min;  /* tokens from which attention takes a subgroup per row; 0 never */

    /* profiling */
    int profile;
    VkQueryPool qpool;
    uint32_t n_queries;
    char (*query_op)[32];
    gpu_prof_row *prof;
    int n_prof, cap_prof;

    int can_present;         /* VK_KHR_swapchain enabled (present.c) */
    int failed;
    gpu_stats stats;
};

/* The instance extensions gpu_enable_display asked for (none before it). */
const char *const *gpu_display_instance_extensions(uint32_t *n);

/* Sets the thread-local message (and the context's sticky failure); returns -1. */
int gpu_fail(gpu_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *gpu_vkresult(VkResult r);
#define VKC(ctx, call)                                                        \
    do {                                                                      \
        VkResult vkc_r_ = (call);                                             \
        if (vkc_r_ != VK_SUCCESS)                                             \
            return gpu_fail((ctx), "%s failed: %s", #call, gpu_vkresult(vkc_r_)); \
    } while (0)

/* Allocations. A memory type allowed by the mask with all the wanted flags, on the largest
 * heap (an APU's carve-out is small, its shared heap large); -1 if none. */
#define GPU_MEM_SHARED (VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | \
                        VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
int gpu_memory_type(const gpu_ctx *ctx, uint32_t allowed, VkMemoryPropertyFlags want);
struct gpu_mem *gpu_mem_new(gpu_ctx *ctx, uint64_t size, int host_visible);
void gpu_mem_unref(gpu_ctx *ctx, struct gpu_mem *m);

/* Byte layout of quantised tensors on the device: all rows' quants first (so 16-byte
 * loads stay aligned), then all rows' f16 scales at gpu_qscale_offset(). */
uint64_t gpu_qscale_offset(gpu_type type, int64_t rows, int64_t cols);

/* A contiguous f32 scratch tensor of n elements valid until the next gpu_sync. The struct
 * is the caller's (no gpu_free). */
int gpu_scratch(gpu_ctx *ctx, int64_t n, gpu_tensor *out);
void gpu_scratch_reclaim(gpu_ctx *ctx);
void gpu_rope_tables_free(gpu_ctx *ctx);

/* spec[0] = workgroup size wg; returns the entries used (ops append theirs after). */
int gpu_spec_base(const gpu_ctx *ctx, uint32_t *spec, uint32_t wg);

/* Host-side conversion of rows [r0, r1) of a [rows][cols] array into device layout.
 * For Q8_0/Q4_0, q receives the quants and s the scales of those rows; otherwise q gets
 * the converted elements and s is unused. */
void gpu_convert_rows(gpu_type dst, void *q, void *s, const void *src, gpu_type src_type,
                      int64_t cols, int64_t r0, int64_t r1);

/* A binding: a byte range of an allocation, read or written by a dispatch. */
typedef struct {
    struct gpu_mem *mem;
    uint64_t off, size;
    int write;
} gpu_bind;

/* Binds the bytes t spans. The bound offset is aligned down as Vulkan requires; *elem_off
 * (may be NULL when t must start aligned) receives t's first element relative to it, in
 * elements of t's type (32-bit words for quantised types). */
int gpu_bind_tensor(gpu_ctx *ctx, gpu_bind *b, const gpu_tensor *t, int write,
                    uint32_t *elem_off);
/* Binds bytes [off, off+size) of t's allocation (for ops that split big tensors). */
int gpu_bind_bytes(gpu_ctx *ctx, gpu_bind *b, const gpu_tensor *t, uint64_t off, uint64_t size,
                   int write, uint32_t *word_off);

/* Records one compute dispatch. spec[i] is specialisation constant i: spec[0] the workgroup
 * size (local_size_x_id = 0), then the op's own. Where the device has subgroup arithmetic,
 * the shader's SHADER_sg variant is used when one exists. Barriers are inserted here
 * and only here, from the bindings' read/write ranges. loop_iters is the most loop
 * iterations any one invocation will run; it must stay under lavapipe's cap. */
typedef struct {
    const char *op;          /* name for errors and the profile */
    const char *shader;
    uint32_t spec[GPU_MAX_SPEC];
    int n_spec;
    const gpu_bind *binds;
    int n_binds;
    const void *push;
    uint32_t push_size;
    uint32_t groups[3];
    uint64_t loop_iters;
} gpu_dispatch_desc;
int gpu_dispatch(gpu_ctx *ctx, const gpu_dispatch_desc *d);

/* Transfers recorded on the stream, tracked like dispatches. */
int gpu_record_copy(gpu_ctx *ctx, struct gpu_mem *dst, uint64_t dst_off, struct gpu_mem *src,
                    uint64_t src_off, uint64_t size);
int gpu_record_fill(gpu_ctx *ctx, struct gpu_mem *dst, uint64_t off, uint64_t size,
                    uint32_t pattern);

/* Splits n workgroups into an (x, y) grid within the device's per-dimension limit;
 * shaders compute the flat id as gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x. */
void gpu_grid(gpu_ctx *ctx, uint64_t n, uint32_t groups[3]);
uint32_t gpu_div_up(uint64_t a, uint64_t b);

/* Whether two tensors' byte extents share memory (ops refuse an output overlapping an input
 * unless they work element by element). gpu_nbytes of a view is its dense size: conservative
 * enough for the views ops accept. */
int gpu_overlap(const gpu_tensor *a, const gpu_tensor *b);
int gpu_check_distinct(gpu_ctx *ctx, const char *op, const gpu_tensor *out, const gpu_tensor *in);

/* Shape checks shared by ops: fail with both shapes in the message. */
int gpu_check_type(gpu_ctx *ctx, const char *op, const gpu_tensor *t, gpu_type want);
int gpu_check_same_shape(gpu_ctx *ctx, const char *op, const gpu_tensor *a, const gpu_tensor *b);
int gpu_check_contiguous(gpu_ctx *ctx, const char *op, const gpu_tensor *t);
/* Formats "name[ne0,ne1,ne2,ne3] type" into buf. */
const char *gpu_shape_str(const gpu_tensor *t, char *buf, size_t n);

/* Pipeline lookup (created on first use, cached per name and spec constants). */
gpu_pipeline *gpu_pipeline_get(gpu_ctx *ctx, const char *shader, const uint32_t *spec,
                               int n_spec, int n_bind, uint32_t push_size);
void gpu_pipelines_destroy(gpu_ctx *ctx);
int gpu_pipeline_cache_open(gpu_ctx *ctx);
void gpu_pipeline_cache_save(gpu_ctx *ctx);

/* The command stream's lifetime (record.c). */
int gpu_stream_init(gpu_ctx *ctx);
void gpu_stream_destroy(gpu_ctx *ctx);

/* Embedded SPIR-V (generated at build time from shaders/). */
typedef struct {
    const char *name;
    const uint32_t *code;
    size_t size;
} gpu_shader_code;
extern const gpu_shader_code gpu_shader_table[];
extern const int gpu_shader_count;

#endif
