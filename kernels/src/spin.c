/*
 * spin.c: a runaway kernel that never returns (for instruction-budget tests: the simulator
 * must stop it with cause BUDGET_EXHAUSTED).
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
