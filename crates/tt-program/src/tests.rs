use tt_accounting::MemKind;
use tt_device::{Device, OpenOptions};
use tt_track::Tracker;

use crate::{builtin_kernel, Processor, Program, ProgramError, Runtime};

struct Fixture {
    _sim: tempfile::TempDir,
    _ledger: tempfile::TempDir,
    tracker: Tracker,
    sim_dir: std::path::PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let sim = tempfile::tempdir().unwrap();
        let ledger = tempfile::tempdir().unwrap();
        let tracker = Tracker::with_ledger_dir(ledger.path()).unwrap();
        let sim_dir = sim.path().to_path_buf();
        Fixture { _sim: sim, _ledger: ledger, tracker, sim_dir }
    }

    fn runtime(&self, spec: &str) -> Runtime {
        let options = OpenOptions { sim_dir: Some(self.sim_dir.clone()), ..Default::default() };
        Runtime::with_device(Device::open_with(spec, &options).unwrap(), &self.tracker).unwrap()
    }

    /// Used (reserved) bytes per kind of `rt`'s device, as this process's ledger shows them.
    fn used(&self, rt: &Runtime) -> [u64; MemKind::COUNT] {
        self.per_kind(rt, |u| u.used_bytes)
    }

    /// Payload bytes per kind of `rt`'s device, as this process's ledger shows them.
    fn payload(&self, rt: &Runtime) -> [u64; MemKind::COUNT] {
        self.per_kind(rt, |u| u.payload_bytes)
    }

    fn per_kind(
        &self,
        rt: &Runtime,
        figure: impl Fn(&tt_track::KindUsage) -> u64,
    ) -> [u64; MemKind::COUNT] {
        let view = self.tracker.snapshot().unwrap();
        let mut out = [0; MemKind::COUNT];
        if let Some(dev) = view.devices.iter().find(|d| d.uid == rt.device().chip_uid() && d.open) {
            for k in MemKind::ALL {
                out[k.index()] = figure(dev.kind(k));
            }
        }
        out
    }
}

fn three_kernel_program(name: &str, rt: &Runtime, cores: usize) -> Program {
    let cores: Vec<_> = rt.worker_cores().into_iter().take(cores).collect();
    let mut p = Program::new(name);
    let r =
        p.add_kernel("reader", builtin_kernel("reader").unwrap(), Processor::DataMovement0, &cores);
    p.add_kernel("compute", builtin_kernel("compute_add").unwrap(), Processor::Compute0, &cores);
    p.add_kernel("writer", builtin_kernel("writer").unwrap(), Processor::DataMovement1, &cores);
    p.set_common_args(r, &[0; 8]).unwrap();
    for (i, pages) in [(0, 2), (1, 2), (2, 4), (3, 1)] {
        p.add_circular_buffer(i, &cores, 2048, pages);
    }
    p
}

