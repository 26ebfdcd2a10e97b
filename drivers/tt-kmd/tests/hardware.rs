//! Tests against a real card. They are ignored by default; run them on a machine with a
//! Tenstorrent card and tt-kmd loaded: `cargo test -p tt-kmd -- --ignored`.

use tt_kmd::{
    enumerate, KmdDevice, BLACKHOLE_PCI_DEVICE_ID, TENSTORRENT_PCI_VENDOR_ID,
    WORMHOLE_PCI_DEVICE_ID,
};

fn first_card() -> KmdDevice {
    let path = enumerate().into_iter().next().expect("no /dev/tenstorrent/N: is tt-kmd loaded?");
    KmdDevice::open(&path).expect("open the first card")
}

#[test]
#[ignore = "needs a Tenstorrent card and tt-kmd"]
fn first_card_reports_identity_driver_and_mappings() {
    let dev = first_card();
    let info = dev.device_info();
    assert_eq!(info.vendor_id, TENSTORRENT_PCI_VENDOR_ID);
    assert!(info.arch_name().is_some(), "unknown device id {:#06x}", info.device_id);
    assert!(dev.driver_version().api >= 1);
    assert!(dev.mappings().iter().any(|m| m.bar() == Some(0)), "BAR0 is always offered");
    // Read-only: TEST does not take the lock.
    let state = dev.lock_state(0).expect("LOCK_CTL TEST");
    assert!(!state.held_by_me);
}

#[test]
#[ignore = "needs a Tenstorrent card and tt-kmd"]
fn tlb_window_reads_a_tensix_noc_node_id() {
    let dev = first_card();
    // NOC0 NODE_ID register of a Tensix tile: 0xFFB2_0000 + 0x2C (Wormhole) or + 0x44
    // (Blackhole), per tt-umd's architecture implementations; x in bits 0-5, y in bits 6-11.
    let (x, y, reg) = match dev.device_info().device_id {
        WORMHOLE_PCI_DEVICE_ID => (1u16, 1u16, 0xFFB2_002Cu64),
        BLACKHOLE_PCI_DEVICE_ID => (1, 2, 0xFFB2_0044),
        other => panic!("unknown device id {other:#06x}"),
    };
    let mut tlb = dev.allocate_tlb(2 << 20).expect("ALLOCATE_TLB");
    let off = tlb.configure_unicast(x, y, reg).expect("CONFIGURE_TLB");
    let id = tlb.region().read32(off).expect("read through the window");
    assert_ne!(id, 0xffff_ffff, "all-ones: the read did not reach a tile");
    let (rx, ry) = (id & 0x3f, (id >> 6) & 0x3f);
    assert_eq!(ry, u32::from(y));
    if dev.device_info().device_id == WORMHOLE_PCI_DEVICE_ID {
        assert_eq!(rx, u32::from(x));
    } else {
        // Blackhole translates Tensix columns around harvested ones, so only check that the
        // answer is some Tensix column.
        assert!((1..=7).contains(&rx) || (10..=16).contains(&rx), "x = {rx}");
    }
}
