/*
 * tt_tile.h: the Tensix tile registers a kernel uses, as Tenstorrent documents them.
 *
 * Wormhole B0: tenstorrent/tt-isa-documentation, WormholeB0/NoC/MemoryMap.md (NIU request
 * initiators, NOC_NODE_ID), Counters.md (the counter array), Atomics.md and
 * Diagrams/Src/Bits32.lua (NOC_AT_LEN_BE fields). Blackhole: tt-metal's
 * tt_metal/hw/inc/internal/tt-1xx/blackhole/noc/noc_parameters.h. The numbers mirror
 * crates/tt-soc/src/tile.rs; a Rust test checks every TT_ define below against it.
 */
#ifndef TT_TILE_H
#define TT_TILE_H

#include <stdint.h>

/* Wormhole B0 reset pcs (WormholeB0/TensixTile/SoftReset.md). */
#define TT_RESET_PC_B 0x00000
#define TT_RESET_PC_T0 0x06000
#define TT_RESET_PC_T1 0x0a000
#define TT_RESET_PC_T2 0x0e000
#define TT_RESET_PC_NC 0x12000

/* The NIU of NoC #0 (NIU_BASE); NoC #1's is 0x10000 above. */
#define TT_NIU0_BASE 0xffb20000
/* The counter array: 32-bit counter i at TT_NIU0_BASE + TT_NIU_COUNTERS + 4 * i. */
#define TT_NIU_COUNTERS 0x200

/* Wormhole B0 request initiator layout (MemoryMap.md). */
#define TT_WH_INITIATOR_STRIDE 0x400
#define TT_WH_TARG_ADDR_LO 0x00
#define TT_WH_TARG_ADDR_MID 0x04
#define TT_WH_RET_ADDR_LO 0x0c
#define TT_WH_RET_ADDR_MID 0x10
#define TT_WH_PACKET_TAG 0x18
#define TT_WH_CTRL 0x1c
#define TT_WH_AT_LEN_BE 0x20
#define TT_WH_AT_DATA 0x24
#define TT_WH_CMD_CTRL 0x28
#define TT_WH_NODE_ID 0x2c

/* Blackhole request initiator layout (noc_parameters.h): coordinates in the HI registers. */
#define TT_BH_INITIATOR_STRIDE 0x800
#define TT_BH_TARG_ADDR_LO 0x00
#define TT_BH_TARG_ADDR_MID 0x04
#define TT_BH_TARG_ADDR_HI 0x08
#define TT_BH_RET_ADDR_LO 0x0c
#define TT_BH_RET_ADDR_MID 0x10
#define TT_BH_RET_ADDR_HI 0x14
#define TT_BH_PACKET_TAG 0x18
#define TT_BH_CTRL 0x1c
#define TT_BH_AT_LEN_BE 0x20
#define TT_BH_AT_DATA 0x28
#define TT_BH_CMD_CTRL 0x40
#define TT_BH_NODE_ID 0x44

/* NOC_CTRL: request type in bits 0-1, then flags (MemoryMap.md). */
#define TT_NOC_CMD_RD 0
#define TT_NOC_CMD_AT 1
#define TT_NOC_CMD_WR 2
#define TT_NOC_CMD_WR_BE 0x4
#define TT_NOC_CMD_WR_INLINE 0x8
#define TT_NOC_CMD_RESP_MARKED 0x10
#define TT_NOC_CMD_BRCST_PACKET 0x20
#define TT_NOC_CMD_BRCST_SRC_INCLUDE 0x20000

/* NOC_PACKET_TAG: transaction id in bits 10-13. */
#define TT_NOC_PACKET_TAG_TRANSACTION_ID_SHIFT 10

/* NOC_AT_LEN_BE for atomics: opcode in bits 12-14. Increment: Ofs 0-1, IntWidth 2-6. */
#define TT_NOC_AT_INS_SHIFT 12
#define TT_NOC_AT_INS_INCR_GET 1
#define TT_NOC_AT_INS_CAS 4

/* Counter indices (Counters.md). */
#define TT_NIU_MST_ATOMIC_RESP_RECEIVED 0
#define TT_NIU_MST_WR_ACK_RECEIVED 1
#define TT_NIU_MST_RD_RESP_RECEIVED 2
#define TT_NIU_MST_POSTED_WR_REQ_SENT 11
#define TT_NIU_MST_REQS_OUTSTANDING_ID_0 16
#define TT_NIU_MST_WRITE_REQS_OUTGOING_ID_0 32

/* A NoC address as the kernel API passes it: local address in bits 0-35, X in 36-41 and Y in
 * 42-47 (MemoryMap.md, unicast); a broadcast has EndX 36, EndY 42, StartX 48, StartY 54.
 * This is Wormhole's NOC_TARG_ADDR_LO:MID pair; Blackhole's HI register holds bits 36 and
 * up (noc_parameters.h: NOC_XY_ENCODING and NOC_MULTICAST_COORD). */
#define TT_NOC_ADDR_LOCAL_BITS 36
#define TT_NOC_ADDR_NODE_ID_BITS 6

#endif /* TT_TILE_H */