#[test]
fn session_places_reserved_and_system_and_close_releases_them() {
    let f = Fixture::new();
    let rt = f.runtime("sim:wormhole_b0");
    let used = f.used(&rt);
    // The reserved area of each of the 80 Tensix cores, less the firmware at 5 reset pcs,
    // which is SYSTEM with its exact size.
    let firmware = crate::firmware().unwrap().image().len() as u64;
    // Plus the Ethernet firmware's areas of each of the 16 Ethernet cores (tt-metal wormhole
    // eth_l1_address_map.h): the base firmware and its words below FIRMWARE_BASE 0x9040, the
    // routing firmware's 28 KiB at 0x11000 and the config space from 0x3DC00 to 256 KiB.
    let eth_reserved = 0x9040 + 28 * 1024 + (0x40000 - 0x3DC00);
    assert_eq!(eth_reserved, 74_816);
    assert_eq!(used[MemKind::Reserved.index()], 80 * (0x18000 - 5 * firmware) + 16 * eth_reserved);
    let dispatch = builtin_kernel("dispatch").unwrap().placed_bytes();
    let fabric = crate::KernelImage::from_elf(
        "f",
        include_bytes!("../../../kernels/elf/fabric.elf"),
        0x18000,
    )
    .unwrap()
    .placed_bytes();
    // The dispatch kernel's range is gone from the lockstep kernel region of all 80 cores,
    // though it sits on 2; the fabric kernel reserves its image on each Ethernet core; the
    // firmware is its exact size at each of the 5 reset pcs of the 80 Tensix cores.
    let firmware_bytes = 80 * 5 * firmware;
    assert!(fabric <= 0x11000 - 0x9040, "the fabric kernel fits below the routing firmware");
    assert_eq!(used[MemKind::System.index()], 80 * dispatch + 16 * fabric + firmware_bytes);
    let payload = f.payload(&rt);
    let fabric_image = include_bytes!("../../../kernels/elf/fabric.elf");
    let fabric_payload =
        crate::KernelImage::from_elf("f", fabric_image, 0x18000).unwrap().image().len() as u64;
    let system_payload = 2 * dispatch + 16 * fabric_payload + firmware_bytes;
    assert_eq!(payload[MemKind::System.index()], system_payload);
    assert_eq!(rt.dispatch_cores().len(), 2);
    assert_eq!(rt.worker_cores().len(), 78);
    for k in [MemKind::Dram, MemKind::L1, MemKind::Cb, MemKind::Kernel] {
        assert_eq!(used[k.index()], 0, "{k}");
    }
    let uid = rt.device().chip_uid();
    rt.close().unwrap();
    let view = f.tracker.snapshot().unwrap();
    let dev = view.devices.iter().find(|d| d.uid == uid).unwrap();
    assert!(!dev.open);
    assert_eq!(dev.used_bytes(), 0, "closing the device releases everything it placed");
}

#[test]
fn program_drop_frees_exactly_what_load_placed() {
    let f = Fixture::new();
    let rt = f.runtime("sim:wormhole_b0");
    let baseline = f.used(&rt);
    let program = three_kernel_program("p", &rt, 64);
    let loaded = program.load(&rt).unwrap();
    let (used, payload) = (f.used(&rt), f.payload(&rt));
    assert_eq!(used[MemKind::Kernel.index()], loaded.kernel_bytes());
    assert_eq!(payload[MemKind::Kernel.index()], loaded.kernel_payload_bytes());
    assert!(
        loaded.kernel_payload_bytes() > program.kernel_binary_bytes(),
        "binaries plus config blocks"
    );
    // CBs on 64 cores reserve their L1 range on all 80.
    assert_eq!(payload[MemKind::Cb.index()], program.circular_buffer_bytes(16));
    assert_eq!(payload[MemKind::Cb.index()], 64 * 2048 * (2 + 2 + 4 + 1));
    assert_eq!(used[MemKind::Cb.index()], 80 * 2048 * (2 + 2 + 4 + 1));
    assert_eq!(used[MemKind::Cb.index()], loaded.circular_buffer_bytes());
    assert_eq!(used[MemKind::System.index()], baseline[MemKind::System.index()]);
    // A second load of the same program is a second set of placements.
    let again = program.load(&rt).unwrap();
    assert_eq!(f.used(&rt)[MemKind::Kernel.index()], 2 * loaded.kernel_bytes());
    drop(loaded);
    assert_eq!(f.used(&rt)[MemKind::Kernel.index()], again.kernel_bytes());
    again.unload();
    assert_eq!(f.used(&rt), baseline);
    let view = f.tracker.snapshot().unwrap();
    let dev = view.devices.iter().find(|d| d.uid == rt.device().chip_uid()).unwrap();
    assert_eq!(dev.integrity.total(), 0);
}

