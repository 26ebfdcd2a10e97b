//! `ttctl mem`: the memory view, read from the ledger of every live process (never by opening
//! a device).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tt_device::DeviceSpec;
use tt_soc::{ChipUid, SocDescriptor};
use tt_track::{DeviceTotals, LedgerSnapshot};

use crate::UsageError;

/// Which devices and processes to show, and how.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Only this chip: its unique id (hex as printed, or decimal) or the device spec
    /// `ttctl devices` prints (`sim:wormhole_b0:0`, `/dev/tenstorrent/0`).
    pub device: Option<String>,
    /// Only this process and the devices it uses.
    pub pid: Option<u32>,
    /// Draw each chip's core grid with every core's L1 fill.
    pub cores: bool,
}

impl Filter {
    /// True when `device` is the one `--device` names (or no device was named).
    pub fn device_matches(&self, device: &DeviceTotals) -> bool {
        let Some(want) = self.device.as_deref().map(str::trim) else { return true };
        let lower = want.to_ascii_lowercase();
        let by_uid = match lower.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => lower.parse::<u64>().ok(),
        };
        if by_uid == Some(device.uid.0) || (!device.spec.is_empty() && device.spec == want) {
            return true;
        }
        // A simulated chip's id is drawn by its file, so a spec matches by the spec the
        // chip was opened with (two directories' `sim:wormhole_b0:0` both match).
        want.parse::<DeviceSpec>().is_ok_and(|spec| spec.to_string() == device.spec)
    }

    /// True when the process `pid` is one `--pid` asks for.
    pub fn pid_matches(&self, pid: u32) -> bool {
        self.pid.is_none_or(|want| want == pid)
    }

    /// The devices to show: those `--device` names, and with `--pid` only the ones that
    /// process uses.
    pub fn devices<'a>(&self, snapshot: &'a LedgerSnapshot) -> Vec<&'a DeviceTotals> {
        snapshot
            .devices
            .iter()
            .filter(|d| self.device_matches(d))
            .filter(|d| {
                self.pid.is_none_or(|pid| {
                    snapshot.process(pid).is_some_and(|p| p.device(d.uid).is_some())
                })
            })
            .collect()
    }

    /// A usage error when a filter names no live device or process; the message says what
    /// is there instead.
    pub fn check(&self, snapshot: &LedgerSnapshot) -> Result<(), UsageError> {
        if let Some(pid) = self.pid {
            if snapshot.process(pid).is_none() {
                let live: Vec<String> =
                    snapshot.processes.iter().map(|p| p.pid.to_string()).collect();
                return Err(UsageError(format!(
                    "no live process with pid {pid} is in the ledger (live: {}); `ttctl mem` \
                     lists them",
                    if live.is_empty() { "none".to_owned() } else { live.join(", ") }
                )));
            }
        }
        if let Some(want) = &self.device {
            if !snapshot.devices.iter().any(|d| self.device_matches(d)) {
                let live: Vec<String> = snapshot.devices.iter().map(device_name).collect();
                return Err(UsageError(format!(
                    "no live process uses device `{want}` (in use: {}); give a chip uid or a \
                     spec as `ttctl devices` prints it",
                    if live.is_empty() { "none".to_owned() } else { live.join(", ") }
                )));
            }
        }
        Ok(())
    }
}

/// `uid (spec)`, or the uid alone when no spec was recorded.
pub fn device_name(device: &DeviceTotals) -> String {
    if device.spec.is_empty() {
        device.uid.to_string()
    } else {
        format!("{} ({})", device.uid, device.spec)
    }
}

/// `sim` or `pcie`, from the chip id: simulated chips carry the simulator's tag.
pub fn backend_of(uid: ChipUid) -> &'static str {
    if SocDescriptor::is_sim_chip_uid(uid) {
        "sim"
    } else {
        "pcie"
    }
}

/// Bytes in a short human form (binary units, one decimal: `0 B`, `1.5 KiB`, `12.0 GiB`).
/// A counter stuck at its maximum (saturated, not 16 EiB of anything) reads `saturated`.
pub fn human(bytes: u64) -> String {
    if bytes == u64::MAX {
        return "saturated".to_owned();
    }
    bytesize::ByteSize::b(bytes).display().iec().to_string()
}

