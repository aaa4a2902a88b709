/* device.c: Vulkan instance, device listing and choice, context open/close, errors.
 * The validation layer is enabled by $VKSEEK_VALIDATE=1; its messages are printed and
 * counted so tests can fail on any. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static _Thread_local char errbuf[512];

const char *gpu_errmsg(void) { return errbuf[0] ? errbuf : "no error"; }

int gpu_fail(gpu_ctx *ctx, const char *fmt, ...)
{
    /* The first failure is the cause; later ones are consequences. */
    if (ctx && ctx->failed) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    if (ctx) ctx->failed = 1;
    return -1;
}

const char *gpu_vkresult(VkResult r)
{
    switch (r) {
#define R(x) case x: return #x;
    R(VK_SUCCESS) R(VK_NOT_READY) R(VK_TIMEOUT) R(VK_INCOMPLETE)
    R(VK_ERROR_OUT_OF_HOST_MEMORY) R(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    R(VK_ERROR_INITIALIZATION_FAILED) R(VK_ERROR_DEVICE_LOST) R(VK_ERROR_MEMORY_MAP_FAILED)
    R(VK_ERROR_LAYER_NOT_PRESENT) R(VK_ERROR_EXTENSION_NOT_PRESENT)
    R(VK_ERROR_FEATURE_NOT_PRESENT) R(VK_ERROR_INCOMPATIBLE_DRIVER)
    R(VK_ERROR_TOO_MANY_OBJECTS) R(VK_ERROR_FORMAT_NOT_SUPPORTED)
    R(VK_ERROR_FRAGMENTED_POOL) R(VK_ERROR_OUT_OF_POOL_MEMORY) R(VK_ERROR_UNKNOWN)
#undef R
    default: return "VkResult(unknown)";
    }
}

static int env_on(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation(
    VkDebugUtilsMessageSeverityFlagBitsEXT sev, VkDebugUtilsMessageTypeFlagsEXT type,
    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)type;
    if (sev >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        gpu_ctx *ctx = user;
        if (ctx) ctx->validation_errors++;
        fprintf(stderr, "vkseek: validation: %s\n", data->pMessage);
    }
    return VK_FALSE;
}

static int has_layer(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS) return 0;
    VkLayerProperties *p = calloc(n ? n : 1, sizeof *p);
    int found = 0;
    if (p && vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++)
            if (strcmp(p[i].layerName, name) == 0) found = 1;
    free(p);
    return found;
}

static int create_instance(gpu_ctx *ctx, VkInstance *out, int validate)
{
    static const char *layer = "VK_LAYER_KHRONOS_validation";
    const char *ext[16] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME};
    uint32_t n_ext = validate ? 2 : 0, n_disp;
    const char *const *disp = gpu_display_instance_extensions(&n_disp);
    if (n_ext + n_disp > 16) return gpu_fail(ctx, "too many instance extensions for a window");
    for (uint32_t i = 0; i < n_disp; i++) ext[n_ext++] = disp[i];
    /* Synchronization validation too: lavapipe runs dispatches serially, so a missing
     * barrier can only be caught here. */
    VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                        .enabledValidationFeatureCount = 1,
                                        .pEnabledValidationFeatures = enables};
    if (validate && !has_layer(layer))
        return gpu_fail(ctx, "VKSEEK_VALIDATE=1 but %s is not installed "
                             "(Debian package vulkan-validationlayers)", layer);
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "vkseek",
        .apiVersion = VK_API_VERSION_1_2,
    };
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = validate ? &features : NULL,
        .pApplicationInfo = &app,
        .enabledLayerCount = validate ? 1 : 0,
        .ppEnabledLayerNames = validate ? &layer : NULL,
        .enabledExtensionCount = n_ext,
        .ppEnabledExtensionNames = n_ext ? ext : NULL,
    };
    VkResult r = vkCreateInstance(&ci, NULL, out);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
        return gpu_fail(ctx, "no Vulkan driver found (install your GPU's Vulkan driver, "
                             "or Debian package mesa-vulkan-drivers for the CPU)");
    VKC(ctx, r);
    return 0;
}

