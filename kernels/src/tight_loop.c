/*
 * tight_loop.c: counts from 0 to N in a tight loop, then returns (interpreter benchmark).
 *
 * Runtime args:
 *   0: N, the number of iterations (0 is allowed)
 * Circular buffers: none. Semaphores: none.
 * Exit code: 0 (TT_EXIT_OK); 1 bad launch block; 2 no arg 0.
 *
 * The loop body is empty apart from a compiler barrier, so each iteration is one addi and
 * one bne: 2 * N instructions retired, plus about 15 for the checks around the loop.
 */
#include "tt_kernel.h"

int kernel_main(void)
{
    int err = tt_launch_check(1, 0, 0);
    if (err != TT_EXIT_OK)
        return err;
    uint32_t n = get_arg_val(0);
    if (n == 0)
        return TT_EXIT_OK;
    uint32_t i = 0;
    do
        __asm__ volatile("");
    while (++i != n);
    return TT_EXIT_OK;
}
