//! The Tensix tile as Tenstorrent documents it: what each RISC-V core of a tile sees in its
//! address space, the soft-reset register and reset pcs, and the layout of the NoC interface
//! units' (NIU) request initiators and counters.
//!
//! Every figure names its source. Wormhole B0 comes from `tenstorrent/tt-isa-documentation`
//! (`WormholeB0/TensixTile/BabyRISCV/README.md`, `SoftReset.md`, `DebugTimestamper.md`,
//! `WormholeB0/NoC/MemoryMap.md`, `Counters.md`, `Atomics.md`, `Coordinates.md`). Blackhole
//! is not in that repository; its differences come from tt-metal's
//! `tt_metal/hw/inc/internal/tt-1xx/blackhole/noc/noc_parameters.h` and `tensix.h`. The
//! simulator models exactly these registers; the host and the kernel API use the same numbers.

use bitflags::bitflags;

use crate::Arch;

/// Base of every tile's L1 in its cores' address space (`MEM_L1_BASE`, BabyRISCV/README.md).
pub const L1_BASE: u32 = 0x0000_0000;
/// Base of each core's private local data RAM (`MEM_LOCAL_BASE`, BabyRISCV/README.md).
pub const LOCAL_DATA_BASE: u32 = 0xFFB0_0000;
/// Tile control / debug / status registers (`RISCV_DEBUG_REGS_START_ADDR`,
/// BabyRISCV/README.md and TileControlDebugStatus.md; the same in Blackhole's tensix.h).
pub const TILE_CONTROL_BASE: u32 = 0xFFB1_2000;
/// Bytes of the tile control region (`0xFFB1_2000` to `0xFFB1_2FFF`, BabyRISCV/README.md).
pub const TILE_CONTROL_BYTES: u32 = 0x1000;
/// `RISCV_DEBUG_REG_SOFT_RESET_0`, as an offset in the tile control region (tt-metal's
/// wormhole and blackhole `tensix.h`: `RISCV_DEBUG_REGS_START_ADDR | 0x1B0`).
pub const SOFT_RESET_OFFSET: u32 = 0x1B0;
/// `RISCV_DEBUG_REG_WALL_CLOCK_L` offset: reading it returns the low half of the wall clock
/// and latches the high half (DebugTimestamper.md, `0xFFB1_21F0`).
pub const WALL_CLOCK_L_OFFSET: u32 = 0x1F0;
/// `RISCV_DEBUG_REG_WALL_CLOCK_L + 4`: the live high half (DebugTimestamper.md, `0xFFB1_21F4`).
pub const WALL_CLOCK_L_PLUS_4_OFFSET: u32 = 0x1F4;
/// `RISCV_DEBUG_REG_WALL_CLOCK_H`: the high half latched by the last read of `WALL_CLOCK_L`
/// (DebugTimestamper.md, `0xFFB1_21F8`).
pub const WALL_CLOCK_H_OFFSET: u32 = 0x1F8;
/// NIU of NoC #0 in a Tensix or Ethernet tile (`NIU_BASE`, NoC/MemoryMap.md;
/// `NOC_REGS_START_ADDR` in Blackhole's noc_parameters.h).
pub const NIU0_BASE: u32 = 0xFFB2_0000;
/// NIU of NoC #1 (`NIU_BASE` for NoC #1, NoC/MemoryMap.md; `NOC_INSTANCE_OFFSET` 0x10000
/// in Blackhole's noc_parameters.h).
pub const NIU1_BASE: u32 = 0xFFB3_0000;
/// Bytes of one NIU's register space (`0xFFB2_0000` to `0xFFB2_FFFF`, BabyRISCV/README.md).
pub const NIU_BYTES: u32 = 0x1_0000;
/// Pushing an instruction to the Tensix coprocessor: `INSTRN_BUF_BASE` to the end of
/// `INSTRN2_BUF_BASE` (`0xFFE4_0000` to `0xFFE6_FFFF`, BabyRISCV/README.md).
pub const COPROCESSOR_PUSH: std::ops::Range<u32> = 0xFFE4_0000..0xFFE7_0000;
/// The rest of the Tensix coprocessor's windows (GPRs, PCBufs, TTSync, semaphores,
/// mailboxes, backend configuration): `REGFILE_BASE` to the end of `TENSIX_CFG_BASE`
/// (`0xFFE0_0000` to `0xFFEF_FFFF`, BabyRISCV/README.md).
pub const COPROCESSOR_WINDOWS: std::ops::Range<u32> = 0xFFE0_0000..0xFFF0_0000;

/// The RISC-V cores of a Tensix tile, by the index the runtime gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RiscV {
    /// RISCV B (BRISC, data movement 0), index 0.
    B,
    /// RISCV NC (NCRISC, data movement 1), index 1.
    Nc,
    /// RISCV T0 (TRISC0, unpack), index 2.
    T0,
    /// RISCV T1 (TRISC1, math), index 3.
    T1,
    /// RISCV T2 (TRISC2, pack), index 4.
    T2,
}

