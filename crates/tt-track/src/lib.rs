//! Exact memory accounting for tt-runtime.
//!
//! A [`Tracker`] counts every placement and release of this process into its own ledger
//! segment, a small shared-memory file in the ledger directory, locked with a POSIX record
//! lock for the life of the process. [`read_ledger`] is what monitors call: it sums the
//! segments of live processes (liveness by the kernel's lock table, never by pid polling)
//! and removes the segments of dead ones. A release always carries the sizes recorded at
//! placement, because the [`AllocRecord`] returned by a placement is the only way to
//! release (its drop) and cannot be forged or cloned.
//!
//! # What is counted
//!
//! Every placement records two figures per memory kind ([`tt_accounting::MemKind`]):
//! *used* (reserved) bytes, every byte the placement removed from the chip's free pools
//! (padding, and the banks or cores a lockstep allocator reserves without filling, included),
//! and *payload* bytes, what its owner asked for. Kinds are disjoint, so every total is a
//! sum of kinds; free is capacity minus used. L1 is also kept per core, Tensix and Ethernet
//! apart, and the process holding a chip publishes its allocator's free space, largest
//! allocatable block and free-block count per bank type.

mod clock;
mod counting;
mod devices;
mod error;
mod global;
mod ledger;
mod liveness;
mod observer;
mod procinfo;
mod reader;
mod record;
pub mod segment;
mod session;
mod tracker;
mod view;

#[cfg(test)]
mod tests;

pub use devices::{DeviceCapacity, DeviceInfo, DeviceSlot};
pub use error::{FreeBytes, TrackError};
pub use global::{
    default_ledger_dir, global, ledger_dirs_to_read, read_default_ledger, tracking_enabled_by_env,
    LEDGER_DIR_ENV, TRACKING_ENV,
};
pub use observer::{CapturedEvent, EventOp, GraphCapture, ObserverId, TrackEvent, TrackObserver};
pub use reader::{
    read_ledger, DeviceTotals, KindTotals, LedgerSnapshot, SkippedSegment, UntrackedHolder,
};
pub use record::{AllocId, AllocRecord};
pub use session::SessionPlacer;
pub use tracker::Tracker;
pub use view::{
    ledger_clock_ns, CoreSpread, CoreUsage, DeviceView, IntegrityCounts, KindUsage, LedgerEvent,
    LedgerOp, LiveRecord, ProcessView,
};

/// Entry points for the fuzz targets in fuzz/ (built with `--cfg fuzzing` only).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// Reads a foreign segment file as the ledger reader does (pread copy, then decode).
    pub fn read_segment_file(
        file: &std::fs::File,
    ) -> Result<crate::view::ProcessView, crate::error::TrackError> {
        let path = std::path::Path::new("<fuzz>");
        let copied = crate::segment::copy::CopiedSegment::read(file, path)?;
        Ok(crate::view::decode_parts(copied.parts(), 1, None, false))
    }
}
