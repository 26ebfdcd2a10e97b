use std::path::PathBuf;

use tt_soc::{Arch, NocCoord};

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
    /// The chip file exists but is not a chip of the asked architecture, or is damaged.
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
    /// A launch named a core that has no L1 to run kernels from.
    #[error("cannot launch a kernel on core {core}: it is a {kind} core; kernels run on Tensix and Ethernet cores")]
    NotAKernelCore {
        /// The core asked for.
        core: NocCoord,
        /// What is there.
        kind: tt_soc::CoreKind,
    },
    /// A launch named a processor index the core does not have.
    #[error("cannot launch processor {processor} of core {core}: cores have processors 0 to 4")]
    NoSuchProcessor {
        /// The core.
        core: NocCoord,
        /// The processor index asked for.
        processor: u8,
    },
    /// A launch named the same processor twice.
    #[error("processor {processor} of core {core} appears twice in one launch; name each once")]
    DuplicateLaunch {
        /// The core.
        core: NocCoord,
        /// The processor.
        processor: u8,
    },
    /// The processor's mailbox was not set to `GO_START`.
    #[error("cannot launch processor {processor} of core {core}: its mailbox GO word is {go}, not GO_START (1); write ENTRY and LAUNCH, then GO = GO_START, and do not launch a running kernel twice")]
    NotStarted {
        /// The core.
        core: NocCoord,
        /// The processor.
        processor: u8,
        /// The GO word found.
        go: u32,
    },
    /// A mailbox launch named a core that is out of soft reset, running its own code.
    #[error("core {core} processor {processor} is out of soft reset and runs from its reset pc; the mailbox launch starts only cores held in reset (set its RISCV_DEBUG_REG_SOFT_RESET_0 bit first)")]
    NotInReset {
        /// The core.
        core: NocCoord,
        /// The processor.
        processor: u8,
    },
    /// A worker thread for kernel execution could not be started.
    #[error("cannot start a kernel execution thread: {source}")]
    ExecThread {
        /// The OS error.
        source: std::io::Error,
    },
    /// A kernel execution thread panicked: a simulator bug, not a kernel error.
    #[error("a kernel execution thread failed (a simulator bug; please report it): {message}")]
    ExecWorkerPanicked {
        /// The panic message.
        message: String,
    },
    /// A kernel stopped with an error instead of returning.
    #[error("{message}")]
    KernelFault {
        /// The core.
        core: NocCoord,
        /// The processor.
        processor: u8,
        /// One of `kernel_abi::cause`.
        cause: u32,
        /// pc of the faulting instruction.
        pc: u32,
        /// What happened, naming core, processor, pc and cause.
        message: String,
    },
}