impl RiscV {
    /// All five, in index order.
    pub const ALL: [RiscV; 5] = [RiscV::B, RiscV::Nc, RiscV::T0, RiscV::T1, RiscV::T2];

    /// The core with runtime index `index` (0 B, 1 NC, 2-4 T0-T2).
    pub fn from_index(index: u8) -> Option<RiscV> {
        RiscV::ALL.get(usize::from(index)).copied()
    }

    /// The documentation's name (`RISCV B`, `RISCV NC`, `RISCV T0` ...).
    pub fn name(self) -> &'static str {
        match self {
            RiscV::B => "RISCV B (BRISC)",
            RiscV::Nc => "RISCV NC (NCRISC)",
            RiscV::T0 => "RISCV T0 (TRISC0)",
            RiscV::T1 => "RISCV T1 (TRISC1)",
            RiscV::T2 => "RISCV T2 (TRISC2)",
        }
    }

    /// Bytes of this core's local data RAM: 4 KiB for B and NC, 2 KiB for T0-T2
    /// (BabyRISCV/README.md, "Local data memory"; the map leaves `0xFFB0_0800` to
    /// `0xFFB0_0FFF` unmapped for the T cores).
    pub fn local_data_bytes(self) -> u32 {
        match self {
            RiscV::B | RiscV::Nc => 4096,
            RiscV::T0 | RiscV::T1 | RiscV::T2 => 2048,
        }
    }

    /// Its bit in `RISCV_DEBUG_REG_SOFT_RESET_0`.
    pub fn soft_reset_bit(self) -> SoftReset {
        match self {
            RiscV::B => SoftReset::RISCV_B,
            RiscV::Nc => SoftReset::RISCV_NC,
            RiscV::T0 => SoftReset::RISCV_T0,
            RiscV::T1 => SoftReset::RISCV_T1,
            RiscV::T2 => SoftReset::RISCV_T2,
        }
    }

    /// The documented pc on leaving soft reset when no override is enabled (SoftReset.md,
    /// Wormhole B0: B `0x00000`, T0 `0x06000`, T1 `0x0A000`, T2 `0x0E000`, NC `0x12000`).
    /// On Blackhole only RISCV B's is known (`MEM_BOOT_CODE_BASE 0` in tt-metal's blackhole
    /// `dev_mem_map.h`); the others start where the reset pc override registers say
    /// ([`BLACKHOLE_RESET_PC`]), and `None` here.
    pub fn reset_pc(self, arch: Arch) -> Option<u32> {
        match (arch, self) {
            (Arch::WormholeB0, RiscV::B) | (Arch::Blackhole, RiscV::B) => Some(0x00000),
            (Arch::WormholeB0, RiscV::T0) => Some(0x06000),
            (Arch::WormholeB0, RiscV::T1) => Some(0x0A000),
            (Arch::WormholeB0, RiscV::T2) => Some(0x0E000),
            (Arch::WormholeB0, RiscV::Nc) => Some(0x12000),
            (Arch::Blackhole, _) => None,
        }
    }

    /// On Blackhole, the tile control offsets of this core's reset pc override register and
    /// of its enable register with the enable bit: T0-T2 share `TRISC_RESET_PC_OVERRIDE`
    /// (bit i for T`i`, as SoftReset.md's `Reset_PC_Override_en.Bit[i]`), NC has its own.
    pub fn blackhole_reset_pc_override(self) -> Option<(u32, u32, u32)> {
        let r = &BLACKHOLE_RESET_PC;
        match self {
            RiscV::B => None,
            RiscV::T0 => Some((r.trisc[0], r.trisc_override, 1)),
            RiscV::T1 => Some((r.trisc[1], r.trisc_override, 2)),
            RiscV::T2 => Some((r.trisc[2], r.trisc_override, 4)),
            RiscV::Nc => Some((r.ncrisc, r.ncrisc_override, 1)),
        }
    }
}

/// Blackhole's reset pc override registers, as offsets in the tile control region
/// (tt-metal's blackhole `tensix.h`: `RISCV_DEBUG_REG_TRISC0_RESET_PC` `| 0x228`,
/// `TRISC1` `0x22C`, `TRISC2` `0x230`, `RISCV_DEBUG_REG_TRISC_RESET_PC_OVERRIDE` `0x234`,
/// `RISCV_DEBUG_REG_NCRISC_RESET_PC` `0x238`, `RISCV_DEBUG_REG_NCRISC_RESET_PC_OVERRIDE`
/// `0x23C`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetPcRegisters {
    /// T0, T1, T2's reset pcs.
    pub trisc: [u32; 3],
    /// Enable bits for the TRISC overrides.
    pub trisc_override: u32,
    /// NC's reset pc.
    pub ncrisc: u32,
    /// Enable bit for NC's override.
    pub ncrisc_override: u32,
}

