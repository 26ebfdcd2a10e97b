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
 *   5 bad page size / bank count.
 */
#include "tt_kernel.h"

int kernel_main(void)
{
    int err = tt_launch_check(8, 2, 0);
    if (err != TT_EXIT_OK)
        return err;
    uint32_t page_size = get_arg_val(3);
    uint32_t first = get_arg_val(4);
    uint32_t count = get_arg_val(5);
    if (page_size == 0 || page_size % 4 != 0 || get_arg_val(7) == 0 ||
        page_size > tt_cb(0)->page_size || page_size > tt_cb(1)->page_size)
        return TT_EXIT_BAD_ARG;
    struct InterleavedAddrGen a = tt_interleaved(6, 7, get_arg_val(0), page_size);
    struct InterleavedAddrGen b = tt_interleaved(6, 7, get_arg_val(1), page_size);

    for (uint32_t i = 0; i < count; i++) {
        cb_reserve_back(0, 1);
        cb_reserve_back(1, 1);
        noc_async_read_page(first + i, &a, get_write_ptr(0));
        noc_async_read_page(first + i, &b, get_write_ptr(1));
        noc_async_read_barrier();
        cb_push_back(0, 1);
        cb_push_back(1, 1);
    }
    return TT_EXIT_OK;
}