static const char *vendor_name(uint32_t id)
{
    switch (id) {
    case 0x1002: return "AMD";
    case 0x10de: return "NVIDIA";
    case 0x8086: return "Intel";
    case 0x13b5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x106b: return "Apple";
    case 0x10005: return "Mesa";
    default: return "other";
    }
}

static const char *type_name(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
    }
}

static int has_device_ext(VkPhysicalDevice pd, const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS) return 0;
    VkExtensionProperties *e = calloc(n ? n : 1, sizeof *e);
    int found = 0;
    if (e && vkEnumerateDeviceExtensionProperties(pd, NULL, &n, e) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++)
            if (strcmp(e[i].extensionName, name) == 0) found = 1;
    free(e);
    return found;
}

/* The features vkseek may use, in one chain: f2 -> f11 -> f12. */
typedef struct {
    VkPhysicalDeviceFeatures2 f2;
    VkPhysicalDeviceVulkan11Features f11;
    VkPhysicalDeviceVulkan12Features f12;
} features;

static void query_features(VkPhysicalDevice pd, features *f)
{
    f->f12 = (VkPhysicalDeviceVulkan12Features){
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    f->f11 = (VkPhysicalDeviceVulkan11Features){
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &f->f12};
    f->f2 = (VkPhysicalDeviceFeatures2){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                        .pNext = &f->f11};
    vkGetPhysicalDeviceFeatures2(pd, &f->f2);
}

static void describe(VkPhysicalDevice pd, int index, gpu_device_info *d)
{
    VkPhysicalDeviceSubgroupProperties sg = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                      .pNext = &sg};
    vkGetPhysicalDeviceProperties2(pd, &p2);
    features f;
    query_features(pd, &f);
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);

    memset(d, 0, sizeof *d);
    d->index = index;
    snprintf(d->name, sizeof d->name, "%s", p2.properties.deviceName);
    snprintf(d->vendor, sizeof d->vendor, "%s", vendor_name(p2.properties.vendorID));
    snprintf(d->type, sizeof d->type, "%s", type_name(p2.properties.deviceType));
    for (uint32_t i = 0; i < mp.memoryHeapCount; i++)
        if ((mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
            mp.memoryHeaps[i].size > d->memory)
            d->memory = mp.memoryHeaps[i].size;
    d->subgroup_size = sg.subgroupSize;
    d->fp16 = f.f12.shaderFloat16;
    d->storage16 = f.f11.storageBuffer16BitAccess;
    d->storage8 = f.f12.storageBuffer8BitAccess;
    d->int_dot = has_device_ext(pd, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
    d->api_version = p2.properties.apiVersion;
}

static int enumerate(gpu_ctx *ctx, VkInstance inst, VkPhysicalDevice **pds, uint32_t *n)
{
    *n = 0;
    VKC(ctx, vkEnumeratePhysicalDevices(inst, n, NULL));
    if (*n == 0)
        return gpu_fail(ctx, "no Vulkan device found (for the CPU, install Debian package "
                             "mesa-vulkan-drivers)");
    *pds = calloc(*n, sizeof **pds);
    if (!*pds) return gpu_fail(ctx, "out of memory");
    VKC(ctx, vkEnumeratePhysicalDevices(inst, n, *pds));
    return 0;
}

int gpu_list_devices(gpu_device_info *out, int max)
{
    VkInstance inst;
    if (create_instance(NULL, &inst, 0)) return -1;
    VkPhysicalDevice *pds = NULL;
    uint32_t n = 0;
    if (enumerate(NULL, inst, &pds, &n)) {
        vkDestroyInstance(inst, NULL);
        return -1;
    }
    for (uint32_t i = 0; i < n && (int)i < max; i++) describe(pds[i], (int)i, &out[i]);
    free(pds);
    vkDestroyInstance(inst, NULL);
    return (int)n;
}

/* Default choice: first discrete GPU, else integrated, else whatever comes first. */
static int default_device(const gpu_device_info *d, int n)
{
    static const char *order[] = {"discrete", "integrated", "virtual"};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < n; i++)
            if (strcmp(d[i].type, order[k]) == 0) return i;
    return 0;
}

