//! Board discovery through the chip's firmware: on the simulator for every board preset, and
//! over PCIe through tt-kmd's fake driver with a fake card that plays the same firmware.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tt_kmd::fake::FakeKmd;
use tt_kmd::KmdDevice;
use tt_sim::{FirmwareIdentity, SimKind};
use tt_soc::{Arch, BoardPreset, BoardType, CoreKind, HarvestingMasks, NocCoord, TranslatedCoord};

use crate::{Device, DeviceError, OpenOptions};

fn options(dir: &tempfile::TempDir) -> OpenOptions {
    OpenOptions { sim_dir: Some(dir.path().to_path_buf()), ..Default::default() }
}

/// A card's ARC firmware on a [`FakeKmd`]: publishes the telemetry table into the fake card's
/// NOC memory and, on Wormhole, answers ARC messages from a thread until dropped.
pub(crate) struct FakeFirmware {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeFirmware {
    pub(crate) fn start(fake: &Arc<FakeKmd>, arch: Arch, id: FirmwareIdentity) -> FakeFirmware {
        let arc = *tt_soc::SocDescriptor::builtin(arch).arc_cores().first().unwrap();
        for (addr, value) in tt_sim::published_words(arch, &id) {
            fake.noc_write32(arc.x, arc.y, addr, value);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread = (arch == Arch::WormholeB0).then(|| {
            let (fake, stop) = (Arc::clone(fake), Arc::clone(&stop));
            let mask = arch.tensix_mask_to_firmware(id.harvesting.tensix);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let read = |a| Ok::<u32, ()>(fake.noc_read32(arc.x, arc.y, a));
                    let write = |a, v| {
                        fake.noc_write32(arc.x, arc.y, a, v);
                        Ok::<(), ()>(())
                    };
                    let _ = tt_sim::answer_wormhole_message(read, write, mask);
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            })
        });
        FakeFirmware { stop, thread }
    }
}

