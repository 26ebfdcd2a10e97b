/*
 * tt_kernel.h: the kernel side of tt-runtime's kernel ABI v1 (freestanding RV32IM C).
 *
 * A kernel defines `int kernel_main(const struct tt_launch *launch)`. The loader places it
 * anywhere in a core's kernel region (kernels are linked at 0 and position independent),
 * the host starts it through the core's mailbox, and its return value is the exit code the
 * host reads back. The numbers here mirror crates/tt-soc/src/kernel_abi.rs; a Rust test
 * checks that every TT_ define below matches.
 */
#ifndef TT_KERNEL_H
#define TT_KERNEL_H

#include <stdint.h>

#define TT_ABI_VERSION 1

/* The launch block the host writes for each kernel on each core; a0 points at it. */
#define TT_LAUNCH_MAGIC 0x314c5454
#define TT_LAUNCH_BLOCK_BYTES 48
struct tt_launch {
    uint32_t magic;      /* TT_LAUNCH_MAGIC */
    uint32_t version;    /* TT_ABI_VERSION */
    uint32_t core_x;     /* NOC0 coordinates of this core */
    uint32_t core_y;
    uint32_t logical_x;  /* position in the worker grid */
    uint32_t logical_y;
    uint32_t num_args;   /* runtime arguments: uint32_t[num_args] at args */
    uint32_t args;
    uint32_t num_cbs;    /* circular buffers: struct tt_cb[num_cbs] at cbs */
    uint32_t cbs;
    uint32_t num_sems;   /* semaphores: uint32_t[num_sems] at sems, same address on every core */
    uint32_t sems;
};

/* A circular buffer shared by the kernels of one core: a producer reserves and pushes
 * pages, a consumer waits for and pops them. `pushed` and `popped` only ever grow. */
#define TT_CB_DESCRIPTOR_BYTES 32
struct tt_cb {
    uint32_t base;       /* L1 address of page 0 */
    uint32_t size;       /* bytes */
    uint32_t page_size;
    uint32_t num_pages;
    volatile uint32_t pushed;
    volatile uint32_t popped;
    uint32_t spare[2];
};

/* The memory-mapped NOC block, at the same address on every core. */
#define TT_NOC_BASE 0xffb00000
#define TT_NOC_TARGET_X 0x00
#define TT_NOC_TARGET_Y 0x04
#define TT_NOC_TARGET_ADDR_LO 0x08
#define TT_NOC_TARGET_ADDR_HI 0x0c
#define TT_NOC_LOCAL_ADDR 0x10
#define TT_NOC_LEN 0x14
#define TT_NOC_VALUE 0x18
#define TT_NOC_CMD 0x1c
#define TT_NOC_STATUS 0x20
#define TT_NOC_OUTSTANDING 0x24
#define TT_NOC_MY_X 0x28
#define TT_NOC_MY_Y 0x2c

#define TT_NOC_CMD_READ 1
#define TT_NOC_CMD_WRITE 2
#define TT_NOC_CMD_ATOMIC_ADD 3

#define TT_NOC_REG(off) (*(volatile uint32_t *)(TT_NOC_BASE + (off)))

static inline uint32_t tt_arg(const struct tt_launch *l, uint32_t i)
{
    return ((const volatile uint32_t *)l->args)[i];
}

static inline uint32_t tt_my_x(void) { return TT_NOC_REG(TT_NOC_MY_X); }
static inline uint32_t tt_my_y(void) { return TT_NOC_REG(TT_NOC_MY_Y); }

/* Starts a NOC command; returns its status (0 ok). */
static inline uint32_t tt_noc_cmd(uint32_t cmd, uint32_t x, uint32_t y, uint64_t addr,
                                  uint32_t local, uint32_t len, uint32_t value)
{
    TT_NOC_REG(TT_NOC_TARGET_X) = x;
    TT_NOC_REG(TT_NOC_TARGET_Y) = y;
    TT_NOC_REG(TT_NOC_TARGET_ADDR_LO) = (uint32_t)addr;
    TT_NOC_REG(TT_NOC_TARGET_ADDR_HI) = (uint32_t)(addr >> 32);
    TT_NOC_REG(TT_NOC_LOCAL_ADDR) = local;
    TT_NOC_REG(TT_NOC_LEN) = len;
    TT_NOC_REG(TT_NOC_VALUE) = value;
    TT_NOC_REG(TT_NOC_CMD) = cmd;
    return TT_NOC_REG(TT_NOC_STATUS);
}