int gpu_memory_type(const gpu_ctx *ctx, uint32_t allowed, VkMemoryPropertyFlags want)
{
    int best = -1;
    for (uint32_t i = 0; i < ctx->memprops.memoryTypeCount; i++) {
        if (!(allowed & (1u << i)) || (ctx->memprops.memoryTypes[i].propertyFlags & want) != want)
            continue;
        uint32_t h = ctx->memprops.memoryTypes[i].heapIndex;
        if (best < 0 || ctx->memprops.memoryHeaps[h].size >
                            ctx->memprops.memoryHeaps[ctx->memprops.memoryTypes[best].heapIndex].size)
            best = (int)i;
    }
    return best;
}

/* Shared memory is used directly only where it is the device's own memory (integrated GPUs,
 * CPUs); on a discrete GPU the host-visible window is small and slow for the shaders.
 * $VKSEEK_FORCE_STAGING=1 takes the discrete-GPU path anywhere (tests use it). */
static int pick_memory(gpu_ctx *ctx)
{
    int integrated = ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ||
                     ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
    ctx->uma = integrated && !env_on("VKSEEK_FORCE_STAGING") &&
               gpu_memory_type(ctx, ~0u, GPU_MEM_SHARED) >= 0;
    if (!ctx->uma && gpu_memory_type(ctx, ~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) < 0)
        return gpu_fail(ctx, "device '%s' has no device-local memory type", ctx->info.name);
    return 0;
}

static int create_device(gpu_ctx *ctx)
{
    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(ctx->pdev, &nq, NULL);
    VkQueueFamilyProperties qp[32];
    if (nq > 32) nq = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(ctx->pdev, &nq, qp);
    ctx->qfam = UINT32_MAX;
    /* A window's frames are blits, which need a graphics queue: with a display, prefer a
     * family that does both. */
    uint32_t n_disp;
    gpu_display_instance_extensions(&n_disp);
    VkQueueFlags want = VK_QUEUE_COMPUTE_BIT | (n_disp ? VK_QUEUE_GRAPHICS_BIT : 0);
    for (uint32_t i = 0; i < nq && n_disp; i++)
        if ((qp[i].queueFlags & want) == want) {
            ctx->qfam = i;
            break;
        }
    for (uint32_t i = 0; ctx->qfam == UINT32_MAX && i < nq; i++)
        if ((qp[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && qp[i].timestampValidBits > 0) {
            ctx->qfam = i;
            break;
        }
    for (uint32_t i = 0; ctx->qfam == UINT32_MAX && i < nq; i++)
        if (qp[i].queueFlags & VK_QUEUE_COMPUTE_BIT) ctx->qfam = i;
    if (ctx->qfam != UINT32_MAX && qp[ctx->qfam].timestampValidBits == 0 && ctx->profile) {
        fprintf(stderr, "vkseek: VKSEEK_PROFILE: the compute queue has no timestamps; "
                        "profiling is off\n");
        ctx->profile = 0;
    }
    if (ctx->qfam == UINT32_MAX)
        return gpu_fail(ctx, "device '%s' has no compute queue", ctx->info.name);
    ctx->qflags = qp[ctx->qfam].queueFlags;

    /* Enable what the shaders may use, where present: 16/8-bit storage and f16 math. */
    features f;
    query_features(ctx->pdev, &f);
    VkPhysicalDeviceVulkan12Features e12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
        .shaderFloat16 = f.f12.shaderFloat16,
        .shaderInt8 = f.f12.shaderInt8,
        .storageBuffer8BitAccess = f.f12.storageBuffer8BitAccess,
    };
    VkPhysicalDeviceVulkan11Features e11 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
        .pNext = &e12,
        .storageBuffer16BitAccess = f.f11.storageBuffer16BitAccess,
    };
    VkPhysicalDeviceFeatures2 e2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                    .pNext = &e11};
    e2.features.shaderInt16 = f.f2.features.shaderInt16;
    e2.features.shaderInt64 = f.f2.features.shaderInt64;

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = ctx->qfam,
                                   .queueCount = 1,
                                   .pQueuePriorities = &prio};
    /* Windows (gpu_enable_display): the swapchain, where the device has it. */
    const char *swapchain = VK_KHR_SWAPCHAIN_EXTENSION_NAME;
    ctx->can_present = n_disp > 0 && has_device_ext(ctx->pdev, swapchain);
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &e2,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = ctx->can_present ? 1 : 0,
                              .ppEnabledExtensionNames = ctx->can_present ? &swapchain : NULL};
    VKC(ctx, vkCreateDevice(ctx->pdev, &dci, NULL, &ctx->dev));
    vkGetDeviceQueue(ctx->dev, ctx->qfam, 0, &ctx->queue);
    return 0;
}

