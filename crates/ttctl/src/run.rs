//! `ttctl run`: built-in workloads.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tt_alloc::tracker::MemKind;
use tt_alloc::{Allocation, BankType, BufferRequest, Layout, Policy};
use tt_device::DramBankId;
use tt_track::{ProcessView, Tracker};

use crate::mem;
use crate::session::Session;

/// A small deterministic generator (splitmix64): workloads repeat exactly run to run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Bytes per kind of this process on the session's device.
fn usage(view: Option<&ProcessView>, session: &Session) -> [u64; MemKind::COUNT] {
    let mut out = [0; MemKind::COUNT];
    if let Some(dev) =
        view.and_then(|v| v.devices.iter().find(|d| d.uid == session.device.chip_uid()))
    {
        for k in MemKind::ALL {
            out[k.index()] = dev.kind(k).current_bytes;
        }
    }
    out
}

fn usage_json(u: &[u64; MemKind::COUNT]) -> Value {
    let map: serde_json::Map<String, Value> =
        MemKind::ALL.iter().map(|k| (k.name().to_string(), json!(u[k.index()]))).collect();
    Value::Object(map)
}

/// Writes a recognisable pattern into every page of `buf` and reads one page back.
fn fill(session: &Session, buf: &Allocation, page_size: u64, pages: u64, seed: u64) -> Result<u64> {
    let dev = &session.device;
    let alloc = &session.allocator;
    let banks = alloc.bank_count(buf.bank_type()) as u64;
    let page: Vec<u8> = (0..page_size).map(|i| (i as u8) ^ (seed as u8)).collect();
    // Pages go round-robin over the banks; each bank holds its pages at the aligned page size.
    let page_stride = buf.size_per_bank() / pages.div_ceil(banks).max(1);
    for p in 0..pages {
        let bank = (p % banks) as u32;
        let offset = buf.address() + (p / banks) * page_stride;
        match buf.bank_type() {
            BankType::Dram => dev.write_dram_bank(DramBankId(bank), offset, &page)?,
            _ => {
                let core = alloc.bank_core(bank).context("L1 bank without a core")?;
                dev.write(core, offset, &page)?;
            }
        }
    }
    let mut back = vec![0u8; page_size as usize];
    match buf.bank_type() {
        BankType::Dram => dev.read_dram_bank(DramBankId(0), buf.address(), &mut back)?,
        _ => {
            let core = alloc.bank_core(0).context("L1 bank 0 without a core")?;
            dev.read(core, buf.address(), &mut back)?;
        }
    }
    if back != page {
        bail!("read-back of buffer at {:#x} does not match what was written", buf.address());
    }
    Ok(page_size * pages)
}

/// DRAM and L1 buffer churn: interleaved DRAM and L1 buffers and sharded L1 buffers of
/// assorted sizes, each filled through the device, up to 32 alive at once.
fn buffers(
    session: &Session,
    tracker: &Tracker,
    iterations: u32,
) -> Result<(u64, u64, [u64; MemKind::COUNT])> {
    let mut rng = Rng(0x7474_6374_6c00);
    let cores = session.device.soc().tensix_cores();
    let mut live: Vec<Allocation> = Vec::new();
    let (mut made, mut written) = (0u64, 0u64);
    let mut peak = [0u64; MemKind::COUNT];
    for i in 0..iterations {
        for _ in 0..8 {
            let choice = rng.range(0, 2);
            let owner = format!("ttctl run buffers #{made}");
            let (req_bank, kind, page_size, pages) = match choice {
                0 => (BankType::Dram, MemKind::Dram, rng.range(1, 16) * 2048, rng.range(1, 48)),
                1 => (BankType::L1, MemKind::L1, rng.range(1, 8) * 1024, rng.range(1, 160)),
                _ => (BankType::L1, MemKind::L1, rng.range(1, 16) * 1024, 0),
            };
            let shard_cores: Vec<_> =
                (0..8).map(|_| cores[rng.range(0, cores.len() as u64 - 1) as usize]).collect();
            let mut uniq = shard_cores.clone();
            uniq.sort();
            uniq.dedup();
            let layout = if pages == 0 {
                Layout::Sharded { cores: &uniq, shard_size: page_size }
            } else {
                Layout::Interleaved { page_size, pages }
            };
            let request = BufferRequest {
                bank_type: req_bank,
                kind,
                layout,
                policy: Policy::default(),
                owner: &owner,
            };
            let buf = session
                .allocator
                .allocate(&request)
                .with_context(|| format!("allocating {owner}"))?;
            written += if pages == 0 {
                let data = vec![i as u8; page_size as usize];
                for core in &uniq {
                    session.device.write(*core, buf.address(), &data)?;
                }
                page_size * uniq.len() as u64
            } else {
                fill(session, &buf, page_size, pages, made)?
            };
            made += 1;
            live.push(buf);
            if live.len() > 32 {
                let victim = rng.range(0, live.len() as u64 - 1) as usize;
                live.swap_remove(victim);
            }
        }
        let now = usage(tracker.snapshot().as_ref(), session);
        if now.iter().sum::<u64>() > peak.iter().sum::<u64>() {
            peak = now;
        }
    }
    drop(live);
    Ok((made, written, peak))
}

/// `ttctl run <workload>`.
pub fn run(workload: &str, device: Option<&str>, iterations: u32, json_out: bool) -> Result<()> {
    let tracker = tt_track::global();
    let session = Session::open(device, tracker)?;
    let uid = session.device.chip_uid();
    let before = usage(tracker.snapshot().as_ref(), &session);
    let start = Instant::now();
    let (made, written, peak) = match workload {
        "buffers" => buffers(&session, tracker, iterations)?,
        "programs" => bail!(
            "workload `programs` needs the program loader (tt-program), which is not built yet; run `ttctl run buffers`"
        ),
        other => bail!("unknown workload `{other}`; available: buffers"),
    };
    let elapsed = start.elapsed();
    let after = usage(tracker.snapshot().as_ref(), &session);
    let returned = after == before;
    if json_out {
        let out = json!({
            "schema_version": 1,
            "workload": workload,
            "device": session.device.spec().to_string(),
            "chip_uid": uid.to_string(),
            "iterations": iterations,
            "buffers": made,
            "bytes_written": written,
            "seconds": elapsed.as_secs_f64(),
            "before": usage_json(&before),
            "peak": usage_json(&peak),
            "after": usage_json(&after),
            "returned_to_baseline": returned,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "ran `{workload}` on {} ({} {}): {iterations} iterations, {made} buffers, {} written in {:.2?}",
            session.device.spec(),
            session.device.arch(),
            session.device.backend().name(),
            mem::human(written),
            elapsed
        );
        let line = |name: &str, u: &[u64; MemKind::COUNT]| {
            let kinds: Vec<String> = MemKind::ALL
                .iter()
                .map(|k| format!("{}={}", k.name(), mem::human(u[k.index()])))
                .collect();
            println!("  {name:<7}{}", kinds.join("  "));
        };
        line("before", &before);
        line("peak", &peak);
        line("after", &after);
        println!("\nmemory view (all live processes):");
        let snapshot = tt_track::read_ledger(tt_track::default_ledger_dir())?;
        print!("{}", mem::render(&snapshot, &mem::Filter::default()));
    }
    if !returned {
        bail!("memory did not return to baseline after the workload: before {before:?}, after {after:?}");
    }
    Ok(())
}