/// Blackhole's reset pc override registers.
pub const BLACKHOLE_RESET_PC: ResetPcRegisters = ResetPcRegisters {
    trisc: [0x228, 0x22C, 0x230],
    trisc_override: 0x234,
    ncrisc: 0x238,
    ncrisc_override: 0x23C,
};

bitflags! {
    /// Bits of `RISCV_DEBUG_REG_SOFT_RESET_0` (SoftReset.md; the masks
    /// `RISCV_SOFT_RESET_0_BRISC` 0x800, `_TRISCS` 0x7000 and `_NCRISC` 0x40000 in tt-metal's
    /// wormhole and blackhole `tensix.h`). A set bit holds the unit in reset.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct SoftReset: u32 {
        /// Bit 11: RISCV B.
        const RISCV_B = 1 << 11;
        /// Bit 12: RISCV T0.
        const RISCV_T0 = 1 << 12;
        /// Bit 13: RISCV T1.
        const RISCV_T1 = 1 << 13;
        /// Bit 14: RISCV T2.
        const RISCV_T2 = 1 << 14;
        /// Bit 18: RISCV NC.
        const RISCV_NC = 1 << 18;
        /// Bits 0-10, 15-17 and 19-22: the Tensix coprocessor's units (unpackers, packers,
        /// mover, TDMA-RISC, THCON, FPU, SrcA/SrcB, Dst), which the simulator stores but
        /// does not otherwise model.
        const COPROCESSOR_UNITS = 0x007B_87FF;
        /// All five RISC-V cores.
        const ALL_RISCV = Self::RISCV_B.bits() | Self::RISCV_T0.bits() | Self::RISCV_T1.bits()
            | Self::RISCV_T2.bits() | Self::RISCV_NC.bits();
    }
}

bitflags! {
    /// `NOC_CTRL` of a request initiator (NoC/MemoryMap.md, "NOC_CTRL"; the same bit
    /// positions as `NOC_CMD_*` in Blackhole's noc_parameters.h). Bits 0-1 are the request
    /// type ([`NocCtrl::request_type`]).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct NocCtrl: u32 {
        /// Request type bit 0 (`NOC_CMD_AT` when alone).
        const TYPE_LOW = 1 << 0;
        /// Request type bit 1 (`NOC_CMD_WR` when alone).
        const TYPE_HIGH = 1 << 1;
        /// `NOC_CMD_WR_BE`: a write whose `NOC_AT_LEN_BE` is a byte-enable mask.
        const WR_BE = 1 << 2;
        /// `NOC_CMD_WR_INLINE`: a write of `NOC_AT_DATA`.
        const WR_INLINE = 1 << 3;
        /// `NOC_CMD_RESP_MARKED`: a non-posted write or atomic (an acknowledgement comes back).
        const RESP_MARKED = 1 << 4;
        /// `NOC_CMD_BRCST_PACKET`: a broadcast to a rectangle.
        const BRCST_PACKET = 1 << 5;
        /// `NOC_CMD_VC_LINKED`: part of a multi-request transaction.
        const VC_LINKED = 1 << 6;
        /// `NOC_CMD_VC_STATIC`: software picks the virtual channel.
        const VC_STATIC = 1 << 7;
        /// `NOC_CMD_PATH_RESERVE`: broadcasts reserve their path first.
        const PATH_RESERVE = 1 << 8;
        /// `NOC_CMD_MEM_RD_DROP_ACK`.
        const MEM_RD_DROP_ACK = 1 << 9;
        /// `NOC_CMD_BRCST_XY`: Y is the broadcast's major axis.
        const BRCST_XY = 1 << 16;
        /// `NOC_CMD_BRCST_SRC_INCLUDE`: the initiator receives its own broadcast.
        const BRCST_SRC_INCLUDE = 1 << 17;
        // Every other bit is a virtual channel, a priority or reserved; kept as written.
        const _ = !0;
    }
}

/// A request type in the low two bits of `NOC_CTRL` (NoC/MemoryMap.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    /// `NOC_CMD_RD` (0).
    Read,
    /// `NOC_CMD_AT` (1).
    Atomic,
    /// `NOC_CMD_WR` (2).
    Write,
    /// 3: reserved, "should not be used".
    Reserved,
}

impl NocCtrl {
    /// The request type in bits 0-1.
    pub fn request_type(self) -> RequestType {
        match self.bits() & 3 {
            0 => RequestType::Read,
            1 => RequestType::Atomic,
            2 => RequestType::Write,
            _ => RequestType::Reserved,
        }
    }
}

/// `NOC_PACKET_TAG` bit 6, `DeliverToReceiverOverlay` (NoC/MemoryMap.md).
pub const PACKET_TAG_DELIVER_TO_OVERLAY: u32 = 1 << 6;
/// `NOC_PACKET_TAG` bit 9, `NOC_PACKET_TAG_HEADER_STORE` (NoC/MemoryMap.md).
pub const PACKET_TAG_HEADER_STORE: u32 = 1 << 9;
/// The transaction id in `NOC_PACKET_TAG` bits 10-13 (`NOC_PACKET_TRANSACTION_ID`).
pub const fn packet_tag_transaction_id(tag: u32) -> u32 {
    (tag >> 10) & 0xF
}