static void choose_sizes(gpu_ctx *ctx)
{
    VkPhysicalDeviceSubgroupProperties sg = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                      .pNext = &sg};
    vkGetPhysicalDeviceProperties2(ctx->pdev, &p2);
    ctx->subgroup_size = sg.subgroupSize;
    ctx->subgroup_arith = (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                          (sg.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) &&
                          !env_on("VKSEEK_NO_SUBGROUP");
    /* 64 suits lavapipe and the GPUs' warps/wavefronts alike; never below a subgroup. */
    uint32_t wg = 64;
    if (sg.subgroupSize > wg) wg = sg.subgroupSize;
    if (wg > ctx->props.limits.maxComputeWorkGroupSize[0])
        wg = ctx->props.limits.maxComputeWorkGroupSize[0];
    ctx->wg = wg;
    /* Threads per matrix row: one on CPUs (no reduction, uniform loads of x), a warp's
     * worth on GPUs (coalesced weight loads). $VKSEEK_ROW_THREADS overrides, for tests. */
    uint32_t rt = ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? 1
                  : sg.subgroupSize < 32 ? sg.subgroupSize : 32;
    const char *e = getenv("VKSEEK_ROW_THREADS");
    if (e && atoi(e) > 0) rt = (uint32_t)atoi(e);
    while (rt > 1 && (wg % rt || (rt & (rt - 1)))) rt--;
    ctx->matvec_rt = rt ? rt : 1;
    /* Rows per invocation: on CPUs every load is a gather, so x loads are shared by 4 rows;
     * GPUs keep one row per invocation for more parallelism. $VKSEEK_MATVEC_ROWS overrides. */
    ctx->matvec_rows = ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? 4 : 1;
    e = getenv("VKSEEK_MATVEC_ROWS");
    if (e && atoi(e) > 0 && atoi(e) <= 8) ctx->matvec_rows = (uint32_t)atoi(e);
    /* Small batches: on CPUs, passes of the 8-vector kernel beat a 128-token tile that is
     * mostly padding (measured: 8 vs 3 GFLOP/s at 32 tokens); GPUs tile from 9 tokens. */
    ctx->matvec_max_m = ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? 64 : 8;
    e = getenv("VKSEEK_MATVEC_MAX_M"); /* tests: the GPU choice on lavapipe */
    if (e && atoi(e) >= 1 && atoi(e) <= 4096) ctx->matvec_max_m = (uint32_t)atoi(e);
    /* The tiled product's rows per invocation: 16 on CPUs, where every shared-memory read is
     * a gather and 16 rows x 8 tokens feed 128 FMAs from 6 vec4 reads (prefill +25% over 8
     * rows on lavapipe); 8 on GPUs, whose 128 accumulators would cost occupancy. Needs 25 KiB
     * of shared memory. $VKSEEK_MATMUL_ROWS (8 or 16) overrides. */
    ctx->matmul_rows = ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU &&
                       ctx->props.limits.maxComputeSharedMemorySize >= 26u << 10 ? 16 : 8;
    e = getenv("VKSEEK_MATMUL_ROWS");
    if (e && (atoi(e) == 8 || atoi(e) == 16)) ctx->matmul_rows = (uint32_t)atoi(e);
    /* Prefill attention, one subgroup per query row (attention_rows.comp), from 16 tokens
     * on CPUs, where lavapipe's subgroup is its fixed vector width: 5x the per-row kernel's
     * rate there. GPUs keep the per-row kernel (their subgroup size may vary per pipeline;
     * unmeasured). $VKSEEK_ATTN_ROWS (tokens, 0 never) overrides. */
    ctx->attn_rows_min = ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? 16 : 0;
    e = getenv("VKSEEK_ATTN_ROWS");
    if (e && atoi(e) >= 0) ctx->attn_rows_min = (uint32_t)atoi(e);
    ctx->max_range = ctx->props.limits.maxStorageBufferRange;
    /* $VKSEEK_MAX_BINDING lowers the binding limit, so tests split small tensors the way
     * big ones are split for real. */
    const char *mb = getenv("VKSEEK_MAX_BINDING");
    if (mb && atoll(mb) >= 4096 && (uint64_t)atoll(mb) < ctx->max_range)
        ctx->max_range = (uint64_t)atoll(mb);
    ctx->align = ctx->props.limits.minStorageBufferOffsetAlignment;
    if (ctx->align < 16) ctx->align = 16;
}

