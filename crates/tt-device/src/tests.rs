use tt_soc::{Arch, CoreKind, NocCoord};

use crate::{BackendKind, Device, DeviceError, DramBankId, DramChannelId, OpenOptions};

fn open_in(dir: &tempfile::TempDir, spec: &str) -> Device {
    let options = OpenOptions { sim_dir: Some(dir.path().to_path_buf()), ..Default::default() };
    Device::open_with(spec, &options).unwrap()
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

#[test]
fn opens_both_simulated_architectures() {
    let dir = tempfile::tempdir().unwrap();
    let wh = open_in(&dir, "sim:wormhole_b0");
    assert_eq!(wh.arch(), Arch::WormholeB0);
    assert_eq!(wh.backend(), BackendKind::Sim);
    assert_eq!(wh.spec().to_string(), "sim:wormhole_b0:0");
    assert_eq!(wh.soc().grid_size(), (10, 12));
    assert_eq!(wh.soc().tensix_cores().len(), 80);
    let bh = open_in(&dir, "sim:blackhole:1");
    assert_eq!(bh.arch(), Arch::Blackhole);
    assert_eq!(bh.soc().dram_channels().len(), 8);
    assert_ne!(wh.chip_uid(), bh.chip_uid());
}

#[test]
fn l1_round_trips_any_length_and_alignment() {
    let dir = tempfile::tempdir().unwrap();
    let dev = open_in(&dir, "sim:wormhole_b0");
    let core = NocCoord::new(2, 3);
    for (addr, len) in [(0x48000, 1), (0x48001, 7), (0x50003, 4099), (0x60000, 65536)] {
        let data = pattern(len, addr as u8);
        dev.write(core, addr, &data).unwrap();
        let mut back = vec![0; len];
        dev.read(core, addr, &mut back).unwrap();
        assert_eq!(back, data, "addr {addr:#x} len {len}");
    }
    // The whole L1 of one core in one transfer.
    let whole = pattern(1_499_136, 9);
    dev.write(core, 0, &whole).unwrap();
    let mut back = vec![0; whole.len()];
    dev.read(core, 0, &mut back).unwrap();
    assert!(back == whole);
    dev.write32(core, 0x100, 0x1234_5678).unwrap();
    assert_eq!(dev.read32(core, 0x100).unwrap(), 0x1234_5678);
    let mut bytes = [0u8; 4];
    dev.read(core, 0x100, &mut bytes).unwrap();
    assert_eq!(u32::from_le_bytes(bytes), 0x1234_5678, "words are little-endian");
}

#[test]
fn dram_transfers_split_across_window_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let dev = open_in(&dir, "sim:wormhole_b0");
    // 16 MiB windows on Wormhole: this write straddles the first boundary.
    let addr = (16 << 20) - 100;
    let data = pattern(300, 1);
    dev.write_dram(DramChannelId(3), addr, &data).unwrap();
    let mut back = vec![0; 300];
    dev.read_dram(DramChannelId(3), addr, &mut back).unwrap();
    assert_eq!(back, data);
    // Any endpoint of the channel reaches the same bytes.
    let endpoint = dev.soc().dram_channels()[3].endpoints[2];
    let mut via_endpoint = vec![0; 300];
    dev.read(endpoint, addr, &mut via_endpoint).unwrap();
    assert_eq!(via_endpoint, data);
}

#[test]
fn dram_banks_address_their_slice_of_the_channel() {
    let dir = tempfile::tempdir().unwrap();
    let dev = open_in(&dir, "sim:wormhole_b0");
    // Wormhole bank 1 is the upper GiB of channel 0 (tt-metal's 12-bank view).
    dev.write_dram_bank(DramBankId(1), 64, b"bank one").unwrap();
    let mut back = [0u8; 8];
    dev.read_dram(DramChannelId(0), (1 << 30) + 64, &mut back).unwrap();
    assert_eq!(&back, b"bank one");
    // The bank's end is enforced even though the channel continues.
    let err = dev.write_dram_bank(DramBankId(0), (1 << 30) - 4, &[0; 8]).unwrap_err();
    assert!(matches!(err, DeviceError::OutOfRange { size, .. } if size == 1 << 30), "{err}");
    let err = dev.write_dram_bank(DramBankId(12), 0, &[0; 8]).unwrap_err().to_string();
    assert!(err.contains("DRAM bank 12") && err.contains("it has 12"), "{err}");
    let err = dev.read_dram(DramChannelId(6), 0, &mut [0; 4]).unwrap_err().to_string();
    assert!(err.contains("DRAM channel 6") && err.contains("it has 6"), "{err}");
}