impl Drop for FakeFirmware {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn every_board_preset_is_discovered_from_its_simulated_firmware() {
    let dir = tempfile::tempdir().unwrap();
    for preset in BoardPreset::ALL {
        for (chip, spec_chip) in preset.chips().iter().enumerate() {
            let spec = format!("sim:{preset}:3:{chip}");
            let dev = Device::open_with(&spec, &options(&dir)).unwrap();
            let id = dev.identity();
            assert_eq!(id.board_type, Some(preset.board_type()), "{spec}");
            assert_eq!(id.board_id, preset.board_id() + 3, "{spec}");
            assert_eq!(id.asic_location, spec_chip.asic_location, "{spec}");
            assert_eq!(id.harvesting, spec_chip.harvesting, "{spec}");
            assert!(id.noc_translation, "{spec}");
            assert_eq!(dev.soc().harvesting(), spec_chip.harvesting, "{spec}");
            let kind = SimKind::Board { preset, chip: chip as u8 };
            assert!(kind.owns_uid(dev.chip_uid()), "{spec}: {}", dev.chip_uid());
        }
    }
}

#[test]
fn presets_give_the_real_units_grids() {
    let dir = tempfile::tempdir().unwrap();
    let open = |spec: &str| Device::open_with(spec, &options(&dir)).unwrap();
    let n150 = open("sim:n150");
    // wormhole_N150.yaml harvest_mask 64: NOC0 row 8 is gone, 72 Tensix cores remain.
    assert_eq!(n150.soc().tensix_cores().len(), 72);
    assert_eq!(n150.soc().kind_at(NocCoord::new(1, 8)), Some(CoreKind::HarvestedTensix));
    let err = n150.write(NocCoord::new(1, 8), 0, &[1]).unwrap_err();
    assert!(
        matches!(err, DeviceError::NoMemoryAt { kind: CoreKind::HarvestedTensix, .. }),
        "{err}"
    );
    let n300_1 = open("sim:n300:0:1");
    // Chip 1 of wormhole_N300.yaml: harvest_mask 5, rows 1 and 3.
    assert_eq!(n300_1.soc().kind_at(NocCoord::new(2, 3)), Some(CoreKind::HarvestedTensix));
    assert_eq!(n300_1.soc().worker_grid_size(), (8, 8));
    let p100 = open("sim:p100a");
    assert_eq!(p100.soc().dram_channels().len(), 7);
    assert_eq!(p100.soc().ethernet_cores().len(), 0);
    assert_eq!(p100.soc().pcie_cores(), &[NocCoord::new(2, 0)]);
    // DRAM channel 3 is harvested: its endpoint 0-5 holds nothing.
    assert!(p100.write(NocCoord::new(0, 5), 0, &[1]).is_err());
    p100.write_dram(crate::DramChannelId(6), 0, &[1, 2]).unwrap();
    let p150 = open("sim:p150a");
    assert_eq!(p150.soc().tensix_cores().len(), 120);
    assert_eq!(p150.soc().ethernet_cores().len(), 12);
    assert_eq!(p150.soc().worker_l1_size(), 1_572_864);
}

#[test]
fn user_masks_add_to_what_the_firmware_reports() {
    let dir = tempfile::tempdir().unwrap();
    let opts = OpenOptions { harvesting_mask: 1, ..options(&dir) };
    let dev = Device::open_with("sim:n150", &opts).unwrap();
    assert_eq!(dev.soc().harvesting_mask(), 65);
    assert_eq!(dev.identity().harvesting.tensix, 64, "the firmware's own report is kept");
}

#[test]
fn bare_chips_report_no_board() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::open_with("sim:blackhole", &options(&dir)).unwrap();
    assert_eq!(dev.identity().board_type, None);
    assert_eq!(dev.identity().board_id, 0);
    // Issue 19: a bare Blackhole reported all 14 Ethernet channels, which no Blackhole
    // firmware reports (zephyr harvesting.c leaves 5 and 8 off on a good die; tt-umd refuses
    // anything but 2 or 14 harvested channels). No Tensix, DRAM or PCIe harvesting.
    assert_eq!(dev.soc().harvesting(), HarvestingMasks { eth: 288, ..Default::default() });
    assert_eq!(dev.soc().ethernet_cores().len(), 12);
    let wh = Device::open_with("sim:wormhole_b0", &options(&dir)).unwrap();
    assert_eq!(wh.soc().harvesting(), HarvestingMasks::default());
}

fn open_fake_card(fake: &Arc<FakeKmd>) -> Result<Device, DeviceError> {
    let kmd = KmdDevice::open_with(Path::new("/dev/tenstorrent/0"), fake.clone()).unwrap();
    Device::from_kmd(kmd, &OpenOptions::default())
}

