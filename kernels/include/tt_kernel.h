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

int kernel_main(const struct tt_launch *launch);

#endif /* TT_KERNEL_H */