#[test]
fn bad_targets_are_refused_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let dev = open_in(&dir, "sim:wormhole_b0");
    let err = dev.write(NocCoord::new(10, 0), 0, &[1]).unwrap_err().to_string();
    assert!(
        err.contains("(10, 0)") && err.contains("10x12") && err.contains("valid x is 0..10"),
        "{err}"
    );
    let err = dev.read32(NocCoord::new(0, 2), 0).unwrap_err();
    assert!(matches!(err, DeviceError::NoMemoryAt { kind: CoreKind::RouterOnly, .. }), "{err}");
    let err = dev.write(NocCoord::new(1, 1), 1_499_136 - 2, &[0; 4]).unwrap_err();
    assert!(matches!(err, DeviceError::OutOfRange { size: 1_499_136, .. }), "{err}");
    let err = dev.write(NocCoord::new(1, 1), u64::MAX, &[0; 4]).unwrap_err();
    assert!(matches!(err, DeviceError::OutOfRange { .. }), "{err}");
    let err = dev.write32(NocCoord::new(1, 1), 2, 0).unwrap_err();
    assert!(matches!(err, DeviceError::Misaligned { addr: 2 }), "{err}");
    // Ethernet L1 is 256 KiB on Wormhole.
    dev.write32(NocCoord::new(9, 0), 256 * 1024 - 4, 5).unwrap();
    assert!(dev.write32(NocCoord::new(9, 0), 256 * 1024, 5).is_err());
}

#[test]
fn harvested_cores_are_not_addressable() {
    let dir = tempfile::tempdir().unwrap();
    let options = OpenOptions {
        sim_dir: Some(dir.path().to_path_buf()),
        harvesting_mask: 1 << 9, // the tenth Tensix row in NOC0 order: row 11
        ..Default::default()
    };
    let dev = Device::open_with("sim:wormhole_b0", &options).unwrap();
    assert_eq!(dev.soc().tensix_cores().len(), 72);
    let err = dev.write(NocCoord::new(1, 11), 0, &[1]).unwrap_err();
    assert!(
        matches!(err, DeviceError::NoMemoryAt { kind: CoreKind::HarvestedTensix, .. }),
        "{err}"
    );
    dev.write(NocCoord::new(1, 10), 0, &[1]).unwrap();
}

#[test]
fn soc_file_must_match_the_device() {
    let dir = tempfile::tempdir().unwrap();
    let soc_path = dir.path().join("bh.yaml");
    std::fs::write(&soc_path, include_str!("../../tt-soc/descriptors/blackhole_140_arch.yaml"))
        .unwrap();
    let options = OpenOptions {
        sim_dir: Some(dir.path().to_path_buf()),
        soc_file: Some(soc_path.clone()),
        ..Default::default()
    };
    let err = Device::open_with("sim:wormhole_b0", &options).unwrap_err().to_string();
    assert!(err.contains("bh.yaml") && err.contains("blackhole 17x12"), "{err}");
    let dev = Device::open_with("sim:blackhole", &options).unwrap();
    assert_eq!(dev.soc().tensix_cores().len(), 140);
}

#[test]
fn many_cores_share_a_few_windows_without_mixing_data() {
    let dir = tempfile::tempdir().unwrap();
    let dev = open_in(&dir, "sim:blackhole");
    let cores = dev.soc().tensix_cores();
    for (i, core) in cores.iter().enumerate() {
        dev.write32(*core, 0x4_8000, i as u32 ^ 0xa5a5_0000).unwrap();
    }
    for (i, core) in cores.iter().enumerate() {
        assert_eq!(dev.read32(*core, 0x4_8000).unwrap(), i as u32 ^ 0xa5a5_0000, "core {core}");
    }
}

#[test]
fn threads_write_different_cores_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let dev = open_in(&dir, "sim:wormhole_b0");
    let cores = dev.soc().tensix_cores();
    std::thread::scope(|s| {
        for t in 0..4usize {
            let dev = &dev;
            let cores = &cores;
            s.spawn(move || {
                for (i, core) in cores.iter().enumerate().filter(|(i, _)| i % 4 == t) {
                    let data = pattern(10_000, i as u8);
                    dev.write(*core, 0x48000, &data).unwrap();
                }
            });
        }
    });
    for (i, core) in cores.iter().enumerate() {
        let mut back = vec![0; 10_000];
        dev.read(*core, 0x48000, &mut back).unwrap();
        assert_eq!(back, pattern(10_000, i as u8));
    }
}

