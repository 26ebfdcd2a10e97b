//! Chips held by a process that publishes no ledger for them (tracking off, a process of
//! another stack): found from the simulated chips' files (the chip lock's holder) and, for
//! cards, from tt-kmd's list of the processes with the device open, and shown as "held by pid
//! N, untracked", never as an idle chip.

use std::path::Path;

use tt_track::{LedgerSnapshot, UntrackedHolder};

use crate::text::shown;

/// Fills `snapshot.untracked_holders` from the simulated chips in `$TT_SIM_DIR` (or the
/// default simulator directory): every chip whose lock is held by a process that has no open
/// device for it in the ledger. An unreadable simulator directory is logged and skipped.
pub fn find_untracked(snapshot: &mut LedgerSnapshot) {
    find_untracked_sim(snapshot);
    let cards = card_holders_in(Path::new(TT_KMD_PROCFS), snapshot);
    snapshot.untracked_holders.extend(cards);
}

fn find_untracked_sim(snapshot: &mut LedgerSnapshot) {
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
        if is_tracked(snapshot, pid, chip.chip_uid) {
            continue;
        }
        snapshot.untracked_holders.push(UntrackedHolder {
            uid: Some(chip.chip_uid),
            arch: chip.arch.name().to_owned(),
            spec: chip.kind.spec(chip.sim_id),
            location: chip.path,
            pid,
            command: command_of(pid),
        });
    }
}

/// tt-kmd's procfs directory: one folder per card (`<ordinal>/pids`), created in tt-kmd's
/// module.c (`proc_mkdir("driver/tenstorrent")`) and chardev.c (`proc_create_single_data(
/// "pids", ...)`).
pub const TT_KMD_PROCFS: &str = "/proc/driver/tenstorrent";

/// The processes holding card `<ordinal>` open that no ledger counts it for, from
/// `<root>/<ordinal>/pids`: tt-kmd's `pids_proc_show` (enumerate.c) prints the pid of each
/// open descriptor's opener, one per line. A process whose ledger has the card open
/// (`/dev/tenstorrent/<ordinal>`) is tracked and left out.
pub fn card_holders_in(root: &Path, snapshot: &LedgerSnapshot) -> Vec<UntrackedHolder> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut cards: Vec<u32> =
        entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    cards.sort_unstable();
    let mut holders = Vec::new();
    for ordinal in cards {
        let spec = format!("/dev/tenstorrent/{ordinal}");
        let Ok(text) = std::fs::read_to_string(root.join(ordinal.to_string()).join("pids")) else {
            continue;
        };
        let mut pids: Vec<u32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        pids.sort_unstable();
        pids.dedup();
        // The chip id, when some ledger names the card.
        let named = snapshot.devices.iter().find(|d| d.spec == spec);
        for pid in pids {
            let tracked = snapshot
                .processes
                .iter()
                .any(|p| p.pid == pid && p.devices.iter().any(|d| d.open && d.spec == spec));
            if tracked {
                continue;
            }
            holders.push(UntrackedHolder {
                uid: named.map(|d| d.uid),
                arch: named.map_or_else(|| "unknown".to_owned(), |d| d.arch.clone()),
                spec: spec.clone(),
                location: root.join(ordinal.to_string()),
                pid,
                command: command_of(pid),
            });
        }
    }
    holders
}

/// True when process `pid` counts chip `uid` (open) in a ledger of `snapshot`.
pub fn is_tracked(snapshot: &LedgerSnapshot, pid: u32, uid: tt_soc::ChipUid) -> bool {
    snapshot.processes.iter().any(|p| p.pid == pid && p.device(uid).is_some_and(|d| d.open))
}

/// The command name of `pid`, escaped and bounded; empty when it cannot be read.
pub fn command_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| shown(c.trim_end()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_snapshot() -> LedgerSnapshot {
        tt_track::read_ledger(Path::new("/nonexistent/tt-ledger")).unwrap()
    }

    #[test]
    fn a_cards_open_descriptors_are_its_untracked_holders_once_each() {
        let root = tempfile::tempdir().unwrap();
        let me = std::process::id();
        for (card, pids) in [("0", format!("{me}\n{me}\n4194000\n")), ("1", String::new())] {
            std::fs::create_dir(root.path().join(card)).unwrap();
            std::fs::write(root.path().join(card).join("pids"), pids).unwrap();
        }
        std::fs::write(root.path().join("not-a-card"), "").unwrap();
        let holders = card_holders_in(root.path(), &empty_snapshot());
        let seen: Vec<_> = holders.iter().map(|h| (h.spec.as_str(), h.pid, h.uid)).collect();
        assert_eq!(
            seen,
            [("/dev/tenstorrent/0", me, None), ("/dev/tenstorrent/0", 4_194_000, None)]
        );
        assert!(!holders[0].command.is_empty(), "our own command is readable");
        assert_eq!(holders[1].command, "", "a pid that is gone has no command");
        assert_eq!(holders[0].arch, "unknown");
        // No tt-kmd (no such directory): no holders, no error.
        assert!(card_holders_in(&root.path().join("missing"), &empty_snapshot()).is_empty());
    }
}
