//! The in-process tracker: which ledger this process counts into, and the hot path that
//! counts placements and releases there.

use std::panic::{AssertUnwindSafe, Location};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tt_accounting::{BankClass, BankSpan, MemKind, Placement, Reservation};
use tt_soc::ChipUid;

use crate::clock::placement_stamp_ns;
use crate::counting::{
    count_integrity_error, count_place, count_release, session_only, Counted, IntegrityError,
    Listing, Released,
};
use crate::devices::DeviceSlot;
use crate::error::TrackError;
use crate::ledger::{AnchoredLedger, Ledger, LedgerRef, Mode};
use crate::observer::{EventOp, ObserverId, Observers, TrackEvent, TrackObserver};
use crate::record::{next_alloc_id, AllocRecord, CoreShare, RecordOwner, NO_TABLE_ENTRY};
use crate::segment::copy::CopiedSegment;
use crate::segment::layout::{DeviceRecord, SegmentLayout, SLOT_OPEN};
use crate::view::{decode_parts, ProcessView};

static NEXT_TRACKER_SERIAL: AtomicU32 = AtomicU32::new(1);

/// Every counting tracker of this process, by serial, so a misuse with another tracker's
/// slot can be counted on the device it names, where monitors show a chip's errors. Touched
/// only when a tracker is made and on a misuse, never on the hot path.
static TRACKERS: Mutex<Vec<(u32, std::sync::Weak<TrackerInner>)>> = Mutex::new(Vec::new());

/// Counts every placement and release of this process into its ledger segment. Cheap to
/// clone (clones share the segment).
#[derive(Clone)]
pub struct Tracker {
    inner: Arc<TrackerInner>,
}

struct TrackerInner {
    serial: u32,
    mode: Mode,
    /// `None` when tracking is off.
    own: Option<AnchoredLedger>,
    /// The ledger of a child forked from the process that made `own`, made the first time
    /// the child registers a device or places memory.
    forked: Mutex<Option<Arc<AnchoredLedger>>>,
    observers: Arc<Observers>,
}

impl Tracker {
    fn with_mode(mode: Mode) -> Result<Tracker, TrackError> {
        let observers = Arc::new(Observers::default());
        let own = Ledger::create(&mode)?.map(|l| AnchoredLedger::new(l, &observers));
        let inner = Arc::new(TrackerInner {
            serial: NEXT_TRACKER_SERIAL.fetch_add(1, Ordering::Relaxed),
            mode,
            own,
            forked: Mutex::new(None),
            observers,
        });
        let mut trackers = TRACKERS.lock();
        trackers.retain(|(_, weak)| weak.strong_count() > 0);
        trackers.push((inner.serial, Arc::downgrade(&inner)));
        drop(trackers);
        Ok(Tracker { inner })
    }

    /// Counts a misuse of `slot` (a slot of another tracker of this process) on the device
    /// of the tracker that issued it; false when that tracker is gone or the slot no longer
    /// names an open device of its ledger.
    #[cold]
    fn count_on_issuer(slot: DeviceSlot, error: IntegrityError) -> bool {
        let issuer = TRACKERS
            .lock()
            .iter()
            .find(|(serial, _)| *serial == slot.tracker_serial)
            .and_then(|(_, weak)| weak.upgrade());
        let Some(issuer) = issuer.map(|inner| Tracker { inner }) else { return false };
        match issuer.open_slot(slot) {
            Ok(Some((ledger, index))) => {
                let device = &ledger.layout().devices[index];
                count_integrity_error(&ledger.writers[index], device, error);
                true
            }
            _ => false,
        }
    }

    /// A tracker whose segment is published in `dir` (created with mode 0700 if missing),
    /// visible to readers in other processes for as long as the tracker lives.
    pub fn with_ledger_dir(dir: impl AsRef<Path>) -> Result<Tracker, TrackError> {
        Tracker::with_mode(Mode::Published(dir.as_ref().to_owned()))
    }

    /// A tracker that counts in private memory: [`Tracker::snapshot`] works, no other
    /// process sees it. Used when the ledger directory is unusable.
    pub fn in_memory() -> Result<Tracker, TrackError> {
        Tracker::with_mode(Mode::InMemory)
    }

    /// A tracker that counts nothing (`TT_TRACKING=off`); observers still see events.
    pub fn disabled() -> Tracker {
        Tracker {
            inner: Arc::new(TrackerInner {
                serial: NEXT_TRACKER_SERIAL.fetch_add(1, Ordering::Relaxed),
                mode: Mode::Disabled,
                own: None,
                forked: Mutex::new(None),
                observers: Arc::new(Observers::default()),
            }),
        }
    }