#[test]
fn a_second_device_on_the_same_chip_is_busy_and_data_survives_close() {
    let dir = tempfile::tempdir().unwrap();
    let dev = open_in(&dir, "sim:blackhole:4");
    dev.write32(NocCoord::new(1, 2), 0x48000, 77).unwrap();
    let options = OpenOptions { sim_dir: Some(dir.path().to_path_buf()), ..Default::default() };
    let err = Device::open_with("sim:blackhole:4", &options).unwrap_err().to_string();
    assert!(err.contains("device busy") && err.contains(&std::process::id().to_string()), "{err}");
    drop(dev);
    let dev = open_in(&dir, "sim:blackhole:4");
    assert_eq!(dev.read32(NocCoord::new(1, 2), 0x48000).unwrap(), 77);
}

#[test]
fn missing_card_is_a_clear_error() {
    let err = Device::open("/dev/tenstorrent/97").unwrap_err().to_string();
    assert!(err.contains("/dev/tenstorrent/97"), "{err}");
}

mod pcie_against_fake_driver {
    use std::path::Path;
    use std::sync::Arc;

    use tt_kmd::fake::{Call, FakeKmd};
    use tt_kmd::KmdDevice;

    use super::*;

    fn open_fake() -> (Arc<FakeKmd>, Device) {
        let fake = Arc::new(FakeKmd::wormhole());
        // A bare, unharvested chip's firmware, so that the windows below are all the test's.
        let firmware = crate::tests_boards::FakeFirmware::start(
            &fake,
            Arch::WormholeB0,
            tt_sim::SimKind::Bare(Arch::WormholeB0)
                .identity(0, tt_sim::SimKind::Bare(Arch::WormholeB0).chip_uid(0)),
        );
        let kmd = KmdDevice::open_with(Path::new("/dev/tenstorrent/0"), fake.clone()).unwrap();
        let dev = Device::from_kmd(kmd, &OpenOptions::default()).unwrap();
        drop(firmware);
        (fake, dev)
    }

    #[test]
    fn l1_and_dram_access_allocate_and_configure_the_right_windows() {
        let (fake, dev) = open_fake();
        assert_eq!(dev.backend(), BackendKind::Pcie);
        assert_eq!(dev.arch(), Arch::WormholeB0);
        dev.write32(NocCoord::new(1, 1), 0x48010, 0xcafe).unwrap();
        assert_eq!(dev.read32(NocCoord::new(1, 1), 0x48010).unwrap(), 0xcafe);
        dev.write_dram(DramChannelId(2), (16 << 20) + 8, &[1, 2, 3, 4]).unwrap();
        // Discovery configured L1-pool windows on the ARC tile (0, 10) first; skip those.
        let calls: Vec<Call> = fake
            .calls()
            .into_iter()
            .skip_while(|c| !matches!(c, Call::ConfigureTlb { config, .. } if config.x_end == 1))
            .collect();
        let allocs: Vec<u64> = calls
            .iter()
            .filter_map(|c| match c {
                Call::AllocateTlb { size } => Some(*size),
                _ => None,
            })
            .collect();
        // A 2 MiB window covers a whole Wormhole L1 (taken from the pool discovery filled);
        // DRAM uses the 16 MiB class, whose first window was allocated at open.
        assert!(allocs.is_empty(), "{allocs:?}");
        let all = fake.calls();
        let first_alloc = all.iter().find_map(|c| match c {
            Call::AllocateTlb { size } => Some(*size),
            _ => None,
        });
        assert_eq!(first_alloc, Some(16 << 20));
        let configs: Vec<(u16, u16, u64)> = calls
            .iter()
            .filter_map(|c| match c {
                Call::ConfigureTlb { config, .. } => {
                    Some((config.x_end, config.y_end, config.addr))
                }
                _ => None,
            })
            .collect();
        // The L1 window is configured once and reused for the read; DRAM channel 2 is reached
        // through its first bank's worker endpoint, (5, 1) (tt-metal's Wormhole dram_views:
        // channel 2, worker_endpoint [1, 1]), and the window base is the 16 MiB-aligned block.
        assert_eq!(configs, vec![(1, 1, 0), (5, 1, 16 << 20)]);
        assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    }

    #[test]
    fn closing_the_device_unmaps_and_frees_every_window() {
        let (fake, dev) = open_fake();
        for core in dev.soc().tensix_cores().into_iter().take(12) {
            dev.write32(core, 0x48000, 1).unwrap();
        }
        drop(dev);
        let calls = fake.calls();
        let count = |f: fn(&Call) -> bool| calls.iter().filter(|c| f(c)).count();
        let allocated = count(|c| matches!(c, Call::AllocateTlb { .. }));
        assert_eq!(allocated, 9, "8 L1 windows (discovery's included) and the DRAM window");
        assert_eq!(count(|c| matches!(c, Call::FreeTlb { .. })), allocated);
        assert_eq!(fake.live_mappings(), 0);
        assert!(fake.open_fds().is_empty());
        assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    }
}
