//! The tt-kmd ioctl ABI of `/dev/tenstorrent/N`: request codes, flag values and the
//! `#[repr(C)]` argument structs, laid out exactly as the driver's `ioctl.h`.
//!
//! Sources (facts only; the code is ours):
//! - `tenstorrent/tt-kmd` `ioctl.h` (commit 0d2a53be41ad40e40749d913ba325971cf7d3888):
//!   ioctls 0..=13, every struct, flag and mapping id.
//! - `tenstorrent/tt-kmd` `test/ioctl_abi.golden` (commit b88735853c3cdb9323542e53c3f203fd23ceda69):
//!   the driver's own locked layout (size of every struct, offset and size of every member),
//!   which adds the explicit `reserved` members that newer headers spell out where older
//!   ones left implicit padding, the 2.x `get_driver_info_out` semver bytes, and
//!   `tenstorrent_set_noc_cleanup` / `tenstorrent_power_state`.
//! - `tenstorrent/tt-umd` `device/pcie/ioctl.h` (commit 1d04b1973649c8717e38d6350f1313ad670e755f,
//!   the copy tt-umd builds against): `SET_NOC_CLEANUP = 14`, `TENSTORRENT_DRIVER_VERSION 2`.
//! - `tenstorrent/tt-kmd` `chardev.c` (current ioctl dispatch): `SET_POWER_STATE = 15`.
//!
//! Every struct here has explicit reserved members instead of padding, which the macro below
//! proves at compile time (size == sum of member sizes), so each one can be handed to the
//! kernel or a fake as plain bytes.

use std::mem::size_of;

/// The ioctl "type" byte shared by every tt-kmd request.
pub const TENSTORRENT_IOCTL_MAGIC: u32 = 0xFA;

/// The ioctl API version of the header this crate mirrors (`TENSTORRENT_DRIVER_VERSION`).
pub const TENSTORRENT_DRIVER_VERSION: u32 = 2;

// Linux `_IOC` encoding: nr in bits 0..8, type in 8..16, size in 16..30, direction above.
// `_IO` has no size and direction "none"; "none" is 0 on the generic encoding (x86, arm,
// riscv) but 1 at bit 29 on powerpc, mips and sparc.
#[cfg(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
))]
const IOC_NONE_BITS: u32 = 1 << 29;
#[cfg(not(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
)))]
const IOC_NONE_BITS: u32 = 0;

/// `_IO(0xFA, nr)`: tt-kmd encodes neither size nor direction in its request codes, so the
/// driver checks sizes through the `output_size_bytes` / `argsz` members instead.
pub const fn tt_io(nr: u32) -> u32 {
    IOC_NONE_BITS | (TENSTORRENT_IOCTL_MAGIC << 8) | (nr & 0xFF)
}

/// `TENSTORRENT_IOCTL_GET_DEVICE_INFO`: PCI ids and location.
pub const IOCTL_GET_DEVICE_INFO: u32 = tt_io(0);
/// `TENSTORRENT_IOCTL_GET_HARVESTING`: reserved; the driver accepts it and does nothing.
pub const IOCTL_GET_HARVESTING: u32 = tt_io(1);
/// `TENSTORRENT_IOCTL_QUERY_MAPPINGS`: the mmap offsets of the BAR mappings.
pub const IOCTL_QUERY_MAPPINGS: u32 = tt_io(2);
/// `TENSTORRENT_IOCTL_ALLOCATE_DMA_BUF`: a driver-allocated coherent DMA buffer.
pub const IOCTL_ALLOCATE_DMA_BUF: u32 = tt_io(3);
/// `TENSTORRENT_IOCTL_FREE_DMA_BUF`: unsupported by the driver (always `EINVAL`).
pub const IOCTL_FREE_DMA_BUF: u32 = tt_io(4);
/// `TENSTORRENT_IOCTL_GET_DRIVER_INFO`: ioctl API version and (2.x) driver semver.
pub const IOCTL_GET_DRIVER_INFO: u32 = tt_io(5);
/// `TENSTORRENT_IOCTL_RESET_DEVICE`: PCIe/ASIC reset and state restore.
pub const IOCTL_RESET_DEVICE: u32 = tt_io(6);
/// `TENSTORRENT_IOCTL_PIN_PAGES`: pin host pages for device DMA.
pub const IOCTL_PIN_PAGES: u32 = tt_io(7);
/// `TENSTORRENT_IOCTL_LOCK_CTL`: acquire, release or test one of the driver's 64 locks.
pub const IOCTL_LOCK_CTL: u32 = tt_io(8);
/// `TENSTORRENT_IOCTL_MAP_PEER_BAR`: map another card's BAR for peer-to-peer DMA.
pub const IOCTL_MAP_PEER_BAR: u32 = tt_io(9);
/// `TENSTORRENT_IOCTL_UNPIN_PAGES`: undo `PIN_PAGES`.
pub const IOCTL_UNPIN_PAGES: u32 = tt_io(10);
/// `TENSTORRENT_IOCTL_ALLOCATE_TLB`: reserve an inbound TLB window (tt-kmd >= 1.34).
pub const IOCTL_ALLOCATE_TLB: u32 = tt_io(11);
/// `TENSTORRENT_IOCTL_FREE_TLB`: release a TLB window; `EBUSY` while it is still mapped.
pub const IOCTL_FREE_TLB: u32 = tt_io(12);
/// `TENSTORRENT_IOCTL_CONFIGURE_TLB`: point a TLB window at a NOC target.
pub const IOCTL_CONFIGURE_TLB: u32 = tt_io(13);
/// `TENSTORRENT_IOCTL_SET_NOC_CLEANUP`: a NOC write the driver performs when the fd closes.
pub const IOCTL_SET_NOC_CLEANUP: u32 = tt_io(14);
/// `TENSTORRENT_IOCTL_SET_POWER_STATE`: this fd's vote for the card's power state.
pub const IOCTL_SET_POWER_STATE: u32 = tt_io(15);

