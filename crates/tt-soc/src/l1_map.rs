//! The per-core L1 memory map the runtime uses, in one place.
//!
//! Every core's L1 is split into disjoint regions: a reserved area (boot vector,
//! launch mailboxes, firmware; counted as RESERVED), a kernel region where program kernel
//! binaries and runtime arguments are placed (KERNEL and SYSTEM), the allocatable region
//! the bank allocator hands out (L1 buffers, L1_SMALL, circular buffers), and on Ethernet
//! cores the firmware areas at the bottom and top of L1, taken from tt-metal's memory maps. The map is ours,
//! not tt-metal's: tt-metal moves its firmware areas between releases, and our simulator and
//! loader only need the boundaries to agree with each other.

use std::ops::Range;

use crate::CoreKind;

/// Offset of the boot/reset vector area at the bottom of every L1.
pub const BOOT_BASE: u64 = 0x0;
/// Launch mailboxes start here; one [`MAILBOX_STRIDE`]-byte mailbox per RISC-V processor.
pub const MAILBOX_BASE: u64 = 0x100;
/// Bytes per processor mailbox.
pub const MAILBOX_STRIDE: u64 = 0x40;
/// Most RISC-V processors on one core (Tensix: BRISC, NCRISC, TRISC0-2).
pub const MAX_PROCESSORS: u64 = 5;
/// Firmware text and data.
pub const FIRMWARE_BASE: u64 = 0x1000;
/// End of the reserved area: the kernel region starts here on every core kind.
pub const RESERVED_END: u64 = 0x8000;

/// Kernel region on a Tensix core: 256 KiB for kernel binaries and runtime arguments of
/// the programs resident at once.
pub const TENSIX_KERNEL_REGION: Range<u64> = RESERVED_END..0x48000;
/// Start of what the runtime may use on an Ethernet core: below it is the Ethernet base
/// firmware's area (tt-metal wormhole eth_l1_address_map.h `L1_EPOCH_Q_BASE = 0x9000`, the
/// lowest Ethernet address tt-metal uses).
pub const ETH_FIRMWARE_END: u64 = 0x9000;
/// Kernel region on an Ethernet core: 96 KiB above the Ethernet firmware's area.
pub const ETH_KERNEL_REGION: Range<u64> = ETH_FIRMWARE_END..ETH_FIRMWARE_END + 0x18000;
/// Wormhole Ethernet L1 from here up is the ERISC config space and the l1_barrier word
/// (tt-metal wormhole dev_mem_map.h `MEM_ERISC_MAX_L1_LOADING_ADDR = 0x3DC00`, end of the
/// loadable region; eth_l1_address_map.h `MAX_SIZE = 256 KiB - 32` for the barrier).
pub const WORMHOLE_ETH_CONFIG_BASE: u64 = 0x3_DC00;
/// Blackhole Ethernet L1 from here up is tt-metal's fabric router, sync and barrier area and
/// the top 64 KiB system firmware area 0x70000-0x80000 (tt-metal blackhole dev_mem_map.h:
/// `MEM_SYSENG_RESERVED_BASE = 512 KiB - 64 KiB`, below it 64 + 48 + 288 + 3088 bytes, giving
/// `MEM_ERISC_MAX_SIZE = MEM_ERISC_FABRIC_ROUTER_RESERVED_BASE = 0x6F260`).
pub const BLACKHOLE_ETH_CONFIG_BASE: u64 = 0x6_F260;

/// The regions of one core's L1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Map {
    /// Boot vector, mailboxes, firmware: never allocated.
    pub reserved: Range<u64>,
    /// Firmware-owned area at the top of L1 (Ethernet config and system areas; empty on
    /// Tensix): never allocated.
    pub top_reserved: Range<u64>,
    /// Kernel binaries and runtime arguments.
    pub kernel: Range<u64>,
    /// Handed out by the bank allocator.
    pub allocatable: Range<u64>,
}

