/* present.c: pictures shown in a window through a Vulkan swapchain on the compute device.
 * gpu_enable_display (before gpu_open) adds GLFW's surface extensions to the instance; a
 * gpu_window owns the surface, the swapchain and one frame in flight. A frame copies the
 * picture into a device image and blits it, fitted, into the acquired swapchain image. The
 * few image layout transitions here are the window's own; compute barriers stay in
 * record.c. Errors go to gpu_errmsg without touching the compute context's sticky failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>
#include "gpu/internal.h"

#define MAX_DISPLAY_EXTS 8

/* copies: GLFW's own list ends with glfwTerminate */
static char display_names[MAX_DISPLAY_EXTS][VK_MAX_EXTENSION_NAME_SIZE];
static const char *display_exts[MAX_DISPLAY_EXTS];
static uint32_t n_display_exts;

int gpu_enable_display(void)
{
    if (!glfwVulkanSupported()) return gpu_fail(NULL, "GLFW found no Vulkan loader");
    uint32_t n = 0;
    const char **e = glfwGetRequiredInstanceExtensions(&n);
    if (!e || !n) return gpu_fail(NULL, "Vulkan has no surface extension for this window system");
    if (n > MAX_DISPLAY_EXTS) return gpu_fail(NULL, "the window system needs %u instance extensions", n);
    for (uint32_t i = 0; i < n; i++) {
        snprintf(display_names[i], sizeof display_names[i], "%s", e[i]);
        display_exts[i] = display_names[i];
    }
    n_display_exts = n;
    return 0;
}

const char *const *gpu_display_instance_extensions(uint32_t *n)
{
    *n = n_display_exts;
    return display_exts;
}

struct gpu_window {
    gpu_ctx *ctx;
    GLFWwindow *win;
    VkSurfaceKHR surface;
    VkSurfaceFormatKHR format;
    VkSwapchainKHR swapchain;
    VkExtent2D extent;
    int fb_w, fb_h;                       /* the framebuffer size it was made for */
    uint32_t n_images;
    VkImage *images;
    VkSemaphore acquired, *presentable;   /* one per swapchain image */
    int stale;                            /* recreate the swapchain before the next frame */
    int broken;                           /* a frame failed after its acquire: only free */
    VkCommandPool pool;
    VkCommandBuffer cmd;
    VkFence fence;                        /* the frame in flight */
    /* the picture: host staging buffer -> device image (the blit's source) */
    struct gpu_mem *staging;
    VkImage pic;
    VkDeviceMemory pic_mem;
    int pic_w, pic_h;
    VkFilter shrink;                      /* LINEAR where the source format filters, else NEAREST */
};

static VkDevice dev(const gpu_window *w) { return w->ctx->dev; }

static void free_picture(gpu_window *w)
{
    if (w->staging) gpu_mem_unref(w->ctx, w->staging);
    if (w->pic) vkDestroyImage(dev(w), w->pic, NULL);
    if (w->pic_mem) vkFreeMemory(dev(w), w->pic_mem, NULL);
    w->staging = NULL;
    w->pic = VK_NULL_HANDLE, w->pic_mem = VK_NULL_HANDLE, w->pic_w = w->pic_h = 0;
}

/* The staging buffer and device image for a width x height RGBA picture. */
static int make_picture(gpu_window *w, int width, int height)
{
    if (w->pic_w == width && w->pic_h == height) return 0;
    free_picture(w);
    int failed = w->ctx->failed; /* a window's failure is not the compute context's */
    if (!(w->staging = gpu_mem_new(w->ctx, (uint64_t)width * height * 4, 1))) {
        w->ctx->failed = failed;
        return -1;
    }
    VkImageCreateInfo ii = {.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
                            .imageType = VK_IMAGE_TYPE_2D,
                            .format = VK_FORMAT_R8G8B8A8_UNORM,
                            .extent = {(uint32_t)width, (uint32_t)height, 1},
                            .mipLevels = 1, .arrayLayers = 1,
                            .samples = VK_SAMPLE_COUNT_1_BIT,
                            .tiling = VK_IMAGE_TILING_OPTIMAL,
                            .usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                            .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
                            .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED};
    VKC(NULL, vkCreateImage(dev(w), &ii, NULL, &w->pic));
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(dev(w), w->pic, &req);
    int type = gpu_memory_type(w->ctx, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (type < 0) return gpu_fail(NULL, "no memory type for the window's picture");
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = req.size, .memoryTypeIndex = (uint32_t)type};
    VKC(NULL, vkAllocateMemory(dev(w), &ai, NULL, &w->pic_mem));
    VKC(NULL, vkBindImageMemory(dev(w), w->pic, w->pic_mem, 0));
    w->pic_w = width, w->pic_h = height;
    return 0;
}

