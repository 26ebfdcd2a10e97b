//! Only the session allocates: the device session's own placer, and the refusals of every
//! other way to place on a chip a session holds.
//!
//! A session ([`Tracker::attach_session`]) marks its slot as held; from then on the tracker's
//! generic placement seam (what a standalone `tt_alloc::Allocator` uses) refuses that chip,
//! and once the session's bring-up is over ([`SessionPlacer::finish_bring_up`]) nobody places
//! SYSTEM or RESERVED there. The marks are process private (the slot's writer state), so
//! checking them costs the hot path no syscall, lock or allocation.

use std::sync::atomic::Ordering;

use tt_accounting::{
    BankHealth, MemKind, Placement, PlacementGuard, PlacementRefused, PlacementTracker,
};
use tt_soc::ChipUid;

use crate::counting::{IntegrityError, NO_SESSION, SESSION_BRINGING_UP, SESSION_RUNNING};
use crate::devices::DeviceSlot;
use crate::error::TrackError;
use crate::tracker::Tracker;

/// The placement seam of a device session: records on the session's own slot, the only
/// placer a held chip accepts. Cheap to clone.
#[derive(Clone)]
pub struct SessionPlacer {
    tracker: Tracker,
    slot: DeviceSlot,
}

impl SessionPlacer {
    /// The session's slot.
    pub fn slot(&self) -> DeviceSlot {
        self.slot
    }

    /// Ends the bring-up: from now on SYSTEM and RESERVED placements on the chip are refused
    /// (and counted), whoever asks.
    pub fn finish_bring_up(&self) {
        self.tracker.set_session(self.slot, SESSION_BRINGING_UP, SESSION_RUNNING);
    }

    /// Records counted in the session's slot and not yet released (0 with tracking off):
    /// the session's own and any raw record made through its slot.
    pub fn records_alive(&self) -> u64 {
        self.tracker.slot_records_alive(self.slot)
    }
}

impl PlacementTracker for SessionPlacer {
    fn placed(
        &self,
        placement: &Placement<'_>,
    ) -> Result<Box<dyn PlacementGuard>, PlacementRefused> {
        let record = self.tracker.record(self.slot, placement);
        record.map(|r| Box::new(r) as Box<dyn PlacementGuard>).map_err(refused)
    }

    fn allocator_health(&self, device: ChipUid, health: &BankHealth) {
        self.tracker.publish_health(device, health);
    }
}

fn refused(error: TrackError) -> PlacementRefused {
    PlacementRefused { reason: error.to_string() }
}

impl PlacementTracker for Tracker {
    fn placed(
        &self,
        placement: &Placement<'_>,
    ) -> Result<Box<dyn PlacementGuard>, PlacementRefused> {
        let slot = self.unsessioned_slot(placement.device, "a placement").map_err(refused)?;
        let record = self.record(slot, placement).map_err(refused)?;
        Ok(Box::new(record))
    }

    fn allocator_attached(&self, device: ChipUid) -> Result<(), PlacementRefused> {
        self.unsessioned_slot(device, "a second allocator").map(|_| ()).map_err(refused)
    }

    fn allocator_health(&self, device: ChipUid, health: &BankHealth) {
        self.publish_health(device, health);
    }
}

impl Tracker {
    /// Marks `slot`'s chip as held by a device session (in its bring-up) and returns the
    /// session's placer. Refused (and counted) when a session already holds it.
    pub fn attach_session(&self, slot: DeviceSlot) -> Result<SessionPlacer, TrackError> {
        // A slot of another tracker, a closed one or an inherited one is refused as a
        // placement on it would be; with tracking off there is nothing to mark.
        if let Some((ledger, index)) = self.open_slot(slot)? {
            let session = &ledger.writers[index].session;
            let ordering = Ordering::Relaxed;
            if session
                .compare_exchange(NO_SESSION, SESSION_BRINGING_UP, ordering, ordering)
                .is_err()
            {
                self.count_on_chip(slot.uid(), IntegrityError::SessionRefusal);
                return Err(TrackError::HeldBySession {
                    uid: slot.uid(),
                    what: "a second session",
                });
            }
        }
        Ok(SessionPlacer { tracker: self.clone(), slot })
    }

    /// Moves `slot`'s session mark from `from` to `to` (nothing when tracking is off, the
    /// slot is no longer open here, or its mark is not `from`).
    fn set_session(&self, slot: DeviceSlot, from: u8, to: u8) {
        if let Ok(Some((ledger, index))) = self.open_slot(slot) {
            let session = &ledger.writers[index].session;
            let _ = session.compare_exchange(from, to, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn slot_records_alive(&self, slot: DeviceSlot) -> u64 {
        match self.open_slot(slot) {
            Ok(Some((ledger, index))) => ledger.writers[index].records_alive(),
            _ => 0,
        }
    }

    /// The slot for a placement (or an allocator) that comes through the generic seam rather
    /// than a session: refused, and counted, for a chip this tracker never opened and for one
    /// a session holds.
    fn unsessioned_slot(&self, uid: ChipUid, what: &'static str) -> Result<DeviceSlot, TrackError> {
        if !self.is_enabled() {
            // Nothing is counted, so nothing can be double booked in the ledger.
            return self.register_uncounted(uid);
        }
        let Some(slot) = self.device_slot(uid) else {
            self.count_on_chip(uid, IntegrityError::ForeignPlacement);
            return Err(TrackError::UnregisteredDevice { uid });
        };
        let held = self.open_slot(slot).ok().flatten().is_some_and(|(ledger, index)| {
            ledger.writers[index].session.load(Ordering::Relaxed) != NO_SESSION
        });
        if held {
            self.count_on_chip(uid, IntegrityError::SessionRefusal);
            return Err(TrackError::HeldBySession { uid, what });
        }
        Ok(slot)
    }

    /// Refuses (and counts) a SYSTEM or RESERVED placement on slot `index` once a session's
    /// bring-up there is over. Called only for those kinds, so other placements pay nothing.
    #[cold]
    pub(crate) fn check_session_kind(
        &self,
        ledger: &crate::ledger::Ledger,
        index: usize,
        uid: ChipUid,
        kind: MemKind,
    ) -> Result<(), TrackError> {
        let (writer, device) = (&ledger.writers[index], &ledger.layout().devices[index]);
        if writer.session.load(Ordering::Relaxed) == SESSION_RUNNING {
            crate::counting::count_integrity_error(writer, device, IntegrityError::SessionRefusal);
            return Err(TrackError::SessionOnlyKind { uid, kind });
        }
        Ok(())
    }
}
