//! A monitor reading the ledger while another process churns memory as fast as it can sees
//! only states that existed.
//!
//! The writer is this test binary re-executed as a child: a session on a simulated Wormhole
//! B0 that places and frees one 9,009,364,992 B DRAM buffer (70% of the chip, so any two
//! copies of it counted together exceed the chip) and replaces small L1 buffers in a loop
//! through the public API. The parent reads the ledger in a loop and checks, on every read
//! that is not reported busy, what a torn read breaks: used within capacity and within peak,
//! the per-core L1 figures equal to the L1 kinds, the live listing equal to the counters, no
//! integrity error.

// Test code: a failed step should stop the test where it failed.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tt_accounting::{BankType, MemKind};
use tt_runtime::program::{Buffer, Runtime};
use tt_runtime::track::{read_ledger, DeviceTotals, ProcessView};

const ROLE: &str = "TT_LEDGER_CHURN_ROLE";
/// 8,592 pages of 1 MiB: the DRAM buffer of the bug report.
const HUGE_PAGES: u64 = 8_592;
const HUGE_PAGE: u64 = 1 << 20;
/// Small L1 buffers the writer keeps live and replaces one at a time.
const SMALL_BUFFERS: usize = 24;
/// Reads the monitor must make that are not busy.
const READS: u32 = 10_000;

/// The writer: runs only when re-executed by the test below with the role set.
#[test]
fn churn_writer_child() {
    if std::env::var_os(ROLE).is_none() {
        return;
    }
    let rt = Runtime::open(Some("sim:wormhole_b0:0")).unwrap();
    let mut small: Vec<Buffer> = (0..SMALL_BUFFERS)
        .map(|i| Buffer::interleaved(&rt, BankType::L1, 64, 1 + i as u64, "churn small").unwrap())
        .collect();
    // Written to the descriptor, not with println!, which the test harness may capture.
    say("READY");
    // Churn until the parent closes our stdin (a thread watches it).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = std::sync::Arc::clone(&stop);
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        watcher.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let mut round: u64 = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let huge = Buffer::dram(&rt, HUGE_PAGE, HUGE_PAGES, "churn huge").unwrap();
        let victim = (round as usize * 7) % SMALL_BUFFERS;
        small[victim] =
            Buffer::interleaved(&rt, BankType::L1, 64, 1 + round % 32, "churn small").unwrap();
        drop(huge);
        round += 1;
    }
    drop(small);
    say(&format!("ROUNDS {round}"));
    rt.close().unwrap();
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

fn spawn_writer(state: &std::path::Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "churn_writer_child", "--nocapture", "--test-threads=1"])
        .env(ROLE, "writer")
        .env("TT_SIM_DIR", state.join("sim"))
        .env("TT_LEDGER_DIR", state.join("ledger"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What a torn read breaks, checked on the device totals and on the writer's own view.
fn check(device: &DeviceTotals, writer: &ProcessView) -> Result<(), String> {
    let capacity = &device.capacity;
    if device.dram_used_bytes() > capacity.dram_bytes {
        return Err(format!("DRAM used {} > {}", device.dram_used_bytes(), capacity.dram_bytes));
    }
    let l1_capacity = capacity.tensix_l1_bytes();
    if device.tensix_l1_used_bytes() > l1_capacity {
        return Err(format!("L1 used {} > {l1_capacity}", device.tensix_l1_used_bytes()));
    }
    if device.used_bytes() > device.peak_used_bytes {
        return Err(format!("used {} above peak {}", device.used_bytes(), device.peak_used_bytes));
    }
    for kind in MemKind::ALL {
        let k = device.kind(kind);
        if k.used_bytes > k.peak_used_bytes {
            return Err(format!("{kind}: used {} above peak {}", k.used_bytes, k.peak_used_bytes));
        }
    }
    // The per-core figures (kept apart from the kind counters) say what the L1 kinds say.
    let l1_kinds: u64 =
        MemKind::ALL.iter().filter(|k| k.is_l1()).map(|k| device.kind(*k).used_bytes).sum();
    let per_core = device.tensix_l1_used_bytes() + device.ethernet_l1_used_bytes();
    if per_core != l1_kinds {
        return Err(format!("per-core L1 {per_core} != L1 kinds {l1_kinds}"));
    }
    if device.integrity.total() != 0 {
        return Err(format!("integrity errors {:?}", device.integrity));
    }
    // The live listing is the counters: entries per kind and their bytes.
    let view = writer.device(device.uid).ok_or("the writer's device is missing")?;
    if view.live_records_not_listed != 0 {
        return Err("live placements not listed".into());
    }
    for kind in MemKind::ALL {
        let listed: Vec<_> = view.live_records.iter().filter(|r| r.kind == kind).collect();
        let usage = view.kind(kind);
        let bytes: u64 = listed.iter().map(|r| r.bytes).sum();
        if listed.len() as u64 != usage.live_count || bytes != usage.used_bytes {
            return Err(format!(
                "{kind}: {} listed ({bytes} B) but {} live ({} B); {} placed, {} released",
                listed.len(),
                usage.live_count,
                usage.used_bytes,
                usage.placed_count,
                usage.released_count
            ));
        }
    }
    Ok(())
}

#[test]
fn a_reader_racing_a_churning_writer_sees_only_states_that_existed() {
    if std::env::var_os(ROLE).is_some() {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let mut writer = spawn_writer(state.path());
    let mut out = BufReader::new(writer.stdout.take().unwrap());
    // The test harness prints its own words first, on the same line.
    let ready = (&mut out).lines().map_while(Result::ok).any(|l| l.trim().ends_with("READY"));
    assert!(ready, "the writer did not start");

    let ledger = state.path().join("ledger");
    let (mut consistent, mut busy, mut huge_seen) = (0u32, 0u32, 0u32);
    let mut events_seen = 0u64;
    let deadline = Instant::now() + Duration::from_secs(240);
    while consistent < READS {
        assert!(Instant::now() < deadline, "{consistent} reads, {busy} busy in 240 s");
        let snapshot = read_ledger(&ledger).unwrap();
        assert!(snapshot.skipped.is_empty(), "{:?}", snapshot.skipped);
        assert_eq!(snapshot.devices.len(), 1, "one chip");
        let device = &snapshot.devices[0];
        if device.busy_processes > 0 {
            busy += 1;
            continue;
        }
        let writer_view = &snapshot.processes[0];
        if let Err(torn) = check(device, writer_view) {
            panic!("read {consistent} was torn: {torn}");
        }
        if device.kind(MemKind::Dram).used_bytes >= HUGE_PAGES * HUGE_PAGE {
            huge_seen += 1;
        }
        events_seen = writer_view.devices[0].events_written;
        consistent += 1;
    }
    drop(writer.stdin.take());
    let rest = (&mut out)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.split_once("ROUNDS ").map(|(_, rounds)| rounds.trim().to_owned()))
        .unwrap_or_default();
    assert!(writer.wait().unwrap().success());
    eprintln!(
        "{consistent} consistent reads, {busy} busy, huge buffer live in {huge_seen}; writer: \
         {rest} rounds ({events_seen} events when last read)"
    );
    // The reads raced the writer: the huge buffer was seen both live and gone, and the
    // writer made many events during them.
    assert!(huge_seen > 0 && huge_seen < consistent, "the reads never raced the churn");
    let rounds: u64 = rest.parse().unwrap();
    assert!(rounds > u64::from(READS) / 10, "only {rounds} rounds of churn");
}
