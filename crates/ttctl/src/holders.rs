//! Chips held by a process that publishes no ledger for them (tracking off, a process of
//! another stack): found from the simulated chips' files (the chip lock's holder) and shown
//! as "held by pid N, untracked", never as an idle chip.
//!
//! On a card the holders would come from tt-kmd's per-device list of open handles in procfs;
//! that list is not read yet, so an untracked holder of a card is not shown.

use tt_track::{LedgerSnapshot, UntrackedHolder};

use crate::text::shown;

/// Fills `snapshot.untracked_holders` from the simulated chips in `$TT_SIM_DIR` (or the
/// default simulator directory): every chip whose lock is held by a process that has no open
/// device for it in the ledger. An unreadable simulator directory is logged and skipped.
pub fn find_untracked(snapshot: &mut LedgerSnapshot) {
    let dir = tt_sim::default_sim_dir();
    let chips = match tt_sim::list_chips(&dir) {
        Ok(chips) => chips,
        Err(error) => {
            tracing::debug!(dir = %dir.display(), %error, "no simulated chips to look at");
            return;
        }
    };
    for chip in chips {
        let Some(pid) = chip.holder.and_then(|pid| u32::try_from(pid).ok()) else { continue };
        let tracked = snapshot
            .processes
            .iter()
            .any(|p| p.pid == pid && p.device(chip.chip_uid).is_some_and(|d| d.open));
        if tracked {
            continue;
        }
        let command = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|c| shown(c.trim_end()))
            .unwrap_or_default();
        snapshot.untracked_holders.push(UntrackedHolder {
            uid: chip.chip_uid,
            arch: chip.arch.name().to_owned(),
            spec: chip.kind.spec(chip.sim_id),
            location: chip.path,
            pid,
            command,
        });
    }
}