/* $VKSEEK_DEVICE_MEMORY: "512M", "2G", bytes. 0 ok, -1 with the error set. */
static int memory_limit(gpu_ctx *ctx)
{
    const char *e = getenv("VKSEEK_DEVICE_MEMORY");
    if (!e || !*e) return 0;
    char *end;
    double v = strtod(e, &end);
    double unit = *end == 'K' ? 1024.0 : *end == 'M' ? 1048576.0 : *end == 'G' ? 1073741824.0 : 1;
    if (unit > 1) end++;
    if (*end || end == e || !(v >= 1) || v * unit > 1e18)
        return gpu_fail(ctx, "VKSEEK_DEVICE_MEMORY='%s' is not a size (bytes, or 512M, 2G)", e);
    ctx->mem_limit = (uint64_t)(v * unit);
    return 0;
}

gpu_ctx *gpu_open(int index)
{
    gpu_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        gpu_fail(NULL, "out of memory");
        return NULL;
    }
    int validate = env_on("VKSEEK_VALIDATE");
    VkPhysicalDevice *pds = NULL;
    gpu_device_info *infos = NULL;
    uint32_t n = 0;
    if (create_instance(ctx, &ctx->inst, validate)) goto fail;
    if (validate) {
        VkDebugUtilsMessengerCreateInfoEXT mci = {
            .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
            .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
            .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
            .pfnUserCallback = on_validation,
            .pUserData = ctx,
        };
        PFN_vkCreateDebugUtilsMessengerEXT create = (PFN_vkCreateDebugUtilsMessengerEXT)
            vkGetInstanceProcAddr(ctx->inst, "vkCreateDebugUtilsMessengerEXT");
        if (!create) {
            gpu_fail(ctx, "vkCreateDebugUtilsMessengerEXT unavailable");
            goto fail;
        }
        VkResult r = create(ctx->inst, &mci, NULL, &ctx->messenger);
        if (r != VK_SUCCESS) {
            gpu_fail(ctx, "vkCreateDebugUtilsMessengerEXT failed: %s", gpu_vkresult(r));
            goto fail;
        }
    }
    if (enumerate(ctx, ctx->inst, &pds, &n)) goto fail;
    infos = calloc(n, sizeof *infos);
    if (!infos) {
        gpu_fail(ctx, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) describe(pds[i], (int)i, &infos[i]);
    if (index < 0 && getenv("VKSEEK_DEVICE")) {
        char *end;
        long v = strtol(getenv("VKSEEK_DEVICE"), &end, 10);
        if (*end || end == getenv("VKSEEK_DEVICE") || v < 0 || v > 1000) {
            gpu_fail(ctx, "VKSEEK_DEVICE='%s' is not a device index", getenv("VKSEEK_DEVICE"));
            goto fail;
        }
        index = (int)v;
    }
    if (index < 0) index = default_device(infos, (int)n);
    if (index >= (int)n) {
        gpu_fail(ctx, "device %d does not exist (%u device%s; see 'vkseek devices')", index, n,
                 n == 1 ? "" : "s");
        goto fail;
    }
    ctx->pdev = pds[index];
    ctx->info = infos[index];
    vkGetPhysicalDeviceProperties(ctx->pdev, &ctx->props);
    vkGetPhysicalDeviceMemoryProperties(ctx->pdev, &ctx->memprops);
    if (VK_API_VERSION_MINOR(ctx->props.apiVersion) < 2 &&
        VK_API_VERSION_MAJOR(ctx->props.apiVersion) == 1) {
        gpu_fail(ctx, "device '%s' supports Vulkan %u.%u; vkseek needs 1.2", ctx->info.name,
                 VK_API_VERSION_MAJOR(ctx->props.apiVersion),
                 VK_API_VERSION_MINOR(ctx->props.apiVersion));
        goto fail;
    }
    VkPhysicalDeviceDriverProperties drv = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                      .pNext = &drv};
    vkGetPhysicalDeviceProperties2(ctx->pdev, &p2);
    ctx->is_lavapipe = drv.driverID == VK_DRIVER_ID_MESA_LLVMPIPE;
    choose_sizes(ctx);
    ctx->profile = env_on("VKSEEK_PROFILE");
    if (memory_limit(ctx) || pick_memory(ctx) || create_device(ctx) || gpu_stream_init(ctx) ||
        gpu_pipeline_cache_open(ctx))
        goto fail;
    free(pds);
    free(infos);
    return ctx;
