//! The per-core L1 memory map the runtime uses, in one place.
//!
//! Every core's L1 is split into disjoint regions: a reserved area (our firmware at the
//! documented reset pcs, launch mailboxes, stacks; counted as RESERVED), a kernel region
//! where program kernel binaries and runtime arguments are placed (KERNEL and SYSTEM), the
//! allocatable region the bank allocator hands out (L1 buffers, L1_SMALL, circular buffers),
//! and on Ethernet cores the firmware areas at the bottom and top of L1 (and, on Wormhole, the
//! routing firmware's area between the kernel region and the allocatable one), taken from
//! tt-metal's memory maps.
//!
//! A Wormhole Ethernet core (tt-metal `tt_metal/hw/inc/internal/tt-1xx/wormhole/eth_l1_address_map.h`):
//!
//! ```text
//! 0x00000  base firmware (below L1_EPOCH_Q_BASE)
//! 0x09000  L1_EPOCH_Q_BASE; 0x9004 LAUNCH_ERISC_APP_FLAG (the base firmware's launch word)
//! 0x09040  FIRMWARE_BASE: the app the base firmware enters; our kernel region, to 0x11000
//! 0x11000  ROUTING_FW_RESERVED_BASE: routing firmware, 28 KiB (tt-umd erisc_firmware.hpp
//!          ETH_ROUTING_STRUCT_ADDR = 0x11000: its command queues serve an n300's second chip)
//! 0x18000  ROUTING_ENABLED_ERISC_L1_UNRESERVED_BASE: allocatable, to 0x3DC00
//! 0x3DC00  config space and the l1_barrier word, to 256 KiB
//! ```
//!
//! A Tensix core's reserved area is built around the reset pcs of Wormhole B0's five RISC-V
//! cores (tt-isa-documentation `WormholeB0/TensixTile/SoftReset.md`: B `0x0`, T0 `0x6000`,
//! T1 `0xA000`, T2 `0xE000`, NC `0x12000`; see [`crate::tile::RiscV::reset_pc`]; on Blackhole
//! the host points the reset pc overrides at the same slots): each holds a
//! [`FIRMWARE_SLOT_BYTES`] firmware slot, the mailboxes sit right after B's slot, and the
//! stacks after NC's:
//!
//! ```text
//! 0x00000  firmware, RISCV B       0x0A000  firmware, RISCV T1
//! 0x01000  launch mailboxes        0x0E000  firmware, RISCV T2
//! 0x06000  firmware, RISCV T0      0x12000  firmware, RISCV NC
//!                                  0x13000  stacks, 4 KiB per processor
//! 0x18000  end of the reserved area: the kernel region starts
//! ```

use std::ops::Range;

use crate::CoreKind;

/// Offset of the boot/reset vector area at the bottom of every L1 (RISCV B's reset pc).
pub const BOOT_BASE: u64 = 0x0;
/// Bytes of one firmware slot at each reset pc.
pub const FIRMWARE_SLOT_BYTES: u64 = 0x1000;
/// Launch mailboxes start here; one [`MAILBOX_STRIDE`]-byte mailbox per RISC-V processor.
pub const MAILBOX_BASE: u64 = 0x1000;
/// Bytes per processor mailbox.
pub const MAILBOX_STRIDE: u64 = 0x40;
/// Most RISC-V processors on one core (Tensix: BRISC, NCRISC, TRISC0-2).
pub const MAX_PROCESSORS: u64 = 5;
/// The firmware slot of RISCV B, which starts the reserved area.
pub const FIRMWARE_BASE: u64 = BOOT_BASE;
/// End of the reserved area: the kernel region starts here on every core kind.
pub const RESERVED_END: u64 = 0x18000;

/// Where processor `index` (0 B, 1 NC, 2-4 T0-T2) keeps its firmware: its Wormhole B0 reset
/// pc.
pub fn firmware_slot(index: u64) -> Option<u64> {
    let riscv = crate::tile::RiscV::from_index(u8::try_from(index).ok()?)?;
    riscv.reset_pc(crate::Arch::WormholeB0).map(u64::from)
}