    /// True when placements are counted.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.inner.mode, Mode::Disabled)
    }

    /// The published segment file this process counts into, if any.
    pub fn segment_path(&self) -> Option<PathBuf> {
        let ledger = self.ledger().ok()??;
        ledger.memory.path().map(Path::to_path_buf)
    }

    pub(crate) fn serial(&self) -> u32 {
        self.inner.serial
    }

    /// The ledger of the calling process; `None` when tracking is off.
    #[inline]
    pub(crate) fn ledger(&self) -> Result<Option<LedgerRef<'_>>, TrackError> {
        match &self.inner.own {
            None => Ok(None),
            Some(own) if own.memory.belongs_to_this_process() => Ok(Some(LedgerRef::Own(own))),
            Some(_) => self.forked_ledger().map(|l| l.map(LedgerRef::Forked)),
        }
    }

    /// A forked child's own ledger, made on first use.
    #[cold]
    fn forked_ledger(&self) -> Result<Option<Arc<AnchoredLedger>>, TrackError> {
        let mut forked = self.inner.forked.lock();
        if let Some(ledger) = forked.as_ref().filter(|l| l.memory.belongs_to_this_process()) {
            return Ok(Some(Arc::clone(ledger)));
        }
        let ledger = Ledger::create(&self.inner.mode)?
            .map(|l| Arc::new(AnchoredLedger::new(l, &self.inner.observers)));
        tracing::debug!("forked child: counting into a ledger segment of its own");
        forked.clone_from(&ledger);
        Ok(ledger)
    }

    /// Records `placement` on the device of `slot` and returns the record whose drop
    /// releases it. Refused (and counted as an integrity error) when the slot belongs to
    /// another tracker, to a device since closed, to another chip than the placement names,
    /// or to the parent of this forked child.
    #[inline]
    pub fn record(
        &self,
        slot: DeviceSlot,
        placement: &Placement<'_>,
    ) -> Result<AllocRecord, TrackError> {
        let id = next_alloc_id();
        let reserved = placement.reserved_bytes();
        let payload = placement.payload_bytes();
        let Some(ledger) = self.ledger()? else {
            let observers = &self.inner.observers;
            let record = AllocRecord {
                owner: RecordOwner::Uncounted(observers.active().then(|| Arc::clone(observers))),
                id,
                device: placement.device,
                kind: placement.kind,
                class: placement.class,
                table_entry: NO_TABLE_ENTRY,
                reserved,
                payload,
                share: CoreShare::None,
            };
            notify_place(observers, &record, placement);
            return Ok(record);
        };
        let index = self.check_slot(&ledger, slot, placement.device)?;
        if session_only(placement.kind) {
            self.check_session_kind(&ledger, index, placement.device, placement.kind)?;
        }
        let layout = ledger.layout();
        let device = &layout.devices[index];
        let share = core_share(device, placement);
        let at_ns = placement_stamp_ns();
        let counted = Counted {
            kind: placement.kind,
            class: placement.class,
            id,
            reserved,
            payload,
            share: &share,
            at_ns,
        };
        let (first_bank, banks) = bank_extent(placement);
        let listing = Listing {
            owner: placement.owner,
            provenance: placement.provenance,
            address: placement.address().unwrap_or(0),
            first_bank,
            banks,
        };
        let table_entry =
            count_place(&ledger.memory, &ledger.writers[index], index, &counted, &listing);
        // From here the record owns the counted bytes: if an observer unwinds, dropping the
        // record releases them, so nothing stays counted without an owner.
        let record = AllocRecord {
            owner: RecordOwner::Counted(ledger.anchor(index)),
            id,
            device: placement.device,
            kind: placement.kind,
            class: placement.class,
            table_entry,
            reserved,
            payload,
            share,
        };
        notify_place(&self.inner.observers, &record, placement);
        Ok(record)
    }

    /// [`Tracker::record`] for bytes that reserve exactly their payload: `spans` of `kind`
    /// (banks of DRAM for DRAM and TRACE, Tensix cores otherwise).
    #[inline]
    pub fn record_place(
        &self,
        slot: DeviceSlot,
        kind: MemKind,
        spans: &[BankSpan],
        owner: &str,
        provenance: &'static Location<'static>,
    ) -> Result<AllocRecord, TrackError> {
        let class = if kind.is_l1() { BankClass::Tensix } else { BankClass::Dram };
        let placement = Placement {
            device: slot.uid(),
            kind,
            class,
            spans,
            reserved: Reservation::Payload,
            owner,
            provenance,
        };
        self.record(slot, &placement)
    }

    /// Checks that `slot` names an open device of this process's ledger for chip `uid`, and
    /// counts the misuse as an integrity error when it does not.
    #[inline]
    fn check_slot(
        &self,
        ledger: &Ledger,
        slot: DeviceSlot,
        uid: ChipUid,
    ) -> Result<usize, TrackError> {
        let layout = ledger.layout();
        let misuse = |error: IntegrityError, refusal: TrackError| {
            self.count_misuse(ledger, slot.uid(), error);
            Err(refusal)
        };
        if slot.tracker_serial != self.inner.serial {
            let refusal = TrackError::ForeignDeviceSlot { uid: slot.uid() };
            // On this ledger's device for the chip if it has one, else on the issuer's:
            // either way on the device, where monitors show a chip's errors.
            if find_device(layout, slot.uid()).is_none()
                && Tracker::count_on_issuer(slot, IntegrityError::ForeignPlacement)
            {
                return Err(refusal);
            }
            return misuse(IntegrityError::ForeignPlacement, refusal);
        }
        if !slot.fork.is_current() {
            return misuse(
                IntegrityError::InheritedUse,
                TrackError::InheritedAcrossFork { uid: slot.uid() },
            );
        }
        let index = slot.index();
        let valid = layout.devices.get(index).is_some_and(|device| {
            device.state.load(Ordering::Acquire) == SLOT_OPEN
                && device.generation.load(Ordering::Relaxed) == slot.slot_generation
                && device.chip_uid.load(Ordering::Relaxed) == slot.uid().0
        });
        if !valid {
            return misuse(
                IntegrityError::ForeignPlacement,
                TrackError::ClosedDeviceSlot { uid: slot.uid() },
            );
        }
        if uid != slot.uid() {
            return misuse(
                IntegrityError::ForeignPlacement,
                TrackError::WrongDevice { slot: slot.uid(), placement: uid },
            );
        }
        Ok(index)
    }

    /// Counts a misuse on the device of this process's ledger that holds chip `uid`, else on
    /// the process; nothing when tracking is off.
    #[cold]
    pub(crate) fn count_on_chip(&self, uid: ChipUid, error: IntegrityError) {
        if let Ok(Some(ledger)) = self.ledger() {
            self.count_misuse(&ledger, uid, error);
        }
    }

    /// Counts a misuse on the device of this ledger that holds chip `uid`, else on the
    /// process (a chip this ledger never registered).
    #[cold]
    fn count_misuse(&self, ledger: &Ledger, uid: ChipUid, error: IntegrityError) {
        let layout = ledger.layout();
        let found = find_device(layout, uid);
        match found {
            Some(index) => {
                count_integrity_error(&ledger.writers[index], &layout.devices[index], error)
            }
            None => {
                layout.header.unattributed_integrity_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Subscribes `observer` to every event of this tracker.
    pub fn subscribe(&self, observer: Arc<dyn TrackObserver>) -> ObserverId {
        self.inner.observers.subscribe(observer)
    }

    /// Ends a subscription; false if it had already ended.
    pub fn unsubscribe(&self, id: ObserverId) -> bool {
        self.inner.observers.unsubscribe(id)
    }

    /// This process's view, read through the tracker's own mapping (never by opening the
    /// segment file, which would drop the lock). `None` when tracking is off (or in a forked
    /// child whose ledger cannot be made).
    pub fn snapshot(&self) -> Option<ProcessView> {
        let ledger = self.ledger().ok()??;
        let copied = match CopiedSegment::of_mapping(ledger.layout()) {
            Ok(copied) => copied,
            Err(error) => {
                tracing::warn!(%error, "cannot copy this process's own ledger");
                return None;
            }
        };
        Some(decode_parts(
            copied.parts(),
            ledger.identity.pid,
            ledger.memory.path().map(Path::to_path_buf),
            true,
        ))
    }

    /// Builds a record as if this tracker had issued it on `slot`; lets tests release what
    /// the API makes impossible to release (a second time, or never placed).
    #[cfg(test)]
    pub(crate) fn forge_record(
        &self,
        slot: DeviceSlot,
        kind: MemKind,
        id: u64,
        bytes: u64,
        table_entry: u32,
    ) -> AllocRecord {
        let ledger = self.ledger().ok().flatten().expect("tracking on");
        AllocRecord {
            owner: RecordOwner::Counted(ledger.anchor(slot.index())),
            id: crate::record::AllocId::from_raw(id),
            device: slot.uid(),
            kind,
            class: BankClass::Dram,
            table_entry,
            reserved: bytes,
            payload: bytes,
            share: CoreShare::None,
        }
    }

    /// Overwrites the pid the header claims, as a lying writer would.
    #[cfg(test)]
    pub(crate) fn forge_claimed_pid(&self, pid: u64) {
        if let Ok(Some(ledger)) = self.ledger() {
            ledger.layout().header.claimed_pid.store(pid, Ordering::Relaxed);
        }
    }
}

/// Counts the release of `record` (called by its drop) in the ledger and slot it was
/// counted in, and tells the observers.
#[inline]
pub(crate) fn release(record: &AllocRecord) {
    let anchor_ref = match &record.owner {
        RecordOwner::Uncounted(None) => return,
        RecordOwner::Uncounted(Some(observers)) => {
            notify_release(observers, EventOp::Release, record);
            return;
        }
        RecordOwner::Counted(anchor) => *anchor,
    };
    // Alive: this record is still counted in the anchor's slot.
    let anchor = anchor_ref.get();
    let ledger = &anchor.ledger;
    if !ledger.memory.belongs_to_this_process() {
        // Inherited by a forked child: the placement, and its release, are the parent's.
        return;
    }
    // Taken now: once the release is counted, a tracker dropped on another thread may free
    // the anchor, so nothing of it is used after `count_release`.
    let observers = anchor.observers.active().then(|| Arc::clone(&anchor.observers));
    let index = anchor.index;
    let counted = Counted {
        kind: record.kind,
        class: record.class,
        id: record.id,
        reserved: record.reserved,
        payload: record.payload,
        share: &record.share,
        // Releases are not stamped: a placement's age needs only its own stamp.
        at_ns: 0,
    };
    let released =
        count_release(ledger.layout(), &ledger.writers[index], index, record.table_entry, &counted);
    let op = match released {
        Released::Counted { last } => {
            if last {
                anchor_ref.free();
            }
            EventOp::Release
        }
        Released::DoubleRelease => EventOp::DoubleRelease,
    };
    if let Some(observers) = observers {
        notify_release(&observers, op, record);
    }
}

#[inline]
fn notify_place(observers: &Observers, record: &AllocRecord, placement: &Placement<'_>) {
    if observers.active() {
        let (spans, owner) = (placement.spans, Some(placement.owner));
        notify(observers, EventOp::Place, record, spans, owner, Some(placement.provenance));
    }
}

#[inline]
fn notify_release(observers: &Observers, op: EventOp, record: &AllocRecord) {
    if !observers.active() {
        return;
    }
    if std::thread::panicking() {
        // Released while unwinding (an observer panicked during the placement, say): a
        // second panic here would abort the process, so observers' panics stop here.
        let quiet = std::panic::catch_unwind(AssertUnwindSafe(|| {
            notify(observers, op, record, &[], None, None)
        }));
        if quiet.is_err() {
            tracing::warn!(id = %record.id, "an observer panicked on a release during unwinding");
        }
    } else {
        notify(observers, op, record, &[], None, None);
    }
}

#[cold]
fn notify(
    observers: &Observers,
    op: EventOp,
    record: &AllocRecord,
    spans: &[BankSpan],
    owner: Option<&str>,
    provenance: Option<&'static Location<'static>>,
) {
    observers.notify(&TrackEvent {
        at: Instant::now(),
        op,
        device: record.device,
        kind: record.kind,
        id: record.id,
        bytes: record.reserved,
        payload_bytes: record.payload,
        spans,
        owner,
        provenance,
    });
}

/// The slot of this ledger holding chip `uid` (open or closed), if any.
pub(crate) fn find_device(layout: &SegmentLayout, uid: ChipUid) -> Option<usize> {
    use crate::segment::layout::SLOT_EMPTY;
    layout.devices.iter().position(|d| {
        d.state.load(Ordering::Acquire) != SLOT_EMPTY && d.chip_uid.load(Ordering::Relaxed) == uid.0
    })
}

/// How a placement's reservation spreads over the cores of its class.
#[inline]
fn core_share(device: &DeviceRecord, placement: &Placement<'_>) -> CoreShare {
    let registered = match placement.class {
        BankClass::Dram => return CoreShare::None,
        BankClass::Tensix => device.tensix_cores.load(Ordering::Relaxed),
        BankClass::Ethernet => device.ethernet_cores.load(Ordering::Relaxed),
    };
    match placement.reserved {
        Reservation::EveryBank { per_bank, banks } if u64::from(banks) == registered => {
            CoreShare::EveryCore(per_bank)
        }
        Reservation::EveryBank { per_bank, banks } => {
            CoreShare::FirstCores { per_core: per_bank, cores: banks }
        }
        Reservation::EachSpan { per_span } => {
            CoreShare::Listed(placement.spans.iter().map(|s| (s.bank, per_span)).collect())
        }
        Reservation::Payload => {
            CoreShare::Listed(placement.spans.iter().map(|s| (s.bank, s.size)).collect())
        }
    }
}

/// (first bank, bank count) a placement's reservation covers, for leak listings.
#[inline]
fn bank_extent(placement: &Placement<'_>) -> (u32, u32) {
    match placement.reserved {
        Reservation::EveryBank { banks, .. } => (0, banks),
        Reservation::EachSpan { .. } | Reservation::Payload => {
            let first = placement.spans.iter().map(|s| s.bank).min().unwrap_or(0);
            (first, u32::try_from(placement.spans.len()).unwrap_or(u32::MAX))
        }
    }
}
