/* gpu.h: vkseek's compute API. Devices, tensors and the ops every model is written in.
 * This header is all that text/, vision/ and engine/ may see of the GPU: no Vulkan type
 * appears here. Ops record into the context's command stream; gpu_sync() runs them.
 * Errors are sticky: a failed op records its message, later ops do nothing, and
 * gpu_sync() returns -1; gpu_errmsg() gives the one-line reason. */
#ifndef VKSEEK_GPU_H
#define VKSEEK_GPU_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    GPU_F32,
    GPU_F16,
    GPU_BF16,
    GPU_Q8_0,  /* blocks of 32: int8 q, one f16 scale d; x = d*q */
    GPU_Q4_0,  /* blocks of 32: 4-bit q, one f16 scale d; x = d*(q-8) */
    GPU_I32,
    GPU_TYPE_COUNT
} gpu_type;

#define GPU_QBLOCK 32 /* elements per block of the quantised types */

const char *gpu_type_name(gpu_type t);
int gpu_type_from_name(const char *name, gpu_type *out); /* 0 ok, -1 unknown */
/* Bytes for a row-major [rows][cols] array of this type (quantised: cols % 32 == 0). */
uint64_t gpu_type_bytes(gpu_type t, int64_t rows, int64_t cols);

/* Host-side scalar conversions (round to nearest even). */
float gpu_f16_to_f32(uint16_t h);
uint16_t gpu_f32_to_f16(float f);
float gpu_bf16_to_f32(uint16_t h);
uint16_t gpu_f32_to_bf16(float f);

/* Thread-local message of the last failure ("what: why"). */
const char *gpu_errmsg(void);

/* ---- devices ---- */

typedef struct {
    int index;
    char name[256];
    char vendor[32];
    char type[16];            /* "discrete", "integrated", "virtual", "CPU", "other" */
    uint64_t memory;          /* bytes of the largest device-local heap */
    uint32_t subgroup_size;
    int fp16, storage16, storage8, int_dot; /* features available */
    uint32_t api_version;
} gpu_device_info;

/* Fills up to max entries; returns the number of devices, or -1 on failure. */
int gpu_list_devices(gpu_device_info *out, int max);

typedef struct gpu_ctx gpu_ctx;

/* Opens device `index`, or when index < 0: $VKSEEK_DEVICE, else the first discrete GPU,
 * else integrated, else any. $VKSEEK_VALIDATE=1 enables the Khronos validation layer;
 * its messages are printed and counted (gpu_validation_errors). NULL on failure. */
gpu_ctx *gpu_open(int index);
void gpu_close(gpu_ctx *ctx);
const gpu_device_info *gpu_info(const gpu_ctx *ctx);
uint64_t gpu_validation_errors(const gpu_ctx *ctx);
/* Bytes of device memory the context holds (tensors, caches, scratch). $VKSEEK_DEVICE_MEMORY
 * (bytes, or with a K/M/G suffix) caps it: allocations past the cap fail as on a device that
 * small. */
uint64_t gpu_memory_in_use(const gpu_ctx *ctx);
/* The most gpu_memory_in_use has been since the context opened or the last reset. */
uint64_t gpu_memory_peak(const gpu_ctx *ctx);
void gpu_memory_peak_reset(gpu_ctx *ctx);

/* ---- memory plans: what a run will hold, computed before it runs ---- */

/* Device bytes a gpu_new of this shape holds, rounded up to 256 as drivers may round. */
uint64_t gpu_tensor_bytes(gpu_type type, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3);
/* Scratch bytes a gpu_new_temp of n elements takes on this device. */
uint64_t gpu_temp_bytes(const gpu_ctx *ctx, int64_t n);
/* The staging buffer transfers use on this device (none where the host shares memory). */
uint64_t gpu_staging_bytes(const gpu_ctx *ctx);
/* Scratch one gpu_attention takes for q [dk, H, T, S] over n_kv cache positions of Hkv heads,
 * V dv wide (the chunk partials it merges), whichever kernel it picks. */
uint64_t gpu_attention_scratch(const gpu_ctx *ctx, int64_t dk, int64_t dv, int64_t H,
                               int64_t Hkv, int64_t T, int64_t S, int64_t n_kv);
/* Scratch for the largest stream the caller will record between syncs: one block of this
 * size from now on, instead of blocks added by doubling while a stream records (which all
 * live until it runs). A stream that needs more still gets it: gpu_memory_peak shows it. */
