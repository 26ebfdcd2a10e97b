//! The allocator seam: tt-alloc and the program loader hand placements to a
//! [`PlacementTracker`]; the guard they keep releases with the sizes captured here.

use tt_alloc::tracker::{Placement, PlacementGuard, PlacementTracker};

use crate::record::AllocRecord;
use crate::tracker::Tracker;

/// Keeps a placement's record; dropping it records the release.
struct TrackedPlacement {
    tracker: Tracker,
    record: Option<AllocRecord>,
}

impl PlacementGuard for TrackedPlacement {}

impl Drop for TrackedPlacement {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            self.tracker.record_release(record);
        }
    }
}

impl PlacementTracker for Tracker {
    fn placed(&self, placement: &Placement<'_>) -> Box<dyn PlacementGuard> {
        let record = self.slot_for_placement(placement.device).map(|slot| {
            self.record_place(
                slot,
                placement.kind,
                placement.spans,
                placement.owner,
                placement.provenance,
            )
        });
        Box::new(TrackedPlacement { tracker: self.clone(), record })
    }
}
