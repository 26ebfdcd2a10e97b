//! Exact memory accounting for tt-runtime.
//!
//! A [`Tracker`] counts every placement and release of this process into its own ledger
//! segment, a small shared-memory file in the ledger directory, locked with a POSIX record
//! lock for the life of the process. [`read_ledger`] is what monitors call: it sums the
//! segments of live processes (liveness by the kernel's lock table, never by pid polling)
//! and removes the segments of dead ones. A release always carries the size recorded at
//! placement, because the [`AllocRecord`] returned by a placement is the only way to
//! release and cannot be forged or cloned.

mod counting;
mod error;
mod global;
mod guard;
mod liveness;
mod observer;
mod procinfo;
mod reader;
mod record;
pub mod segment;
mod tracker;
mod view;

#[cfg(test)]
mod tests;

pub use error::TrackError;
pub use global::{
    default_ledger_dir, global, tracking_enabled_by_env, LEDGER_DIR_ENV, TRACKING_ENV,
};
pub use observer::{CapturedEvent, EventOp, GraphCapture, ObserverId, TrackEvent, TrackObserver};
pub use reader::{read_ledger, DeviceTotals, KindTotals, LedgerSnapshot, SkippedSegment};
pub use record::{AllocId, AllocRecord};
pub use tracker::{DeviceCapacity, DeviceSlot, Tracker};
pub use tt_alloc::tracker::{BankSpan, MemKind};
pub use view::{
    DeviceView, IntegrityCounts, KindUsage, LedgerEvent, LedgerOp, LiveRecord, ProcessView,
};
