//! Tests that need a real card. They are ignored by default; on a machine with a card and
//! tt-kmd loaded, run them with `cargo test -p tt-device -- --ignored`.

use tt_device::{BackendKind, Device, DramChannelId};
use tt_soc::l1_map::TENSIX_KERNEL_REGION;

#[test]
#[ignore = "needs a Tenstorrent card and tt-kmd"]
fn first_card_round_trips_l1_and_dram() {
    let dev = Device::open("/dev/tenstorrent/0").expect("open the first card");
    assert_eq!(dev.backend(), BackendKind::Pcie);
    let core = dev.soc().tensix_cores()[0];
    // The allocatable region starts where the kernel region ends: free of firmware.
    let addr = TENSIX_KERNEL_REGION.end;
    let data: Vec<u8> = (0..4096u32).map(|i| (i * 13) as u8).collect();
    dev.write(core, addr, &data).expect("write L1");
    let mut back = vec![0; data.len()];
    dev.read(core, addr, &mut back).expect("read L1");
    assert_eq!(back, data);
    dev.write_dram(DramChannelId(0), 1 << 20, &data).expect("write DRAM");
    dev.read_dram(DramChannelId(0), 1 << 20, &mut back).expect("read DRAM");
    assert_eq!(back, data);
}

#[test]
#[ignore = "needs a Tenstorrent card and tt-kmd"]
fn first_card_reports_its_board_and_harvesting() {
    let dev = Device::open("/dev/tenstorrent/0").expect("open the first card");
    let id = dev.identity();
    let board = id.board_type.expect("a retail card's board id names its type");
    // tt-umd cluster_descriptor_types.hpp expected_tensix_harvested_units_map: every retail
    // board has Tensix rows (n150: 1, n300: 2) or columns (p100, p150: 2) harvested.
    let expected = match board {
        tt_soc::BoardType::N150 => 1,
        tt_soc::BoardType::N300 | tt_soc::BoardType::P100 | tt_soc::BoardType::P150 => 2,
        _ => return,
    };
    assert_eq!(id.harvesting.tensix.count_ones(), expected, "{board}: {}", id.harvesting);
    assert_eq!(dev.soc().harvesting(), id.harvesting);
    assert!(dev.chip_uid().0 != 0);
}
