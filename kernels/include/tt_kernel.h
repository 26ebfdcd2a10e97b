/*
 * tt_kernel.h: the kernel side of tt-runtime (ABI v2, freestanding RV32IM C).
 *
 * A kernel defines `int kernel_main(void)`; its return value is the exit code the host reads
 * back (TT_EXIT_OK is success). The loader places it anywhere in a core's kernel region
 * (kernels are linked at 0 and position independent); the core enters at tt_entry below with
 * a0 pointing at the launch block. The API below uses tt-metal's names (get_arg_val,
 * get_noc_addr, noc_async_read, noc_async_write and their barriers, multicast writes,
 * semaphores, cb_reserve_back / cb_push_back / cb_wait_front / cb_pop_front, an interleaved
 * address generator) and is built only on the documented registers of tt_tile.h, so one
 * binary runs on the simulator and on a Wormhole B0 or Blackhole card. Every request goes
 * out on NoC #0 and takes NoC #0 coordinates.
 *
 * The numbers here mirror crates/tt-soc/src/kernel_abi.rs; a Rust test checks every TT_
 * define of this file against it.
 */
#ifndef TT_KERNEL_H
#define TT_KERNEL_H

#include <stdint.h>

#include "tt_tile.h"

#define TT_ABI_VERSION 2

/* Architecture codes in the launch block. */
#define TT_ARCH_WORMHOLE_B0 0
#define TT_ARCH_BLACKHOLE 1

/* The launch block the host writes for each kernel on each core. */
#define TT_LAUNCH_MAGIC 0x314c5454
#define TT_LAUNCH_BLOCK_BYTES 64
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
    uint32_t arch;       /* TT_ARCH_*: which register layout the NIU has */
    uint32_t spare[3];
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

/* Exit codes every kernel in kernels/src uses: 0 is success, anything else is an error the
 * kernel detected itself (a fault, or a NoC request the hardware refuses, is reported by the
 * core's stop instead). */
#define TT_EXIT_OK 0
#define TT_EXIT_BAD_LAUNCH 1   /* launch block magic or version is wrong */
#define TT_EXIT_MISSING_ARGS 2 /* fewer runtime args than the kernel documents */
#define TT_EXIT_MISSING_CBS 3  /* fewer circular buffers than the kernel documents */
#define TT_EXIT_MISSING_SEMS 4 /* fewer semaphores than the kernel documents */
#define TT_EXIT_BAD_ARG 5      /* an argument is out of range (zero page size, page > CB page, ...) */
#define TT_EXIT_UNEXPECTED 7   /* something that cannot happen did (e.g. fault.c did not fault) */

/* Each processor's launch mailbox in the reserved L1 area, processor p at
 * TT_MAILBOX_BASE + p * TT_MAILBOX_STRIDE (0 B, 1 NC, 2-4 T0-T2). The host fills entry and
 * launch, then writes go = TT_GO_START; the firmware sets TT_GO_RUNNING, calls the kernel,
 * stores its exit code in result and sets TT_GO_DONE. */
#define TT_MAILBOX_BASE 0x1000
#define TT_MAILBOX_STRIDE 0x40
#define TT_GO_IDLE 0
#define TT_GO_START 1
#define TT_GO_RUNNING 2
#define TT_GO_DONE 3
struct tt_mailbox {
    volatile uint32_t go;
    volatile uint32_t entry;    /* L1 address of the kernel's tt_entry */
    volatile uint32_t launch;   /* L1 address of its launch block */
    volatile uint32_t result;   /* the exit code */
    volatile uint32_t error_pc; /* 0 (a fault stops the core instead) */
    volatile uint32_t instret_lo;
    volatile uint32_t instret_hi;
};

/* Processor p's stack: 4 KiB below TT_STACK_BASE + (p + 1) * TT_STACK_BYTES. */
#define TT_STACK_BASE 0x13000
#define TT_STACK_BYTES 0x1000

/* ---- Entry ---- */

/* This kernel's launch block and NIU layout, set at entry (one kernel per image). */
static const struct tt_launch *tt_this_launch;
static uint32_t tt_on_blackhole;

#ifndef TT_FIRMWARE
int kernel_main(void);

/* The entry point (the linker script puts .text.tt_entry first): keeps the launch block and
 * calls kernel_main. */
__attribute__((section(".text.tt_entry"), used)) int tt_entry(const struct tt_launch *launch)
{
    tt_this_launch = launch;
    tt_on_blackhole = launch->arch == TT_ARCH_BLACKHOLE;
    return kernel_main();
}
#endif

