//! Device allocator behaviour, checked through a recording tracker.

use std::sync::Arc;

use parking_lot::Mutex;
use tt_soc::{Arch, ChipUid, NocCoord, SocDescriptor};

use crate::*;
use tt_accounting::{
    BankClass, BankSpan, BankType, MemKind, NoTracking, Placement, PlacementGuard,
    PlacementRefused, PlacementTracker, Reservation,
};

/// One placement as the tracker saw it, and how many times its guard was dropped.
#[derive(Debug, Clone)]
struct Record {
    device: ChipUid,
    kind: MemKind,
    class: BankClass,
    reserved: Reservation,
    spans: Vec<BankSpan>,
    owner: String,
    file: &'static str,
    line: u32,
    releases: u32,
}

#[derive(Default)]
struct RecordingTracker {
    records: Arc<Mutex<Vec<Record>>>,
}

struct RecordingGuard {
    records: Arc<Mutex<Vec<Record>>>,
    id: usize,
}

impl PlacementGuard for RecordingGuard {}

impl Drop for RecordingGuard {
    fn drop(&mut self) {
        self.records.lock()[self.id].releases += 1;
    }
}

impl PlacementTracker for RecordingTracker {
    fn placed(&self, p: &Placement<'_>) -> Result<Box<dyn PlacementGuard>, PlacementRefused> {
        let mut records = self.records.lock();
        records.push(Record {
            device: p.device,
            kind: p.kind,
            class: p.class,
            reserved: p.reserved,
            spans: p.spans.to_vec(),
            owner: p.owner.to_string(),
            file: p.provenance.file(),
            line: p.provenance.line(),
            releases: 0,
        });
        Ok(Box::new(RecordingGuard { records: Arc::clone(&self.records), id: records.len() - 1 }))
    }
}

const DEVICE: ChipUid = ChipUid(0x77);

fn wormhole(config: AllocatorConfig) -> (Allocator, Arc<Mutex<Vec<Record>>>) {
    let tracker = RecordingTracker::default();
    let records = Arc::clone(&tracker.records);
    let soc = SocDescriptor::builtin(Arch::WormholeB0);
    (Allocator::new(&soc, DEVICE, config, Arc::new(tracker)).unwrap(), records)
}

fn request<'a>(bank_type: BankType, kind: MemKind, layout: Layout<'a>) -> BufferRequest<'a> {
    BufferRequest { bank_type, kind, layout, policy: Policy::default(), owner: "test buffer" }
}

fn dram(page_size: u64, pages: u64) -> BufferRequest<'static> {
    request(BankType::Dram, MemKind::Dram, Layout::Interleaved { page_size, pages })
}

const L1_BASE: u64 = 0x48000;
const L1_TOP: u64 = 1_499_136 - 32 * 1024;

#[test]
fn interleaved_dram_reports_the_pages_each_bank_holds_and_releases_once() {
    let (alloc, records) = wormhole(AllocatorConfig::default());
    let line = line!() + 1;
    let a = alloc.allocate(&dram(2000, 30)).unwrap();
    // 2000-byte pages align to 2016; 30 pages over 12 banks: 3 in banks 0-5, 2 in 6-11.
    // Every bank reserves 3 aligned pages; the payload is the pages asked for.
    let expected: Vec<BankSpan> = (0..12)
        .map(|bank| BankSpan { bank, addr: 0, size: if bank < 6 { 3 * 2000 } else { 2 * 2000 } })
        .collect();
    assert_eq!((a.address(), a.size_per_bank(), a.spans()), (0, 3 * 2016, &expected[..]));
    assert_eq!(
        (a.total_bytes(), a.reserved_bytes(), a.kind(), a.bank_type(), a.device()),
        (60_000, 12 * 3 * 2016, MemKind::Dram, BankType::Dram, DEVICE)
    );
    {
        let recs = records.lock();
        let r = &recs[0];
        assert_eq!(
            (r.device, r.kind, &r.spans, r.owner.as_str()),
            (DEVICE, MemKind::Dram, &expected, "test buffer")
        );
        assert_eq!(
            (r.class, r.reserved),
            (BankClass::Dram, Reservation::EveryBank { per_bank: 3 * 2016, banks: 12 })
        );
        assert_eq!((r.file, r.line, r.releases), (file!(), line, 0), "provenance is the caller");
    }
    assert_eq!(alloc.stats(BankType::Dram).allocated_per_bank, 3 * 2016);
    drop(a);
    assert_eq!(records.lock()[0].releases, 1);
    let s = alloc.stats(BankType::Dram);
    assert_eq!((s.allocated_per_bank, s.free_blocks, s.allocated_blocks), (0, 1, 0));
    assert_eq!(alloc.integrity_errors(), 0);
}

