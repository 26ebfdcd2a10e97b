/*
 * writer.c: processor 2 of the `add` workload (C = A + B over u32 vectors).
 *
 * For each of this core's pages: waits for one page in CB 2, writes it to the same page of
 * the interleaved DRAM buffer C, waits for the write to complete, pops CB 2. When it returns,
 * every page of this core's share is in DRAM.
 *
 * Runtime args (the same list for reader, compute_add and writer):
 *   0: A base address, 1: B base address (unused here)
 *   2: C base address (interleaved DRAM buffer)
 *   3: page size in bytes (a nonzero multiple of 4, at most CB 2's page size)
 *   4: first page of this core's share
 *   5: number of pages of this core's share (0 is allowed)
 *   6: L1 address of this core's DRAM bank table (struct tt_dram_bank[num_banks])
 *   7: number of DRAM banks (nonzero)
 * Circular buffers: 2 = C pages (consumed). CBs 0 and 1 must exist (3 CBs in all).
 * Semaphores: none.
 * Exit code: 0 success; 1 bad launch block; 2 fewer than 8 args; 3 fewer than 3 CBs;
 *   5 bad page size / bank count; 6 a NOC write failed.
 */
#include "tt_kernel.h"

int kernel_main(void)
{
    int err = tt_launch_check(8, 3, 0);
    if (err != TT_EXIT_OK)
        return err;
    uint32_t page_size = get_arg_val(3);
    uint32_t first = get_arg_val(4);
    uint32_t count = get_arg_val(5);
    if (page_size == 0 || page_size % 4 != 0 || get_arg_val(7) == 0 ||
        page_size > tt_cb(2)->page_size)
        return TT_EXIT_BAD_ARG;
    struct InterleavedAddrGen c = tt_interleaved(6, 7, get_arg_val(2), page_size);

    for (uint32_t i = 0; i < count; i++) {
        cb_wait_front(2, 1);
        noc_async_write_page(first + i, &c, get_read_ptr(2));
        noc_async_write_barrier();
        cb_pop_front(2, 1);
    }
    return TT_EXIT_OK;
}
