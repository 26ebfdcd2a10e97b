//! The in-process tracker: device registration and the hot path that counts placements and
//! releases into this process's segment.

use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tt_alloc::tracker::{BankSpan, MemKind};
use tt_soc::{Arch, ChipUid};

use crate::counting::{count_place, count_release, count_unknown_release, DeviceWriter};
use crate::error::TrackError;
use crate::observer::{EventOp, ObserverId, Observers, TrackEvent, TrackObserver};
use crate::procinfo::{current_process, ProcessIdentity};
use crate::record::{next_alloc_id, AllocRecord, NO_TABLE_ENTRY, UNCOUNTED_SLOT};
use crate::segment::layout::{
    prefix_within, store_bytes, DeviceRecord, SegmentLayout, ARCH_BYTES, MAX_DEVICES, SLOT_CLOSED,
    SLOT_EMPTY, SLOT_OPEN,
};
use crate::segment::writer::SegmentMemory;
use crate::view::{decode_process, ProcessView};

/// Capacity figures of a device, supplied by whoever opens it, so that monitors can show
/// usage against capacity without opening the device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceCapacity {
    /// DRAM bytes.
    pub dram_bytes: u64,
    /// L1 bytes over all usable cores.
    pub l1_bytes_total: u64,
    /// L1 bytes of one core.
    pub l1_bytes_per_core: u64,
    /// Usable (unharvested) Tensix cores.
    pub core_count: u64,
}

/// A device's slot in one tracker's ledger, returned by [`Tracker::register_device`] and
/// passed to every placement on that device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceSlot {
    uid: ChipUid,
    index: u8,
    tracker_serial: u32,
}

impl DeviceSlot {
    /// The chip this slot counts for.
    pub fn uid(self) -> ChipUid {
        self.uid
    }

    /// Position of the slot in the segment.
    pub fn index(self) -> usize {
        usize::from(self.index)
    }
}

static NEXT_TRACKER_SERIAL: AtomicU32 = AtomicU32::new(1);

/// Counts every placement and release of this process into its ledger segment. Cheap to
/// clone (clones share the segment).
#[derive(Clone)]
pub struct Tracker {
    inner: Arc<TrackerInner>,
}

struct TrackerInner {
    serial: u32,
    /// `None` when tracking is off.
    memory: Option<Arc<SegmentMemory>>,
    identity: ProcessIdentity,
    observers: Observers,
    /// One writer lock per device slot; never one shared across devices.
    writers: [DeviceWriter; MAX_DEVICES],
    /// Serialises registration; never taken on the hot path.
    registration: Mutex<()>,
}

impl Tracker {
    fn with_memory(memory: Option<Arc<SegmentMemory>>, identity: ProcessIdentity) -> Tracker {
        Tracker {
            inner: Arc::new(TrackerInner {
                serial: NEXT_TRACKER_SERIAL.fetch_add(1, Ordering::Relaxed),
                memory,
                identity,
                observers: Observers::default(),
                writers: Default::default(),
                registration: Mutex::new(()),
            }),
        }
    }

    /// A tracker whose segment is published in `dir` (created with mode 0700 if missing),
    /// visible to readers in other processes for as long as the tracker lives.
    pub fn with_ledger_dir(dir: impl AsRef<Path>) -> Result<Tracker, TrackError> {
        let identity = current_process();
        let memory = SegmentMemory::publish_in(dir.as_ref(), &identity)?;
        Ok(Tracker::with_memory(Some(memory), identity))
    }

    /// A tracker that counts in private memory: [`Tracker::snapshot`] works, no other
    /// process sees it. Used when the ledger directory is unusable.
    pub fn in_memory() -> Result<Tracker, TrackError> {
        let identity = current_process();
        let memory =
            SegmentMemory::anonymous(&identity).map_err(|source| TrackError::SegmentCreate {
                path: PathBuf::from("<anonymous memory>"),
                step: "map",
                source,
            })?;
        Ok(Tracker::with_memory(Some(memory), identity))
    }

    /// A tracker that counts nothing (`TT_TRACKING=off`); observers still see events.
    pub fn disabled() -> Tracker {
        Tracker::with_memory(None, current_process())
    }

    /// True when placements are counted.
    pub fn is_enabled(&self) -> bool {
        self.inner.memory.is_some()
    }

    /// The published segment file, if this tracker has one.
    pub fn segment_path(&self) -> Option<&Path> {
        self.inner.memory.as_deref().and_then(SegmentMemory::path)
    }

    /// Gives `uid` a device slot (the same slot again if it was registered before, reopened
    /// if it had been closed), recording its architecture and capacity for monitors.
    pub fn register_device(
        &self,
        uid: ChipUid,
        arch: Arch,
        capacity: DeviceCapacity,
    ) -> Result<DeviceSlot, TrackError> {
        self.register_named(uid, arch.name(), capacity)
    }