#[test]
fn loads_on_two_devices_are_counted_per_device() {
    let f = Fixture::new();
    let wh = f.runtime("sim:wormhole_b0:1");
    let bh = f.runtime("sim:blackhole:1");
    let (wh0, bh0) = (f.used(&wh), f.used(&bh));
    let on_wh = three_kernel_program("x", &wh, 8).load(&wh).unwrap();
    let on_bh = three_kernel_program("x", &bh, 16).load(&bh).unwrap();
    // Reserved on every Tensix core of each chip (80 and 140), payload on the cores used.
    assert_eq!(f.used(&wh)[MemKind::Cb.index()], 80 * 2048 * 9);
    assert_eq!(f.used(&bh)[MemKind::Cb.index()], 140 * 2048 * 9);
    assert_eq!(f.payload(&wh)[MemKind::Cb.index()], 8 * 2048 * 9);
    assert_eq!(f.payload(&bh)[MemKind::Cb.index()], 16 * 2048 * 9);
    drop(on_wh);
    assert_eq!(f.used(&wh), wh0);
    assert_eq!(f.used(&bh)[MemKind::Cb.index()], 140 * 2048 * 9);
    drop(on_bh);
    assert_eq!(f.used(&bh), bh0);
}

#[test]
fn a_failed_load_leaves_nothing_behind() {
    let f = Fixture::new();
    let rt = f.runtime("sim:wormhole_b0");
    let baseline = f.used(&rt);
    let cores: Vec<_> = rt.worker_cores().into_iter().take(4).collect();
    let mut p = three_kernel_program("big", &rt, 4);
    // 2 MiB per core cannot fit in L1: the kernels are placed first, then this fails.
    p.add_circular_buffer(7, &cores, 1 << 20, 2);
    let err = p.load(&rt).unwrap_err();
    assert!(matches!(err, ProgramError::Alloc { .. }), "{err}");
    assert!(err.to_string().contains("big"), "{err}");
    assert_eq!(f.used(&rt), baseline);
}

#[test]
fn bad_programs_are_refused_with_the_reason() {
    let f = Fixture::new();
    let rt = f.runtime("sim:wormhole_b0");
    let k = builtin_kernel("tight_loop").unwrap();
    let mut clash = Program::new("clash");
    let cores = rt.worker_cores();
    clash.add_kernel("a", k.clone(), Processor::DataMovement0, &cores[..2]);
    clash.add_kernel("b", k.clone(), Processor::DataMovement0, &cores[1..3]);
    let err = clash.load(&rt).unwrap_err().to_string();
    assert!(err.contains("`a`") && err.contains("`b`") && err.contains("processor 0"), "{err}");
    let mut on_dispatch = Program::new("d");
    on_dispatch.add_kernel("a", k.clone(), Processor::DataMovement0, &[rt.dispatch_cores()[0]]);
    assert!(matches!(on_dispatch.load(&rt), Err(ProgramError::BadCore { .. })));
    let mut on_dram = Program::new("dram");
    on_dram.add_kernel("a", k.clone(), Processor::DataMovement0, &[tt_soc::NocCoord::new(0, 0)]);
    assert!(matches!(on_dram.load(&rt), Err(ProgramError::BadCore { .. })));
    assert!(Program::new("empty").load(&rt).unwrap_err().to_string().contains("no kernels"));
    let mut p = Program::new("args");
    let id = p.add_kernel("a", k, Processor::DataMovement0, &cores[..1]);
    assert!(p.set_runtime_args(id, cores[5], &[1]).is_err());
}

#[test]
fn close_is_refused_while_programs_live() {
    let f = Fixture::new();
    let rt = f.runtime("sim:wormhole_b0");
    let loaded = three_kernel_program("p", &rt, 2).load(&rt).unwrap();
    let err = rt.clone().close().unwrap_err().to_string();
    assert!(err.contains("drop them first"), "{err}");
    // The program's kernel and CB records are its own, not raw records of the session.
    assert!(!err.contains("made through the session's tracker slot"), "{err}");
    drop(loaded);
    rt.close().unwrap();
}