/* Checks the launch block and that it carries at least the given numbers of runtime args,
 * circular buffers and semaphores; returns TT_EXIT_OK or the TT_EXIT_ code to return. */
static inline int tt_launch_check(uint32_t min_args, uint32_t min_cbs, uint32_t min_sems)
{
    const struct tt_launch *l = tt_this_launch;
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

/* ---- Runtime arguments and where this core is ---- */

static inline uint32_t get_arg_addr(uint32_t i) { return tt_this_launch->args + 4 * i; }
static inline uint32_t get_arg_val(uint32_t i) { return *(const volatile uint32_t *)get_arg_addr(i); }
static inline uint32_t get_num_args(void) { return tt_this_launch->num_args; }
static inline uint32_t get_absolute_logical_x(void) { return tt_this_launch->logical_x; }
static inline uint32_t get_absolute_logical_y(void) { return tt_this_launch->logical_y; }

#define TT_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* NOC_NODE_ID of NoC #0: X in bits 0-5, Y in bits 6-11. */
static inline uint32_t tt_node_id(void)
{
    return TT_REG(TT_NIU0_BASE + (tt_on_blackhole ? TT_BH_NODE_ID : TT_WH_NODE_ID));
}
static inline uint32_t my_x(void) { return tt_node_id() & 0x3f; }
static inline uint32_t my_y(void) { return (tt_node_id() >> 6) & 0x3f; }

/* ---- NoC requests ---- */

/* Request initiators and transaction ids, one per kind of request, so each barrier waits on
 * its own counters. */
#define TT_READ_INITIATOR 0
#define TT_WRITE_INITIATOR 1
#define TT_ATOMIC_INITIATOR 2
#define TT_READ_TRANSACTION 0
#define TT_WRITE_TRANSACTION 1
#define TT_ATOMIC_TRANSACTION 2

static inline uint64_t get_noc_addr(uint32_t x, uint32_t y, uint32_t addr)
{
    return ((uint64_t)y << (TT_NOC_ADDR_LOCAL_BITS + TT_NOC_ADDR_NODE_ID_BITS)) |
           ((uint64_t)x << TT_NOC_ADDR_LOCAL_BITS) | addr;
}

/* The NoC address of a rectangle of cores, for multicast writes. */
static inline uint64_t get_noc_multicast_addr(uint32_t x_start, uint32_t y_start, uint32_t x_end,
                                              uint32_t y_end, uint32_t addr)
{
    return ((uint64_t)y_start << (TT_NOC_ADDR_LOCAL_BITS + 3 * TT_NOC_ADDR_NODE_ID_BITS)) |
           ((uint64_t)x_start << (TT_NOC_ADDR_LOCAL_BITS + 2 * TT_NOC_ADDR_NODE_ID_BITS)) |
           get_noc_addr(x_end, y_end, addr);
}

/* NoC address of this core's own L1 at addr. */
static inline uint64_t tt_my_noc_addr(uint32_t addr) { return get_noc_addr(my_x(), my_y(), addr); }

static inline uint32_t tt_niu_counter(uint32_t index)
{
    return TT_REG(TT_NIU0_BASE + TT_NIU_COUNTERS + 4 * index);
}

/* Fills one request initiator and starts it: waits until the initiator is free, writes the
 * target and return addresses (Wormhole: LO and MID; Blackhole: LO, MID and HI), the
 * transaction id, NOC_CTRL, NOC_AT_LEN_BE and NOC_AT_DATA, then 1 to NOC_CMD_CTRL. */
static inline void tt_noc_request(uint32_t initiator, uint64_t targ, uint64_t ret, uint32_t ctrl,
                                  uint32_t len_be, uint32_t data, uint32_t transaction)
{
    uint32_t tag = transaction << TT_NOC_PACKET_TAG_TRANSACTION_ID_SHIFT;
    if (tt_on_blackhole) {
        uint32_t base = TT_NIU0_BASE + initiator * TT_BH_INITIATOR_STRIDE;
        while (TT_REG(base + TT_BH_CMD_CTRL) & 1) {
        }
        TT_REG(base + TT_BH_TARG_ADDR_LO) = (uint32_t)targ;
        TT_REG(base + TT_BH_TARG_ADDR_MID) = (uint32_t)(targ >> 32) & 0xf;
        TT_REG(base + TT_BH_TARG_ADDR_HI) = (uint32_t)(targ >> TT_NOC_ADDR_LOCAL_BITS);
        TT_REG(base + TT_BH_RET_ADDR_LO) = (uint32_t)ret;
        TT_REG(base + TT_BH_RET_ADDR_MID) = (uint32_t)(ret >> 32) & 0xf;
        TT_REG(base + TT_BH_RET_ADDR_HI) = (uint32_t)(ret >> TT_NOC_ADDR_LOCAL_BITS);
        TT_REG(base + TT_BH_PACKET_TAG) = tag;
        TT_REG(base + TT_BH_CTRL) = ctrl;
        TT_REG(base + TT_BH_AT_LEN_BE) = len_be;
        TT_REG(base + TT_BH_AT_DATA) = data;
        TT_REG(base + TT_BH_CMD_CTRL) = 1;
    } else {
        uint32_t base = TT_NIU0_BASE + initiator * TT_WH_INITIATOR_STRIDE;
        while (TT_REG(base + TT_WH_CMD_CTRL) & 1) {
        }
        TT_REG(base + TT_WH_TARG_ADDR_LO) = (uint32_t)targ;
        TT_REG(base + TT_WH_TARG_ADDR_MID) = (uint32_t)(targ >> 32);
        TT_REG(base + TT_WH_RET_ADDR_LO) = (uint32_t)ret;
        TT_REG(base + TT_WH_RET_ADDR_MID) = (uint32_t)(ret >> 32);
        TT_REG(base + TT_WH_PACKET_TAG) = tag;
        TT_REG(base + TT_WH_CTRL) = ctrl;
        TT_REG(base + TT_WH_AT_LEN_BE) = len_be;
        TT_REG(base + TT_WH_AT_DATA) = data;
        TT_REG(base + TT_WH_CMD_CTRL) = 1;
    }
}

/* Reads size bytes at src_noc_addr into this core's L1 at dst_local_l1_addr. Wait with
 * noc_async_read_barrier before using them. */
static inline void noc_async_read(uint64_t src_noc_addr, uint32_t dst_local_l1_addr, uint32_t size)
{
    tt_noc_request(TT_READ_INITIATOR, src_noc_addr, tt_my_noc_addr(dst_local_l1_addr),
                   TT_NOC_CMD_RD, size, 0, TT_READ_TRANSACTION);
}

/* Writes size bytes of this core's L1 at src_local_l1_addr to dst_noc_addr (non-posted: the
 * write barrier waits for the acknowledgement). */
static inline void noc_async_write(uint32_t src_local_l1_addr, uint64_t dst_noc_addr, uint32_t size)
{
    tt_noc_request(TT_WRITE_INITIATOR, tt_my_noc_addr(src_local_l1_addr), dst_noc_addr,
                   TT_NOC_CMD_WR | TT_NOC_CMD_RESP_MARKED, size, 0, TT_WRITE_TRANSACTION);
}

/* Writes size bytes to the same address of every Tensix core of the rectangle in
 * dst_noc_multicast_addr (see get_noc_multicast_addr), this core excluded. A broadcast is
 * posted: noc_async_write_barrier waits until the data has left this core, not until it has
 * arrived, so signal the receivers with a semaphore written after it. num_dests is kept for
 * tt-metal's signature. */
static inline void noc_async_write_multicast(uint32_t src_local_l1_addr,
                                             uint64_t dst_noc_multicast_addr, uint32_t size,
                                             uint32_t num_dests)
{
    (void)num_dests;
    tt_noc_request(TT_WRITE_INITIATOR, tt_my_noc_addr(src_local_l1_addr), dst_noc_multicast_addr,
                   TT_NOC_CMD_WR | TT_NOC_CMD_BRCST_PACKET, size, 0, TT_WRITE_TRANSACTION);
}

/* Writes the 32-bit val to addr (an L1 address of any core), non-posted. */
static inline void noc_inline_dw_write(uint64_t addr, uint32_t val)
{
    uint32_t enables = 0xfu << (addr & 0xc);
    tt_noc_request(TT_WRITE_INITIATOR, addr, 0, TT_NOC_CMD_WR | TT_NOC_CMD_WR_INLINE | TT_NOC_CMD_RESP_MARKED,
                   enables, val, TT_WRITE_TRANSACTION);
}

/* Waits until every read this core started has landed in its L1. */
static inline void noc_async_read_barrier(void)
{
    while (tt_niu_counter(TT_NIU_MST_REQS_OUTSTANDING_ID_0 + TT_READ_TRANSACTION) != 0) {
    }
}

/* Waits until every write this core started has left its L1 (its source may be reused). */
static inline void noc_async_writes_flushed(void)
{
    while (tt_niu_counter(TT_NIU_MST_WRITE_REQS_OUTGOING_ID_0 + TT_WRITE_TRANSACTION) != 0) {
    }
}

/* Waits until every write this core started has left it, and every unicast one has been
 * acknowledged by its destination. */
static inline void noc_async_write_barrier(void)
{
    noc_async_writes_flushed();
    while (tt_niu_counter(TT_NIU_MST_REQS_OUTSTANDING_ID_0 + TT_WRITE_TRANSACTION) != 0) {
    }
}

/* Waits until every atomic this core started has been answered. */
static inline void noc_async_atomic_barrier(void)
{
    while (tt_niu_counter(TT_NIU_MST_REQS_OUTSTANDING_ID_0 + TT_ATOMIC_TRANSACTION) != 0) {
    }
}

/* ---- Semaphores ---- */

/* Where atomics return the old value: a 16-byte block of this image's own memory. */
static volatile uint32_t tt_atomic_result[4] __attribute__((aligned(16)));

/* L1 address of semaphore id of this program (the same on every core). */
static inline uint32_t get_semaphore(uint32_t id) { return tt_this_launch->sems + 4 * id; }

/* Adds incr to the 32-bit semaphore at addr (any core's L1), atomically; wait for it with
 * noc_async_atomic_barrier. */
static inline void noc_semaphore_inc(uint64_t addr, uint32_t incr)
{
    uint32_t at = (TT_NOC_AT_INS_INCR_GET << TT_NOC_AT_INS_SHIFT) | (31u << 2) | ((addr >> 2) & 3);
    tt_noc_request(TT_ATOMIC_INITIATOR, addr, tt_my_noc_addr((uint32_t)(uintptr_t)tt_atomic_result),
                   TT_NOC_CMD_AT | TT_NOC_CMD_RESP_MARKED, at, incr, TT_ATOMIC_TRANSACTION);
}

/* Waits until the local semaphore equals val. */
static inline void noc_semaphore_wait(volatile uint32_t *sem, uint32_t val)
{
    while (*sem != val) {
    }
}

/* Waits until the local semaphore is at least val. */
static inline void noc_semaphore_wait_min(volatile uint32_t *sem, uint32_t val)
{
    while (*sem < val) {
    }
}

/* Sets the local semaphore. */
static inline void noc_semaphore_set(volatile uint32_t *sem, uint32_t val) { *sem = val; }

/* Sets the semaphore at dst_noc_addr to the word at src_local_l1_addr. */
static inline void noc_semaphore_set_remote(uint32_t src_local_l1_addr, uint64_t dst_noc_addr)
{
    noc_async_write(src_local_l1_addr, dst_noc_addr, 4);
}

/* ---- Circular buffers ---- */

static inline volatile struct tt_cb *tt_cb(uint32_t cb)
{
    return &((volatile struct tt_cb *)tt_this_launch->cbs)[cb];
}

/* Producer: waits for room for n pages. */
static inline void cb_reserve_back(uint32_t cb, uint32_t n)
{
    volatile struct tt_cb *c = tt_cb(cb);
    while (c->pushed - c->popped + n > c->num_pages) {
    }
}

/* Producer: the L1 address of the first reserved page. */
static inline uint32_t get_write_ptr(uint32_t cb)
{
    volatile struct tt_cb *c = tt_cb(cb);
    return c->base + (c->pushed % c->num_pages) * c->page_size;
}

/* Producer: publishes n filled pages. */
static inline void cb_push_back(uint32_t cb, uint32_t n) { tt_cb(cb)->pushed += n; }

/* Consumer: waits for n pages. */
static inline void cb_wait_front(uint32_t cb, uint32_t n)
{
    volatile struct tt_cb *c = tt_cb(cb);
    while (c->pushed - c->popped < n) {
    }
}

/* Consumer: the L1 address of the first waiting page. */
static inline uint32_t get_read_ptr(uint32_t cb)
{
    volatile struct tt_cb *c = tt_cb(cb);
    return c->base + (c->popped % c->num_pages) * c->page_size;
}

/* Consumer: releases n pages back to the producer. */
static inline void cb_pop_front(uint32_t cb, uint32_t n) { tt_cb(cb)->popped += n; }

/* ---- Interleaved DRAM buffers ----
 *
 * The host writes a table of `num_banks` bank entries into the core's L1 and passes its L1
 * address as a runtime arg. Entry b names one NoC endpoint (x, y) of bank b's DRAM channel
 * and the bank's byte offset within that channel (the SoC descriptor's dram_address_offsets:
 * on Wormhole B0 the two banks of a channel sit at 0 and 1 GiB). A buffer with base address
 * `bank_base_address` (the same in every bank) and page size `page_size` stores page p in
 * bank p % num_banks at bank.offset + bank_base_address + (p / num_banks) * page_size. */
#define TT_DRAM_BANK_BYTES 16
struct tt_dram_bank {
    uint32_t x;         /* NoC column of a DRAM endpoint of the bank's channel */
    uint32_t y;         /* NoC row of that endpoint */
    uint32_t offset_lo; /* bank offset within the channel, low 32 bits */
    uint32_t offset_hi; /* high 32 bits */
};

/* tt-metal's InterleavedAddrGen, in C. */
struct InterleavedAddrGen {
    const volatile struct tt_dram_bank *banks;
    uint32_t num_banks;         /* nonzero */
    uint32_t bank_base_address;
    uint32_t page_size;
};

/* The address generator for a buffer, with the bank table whose L1 address is runtime arg
 * `table_arg` and the bank count in runtime arg `count_arg`. */
static inline struct InterleavedAddrGen tt_interleaved(uint32_t table_arg, uint32_t count_arg,
                                                       uint32_t base, uint32_t page_size)
{
    struct InterleavedAddrGen g;
    g.banks = (const volatile struct tt_dram_bank *)get_arg_val(table_arg);
    g.num_banks = get_arg_val(count_arg);
    g.bank_base_address = base;
    g.page_size = page_size;
    return g;
}

/* The NoC address of byte `offset` of page `page`. */
static inline uint64_t interleaved_addr_gen_get_noc_addr(const struct InterleavedAddrGen *g,
                                                         uint32_t page, uint32_t offset)
{
    const volatile struct tt_dram_bank *b = &g->banks[page % g->num_banks];
    uint64_t at = (((uint64_t)b->offset_hi << 32) | b->offset_lo) + g->bank_base_address +
                  (uint64_t)(page / g->num_banks) * g->page_size + offset;
    return ((uint64_t)b->y << (TT_NOC_ADDR_LOCAL_BITS + TT_NOC_ADDR_NODE_ID_BITS)) |
           ((uint64_t)b->x << TT_NOC_ADDR_LOCAL_BITS) | at;
}

/* Reads page `page` into local L1; wait with noc_async_read_barrier. */
static inline void noc_async_read_page(uint32_t page, const struct InterleavedAddrGen *g,
                                       uint32_t dst_local_l1_addr)
{
    noc_async_read(interleaved_addr_gen_get_noc_addr(g, page, 0), dst_local_l1_addr, g->page_size);
}

/* Writes page `page` from local L1; wait with noc_async_write_barrier. */
static inline void noc_async_write_page(uint32_t page, const struct InterleavedAddrGen *g,
                                        uint32_t src_local_l1_addr)
{
    noc_async_write(src_local_l1_addr, interleaved_addr_gen_get_noc_addr(g, page, 0), g->page_size);
}

/* Control block of the persistent SYSTEM kernels (dispatch.c, fabric.c), in their own L1 at
 * the address given as runtime arg 0. The host fills the operands, then writes `cmd` last;
 * the kernel carries the command out, writes `status`, increments `done`, and writes `cmd`
 * back to TT_SYS_CMD_NONE last, so `cmd == NONE` tells the host the command finished.
 * The host writes cmd = TT_SYS_CMD_NONE before launching the kernel. */
#define TT_SYS_CTRL_BYTES 40
struct tt_sys_ctrl {
    volatile uint32_t cmd;     /* TT_SYS_CMD_* */
    volatile uint32_t status;  /* result of the last command: 0, or TT_SYS_STATUS_* */
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
#define TT_SYS_CMD_NOC_READ 2      /* dispatch: noc_async_read of len bytes + read barrier */
#define TT_SYS_CMD_NOC_WRITE 3     /* dispatch: noc_async_write of len bytes + write barrier */
#define TT_SYS_CMD_NOC_ATOMIC_ADD 4 /* dispatch: noc_semaphore_inc by value + atomic barrier */
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
_Static_assert(sizeof(struct tt_mailbox) == 28, "mailbox words");
_Static_assert(sizeof(struct tt_cb) == TT_CB_DESCRIPTOR_BYTES, "CB descriptor size");
_Static_assert(sizeof(struct tt_dram_bank) == TT_DRAM_BANK_BYTES, "DRAM bank entry size");
_Static_assert(sizeof(struct tt_sys_ctrl) == TT_SYS_CTRL_BYTES, "control block size");
_Static_assert(sizeof(struct tt_queue) == TT_QUEUE_HEADER_BYTES, "queue header size");

#endif /* TT_KERNEL_H */