static void free_swapchain_images(gpu_window *w)
{
    for (uint32_t i = 0; w->presentable && i < w->n_images; i++)
        if (w->presentable[i]) vkDestroySemaphore(dev(w), w->presentable[i], NULL);
    free(w->presentable), free(w->images);
    w->presentable = NULL, w->images = NULL, w->n_images = 0;
}

/* (Re)creates the swapchain at the framebuffer's size; 1 while the window is minimised. */
static int make_swapchain(gpu_window *w)
{
    VkSurfaceCapabilitiesKHR caps;
    VKC(NULL, vkGetPhysicalDeviceSurfaceCapabilitiesKHR(w->ctx->pdev, w->surface, &caps));
    int fw = 0, fh = 0;
    glfwGetFramebufferSize(w->win, &fw, &fh);
    VkExtent2D e = caps.currentExtent;
    if (fw <= 0 || fh <= 0 || caps.maxImageExtent.width == 0) return w->stale = 1; /* minimised */
    if (e.width == UINT32_MAX) {   /* the surface takes the swapchain's size: the framebuffer's */
        e.width = (uint32_t)fw, e.height = (uint32_t)fh;
        if (e.width > caps.maxImageExtent.width) e.width = caps.maxImageExtent.width;
        if (e.height > caps.maxImageExtent.height) e.height = caps.maxImageExtent.height;
        if (e.width < caps.minImageExtent.width) e.width = caps.minImageExtent.width;
        if (e.height < caps.minImageExtent.height) e.height = caps.minImageExtent.height;
    }
    if (e.width == 0 || e.height == 0) return w->stale = 1;
    if (!(caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_DST_BIT))
        return gpu_fail(NULL, "this window's swapchain images cannot be written by transfers");
    uint32_t count = caps.minImageCount + 1;
    if (caps.maxImageCount && count > caps.maxImageCount) count = caps.maxImageCount;
    VkCompositeAlphaFlagBitsKHR alpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR;
    while (!(caps.supportedCompositeAlpha & alpha) && alpha < VK_COMPOSITE_ALPHA_INHERIT_BIT_KHR)
        alpha <<= 1;
    /* MAILBOX never blocks a present behind a hidden window; FIFO is always there */
    uint32_t n_modes = 8;
    VkPresentModeKHR modes[8], mode = VK_PRESENT_MODE_FIFO_KHR;
    VkResult mr = vkGetPhysicalDeviceSurfacePresentModesKHR(w->ctx->pdev, w->surface, &n_modes, modes);
    for (uint32_t i = 0; (mr == VK_SUCCESS || mr == VK_INCOMPLETE) && i < n_modes; i++)
        if (modes[i] == VK_PRESENT_MODE_MAILBOX_KHR) mode = modes[i];
    VkSwapchainKHR old = w->swapchain;
    VkSwapchainCreateInfoKHR ci = {.sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR,
                                   .surface = w->surface,
                                   .minImageCount = count,
                                   .imageFormat = w->format.format,
                                   .imageColorSpace = w->format.colorSpace,
                                   .imageExtent = e,
                                   .imageArrayLayers = 1,
                                   .imageUsage = VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                                   .imageSharingMode = VK_SHARING_MODE_EXCLUSIVE,
                                   .preTransform = caps.currentTransform,
                                   .compositeAlpha = alpha,
                                   .presentMode = mode,
                                   .clipped = VK_TRUE,
                                   .oldSwapchain = old};
    w->stale = 1; /* until this succeeds */
    VKC(NULL, vkDeviceWaitIdle(dev(w)));
    VkResult r = vkCreateSwapchainKHR(dev(w), &ci, NULL, &w->swapchain);
    if (old) vkDestroySwapchainKHR(dev(w), old, NULL);
    free_swapchain_images(w);
    if (r != VK_SUCCESS) {
        w->swapchain = VK_NULL_HANDLE;
        return gpu_fail(NULL, "vkCreateSwapchainKHR failed: %s", gpu_vkresult(r));
    }
    VKC(NULL, vkGetSwapchainImagesKHR(dev(w), w->swapchain, &w->n_images, NULL));
    w->images = calloc(w->n_images, sizeof *w->images);
    w->presentable = calloc(w->n_images, sizeof *w->presentable);
    if (!w->images || !w->presentable) return gpu_fail(NULL, "out of memory");
    VKC(NULL, vkGetSwapchainImagesKHR(dev(w), w->swapchain, &w->n_images, w->images));
    VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    for (uint32_t i = 0; i < w->n_images; i++)
        VKC(NULL, vkCreateSemaphore(dev(w), &si, NULL, &w->presentable[i]));
    w->extent = e;
    w->fb_w = fw, w->fb_h = fh;
    w->stale = 0;
    return 0;
}

