//! Child processes for the multi-process tests: this test binary re-executed with a role in
//! the environment, talking to its parent over stdin/stdout.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Stdio};

use tt_accounting::MemKind;

use super::{here, register, spans, XorShift};
use crate::liveness::lock_for_lifetime;
use crate::segment::layout::{
    HEADER_BYTES, LIVE_TABLE_CAPACITY, MAX_DEVICES, MAX_ETHERNET_CORES, MAX_TENSIX_CORES,
    RING_CAPACITY, SCHEMA_VERSION, SEGMENT_BYTES, SEGMENT_MAGIC,
};
use crate::{global, read_ledger, Tracker};

const ROLE_ENV: &str = "TT_TRACK_TEST_CHILD_ROLE";
const DIR_ENV: &str = "TT_TRACK_TEST_CHILD_DIR";

/// Chips the placer children use.
pub(crate) const PLACER_CHIPS: [u64; 2] = [0xC0, 0xC1];

/// What placer `k` places: (chip index, kind, banks, bytes per bank), all kept live.
pub(crate) fn placer_plan(k: u64) -> Vec<(usize, MemKind, u32, u64)> {
    (0..10u64)
        .map(|i| {
            (
                (i % 2) as usize,
                MemKind::ALL[((i + k) % 8) as usize],
                1 + (i % 4) as u32,
                1000 * k + 37 * i + 1,
            )
        })
        .collect()
}

/// Bytes placer `k` keeps live per chip.
pub(crate) fn placer_bytes(k: u64) -> [u64; 2] {
    let mut bytes = [0u64; 2];
    for (chip, _, banks, size) in placer_plan(k) {
        bytes[chip] += u64::from(banks) * size;
    }
    bytes
}

/// The entry point children run; a no-op in the ordinary test run.
#[test]
fn child_process_entry() {
    let Ok(role) = std::env::var(ROLE_ENV) else { return };
    let dir = PathBuf::from(std::env::var_os(DIR_ENV).expect("child needs a directory"));
    match role.as_str() {
        "reader" => read_and_report(&dir),
        "placer1" | "placer2" | "placer3" => {
            place_plan(&dir, u64::from(role.as_bytes()[6] - b'0'), false)
        }
        "streamer" => place_plan(&dir, 9, true),
        "forger" => forge_pid(&dir),
        "corrupt-holder" => hold_corrupt_files(&dir),
        "global" => use_global(),
        "truncator" => truncate_own_segment(&dir),
        "exiter" => exit_with_own_tracker(&dir),
        other => {
            eprintln!("unknown child role {other}");
            std::process::exit(2);
        }
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "CHILD {line}").expect("stdout");
    out.flush().expect("stdout");
}

fn wait_for_parent() {
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
}

fn read_and_report(dir: &Path) {
    let snapshot = read_ledger(dir).expect("child read");
    for process in &snapshot.processes {
        let bytes: u64 = process.devices.iter().map(|d| d.used_bytes()).sum();
        say(&format!("PROCESS {} {} {}", process.pid, bytes, process.is_self));
    }
    say(&format!("DEAD {}", snapshot.removed_dead.len()));
    say("DONE");
}

fn place_plan(dir: &Path, k: u64, stream: bool) {
    let tracker = Tracker::with_ledger_dir(dir).expect("child tracker");
    let chips = PLACER_CHIPS.map(|uid| register(&tracker, uid));
    let kept: Vec<_> = placer_plan(k)
        .into_iter()
        .map(|(chip, kind, banks, size)| {
            tracker
                .record_place(chips[chip], kind, &spans(banks, size), "plan", here())
                .expect("place")
        })
        .collect();
    say(&format!("READY {}", std::process::id()));
    if stream {
        // Place and release until killed, so the kill lands mid-stream.
        let mut rng = XorShift(77);
        let mut live = Vec::new();
        loop {
            if live.len() < 64 && rng.below(2) == 0 {
                let chip = chips[rng.below(2) as usize];
                live.push(
                    tracker
                        .record_place(
                            chip,
                            MemKind::Dram,
                            &spans(1, 1 + rng.below(4096)),
                            "stream",
                            here(),
                        )
                        .expect("place"),
                );
            } else if let Some(record) = live.pop() {
                record.release();
            }
        }
    }
    wait_for_parent();
    for record in kept {
        record.release();
    }
}

