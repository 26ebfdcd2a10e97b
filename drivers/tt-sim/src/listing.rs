//! Finding simulated chips on disk without opening (and so without taking) them.

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use tt_soc::{Arch, BoardPreset, ChipUid};

use crate::{SimError, SimKind};
use tt_privdir::{check_owned_regular, PrivateDir};

/// A simulated chip file found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimChipInfo {
    /// The chip file.
    pub path: PathBuf,
    /// Its architecture.
    pub arch: Arch,
    /// A bare chip or which chip of which board.
    pub kind: SimKind,
    /// Its simulator id.
    pub sim_id: u32,
    /// Its unique id.
    pub chip_uid: ChipUid,
    /// The process holding it open, if any (as it recorded itself when it took the chip).
    pub holder: Option<i32>,
    /// Bytes of memory the file really uses (pages written so far).
    pub resident_bytes: u64,
}

/// Parses `<arch>-<id>.chip` and `<board>-<id>-<chip>.chip`.
fn parse_name(name: &str) -> Option<(SimKind, u32)> {
    let stem = name.strip_suffix(".chip")?;
    let parts: Vec<&str> = stem.split('-').collect();
    match parts.as_slice() {
        [arch, id] => Some((SimKind::Bare(arch.parse().ok()?), id.parse().ok()?)),
        [board, id, chip] => {
            let preset: BoardPreset = board.parse().ok()?;
            // Only the canonical spelling names a file.
            (preset.name() == *board).then_some(())?;
            Some((SimKind::Board { preset, chip: chip.parse().ok()? }, id.parse().ok()?))
        }
        _ => None,
    }
}

/// Lists the chip files in `dir` (empty when the directory does not exist), sorted by
/// architecture and id. Files whose names are not chip names are skipped, and so is every
/// entry that is not a regular file of this user (a symlink, a FIFO, another user's file):
/// it is never opened, so it can neither block the listing nor lie in it. A directory that
/// is not a private directory of this user is refused.
pub fn list_chips(dir: &Path) -> Result<Vec<SimChipInfo>, SimError> {
    let Some(sim_dir) = PrivateDir::open_existing(dir, "simulator directory")? else {
        return Ok(Vec::new());
    };
    let entries = sim_dir.entries().map_err(|source| SimError::Io {
        what: "cannot list simulator directory",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut chips = Vec::new();
    for name in entries {
        let Some((kind, sim_id)) = name.to_str().and_then(parse_name) else { continue };
        let path = sim_dir.join(&name);
        // stat first (no open of a FIFO or device at all), then check the opened file again.
        let checked = sim_dir
            .stat(&name)
            .and_then(|stat| check_owned_regular(&stat))
            .and_then(|()| sim_dir.open_owned_file(&name, false));
        let file = match checked {
            Ok(file) => file,
            Err(reason) => {
                tracing::warn!(path = %path.display(), %reason, "skipping simulated chip entry");
                continue;
            }
        };
        let Some(chip_uid) = crate::chip::recorded_uid(&file, kind) else {
            tracing::warn!(path = %path.display(), "skipping simulated chip file without a valid id");
            continue;
        };
        let resident_bytes = file.metadata().map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.blocks() * 512
        });
        chips.push(SimChipInfo {
            holder: holder_of(&file),
            path,
            arch: kind.arch(),
            kind,
            sim_id,
            chip_uid,
            resident_bytes: resident_bytes.unwrap_or(0),
        });
    }
    chips.sort_by_key(|c| (c.kind, c.sim_id));
    Ok(chips)
}

/// True when no one holds the chip lock of `file`.
pub(crate) fn holder_lock_free(file: &File) -> bool {
    let mut flock = crate::chip::whole_file_write_lock();
    nix::fcntl::fcntl(file.as_raw_fd(), nix::fcntl::FcntlArg::F_OFD_GETLK(&mut flock)).is_ok()
        && flock.l_type == libc::F_UNLCK as libc::c_short
}