/* A UNORM sRGB-space format the blit can write, so the window shows the picture's own byte
 * values (an _SRGB format would encode them again). */
static int choose_format(gpu_window *w)
{
    uint32_t n = 0;
    VKC(NULL, vkGetPhysicalDeviceSurfaceFormatsKHR(w->ctx->pdev, w->surface, &n, NULL));
    VkSurfaceFormatKHR *f = calloc(n ? n : 1, sizeof *f);
    if (!f) return gpu_fail(NULL, "out of memory");
    VkResult r = vkGetPhysicalDeviceSurfaceFormatsKHR(w->ctx->pdev, w->surface, &n, f);
    int best = -1, rank = 0;
    for (uint32_t i = 0; r == VK_SUCCESS && i < n; i++) {
        VkFormatProperties fp;
        vkGetPhysicalDeviceFormatProperties(w->ctx->pdev, f[i].format, &fp);
        if (!(fp.optimalTilingFeatures & VK_FORMAT_FEATURE_BLIT_DST_BIT)) continue;
        int unorm = f[i].format == VK_FORMAT_B8G8R8A8_UNORM || f[i].format == VK_FORMAT_R8G8B8A8_UNORM;
        int k = 1 + unorm + (unorm && f[i].colorSpace == VK_COLOR_SPACE_SRGB_NONLINEAR_KHR);
        if (k > rank) best = (int)i, rank = k;
    }
    if (best >= 0) w->format = f[best];
    free(f);
    VKC(NULL, r);
    if (best < 0) return gpu_fail(NULL, "no window format that a blit can write");
    VkFormatProperties src;
    vkGetPhysicalDeviceFormatProperties(w->ctx->pdev, VK_FORMAT_R8G8B8A8_UNORM, &src);
    if (!(src.optimalTilingFeatures & VK_FORMAT_FEATURE_BLIT_SRC_BIT))
        return gpu_fail(NULL, "the device cannot blit from RGBA8 images");
    w->shrink = src.optimalTilingFeatures & VK_FORMAT_FEATURE_SAMPLED_IMAGE_FILTER_LINEAR_BIT
                    ? VK_FILTER_LINEAR : VK_FILTER_NEAREST;
    return 0;
}

gpu_window *gpu_window_new(gpu_ctx *ctx, void *glfw_window)
{
    if (!(ctx->qflags & VK_QUEUE_GRAPHICS_BIT)) {
        gpu_fail(NULL, "device '%s' computes on a queue without graphics, which a window's "
                       "blits need", ctx->info.name);
        return NULL;
    }
    if (!ctx->can_present) {
        gpu_fail(NULL, "device '%s' cannot present to windows (no VK_KHR_swapchain, or "
                       "gpu_enable_display was not called first)", ctx->info.name);
        return NULL;
    }
    gpu_window *w = calloc(1, sizeof *w);
    if (!w) {
        gpu_fail(NULL, "out of memory");
        return NULL;
    }
    w->ctx = ctx;
    w->win = glfw_window;
    VkBool32 ok = VK_FALSE;
    VkResult r = glfwCreateWindowSurface(ctx->inst, w->win, NULL, &w->surface);
    if (r != VK_SUCCESS) {
        gpu_fail(NULL, "glfwCreateWindowSurface failed: %s", gpu_vkresult(r));
        goto fail;
    }
    r = vkGetPhysicalDeviceSurfaceSupportKHR(ctx->pdev, ctx->qfam, w->surface, &ok);
    if (r != VK_SUCCESS || !ok) {
        gpu_fail(NULL, "device '%s' cannot present to this window from its compute queue",
                 ctx->info.name);
        goto fail;
    }
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = ctx->qfam};
    VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO,
                             .flags = VK_FENCE_CREATE_SIGNALED_BIT};
    VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    if ((r = vkCreateCommandPool(ctx->dev, &pci, NULL, &w->pool)) != VK_SUCCESS ||
        (cai.commandPool = w->pool, (r = vkAllocateCommandBuffers(ctx->dev, &cai, &w->cmd)) != VK_SUCCESS) ||
        (r = vkCreateFence(ctx->dev, &fci, NULL, &w->fence)) != VK_SUCCESS ||
        (r = vkCreateSemaphore(ctx->dev, &sci, NULL, &w->acquired)) != VK_SUCCESS) {
        gpu_fail(NULL, "window set-up failed: %s", gpu_vkresult(r));
        goto fail;
    }
    if (choose_format(w) || make_swapchain(w) < 0) goto fail;
    return w;
