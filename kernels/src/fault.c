/*
 * fault.c: performs a misaligned 32-bit load (for error tests: the simulator stops the core
 * with cause MISALIGNED_ACCESS at the lw and reports it). On the chip an unaligned access is
 * rounded down instead (BabyRISCV/README.md, "Faults / exceptions"), so this kernel only
 * makes sense on the simulator.
 *
 * The load reads launch + 1: the launch block is word aligned, so the address is odd.
 *
 * Runtime args: none. Circular buffers: none. Semaphores: none.
 * Exit code: none when the simulator traps as it should; TT_EXIT_UNEXPECTED (7) if the
 * misaligned load was allowed to complete.
 */
#include "tt_kernel.h"

int kernel_main(void)
{
    volatile uint32_t *p = (volatile uint32_t *)((uintptr_t)tt_this_launch + 1);
    uint32_t v = *p;
    (void)v;
    return TT_EXIT_UNEXPECTED;
}