#[test]
fn run_executes_kernels_and_reports_failures_by_name() {
    let f = Fixture::new();
    let rt = f.runtime("sim:wormhole_b0");
    let cores: Vec<_> = rt.worker_cores().into_iter().take(4).collect();
    let mut ok = Program::new("loop");
    let id = ok.add_kernel(
        "count",
        builtin_kernel("tight_loop").unwrap(),
        Processor::DataMovement0,
        &cores,
    );
    ok.set_common_args(id, &[1000]).unwrap();
    let outcomes = ok.load(&rt).unwrap().run().unwrap();
    assert_eq!(outcomes.len(), 4);
    for o in &outcomes {
        match o {
            tt_device::LaunchOutcome::Done { exit_code, .. } => assert_eq!(*exit_code, 0),
            other => panic!("{other:?}"),
        }
    }
    let mut bad = Program::new("bad");
    bad.add_kernel(
        "misaligned",
        builtin_kernel("fault").unwrap(),
        Processor::Compute1,
        &cores[..1],
    );
    let err = bad.load(&rt).unwrap().run().unwrap_err().to_string();
    assert!(err.contains("`misaligned`") && err.contains("processor 3"), "{err}");
    assert!(err.to_lowercase().contains("misaligned"), "{err}");
    let mut runaway = Program::new("runaway");
    runaway.add_kernel(
        "spin",
        builtin_kernel("spin").unwrap(),
        Processor::DataMovement1,
        &cores[..1],
    );
    let limits = tt_device::ExecLimits { timeout: std::time::Duration::from_millis(300) };
    let err = runaway.load(&rt).unwrap().run_with(&limits).unwrap_err().to_string();
    assert!(err.contains("`spin`") && err.contains("did not finish"), "{err}");
    // The runaway's core was restarted: its firmware takes the next launch.
    assert_eq!(ok.load(&rt).unwrap().run().unwrap().len(), 4);
    // Failed runs still free exactly what their loads placed.
    assert_eq!(f.used(&rt)[MemKind::Kernel.index()], 0);
}

#[test]
fn programs_on_the_same_cores_run_from_several_threads_one_at_a_time() {
    let f = Fixture::new();
    let rt = f.runtime("sim:wormhole_b0");
    let cores: Vec<_> = rt.worker_cores().into_iter().take(8).collect();
    std::thread::scope(|s| {
        for t in 0..3 {
            let (rt, cores) = (&rt, &cores);
            s.spawn(move || {
                let mut p = Program::new(format!("t{t}"));
                let id = p.add_kernel(
                    "count",
                    builtin_kernel("tight_loop").unwrap(),
                    Processor::DataMovement0,
                    cores,
                );
                p.set_common_args(id, &[500]).unwrap();
                let loaded = p.load(rt).unwrap();
                for _ in 0..5 {
                    assert_eq!(loaded.run().unwrap().len(), 8);
                }
            });
        }
    });
}

#[test]
fn interleaved_buffers_round_trip_and_spread_pages_over_banks() {
    let f = Fixture::new();
    let rt = f.runtime("sim:blackhole");
    let buf = crate::Buffer::dram(&rt, 64, 21, "test buffer").unwrap();
    let data: Vec<u8> = (0..buf.len()).map(|i| (i * 7) as u8).collect();
    buf.write(&data).unwrap();
    let mut back = vec![0; data.len()];
    buf.read(&mut back).unwrap();
    assert_eq!(back, data);
    // Page 9 is the second page of bank 1 (8 banks on Blackhole).
    let mut page = [0u8; 64];
    rt.device().read_dram_bank(tt_device::DramBankId(1), buf.address() + 64, &mut page).unwrap();
    assert_eq!(&page[..], &data[9 * 64..10 * 64]);
    // 21 pages over 8 banks: every bank reserves 3 pages' range, 24 in all.
    assert_eq!(f.used(&rt)[MemKind::Dram.index()], 8 * 3 * 64);
    assert_eq!(f.payload(&rt)[MemKind::Dram.index()], 21 * 64);
    assert!(crate::Buffer::dram(&rt, 40, 1, "odd").is_err(), "40 is not 64-aligned");
    assert!(buf.write(&vec![0; 22 * 64]).is_err());
    drop(buf);
    assert_eq!(f.used(&rt)[MemKind::Dram.index()], 0);
    let table = crate::dram_bank_table(&rt);
    assert_eq!(table.len(), 8 * 16);
    assert_eq!(&table[..8], &[0, 0, 0, 0, 0, 0, 0, 0], "bank 0: endpoint (0, 0)");
}