/// Atomic opcode field of `NOC_AT_LEN_BE`: bits 12-14 (tt-isa-documentation
/// `Diagrams/Src/Bits32.lua`, the `NOC_AT_LEN_BE_*` diagrams used by NoC/Atomics.md;
/// `NOC_AT_INS(ins) ((ins) << 12)` in Blackhole's noc_parameters.h).
pub const fn atomic_opcode(at_len_be: u32) -> u32 {
    (at_len_be >> 12) & 0x7
}
/// Atomic increment (`NOC_AT_INS_INCR_GET`); `Ofs` in bits 0-1, `IntWidth` in bits 2-6.
pub const ATOMIC_INCREMENT: u32 = 1;
/// Atomic compare and swap (`NOC_AT_INS_CAS`); `Ofs` 0-1, `CmpVal` 2-5, `SetVal` 6-9.
pub const ATOMIC_COMPARE_AND_SWAP: u32 = 4;

/// NIU counter indices, each a 32-bit word at `counters + 4 * index` (NoC/Counters.md; the
/// same indices in Blackhole's noc_parameters.h).
pub mod counter {
    /// `NIU_MST_ATOMIC_RESP_RECEIVED`.
    pub const MST_ATOMIC_RESP_RECEIVED: u32 = 0;
    /// `NIU_MST_WR_ACK_RECEIVED`.
    pub const MST_WR_ACK_RECEIVED: u32 = 1;
    /// `NIU_MST_RD_RESP_RECEIVED`.
    pub const MST_RD_RESP_RECEIVED: u32 = 2;
    /// `NIU_MST_RD_DATA_WORD_RECEIVED`.
    pub const MST_RD_DATA_WORD_RECEIVED: u32 = 3;
    /// `NIU_MST_CMD_ACCEPTED`.
    pub const MST_CMD_ACCEPTED: u32 = 4;
    /// `NIU_MST_RD_REQ_SENT`.
    pub const MST_RD_REQ_SENT: u32 = 5;
    /// `NIU_MST_NONPOSTED_ATOMIC_SENT`.
    pub const MST_NONPOSTED_ATOMIC_SENT: u32 = 6;
    /// `NIU_MST_POSTED_ATOMIC_SENT`.
    pub const MST_POSTED_ATOMIC_SENT: u32 = 7;
    /// `NIU_MST_NONPOSTED_WR_DATA_WORD_SENT`.
    pub const MST_NONPOSTED_WR_DATA_WORD_SENT: u32 = 8;
    /// `NIU_MST_POSTED_WR_DATA_WORD_SENT`.
    pub const MST_POSTED_WR_DATA_WORD_SENT: u32 = 9;
    /// `NIU_MST_NONPOSTED_WR_REQ_SENT`.
    pub const MST_NONPOSTED_WR_REQ_SENT: u32 = 10;
    /// `NIU_MST_POSTED_WR_REQ_SENT`.
    pub const MST_POSTED_WR_REQ_SENT: u32 = 11;
    /// `NIU_MST_NONPOSTED_WR_REQ_STARTED`.
    pub const MST_NONPOSTED_WR_REQ_STARTED: u32 = 12;
    /// `NIU_MST_POSTED_WR_REQ_STARTED`.
    pub const MST_POSTED_WR_REQ_STARTED: u32 = 13;
    /// `NIU_MST_RD_REQ_STARTED`.
    pub const MST_RD_REQ_STARTED: u32 = 14;
    /// `NIU_MST_NONPOSTED_ATOMIC_STARTED`.
    pub const MST_NONPOSTED_ATOMIC_STARTED: u32 = 15;
    /// `NIU_MST_REQS_OUTSTANDING_ID(id)`, 8 bits wide.
    pub const fn mst_reqs_outstanding(id: u32) -> u32 {
        16 + id
    }
    /// `NIU_MST_WRITE_REQS_OUTGOING_ID(id)`, 8 bits wide.
    pub const fn mst_write_reqs_outgoing(id: u32) -> u32 {
        32 + id
    }
    /// `NIU_SLV_ATOMIC_RESP_SENT`.
    pub const SLV_ATOMIC_RESP_SENT: u32 = 48;
    /// `NIU_SLV_WR_ACK_SENT`.
    pub const SLV_WR_ACK_SENT: u32 = 49;
    /// `NIU_SLV_RD_RESP_SENT`.
    pub const SLV_RD_RESP_SENT: u32 = 50;
    /// `NIU_SLV_RD_DATA_WORD_SENT`.
    pub const SLV_RD_DATA_WORD_SENT: u32 = 51;
    /// `NIU_SLV_REQ_ACCEPTED`.
    pub const SLV_REQ_ACCEPTED: u32 = 52;
    /// `NIU_SLV_RD_REQ_RECEIVED`.
    pub const SLV_RD_REQ_RECEIVED: u32 = 53;
    /// `NIU_SLV_NONPOSTED_ATOMIC_RECEIVED`.
    pub const SLV_NONPOSTED_ATOMIC_RECEIVED: u32 = 54;
    /// `NIU_SLV_POSTED_ATOMIC_RECEIVED`.
    pub const SLV_POSTED_ATOMIC_RECEIVED: u32 = 55;
    /// `NIU_SLV_NONPOSTED_WR_DATA_WORD_RECEIVED`.
    pub const SLV_NONPOSTED_WR_DATA_WORD_RECEIVED: u32 = 56;
    /// `NIU_SLV_POSTED_WR_DATA_WORD_RECEIVED`.
    pub const SLV_POSTED_WR_DATA_WORD_RECEIVED: u32 = 57;
    /// `NIU_SLV_NONPOSTED_WR_REQ_RECEIVED`.
    pub const SLV_NONPOSTED_WR_REQ_RECEIVED: u32 = 58;
    /// `NIU_SLV_POSTED_WR_REQ_RECEIVED`.
    pub const SLV_POSTED_WR_REQ_RECEIVED: u32 = 59;
    /// `NIU_SLV_NONPOSTED_WR_REQ_STARTED`.
    pub const SLV_NONPOSTED_WR_REQ_STARTED: u32 = 60;
    /// `NIU_SLV_POSTED_WR_REQ_STARTED`.
    pub const SLV_POSTED_WR_REQ_STARTED: u32 = 61;
    /// Counters in the array (indices 0 to 61).
    pub const COUNT: u32 = 62;
}