    fn register_named(
        &self,
        uid: ChipUid,
        arch_name: &str,
        capacity: DeviceCapacity,
    ) -> Result<DeviceSlot, TrackError> {
        let serial = self.inner.serial;
        let Some(layout) = self.layout() else {
            return Ok(DeviceSlot { uid, index: UNCOUNTED_SLOT, tracker_serial: serial });
        };
        let _registering = self.inner.registration.lock();
        let existing = layout.devices.iter().position(|d| {
            d.state.load(Ordering::Acquire) != SLOT_EMPTY
                && d.chip_uid.load(Ordering::Relaxed) == uid.0
        });
        let index = match existing {
            Some(index) => index,
            None => layout
                .devices
                .iter()
                .position(|d| d.state.load(Ordering::Relaxed) == SLOT_EMPTY)
                .ok_or(TrackError::TooManyDevices { uid, max: MAX_DEVICES })?,
        };
        let device = &layout.devices[index];
        device.chip_uid.store(uid.0, Ordering::Relaxed);
        store_bytes(&device.arch, prefix_within(arch_name, ARCH_BYTES).as_bytes());
        device.dram_bytes.store(capacity.dram_bytes, Ordering::Relaxed);
        device.l1_bytes_total.store(capacity.l1_bytes_total, Ordering::Relaxed);
        device.l1_bytes_per_core.store(capacity.l1_bytes_per_core, Ordering::Relaxed);
        device.core_count.store(capacity.core_count, Ordering::Relaxed);
        device.state.store(SLOT_OPEN, Ordering::Release);
        // MAX_DEVICES is 16, so every slot index fits in a u8.
        let index = u8::try_from(index).unwrap_or(UNCOUNTED_SLOT);
        Ok(DeviceSlot { uid, index, tracker_serial: serial })
    }

    /// The slot of a registered device.
    pub fn device_slot(&self, uid: ChipUid) -> Option<DeviceSlot> {
        let layout = self.layout()?;
        let index = layout.devices.iter().position(|d| {
            d.state.load(Ordering::Acquire) != SLOT_EMPTY
                && d.chip_uid.load(Ordering::Relaxed) == uid.0
        })?;
        let index = u8::try_from(index).ok()?;
        Some(DeviceSlot { uid, index, tracker_serial: self.inner.serial })
    }

    /// Marks the device closed. Its counters stay: bytes still placed remain visible (as
    /// leaks) until their records are released, and a later registration of the same chip
    /// continues from them, so totals stay right across close and reopen.
    pub fn unregister_device(&self, slot: DeviceSlot) -> Result<(), TrackError> {
        if slot.tracker_serial != self.inner.serial {
            return Err(TrackError::ForeignDeviceSlot { uid: slot.uid });
        }
        let Some(device) = self.layout().and_then(|l| l.devices.get(slot.index())) else {
            return Ok(());
        };
        let _registering = self.inner.registration.lock();
        device.state.store(SLOT_CLOSED, Ordering::Release);
        let live_bytes = device_current_bytes(device);
        if live_bytes > 0 {
            tracing::warn!(device = %slot.uid, live_bytes, "device closed with bytes still placed");
        }
        Ok(())
    }

    /// Records a placement of `spans` bytes of `kind` on `device` and returns the record
    /// the owning handle keeps until it calls [`Tracker::record_release`].
    #[inline]
    pub fn record_place(
        &self,
        device: DeviceSlot,
        kind: MemKind,
        spans: &[BankSpan],
        owner: &str,
        provenance: &'static Location<'static>,
    ) -> AllocRecord {
        let bytes = spans.iter().fold(0u64, |sum, span| sum.saturating_add(span.size));
        let id = next_alloc_id();
        let (slot, table_entry) = match self.layout() {
            None => (UNCOUNTED_SLOT, NO_TABLE_ENTRY),
            Some(layout)
                if device.tracker_serial == self.inner.serial
                    && usize::from(device.index) < MAX_DEVICES =>
            {
                let slot = usize::from(device.index);
                let writer = &self.inner.writers[slot];
                let entry = count_place(layout, writer, slot, kind, bytes, id, owner, provenance);
                (device.index, entry)
            }
            Some(layout) => {
                layout.header.unattributed_integrity_errors.fetch_add(1, Ordering::Relaxed);
                (UNCOUNTED_SLOT, NO_TABLE_ENTRY)
            }
        };
        // Built in one go so it is written once into the caller's slot.
        let record = AllocRecord {
            id,
            device: device.uid,
            bytes,
            tracker_serial: self.inner.serial,
            table_entry,
            slot,
            kind,
        };
        if self.inner.observers.active() {
            self.notify(EventOp::Place, &record, spans, Some(owner), Some(provenance));
        }
        record
    }

