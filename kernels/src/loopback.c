/*
 * loopback.c: copies pages [first, first + count) of one interleaved DRAM buffer to the same
 * pages of another, through an L1 scratch page on this core (DRAM -> L1 -> DRAM).
 *
 * Runtime args:
 *   0: source base address (interleaved DRAM buffer)
 *   1: destination base address (interleaved DRAM buffer, same bank table)
 *   2: page size in bytes (the buffers' aligned page size; nonzero multiple of 4)
 *   3: first page to copy
 *   4: number of pages to copy (0 is allowed)
 *   5: L1 address of this core's DRAM bank table (struct tt_dram_bank[num_banks])
 *   6: number of DRAM banks (nonzero)
 *   7: optional: L1 address of a scratch area of at least one page. When arg 7 is absent
 *      or 0, the scratch is circular buffer 0 (its page size must be >= the page size).
 * Circular buffers: 0 = scratch page, only when arg 7 is absent or 0 (used as plain L1
 *   memory: this kernel is its only user and never reserves or pushes).
 * Semaphores: none.
 * Exit code: 0 success; 1 bad launch block; 2 fewer than 7 args; 3 no CB 0 and no arg 7;
 *   5 bad page size / bank count.
 */
#include "tt_kernel.h"

int kernel_main(void)
{
    int err = tt_launch_check(7, 0, 0);
    if (err != TT_EXIT_OK)
        return err;
    uint32_t page_size = get_arg_val(2);
    uint32_t first = get_arg_val(3);
    uint32_t count = get_arg_val(4);
    uint32_t scratch = get_num_args() > 7 ? get_arg_val(7) : 0;
    if (page_size == 0 || page_size % 4 != 0 || get_arg_val(6) == 0)
        return TT_EXIT_BAD_ARG;
    if (scratch == 0) {
        if (tt_this_launch->num_cbs < 1)
            return TT_EXIT_MISSING_CBS;
        if (page_size > tt_cb(0)->page_size)
            return TT_EXIT_BAD_ARG;
        scratch = tt_cb(0)->base;
    }
    struct InterleavedAddrGen src = tt_interleaved(5, 6, get_arg_val(0), page_size);
    struct InterleavedAddrGen dst = tt_interleaved(5, 6, get_arg_val(1), page_size);

    for (uint32_t i = 0; i < count; i++) {
        noc_async_read_page(first + i, &src, scratch);
        noc_async_read_barrier();
        noc_async_write_page(first + i, &dst, scratch);
        noc_async_write_barrier();
    }
    return TT_EXIT_OK;
}