/// Kernel region on a Tensix core: 256 KiB for kernel binaries and runtime arguments of
/// the programs resident at once.
pub const TENSIX_KERNEL_REGION: Range<u64> = RESERVED_END..0x48000;
/// Start of what the runtime may use on a Blackhole Ethernet core: below it is the Ethernet
/// base firmware's area (`L1_EPOCH_Q_BASE = 0x9000` of tt-metal's Ethernet maps, the lowest
/// Ethernet address tt-metal uses).
pub const ETH_FIRMWARE_END: u64 = 0x9000;
/// Kernel region on a Blackhole Ethernet core: 96 KiB above the Ethernet firmware's area.
pub const BLACKHOLE_ETH_KERNEL_REGION: Range<u64> = ETH_FIRMWARE_END..ETH_FIRMWARE_END + 0x18000;
/// Wormhole Ethernet `L1_EPOCH_Q_BASE` (tt-metal wormhole eth_l1_address_map.h): the base
/// firmware's words start here.
pub const WORMHOLE_ETH_EPOCH_Q_BASE: u64 = 0x9000;
/// Wormhole Ethernet `LAUNCH_ERISC_APP_FLAG = L1_EPOCH_Q_BASE + 4` (tt-metal wormhole
/// eth_l1_address_map.h): set to 1 when the runtime launches an app; the only base-firmware
/// word a host writes.
pub const WORMHOLE_ETH_LAUNCH_APP_FLAG: u64 = WORMHOLE_ETH_EPOCH_Q_BASE + 4;
/// Wormhole Ethernet `FIRMWARE_BASE = 0x9040` (tt-metal wormhole eth_l1_address_map.h): where
/// the base firmware enters the app it launches.
pub const WORMHOLE_ETH_APP_BASE: u64 = 0x9040;
/// Wormhole Ethernet routing firmware's area: `ROUTING_FW_RESERVED_BASE = L1_EPOCH_Q_BASE +
/// APP_FIRMWARE_SIZE (32 KiB)` for `ROUTING_FW_RESERVED_SIZE = 28 KiB` (tt-metal wormhole
/// eth_l1_address_map.h; tt-umd erisc_firmware.hpp `ETH_ROUTING_STRUCT_ADDR = 0x11000`).
pub const WORMHOLE_ETH_ROUTING_FW: Range<u64> = 0x11000..0x11000 + 28 * 1024;
/// Kernel region on a Wormhole Ethernet core: the app area from `FIRMWARE_BASE` to the routing
/// firmware, clear of the base firmware's words (its launch flag among them).
pub const WORMHOLE_ETH_KERNEL_REGION: Range<u64> =
    WORMHOLE_ETH_APP_BASE..WORMHOLE_ETH_ROUTING_FW.start;
/// Wormhole Ethernet L1 size (256 KiB): how [`L1Map::for_core`] tells the two archs apart.
const WORMHOLE_ETH_L1: u64 = 0x4_0000;
/// Blackhole Ethernet L1 size (512 KiB).
const BLACKHOLE_ETH_L1: u64 = 0x8_0000;
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
    /// Firmware-owned area between the kernel region and the allocatable one (Wormhole
    /// Ethernet's routing firmware; empty, at the kernel region's end, elsewhere): never
    /// allocated.
    pub firmware: Range<u64>,
    /// Handed out by the bank allocator.
    pub allocatable: Range<u64>,
}

/// Host writes a card's firmware does not survive, per Ethernet L1 size: each range with the
/// firmware that owns it. Wormhole (tt-metal wormhole eth_l1_address_map.h): the base
/// firmware below `L1_EPOCH_Q_BASE` and its words up to `FIRMWARE_BASE`, except
/// `LAUNCH_ERISC_APP_FLAG`, which the host sets to launch an app. The routing firmware's area
/// is not listed: tt-umd writes its command queues there from the host (erisc_firmware.hpp
/// `REQUEST_CMD_QUEUE_BASE`), so only our placements keep out of it (it is never allocated).
/// Blackhole lists nothing: no Tenstorrent source we cite names its base firmware's words.
/// The simulator refuses host writes into these ranges.
pub fn ethernet_host_write_refused(l1_size: u64) -> &'static [(Range<u64>, &'static str)] {
    const WORMHOLE: [(Range<u64>, &str); 2] = [
        (
            BOOT_BASE..WORMHOLE_ETH_LAUNCH_APP_FLAG,
            "the Wormhole Ethernet base firmware (below L1_EPOCH_Q_BASE 0x9000, and its first \
             epoch queue word)",
        ),
        (
            WORMHOLE_ETH_LAUNCH_APP_FLAG + 4..WORMHOLE_ETH_APP_BASE,
            "the Wormhole Ethernet base firmware's epoch queue words (0x9008 up to FIRMWARE_BASE \
             0x9040)",
        ),
    ];
    match l1_size {
        WORMHOLE_ETH_L1 => &WORMHOLE,
        _ => &[],
    }
}

impl L1Map {
    /// The map of a core of `kind` with `l1_size` bytes of L1, or `None` for kinds without
    /// an L1 the runtime uses, an L1 too small to hold the fixed regions, or an Ethernet L1
    /// that is neither Wormhole's 256 KiB nor Blackhole's 512 KiB (its firmware areas are
    /// unknown).
    pub fn for_core(kind: CoreKind, l1_size: u64) -> Option<L1Map> {
        let (kernel, firmware, top) = match (kind, l1_size) {
            (CoreKind::Tensix, _) => (TENSIX_KERNEL_REGION, None, l1_size),
            (CoreKind::Ethernet, WORMHOLE_ETH_L1) => (
                WORMHOLE_ETH_KERNEL_REGION,
                Some(WORMHOLE_ETH_ROUTING_FW),
                WORMHOLE_ETH_CONFIG_BASE,
            ),
            (CoreKind::Ethernet, BLACKHOLE_ETH_L1) => {
                (BLACKHOLE_ETH_KERNEL_REGION, None, BLACKHOLE_ETH_CONFIG_BASE)
            }
            _ => return None,
        };
        let firmware = firmware.unwrap_or(kernel.end..kernel.end);
        if top < firmware.end {
            return None;
        }
        Some(L1Map {
            reserved: BOOT_BASE..kernel.start,
            top_reserved: top..l1_size,
            allocatable: firmware.end..top,
            firmware,
            kernel,
        })
    }