#[test]
fn a_blackhole_card_is_discovered_over_pcie_from_its_telemetry() {
    let fake = Arc::new(FakeKmd::blackhole());
    fake.state().tlb_pool[1].1 = 0;
    let kind = SimKind::Board { preset: BoardPreset::P150a, chip: 0 };
    let _firmware =
        FakeFirmware::start(&fake, Arch::Blackhole, kind.identity(9, kind.chip_uid(0x5eed)));
    let dev = open_fake_card(&fake).unwrap();
    let id = dev.identity();
    assert_eq!(id.board_type, Some(BoardType::P150));
    assert_eq!(id.harvesting, HarvestingMasks { tensix: 192, dram: 0, eth: 288, pcie: 2 });
    assert_eq!(dev.soc().tensix_cores().len(), 120);
    assert_eq!(dev.chip_uid(), kind.chip_uid(0x5eed), "the unique id comes from telemetry");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[test]
fn a_wormhole_card_answers_the_harvesting_message_over_pcie() {
    let fake = Arc::new(FakeKmd::wormhole());
    let kind = SimKind::Board { preset: BoardPreset::N300, chip: 0 };
    let firmware = FakeFirmware::start(&fake, Arch::WormholeB0, kind.identity(0, kind.chip_uid(0)));
    let dev = open_fake_card(&fake).unwrap();
    drop(firmware);
    assert_eq!(dev.identity().board_type, Some(BoardType::N300));
    assert_eq!(dev.soc().harvesting_mask(), 65);
    assert_eq!(dev.soc().tensix_cores().len(), 64);
}

#[test]
fn a_card_without_firmware_answers_is_refused_with_the_reason() {
    let fake = Arc::new(FakeKmd::blackhole());
    fake.state().tlb_pool[1].1 = 0;
    let err = open_fake_card(&fake).unwrap_err().to_string();
    assert!(err.contains("telemetry table") && err.contains("/dev/tenstorrent/0"), "{err}");
}

#[test]
fn blackhole_tlbs_are_programmed_in_translated_coordinates() {
    let fake = Arc::new(FakeKmd::blackhole());
    // A BAR4 under 4 GiB: tt-kmd exposes no 4 GiB windows, so DRAM uses 2 MiB ones.
    fake.state().tlb_pool[1].1 = 0;
    let kind = SimKind::Board { preset: BoardPreset::P150a, chip: 0 };
    let _firmware = FakeFirmware::start(&fake, Arch::Blackhole, kind.identity(0, kind.chip_uid(0)));
    // An extra user mask changes placement, never the coordinates the hardware decodes.
    let kmd = KmdDevice::open_with(Path::new("/dev/tenstorrent/0"), fake.clone()).unwrap();
    let dev =
        Device::from_kmd(kmd, &OpenOptions { harvesting_mask: 1, ..Default::default() }).unwrap();
    // P150 (columns 7 and 10 harvested): NOC0 column 11 is translated column 7
    // (tt-umd blackhole_coordinate_manager.cpp fill_tensix_noc0_translated_mapping).
    dev.write32(NocCoord::new(11, 5), 0x1000, 0x1234_5678).unwrap();
    let last = fake.calls().into_iter().rev().find_map(|c| match c {
        tt_kmd::fake::Call::ConfigureTlb { config, .. } => {
            Some((config.x_end, config.y_end, config.addr))
        }
        _ => None,
    });
    assert_eq!(last, Some((7, 5, 0)));
    assert_eq!(fake.noc_read32(7, 5, 0x1000), 0x1234_5678, "the card saw the write at 7-5");
    // DRAM channel 0's first endpoint, NOC0 0-0, is translated 17-12.
    dev.write_dram(crate::DramChannelId(0), 64, &[9; 4]).unwrap();
    assert_eq!(fake.noc_read(17, 12, 64, 4), vec![9; 4]);
    assert_eq!(dev.soc().harvesting_mask(), 193);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[test]
fn the_simulated_blackhole_decodes_translated_coordinates_like_the_card() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::open_with("sim:p150a", &options(&dir)).unwrap();
    assert_eq!(dev.tlb_coord(NocCoord::new(11, 5)).unwrap(), TranslatedCoord::from_raw(7, 5));
    dev.write32(NocCoord::new(11, 5), 0x2000, 77).unwrap();
    dev.write32(NocCoord::new(6, 5), 0x2000, 66).unwrap();
    assert_eq!(dev.read32(NocCoord::new(11, 5), 0x2000).unwrap(), 77);
    assert_eq!(dev.read32(NocCoord::new(6, 5), 0x2000).unwrap(), 66);
    drop(dev);
    // The bytes sit in NOC0 core 11-5's L1 of the chip file.
    let chip = tt_sim::SimChip::open_board_in(dir.path(), BoardPreset::P150a, 0, 0).unwrap();
    let mut w = chip.allocate_tlb(2 << 20).unwrap();
    w.configure(NocCoord::new(11, 5), 0).unwrap();
    assert_eq!(w.region().unwrap().read32(0x2000).unwrap(), 77);
    w.configure_as_programmed(TranslatedCoord::from_raw(7, 5), 0).unwrap();
    assert_eq!(w.region().unwrap().read32(0x2000).unwrap(), 77);
    let err =
        w.configure_as_programmed(TranslatedCoord::from_raw(30, 30), 0).unwrap_err().to_string();
    assert!(err.contains("has translated (30, 30)"), "{err}");
}

#[test]
fn a_wormhole_card_without_telemetry_still_reports_its_harvesting() {
    let fake = Arc::new(FakeKmd::wormhole());
    let kind = SimKind::Board { preset: BoardPreset::N150, chip: 0 };
    let firmware = FakeFirmware::start(&fake, Arch::WormholeB0, kind.identity(0, kind.chip_uid(0)));
    // Older firmware: the telemetry pointer registers read 0.
    let arc = NocCoord::new(0, 10);
    let table = tt_soc::firmware::arc_apb_noc_address(Arch::WormholeB0, 0x3_01D0);
    fake.noc_write32(arc.x, arc.y, table, 0);
    let dev = open_fake_card(&fake).unwrap();
    drop(firmware);
    assert_eq!(dev.identity().board_type, None);
    assert_eq!(dev.identity().unique_id, None);
    assert_eq!(dev.soc().harvesting_mask(), 64);
}

#[test]
fn every_preset_reaches_each_core_through_the_coordinates_its_tlbs_are_programmed_with() {
    let dir = tempfile::tempdir().unwrap();
    for preset in BoardPreset::ALL {
        for chip in 0..preset.chips().len() as u8 {
            let kind = SimKind::Board { preset, chip };
            let dev = Device::open_with(&kind.spec(5), &options(&dir)).unwrap();
            let mut cores = dev.soc().tensix_cores();
            cores.extend_from_slice(dev.soc().ethernet_cores());
            for (i, core) in cores.iter().enumerate() {
                dev.write32(*core, 0x3_0000, 0xC0DE_0000 | i as u32).unwrap();
            }
            for (ch, channel) in dev.soc().dram_channels().iter().enumerate() {
                dev.write32(channel.endpoints[0], 64, 0xD0_0000 | ch as u32).unwrap();
            }
            drop(dev);
            // Read back through NOC0 windows of the chip file: every word is where it belongs.
            let sim = tt_sim::SimChip::open_kind_in(dir.path(), kind, 5).unwrap();
            let mut w = sim.allocate_tlb(2 << 20).unwrap();
            for (i, core) in cores.iter().enumerate() {
                w.configure(*core, 0).unwrap();
                let word = w.region().unwrap().read32(0x3_0000).unwrap();
                assert_eq!(word, 0xC0DE_0000 | i as u32, "{kind:?} core {core}");
            }
            for (ch, channel) in sim.soc().dram_channels().iter().enumerate() {
                w.configure(channel.endpoints[2], 0).unwrap();
                assert_eq!(
                    w.region().unwrap().read32(64).unwrap(),
                    0xD0_0000 | ch as u32,
                    "{kind:?} channel {ch}"
                );
            }
        }
    }
}

/// Issue 19: tt-umd's own Blackhole descriptor (4 GiB DRAM channels) was refused on
/// `sim:blackhole`, whose channels held tt-metal's 4 GiB - 16 MiB; a simulated Blackhole now
/// holds 4 GiB per channel as the card does, and the allocator's banks stay tt-metal's size.
#[test]
fn tt_umds_blackhole_descriptor_opens_a_simulated_blackhole() {
    let dir = tempfile::tempdir().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tt-soc/fixtures/tt_umd_blackhole_140_arch.yaml");
    let opts = OpenOptions { soc_file: Some(file), ..options(&dir) };
    let dev = Device::open_with("sim:blackhole", &opts).unwrap();
    assert!(dev.soc().dram_channels().iter().all(|c| c.size == 1 << 32));
    let last = crate::DramChannelId(dev.soc().dram_channels().len() as u32 - 1);
    dev.write_dram(last, (1 << 32) - 8, b"top byte").unwrap();
    let mut back = [0u8; 8];
    dev.read_dram(last, (1 << 32) - 8, &mut back).unwrap();
    assert_eq!(&back, b"top byte");
    let builtin = tt_soc::SocDescriptor::builtin(Arch::Blackhole);
    assert!(builtin.dram_banks().iter().all(|b| b.size == 4_278_190_080));
}
