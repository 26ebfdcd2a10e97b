/*
 * spin.c: a runaway kernel that never returns (for timeout tests: the host reports it and
 * puts its core back in reset, which restarts the firmware).
 *
 * Runtime args: none. Circular buffers: none. Semaphores: none.
 * Exit code: none, it never exits.
 */
#include "tt_kernel.h"

int kernel_main(void)
{
    for (;;)
        __asm__ volatile("");
}