fn forge_pid(dir: &Path) {
    let tracker = Tracker::with_ledger_dir(dir).expect("child tracker");
    let chip = register(&tracker, 0xF0);
    let record = tracker
        .record_place(chip, MemKind::Dram, &spans(1, 4096), "forged", here())
        .expect("place");
    tracker.forge_claimed_pid(1);
    say(&format!("READY {}", std::process::id()));
    wait_for_parent();
    record.release();
}

/// A header as a writer of this version would lay it out, with chosen version and length.
fn header(version: u32, total: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; HEADER_BYTES];
    bytes[0..8].copy_from_slice(&SEGMENT_MAGIC.to_le_bytes());
    bytes[8..12].copy_from_slice(&version.to_le_bytes());
    bytes[12..16].copy_from_slice(&(HEADER_BYTES as u32).to_le_bytes());
    bytes[16..24].copy_from_slice(&total.to_le_bytes());
    bytes[40..44].copy_from_slice(&(MAX_DEVICES as u32).to_le_bytes());
    bytes[44..48].copy_from_slice(&(RING_CAPACITY as u32).to_le_bytes());
    bytes[48..52].copy_from_slice(&(LIVE_TABLE_CAPACITY as u32).to_le_bytes());
    bytes[52..56].copy_from_slice(&(MAX_TENSIX_CORES as u32).to_le_bytes());
    bytes[56..60].copy_from_slice(&(MAX_ETHERNET_CORES as u32).to_le_bytes());
    bytes
}

/// The bad files of the corrupt-segment test, by name.
pub(crate) fn corrupt_files() -> Vec<(&'static str, Vec<u8>)> {
    let full = |mut h: Vec<u8>| {
        h.resize(SEGMENT_BYTES, 0);
        h
    };
    vec![
        ("900-1-0.seg", Vec::new()),
        ("901-1-0.seg", header(SCHEMA_VERSION, SEGMENT_BYTES as u64)[..64].to_vec()),
        (
            "902-1-0.seg",
            full(header(SCHEMA_VERSION, SEGMENT_BYTES as u64))[..SEGMENT_BYTES / 2].to_vec(),
        ),
        ("903-1-0.seg", full(header(7, 2 * SEGMENT_BYTES as u64))),
        ("904-1-0.seg", full(header(SCHEMA_VERSION, 12345))),
        ("905-1-0.seg", vec![0xAB; 4096]),
    ]
}

/// Creates the bad files and holds a lock on each, as live (buggy or newer) writers would.
fn hold_corrupt_files(dir: &Path) {
    let held: Vec<_> = corrupt_files()
        .into_iter()
        .map(|(name, bytes)| {
            let path = dir.join(name);
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .expect("create");
            file.write_all(&bytes).expect("write");
            lock_for_lifetime(file.as_fd()).expect("lock");
            file
        })
        .collect();
    say(&format!("READY {}", std::process::id()));
    wait_for_parent();
    drop(held);
}

/// Bytes of its segment the truncator restores after each truncation (header, device records
/// and rings, and the first live entries).
const TRUNCATOR_KEEPS: usize = 256 * 1024;