fail:
    free(pds);
    free(infos);
    gpu_close(ctx);
    return NULL;
}

void gpu_close(gpu_ctx *ctx)
{
    if (!ctx) return;
    if (ctx->dev) {
        VkResult r = vkDeviceWaitIdle(ctx->dev);
        if (r != VK_SUCCESS) fprintf(stderr, "vkseek: vkDeviceWaitIdle failed: %s\n", gpu_vkresult(r));
        if (ctx->profile && ctx->n_prof) gpu_profile_print(ctx);
        gpu_rope_tables_free(ctx);
        gpu_stream_destroy(ctx);
        gpu_pipeline_cache_save(ctx);
        gpu_pipelines_destroy(ctx);
        vkDestroyDevice(ctx->dev, NULL);
    }
    if (ctx->messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy = (PFN_vkDestroyDebugUtilsMessengerEXT)
            vkGetInstanceProcAddr(ctx->inst, "vkDestroyDebugUtilsMessengerEXT");
        if (destroy) destroy(ctx->inst, ctx->messenger, NULL);
    }
    if (ctx->inst) vkDestroyInstance(ctx->inst, NULL);
    free(ctx);
}

const gpu_device_info *gpu_info(const gpu_ctx *ctx) { return &ctx->info; }
uint64_t gpu_validation_errors(const gpu_ctx *ctx) { return ctx->validation_errors; }
gpu_stats gpu_get_stats(const gpu_ctx *ctx) { return ctx->stats; }
