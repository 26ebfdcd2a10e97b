//! The crate's error type: each message names the device, what was asked, what happened and
//! what to do about it.

use std::io;
use std::path::PathBuf;

use crate::device::ResetFlags;

/// Errors from the tt-kmd backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmdError {
    /// The device file does not exist.
    #[error(
        "no {}: is tt-kmd loaded? `modprobe tenstorrent` (then `ls /dev/tenstorrent/`); \
         without a card, open a simulated one instead",
        path.display()
    )]
    NotFound {
        /// The device path asked for.
        path: PathBuf,
    },
    /// The device file exists but this user may not open it.
    #[error(
        "permission denied opening {}: give your user access to the device (tt-kmd's udev rule \
         or the owning group) or run as a user that has it",
        path.display()
    )]
    PermissionDenied {
        /// The device path asked for.
        path: PathBuf,
    },
    /// The driver answered EBUSY.
    #[error("{op} on {} failed: device or resource busy; {hint}", path.display())]
    Busy {
        /// The device path.
        path: PathBuf,
        /// The operation that was refused.
        op: &'static str,
        /// What is probably holding it and what to do.
        hint: &'static str,
    },
    /// The device file could not be opened for another reason.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The device path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The device was removed or reset under an open descriptor (ENODEV).
    #[error("{} is gone ({op} returned ENODEV): the card was removed or reset; open it again", path.display())]
    DeviceGone {
        /// The device path.
        path: PathBuf,
        /// The operation that failed.
        op: &'static str,
    },
    /// An ioctl failed with an error not covered by a more specific variant.
    #[error("{op} on {} failed: {source}", path.display())]
    Ioctl {
        /// The device path.
        path: PathBuf,
        /// The ioctl's name.
        op: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// Every TLB window of the requested size is taken (ENOMEM from ALLOCATE_TLB).
    #[error(
        "no free {size:#x}-byte TLB window left on {}: all are allocated by this or other \
         processes; drop unused TlbWindows, stop other users of the card, or ask for another size",
        path.display()
    )]
    NoTlbLeft {
        /// The device path.
        path: PathBuf,
        /// The requested window size.
        size: u64,
    },
    /// The card has no TLB windows of the requested size.
    #[error("{} ({arch}) has no {size:#x}-byte TLB windows; ask for one of: {supported}", path.display())]
    UnsupportedTlbSize {
        /// The device path.
        path: PathBuf,
        /// The requested window size.
        size: u64,
        /// The card's architecture name.
        arch: &'static str,
        /// The sizes the card has, formatted.
        supported: String,
    },
    /// The loaded driver predates an ioctl this crate needs.
    #[error(
        "the tt-kmd driver behind {} ({found}) does not support {op}; it needs tt-kmd {needed} \
         or newer: install a current tt-kmd and reload it",
        path.display()
    )]
    DriverTooOld {
        /// The device path.
        path: PathBuf,
        /// The ioctl that is missing.
        op: &'static str,
        /// The version the driver reported.
        found: String,
        /// The first version that has the ioctl.
        needed: &'static str,
    },
    /// mmap of a TLB window or BAR failed.
    #[error(
        "mapping {what} of {} ({len:#x} bytes at mmap offset {offset:#x}) failed: {source}",
        path.display()
    )]
    Mmap {
        /// The device path.
        path: PathBuf,
        /// What was being mapped.
        what: &'static str,
        /// Requested length.
        len: u64,
        /// Requested mmap offset.
        offset: u64,
        /// The OS error.
        source: io::Error,
    },
    /// A lock index outside the driver's 64 locks.
    #[error("lock index {index} is out of range: tt-kmd has 64 locks, 0 to 63")]
    InvalidLockIndex {
        /// The index asked for.
        index: u8,
    },
    /// The driver ran the reset but reported that it failed.
    #[error(
        "reset of {} with {flags:?} failed (driver result {result}); the card may need another \
         reset step or a power cycle",
        path.display()
    )]
    ResetFailed {
        /// The device path.
        path: PathBuf,
        /// The reset that was asked for.
        flags: ResetFlags,
        /// The driver's nonzero result.
        result: u32,
    },
    /// A TLB target address that is not a multiple of the window size.
    #[error(
        "NOC address {addr:#x} is not aligned to the {size:#x}-byte TLB window on {}; configure \
         the window at {aligned:#x} and access offset {offset:#x} within it",
        path.display()
    )]
    MisalignedTarget {
        /// The device path.
        path: PathBuf,
        /// The address asked for.
        addr: u64,
        /// The window size.
        size: u64,
        /// `addr` rounded down to the window size.
        aligned: u64,
        /// `addr - aligned`.
        offset: u64,
    },
    /// The driver's reply makes no sense (for example a window too large to map).
    #[error("unexpected reply from {} to {op}: {detail}", path.display())]
    BadReply {
        /// The device path.
        path: PathBuf,
        /// The ioctl.
        op: &'static str,
        /// What was wrong.
        detail: String,
    },
}

impl KmdError {
    /// Maps an errno from `op` on `path` to the most specific variant.
    pub(crate) fn from_io(path: &std::path::Path, op: &'static str, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match source.raw_os_error() {
            Some(libc::EBUSY) => KmdError::Busy {
                path,
                op,
                hint: "another process or a still-mapped window holds it; close the other user or drop the mapping first",
            },
            Some(libc::ENODEV) => KmdError::DeviceGone { path, op },
            _ => KmdError::Ioctl { path, op, source },
        }
    }

    /// Maps an error from opening `path`.
    pub(crate) fn from_open(path: &std::path::Path, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match source.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENXIO) => KmdError::NotFound { path },
            Some(libc::EACCES) | Some(libc::EPERM) => KmdError::PermissionDenied { path },
            Some(libc::EBUSY) => KmdError::Busy {
                path,
                op: "open",
                hint: "the driver refused another opener; find it with `lsof /dev/tenstorrent/*`",
            },
            _ => KmdError::Open { path, source },
        }
    }
}