    /// Records the release of `record` with the bytes it carries. A record this tracker
    /// did not issue, or one already released, is counted as an integrity error on its
    /// device and changes no totals.
    #[inline]
    pub fn record_release(&self, record: AllocRecord) {
        let op = match self.layout() {
            _ if record.slot == UNCOUNTED_SLOT => EventOp::Release,
            None => EventOp::Release,
            Some(layout) if record.tracker_serial != self.inner.serial => {
                self.count_unknown_release(layout, record.device);
                EventOp::UnknownRelease
            }
            Some(layout) => {
                let writer = &self.inner.writers[usize::from(record.slot) % MAX_DEVICES];
                count_release(layout, writer, &record)
            }
        };
        if self.inner.observers.active() {
            self.notify(op, &record, &[], None, None);
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
    /// segment file, which would drop the lock). `None` when tracking is off.
    pub fn snapshot(&self) -> Option<ProcessView> {
        let memory = self.inner.memory.as_deref()?;
        let identity = &self.inner.identity;
        Some(decode_process(
            memory.layout(),
            identity.pid,
            memory.path().map(Path::to_path_buf),
            true,
        ))
    }

    /// The segment to count into; none when tracking is off, or in a child forked after the
    /// segment was made (the parent stays its only writer).
    #[inline]
    fn layout(&self) -> Option<&SegmentLayout> {
        self.inner
            .memory
            .as_deref()
            .filter(|m| m.belongs_to_this_process())
            .map(SegmentMemory::layout)
    }

    fn count_unknown_release(&self, layout: &SegmentLayout, uid: ChipUid) {
        let device = layout.devices.iter().zip(self.inner.writers.iter()).find(|(d, _)| {
            d.state.load(Ordering::Acquire) != SLOT_EMPTY
                && d.chip_uid.load(Ordering::Relaxed) == uid.0
        });
        match device {
            Some((device, writer)) => count_unknown_release(writer, device),
            None => {
                layout.header.unattributed_integrity_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    #[cold]
    fn notify(
        &self,
        op: EventOp,
        record: &AllocRecord,
        spans: &[BankSpan],
        owner: Option<&str>,
        provenance: Option<&'static Location<'static>>,
    ) {
        self.inner.observers.notify(&TrackEvent {
            at: Instant::now(),
            op,
            device: record.device,
            kind: record.kind,
            id: record.id,
            bytes: record.bytes,
            spans,
            owner,
            provenance,
        });
    }

    /// Registers `uid` under an unknown architecture when a placement names a device that
    /// was never registered, so its bytes are still counted.
    pub(crate) fn slot_for_placement(&self, uid: ChipUid) -> Option<DeviceSlot> {
        if let Some(slot) = self.device_slot(uid) {
            return Some(slot);
        }
        if !self.is_enabled() {
            return Some(DeviceSlot {
                uid,
                index: UNCOUNTED_SLOT,
                tracker_serial: self.inner.serial,
            });
        }
        tracing::warn!(device = %uid, "placement on a device that was never registered; counting it with unknown capacity");
        self.register_named(uid, "unknown", DeviceCapacity::default()).ok()
    }

    /// Builds a record as if this tracker had issued it; lets tests release what the API
    /// makes impossible to release (a second time, or never placed).
    #[cfg(test)]
    pub(crate) fn forge_record(
        &self,
        slot: DeviceSlot,
        kind: MemKind,
        id: u64,
        bytes: u64,
        table_entry: u32,
    ) -> AllocRecord {
        AllocRecord {
            id: crate::record::AllocId::from_raw(id),
            device: slot.uid,
            bytes,
            tracker_serial: self.inner.serial,
            table_entry,
            slot: slot.index,
            kind,
        }
    }

    /// Overwrites the pid the header claims, as a lying writer would.
    #[cfg(test)]
    pub(crate) fn forge_claimed_pid(&self, pid: u64) {
        if let Some(layout) = self.layout() {
            layout.header.claimed_pid.store(pid, Ordering::Relaxed);
        }
    }
}

/// Current bytes of a device over all kinds, from the shared counters.
pub(crate) fn device_current_bytes(device: &DeviceRecord) -> u64 {
    device
        .kinds
        .iter()
        .map(|k| {
            let released = k.released_bytes.load(Ordering::Acquire);
            k.placed_bytes.load(Ordering::Acquire).saturating_sub(released)
        })
        .fold(0, u64::saturating_add)
}