/// A live process that keeps truncating its own segment and putting it back, as a buggy or
/// hostile process of the same user could: readers must get an error for this segment only.
fn truncate_own_segment(dir: &Path) {
    use std::os::unix::fs::FileExt;
    let tracker = Tracker::with_ledger_dir(dir).expect("child tracker");
    let chip = register(&tracker, 0xD0);
    let _record = tracker
        .record_place(chip, MemKind::Dram, &spans(1, 4096), "shrinking", here())
        .expect("place");
    let path = tracker.segment_path().expect("published");
    // Opened once and never closed: closing any descriptor of the file would drop our lock.
    let file = OpenOptions::new().read(true).write(true).open(path).expect("open own segment");
    let mut saved = vec![0u8; TRUNCATOR_KEEPS];
    file.read_exact_at(&mut saved, 0).expect("save segment");
    say(&format!("READY {}", std::process::id()));
    // Nothing in this process touches its mapping from here on (it would fault too).
    let sizes = [0u64, 64, 128, 4096, 100_000, 200_000];
    loop {
        for &size in &sizes {
            file.set_len(size).expect("truncate");
            file.set_len(SEGMENT_BYTES as u64).expect("extend");
            file.write_all_at(&saved[HEADER_BYTES..], HEADER_BYTES as u64).expect("restore");
            file.write_all_at(&saved[..HEADER_BYTES], 0).expect("restore header");
        }
    }
}

/// A program with a tracker of its own (not the global one) that ends with a clean
/// `process::exit` while the tracker is alive: its drop never runs.
fn exit_with_own_tracker(dir: &Path) {
    let tracker = Tracker::with_ledger_dir(dir).expect("child tracker");
    let chip = register(&tracker, 0x62);
    let record = tracker
        .record_place(chip, MemKind::Dram, &spans(1, 4096), "exiter", here())
        .expect("place");
    say(&format!("READY {}", std::process::id()));
    wait_for_parent();
    std::mem::forget(record);
    std::mem::forget(tracker);
    std::process::exit(0);
}

fn use_global() {
    let tracker = global();
    say(&format!("ENABLED {}", tracker.is_enabled()));
    if tracker.is_enabled() {
        let chip = register(tracker, 0x61);
        let record = tracker
            .record_place(chip, MemKind::L1, &spans(2, 512), "global", here())
            .expect("place");
        say(&format!("READY {}", std::process::id()));
        wait_for_parent();
        record.release();
    } else {
        say(&format!("READY {}", std::process::id()));
        wait_for_parent();
    }
}

/// A running child and the lines it said.
pub(crate) struct Child {
    process: std::process::Child,
    lines: BufReader<ChildStdout>,
}

impl Child {
    pub(crate) fn spawn(role: &str, dir: &Path) -> Child {
        Child::spawn_with(role, dir, &[])
    }

    pub(crate) fn spawn_with(role: &str, dir: &Path, env: &[(&str, &str)]) -> Child {
        let mut command = Command::new(std::env::current_exe().expect("test binary"));
        command
            .args([
                "--exact",
                "tests::children::child_process_entry",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env(ROLE_ENV, role)
            .env(DIR_ENV, dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut process = command.spawn().expect("spawn child");
        let stdout = process.stdout.take().expect("piped stdout");
        Child { process, lines: BufReader::new(stdout) }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.process.id()
    }

    /// The rest of the next line that starts with `CHILD <word>`.
    pub(crate) fn expect(&mut self, word: &str) -> String {
        let prefix = format!("CHILD {word}");
        loop {
            let mut line = String::new();
            let read = self.lines.read_line(&mut line).expect("read child output");
            assert!(read > 0, "child exited before saying {word}");
            if let Some(rest) = line.trim_end().strip_prefix(&prefix) {
                return rest.trim().to_owned();
            }
        }
    }

    /// Lets the child finish and waits for it.
    pub(crate) fn finish(mut self) {
        drop(self.process.stdin.take());
        let status = self.process.wait().expect("wait child");
        assert!(status.success(), "child failed: {status}");
    }

    /// SIGKILL, then reap: once reaped, the kernel has dropped its locks.
    pub(crate) fn kill(mut self) {
        self.process.kill().expect("SIGKILL child");
        self.process.wait().expect("reap child");
    }
}