/* Copies len bytes from (x, y, addr) into local L1. */
static inline uint32_t tt_noc_read(uint32_t x, uint32_t y, uint64_t addr, uint32_t local, uint32_t len)
{
    return tt_noc_cmd(TT_NOC_CMD_READ, x, y, addr, local, len, 0);
}

/* Copies len bytes of local L1 to (x, y, addr). */
static inline uint32_t tt_noc_write(uint32_t x, uint32_t y, uint64_t addr, uint32_t local, uint32_t len)
{
    return tt_noc_cmd(TT_NOC_CMD_WRITE, x, y, addr, local, len, 0);
}

/* Adds value to the 32-bit word at (x, y, addr). */
static inline uint32_t tt_noc_atomic_add(uint32_t x, uint32_t y, uint64_t addr, uint32_t value)
{
    return tt_noc_cmd(TT_NOC_CMD_ATOMIC_ADD, x, y, addr, 0, 0, value);
}

/* Waits until every NOC command this core issued has completed. */
static inline void tt_noc_barrier(void)
{
    while (TT_NOC_REG(TT_NOC_OUTSTANDING) != 0) {
    }
}

static inline volatile struct tt_cb *tt_cb(const struct tt_launch *l, uint32_t cb)
{
    return &((volatile struct tt_cb *)l->cbs)[cb];
}

/* Producer: waits for room for n pages, returns the L1 address to fill. */
static inline uint32_t tt_cb_reserve_back(const struct tt_launch *l, uint32_t cb, uint32_t n)
{
    volatile struct tt_cb *c = tt_cb(l, cb);
    while (c->pushed - c->popped + n > c->num_pages) {
    }
    return c->base + (c->pushed % c->num_pages) * c->page_size;
}

/* Producer: publishes n filled pages. */
static inline void tt_cb_push_back(const struct tt_launch *l, uint32_t cb, uint32_t n)
{
    tt_cb(l, cb)->pushed += n;
}

/* Consumer: waits for n pages, returns the L1 address of the first. */
static inline uint32_t tt_cb_wait_front(const struct tt_launch *l, uint32_t cb, uint32_t n)
{
    volatile struct tt_cb *c = tt_cb(l, cb);
    while (c->pushed - c->popped < n) {
    }
    return c->base + (c->popped % c->num_pages) * c->page_size;
}

/* Consumer: releases n pages back to the producer. */
static inline void tt_cb_pop_front(const struct tt_launch *l, uint32_t cb, uint32_t n)
{
    tt_cb(l, cb)->popped += n;
}

/* Semaphore i of this program on this core. */
static inline volatile uint32_t *tt_sem(const struct tt_launch *l, uint32_t i)
{
    return &((volatile uint32_t *)l->sems)[i];
}

/* Waits until semaphore i reaches at least value. */
static inline void tt_sem_wait(const struct tt_launch *l, uint32_t i, uint32_t value)
{
    while (*tt_sem(l, i) < value) {
    }
}

/* Adds value to semaphore i of core (x, y) (the same address on every core). */
static inline uint32_t tt_sem_inc_remote(const struct tt_launch *l, uint32_t i, uint32_t x, uint32_t y,
                                         uint32_t value)
{
    return tt_noc_atomic_add(x, y, (uint32_t)(uintptr_t)tt_sem(l, i), value);
}

/* ---- Additions to ABI v1 (kernel-side helpers and conventions; no change to the above) ---- */

/* Exit codes every kernel in kernels/src uses: 0 is success, anything else is an error the
 * kernel detected itself (a fault is reported by the simulator through the mailbox instead). */