/// `tenstorrent_mapping.mapping_id` values (ids, not array indices).
pub mod mapping_id {
    /// An unused slot in the reply.
    pub const UNUSED: u32 = 0;
    /// BAR0, uncached.
    pub const RESOURCE0_UC: u32 = 1;
    /// BAR0, write-combined.
    pub const RESOURCE0_WC: u32 = 2;
    /// BAR2, uncached.
    pub const RESOURCE1_UC: u32 = 3;
    /// BAR2, write-combined.
    pub const RESOURCE1_WC: u32 = 4;
    /// BAR4, uncached.
    pub const RESOURCE2_UC: u32 = 5;
    /// BAR4, write-combined.
    pub const RESOURCE2_WC: u32 = 6;
}

/// Number of DMA buffer slots per fd (`TENSTORRENT_MAX_DMA_BUFS`).
pub const TENSTORRENT_MAX_DMA_BUFS: u32 = 256;
/// Number of inbound TLB ids the driver tracks (`TENSTORRENT_MAX_INBOUND_TLBS`).
pub const TENSTORRENT_MAX_INBOUND_TLBS: u32 = 256;
/// Number of driver locks (`TENSTORRENT_RESOURCE_LOCK_COUNT`).
pub const TENSTORRENT_RESOURCE_LOCK_COUNT: u32 = 64;

/// `tenstorrent_reset_device_in.flags`: one value, not a bit mask.
pub mod reset_flags {
    /// Restore saved PCI state and re-initialise the hardware (legacy).
    pub const RESTORE_STATE: u32 = 0;
    /// PCIe hot reset of the link, then restore (legacy).
    pub const RESET_PCIE_LINK: u32 = 1;
    /// Config-space write that fires the PCIe timer interrupt (legacy).
    pub const CONFIG_WRITE: u32 = 2;
    /// Mark the device for a user-triggered reset.
    pub const USER_RESET: u32 = 3;
    /// ASIC reset.
    pub const ASIC_RESET: u32 = 4;
    /// ASIC and board-controller (DMC) reset.
    pub const ASIC_DMC_RESET: u32 = 5;
    /// Finish a reset: check the marker and re-initialise.
    pub const POST_RESET: u32 = 6;
}

bitflags::bitflags! {
    /// `tenstorrent_pin_pages_in.flags` (`TENSTORRENT_PIN_PAGES_*` in tt-kmd's ioctl.h).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct PinPagesFlags: u32 {
        /// The caller attests that the pages are physically contiguous.
        const CONTIGUOUS = 1;
        /// Also map the pages for NOC DMA (out struct grows a `noc_address`).
        const NOC_DMA = 2;
        /// Allocate the NOC DMA window top-down.
        const NOC_TOP_DOWN = 4;
    }
}

/// `tenstorrent_allocate_dma_buf_in.flags`: also map the buffer for NOC DMA.
pub const ALLOCATE_DMA_BUF_NOC_DMA: u8 = 2;

/// `tenstorrent_lock_ctl_in.flags` values (`TENSTORRENT_LOCK_CTL_*`): one value, not a mask.
pub mod lock_ctl_flags {
    /// Try to take the lock; `out.value` has [`LockBits::HELD_BY_CALLER`](super::LockBits) set when taken.
    pub const ACQUIRE: u32 = 0;
    /// Release a lock this fd holds; `out.value` has `HELD_BY_CALLER` set when released.
    pub const RELEASE: u32 = 1;
    /// Report who holds the lock in `out.value`.
    pub const TEST: u32 = 2;
}

bitflags::bitflags! {
    /// `tenstorrent_lock_ctl_out.value` (tt-kmd's ioctl.h documents bit 0 and bit 1 for
    /// `TENSTORRENT_LOCK_CTL_TEST`; ACQUIRE and RELEASE report success in bit 0).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct LockBits: u8 {
        /// Bit 0: this descriptor holds the lock (or the ACQUIRE/RELEASE succeeded).
        const HELD_BY_CALLER = 1;
        /// Bit 1: some descriptor holds the lock.
        const HELD_BY_ANYONE = 2;
    }
}

