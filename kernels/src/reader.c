/*
 * reader.c: processor 0 of the `add` workload (C = A + B over u32 vectors).
 *
 * Reads pages [first, first + count) of the interleaved DRAM buffers A and B into CB 0 and
 * CB 1, one page of each at a time. compute_add.c consumes them; writer.c stores C.
 *
 * Runtime args (the same list for reader, compute_add and writer):
 *   0: A base address (interleaved DRAM buffer)
 *   1: B base address (interleaved DRAM buffer)
 *   2: C base address (interleaved DRAM buffer; unused here)
 *   3: page size in bytes (the buffers' aligned page size; a nonzero multiple of 4 and at most
 *      the page size of CBs 0, 1 and 2)
 *   4: first page of this core's share
 *   5: number of pages of this core's share (0 is allowed)
 *   6: L1 address of this core's DRAM bank table (struct tt_dram_bank[num_banks])
 *   7: number of DRAM banks (nonzero)
 * Circular buffers: 0 = A pages (produced here), 1 = B pages (produced here).
 * Semaphores: none.
 * Exit code: 0 success; 1 bad launch block; 2 fewer than 8 args; 3 fewer than 2 CBs;
 *   5 bad page size / bank count; 6 a NOC read failed.
 */
#include "tt_kernel.h"

int kernel_main(const struct tt_launch *launch)
{
    int err = tt_launch_check(launch, 8, 2, 0);
    if (err != TT_EXIT_OK)
        return err;
    uint32_t a_base = tt_arg(launch, 0);
    uint32_t b_base = tt_arg(launch, 1);
    uint32_t page_size = tt_arg(launch, 3);
    uint32_t first = tt_arg(launch, 4);
    uint32_t count = tt_arg(launch, 5);
    const volatile struct tt_dram_bank *banks = tt_dram_banks(launch, 6);
    uint32_t num_banks = tt_arg(launch, 7);
    if (page_size == 0 || page_size % 4 != 0 || num_banks == 0 ||
        page_size > tt_cb(launch, 0)->page_size || page_size > tt_cb(launch, 1)->page_size)
        return TT_EXIT_BAD_ARG;

    for (uint32_t i = 0; i < count; i++) {
        uint32_t page = first + i;
        uint32_t a = tt_cb_reserve_back(launch, 0, 1);
        uint32_t b = tt_cb_reserve_back(launch, 1, 1);
        uint32_t status = tt_dram_read_page(banks, num_banks, a_base, page_size, page, a);
        status |= tt_dram_read_page(banks, num_banks, b_base, page_size, page, b);
        tt_noc_barrier();
        if (status != 0)
            return TT_EXIT_NOC_ERROR;
        tt_cb_push_back(launch, 0, 1);
        tt_cb_push_back(launch, 1, 1);
    }
    return TT_EXIT_OK;
}