#define TT_EXIT_OK 0
#define TT_EXIT_BAD_LAUNCH 1   /* launch block magic or version is wrong */
#define TT_EXIT_MISSING_ARGS 2 /* fewer runtime args than the kernel documents */
#define TT_EXIT_MISSING_CBS 3  /* fewer circular buffers than the kernel documents */
#define TT_EXIT_MISSING_SEMS 4 /* fewer semaphores than the kernel documents */
#define TT_EXIT_BAD_ARG 5      /* an argument is out of range (zero page size, page > CB page, ...) */
#define TT_EXIT_NOC_ERROR 6    /* a NOC command returned a nonzero status */
#define TT_EXIT_UNEXPECTED 7   /* something that cannot happen did (e.g. fault.c did not fault) */

static inline uint32_t tt_num_args(const struct tt_launch *l) { return l->num_args; }

/* Checks the launch block and that it carries at least the given numbers of runtime args,
 * circular buffers and semaphores; returns TT_EXIT_OK or the TT_EXIT_ code to return. */
static inline int tt_launch_check(const struct tt_launch *l, uint32_t min_args, uint32_t min_cbs,
                                  uint32_t min_sems)
{
    if (l->magic != TT_LAUNCH_MAGIC || l->version != TT_ABI_VERSION)
        return TT_EXIT_BAD_LAUNCH;
    if (l->num_args < min_args)
        return TT_EXIT_MISSING_ARGS;
    if (l->num_cbs < min_cbs)
        return TT_EXIT_MISSING_CBS;
    if (l->num_sems < min_sems)
        return TT_EXIT_MISSING_SEMS;
    return TT_EXIT_OK;
}

/* Interleaved DRAM buffers.
 *
 * The host writes a table of `num_banks` bank entries into the core's L1 and passes its L1
 * address as a runtime arg. Entry b names one NOC endpoint (x, y) of bank b's DRAM channel
 * (any of the channel's endpoints in the SoC descriptor) and the bank's byte offset within
 * that channel (the descriptor's dram_address_offsets entry: on Wormhole B0 the two banks
 * of a channel sit at 0 and 1 GiB).
 *
 * An interleaved buffer with base address `base` (the same in every bank) and aligned page
 * size `page_size` stores page p in bank p % num_banks at
 *     bank.offset + base + (p / num_banks) * page_size
 * and a page is moved with one NOC command of `page_size` bytes. */
#define TT_DRAM_BANK_BYTES 16
struct tt_dram_bank {
    uint32_t x;         /* NOC column of a DRAM endpoint of the bank's channel */
    uint32_t y;         /* NOC row of that endpoint */
    uint32_t offset_lo; /* bank offset within the channel, low 32 bits */
    uint32_t offset_hi; /* high 32 bits */
};

/* The bank table whose L1 address is runtime arg i. */
static inline const volatile struct tt_dram_bank *tt_dram_banks(const struct tt_launch *l, uint32_t i)
{
    return (const volatile struct tt_dram_bank *)tt_arg(l, i);
}

/* Where page `page` of an interleaved buffer lives: sets *x, *y, returns the channel address.
 * num_banks must be nonzero. */
static inline uint64_t tt_dram_page_addr(const volatile struct tt_dram_bank *banks, uint32_t num_banks,
                                         uint32_t base, uint32_t page_size, uint32_t page,
                                         uint32_t *x, uint32_t *y)
{
    const volatile struct tt_dram_bank *b = &banks[page % num_banks];
    uint64_t offset = ((uint64_t)b->offset_hi << 32) | b->offset_lo;
    *x = b->x;
    *y = b->y;
    return offset + base + (uint64_t)(page / num_banks) * page_size;
}

/* Reads page `page` (page_size bytes) of an interleaved buffer into local L1; returns the
 * NOC status (0 ok). Call tt_noc_barrier() before using the data. */
static inline uint32_t tt_dram_read_page(const volatile struct tt_dram_bank *banks, uint32_t num_banks,
                                         uint32_t base, uint32_t page_size, uint32_t page,
                                         uint32_t local)
{
    uint32_t x, y;
    uint64_t addr = tt_dram_page_addr(banks, num_banks, base, page_size, page, &x, &y);
    return tt_noc_read(x, y, addr, local, page_size);
}

