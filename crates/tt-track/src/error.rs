//! The one error type of tt-track.

use std::io;
use std::path::PathBuf;

use tt_privdir::DirError;
use tt_soc::ChipUid;

/// Everything that can go wrong while tracking or reading the ledger.
#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    /// The ledger directory could not be created or used.
    #[error(
        "cannot use ledger directory {path}: {source}; point TT_LEDGER_DIR at a writable \
         directory you own, or set TT_TRACKING=off"
    )]
    LedgerDir {
        /// The directory asked for.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The ledger directory exists but belongs to another user or is not a directory.
    #[error(
        "ledger directory {path} is unsafe to use: {found}; remove it or point TT_LEDGER_DIR \
         elsewhere"
    )]
    UnsafeLedgerDir {
        /// The directory asked for.
        path: PathBuf,
        /// What was found instead of a private directory.
        found: String,
    },
    /// The directory listing of the ledger failed.
    #[error("cannot list ledger directory {path}: {source}; check it exists and is readable")]
    ListLedger {
        /// The directory asked for.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// Creating, sizing, mapping or publishing this process's segment failed.
    #[error(
        "cannot create ledger segment {path} while {step}: {source}; check free space in the \
         ledger directory or set TT_TRACKING=off"
    )]
    SegmentCreate {
        /// The segment file.
        path: PathBuf,
        /// Which step failed (create, reserve, lock, map, rename).
        step: &'static str,
        /// What the system said.
        source: io::Error,
    },
    /// The ledger directory's file system has no room for a segment (its pages are reserved
    /// before any store, so a full tmpfs is this error and never SIGBUS).
    #[error(
        "no room for a ledger segment in {dir}: it needs {needed} bytes and {free} are free \
         there; free space in it, point TT_LEDGER_DIR at another directory, or set \
         TT_TRACKING=off"
    )]
    NoSpace {
        /// The ledger directory.
        dir: PathBuf,
        /// Bytes one segment needs.
        needed: u64,
        /// Bytes free there (`unknown` when the system does not say).
        free: FreeBytes,
    },
    /// All device slots of the segment are taken.
    #[error(
        "cannot register device {uid}: all {max} device slots of this process's ledger are \
         taken; close a device first"
    )]
    TooManyDevices {
        /// The chip that asked for a slot.
        uid: ChipUid,
        /// Number of slots a segment has.
        max: usize,
    },
    /// A device slot handle from another tracker was passed in.
    #[error(
        "device slot for {uid} was registered with another tracker; register the device with \
         this tracker"
    )]
    ForeignDeviceSlot {
        /// The chip named by the slot.
        uid: ChipUid,
    },
    /// A device slot handle of a device since closed (or whose slot now serves another chip).
    #[error(
        "device slot for {uid} no longer names an open device of this ledger (it was closed); \
         open the device again and use the slot that registration returns"
    )]
    ClosedDeviceSlot {
        /// The chip named by the slot.
        uid: ChipUid,
    },
    /// A placement that names another chip than the slot it is recorded on.
    #[error(
        "a placement on chip {placement} was recorded on the slot of chip {slot}; record it on \
         its own chip's slot"
    )]
    WrongDevice {
        /// The chip named by the slot.
        slot: ChipUid,
        /// The chip named by the placement.
        placement: ChipUid,
    },
    /// A device slot (or a handle holding one) inherited from the parent process across fork.
    #[error(
        "the device slot for {uid} was inherited from the parent process across fork(); the \
         chip and its ledger are the parent's. Open a device of its own in the child"
    )]
    InheritedAcrossFork {
        /// The chip named by the slot.
        uid: ChipUid,
    },
    /// A placement (or an allocator) for a chip no device session of this process opened.
    #[error(
        "a placement on chip {uid} was asked for, but no device session of this process opened \
         that chip (this tracker has no open registration of it); open it with \
         tt_program::Runtime and place through its allocator, or register it with \
         Tracker::register_device first"
    )]
    UnregisteredDevice {
        /// The chip the placement named.
        uid: ChipUid,
    },
    /// A second allocator, or a placement from outside the session, on a chip a device
    /// session of this process holds.
    #[error(
        "{what} on chip {uid} was asked for, but a device session of this process holds that \
         chip and only its allocator places there (a second one would hand out its addresses \
         again); place through that session's Runtime::allocator()"
    )]
    HeldBySession {
        /// The chip.
        uid: ChipUid,
        /// What was asked for (`a second allocator`, `a placement`, `a second session`).
        what: &'static str,
    },
    /// User code asked to place a kind only the device session's bring-up places.
    #[error(
        "a {kind} placement on chip {uid} was asked for after the device session's bring-up; \
         SYSTEM and RESERVED are placed only by the session when it opens the chip: give the \
         buffer a user kind (DRAM, L1, L1_SMALL, TRACE)"
    )]
    SessionOnlyKind {
        /// The chip.
        uid: ChipUid,
        /// The kind asked for.
        kind: tt_accounting::MemKind,
    },
    /// A registration that would change the identity of a chip registered and open.
    #[error(
        "chip {uid} is registered and open as {held_arch} with {held_dram} B of DRAM, and a \
         registration asked to make it {asked_arch} with {asked_dram} B of DRAM (or other \
         capacity figures); a registered chip's identity cannot change: close the device \
         first, or check that the uid names the chip you meant"
    )]
    IdentityChange {
        /// The chip.
        uid: ChipUid,
        /// The architecture registered.
        held_arch: String,
        /// DRAM bytes registered.
        held_dram: u64,
        /// The architecture asked for.
        asked_arch: String,
        /// DRAM bytes asked for.
        asked_dram: u64,
    },
    /// A chip with more cores than the ledger's per-core figures cover.
    #[error(
        "cannot register device {uid}: it has {tensix} Tensix and {ethernet} Ethernet cores, \
         the ledger covers at most {max_tensix} and {max_ethernet}; check the SoC descriptor"
    )]
    TooManyCores {
        /// The chip.
        uid: ChipUid,
        /// Its Tensix cores.
        tensix: u64,
        /// Its Ethernet cores.
        ethernet: u64,
        /// Tensix cores a segment covers.
        max_tensix: usize,
        /// Ethernet cores a segment covers.
        max_ethernet: usize,
    },
    /// A segment file could not be opened, inspected or mapped.
    #[error("cannot read ledger segment {path}: {source}; it is skipped")]
    SegmentIo {
        /// The segment file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A segment file is empty.
    #[error("ledger segment {path} is empty (0 bytes); it is skipped")]
    EmptySegment {
        /// The segment file.
        path: PathBuf,
    },
    /// A segment file is shorter than its layout requires.
    #[error(
        "ledger segment {path} is truncated: {found} bytes, the layout needs {needed}; it is \
         skipped"
    )]
    TruncatedSegment {
        /// The segment file.
        path: PathBuf,
        /// Its size in bytes.
        found: u64,
        /// The size its header (or the layout) requires.
        needed: u64,
    },
    /// A segment file does not start with the ledger magic.
    #[error(
        "ledger segment {path} is not a tt-track segment (magic {found:#018x}); it is skipped, \
         remove it if nothing should write there"
    )]
    BadMagic {
        /// The segment file.
        path: PathBuf,
        /// The first eight bytes, little-endian.
        found: u64,
    },
    /// A segment written with a schema this reader does not know.
    #[error(
        "ledger segment {path} has schema version {found}, this reader understands only \
         version {supported}; it is skipped: use a ttctl built from the same release as the \
         writer"
    )]
    UnsupportedVersion {
        /// The segment file.
        path: PathBuf,
        /// The version in its header.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A segment header whose fields contradict the layout.
    #[error("ledger segment {path} is corrupt: {what}; it is skipped")]
    CorruptSegment {
        /// The segment file.
        path: PathBuf,
        /// Which field was wrong and how.
        what: String,
    },
}

impl From<DirError> for TrackError {
    fn from(error: DirError) -> Self {
        match error {
            DirError::Unsafe { path, found } => TrackError::UnsafeLedgerDir { path, found },
            DirError::Io { path, source, .. } => TrackError::LedgerDir { path, source },
        }
    }
}

/// Free bytes of a file system, for messages; `unknown` when the system did not say.
#[derive(Debug, Clone, Copy)]
pub struct FreeBytes(pub Option<u64>);

impl std::fmt::Display for FreeBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(free) => write!(f, "{free} bytes"),
            None => f.write_str("an unknown number of bytes"),
        }
    }
}