/// The pid holding the chip's lock, or `None` when it is free. Asks the kernel (F_OFD_GETLK)
/// whether the lock is held, then reads the pid the holder recorded in the header.
fn holder_of(file: &File) -> Option<i32> {
    let mut flock = crate::chip::whole_file_write_lock();
    nix::fcntl::fcntl(file.as_raw_fd(), nix::fcntl::FcntlArg::F_OFD_GETLK(&mut flock)).ok()?;
    if flock.l_type == libc::F_UNLCK as libc::c_short {
        return None;
    }
    let mut pid = [0u8; 4];
    file.read_exact_at(&mut pid, crate::chip::OFF_HOLDER_PID).ok()?;
    Some(i32::from_le_bytes(pid))
}

/// Removes the chip file of `kind`/`sim_id` in `dir`, refusing while a process holds it. Only
/// a regular file of this user is opened to ask; anything else under the name (a symlink, a
/// FIFO, another user's file) is refused, never followed, opened or removed.
pub fn remove_chip(dir: &Path, kind: SimKind, sim_id: u32) -> Result<PathBuf, SimError> {
    let name = OsString::from(kind.file_name(sim_id));
    let missing = |path: PathBuf| SimError::Io {
        what: "no simulated chip file",
        path,
        source: std::io::ErrorKind::NotFound.into(),
    };
    let Some(sim_dir) = PrivateDir::open_existing(dir, "simulator directory")? else {
        return Err(missing(dir.join(&name)));
    };
    let path = sim_dir.join(&name);
    let refused = |reason: String| SimError::UnsafeChipFile { path: path.clone(), reason };
    let stat = match sim_dir.stat(&name) {
        Ok(stat) => stat,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing(path)),
        Err(source) => return Err(SimError::Io { what: "cannot stat", path, source }),
    };
    check_owned_regular(&stat).map_err(|e| refused(e.to_string()))?;
    let file = sim_dir.open_owned_file(&name, false).map_err(|e| refused(e.to_string()))?;
    if let Some(pid) = holder_of(&file) {
        return Err(SimError::Busy { path, pid });
    }
    sim_dir.remove(&name).map_err(|source| SimError::Io {
        what: "cannot remove",
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimChip;

    #[test]
    fn lists_chips_with_their_holders_and_removes_free_ones() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list_chips(&dir.path().join("missing")).unwrap().is_empty());
        let held = SimChip::open_in(dir.path(), Arch::Blackhole, 2).unwrap();
        drop(SimChip::open_in(dir.path(), Arch::WormholeB0, 5).unwrap());
        drop(SimChip::open_board_in(dir.path(), BoardPreset::N300, 0, 1).unwrap());
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let chips = list_chips(dir.path()).unwrap();
        let summary: Vec<_> = chips.iter().map(|c| (c.kind, c.sim_id, c.holder)).collect();
        let n300_1 = SimKind::Board { preset: BoardPreset::N300, chip: 1 };
        assert_eq!(
            summary,
            vec![
                (SimKind::Bare(Arch::WormholeB0), 5, None),
                (SimKind::Bare(Arch::Blackhole), 2, Some(std::process::id() as i32)),
                (n300_1, 0, None),
            ]
        );
        assert_eq!(chips[1].chip_uid, held.chip_uid());
        assert_eq!(chips[2].arch, Arch::WormholeB0);
        let err = remove_chip(dir.path(), SimKind::Bare(Arch::Blackhole), 2).unwrap_err();
        assert!(matches!(err, SimError::Busy { .. }), "{err}");
        remove_chip(dir.path(), SimKind::Bare(Arch::WormholeB0), 5).unwrap();
        remove_chip(dir.path(), n300_1, 0).unwrap();
        assert_eq!(list_chips(dir.path()).unwrap().len(), 1);
        assert!(remove_chip(dir.path(), SimKind::Bare(Arch::WormholeB0), 5).is_err());
    }

    #[test]
    fn chip_names_parse() {
        assert_eq!(parse_name("wormhole_b0-3.chip"), Some((SimKind::Bare(Arch::WormholeB0), 3)));
        assert_eq!(parse_name("blackhole-0.chip"), Some((SimKind::Bare(Arch::Blackhole), 0)));
        let p150 = SimKind::Board { preset: BoardPreset::P150a, chip: 0 };
        assert_eq!(parse_name("p150a-4-0.chip"), Some((p150, 4)));
        assert_eq!(parse_name("p150-4-0.chip"), None);
        assert_eq!(parse_name("blackhole-x.chip"), None);
        assert_eq!(parse_name("wormhole_b0-3.tmp"), None);
    }
}
