/*
 * reduce.c: multi-core sum of a u32 vector in an interleaved DRAM buffer (wrapping u32 sum).
 *
 * Every core sums the words of its pages [first, first + count), reading one page at a time
 * into CB 0. Core index 0 is the root; every other core then NOC-writes its partial sum into
 * the root's L1 slot `partials + 4 * index` and, once that write has completed, adds 1 to the
 * root's semaphore 0 (noc_semaphore_inc). The root stores its own partial in slot 0, waits
 * until semaphore 0 reaches num_cores - 1, adds the num_cores slots and writes the total (4
 * bytes) to page 0 of the interleaved output buffer, i.e. bank 0 at bank.offset + out base.
 *
 * Runtime args:
 *   0: input base address (interleaved DRAM buffer of u32)
 *   1: page size in bytes (the buffers' aligned page size; nonzero multiple of 4, at most
 *      CB 0's page size)
 *   2: first page of this core's slice
 *   3: number of pages of this core's slice (0 is allowed: its partial is 0)
 *   4: L1 address of this core's DRAM bank table (struct tt_dram_bank[num_banks])
 *   5: number of DRAM banks (nonzero)
 *   6: root core NOC x
 *   7: root core NOC y
 *   8: number of cores taking part, root included (nonzero)
 *   9: this core's index, 0 = root, 1 .. num_cores - 1 for the others
 *  10: L1 address of the root's partial-sum slots (uint32_t[num_cores], word aligned;
 *      only the root's copy is used)
 *  11: output base address (interleaved DRAM buffer; root only: the total goes to page 0)
 * Circular buffers: 0 = scratch for one input page (plain L1, never reserved/pushed); on
 *   non-root cores its first word also stages the partial for the NOC write.
 * Semaphores: 0 = on the root, the number of partials that have arrived (the host sets it
 *   to 0 before launch); at least one semaphore on every core.
 * Exit code: 0 success; 1 bad launch block; 2 fewer than 12 args; 3 no CB 0; 4 no sem 0;
 *   5 bad page size / bank count / core count / index / slot address.
 */
#include "tt_kernel.h"

int kernel_main(void)
{
    int err = tt_launch_check(12, 1, 1);
    if (err != TT_EXIT_OK)
        return err;
    uint32_t page_size = get_arg_val(1);
    uint32_t first = get_arg_val(2);
    uint32_t count = get_arg_val(3);
    uint32_t root_x = get_arg_val(6);
    uint32_t root_y = get_arg_val(7);
    uint32_t num_cores = get_arg_val(8);
    uint32_t index = get_arg_val(9);
    uint32_t partials = get_arg_val(10);
    if (page_size == 0 || page_size % 4 != 0 || get_arg_val(5) == 0 || num_cores == 0 ||
        index >= num_cores || partials % 4 != 0 || page_size > tt_cb(0)->page_size)
        return TT_EXIT_BAD_ARG;
    struct InterleavedAddrGen in = tt_interleaved(4, 5, get_arg_val(0), page_size);
    uint32_t scratch = tt_cb(0)->base;
    volatile uint32_t *words = (volatile uint32_t *)scratch;

    uint32_t sum = 0;
    for (uint32_t i = 0; i < count; i++) {
        noc_async_read_page(first + i, &in, scratch);
        noc_async_read_barrier();
        for (uint32_t w = 0; w < page_size / 4; w++)
            sum += words[w];
    }

    if (index != 0) {
        words[0] = sum;
        noc_async_write(scratch, get_noc_addr(root_x, root_y, partials + 4 * index), 4);
        noc_async_write_barrier();
        noc_semaphore_inc(get_noc_addr(root_x, root_y, get_semaphore(0)), 1);
        noc_async_atomic_barrier();
        return TT_EXIT_OK;
    }

    volatile uint32_t *slots = (volatile uint32_t *)partials;
    slots[0] = sum;
    noc_semaphore_wait_min((volatile uint32_t *)get_semaphore(0), num_cores - 1);
    uint32_t total = 0;
    for (uint32_t c = 0; c < num_cores; c++)
        total += slots[c];
    words[0] = total;
    struct InterleavedAddrGen out = tt_interleaved(4, 5, get_arg_val(11), 4);
    noc_async_write(scratch, interleaved_addr_gen_get_noc_addr(&out, 0, 0), 4);
    noc_async_write_barrier();
    return TT_EXIT_OK;
}