    /// The firmware-owned parts of the map, each counted as RESERVED: the bottom area, the
    /// area between the kernel and allocatable regions, the top area (empty ones left out).
    pub fn firmware_owned(&self) -> impl Iterator<Item = Range<u64>> {
        [self.reserved.clone(), self.firmware.clone(), self.top_reserved.clone()]
            .into_iter()
            .filter(|r| !r.is_empty())
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
            assert_eq!(m.kernel.end, m.firmware.start);
            assert_eq!(m.firmware.end, m.allocatable.start);
            assert_eq!(m.allocatable.end, m.top_reserved.start);
            assert_eq!(m.top_reserved.end, size);
            assert_eq!(m.allocatable.start % 4096, 0, "allocatable base stays page aligned");
        }
        let t = L1Map::for_core(CoreKind::Tensix, 1_499_136).unwrap();
        assert_eq!(t.allocatable.end - t.allocatable.start, 1_204_224);
    }

    #[test]
    fn ethernet_regions_avoid_the_firmware_areas_tt_metal_names() {
        // Wormhole: nothing of ours below FIRMWARE_BASE 0x9040 (the base firmware and its
        // words, LAUNCH_ERISC_APP_FLAG = 0x9004 among them), in the routing firmware's
        // 0x11000-0x18000 (issue 19: the fabric kernel used to cover both), or from the ERISC
        // config space at 0x3DC00 to the barrier word at 256 KiB - 32.
        let wh = L1Map::for_core(CoreKind::Ethernet, 262_144).unwrap();
        assert_eq!(wh.reserved, 0..0x9040);
        assert!(wh.reserved.contains(&WORMHOLE_ETH_LAUNCH_APP_FLAG));
        assert_eq!(WORMHOLE_ETH_LAUNCH_APP_FLAG, 0x9004);
        assert_eq!(wh.kernel, 0x9040..0x11000);
        assert_eq!(wh.firmware, 0x11000..0x18000);
        assert_eq!(wh.allocatable, 0x18000..0x3DC00);
        assert!(wh.top_reserved.contains(&(262_144 - 32)));
        let owned: Vec<_> = wh.firmware_owned().collect();
        assert_eq!(owned, [0..0x9040, 0x11000..0x18000, 0x3DC00..0x40000]);
        // The simulator refuses host writes below 0x9040 except the launch flag.
        let refused = ethernet_host_write_refused(262_144);
        let hits = |addr: u64| refused.iter().any(|(r, _)| r.contains(&addr));
        assert!(hits(0) && hits(0x9000) && hits(0x9008) && hits(0x903C));
        assert!(!hits(0x9004) && !hits(0x9040) && !hits(0x11080));
        assert!(ethernet_host_write_refused(524_288).is_empty());
        // Blackhole: the system firmware area 0x70000-0x80000 and tt-metal's area below it.
        let bh = L1Map::for_core(CoreKind::Ethernet, 524_288).unwrap();
        assert_eq!(bh.allocatable.end, 0x6F260);
        assert!(bh.top_reserved.contains(&0x70000) && bh.top_reserved.contains(&0x7FFFF));
        assert_eq!(0x8_0000 - 64 * 1024 - 64 - 48 - (160 + 16 * 8) - 3088, 0x6F260);
        assert_eq!(L1Map::for_core(CoreKind::Ethernet, 100_000), None);
    }

    #[test]
    fn mailboxes_firmware_and_stacks_do_not_overlap() {
        let mut areas: Vec<(u64, u64, String)> = (0..MAX_PROCESSORS)
            .map(|p| {
                let slot = firmware_slot(p).unwrap();
                (slot, slot + FIRMWARE_SLOT_BYTES, format!("firmware {p}"))
            })
            .collect();
        let last = L1Map::mailbox(MAX_PROCESSORS - 1).unwrap();
        areas.push((MAILBOX_BASE, last + MAILBOX_STRIDE, "mailboxes".into()));
        let stacks = crate::kernel_abi::STACK_BASE;
        let top = crate::kernel_abi::stack_top(MAX_PROCESSORS - 1);
        areas.push((stacks, top, "stacks".into()));
        areas.sort();
        for pair in areas.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "{} overlaps {}", pair[0].2, pair[1].2);
        }
        assert_eq!(areas.first().unwrap().0, BOOT_BASE);
        assert!(areas.last().unwrap().1 <= RESERVED_END);
        assert_eq!(L1Map::mailbox(MAX_PROCESSORS), None);
        assert_eq!(firmware_slot(1), Some(0x12000), "RISCV NC's reset pc");
    }

    #[test]
    fn cores_without_l1_have_no_map() {
        assert_eq!(L1Map::for_core(CoreKind::Dram, 1 << 30), None);
        assert_eq!(L1Map::for_core(CoreKind::Tensix, 1024), None);
    }
}
