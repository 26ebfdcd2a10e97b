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
 *   5 bad page size / bank count; 6 a NOC read or write failed.
 */
#include "tt_kernel.h"

int kernel_main(const struct tt_launch *launch)
{
    int err = tt_launch_check(launch, 7, 0, 0);
    if (err != TT_EXIT_OK)
        return err;
    uint32_t src_base = tt_arg(launch, 0);
    uint32_t dst_base = tt_arg(launch, 1);
    uint32_t page_size = tt_arg(launch, 2);
    uint32_t first = tt_arg(launch, 3);
    uint32_t count = tt_arg(launch, 4);
    const volatile struct tt_dram_bank *banks = tt_dram_banks(launch, 5);
    uint32_t num_banks = tt_arg(launch, 6);
    uint32_t scratch = tt_num_args(launch) > 7 ? tt_arg(launch, 7) : 0;
    if (page_size == 0 || page_size % 4 != 0 || num_banks == 0)
        return TT_EXIT_BAD_ARG;
    if (scratch == 0) {
        if (launch->num_cbs < 1)
            return TT_EXIT_MISSING_CBS;
        if (page_size > tt_cb(launch, 0)->page_size)
            return TT_EXIT_BAD_ARG;
        scratch = tt_cb(launch, 0)->base;
    }

    for (uint32_t i = 0; i < count; i++) {
        uint32_t page = first + i;
        uint32_t status = tt_dram_read_page(banks, num_banks, src_base, page_size, page, scratch);
        tt_noc_barrier();
        if (status != 0)
            return TT_EXIT_NOC_ERROR;
        status = tt_dram_write_page(banks, num_banks, dst_base, page_size, page, scratch);
        tt_noc_barrier();
        if (status != 0)
            return TT_EXIT_NOC_ERROR;
    }
    return TT_EXIT_OK;
}
