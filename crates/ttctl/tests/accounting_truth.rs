//! The ledger tells the chip's truth. Every test here compares three views: the monitor
//! (`ttctl mem --json`, a separate process reading the ledger), the allocator's own state,
//! and an independent sum of what the test itself holds, computed from the sizes it asked
//! for. Each case is one way the totals could be made to lie.

// Helpers outside #[test] functions: a failed step should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tt_accounting::{
    BankHealth, BankType, MemKind, Placement, PlacementGuard, PlacementRefused, PlacementTracker,
};
use tt_alloc::{Allocation, Allocator, AllocatorConfig, BufferRequest, Layout, Policy};
use tt_device::{Device, OpenOptions};
use tt_program::{builtin_kernel, Processor, Program, Runtime};
use tt_soc::{ChipUid, SocDescriptor};
use tt_track::{EventOp, TrackEvent, TrackObserver, Tracker};

/// The test's own directories and a tracker on its ledger.
struct Env {
    dirs: common::Env,
    tracker: Tracker,
}

impl Env {
    fn new() -> Env {
        let dirs = common::Env::new();
        let tracker = Tracker::with_ledger_dir(dirs.ledger.path()).unwrap();
        Env { dirs, tracker }
    }

    fn options(&self) -> OpenOptions {
        OpenOptions { sim_dir: Some(self.dirs.sim.path().to_path_buf()), ..Default::default() }
    }

    fn runtime(&self, spec: &str) -> Runtime {
        let device = Device::open_with(spec, &self.options()).unwrap();
        Runtime::with_device(device, &self.tracker).unwrap()
    }

    fn ttctl(&self, args: &[&str]) -> std::process::Output {
        self.dirs.ttctl(args)
    }

    /// The monitor's view of one chip (`None` when no live process counts it).
    fn monitor(&self, uid: ChipUid) -> Option<Value> {
        let out = self.ttctl(&["mem", "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["schema_version"], 3);
        v["devices"].as_array().unwrap().iter().find(|d| d["chip_uid"] == uid.to_string()).cloned()
    }
}

fn used(dev: &Value, kind: MemKind) -> u64 {
    dev["used"][kind.name()].as_u64().unwrap()
}

fn payload(dev: &Value, kind: MemKind) -> u64 {
    dev["payload"][kind.name()].as_u64().unwrap()
}

/// Bytes the allocator holds in one bank type, over all its banks.
fn allocator_bytes(rt: &Runtime, bank_type: BankType) -> u64 {
    rt.allocator().stats(bank_type).total_allocated()
}

/// The three views agree: per bank type, the monitor's reserved bytes of the kinds it holds
/// equal the allocator's allocated bytes; and the monitor equals the test's own sums.
fn assert_views_agree(env: &Env, rt: &Runtime, truth: &Truth, when: &str) {
    let dev = env.monitor(rt.device().chip_uid()).unwrap();
    let dram = used(&dev, MemKind::Dram);
    let l1 = used(&dev, MemKind::L1) + used(&dev, MemKind::Cb);
    assert_eq!(dram, allocator_bytes(rt, BankType::Dram), "{when}: DRAM, monitor vs allocator");
    assert_eq!(l1, allocator_bytes(rt, BankType::L1), "{when}: L1, monitor vs allocator");
    assert_eq!(used(&dev, MemKind::L1Small), allocator_bytes(rt, BankType::L1Small), "{when}");
    assert_eq!((dram, used(&dev, MemKind::L1)), (truth.dram.0, truth.l1.0), "{when}: vs test");
    assert_eq!(
        (payload(&dev, MemKind::Dram), payload(&dev, MemKind::L1)),
        (truth.dram.1, truth.l1.1),
        "{when}: payload vs test"
    );
    let memory = &dev["memory"]["dram"];
    assert_eq!(memory["free"].as_u64().unwrap(), memory["capacity"].as_u64().unwrap() - dram);
    assert_eq!(dev["integrity_errors"], 0, "{when}");
}

/// (reserved, payload) the test computed for what it holds, per pool.
#[derive(Default)]
struct Truth {
    dram: (u64, u64),
    l1: (u64, u64),
}

fn align(bytes: u64, to: u64) -> u64 {
    bytes.div_ceil(to) * to
}

fn request<'a>(
    bank_type: BankType,
    kind: MemKind,
    layout: Layout<'a>,
    owner: &'a str,
) -> BufferRequest<'a> {
    BufferRequest { bank_type, kind, layout, policy: Policy::default(), owner }
}