#[test]
fn interleaved_pages_go_round_robin_at_the_aligned_page_size() {
    let (alloc, _) = wormhole(AllocatorConfig::default());
    // 1000-byte pages align to 1024 in DRAM; 25 pages over Wormhole's 12 banks.
    let a = alloc.allocate(&dram(1000, 25)).unwrap();
    assert_eq!(a.page_location(0), Some((0, a.address())));
    assert_eq!(a.page_location(13), Some((1, a.address() + 1024)));
    assert_eq!(a.page_location(24), Some((0, a.address() + 2048)));
    assert_eq!(a.page_location(36), None, "past the buffer's reservation");
    let cores = [NocCoord::new(1, 1)];
    let sharded =
        request(BankType::L1, MemKind::L1, Layout::Sharded { cores: &cores, shard_size: 64 });
    assert_eq!(alloc.allocate(&sharded).unwrap().page_location(0), None, "shards have no pages");
}

#[test]
fn sharded_l1_holds_payload_on_listed_cores_and_reserves_every_core() {
    let (alloc, records) = wormhole(AllocatorConfig::default());
    let cores = [NocCoord::new(1, 1), NocCoord::new(3, 2), NocCoord::new(9, 11)];
    let mut req =
        request(BankType::L1, MemKind::L1, Layout::Sharded { cores: &cores, shard_size: 1000 });
    let a = alloc.allocate(&req).unwrap();
    let banks: Vec<u32> = cores.iter().map(|c| alloc.core_bank(*c).unwrap()).collect();
    assert_eq!(banks, vec![0, 10, 79]);
    let spans: Vec<BankSpan> =
        banks.iter().map(|&bank| BankSpan { bank, addr: L1_BASE, size: 1000 }).collect();
    assert_eq!((a.address(), a.spans()), (L1_BASE, &spans[..]));
    // Three shards' payload, but the 1008-byte range is gone from all 80 cores.
    assert_eq!((a.total_bytes(), a.reserved_bytes()), (3000, 80 * 1008));
    req.policy = Policy::TopDown;
    let b = alloc.allocate(&req).unwrap();
    assert_eq!(b.address(), L1_TOP - 1008);
    {
        let recs = records.lock();
        assert_eq!(recs[1].spans.iter().map(|s| s.size).sum::<u64>(), 3 * 1000);
        assert_eq!(
            (recs[1].class, recs[1].reserved),
            (BankClass::Tensix, Reservation::EveryBank { per_bank: 1008, banks: 80 })
        );
    }
    drop((a, b));
    assert!(records.lock().iter().all(|r| r.releases == 1));
}

#[test]
fn every_bank_type_places_at_its_own_region() {
    let (alloc, _) = wormhole(AllocatorConfig { l1_small_size: 64 * 1024, trace_size: 1 << 20 });
    let core = [NocCoord::new(1, 1)];
    let shard = |bank_type, kind| {
        request(bank_type, kind, Layout::Sharded { cores: &core, shard_size: 64 })
    };
    let small = alloc.allocate(&shard(BankType::L1Small, MemKind::L1Small)).unwrap();
    let kernel = alloc.allocate(&shard(BankType::KernelRegion, MemKind::Kernel)).unwrap();
    let system = alloc.allocate(&shard(BankType::KernelRegion, MemKind::System)).unwrap();
    let cb = alloc.allocate(&shard(BankType::L1, MemKind::Cb)).unwrap();
    let trace = alloc
        .allocate(&request(
            BankType::Trace,
            MemKind::Trace,
            Layout::Interleaved { page_size: 64, pages: 12 },
        ))
        .unwrap();
    let addrs =
        [small.address(), kernel.address(), system.address(), cb.address(), trace.address()];
    assert_eq!(addrs, [1_499_136 - 65536, 0x18000, 0x18040, L1_BASE, (1 << 30) - (1 << 20)]);
}