/// Reads every ledger directory a monitor should (see [`tt_track::ledger_dirs_to_read`]),
/// each on its own: one that cannot be read (another user planted a file or a directory of
/// theirs at `/dev/shm/tt-ledger-<uid>`) is warned about once, listed among the skipped
/// sources (so `tt_ledger_skipped_segments` counts it) and left out, and the others are still
/// read. Only when no directory can be read is it an error.
pub fn read_all() -> Result<LedgerSnapshot> {
    let dirs = tt_track::ledger_dirs_to_read();
    let mut snapshot: Option<LedgerSnapshot> = None;
    let mut unreadable = Vec::new();
    for dir in &dirs {
        match tt_track::read_ledger(dir) {
            Ok(read) => match snapshot.as_mut() {
                Some(sum) => sum.absorb(read),
                None => snapshot = Some(read),
            },
            Err(error) => unreadable.push((dir.clone(), error)),
        }
    }
    let Some(mut snapshot) = snapshot else {
        let all: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        let error = unreadable.into_iter().next().map(|(_, e)| e);
        return Err(match error {
            Some(error) => anyhow::Error::new(error),
            None => anyhow::anyhow!("no ledger directory to read"),
        })
        .with_context(|| format!("reading the ledger in {}", all.join(" and ")));
    };
    crate::text::clean_snapshot(&mut snapshot);
    for (dir, reason) in unreadable {
        warn_once(&dir, &reason);
        snapshot.skipped.push(tt_track::SkippedSegment { path: dir, reason });
    }
    Ok(snapshot)
}

/// Warns that `dir` is skipped, once per directory and process (`serve` and `top` read
/// the ledger again and again).
fn warn_once(dir: &std::path::Path, reason: &tt_track::TrackError) {
    static WARNED: parking_lot::Mutex<Vec<std::path::PathBuf>> =
        parking_lot::Mutex::new(Vec::new());
    let mut warned = WARNED.lock();
    if !warned.iter().any(|d| d == dir) {
        warned.push(dir.to_path_buf());
        tracing::warn!(
            "skipping ledger directory {}: {}; the other ledger directory is still read",
            crate::text::shown(&dir.display().to_string()),
            crate::text::escape(&reason.to_string())
        );
    }
}

/// `ttctl mem`.
pub fn mem(json_out: bool, watch: Option<f64>, filter: &Filter) -> Result<()> {
    let Some(secs) = watch else {
        let snapshot = read_all()?;
        filter.check(&snapshot)?;
        if json_out {
            let document = crate::mem_json::to_json(&snapshot, filter);
            outln!("{}", serde_json::to_string_pretty(&document)?)?;
        } else {
            out!("{}", crate::mem_text::render(&snapshot, filter))?;
        }
        return Ok(());
    };
    let period = Duration::from_secs_f64(secs.max(0.1));
    let terminal = std::io::stdout().is_terminal() && !json_out;
    // Ctrl-C (or a TERM) ends the loop instead of the process, so the terminal's own screen
    // comes back.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing the Ctrl-C handler")?;
    }
    if terminal {
        // The alternate screen, like top and watch: the shell's screen is back on exit.
        out!("\x1b[?1049h")?;
    }
    let watched = watch_loop(json_out, filter, period, terminal, &stop);
    if terminal {
        out!("\x1b[?1049l")?;
    }
    watched
}

/// Now as an RFC 3339 UTC timestamp to the second.
pub fn timestamp() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Refreshes until `stop` is raised: a JSON line per period (the `mem --json` document with
/// a `timestamp`), or the table under a timestamped header, redrawn in place on a terminal.
fn watch_loop(
    json_out: bool,
    filter: &Filter,
    period: Duration,
    terminal: bool,
    stop: &AtomicBool,
) -> Result<()> {
    while !stop.load(Ordering::Relaxed) {
        let snapshot = read_all()?;
        if json_out {
            let mut document = crate::mem_json::to_json(&snapshot, filter);
            if let Some(fields) = document.as_object_mut() {
                fields.insert("timestamp".to_owned(), timestamp().into());
            }
            outln!("{}", serde_json::to_string(&document)?)?;
        } else {
            if terminal {
                // Home the cursor and clear, so the view refreshes in place.
                out!("\x1b[H\x1b[2J")?;
            }
            outln!("ttctl mem --watch {}s  {}  (Ctrl-C quits)", period.as_secs_f64(), timestamp())?;
            // A filter may name a process that has not started yet: say so and keep watching.
            match filter.check(&snapshot) {
                Ok(()) => out!("{}", crate::mem_text::render(&snapshot, filter))?,
                Err(waiting) => outln!("waiting: {waiting}")?,
            }
        }
        // Sleep in slices so that Ctrl-C is answered promptly.
        let wake = std::time::Instant::now() + period;
        while !stop.load(Ordering::Relaxed) && std::time::Instant::now() < wake {
            std::thread::sleep(Duration::from_millis(50).min(period));
        }
    }
    Ok(())
}