/// One interleaved page reserves its offset in all 12 DRAM banks; a one-core shard reserves
/// its range on all 80 cores. With both pools full, the monitor says so.
#[test]
fn used_is_what_the_allocator_took_up_to_out_of_memory() {
    let env = Env::new();
    let rt = env.runtime("sim:wormhole_b0:20");
    let uid = rt.device().chip_uid();
    let alloc = rt.allocator();
    let mut truth = Truth::default();
    let mut held: Vec<Allocation> = Vec::new();

    let page = alloc
        .allocate(&request(
            BankType::Dram,
            MemKind::Dram,
            Layout::Interleaved { page_size: 1 << 20, pages: 1 },
            "one page",
        ))
        .unwrap();
    truth.dram = (truth.dram.0 + 12 * (1 << 20), truth.dram.1 + (1 << 20));
    held.push(page);
    let core = [rt.worker_cores()[5]];
    let shard = alloc
        .allocate(&request(
            BankType::L1,
            MemKind::L1,
            Layout::Sharded { cores: &core, shard_size: 1000 },
            "one shard",
        ))
        .unwrap();
    truth.l1 = (truth.l1.0 + 80 * align(1000, 16), truth.l1.1 + 1000);
    held.push(shard);
    let odd = alloc
        .allocate(&request(
            BankType::Dram,
            MemKind::Dram,
            Layout::Interleaved { page_size: 2000, pages: 25 },
            "odd pages",
        ))
        .unwrap();
    // 2000-byte pages align to 2016; 25 pages over 12 banks: 3 pages' range in each bank.
    truth.dram = (truth.dram.0 + 12 * 3 * 2016, truth.dram.1 + 25 * 2000);
    held.push(odd);
    assert_views_agree(&env, &rt, &truth, "mixed buffers");
    let dev = env.monitor(uid).unwrap();
    assert_eq!(dev["l1_per_core"]["min"], dev["l1_per_core"]["max"], "lockstep: every core alike");

    // Fill DRAM with one-page buffers and L1 with one-core shards until each refuses.
    let fill = |bank_type, kind, layout: Layout<'_>, held: &mut Vec<Allocation>| -> u64 {
        let mut n = 0;
        while let Ok(a) = alloc.allocate(&request(bank_type, kind, layout, "filler")) {
            held.push(a);
            n += 1;
        }
        n
    };
    // Largest first, down to the alignment, so nothing a request could use is left over.
    let mut filled = (0, 0);
    for page in [64 << 20, 1 << 20, 32 << 10, 1 << 10, 32] {
        let layout = Layout::Interleaved { page_size: page, pages: 1 };
        let n = fill(BankType::Dram, MemKind::Dram, layout, &mut held);
        truth.dram = (truth.dram.0 + n * 12 * page, truth.dram.1 + n * page);
        filled.0 += n;
    }
    for shard in [64 << 10, 1 << 10, 16] {
        let layout = Layout::Sharded { cores: &core, shard_size: shard };
        let n = fill(BankType::L1, MemKind::L1, layout, &mut held);
        truth.l1 = (truth.l1.0 + n * 80 * shard, truth.l1.1 + n * shard);
        filled.1 += n;
    }
    assert!(filled.0 > 10 && filled.1 > 10, "{filled:?}");
    assert_views_agree(&env, &rt, &truth, "out of memory");

    let dev = env.monitor(uid).unwrap();
    let dram = &dev["memory"]["dram"];
    assert_eq!(dram["used"], dram["capacity"], "DRAM out of memory shows all of it used");
    assert_eq!(dram["free"], 0);
    // L1 holds the reserved area and the kernel region besides the buffers: all but the
    // kernel region's free space is used.
    let l1 = &dev["memory"]["l1"];
    let kernel_region_free = rt.allocator().stats(BankType::KernelRegion).total_free();
    assert_eq!(
        l1["free"].as_u64().unwrap(),
        kernel_region_free + rt.allocator().stats(BankType::L1Small).total_free()
    );
    // The monitor alone predicts the next failure: no block left anywhere in DRAM or L1.
    let health = &dev["allocator"]["dram"];
    assert_eq!(health["largest_free_per_bank"], 0, "{health}");
    assert_eq!(
        health["free"].as_u64().unwrap(),
        rt.allocator().stats(BankType::Dram).total_free(),
        "published free space is the allocator's"
    );
    assert_eq!(dev["allocator"]["l1"]["largest_free_per_bank"], 0);
    drop(held);
    assert_views_agree(&env, &rt, &Truth::default(), "all freed");
}