int gpu_scratch_reserve(gpu_ctx *ctx, uint64_t bytes);
/* The most scratch one stream has used since the context opened or the last
 * gpu_memory_peak_reset. */
uint64_t gpu_scratch_peak(const gpu_ctx *ctx);

/* ---- tensors ---- */

/* ne[0] is the contiguous dimension (a row), ne[1] rows, ne[2], ne[3] outer.
 * nb[] are strides in elements (float/int types only); views share their parent's memory. */
typedef struct gpu_tensor {
    gpu_type type;
    int64_t ne[4];
    int64_t nb[4];
    struct gpu_mem *mem;   /* owning allocation (shared by views) */
    uint64_t offset;       /* byte offset of element 0 in mem */
    int is_view;
    char name[64];
} gpu_tensor;

gpu_tensor *gpu_new(gpu_ctx *ctx, gpu_type type, int64_t ne0, int64_t ne1, int64_t ne2,
                    int64_t ne3, const char *name);
/* A strided view into t: element (i0,i1,i2,i3) of the view is
 * t's element at offset + i0 + i1*nb1 + i2*nb2 + i3*nb3 (elements, float/int types). */
/* A contiguous f32 tensor from the command stream's scratch memory, for intermediates whose
 * size changes from step to step: no allocation, owned by the context, gone at the next
 * gpu_sync (do not gpu_free it). gpu_read and gpu_upload sync, and so does freeing a tensor
 * while work is recorded: copy a temporary into a tensor of your own to keep it. */
gpu_tensor *gpu_new_temp(gpu_ctx *ctx, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3,
                         const char *name);
gpu_tensor *gpu_view(gpu_ctx *ctx, gpu_tensor *t, int64_t ne0, int64_t ne1, int64_t ne2,
                     int64_t ne3, int64_t nb1, int64_t nb2, int64_t nb3, int64_t offset);
void gpu_free(gpu_ctx *ctx, gpu_tensor *t);
/* Gives a whole contiguous tensor another shape with the same element count, in place
 * (a conv kernel [kw, kh, Cin, Cout] as the matrix [kw*kh*Cin, Cout]). */
int gpu_reshape(gpu_ctx *ctx, gpu_tensor *t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3);
int64_t gpu_nelem(const gpu_tensor *t);
uint64_t gpu_nbytes(const gpu_tensor *t);
int gpu_is_contiguous(const gpu_tensor *t);

/* Copies host data into t, converting from src_type (F32, F16, BF16 or I32) to t's type;
 * quantises for Q8_0/Q4_0. src holds gpu_nelem(t) elements in row-major order. */
int gpu_upload(gpu_ctx *ctx, gpu_tensor *t, const void *src, gpu_type src_type);
/* The same for rows [r0, r1) of t (rows of ne[0] elements); src holds just those rows.
 * Lets a loader stream a tensor through a small buffer. */
int gpu_upload_rows(gpu_ctx *ctx, gpu_tensor *t, int64_t r0, int64_t r1, const void *src,
                    gpu_type src_type);
/* Runs pending work, then copies t back: raw bytes in t's own layout (gpu_read)
 * or converted to f32 (gpu_read_f32; I32 converts too). t must be contiguous. */
int gpu_read(gpu_ctx *ctx, const gpu_tensor *t, void *dst);
int gpu_read_f32(gpu_ctx *ctx, const gpu_tensor *t, float *dst);
/* Fills t with a repeated 32-bit pattern (tests poison outputs with NaN this way). */
int gpu_fill(gpu_ctx *ctx, gpu_tensor *t, uint32_t pattern);

/* Submits everything recorded since the last sync and waits. 0 ok, -1 on any error
 * (after an error, what was recorded is dropped; gpu_clear_error() makes the context
 * usable again). */
int gpu_sync(gpu_ctx *ctx);
void gpu_clear_error(gpu_ctx *ctx);

/* ---- ops (recorded; all math in f32 unless stated) ----
 * Shapes below use the ne[] order: [ne0, ne1, ...]. */

/* y[n, m] = sum_k W[n, k] * x[k, m]: W [K, N] of any type (a Linear's weight), x [K, M] f32,
 * y [N, M] f32. Small M runs as passes of the matrix-vector kernel, larger M tiled. A weight
 * [K, N, B] is a batch of B matrices: x [K, M, B] -> y [N, M, B], slice b by matrix b. */
