//! In-process observers of tracking events, in the manner of tt-metal's GraphTracker
//! processors: tests and tools subscribe and see every placement, release and integrity
//! error with a timestamp.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use tt_accounting::{BankSpan, MemKind};
use tt_soc::ChipUid;

use crate::record::AllocId;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOp {
    /// Bytes were placed.
    Place,
    /// Bytes were released with the sizes recorded at placement.
    Release,
    /// A release named an allocation that was already released.
    DoubleRelease,
}

/// One tracking event as observers see it.
#[derive(Debug, Clone, Copy)]
pub struct TrackEvent<'a> {
    /// When the tracker recorded it.
    pub at: Instant,
    /// What happened.
    pub op: EventOp,
    /// The chip.
    pub device: ChipUid,
    /// The memory kind.
    pub kind: MemKind,
    /// The allocation.
    pub id: AllocId,
    /// Reserved bytes placed or released.
    pub bytes: u64,
    /// Payload bytes placed or released.
    pub payload_bytes: u64,
    /// Per-bank payload (placements only; empty otherwise).
    pub spans: &'a [BankSpan],
    /// The owner (placements only).
    pub owner: Option<&'a str>,
    /// Where the placement was asked for (placements only).
    pub provenance: Option<&'static Location<'static>>,
}

/// Receives events synchronously on the thread that recorded them; keep it quick.
pub trait TrackObserver: Send + Sync {
    /// Called once per event.
    fn on_event(&self, event: &TrackEvent<'_>);
}

/// Names a subscription so it can be ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObserverId(u64);

/// The observer list of one tracker. The hot path reads one relaxed flag when nobody
/// listens.
#[derive(Default)]
pub(crate) struct Observers {
    any: AtomicBool,
    next_id: AtomicU64,
    list: RwLock<Vec<(ObserverId, Arc<dyn TrackObserver>)>>,
}

impl Observers {
    pub(crate) fn subscribe(&self, observer: Arc<dyn TrackObserver>) -> ObserverId {
        let id = ObserverId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let mut list = self.list.write();
        list.push((id, observer));
        self.any.store(true, Ordering::Relaxed);
        id
    }

    pub(crate) fn unsubscribe(&self, id: ObserverId) -> bool {
        let mut list = self.list.write();
        let before = list.len();
        list.retain(|(i, _)| *i != id);
        self.any.store(!list.is_empty(), Ordering::Relaxed);
        list.len() != before
    }

    #[inline]
    pub(crate) fn active(&self) -> bool {
        self.any.load(Ordering::Relaxed)
    }

    #[cold]
    pub(crate) fn notify(&self, event: &TrackEvent<'_>) {
        for (_, observer) in self.list.read().iter() {
            observer.on_event(event);
        }
    }
}

/// One event as kept by a [`GraphCapture`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedEvent {
    /// Nanoseconds since the capture began.
    pub elapsed_ns: u64,
    /// What happened.
    pub op: EventOp,
    /// The chip.
    pub device: ChipUid,
    /// The memory kind.
    pub kind: MemKind,
    /// The allocation.
    pub id: AllocId,
    /// Reserved bytes placed or released.
    pub bytes: u64,
    /// Payload bytes placed or released.
    pub payload_bytes: u64,
    /// The owner (placements only).
    pub owner: Option<String>,
    /// `file:line` of the placement (placements only).
    pub provenance: Option<String>,
}

/// An observer that keeps every event in order: a graph-capture style trace.
pub struct GraphCapture {
    began: Instant,
    events: Mutex<Vec<CapturedEvent>>,
}

impl GraphCapture {
    /// An empty capture whose clock starts now.
    pub fn new() -> GraphCapture {
        GraphCapture { began: Instant::now(), events: Mutex::new(Vec::new()) }
    }

    /// The events captured so far, in recording order.
    pub fn events(&self) -> Vec<CapturedEvent> {
        self.events.lock().clone()
    }

    /// Ids placed during the capture and not released in it.
    pub fn unreleased(&self) -> Vec<AllocId> {
        let events = self.events.lock();
        let mut live: Vec<AllocId> = Vec::new();
        for event in events.iter() {
            match event.op {
                EventOp::Place => live.push(event.id),
                EventOp::Release => live.retain(|id| *id != event.id),
                EventOp::DoubleRelease => {}
            }
        }
        live
    }
}

impl Default for GraphCapture {
    fn default() -> Self {
        GraphCapture::new()
    }
}

impl TrackObserver for GraphCapture {
    fn on_event(&self, event: &TrackEvent<'_>) {
        let elapsed = event.at.saturating_duration_since(self.began);
        let captured = CapturedEvent {
            elapsed_ns: u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
            op: event.op,
            device: event.device,
            kind: event.kind,
            id: event.id,
            bytes: event.bytes,
            payload_bytes: event.payload_bytes,
            owner: event.owner.map(str::to_owned),
            provenance: event.provenance.map(|l| format!("{}:{}", l.file(), l.line())),
        };
        self.events.lock().push(captured);
    }
}