impl L1Map {
    /// The map of a core of `kind` with `l1_size` bytes of L1, or `None` for kinds without
    /// an L1 the runtime uses, an L1 too small to hold the fixed regions, or an Ethernet L1
    /// that is neither Wormhole's 256 KiB nor Blackhole's 512 KiB (its firmware areas are
    /// unknown).
    pub fn for_core(kind: CoreKind, l1_size: u64) -> Option<L1Map> {
        let (reserved_end, kernel, top) = match kind {
            CoreKind::Tensix => (RESERVED_END, TENSIX_KERNEL_REGION, l1_size),
            CoreKind::Ethernet => {
                let top = match l1_size {
                    0x4_0000 => WORMHOLE_ETH_CONFIG_BASE,
                    0x8_0000 => BLACKHOLE_ETH_CONFIG_BASE,
                    _ => return None,
                };
                (ETH_FIRMWARE_END, ETH_KERNEL_REGION, top)
            }
            _ => return None,
        };
        if top < kernel.end {
            return None;
        }
        Some(L1Map {
            reserved: BOOT_BASE..reserved_end,
            top_reserved: top..l1_size,
            allocatable: kernel.end..top,
            kernel,
        })
    }

    /// Address of processor `index`'s launch mailbox.
    pub fn mailbox(index: u64) -> Option<u64> {
        (index < MAX_PROCESSORS).then_some(MAILBOX_BASE + index * MAILBOX_STRIDE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_disjoint_and_cover_l1() {
        for (kind, size) in [
            (CoreKind::Tensix, 1_499_136),
            (CoreKind::Tensix, 1_572_864),
            (CoreKind::Ethernet, 262_144),
            (CoreKind::Ethernet, 524_288),
        ] {
            let m = L1Map::for_core(kind, size).unwrap();
            assert_eq!(m.reserved.start, 0);
            assert_eq!(m.reserved.end, m.kernel.start);
            assert_eq!(m.kernel.end, m.allocatable.start);
            assert_eq!(m.allocatable.end, m.top_reserved.start);
            assert_eq!(m.top_reserved.end, size);
            assert_eq!(m.allocatable.start % 4096, 0, "allocatable base stays page aligned");
        }
        let t = L1Map::for_core(CoreKind::Tensix, 1_499_136).unwrap();
        assert_eq!(t.allocatable.end - t.allocatable.start, 1_204_224);
    }

    #[test]
    fn ethernet_regions_avoid_the_firmware_areas_tt_metal_names() {
        // Wormhole: nothing of ours below 0x9000 (Ethernet firmware) or from the ERISC config
        // space at 0x3DC00 to the barrier word at 256 KiB - 32.
        let wh = L1Map::for_core(CoreKind::Ethernet, 262_144).unwrap();
        assert_eq!(wh.kernel, 0x9000..0x21000);
        assert_eq!(wh.allocatable, 0x21000..0x3DC00);
        assert!(wh.top_reserved.contains(&(262_144 - 32)));
        // Blackhole: the system firmware area 0x70000-0x80000 and tt-metal's area below it.
        let bh = L1Map::for_core(CoreKind::Ethernet, 524_288).unwrap();
        assert_eq!(bh.allocatable.end, 0x6F260);
        assert!(bh.top_reserved.contains(&0x70000) && bh.top_reserved.contains(&0x7FFFF));
        assert_eq!(0x8_0000 - 64 * 1024 - 64 - 48 - (160 + 16 * 8) - 3088, 0x6F260);
        assert_eq!(L1Map::for_core(CoreKind::Ethernet, 100_000), None);
    }

    #[test]
    fn mailboxes_fit_below_firmware() {
        let last = L1Map::mailbox(MAX_PROCESSORS - 1).unwrap();
        assert!(last + MAILBOX_STRIDE <= FIRMWARE_BASE);
        assert_eq!(L1Map::mailbox(MAX_PROCESSORS), None);
    }

    #[test]
    fn cores_without_l1_have_no_map() {
        assert_eq!(L1Map::for_core(CoreKind::Dram, 1 << 30), None);
        assert_eq!(L1Map::for_core(CoreKind::Tensix, 1024), None);
    }
}