fail:
    gpu_window_free(w);
    return NULL;
}

void gpu_window_free(gpu_window *w)
{
    if (!w) return;
    VkResult r = vkDeviceWaitIdle(dev(w)); /* nothing of ours may be in flight */
    if (r != VK_SUCCESS) fprintf(stderr, "vkseek: vkDeviceWaitIdle (window) failed: %s\n", gpu_vkresult(r));
    free_picture(w);
    free_swapchain_images(w);
    if (w->swapchain) vkDestroySwapchainKHR(dev(w), w->swapchain, NULL);
    if (w->acquired) vkDestroySemaphore(dev(w), w->acquired, NULL);
    if (w->fence) vkDestroyFence(dev(w), w->fence, NULL);
    if (w->pool) vkDestroyCommandPool(dev(w), w->pool, NULL);
    if (w->surface) vkDestroySurfaceKHR(w->ctx->inst, w->surface, NULL);
    free(w);
}

static void transition(VkCommandBuffer cmd, VkImage img, VkImageLayout from, VkImageLayout to,
                       VkAccessFlags src_access, VkAccessFlags dst_access,
                       VkPipelineStageFlags src_stage, VkPipelineStageFlags dst_stage)
{
    VkImageMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
                              .srcAccessMask = src_access, .dstAccessMask = dst_access,
                              .oldLayout = from, .newLayout = to,
                              .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                              .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                              .image = img,
                              .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
    vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 0, NULL, 0, NULL, 1, &b);
}

/* staging -> picture; clear the swapchain image; blit the picture into it, fitted. */
static int record(gpu_window *w, VkImage target)
{
    VkCommandBuffer c = w->cmd;
    const VkPipelineStageFlags T = VK_PIPELINE_STAGE_TRANSFER_BIT;
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VKC(NULL, vkResetCommandBuffer(c, 0));
    VKC(NULL, vkBeginCommandBuffer(c, &bi));
    transition(c, w->pic, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0,
               VK_ACCESS_TRANSFER_WRITE_BIT, T, T);
    VkBufferImageCopy bc = {.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
                            .imageExtent = {(uint32_t)w->pic_w, (uint32_t)w->pic_h, 1}};
    vkCmdCopyBufferToImage(c, w->staging->buf, w->pic, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &bc);
    transition(c, w->pic, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
               VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_TRANSFER_READ_BIT, T, T);
    /* the acquire semaphore is waited at the transfer stage, which this chains to */
    transition(c, target, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0,
               VK_ACCESS_TRANSFER_WRITE_BIT, T, T);
    VkClearColorValue grey = {.float32 = {0.12f, 0.12f, 0.12f, 1.0f}};
    VkImageSubresourceRange all = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vkCmdClearColorImage(c, target, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &grey, 1, &all);
    transition(c, target, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
               VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, T, T);
    /* fit with the aspect kept, centred */
    double sx = (double)w->extent.width / w->pic_w, sy = (double)w->extent.height / w->pic_h;
    double s = sx < sy ? sx : sy;
    int32_t dw = (int32_t)(w->pic_w * s + 0.5), dh = (int32_t)(w->pic_h * s + 0.5);
    if (dw < 1) dw = 1;
    if (dh < 1) dh = 1;
    int32_t x0 = ((int32_t)w->extent.width - dw) / 2, y0 = ((int32_t)w->extent.height - dh) / 2;
    VkImageBlit blit = {.srcSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
                        .srcOffsets = {{0, 0, 0}, {w->pic_w, w->pic_h, 1}},
                        .dstSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
                        .dstOffsets = {{x0, y0, 0}, {x0 + dw, y0 + dh, 1}}};
    vkCmdBlitImage(c, w->pic, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, target,
                   VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &blit,
                   s >= 1 ? VK_FILTER_NEAREST : w->shrink);
    transition(c, target, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
               VK_ACCESS_TRANSFER_WRITE_BIT, 0, T, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT);
    VKC(NULL, vkEndCommandBuffer(c));
    return 0;
}