/// Where the X/Y coordinates of a request's addresses live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinateEncoding {
    /// Wormhole B0: `*_ADDR_MID` holds address bits 32-35 then X (6 bits) at bit 4 and Y at
    /// bit 10; a broadcast adds StartX at bit 16 and StartY at bit 22 (NoC/MemoryMap.md:
    /// bits 36/42/48/54 of the 64-bit LO:MID pair).
    InMid,
    /// Blackhole: `*_ADDR_LO` and `*_ADDR_MID` hold a 64-bit address and `*_ADDR_HI` holds X
    /// at bit 0 and Y at bit 6; a broadcast has EndX 0, EndY 6, StartX 12, StartY 18
    /// (`NOC_XY_ENCODING`, `NOC_MULTICAST_COORD` in Blackhole's noc_parameters.h).
    InHi,
}

/// Byte offsets of one NIU's registers from its base, for one architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NiuLayout {
    /// Distance between request initiators (`NOC_CMD_BUF_OFFSET`).
    pub initiator_stride: u32,
    /// `NOC_TARG_ADDR_LO`.
    pub targ_addr_lo: u32,
    /// `NOC_TARG_ADDR_MID`.
    pub targ_addr_mid: u32,
    /// `NOC_TARG_ADDR_HI` (Blackhole only).
    pub targ_addr_hi: Option<u32>,
    /// `NOC_RET_ADDR_LO`.
    pub ret_addr_lo: u32,
    /// `NOC_RET_ADDR_MID`.
    pub ret_addr_mid: u32,
    /// `NOC_RET_ADDR_HI` (Blackhole only).
    pub ret_addr_hi: Option<u32>,
    /// `NOC_PACKET_TAG`.
    pub packet_tag: u32,
    /// `NOC_CTRL`.
    pub ctrl: u32,
    /// `NOC_AT_LEN_BE`.
    pub at_len_be: u32,
    /// `NOC_AT_DATA`.
    pub at_data: u32,
    /// `NOC_CMD_CTRL`.
    pub cmd_ctrl: u32,
    /// `NOC_NODE_ID`.
    pub node_id: u32,
    /// Write-only: clear `NIU_MST_REQS_OUTSTANDING_ID(i)` for each set bit i.
    pub clear_outstanding: u32,
    /// Read-only: the low bit of each initiator's `NOC_CMD_CTRL` (Wormhole only).
    pub combined_status: Option<u32>,
    /// `NIU_CFG_0`, first of the configuration registers.
    pub config: u32,
    /// Configuration registers kept as written (NIU and router configuration).
    pub config_words: u32,
    /// The counter array.
    pub counters: u32,
    /// Where request coordinates live.
    pub coordinates: CoordinateEncoding,
    /// Bytes per data flit (what the `*_DATA_WORD_*` counters count).
    pub flit_bytes: u32,
    /// Most bytes one request packet carries; longer reads and writes are split.
    pub max_packet_bytes: u32,
}

