use std::path::PathBuf;

use tt_soc::{Arch, NocCoord, TranslatedCoord};

/// Errors from the simulated chip.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Another process holds the chip.
    #[error("device busy: simulated chip {path} is held by pid {pid}; stop that process or use another chip id (sim:<arch>:<id>)")]
    Busy {
        /// The chip file.
        path: PathBuf,
        /// The holder's pid, as it recorded it when it took the chip.
        pid: i32,
    },
    /// This process already has the chip open.
    #[error("device busy: simulated chip {path} is already open in this process (pid {pid}); reuse that Device or open another chip id")]
    BusyInProcess {
        /// The chip file.
        path: PathBuf,
        /// This process's pid.
        pid: i32,
    },
    /// The simulator directory is not a private directory of this user.
    #[error("simulator directory {path} cannot be trusted: it is {found}; remove it (or point TT_SIM_DIR at a directory of yours) and retry")]
    UnsafeSimDir {
        /// The directory.
        path: PathBuf,
        /// What it is instead.
        found: String,
    },
    /// A chip file that is not a regular file of this user (a symlink, a FIFO, a device, or
    /// another user's file): never opened, read or written.
    #[error("simulated chip file {path} is refused: {reason}; remove it and retry")]
    UnsafeChipFile {
        /// The file.
        path: PathBuf,
        /// Why it is refused.
        reason: String,
    },
    /// The simulator directory's file system has no room for the pages a chip needs.
    #[error("no room for a simulated chip in {dir}: it needs {needed} more bytes and {free} are free there; free space in it, point TT_SIM_DIR at another directory, or remove unused chips (`ttctl sim rm`)")]
    NoSpace {
        /// The simulator directory.
        dir: PathBuf,
        /// Bytes that could not be reserved.
        needed: u64,
        /// Bytes free there, when the system says.
        free: String,
    },
    /// A file or directory operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A TLB was programmed with a coordinate that no core has in translated coordinates.
    #[error("no core of the {arch} chip ({grid_x}x{grid_y} NOC0 grid) has {core}; program translated coordinates (tt-umd translate_coord_to TRANSLATED)")]
    NotTranslated {
        /// The coordinate programmed.
        core: TranslatedCoord,
        /// The chip's architecture.
        arch: Arch,
        /// NOC0 grid columns.
        grid_x: u16,
        /// NOC0 grid rows.
        grid_y: u16,
    },
    /// A board chip index beyond the board's chips.
    #[error(
        "board {board} has {count} chip(s); chip {chip} does not exist (chips are numbered from 0)"
    )]
    NoSuchBoardChip {
        /// The board.
        board: tt_soc::BoardPreset,
        /// The chip asked for.
        chip: u8,
        /// How many chips the board has.
        count: usize,
    },
    /// A board preset's harvesting does not apply (a simulator bug).
    #[error("board preset {board} is inconsistent (a simulator bug; please report it): {message}")]
    BadPreset {
        /// The board.
        board: tt_soc::BoardPreset,
        /// What went wrong.
        message: String,
    },
    /// A TLB window was pointed at an ARC address the simulator does not model.
    #[error("the simulator models the ARC tile {core} only at {modelled}; address {addr:#x} is outside them")]
    ArcNotModelled {
        /// The ARC tile.
        core: NocCoord,
        /// The address asked for.
        addr: u64,
        /// The modelled ranges.
        modelled: String,
    },
    /// The chip file exists but is not a chip of the asked kind, or is damaged.
    #[error("simulated chip file {path} is unusable: {reason}; remove it (`ttctl sim rm`) or choose another chip id")]
    BadChipFile {
        /// The chip file.
        path: PathBuf,
        /// What was found.
        reason: String,
    },
    /// No TLB window of the asked size class is free.
    #[error(
        "no free {size:#x}-byte TLB window on {arch}: all {count} are in use; drop a window first"
    )]
    NoTlbWindow {
        /// Architecture.
        arch: Arch,
        /// Requested window size.
        size: u64,
        /// Windows of that size the chip has.
        count: u32,
    },
    /// The window size is not one of the architecture's classes.
    #[error("{arch} has no {size:#x}-byte TLB windows; sizes are {classes}")]
    BadTlbSize {
        /// Architecture.
        arch: Arch,
        /// Requested size.
        size: u64,
        /// The valid sizes.
        classes: String,
    },
    /// A window base must be a multiple of the window size.
    #[error("TLB window base {addr:#x} is not aligned to the {size:#x}-byte window size; align the base down and add an offset")]
    UnalignedWindow {
        /// Requested base address.
        addr: u64,
        /// Window size.
        size: u64,
    },
    /// A coordinate outside the NOC grid.
    #[error("core {core} is outside the {arch} NOC grid of {grid_x}x{grid_y}")]
    OutOfGrid {
        /// The coordinate asked for.
        core: NocCoord,
        /// Architecture.
        arch: Arch,
        /// Grid columns.
        grid_x: u16,
        /// Grid rows.
        grid_y: u16,
    },
    /// The core has no memory the host can address.
    #[error("core {core} is a {kind} core with no host-addressable memory; target a Tensix, Ethernet or DRAM core")]
    NoMemoryAt {
        /// The coordinate asked for.
        core: NocCoord,
        /// What is there.
        kind: tt_soc::CoreKind,
    },
    /// The address is past the end of the core's memory.
    #[error("address {addr:#x} is past the end of {core}'s {size:#x}-byte memory")]
    AddressOutOfRange {
        /// The core.
        core: NocCoord,
        /// The address asked for.
        addr: u64,
        /// Size of the core's memory.
        size: u64,
    },
    /// A mapping system call failed.
    #[error("mapping {what} failed: {source}")]
    Map {
        /// What was being mapped.
        what: &'static str,
        /// The OS error.
        source: nix::Error,
    },
    /// A worker thread for kernel execution could not be started.
    #[error("cannot start a kernel execution thread: {source}")]
    ExecThread {
        /// The OS error.
        source: std::io::Error,
    },
}

impl From<tt_privdir::DirError> for SimError {
    fn from(error: tt_privdir::DirError) -> Self {
        use tt_privdir::{DirError, DirStep};
        match error {
            DirError::Unsafe { path, found } => SimError::UnsafeSimDir { path, found },
            DirError::Io { path, step, source } => SimError::Io {
                what: match step {
                    DirStep::Create => "cannot create simulator directory",
                    DirStep::Open => "cannot open simulator directory",
                    DirStep::Stat => "cannot stat simulator directory",
                },
                path,
                source,
            },
        }
    }
}