/// Panics at the n-th tracking event of a program load and drop, for every n: afterwards
/// the monitor, the allocator and the baseline agree.
#[test]
fn a_panic_at_any_event_of_a_program_load_strands_nothing() {
    struct PanicAt {
        events: AtomicUsize,
        at: usize,
    }
    impl TrackObserver for PanicAt {
        fn on_event(&self, event: &TrackEvent<'_>) {
            if self.events.fetch_add(1, Ordering::SeqCst) == self.at {
                panic!("observer panics at event {} ({:?})", self.at, event.op);
            }
        }
    }
    let env = Env::new();
    let rt = env.runtime("sim:wormhole_b0:21");
    let uid = rt.device().chip_uid();
    let baseline = env.monitor(uid).unwrap();
    let cores: Vec<_> = rt.worker_cores().into_iter().take(16).collect();
    let program = three_kernels("panicky", &cores);
    // 3 kernels + 1 config block + 4 CBs placed, then released: 16 events.
    let mut panics = 0;
    for at in 0..16 {
        let observer = Arc::new(PanicAt { events: AtomicUsize::new(0), at });
        let id = rt.tracker().subscribe(observer);
        let outcome = catch_unwind(AssertUnwindSafe(|| drop(program.load(&rt))));
        panics += usize::from(outcome.is_err());
        rt.tracker().unsubscribe(id);
        let now = env.monitor(uid).unwrap();
        for kind in MemKind::ALL {
            assert_eq!(used(&now, kind), used(&baseline, kind), "panic at event {at}: {kind}");
        }
        assert_eq!(allocator_bytes(&rt, BankType::L1), 0, "panic at event {at}");
        // SYSTEM also holds our firmware at the 5 reset pcs of every Tensix core, outside
        // the kernel region.
        let firmware = tt_program::firmware().unwrap().image().len() as u64;
        let firmware = 5 * firmware * rt.device().soc().tensix_cores().len() as u64;
        assert_eq!(
            allocator_bytes(&rt, BankType::KernelRegion),
            used(&baseline, MemKind::System) - fabric_bytes(&baseline, &rt) - firmware,
            "panic at event {at}: only the dispatch kernel in the kernel region"
        );
        assert_eq!(now["integrity_errors"], 0);
    }
    assert_eq!(panics, 16, "every event panicked once");
}

/// A tracker that panics right after the n-th placement it records: a panic inside
/// allocation, after the bytes were counted.
struct PanicAfterPlacing {
    inner: Tracker,
    placements: AtomicUsize,
    at: usize,
}

