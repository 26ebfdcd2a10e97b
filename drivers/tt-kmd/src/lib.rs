//! PCIe backend over the tt-kmd driver (`/dev/tenstorrent/N`).
//!
//! This is the only crate in the workspace that issues a raw ioctl or mmap. It mirrors the
//! driver's ioctl ABI ([`abi`]), opens a card ([`KmdDevice`]), reads its identity, driver
//! version and BAR mappings, allocates and configures TLB windows ([`TlbWindow`]), and
//! drives the driver's locks and reset. Every syscall goes through [`Syscalls`], so the
//! whole lifecycle is tested against a fake driver; a real card is only used by the tests
//! marked `#[ignore]`.
//!
//! ```no_run
//! # fn main() -> Result<(), tt_kmd::KmdError> {
//! let dev = tt_kmd::KmdDevice::open(std::path::Path::new("/dev/tenstorrent/0"))?;
//! let mut tlb = dev.allocate_tlb(2 << 20)?;
//! let off = tlb.configure_unicast(1, 1, 0x1000)?;
//! let word = tlb.region().read32(off);
//! # let _ = word; Ok(()) }
//! ```

pub mod abi;
mod device;
mod error;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
mod sys;
mod tlb;

pub use device::{
    BarMapping, DeviceInfo, DriverVersion, KmdDevice, KmdSemver, LockState, NocCleanup, ResetFlags,
    KMD_TLBS_SINCE,
};
pub use error::KmdError;
pub use sys::{RealSyscalls, Syscalls};
pub use tlb::{BarWindow, CacheMode, NocOrdering, NocTarget, TlbWindow};

use std::path::{Path, PathBuf};

/// Tenstorrent's PCI vendor id.
pub const TENSTORRENT_PCI_VENDOR_ID: u16 = 0x1e52;
/// PCI device id of Wormhole (tt-umd `device/api/umd/device/pcie/pci_ids.h`).
pub const WORMHOLE_PCI_DEVICE_ID: u16 = 0x401e;
/// PCI device id of Blackhole (tt-umd `device/api/umd/device/pcie/pci_ids.h`).
pub const BLACKHOLE_PCI_DEVICE_ID: u16 = 0xb140;

/// The directory tt-kmd creates its device files in.
pub const DEV_DIR: &str = "/dev/tenstorrent";

/// The architecture name of a PCI device id: "wormhole_b0" or "blackhole".
pub fn arch_name(device_id: u16) -> Option<&'static str> {
    match device_id {
        WORMHOLE_PCI_DEVICE_ID => Some("wormhole_b0"),
        BLACKHOLE_PCI_DEVICE_ID => Some("blackhole"),
        _ => None,
    }
}

const MIB: u64 = 1 << 20;

/// The TLB window sizes a card offers through ALLOCATE_TLB (tt-umd
/// `device/tt_kmd_lib/tt_kmd_lib.c`: Wormhole 156 x 1 MiB, 10 x 2 MiB, 20 x 16 MiB;
/// Blackhole 202 x 2 MiB, 8 x 4 GiB). tt-kmd keeps the last window of the last
/// Wormhole class and the last 2 MiB Blackhole window for itself (`KERNEL_TLB_INDEX`), and
/// exposes only as many 4 GiB windows as BAR4 holds; `tt_soc::Arch::tlb_classes` has the
/// counts user space gets. Empty for an unknown device id.
pub fn tlb_sizes(device_id: u16) -> &'static [u64] {
    match device_id {
        WORMHOLE_PCI_DEVICE_ID => &[MIB, 2 * MIB, 16 * MIB],
        BLACKHOLE_PCI_DEVICE_ID => &[2 * MIB, 4096 * MIB],
        _ => &[],
    }
}

/// The `/dev/tenstorrent/N` files that exist, sorted by N. Empty when the driver is not
/// loaded or the directory cannot be read.
pub fn enumerate() -> Vec<PathBuf> {
    enumerate_in(Path::new(DEV_DIR))
}

/// [`enumerate`] over another directory: entries whose name is a decimal number, sorted
/// numerically (so 10 comes after 9).
pub fn enumerate_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?;
            // Only plain decimal names: `parse` alone would also take "+1".
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: u32 = name.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    found.sort_by_key(|(n, _)| *n);
    found.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests;
