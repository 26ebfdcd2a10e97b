//! `ttctl record`: memory over time as JSON lines. Every period it writes a `sample` line
//! (used, payload and peak bytes per kind of every device), a `placement` line for each
//! live placement seen for the first time (with its owner and source line), a `release`
//! line for each one gone since, and an `event` line for each new entry of the processes'
//! event rings, so that placements that lived less than a period are not missed.
//!
//! Times: `time` is UTC wall-clock; `clock_ns`, `at_ns` and `placed_at_ns` are the ledger's
//! CLOCK_MONOTONIC_COARSE nanoseconds, one time line for samples and events. A release event
//! carries `at_ns` 0 (the ledger does not time releases); its sample's time bounds it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tt_track::{LedgerOp, LedgerSnapshot};

use crate::mem::read_all;
use crate::mem_json::PerKind;

/// The schema version of `record`'s sample lines (unchanged when `mem --json` changed).
pub const RECORD_SCHEMA_VERSION: u32 = 2;

/// One device in a sample.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeviceSample {
    /// The chip.
    pub chip_uid: String,
    /// Its architecture.
    pub arch: String,
    /// The spec it was opened with (empty when not recorded).
    pub spec: String,
    /// Used (reserved) bytes per kind.
    pub used: PerKind,
    /// Payload bytes per kind.
    pub payload: PerKind,
    /// The ledger's high-water marks per kind (summed over processes).
    pub peak: PerKind,
    /// Reserved L1 of the fullest Tensix core.
    pub l1_max_core: u64,
    /// Tensix L1 of the chip.
    pub l1_capacity: u64,
    /// DRAM of the chip.
    pub dram_capacity: u64,
}

/// One line of `ttctl record`'s output.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RecordLine {
    /// The ledger at one moment.
    Sample {
        /// `mem --json`'s schema version.
        schema_version: u32,
        /// UTC, RFC 3339 with milliseconds.
        time: String,
        /// The ledger's clock at the read.
        clock_ns: u64,
        /// Every device some live process holds.
        devices: Vec<DeviceSample>,
    },
    /// A live placement seen for the first time.
    Placement {
        /// The ledger's clock at the sample that saw it.
        clock_ns: u64,
        /// The chip.
        chip_uid: String,
        /// The process.
        pid: u32,
        /// Its command.
        command: String,
        /// Allocation id (per process).
        id: u64,
        /// Memory kind.
        kind: String,
        /// Reserved bytes.
        bytes: u64,
        /// Payload bytes.
        payload_bytes: u64,
        /// When it was placed, on the ledger's clock.
        placed_at_ns: u64,
        /// Its owner.
        owner: String,
        /// The source line that placed it.
        provenance: String,
    },
    /// A placement seen before that is gone (released, or its process ended).
    Release {
        /// The ledger's clock at the sample that found it gone.
        clock_ns: u64,
        /// The chip.
        chip_uid: String,
        /// The process.
        pid: u32,
        /// Allocation id.
        id: u64,
    },
    /// A new entry of a process's event ring.
    Event {
        /// The chip.
        chip_uid: String,
        /// The process.
        pid: u32,
        /// Event number on the device, per process.
        number: u64,
        /// `place` or `release`.
        op: String,
        /// Memory kind.
        kind: String,
        /// Allocation id.
        id: u64,
        /// Reserved bytes.
        bytes: u64,
        /// Payload bytes.
        payload_bytes: u64,
        /// On the ledger's clock; 0 for a release (not timed by the ledger).
        at_ns: u64,
    },
}

/// A placement: (chip uid, pid, allocation id).
type PlacementKey = (String, u32, u64);

/// What the recorder has written so far, to write only what is new.
#[derive(Default)]
pub struct Recorder {
    live: BTreeSet<PlacementKey>,
    last_event: BTreeMap<(String, u32), u64>,
}