impl PlacementTracker for PanicAfterPlacing {
    fn placed(
        &self,
        placement: &Placement<'_>,
    ) -> Result<Box<dyn PlacementGuard>, PlacementRefused> {
        let guard = self.inner.placed(placement);
        if self.placements.fetch_add(1, Ordering::SeqCst) == self.at {
            panic!("injected panic after placement {}", self.at);
        }
        guard
    }

    fn allocator_health(&self, device: ChipUid, health: &BankHealth) {
        self.inner.allocator_health(device, health);
    }
}

#[test]
fn a_panic_inside_allocation_leaves_neither_a_range_nor_a_count() {
    let env = Env::new();
    let soc = SocDescriptor::builtin(tt_soc::Arch::WormholeB0);
    let uid = ChipUid(0x5EED);
    let info = tt_track::DeviceInfo::from_soc(uid, "", &soc);
    env.tracker.register_device(&info).unwrap();
    let tracker = Arc::new(PanicAfterPlacing {
        inner: env.tracker.clone(),
        placements: AtomicUsize::new(0),
        at: 3,
    });
    let alloc = Allocator::new(&soc, uid, AllocatorConfig::default(), tracker).unwrap();
    let mut held = Vec::new();
    for i in 0..6 {
        let request = request(
            BankType::Dram,
            MemKind::Dram,
            Layout::Interleaved { page_size: 4096, pages: 7 },
            "buffer",
        );
        match catch_unwind(AssertUnwindSafe(|| alloc.allocate(&request))) {
            Ok(placed) => held.push(placed.unwrap()),
            Err(_) => assert_eq!(i, 3, "only the injected placement panics"),
        }
    }
    let dev = env.monitor(uid).unwrap();
    let per_buffer = 12 * 4096;
    assert_eq!(held.len(), 5);
    assert_eq!(used(&dev, MemKind::Dram), 5 * per_buffer, "the panicked placement is not counted");
    assert_eq!(alloc.stats(BankType::Dram).total_allocated(), 5 * per_buffer, "nor allocated");
    assert_eq!(dev["live"]["dram"], 5);
    drop(held);
    let dev = env.monitor(uid).unwrap();
    assert_eq!((used(&dev, MemKind::Dram), alloc.stats(BankType::Dram).total_allocated()), (0, 0));
}

/// A raw allocation and an allocator clone keep the session, the chip lock and the ledger
/// slot: the chip can't be closed, reopened here or elsewhere, or handed out twice.
#[test]
fn memory_keeps_its_session_and_chip_until_the_last_handle_goes() {
    let env = Env::new();
    let spec = "sim:wormhole_b0:22";
    let rt = env.runtime(spec);
    let uid = rt.device().chip_uid();
    let raw = rt
        .allocator()
        .allocate(&request(
            BankType::Dram,
            MemKind::Dram,
            Layout::Interleaved { page_size: 1 << 20, pages: 24 },
            "raw buffer",
        ))
        .unwrap();
    let clone = rt.allocator().clone();
    let refused = rt.close().unwrap_err();
    assert_eq!(
        refused.live.allocations,
        vec![("raw buffer".to_owned(), BankType::Dram, raw.address())]
    );
    assert_eq!((refused.live.allocator_clones, refused.live.runtime_holders), (1, 0));
    let message = refused.to_string();
    assert!(message.contains("2 handle(s)") && message.contains("`raw buffer`"), "{message}");
    // Dropping the session handle does not close the chip under live memory.
    drop(refused.into_runtime());
    let busy = Device::open_with(spec, &env.options()).unwrap_err().to_string();
    assert!(busy.contains("busy"), "{busy}");
    let elsewhere = env.ttctl(&["run", "buffers", "--device", spec, "--iterations", "1"]);
    assert_eq!(elsewhere.status.code(), Some(1), "another process cannot take the chip");
    assert!(String::from_utf8_lossy(&elsewhere.stderr).contains("busy"));
    // The clone still allocates on the held chip, never over the live buffer.
    let second = clone
        .allocate(&request(
            BankType::Dram,
            MemKind::Dram,
            Layout::Interleaved { page_size: 1 << 20, pages: 24 },
            "second",
        ))
        .unwrap();
    assert_ne!(second.address(), raw.address());
    let dev = env.monitor(uid).unwrap();
    assert_eq!(used(&dev, MemKind::Dram), 2 * 24 * (1 << 20));
    assert!(dev["memory"]["dram"]["used"].as_u64() <= dev["memory"]["dram"]["capacity"].as_u64());
    drop((raw, second, clone));
    // Now the session is gone: the slot is closed and the chip free again.
    assert!(env.monitor(uid).is_none(), "nothing left counted after the last handle");
    let again = env.runtime(spec);
    again.close().unwrap();
}