int gpu_matmul(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *W, gpu_tensor *x);
/* y[:, i] = table[:, ids[i]]: table [D, V] of any type, ids [n] I32, y [D, n] f32.
 * Out-of-range ids give zero rows. */
int gpu_get_rows(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *table, gpu_tensor *ids);

/* y[:, ids[i]] += w[i] * src[:, i] for i < n: y [D, R] f32, src [D, n] f32, ids [n] I32,
 * w [n] f32 (ids and w may be views). An id may repeat only across calls, not within one
 * (MoE: one call per expert). Out-of-range ids are skipped. */
int gpu_add_rows(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *src, gpu_tensor *ids, gpu_tensor *w);
/* y[:, ids[i]] = src[:, i]: new keys and values into their cache rows. y [D, R] f32 or f16
 * (D, its start and row stride even) may be a 2-D view with strided rows (part of each cache
 * row); ids distinct, out-of-range skipped. */
int gpu_set_rows(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *src, gpu_tensor *ids);

/* Row norms over ne0: y = x / rms(x) * w;  y = (x - mean) / std * w + b. w, b [ne0] f32;
 * b may be NULL. y may be x. */
int gpu_rmsnorm(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x, gpu_tensor *w, float eps);
int gpu_layernorm(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x, gpu_tensor *w, gpu_tensor *b,
                  float eps);
/* x [W, H, C, B] (NCHW): per (batch, group of C/groups channels) normalisation, then
 * per-channel w, b [C]. */
int gpu_groupnorm(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x, gpu_tensor *w, gpu_tensor *b,
                  int groups, float eps);

/* Rotary embedding, in place on x [head_dim, n_head, n_tok, n_seq] f32, rotating the first
 * n_rot dims of each head. Token t of sequence s has position pos0 + t, plus pos[s] when pos
 * (I32 [n_seq], or NULL) gives each sequence its own offset (a batch of conversations).
 * GPU_ROPE_INTERLEAVED rotates pairs (2i, 2i+1) (DeepSeek's MLA tails); GPU_ROPE_HALF
 * rotates (i, i + n_rot/2) (LLaMA's rotate_half). theta_i = pos * freq_base^(-2i/n_rot),
 * the frequencies adjusted by the context-extension scheme in sc (NULL: none). */
typedef enum { GPU_ROPE_INTERLEAVED = 0, GPU_ROPE_HALF = 1 } gpu_rope_mode;
typedef enum {
    GPU_ROPE_PLAIN = 0,
    GPU_ROPE_LINEAR,         /* every frequency / factor */
    GPU_ROPE_YARN,           /* DeepSeek/YaRN: a ramp between beta_fast and beta_slow */
    GPU_ROPE_LLAMA3,         /* Llama 3.1: by wavelength against low/high_freq_factor */
} gpu_rope_kind;
typedef struct {
    gpu_rope_kind kind;
    float factor;            /* context extension factor */
    float orig_ctx;          /* original_max_position_embeddings */
    float beta_fast, beta_slow;              /* YaRN */
    float low_freq_factor, high_freq_factor; /* Llama 3 */
    float attn_factor;       /* multiplies cos and sin (YaRN's mscale); 0 or 1: none */
} gpu_rope_scaling;
int gpu_rope(gpu_ctx *ctx, gpu_tensor *x, int n_rot, gpu_rope_mode mode, float freq_base,
             const gpu_rope_scaling *sc, int pos0, gpu_tensor *pos);

/* Softmax over ne0 of every row, scaled first: y = softmax(scale * x). y may be x. */
int gpu_softmax(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x, float scale);

/* Attention of queries q [Dk, n_head, n_tok, n_seq] over the first n_kv cache rows of
 * k [Dk, n_kv_head, n_ctx, n_slot] and v [Dv, n_kv_head, n_ctx, n_slot] (f32 or f16; v may
 * be a strided view of k, as MLA's absorbed form needs). n_head % n_kv_head == 0 (GQA).
 * Sequence s reads cache slot slot[s] (I32 [n_seq]; NULL: slot s, and n_slot == n_seq).
 * Causal: its token t sees cache rows j <= pos0 + t (+ pos[s] when pos, I32 [n_seq], is
 * given: sequences at different places in their conversations). out [Dv, n_head, n_tok,
 * n_seq] f32. */