#[test]
fn kinds_outside_their_bank_type_are_refused() {
    let (alloc, records) = wormhole(AllocatorConfig::default());
    let core = [NocCoord::new(1, 1)];
    for (bank_type, kind) in [
        (BankType::KernelRegion, MemKind::L1),
        (BankType::L1Small, MemKind::Cb),
        (BankType::Dram, MemKind::Trace),
        (BankType::L1, MemKind::Reserved),
    ] {
        let err = alloc
            .allocate(&request(bank_type, kind, Layout::Sharded { cores: &core, shard_size: 16 }))
            .unwrap_err();
        assert_eq!(
            err,
            AllocError::KindNotValid { kind, bank_type, allowed: bank_type.accepted_kinds() }
        );
    }
    let msg = alloc.allocate(&request(
        BankType::L1,
        MemKind::Kernel,
        Layout::Interleaved { page_size: 1, pages: 1 },
    ));
    let msg = msg.unwrap_err().to_string();
    assert!(
        msg.contains("`kernel` cannot be placed in l1") && msg.contains("`l1` and `cb`"),
        "{msg}"
    );
    assert!(records.lock().is_empty(), "refused requests reach no tracker");
}

#[test]
fn out_of_memory_and_fragmentation_name_bank_type_and_device() {
    let (alloc, _) = wormhole(AllocatorConfig::default());
    let per_bank = (1u64 << 30) / 4;
    let quarters: Vec<Allocation> =
        (0..4).map(|_| alloc.allocate(&dram(per_bank, 12)).unwrap()).collect();
    let err = alloc.allocate(&dram(32, 12)).unwrap_err();
    assert_eq!(
        err,
        AllocError::OutOfMemory {
            device: DEVICE,
            bank_type: BankType::Dram,
            requested: 32,
            free: 0
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("out of dram memory on device 0x0000000000000077")
            && msg.contains("free dram buffers"),
        "{msg}"
    );
    let mut quarters = quarters.into_iter();
    let (first, _second, third) = (quarters.next(), quarters.next(), quarters.next());
    drop((first, third));
    let err = alloc.allocate(&dram(per_bank * 2, 12)).unwrap_err();
    assert_eq!(
        err,
        AllocError::Fragmented {
            device: DEVICE,
            bank_type: BankType::Dram,
            requested: per_bank * 2,
            free: per_bank * 2,
            largest_free_block: per_bank
        }
    );
    assert!(err.to_string().contains("largest free block is 268435456 bytes"), "{err}");
}

#[test]
fn bad_requests_are_refused_with_what_was_found() {
    let (alloc, _) = wormhole(AllocatorConfig::default());
    let sharded = |core: NocCoord| {
        let cores = [core];
        alloc.allocate(&request(
            BankType::L1,
            MemKind::L1,
            Layout::Sharded { cores: &cores, shard_size: 16 },
        ))
    };
    let found = |core| match sharded(core) {
        Err(AllocError::NotATensixCore { found, .. }) => found,
        other => panic!("{other:?}"),
    };
    assert_eq!(found(NocCoord::new(0, 0)), "dram");
    assert_eq!(found(NocCoord::new(9, 0)), "ethernet");
    assert_eq!(found(NocCoord::new(40, 40)), "outside the grid");
    let err = alloc.allocate(&request(
        BankType::Trace,
        MemKind::Trace,
        Layout::Interleaved { page_size: 32, pages: 1 },
    ));
    assert_eq!(
        err.unwrap_err(),
        AllocError::EmptyRegion { device: DEVICE, bank_type: BankType::Trace }
    );
    assert_eq!(
        alloc.allocate(&dram(0, 1)).unwrap_err(),
        AllocError::ZeroPageSize { bank_type: BankType::Dram }
    );
    let a = alloc.allocate(&dram(64, 12)).unwrap();
    let mut exact = dram(64, 12);
    exact.policy = Policy::At(a.address());
    let err = alloc.allocate(&exact).unwrap_err();
    assert!(matches!(
        err,
        AllocError::Placement { source: RangeError::Overlap { .. }, bank_type: BankType::Dram, .. }
    ));
    exact.policy = Policy::At(48);
    let err = alloc.allocate(&exact).unwrap_err();
    assert!(err.to_string().contains("0x30 is not a multiple of the alignment 32"), "{err}");
    exact.policy = Policy::At(64);
    assert_eq!(alloc.allocate(&exact).unwrap().address(), 64);
}

#[test]
fn harvested_cores_are_not_banks() {
    // Bit 9: the tenth Tensix row in NOC0 order, row 11 (tt-umd's mask convention).
    let soc = SocDescriptor::builtin(Arch::WormholeB0).with_harvesting(1 << 9).unwrap();
    let alloc =
        Allocator::new(&soc, DEVICE, AllocatorConfig::default(), Arc::new(NoTracking)).unwrap();
    assert_eq!(alloc.bank_count(BankType::L1), 72);
    assert_eq!(alloc.bank_count(BankType::KernelRegion), 72);
    assert_eq!(alloc.bank_count(BankType::Dram), 12);
    let cores = [NocCoord::new(1, 11)];
    let err = alloc
        .allocate(&request(
            BankType::L1,
            MemKind::L1,
            Layout::Sharded { cores: &cores, shard_size: 16 },
        ))
        .unwrap_err();
    assert_eq!(
        err,
        AllocError::NotATensixCore { device: DEVICE, core: cores[0], found: "harvested tensix" }
    );
    assert_eq!(alloc.bank_core(0), Some(NocCoord::new(1, 1)));
    assert_eq!(alloc.bank_core(72), None);
    assert_eq!(alloc.core_bank(NocCoord::new(1, 11)), None);
}

#[test]
fn device_queries_answer_from_the_descriptor() {
    let soc = SocDescriptor::builtin(Arch::Blackhole);
    let alloc =
        Allocator::new(&soc, DEVICE, AllocatorConfig::default(), Arc::new(NoTracking)).unwrap();
    assert_eq!(
        (alloc.device(), alloc.alignment(BankType::Dram), alloc.alignment(BankType::L1)),
        (DEVICE, 64, 16)
    );
    assert_eq!(alloc.bank_count(BankType::L1), 140);
    assert_eq!(alloc.dram_bank(7).map(|b| (b.channel, b.offset)), Some((7, 0)));
    assert_eq!(alloc.dram_bank(8), None);
    assert!(format!("{alloc:?}").contains("Blackhole"));
}

#[test]
fn stats_and_json_dump_show_blocks_with_owners() {
    let (alloc, _) = wormhole(AllocatorConfig::default());
    let mut req = dram(1024, 24);
    req.owner = "weights";
    let a = alloc.allocate(&req).unwrap();
    let s = alloc.stats(BankType::Dram);
    let expected = BankStats {
        bank_type: BankType::Dram,
        bank_count: 12,
        base: 0,
        bank_size: 1 << 30,
        allocated_per_bank: 2048,
        free_per_bank: (1 << 30) - 2048,
        largest_free_block: Some(FreeBlock { addr: 2048, size: (1 << 30) - 2048 }),
        free_blocks: 1,
        allocated_blocks: 1,
    };
    assert_eq!(s, expected);
    assert_eq!(
        (s.total_allocatable(), s.total_allocated(), s.total_free()),
        (12 << 30, 12 * 2048, (12 << 30) - 12 * 2048)
    );
    let blocks = alloc.blocks(BankType::Dram);
    assert_eq!(blocks[0].owner.as_deref(), Some("weights"));
    let json = alloc.dump_json(BankType::Dram);
    assert_eq!(json["device"], "0x0000000000000077");
    assert_eq!(json["bank_type"], "dram");
    assert_eq!(json["stats"]["allocated_per_bank"], 2048);
    assert_eq!(json["stats"]["largest_free_block"]["addr"], 2048);
    assert_eq!(
        json["blocks"],
        serde_json::json!([
            {"address": 0, "size": 2048, "allocated": true, "owner": "weights", "kind": "dram"},
            {"address": 2048, "size": (1u64 << 30) - 2048, "allocated": false, "owner": null, "kind": null},
        ])
    );
    drop(a);
    assert_eq!(alloc.dump_json(BankType::Dram)["blocks"].as_array().map(Vec::len), Some(1));
    assert!(format!("{:?}", alloc.allocate(&req).unwrap()).contains("address: 0x0"));
}

#[test]
fn threads_share_one_allocator_and_every_release_happens_once() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Allocator>();
    assert_send_sync::<Allocation>();
    let (alloc, records) = wormhole(AllocatorConfig::default());
    std::thread::scope(|scope| {
        for t in 0..4u64 {
            let alloc = alloc.clone();
            scope.spawn(move || {
                let bank_type = if t % 2 == 0 { BankType::Dram } else { BankType::L1 };
                let kind = if t % 2 == 0 { MemKind::Dram } else { MemKind::L1 };
                let mut live = Vec::new();
                for i in 0..200u64 {
                    let layout =
                        Layout::Interleaved { page_size: 32 + i % 7 * 16, pages: 1 + i % 13 };
                    live.push(alloc.allocate(&request(bank_type, kind, layout)).unwrap());
                    if i % 3 == 0 {
                        live.swap_remove((i as usize * 7) % live.len());
                    }
                }
            });
        }
    });
    let records = records.lock();
    assert_eq!(records.len(), 800);
    assert!(records.iter().all(|r| r.releases == 1), "each guard dropped exactly once");
    for bank_type in [BankType::Dram, BankType::L1] {
        let s = alloc.stats(bank_type);
        assert_eq!((s.allocated_per_bank, s.free_blocks, s.allocated_blocks), (0, 1, 0));
    }
}