/* Writes page_size bytes of local L1 to page `page` of an interleaved buffer; returns the
 * NOC status (0 ok). Call tt_noc_barrier() before reusing the local bytes or signalling. */
static inline uint32_t tt_dram_write_page(const volatile struct tt_dram_bank *banks, uint32_t num_banks,
                                          uint32_t base, uint32_t page_size, uint32_t page,
                                          uint32_t local)
{
    uint32_t x, y;
    uint64_t addr = tt_dram_page_addr(banks, num_banks, base, page_size, page, &x, &y);
    return tt_noc_write(x, y, addr, local, page_size);
}

/* Control block of the persistent SYSTEM kernels (dispatch.c, fabric.c), in their own L1 at
 * the address given as runtime arg 0. The host fills the operands, then writes `cmd` last;
 * the kernel carries the command out, writes `status`, increments `done`, and writes `cmd`
 * back to TT_SYS_CMD_NONE last, so `cmd == NONE` tells the host the command finished.
 * The host writes cmd = TT_SYS_CMD_NONE before launching the kernel. */
#define TT_SYS_CTRL_BYTES 40
struct tt_sys_ctrl {
    volatile uint32_t cmd;     /* TT_SYS_CMD_* */
    volatile uint32_t status;  /* result of the last command: a NOC status, or TT_SYS_STATUS_* */
    volatile uint32_t done;    /* dispatch: commands completed; fabric: packets forwarded */
    volatile uint32_t x;       /* operands of the NOC commands (dispatch only) */
    volatile uint32_t y;
    volatile uint32_t addr_lo;
    volatile uint32_t addr_hi;
    volatile uint32_t local;
    volatile uint32_t len;
    volatile uint32_t value;
};
#define TT_SYS_CMD_NONE 0          /* nothing to do */
#define TT_SYS_CMD_STOP 1          /* acknowledge and return TT_EXIT_OK */
#define TT_SYS_CMD_NOC_READ 2      /* dispatch: tt_noc_read(x, y, addr, local, len) + barrier */
#define TT_SYS_CMD_NOC_WRITE 3     /* dispatch: tt_noc_write(x, y, addr, local, len) + barrier */
#define TT_SYS_CMD_NOC_ATOMIC_ADD 4 /* dispatch: tt_noc_atomic_add(x, y, addr, value) + barrier */
#define TT_SYS_STATUS_BAD_CMD 0xffffffff /* status after a command the kernel does not know */

/* A single-producer single-consumer packet queue in L1 (fabric.c): a 16-byte header then
 * num_slots slots of slot_size bytes. `wr` and `rd` only ever grow; slot i is at
 * header + TT_QUEUE_HEADER_BYTES + (i % num_slots) * slot_size. The producer fills slot wr
 * then increments wr; the consumer reads slot rd then increments rd. */
#define TT_QUEUE_HEADER_BYTES 16
struct tt_queue {
    volatile uint32_t wr;  /* packets written so far */
    volatile uint32_t rd;  /* packets consumed so far */
    uint32_t num_slots;
    uint32_t slot_size;    /* bytes, a multiple of 4 */
};

static inline uint32_t tt_queue_slot(volatile struct tt_queue *q, uint32_t i)
{
    return (uint32_t)(uintptr_t)q + TT_QUEUE_HEADER_BYTES + (i % q->num_slots) * q->slot_size;
}

/* The layouts above are fixed by the ABI: the host writes these structures byte for byte. */
_Static_assert(sizeof(struct tt_launch) == TT_LAUNCH_BLOCK_BYTES, "launch block size");
_Static_assert(sizeof(struct tt_cb) == TT_CB_DESCRIPTOR_BYTES, "CB descriptor size");
_Static_assert(sizeof(struct tt_dram_bank) == TT_DRAM_BANK_BYTES, "DRAM bank entry size");
_Static_assert(sizeof(struct tt_sys_ctrl) == TT_SYS_CTRL_BYTES, "control block size");
_Static_assert(sizeof(struct tt_queue) == TT_QUEUE_HEADER_BYTES, "queue header size");

int kernel_main(const struct tt_launch *launch);

#endif /* TT_KERNEL_H */