int gpu_attention(gpu_ctx *ctx, gpu_tensor *out, gpu_tensor *q, gpu_tensor *k, gpu_tensor *v,
                  int n_kv, int pos0, gpu_tensor *slot, gpu_tensor *pos, float scale, int causal);

/* Element-wise. a, b, y contiguous f32; b broadcasts when its element count divides a's
 * (a bias [ne0] over rows, a per-channel [1,1,C] over [W,H,C]). y may alias a. */
typedef enum { GPU_ADD, GPU_MUL } gpu_binop;
int gpu_binary(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *a, gpu_tensor *b, gpu_binop op);
int gpu_add(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *a, gpu_tensor *b);
int gpu_mul(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *a, gpu_tensor *b);
typedef enum { GPU_SILU, GPU_GELU_ERF, GPU_GELU_TANH, GPU_SCALE } gpu_unop;
/* y = f(x); GPU_SCALE: y = s * x. */
int gpu_unary(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x, gpu_unop op, float s);
/* y = silu(gate) * up, all [ne0, ...] f32 of one shape. */
int gpu_swiglu(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *gate, gpu_tensor *up);
/* y = x for two tensors of one shape with any row strides (a view made contiguous, new rows
 * written into a KV cache view); x f32 or f16, y f32. */
int gpu_copy(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x);

/* 2-D convolution, stride 1: x [W, H, Cin, B] f32, w [k*k*Cin, Cout] (PyTorch's
 * [Cout, Cin, k, k] flattened; f32/f16/bf16), bias [Cout] or NULL, y [W, H, Cout, B];
 * k = 3 with padding 1 or k = 1 with padding 0. */
int gpu_conv2d(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x, gpu_tensor *w, gpu_tensor *bias,
               int k);
/* Nearest-neighbour 2x: x [W, H, C, B] -> y [2W, 2H, C, B]. */
int gpu_upsample2x(gpu_ctx *ctx, gpu_tensor *y, gpu_tensor *x);

/* Per row of x [n, rows] f32: index of the largest value (first on ties) into ids [rows] I32. */
int gpu_argmax(gpu_ctx *ctx, gpu_tensor *ids, gpu_tensor *x);
/* Per row: the k largest values, sorted descending (ties: lower index first), into
 * vals [k, rows] f32 and ids [k, rows] I32; k <= 64. */
int gpu_topk(gpu_ctx *ctx, gpu_tensor *vals, gpu_tensor *ids, gpu_tensor *x, int k);

/* ---- profiling (VKSEEK_PROFILE=1) ---- */
/* Prints the per-op GPU time table gathered so far, then clears it. */
void gpu_profile_print(gpu_ctx *ctx);

/* Counters for tests and benchmarks. */
typedef struct {
    uint64_t dispatches, barriers, submits;
} gpu_stats;
gpu_stats gpu_get_stats(const gpu_ctx *ctx);

/* ---- windows (present.c) ---- */
/* Lets the next gpu_open present to GLFW windows: its instance gets the window system's
 * surface extensions, its device VK_KHR_swapchain. Call after glfwInit. 0, or -1 when
 * this Vulkan cannot present (gpu_errmsg says why). */
int gpu_enable_display(void);

/* A swapchain on a GLFW window (a GLFWwindow *; no window-system type appears here) on the
 * context's device and queue. NULL on failure (gpu_errmsg). Window errors never mark the
 * compute context as failed. */
typedef struct gpu_window gpu_window;
gpu_window *gpu_window_new(gpu_ctx *ctx, void *glfw_window);
/* Shows an RGB picture [height][width][3], scaled to fit the window's framebuffer with its
 * aspect kept (nearest when enlarging, so pixels stay sharp), borders dark grey. Returns 0
 * when presented, 1 when skipped (minimised, or the swapchain went out of date: show it
 * again), -1 on failure (device lost, ...: gpu_errmsg; the window can then only be freed). */
int gpu_window_show(gpu_window *w, const uint8_t *rgb, int width, int height);
void gpu_window_free(gpu_window *w);

/* vkCmdCopyBuffer of src into dst (same byte size): the device copy rate, for benchmarks. */
int gpu_copy_bytes(gpu_ctx *ctx, gpu_tensor *dst, gpu_tensor *src);

#endif