impl Recorder {
    /// The lines for one ledger read at `clock_ns`.
    pub fn lines(&mut self, snapshot: &LedgerSnapshot, clock_ns: u64) -> Vec<RecordLine> {
        let devices = snapshot
            .devices
            .iter()
            .map(|d| DeviceSample {
                chip_uid: d.uid.to_string(),
                arch: d.arch.clone(),
                spec: d.spec.clone(),
                used: PerKind::of(|k| d.kind(k).used_bytes),
                payload: PerKind::of(|k| d.kind(k).payload_bytes),
                peak: PerKind::of(|k| d.kind(k).peak_used_bytes),
                l1_max_core: d.tensix_cores.iter().map(|c| c.used_bytes).max().unwrap_or(0),
                l1_capacity: d.capacity.tensix_l1_bytes(),
                dram_capacity: d.capacity.dram_bytes,
            })
            .collect();
        let time = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let mut lines = vec![RecordLine::Sample {
            schema_version: RECORD_SCHEMA_VERSION,
            time,
            clock_ns,
            devices,
        }];
        let mut live_now = BTreeSet::new();
        for process in &snapshot.processes {
            for view in &process.devices {
                let uid = view.uid.to_string();
                let ring = (uid.clone(), process.pid);
                let last = self.last_event.get(&ring).copied();
                for event in view.recent_events.iter().filter(|e| last.is_none_or(|n| e.number > n))
                {
                    lines.push(RecordLine::Event {
                        chip_uid: uid.clone(),
                        pid: process.pid,
                        number: event.number,
                        op: match event.op {
                            LedgerOp::Place => "place",
                            LedgerOp::Release => "release",
                        }
                        .to_owned(),
                        kind: event.kind.name().to_owned(),
                        id: event.id.get(),
                        bytes: event.bytes,
                        payload_bytes: event.payload_bytes,
                        at_ns: event.at_ns,
                    });
                }
                if let Some(newest) = view.recent_events.iter().map(|e| e.number).max() {
                    self.last_event.insert(ring, newest);
                }
                for record in &view.live_records {
                    let key = (uid.clone(), process.pid, record.id.get());
                    if !self.live.contains(&key) {
                        lines.push(RecordLine::Placement {
                            clock_ns,
                            chip_uid: uid.clone(),
                            pid: process.pid,
                            command: process.command.clone(),
                            id: record.id.get(),
                            kind: record.kind.name().to_owned(),
                            bytes: record.bytes,
                            payload_bytes: record.payload_bytes,
                            placed_at_ns: record.placed_at_ns,
                            owner: record.owner_display(),
                            provenance: record.provenance(),
                        });
                    }
                    live_now.insert(key);
                }
            }
        }
        for (chip_uid, pid, id) in self.live.difference(&live_now) {
            lines.push(RecordLine::Release {
                clock_ns,
                chip_uid: chip_uid.clone(),
                pid: *pid,
                id: *id,
            });
        }
        self.live = live_now;
        lines
    }
}

/// Where `record` writes: stdout, or OUTPUT, written as samples come (not renamed into place
/// at the end: a recording stopped by any means, SIGKILL included, keeps what it sampled), with
/// errors naming OUTPUT.
enum Sink {
    Stdout(std::io::StdoutLock<'static>),
    File { output: std::path::PathBuf, file: std::io::BufWriter<std::fs::File> },
}

impl Sink {
    fn open(output: Option<&Path>) -> Result<Sink> {
        let Some(output) = output else { return Ok(Sink::Stdout(std::io::stdout().lock())) };
        let file = std::fs::File::create(output)
            .with_context(|| format!("creating {}", output.display()))?;
        Ok(Sink::File { output: output.to_path_buf(), file: std::io::BufWriter::new(file) })
    }

    fn write_lines(&mut self, lines: &[RecordLine]) -> Result<()> {
        let written = |out: &mut dyn Write| -> std::io::Result<()> {
            for line in lines {
                serde_json::to_writer(&mut *out, line)?;
                out.write_all(b"\n")?;
            }
            out.flush()
        };
        match self {
            Sink::Stdout(out) => written(out).context("writing the record to stdout"),
            Sink::File { output, file } => {
                written(file).with_context(|| format!("writing {}", output.display()))
            }
        }
    }

    fn finish(self) -> Result<()> {
        let Sink::File { output, file } = self else { return Ok(()) };
        let file = file.into_inner().map_err(|e| e.into_error());
        file.and_then(|f| f.sync_all()).with_context(|| format!("writing {}", output.display()))
    }
}

/// `ttctl record`: samples every `period` until Ctrl-C or `duration`, to `output` or stdout.
pub fn record(output: Option<&Path>, period: Duration, duration: Option<Duration>) -> Result<()> {
    let mut sink = Sink::open(output)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing the Ctrl-C handler")?;
    }
    let start = Instant::now();
    let end = duration.map(|d| start + d);
    let mut recorder = Recorder::default();
    while !stop.load(Ordering::Relaxed) && end.is_none_or(|end| Instant::now() < end) {
        let snapshot = read_all()?;
        sink.write_lines(&recorder.lines(&snapshot, tt_track::ledger_clock_ns()))?;
        // The next sample, but never past the end: --duration is not overrun by a period.
        let wake = end.map_or(Instant::now() + period, |end| end.min(Instant::now() + period));
        while !stop.load(Ordering::Relaxed) && Instant::now() < wake {
            std::thread::sleep(Duration::from_millis(20).min(period));
        }
    }
    sink.finish()
}
