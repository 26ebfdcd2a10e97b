//! The placement seam: tt-alloc and the program loader hand placements to a
//! [`PlacementTracker`]; the guard they keep is the [`AllocRecord`], whose drop releases with
//! the sizes captured here.

use tt_accounting::{BankHealth, Placement, PlacementGuard, PlacementRefused, PlacementTracker};
use tt_soc::ChipUid;

use crate::tracker::Tracker;

impl PlacementTracker for Tracker {
    fn placed(
        &self,
        placement: &Placement<'_>,
    ) -> Result<Box<dyn PlacementGuard>, PlacementRefused> {
        let refused = |error: crate::TrackError| PlacementRefused { reason: error.to_string() };
        let slot = self.slot_for_placement(placement.device).map_err(refused)?;
        let record = self.record(slot, placement).map_err(refused)?;
        Ok(Box::new(record))
    }

    fn allocator_health(&self, device: ChipUid, health: &BankHealth) {
        self.publish_health(device, health);
    }
}
