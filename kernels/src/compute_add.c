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

int kernel_main(void)
{
    int err = tt_launch_check(8, 3, 0);
    if (err != TT_EXIT_OK)
        return err;
    uint32_t page_size = get_arg_val(3);
    uint32_t count = get_arg_val(5);
    if (page_size == 0 || page_size % 4 != 0 || page_size > tt_cb(0)->page_size ||
        page_size > tt_cb(1)->page_size || page_size > tt_cb(2)->page_size)
        return TT_EXIT_BAD_ARG;
    uint32_t words = page_size / 4;

    for (uint32_t i = 0; i < count; i++) {
        cb_wait_front(0, 1);
        cb_wait_front(1, 1);
        cb_reserve_back(2, 1);
        const volatile uint32_t *a = (const volatile uint32_t *)get_read_ptr(0);
        const volatile uint32_t *b = (const volatile uint32_t *)get_read_ptr(1);
        volatile uint32_t *c = (volatile uint32_t *)get_write_ptr(2);
        for (uint32_t w = 0; w < words; w++)
            c[w] = a[w] + b[w];
        cb_push_back(2, 1);
        cb_pop_front(0, 1);
        cb_pop_front(1, 1);
    }
    return TT_EXIT_OK;
}