#[test]
fn example_workloads_compute_the_right_results() {
    let f = Fixture::new();
    let rt = f.runtime("sim:wormhole_b0");
    let baseline = f.used(&rt);
    let mut loads = 0;
    let mut count = || loads += 1;
    for run in [crate::workloads::loopback, crate::workloads::add, crate::workloads::reduce] {
        let report = run(&rt, 1, &mut count).unwrap();
        assert_eq!(report.runs, 1);
        assert!(report.bytes > 0 && report.kernel_time > std::time::Duration::ZERO);
    }
    assert_eq!(loads, 3, "each workload reports its peak once, after loading");
    assert_eq!(f.used(&rt), baseline);
}

/// Bring-up (at open), loopback and add on a card: the same code paths as the simulator
/// tests above, through the firmware and L1 messages only.
#[test]
#[ignore = "needs a Tenstorrent card (/dev/tenstorrent/0); not validated on hardware"]
fn workloads_run_on_a_card() {
    let f = Fixture::new();
    let rt = f.runtime("/dev/tenstorrent/0");
    let baseline = f.used(&rt);
    for run in [crate::workloads::loopback, crate::workloads::add] {
        assert_eq!(run(&rt, 1, &mut || {}).unwrap().runs, 1);
    }
    assert_eq!(f.used(&rt), baseline);
}

#[test]
fn one_buffer_type_for_dram_and_l1_interleaved_or_sharded() {
    use tt_accounting::BankType;
    let f = Fixture::new();
    let rt = f.runtime("sim:wormhole_b0:3");
    let baseline = f.used(&rt);
    // L1 interleaved: 10 pages of 256 bytes over the 80 cores' L1 banks.
    let l1 = crate::Buffer::interleaved(&rt, BankType::L1, 256, 10, "l1 pages").unwrap();
    let data: Vec<u8> = (0..l1.len()).map(|i| (i * 13) as u8).collect();
    l1.write(&data).unwrap();
    let mut back = vec![0; data.len()];
    l1.read(&mut back).unwrap();
    assert_eq!(back, data);
    // Page 3 is on L1 bank 3's core, at the buffer's address.
    let mut page = [0u8; 256];
    let core = rt.allocator().bank_core(3).unwrap();
    rt.device().read(core, l1.address(), &mut page).unwrap();
    assert_eq!(&page[..], &data[3 * 256..4 * 256]);
    // Sharded over three cores of L1_SMALL: shard i on core i.
    let cores: Vec<_> = rt.worker_cores().into_iter().take(3).collect();
    let small = crate::Buffer::sharded(&rt, BankType::L1Small, &cores, 48, "semaphores").unwrap();
    assert_eq!((small.kind(), small.len(), small.pages()), (MemKind::L1Small, 144, 3));
    let shards: Vec<u8> = (0..144).map(|i| i as u8).collect();
    small.write(&shards).unwrap();
    let mut shard = [0u8; 48];
    rt.device().read(cores[2], small.address(), &mut shard).unwrap();
    assert_eq!(&shard[..], &shards[96..]);
    // Counted where they live: reserved on every core, payload as asked.
    let (used, payload) = (f.used(&rt), f.payload(&rt));
    assert_eq!(used[MemKind::L1.index()], 80 * 256);
    assert_eq!(payload[MemKind::L1.index()], 10 * 256);
    assert_eq!(used[MemKind::L1Small.index()], 80 * 48);
    assert_eq!(payload[MemKind::L1Small.index()], 3 * 48);
    // The kernel region is not a buffer's; misaligned pages are refused.
    let err = crate::Buffer::interleaved(&rt, BankType::KernelRegion, 64, 1, "k").unwrap_err();
    assert!(err.to_string().contains("kernel region holds kernels"), "{err}");
    assert!(crate::Buffer::interleaved(&rt, BankType::L1, 40, 1, "odd").is_err());
    assert!(small.write(&[0; 145]).is_err(), "more than the buffer holds");
    drop((l1, small));
    assert_eq!(f.used(&rt), baseline);
}

