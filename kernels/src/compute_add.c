/*
 * compute_add.c: processor 1 of the `add` workload (C = A + B over u32 vectors).
 *
 * For each of this core's pages: waits for one page in CB 0 (A) and one in CB 1 (B), reserves
 * one page in CB 2, writes c[i] = a[i] + b[i] (u32, wrapping) for every word of the page,
 * pushes CB 2 and pops CB 0 and CB 1.
 *
 * Runtime args (the same list for reader, compute_add and writer; only 3 and 5 are used here):
 *   0: A base address, 1: B base address, 2: C base address (unused here)
 *   3: page size in bytes (a nonzero multiple of 4, at most the page size of CBs 0, 1, 2)
 *   4: first page of this core's share (unused here)
 *   5: number of pages of this core's share (0 is allowed)
 *   6: bank table L1 address, 7: number of banks (unused here)
 * Circular buffers: 0 = A pages (consumed), 1 = B pages (consumed), 2 = C pages (produced).
 * Semaphores: none.
 * Exit code: 0 success; 1 bad launch block; 2 fewer than 8 args; 3 fewer than 3 CBs;
 *   5 bad page size.
 */
#include "tt_kernel.h"

int kernel_main(const struct tt_launch *launch)
{
    int err = tt_launch_check(launch, 8, 3, 0);
    if (err != TT_EXIT_OK)
        return err;
    uint32_t page_size = tt_arg(launch, 3);
    uint32_t count = tt_arg(launch, 5);
    if (page_size == 0 || page_size % 4 != 0 || page_size > tt_cb(launch, 0)->page_size ||
        page_size > tt_cb(launch, 1)->page_size || page_size > tt_cb(launch, 2)->page_size)
        return TT_EXIT_BAD_ARG;
    uint32_t words = page_size / 4;

    for (uint32_t i = 0; i < count; i++) {
        const volatile uint32_t *a = (const volatile uint32_t *)tt_cb_wait_front(launch, 0, 1);
        const volatile uint32_t *b = (const volatile uint32_t *)tt_cb_wait_front(launch, 1, 1);
        volatile uint32_t *c = (volatile uint32_t *)tt_cb_reserve_back(launch, 2, 1);
        for (uint32_t w = 0; w < words; w++)
            c[w] = a[w] + b[w];
        tt_cb_push_back(launch, 2, 1);
        tt_cb_pop_front(launch, 0, 1);
        tt_cb_pop_front(launch, 1, 1);
    }
    return TT_EXIT_OK;
}