static int lost(VkResult r, const char *what)
{
    return gpu_fail(NULL, "%s failed: %s", what, gpu_vkresult(r));
}

/* After the acquire, a failure leaves the semaphore or fence pending: the window is done. */
static int broken(gpu_window *w, VkResult r, const char *what)
{
    w->broken = 1;
    return r == VK_SUCCESS ? -1 : lost(r, what);
}

int gpu_window_show(gpu_window *w, const uint8_t *rgb, int width, int height)
{
    if (w->broken) return gpu_fail(NULL, "the window failed earlier");
    if (width < 1 || height < 1) return gpu_fail(NULL, "an empty picture");
    uint32_t lim = w->ctx->props.limits.maxImageDimension2D;
    if ((uint32_t)width > lim || (uint32_t)height > lim)
        return gpu_fail(NULL, "a %dx%d picture is larger than the device's images (%u)", width, height, lim);
    VkResult r = vkWaitForFences(dev(w), 1, &w->fence, VK_TRUE, UINT64_MAX);
    if (r != VK_SUCCESS) return lost(r, "vkWaitForFences (window)");
    int fw = 0, fh = 0;   /* not every window system reports a resize as out of date */
    glfwGetFramebufferSize(w->win, &fw, &fh);
    if (fw != w->fb_w || fh != w->fb_h) w->stale = 1;
    if (w->stale || !w->swapchain) {
        int rc = make_swapchain(w);
        if (rc) return rc;
    }
    if (make_picture(w, width, height)) return -1;
    for (int64_t i = 0; i < (int64_t)width * height; i++) {
        memcpy(w->staging->map + 4 * i, rgb + 3 * i, 3);
        w->staging->map[4 * i + 3] = 255;
    }
    uint32_t idx;
    r = vkAcquireNextImageKHR(dev(w), w->swapchain, 1000000000ull, w->acquired, VK_NULL_HANDLE, &idx);
    if (r == VK_ERROR_OUT_OF_DATE_KHR) return w->stale = 1;
    if (r == VK_TIMEOUT || r == VK_NOT_READY) return 1;
    if (r == VK_SUBOPTIMAL_KHR) w->stale = 1; /* this frame still presents */
    else if (r != VK_SUCCESS) return lost(r, "vkAcquireNextImageKHR");
    if (record(w, w->images[idx])) return broken(w, VK_SUCCESS, NULL);
    VkPipelineStageFlags wait = VK_PIPELINE_STAGE_TRANSFER_BIT;
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                       .waitSemaphoreCount = 1, .pWaitSemaphores = &w->acquired,
                       .pWaitDstStageMask = &wait,
                       .commandBufferCount = 1, .pCommandBuffers = &w->cmd,
                       .signalSemaphoreCount = 1, .pSignalSemaphores = &w->presentable[idx]};
    if ((r = vkResetFences(dev(w), 1, &w->fence)) != VK_SUCCESS) return broken(w, r, "vkResetFences");
    if ((r = vkQueueSubmit(w->ctx->queue, 1, &si, w->fence)) != VK_SUCCESS)
        return broken(w, r, "vkQueueSubmit (window)");
    VkPresentInfoKHR pi = {.sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR,
                           .waitSemaphoreCount = 1, .pWaitSemaphores = &w->presentable[idx],
                           .swapchainCount = 1, .pSwapchains = &w->swapchain,
                           .pImageIndices = &idx};
    r = vkQueuePresentKHR(w->ctx->queue, &pi);
    if (r == VK_ERROR_OUT_OF_DATE_KHR || r == VK_SUBOPTIMAL_KHR) w->stale = 1;
    else if (r != VK_SUCCESS) return broken(w, r, "vkQueuePresentKHR");
    return 0;
}
