use std::path::PathBuf;

use tt_soc::NocCoord;

/// Errors from building, loading and running programs.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    /// A kernel ELF file could not be read.
    #[error("cannot read kernel {path}: {source}")]
    ReadKernel {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A kernel ELF is malformed or unusable; names the file and the reason.
    #[error("kernel {name} is not a usable RV32 kernel: {reason}")]
    BadKernel {
        /// The file or kernel name.
        name: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A core a kernel, circular buffer or semaphore was placed on is not a usable core.
    #[error("{what} names core {core}, which is not a usable Tensix core of {device}")]
    BadCore {
        /// What named the core.
        what: String,
        /// The core.
        core: NocCoord,
        /// The device.
        device: String,
    },
    /// Two kernels of one program on the same core and processor.
    #[error("kernels `{first}` and `{second}` both run on processor {processor} of core {core}; give each a different processor")]
    ProcessorClash {
        /// The first kernel.
        first: String,
        /// The second kernel.
        second: String,
        /// The processor index.
        processor: u8,
        /// The core.
        core: NocCoord,
    },
    /// A program description that cannot be loaded.
    #[error("program `{program}`: {reason}")]
    Invalid {
        /// The program name.
        program: String,
        /// What is wrong.
        reason: String,
    },
    /// Placement failed (out of L1 or kernel-region space).
    #[error("loading program `{program}`: {source}")]
    Alloc {
        /// The program name.
        program: String,
        /// The allocator's error (names the bank type, sizes and what to do).
        source: tt_alloc::AllocError,
    },
    /// A device access failed.
    #[error(transparent)]
    Device(#[from] tt_device::DeviceError),
    /// The ledger refused the device.
    #[error(transparent)]
    Track(#[from] tt_track::TrackError),
    /// Closing a runtime while handles still hold memory on it.
    #[error("cannot close {device}: {live} handle(s) still hold it ({handles}); drop them first")]
    StillInUse {
        /// The device.
        device: String,
        /// Handles still alive.
        live: usize,
        /// What they are.
        handles: String,
    },
    /// A session inherited from the parent process used in a forked child.
    #[error(
        "the session on {device} was opened by the parent process; a child forked from it \
         must not use the parent's chip. Open a device of its own in the child"
    )]
    InheritedAcrossFork {
        /// The device.
        device: String,
    },
    /// A workload's result, checked on the host, is wrong.
    #[error("workload `{workload}` computed a wrong result: {detail}")]
    WrongResult {
        /// The workload.
        workload: String,
        /// The first difference found.
        detail: String,
    },
    /// A kernel stopped with an error or a nonzero exit code.
    #[error("kernel `{kernel}` on core {core} processor {processor} {what}")]
    KernelFailed {
        /// The kernel name.
        kernel: String,
        /// The core.
        core: NocCoord,
        /// The processor.
        processor: u8,
        /// What happened (cause and pc, or exit code).
        what: String,
    },
}
