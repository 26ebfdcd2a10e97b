//! The per-core L1 memory map the runtime uses, in one place.
//!
//! Every core's L1 is split into three disjoint regions: a reserved area (boot vector,
//! launch mailboxes, firmware; counted as RESERVED), a kernel region where program kernel
//! binaries and runtime arguments are placed (KERNEL and SYSTEM), and the allocatable region
//! the bank allocator hands out (L1 buffers, L1_SMALL, circular buffers). The map is ours,
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
/// Kernel region on an Ethernet core: 96 KiB.
pub const ETH_KERNEL_REGION: Range<u64> = RESERVED_END..0x20000;

/// The three regions of one core's L1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Map {
    /// Boot vector, mailboxes, firmware: never allocated.
    pub reserved: Range<u64>,
    /// Kernel binaries and runtime arguments.
    pub kernel: Range<u64>,
    /// Handed out by the bank allocator.
    pub allocatable: Range<u64>,
}

impl L1Map {
    /// The map of a core of `kind` with `l1_size` bytes of L1, or `None` for kinds without
    /// an L1 the runtime uses, or an L1 too small to hold the fixed regions.
    pub fn for_core(kind: CoreKind, l1_size: u64) -> Option<L1Map> {
        let kernel = match kind {
            CoreKind::Tensix => TENSIX_KERNEL_REGION,
            CoreKind::Ethernet => ETH_KERNEL_REGION,
            _ => return None,
        };
        if l1_size < kernel.end {
            return None;
        }
        Some(L1Map { reserved: BOOT_BASE..RESERVED_END, allocatable: kernel.end..l1_size, kernel })
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
        for (kind, size) in [(CoreKind::Tensix, 1_499_136), (CoreKind::Ethernet, 262_144)] {
            let m = L1Map::for_core(kind, size).unwrap();
            assert_eq!(m.reserved.start, 0);
            assert_eq!(m.reserved.end, m.kernel.start);
            assert_eq!(m.kernel.end, m.allocatable.start);
            assert_eq!(m.allocatable.end, size);
            assert_eq!(m.allocatable.start % 4096, 0, "allocatable base stays page aligned");
        }
        let t = L1Map::for_core(CoreKind::Tensix, 1_499_136).unwrap();
        assert_eq!(t.allocatable.end - t.allocatable.start, 1_204_224);
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