/// Slots of closed devices are reused: a process can open far more than 16 chips in turn.
#[test]
fn a_process_opens_chip_after_chip_beyond_the_slot_count() {
    let env = Env::new();
    for id in 100..125 {
        let rt = env.runtime(&format!("sim:wormhole_b0:{id}"));
        if id % 5 == 0 {
            assert!(env.monitor(rt.device().chip_uid()).is_some(), "chip {id} visible while open");
        }
        rt.close().unwrap();
    }
    let out = env.ttctl(&["mem", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["devices"].as_array().unwrap().len(), 0);
    for id in 100..125 {
        assert!(env.ttctl(&["sim", "rm", &format!("sim:wormhole_b0:{id}")]).status.success());
    }
}

/// A placement with another tracker's slot is refused, counted on the device and shown.
#[test]
fn misuse_is_refused_counted_and_shown_by_the_monitor() {
    let env = Env::new();
    let rt = env.runtime("sim:wormhole_b0:23");
    let uid = rt.device().chip_uid();
    let other = Tracker::in_memory().unwrap();
    let soc = SocDescriptor::builtin(tt_soc::Arch::WormholeB0);
    let foreign = other.register_device(&tt_track::DeviceInfo::from_soc(uid, "", &soc)).unwrap();
    let spans = [tt_accounting::BankSpan { bank: 0, addr: 0, size: 64 }];
    let here = std::panic::Location::caller();
    assert!(env.tracker.record_place(foreign, MemKind::L1, &spans, "stray", here).is_err());
    let dev = env.monitor(uid).unwrap();
    assert_eq!(dev["integrity_errors"], 1);
    assert_eq!(dev["integrity"]["foreign_placements"], 1);
    assert_eq!(used(&dev, MemKind::L1), 0, "refused bytes are not counted");
}

/// The ledger's high-water marks are the true peaks, and reset to what is placed now.
#[test]
fn peaks_are_high_water_marks_and_reset() {
    let env = Env::new();
    let rt = env.runtime("sim:wormhole_b0:24");
    let uid = rt.device().chip_uid();
    let dram = |pages| {
        request(
            BankType::Dram,
            MemKind::Dram,
            Layout::Interleaved { page_size: 4096, pages },
            "peak",
        )
    };
    let big = rt.allocator().allocate(&dram(120)).unwrap();
    let small = rt.allocator().allocate(&dram(12)).unwrap();
    drop(big);
    let dev = env.monitor(uid).unwrap();
    assert_eq!(dev["peak"]["dram"], 132 * 4096);
    assert_eq!(used(&dev, MemKind::Dram), 12 * 4096);
    rt.reset_peaks().unwrap();
    let dev = env.monitor(uid).unwrap();
    assert_eq!(dev["peak"]["dram"], 12 * 4096);
    drop(small);
}

/// Every live placement is listed, with the caller's source line as provenance.
#[test]
fn leaks_lists_every_placement_with_the_callers_line() {
    let env = Env::new();
    let rt = env.runtime("sim:wormhole_b0:25");
    let cores: Vec<_> = rt.worker_cores().into_iter().take(4).collect();
    let line = line!() + 1;
    let loaded = three_kernels("listed", &cores).load(&rt).unwrap();
    let buffers: Vec<_> = (0..17)
        .map(|i| {
            rt.allocator()
                .allocate(&request(
                    BankType::L1,
                    MemKind::L1,
                    Layout::Interleaved { page_size: 256, pages: 1 + i },
                    "buffer",
                ))
                .unwrap()
        })
        .collect();
    let out = env.ttctl(&["leaks", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = v["processes"][0]["devices"][0]["live_records"].as_array().unwrap().clone();
    // 17 buffers, 3 kernels, a config block and 4 CBs; the baseline is left out.
    assert_eq!(records.len(), 17 + 3 + 1 + 4);
    assert!(records.iter().all(|r| r["kind"] != "system" && r["kind"] != "reserved"));
    let program_lines: Vec<_> = records
        .iter()
        .filter(|r| r["kind"] == "kernel" || r["kind"] == "cb")
        .map(|r| r["provenance"].as_str().unwrap().to_owned())
        .collect();
    let expected = format!("crates/ttctl/tests/accounting_truth.rs:{line}");
    assert!(program_lines.iter().all(|p| *p == expected), "{program_lines:?} vs {expected}");
    let all = env.ttctl(&["leaks", "--json", "--all"]);
    let v: Value = serde_json::from_slice(&all.stdout).unwrap();
    let with_baseline = v["processes"][0]["devices"][0]["live_records"].as_array().unwrap().len();
    assert_eq!(
        with_baseline,
        records.len() + 5,
        "RESERVED (Tensix and Ethernet), firmware, dispatch and fabric"
    );
    drop((loaded, buffers));
    match rt.close() {
        Ok(()) => {}
        Err(e) => panic!("{e}"),
    }
}

fn three_kernels(name: &str, cores: &[tt_soc::NocCoord]) -> Program {
    let mut p = Program::new(name);
    for (kernel, processor) in [
        ("reader", Processor::DataMovement0),
        ("compute_add", Processor::Compute0),
        ("writer", Processor::DataMovement1),
    ] {
        p.add_kernel(kernel, builtin_kernel(kernel).unwrap(), processor, cores);
    }
    for (index, pages) in [(0, 2), (1, 2), (2, 4), (3, 1)] {
        p.add_circular_buffer(index, cores, 1024, pages);
    }
    p
}

/// SYSTEM bytes on the Ethernet cores (the fabric kernel), from the monitor's per-core view.
/// SYSTEM bytes of the fabric kernel: what Ethernet L1 holds besides the firmware's areas,
/// which count as RESERVED on every Ethernet core.
fn fabric_bytes(dev: &Value, rt: &Runtime) -> u64 {
    let soc = rt.device().soc();
    let map = tt_soc::l1_map::L1Map::for_core(tt_soc::CoreKind::Ethernet, soc.eth_l1_size());
    let per_core: u64 = map.unwrap().firmware_owned().map(|r| r.end - r.start).sum();
    let firmware = per_core * soc.ethernet_cores().len() as u64;
    dev["memory"]["ethernet_l1"]["used"].as_u64().unwrap() - firmware
}

#[test]
fn the_event_kinds_observers_see_are_place_then_release() {
    let env = Env::new();
    let rt = env.runtime("sim:wormhole_b0:26");
    let capture = Arc::new(tt_track::GraphCapture::new());
    let id = rt.tracker().subscribe(capture.clone());
    let buffer = rt
        .allocator()
        .allocate(&request(
            BankType::Dram,
            MemKind::Dram,
            Layout::Interleaved { page_size: 64, pages: 1 },
            "b",
        ))
        .unwrap();
    drop(buffer);
    rt.tracker().unsubscribe(id);
    let ops: Vec<_> = capture.events().iter().map(|e| (e.op, e.bytes, e.payload_bytes)).collect();
    assert_eq!(ops, [(EventOp::Place, 12 * 64, 64), (EventOp::Release, 12 * 64, 64)]);
}