/// Wormhole B0 (NoC/MemoryMap.md: initiators at `+0x000`, `+0x400`, `+0x800`, `+0xC00`;
/// fields at 0x00 ... 0x28; identification at 0x2C; clear counters 0x50; combined status
/// 0x54; configuration 0x100-0x13B; counters 0x200. Counters.md: 256 flits of 32 bytes,
/// 8192 bytes per packet).
pub const WORMHOLE_NIU: NiuLayout = NiuLayout {
    initiator_stride: 0x400,
    targ_addr_lo: 0x00,
    targ_addr_mid: 0x04,
    targ_addr_hi: None,
    ret_addr_lo: 0x0C,
    ret_addr_mid: 0x10,
    ret_addr_hi: None,
    packet_tag: 0x18,
    ctrl: 0x1C,
    at_len_be: 0x20,
    at_data: 0x24,
    cmd_ctrl: 0x28,
    node_id: 0x2C,
    clear_outstanding: 0x50,
    combined_status: Some(0x54),
    config: 0x100,
    config_words: 15,
    counters: 0x200,
    coordinates: CoordinateEncoding::InMid,
    flit_bytes: 32,
    max_packet_bytes: 8192,
};

/// Blackhole (noc_parameters.h: `NOC_CMD_BUF_OFFSET` 0x800; `NOC_TARG_ADDR_LO/MID/HI`
/// 0x0/0x4/0x8, `NOC_RET_ADDR_LO/MID/HI` 0xC/0x10/0x14, `NOC_PACKET_TAG` 0x18, `NOC_CTRL`
/// 0x1C, `NOC_AT_LEN_BE` 0x20, `NOC_AT_DATA` 0x28, `NOC_CMD_CTRL` 0x40, `NOC_NODE_ID` 0x44,
/// `NOC_CLEAR_OUTSTANDING_REQ_CNT` 0x60, `NOC_CFG` 0x100, `NOC_STATUS` 0x200;
/// `NOC_WORD_BYTES` 64 and `NOC_MAX_BURST_SIZE` 256 words).
pub const BLACKHOLE_NIU: NiuLayout = NiuLayout {
    initiator_stride: 0x800,
    targ_addr_lo: 0x00,
    targ_addr_mid: 0x04,
    targ_addr_hi: Some(0x08),
    ret_addr_lo: 0x0C,
    ret_addr_mid: 0x10,
    ret_addr_hi: Some(0x14),
    packet_tag: 0x18,
    ctrl: 0x1C,
    at_len_be: 0x20,
    at_data: 0x28,
    cmd_ctrl: 0x40,
    node_id: 0x44,
    clear_outstanding: 0x60,
    combined_status: None,
    config: 0x100,
    config_words: 0x20,
    counters: 0x200,
    coordinates: CoordinateEncoding::InHi,
    flit_bytes: 64,
    max_packet_bytes: 16384,
};

/// Request initiators per NIU (NoC/MemoryMap.md: `0 <= i <= 3`).
pub const INITIATORS: u32 = 4;

/// The NIU layout of `arch`.
pub fn niu_layout(arch: Arch) -> &'static NiuLayout {
    match arch {
        Arch::WormholeB0 => &WORMHOLE_NIU,
        Arch::Blackhole => &BLACKHOLE_NIU,
    }
}

/// Bit of `NIU_CFG_0` that enables coordinate translation (NoC/MemoryMap.md, bit 14;
/// `NIU_CFG_0_NOC_ID_TRANSLATE_EN` in Blackhole's noc_parameters.h).
pub const NIU_CFG_0_TRANSLATE: u32 = 1 << 14;

