/* devices.c: `vkseek devices`: every Vulkan device and what it offers. */
#include <stdio.h>
#include "cli/cli.h"
#include "gpu/gpu.h"

int cmd_devices(int argc, char **argv)
{
    int want = cli_device_arg(&argc, argv);
    if (want == -2) return cli_error("--device needs a device index");
    if (argc > 1) return cli_error("devices: unexpected argument '%s'", argv[1]);
    gpu_device_info d[16];
    int n = gpu_list_devices(d, 16);
    if (n < 0) return cli_error("%s", gpu_errmsg());
    /* Which one would be used: open it (cheap) and compare names. */
    gpu_ctx *ctx = gpu_open(want);
    int chosen = ctx ? gpu_info(ctx)->index : -1;
    printf("%-3s %-36s %-8s %-10s %9s %4s %4s %5s %4s %4s\n", "#", "name", "vendor", "type",
           "memory", "sg", "fp16", "st16", "st8", "idot");
    for (int i = 0; i < n && i < 16; i++)
        printf("%c%-2d %-36.36s %-8s %-10s %7.1fG %4u %4s %5s %4s %4s\n", i == chosen ? '*' : ' ',
               d[i].index, d[i].name, d[i].vendor, d[i].type, d[i].memory / 1073741824.0,
               d[i].subgroup_size, d[i].fp16 ? "yes" : "no", d[i].storage16 ? "yes" : "no",
               d[i].storage8 ? "yes" : "no", d[i].int_dot ? "yes" : "no");
    if (!ctx) return cli_error("%s", gpu_errmsg());
    gpu_close(ctx);
    return 0;
}