/// Plain old data: every bit pattern is a valid value and there are no padding bytes, so a
/// value can be viewed as bytes and rebuilt from any bytes.
///
/// # Safety
/// Implement only for `#[repr(C)]` types made of integers (or arrays / other `Pod` types)
/// whose size equals the sum of their members' sizes.
pub unsafe trait Pod: Copy + 'static {
    /// The value's bytes in memory order.
    fn as_bytes(&self) -> &[u8] {
        // SAFETY: `Self: Pod` has no padding, so all `size_of::<Self>()` bytes are
        // initialised, and the slice borrows `self` for its whole lifetime.
        unsafe { std::slice::from_raw_parts((self as *const Self).cast::<u8>(), size_of::<Self>()) }
    }

    /// The value's bytes, writable; any bytes written leave a valid value.
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_bytes`, and every bit pattern is a valid `Self`, so writes through
        // the slice cannot produce an invalid value. The borrow is unique.
        unsafe {
            std::slice::from_raw_parts_mut((self as *mut Self).cast::<u8>(), size_of::<Self>())
        }
    }

    /// Reads a value from the start of `bytes`, or `None` when there are too few.
    fn read_from(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < size_of::<Self>() {
            return None;
        }
        // SAFETY: at least `size_of::<Self>()` readable bytes (checked above); any bit pattern
        // is valid for `Self`; `read_unaligned` has no alignment requirement.
        Some(unsafe { bytes.as_ptr().cast::<Self>().read_unaligned() })
    }
}

// SAFETY: primitive integers: no padding, every bit pattern valid.
unsafe impl Pod for u8 {}
// SAFETY: as for u8.
unsafe impl Pod for u16 {}
// SAFETY: as for u8.
unsafe impl Pod for u32 {}
// SAFETY: as for u8.
unsafe impl Pod for u64 {}
// SAFETY: arrays have no padding between elements, and `T: Pod` has none inside.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

/// Declares a `#[repr(C)]` ABI struct, asserts its C size at compile time, proves it has no
/// padding (size == sum of member sizes) and that every member is `Pod`, then marks it `Pod`.
macro_rules! abi_struct {
    ($(#[$meta:meta])* $name:ident = $size:literal { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }
        const _: () = assert!(::std::mem::size_of::<$name>() == $size, "size differs from the C struct");
        const _: () = assert!(
            ::std::mem::size_of::<$name>() == 0 $(+ ::std::mem::size_of::<$ty>())*,
            "struct has padding"
        );
        const _: fn() = || {
            #[allow(dead_code)] // unused for the empty structs
            fn member_is_pod<T: $crate::abi::Pod>() {}
            $(member_is_pod::<$ty>();)*
        };
        // SAFETY: repr(C), every member is Pod (checked above) and there is no padding
        // (size equals the sum of member sizes, asserted above).
        unsafe impl $crate::abi::Pod for $name {}
    };
}

#[path = "abi_structs.rs"]
mod structs;
pub use structs::*;

/// Ties an argument struct to its request code so a call cannot pass the wrong struct.
///
/// # Safety
/// For `REQUEST`, the driver must read and write only within `size_of::<Self>()` bytes of the
/// argument, given the `output_size_bytes` values this crate sets.
pub(crate) unsafe trait IoctlArg: Pod {
    /// The request code.
    const REQUEST: u32;
    /// Name for messages and logs.
    const NAME: &'static str;
}

macro_rules! ioctl_arg {
    ($($ty:ty => $req:expr, $name:literal;)*) => {$(
        // SAFETY: the struct's layout is pinned to the driver's argument struct for this
        // request (see the layout tests), and the driver copies at most sizeof(in) and
        // min(output_size_bytes, sizeof(out)) bytes, with output_size_bytes set to our out size.
        unsafe impl IoctlArg for $ty {
            const REQUEST: u32 = $req;
            const NAME: &'static str = $name;
        }
    )*};
}

ioctl_arg! {
    GetDeviceInfo => IOCTL_GET_DEVICE_INFO, "GET_DEVICE_INFO";
    GetDriverInfo => IOCTL_GET_DRIVER_INFO, "GET_DRIVER_INFO";
    ResetDevice => IOCTL_RESET_DEVICE, "RESET_DEVICE";
    LockCtl => IOCTL_LOCK_CTL, "LOCK_CTL";
    AllocateTlb => IOCTL_ALLOCATE_TLB, "ALLOCATE_TLB";
    FreeTlb => IOCTL_FREE_TLB, "FREE_TLB";
    ConfigureTlb => IOCTL_CONFIGURE_TLB, "CONFIGURE_TLB";
    SetNocCleanup => IOCTL_SET_NOC_CLEANUP, "SET_NOC_CLEANUP";
}

/// Byte offset of the first `Mapping` after the QUERY_MAPPINGS in struct.
pub const QUERY_MAPPINGS_ARRAY_OFFSET: usize = std::mem::offset_of!(QueryMappings, out);

#[cfg(test)]
#[path = "abi_tests.rs"]
mod tests;