/// Issue 19: the fabric kernel was written at 0x9000 on every Ethernet core, so the base
/// firmware's LAUNCH_ERISC_APP_FLAG (0x9004, tt-metal wormhole eth_l1_address_map.h) became an
/// instruction word, and its 96 KiB region covered the routing firmware at 0x11000-0x18000.
/// Now the kernel sits at FIRMWARE_BASE 0x9040, the words below it are untouched, and the
/// simulated card refuses host writes into the base firmware's area.
#[test]
fn wormhole_fabric_kernel_leaves_the_ethernet_firmware_intact() {
    let f = Fixture::new();
    let rt = f.runtime("sim:n300:0:0");
    let eth = rt.fabric_cores()[0];
    let device = rt.device();
    assert_eq!(device.read32(eth, 0x9004).unwrap(), 0, "LAUNCH_ERISC_APP_FLAG untouched");
    let image = crate::KernelImage::from_elf(
        "f",
        include_bytes!("../../../kernels/elf/fabric.elf"),
        0x11000 - 0x9040,
    )
    .unwrap();
    let mut head = vec![0u8; 16];
    device.read(eth, 0x9040, &mut head).unwrap();
    assert_eq!(head, image.image()[..16], "the fabric kernel starts at FIRMWARE_BASE");
    let mut routing = vec![0u8; 0x7000];
    device.read(eth, 0x11000, &mut routing).unwrap();
    assert!(routing.iter().all(|&b| b == 0), "nothing of ours in the routing firmware's area");
    // The host may set the launch flag (the documented way to launch an app) and write the
    // routing firmware's command queues (tt-umd erisc_firmware.hpp), never the firmware itself.
    device.write32(eth, 0x9004, 0).unwrap();
    device.write32(eth, 0x11080, 0).unwrap();
    for addr in [0x0, 0x1EFC, 0x9000, 0x9008, 0x903C] {
        let err = device.write32(eth, addr, 1).unwrap_err().to_string();
        assert!(err.contains("Wormhole Ethernet base firmware"), "{addr:#x}: {err}");
    }
    let err = device.write(eth, 0x8FF0, &[0; 0x60]).unwrap_err().to_string();
    assert!(err.contains("overwrite a card's firmware"), "{err}");
}

/// Issue 19: kernels got each Blackhole DRAM channel's first endpoint; tt-metal hands them the
/// bank's worker_endpoint (blackhole_140_arch.yaml: subchannel 2 for channels 4-7).
#[test]
fn kernels_get_tt_metals_dram_endpoints_on_blackhole() {
    let f = Fixture::new();
    let rt = f.runtime("sim:p150a");
    let table = crate::dram_bank_table(&rt);
    let words: Vec<u32> =
        table.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
    let endpoints: Vec<(u32, u32)> = words.chunks_exact(4).map(|e| (e[0], e[1])).collect();
    assert_eq!(endpoints, [(0, 0), (0, 2), (0, 9), (0, 5), (9, 11), (9, 3), (9, 8), (9, 6)]);
}

#[path = "session_tests.rs"]
mod session_tests;