/// `NOC_NODE_ID` of an NIU at NoC coordinates (x, y) of a `width` x `height` NoC
/// (NoC/MemoryMap.md: X bits 0-5, Y 6-11, width 12-18, height 19-25, bit 28 set on NoC #0
/// where unicast routes go X first). Bits 26-27 (dateline) are not documented per tile and
/// read as zero.
pub fn node_id(noc: u8, x: u16, y: u16, width: u16, height: u16) -> u32 {
    let x_first = if noc == 0 { 1 << 28 } else { 0 };
    u32::from(x & 0x3F)
        | u32::from(y & 0x3F) << 6
        | u32::from(width & 0x7F) << 12
        | u32::from(height & 0x7F) << 19
        | x_first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_addresses() {
        // BabyRISCV/README.md memory map; TileControlDebugStatus.md; DebugTimestamper.md.
        assert_eq!(LOCAL_DATA_BASE, 0xFFB0_0000);
        assert_eq!(TILE_CONTROL_BASE + SOFT_RESET_OFFSET, 0xFFB1_21B0);
        assert_eq!(TILE_CONTROL_BASE + WALL_CLOCK_L_OFFSET, 0xFFB1_21F0);
        assert_eq!(TILE_CONTROL_BASE + WALL_CLOCK_H_OFFSET, 0xFFB1_21F8);
        assert_eq!((NIU0_BASE, NIU1_BASE), (0xFFB2_0000, 0xFFB3_0000));
        assert_eq!(COPROCESSOR_PUSH.start, 0xFFE4_0000);
    }

    #[test]
    fn soft_reset_bits_and_reset_pcs() {
        // tensix.h: RISCV_SOFT_RESET_0_BRISC 0x800, _TRISCS 0x7000, _NCRISC 0x40000.
        assert_eq!(SoftReset::RISCV_B.bits(), 0x800);
        let triscs = SoftReset::RISCV_T0 | SoftReset::RISCV_T1 | SoftReset::RISCV_T2;
        assert_eq!(triscs.bits(), 0x7000);
        assert_eq!(SoftReset::RISCV_NC.bits(), 0x40000);
        assert_eq!(SoftReset::ALL_RISCV.bits(), 0x47800);
        assert!(!SoftReset::COPROCESSOR_UNITS.intersects(SoftReset::ALL_RISCV));
        assert_eq!((SoftReset::COPROCESSOR_UNITS | SoftReset::ALL_RISCV).bits(), 0x7F_FFFF);
        let pcs: Vec<Option<u32>> =
            RiscV::ALL.iter().map(|r| r.reset_pc(Arch::WormholeB0)).collect();
        assert_eq!(pcs, [Some(0), Some(0x12000), Some(0x6000), Some(0xA000), Some(0xE000)]);
        assert_eq!(RiscV::B.reset_pc(Arch::Blackhole), Some(0));
        assert_eq!(RiscV::T0.reset_pc(Arch::Blackhole), None);
        assert_eq!(TILE_CONTROL_BASE + BLACKHOLE_RESET_PC.trisc[0], 0xFFB1_2228);
        assert_eq!(RiscV::T2.blackhole_reset_pc_override(), Some((0x230, 0x234, 4)));
        assert_eq!(RiscV::Nc.blackhole_reset_pc_override(), Some((0x238, 0x23C, 1)));
        assert_eq!(RiscV::from_index(1), Some(RiscV::Nc));
        assert_eq!(RiscV::from_index(5), None);
    }

    #[test]
    fn niu_layouts() {
        let wh = niu_layout(Arch::WormholeB0);
        // MemoryMap.md example addresses, from NIU_BASE 0xFFB2_0000.
        assert_eq!(NIU0_BASE + wh.ret_addr_lo, 0xFFB2_000C);
        assert_eq!(NIU0_BASE + wh.cmd_ctrl, 0xFFB2_0028);
        assert_eq!(NIU0_BASE + wh.node_id, 0xFFB2_002C);
        assert_eq!(NIU0_BASE + 3 * wh.initiator_stride, 0xFFB2_0C00);
        assert_eq!(wh.max_packet_bytes, 256 * wh.flit_bytes);
        let bh = niu_layout(Arch::Blackhole);
        assert_eq!(bh.initiator_stride, 0x800);
        assert_eq!(bh.cmd_ctrl, 0x40);
        assert_eq!(bh.max_packet_bytes, 256 * bh.flit_bytes);
        assert_eq!(counter::mst_reqs_outstanding(15), 31);
        assert_eq!(counter::mst_write_reqs_outgoing(0), 32);
    }

    #[test]
    fn control_fields() {
        assert_eq!(NocCtrl::from_bits_retain(0).request_type(), RequestType::Read);
        assert_eq!(NocCtrl::from_bits_retain(1).request_type(), RequestType::Atomic);
        assert_eq!(NocCtrl::from_bits_retain(2).request_type(), RequestType::Write);
        assert_eq!(NocCtrl::from_bits_retain(3).request_type(), RequestType::Reserved);
        assert_eq!(packet_tag_transaction_id(0xF << 10 | 0x3FF), 0xF);
        assert_eq!(atomic_opcode(ATOMIC_COMPARE_AND_SWAP << 12 | 0xFFF), 4);
        // MemoryMap.md NOC_NODE_ID: a 10 x 12 NoC, in practice.
        assert_eq!(node_id(0, 1, 2, 10, 12), 1 | 2 << 6 | 10 << 12 | 12 << 19 | 1 << 28);
        assert_eq!(node_id(1, 1, 2, 10, 12) >> 28, 0);
    }

    /// `kernels/include/tt_tile.h` must carry exactly these numbers.
    #[test]
    fn c_header_matches() {
        let header = include_str!("../../../kernels/include/tt_tile.h");
        let define = |name: &str| -> u64 {
            let line = header
                .lines()
                .find(|l| l.starts_with("#define") && l.split_whitespace().nth(1) == Some(name))
                .unwrap_or_else(|| panic!("tt_tile.h has no #define {name}"));
            let value = line.split_whitespace().nth(2).unwrap().trim_end_matches('u');
            match value.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
                None => value.parse().unwrap(),
            }
        };
        let (wh, bh) = (&WORMHOLE_NIU, &BLACKHOLE_NIU);
        let pc = |r: RiscV| r.reset_pc(Arch::WormholeB0).unwrap_or(u32::MAX);
        let expect: Vec<(&str, u32)> = vec![
            ("TT_RESET_PC_B", pc(RiscV::B)),
            ("TT_RESET_PC_T0", pc(RiscV::T0)),
            ("TT_RESET_PC_T1", pc(RiscV::T1)),
            ("TT_RESET_PC_T2", pc(RiscV::T2)),
            ("TT_RESET_PC_NC", pc(RiscV::Nc)),
            ("TT_NIU0_BASE", NIU0_BASE),
            ("TT_NIU_COUNTERS", wh.counters),
            ("TT_WH_INITIATOR_STRIDE", wh.initiator_stride),
            ("TT_WH_TARG_ADDR_LO", wh.targ_addr_lo),
            ("TT_WH_TARG_ADDR_MID", wh.targ_addr_mid),
            ("TT_WH_RET_ADDR_LO", wh.ret_addr_lo),
            ("TT_WH_RET_ADDR_MID", wh.ret_addr_mid),
            ("TT_WH_PACKET_TAG", wh.packet_tag),
            ("TT_WH_CTRL", wh.ctrl),
            ("TT_WH_AT_LEN_BE", wh.at_len_be),
            ("TT_WH_AT_DATA", wh.at_data),
            ("TT_WH_CMD_CTRL", wh.cmd_ctrl),
            ("TT_WH_NODE_ID", wh.node_id),
            ("TT_BH_INITIATOR_STRIDE", bh.initiator_stride),
            ("TT_BH_TARG_ADDR_LO", bh.targ_addr_lo),
            ("TT_BH_TARG_ADDR_MID", bh.targ_addr_mid),
            ("TT_BH_TARG_ADDR_HI", bh.targ_addr_hi.unwrap_or(0)),
            ("TT_BH_RET_ADDR_LO", bh.ret_addr_lo),
            ("TT_BH_RET_ADDR_MID", bh.ret_addr_mid),
            ("TT_BH_RET_ADDR_HI", bh.ret_addr_hi.unwrap_or(0)),
            ("TT_BH_PACKET_TAG", bh.packet_tag),
            ("TT_BH_CTRL", bh.ctrl),
            ("TT_BH_AT_LEN_BE", bh.at_len_be),
            ("TT_BH_AT_DATA", bh.at_data),
            ("TT_BH_CMD_CTRL", bh.cmd_ctrl),
            ("TT_BH_NODE_ID", bh.node_id),
            ("TT_NOC_CMD_RD", 0),
            ("TT_NOC_CMD_AT", NocCtrl::TYPE_LOW.bits()),
            ("TT_NOC_CMD_WR", NocCtrl::TYPE_HIGH.bits()),
            ("TT_NOC_CMD_WR_BE", NocCtrl::WR_BE.bits()),
            ("TT_NOC_CMD_WR_INLINE", NocCtrl::WR_INLINE.bits()),
            ("TT_NOC_CMD_RESP_MARKED", NocCtrl::RESP_MARKED.bits()),
            ("TT_NOC_CMD_BRCST_PACKET", NocCtrl::BRCST_PACKET.bits()),
            ("TT_NOC_CMD_BRCST_SRC_INCLUDE", NocCtrl::BRCST_SRC_INCLUDE.bits()),
            ("TT_NOC_PACKET_TAG_TRANSACTION_ID_SHIFT", 10),
            ("TT_NOC_AT_INS_SHIFT", 12),
            ("TT_NOC_AT_INS_INCR_GET", ATOMIC_INCREMENT),
            ("TT_NOC_AT_INS_CAS", ATOMIC_COMPARE_AND_SWAP),
            ("TT_NIU_MST_ATOMIC_RESP_RECEIVED", counter::MST_ATOMIC_RESP_RECEIVED),
            ("TT_NIU_MST_WR_ACK_RECEIVED", counter::MST_WR_ACK_RECEIVED),
            ("TT_NIU_MST_RD_RESP_RECEIVED", counter::MST_RD_RESP_RECEIVED),
            ("TT_NIU_MST_POSTED_WR_REQ_SENT", counter::MST_POSTED_WR_REQ_SENT),
            ("TT_NIU_MST_REQS_OUTSTANDING_ID_0", counter::mst_reqs_outstanding(0)),
            ("TT_NIU_MST_WRITE_REQS_OUTGOING_ID_0", counter::mst_write_reqs_outgoing(0)),
        ];
        assert_eq!(BLACKHOLE_NIU.counters, WORMHOLE_NIU.counters, "one TT_NIU_COUNTERS for both");
        for (name, value) in expect {
            assert_eq!(define(name), u64::from(value), "{name}");
        }
        assert_eq!(define("TT_NOC_ADDR_LOCAL_BITS"), 36, "MemoryMap.md: 36-bit addresses");
        assert_eq!(define("TT_NOC_ADDR_NODE_ID_BITS"), 6, "MemoryMap.md: 6-bit X and Y");
    }
}
