//! Layout pins: every number below is from tt-kmd's `test/ioctl_abi.golden`
//! (`<struct> <member> <offset> <size>` and `<struct> = <sizeof>`), checked both at compile
//! time (const assertions) and at run time (offset_of! / size_of_val).

use super::*;
use std::mem::{offset_of, size_of, size_of_val};

/// Pins a struct's size and each member's offset and size.
macro_rules! pin {
    ($ty:ident = $size:literal { $($field:ident @ $off:literal : $fsize:literal),* $(,)? }) => {{
        const _: () = assert!(size_of::<$ty>() == $size);
        $(const _: () = assert!(offset_of!($ty, $field) == $off);)*
        assert_eq!(size_of::<$ty>(), $size, "sizeof {}", stringify!($ty));
        let v = $ty::default();
        $(
            assert_eq!(offset_of!($ty, $field), $off, "{}.{} offset", stringify!($ty), stringify!($field));
            assert_eq!(size_of_val(&v.$field), $fsize, "{}.{} size", stringify!($ty), stringify!($field));
        )*
        let _ = v;
    }};
}

#[test]
fn device_and_driver_info_layout() {
    pin!(GetDeviceInfoIn = 4 { output_size_bytes @ 0: 4 });
    pin!(GetDeviceInfoOut = 20 {
        output_size_bytes @ 0: 4, vendor_id @ 4: 2, device_id @ 6: 2, subsystem_vendor_id @ 8: 2,
        subsystem_id @ 10: 2, bus_dev_fn @ 12: 2, max_dma_buf_size_log2 @ 14: 2,
        pci_domain @ 16: 2, reserved @ 18: 2,
    });
    pin!(GetDeviceInfo = 24 { in_ @ 0: 4, out @ 4: 20 });
    pin!(GetDriverInfoIn = 4 { output_size_bytes @ 0: 4 });
    pin!(GetDriverInfoOut = 12 {
        output_size_bytes @ 0: 4, driver_version @ 4: 4, driver_version_major @ 8: 1,
        driver_version_minor @ 9: 1, driver_version_patch @ 10: 1, reserved0 @ 11: 1,
    });
    pin!(GetDriverInfo = 16 { in_ @ 0: 4, out @ 4: 12 });
}

#[test]
fn query_mappings_layout() {
    pin!(QueryMappingsIn = 8 { output_mapping_count @ 0: 4, reserved @ 4: 4 });
    pin!(Mapping = 24 { mapping_id @ 0: 4, reserved @ 4: 4, mapping_base @ 8: 8, mapping_size @ 16: 8 });
    pin!(QueryMappingsOut = 0 { mappings @ 0: 0 });
    pin!(QueryMappings = 8 { in_ @ 0: 8, out @ 8: 0 });
    assert_eq!(QUERY_MAPPINGS_ARRAY_OFFSET, 8);
}

#[test]
fn dma_buf_layout() {
    pin!(AllocateDmaBufIn = 24 {
        requested_size @ 0: 4, buf_index @ 4: 1, flags @ 5: 1, reserved0 @ 6: 2, reserved1 @ 8: 16,
    });
    pin!(AllocateDmaBufOut = 40 {
        physical_address @ 0: 8, mapping_offset @ 8: 8, size @ 16: 4, reserved0 @ 20: 4,
        noc_address @ 24: 8, reserved1 @ 32: 8,
    });
    pin!(AllocateDmaBuf = 64 { in_ @ 0: 24, out @ 24: 40 });
    pin!(FreeDmaBufIn = 0 {});
    pin!(FreeDmaBufOut = 0 {});
    pin!(FreeDmaBuf = 0 { in_ @ 0: 0, out @ 0: 0 });
}

#[test]
fn reset_layout() {
    pin!(ResetDeviceIn = 8 { output_size_bytes @ 0: 4, flags @ 4: 4 });
    pin!(ResetDeviceOut = 8 { output_size_bytes @ 0: 4, result @ 4: 4 });
    pin!(ResetDevice = 16 { in_ @ 0: 8, out @ 8: 8 });
}

#[test]
fn pin_pages_layout() {
    pin!(PinPagesIn = 24 { output_size_bytes @ 0: 4, flags @ 4: 4, virtual_address @ 8: 8, size @ 16: 8 });
    pin!(PinPagesOut = 8 { physical_address @ 0: 8 });
    pin!(PinPagesOutExtended = 16 { physical_address @ 0: 8, noc_address @ 8: 8 });
    pin!(PinPages = 32 { in_ @ 0: 24, out @ 24: 8 });
    pin!(UnpinPagesIn = 24 { virtual_address @ 0: 8, size @ 8: 8, reserved @ 16: 8 });
    pin!(UnpinPagesOut = 0 {});
    pin!(UnpinPages = 24 { in_ @ 0: 24, out @ 24: 0 });
}

#[test]
fn lock_ctl_layout() {
    pin!(LockCtlIn = 12 { output_size_bytes @ 0: 4, flags @ 4: 4, index @ 8: 1, reserved @ 9: 3 });
    pin!(LockCtlOut = 4 { value @ 0: 1, reserved @ 1: 3 });
    pin!(LockCtl = 16 { in_ @ 0: 12, out @ 12: 4 });
}

#[test]
fn map_peer_bar_layout() {
    pin!(MapPeerBarIn = 24 {
        peer_fd @ 0: 4, peer_bar_index @ 4: 4, peer_bar_offset @ 8: 4, peer_bar_length @ 12: 4,
        flags @ 16: 4, reserved @ 20: 4,
    });
    pin!(MapPeerBarOut = 16 { dma_address @ 0: 8, reserved @ 8: 8 });
    pin!(MapPeerBar = 40 { in_ @ 0: 24, out @ 24: 16 });
}

#[test]
fn tlb_layout() {
    pin!(AllocateTlbIn = 16 { size @ 0: 8, reserved @ 8: 8 });
    pin!(AllocateTlbOut = 32 {
        id @ 0: 4, reserved0 @ 4: 4, mmap_offset_uc @ 8: 8, mmap_offset_wc @ 16: 8, reserved1 @ 24: 8,
    });
    pin!(AllocateTlb = 48 { in_ @ 0: 16, out @ 16: 32 });
    pin!(FreeTlbIn = 4 { id @ 0: 4 });
    pin!(FreeTlbOut = 0 {});
    pin!(FreeTlb = 4 { in_ @ 0: 4, out @ 4: 0 });
    pin!(NocTlbConfig = 32 {
        addr @ 0: 8, x_end @ 8: 2, y_end @ 10: 2, x_start @ 12: 2, y_start @ 14: 2, noc @ 16: 1,
        mcast @ 17: 1, ordering @ 18: 1, linked @ 19: 1, static_vc @ 20: 1, reserved0 @ 21: 3,
        reserved1 @ 24: 8,
    });
    pin!(ConfigureTlbIn = 40 { id @ 0: 4, reserved @ 4: 4, config @ 8: 32 });
    pin!(ConfigureTlbOut = 8 { reserved @ 0: 8 });
    pin!(ConfigureTlb = 48 { in_ @ 0: 40, out @ 40: 8 });
}

#[test]
fn noc_cleanup_and_power_layout() {
    pin!(SetNocCleanup = 32 {
        argsz @ 0: 4, flags @ 4: 4, enabled @ 8: 1, x @ 9: 1, y @ 10: 1, noc @ 11: 1,
        reserved0 @ 12: 4, addr @ 16: 8, data @ 24: 8,
    });
    pin!(PowerState = 40 {
        argsz @ 0: 4, flags @ 4: 4, reserved0 @ 8: 1, validity @ 9: 1, power_flags @ 10: 2,
        power_settings @ 12: 28,
    });
}

#[test]
fn request_codes_are_io_0xfa_n_without_size_or_direction() {
    let all = [
        (IOCTL_GET_DEVICE_INFO, 0),
        (IOCTL_GET_HARVESTING, 1),
        (IOCTL_QUERY_MAPPINGS, 2),
        (IOCTL_ALLOCATE_DMA_BUF, 3),
        (IOCTL_FREE_DMA_BUF, 4),
        (IOCTL_GET_DRIVER_INFO, 5),
        (IOCTL_RESET_DEVICE, 6),
        (IOCTL_PIN_PAGES, 7),
        (IOCTL_LOCK_CTL, 8),
        (IOCTL_MAP_PEER_BAR, 9),
        (IOCTL_UNPIN_PAGES, 10),
        (IOCTL_ALLOCATE_TLB, 11),
        (IOCTL_FREE_TLB, 12),
        (IOCTL_CONFIGURE_TLB, 13),
        (IOCTL_SET_NOC_CLEANUP, 14),
        (IOCTL_SET_POWER_STATE, 15),
    ];
    for (code, nr) in all {
        // Cross-check against nix's `_IO` for this target, whatever its direction encoding.
        // The cast is a no-op on glibc (c_ulong) but not on musl (c_int).
        #[allow(clippy::unnecessary_cast)]
        let nix_code = nix::request_code_none!(0xFA, nr) as u64;
        assert_eq!(u64::from(code), nix_code, "ioctl {nr}");
        if IOC_NONE_BITS == 0 {
            assert_eq!(code, 0xFA00 + nr, "ioctl {nr}");
        }
    }
    // The codes used by the IoctlArg pairing match the table.
    assert_eq!(<GetDeviceInfo as IoctlArg>::REQUEST, 0xFA00 | IOC_NONE_BITS);
    assert_eq!(<AllocateTlb as IoctlArg>::REQUEST, 0xFA0B | IOC_NONE_BITS);
    assert_eq!(<FreeTlb as IoctlArg>::REQUEST, 0xFA0C | IOC_NONE_BITS);
    assert_eq!(<ConfigureTlb as IoctlArg>::REQUEST, 0xFA0D | IOC_NONE_BITS);
    assert_eq!(<LockCtl as IoctlArg>::REQUEST, 0xFA08 | IOC_NONE_BITS);
}

#[test]
fn constants_match_the_header() {
    assert_eq!(TENSTORRENT_IOCTL_MAGIC, 0xFA);
    assert_eq!(TENSTORRENT_DRIVER_VERSION, 2);
    assert_eq!(
        [
            mapping_id::UNUSED,
            mapping_id::RESOURCE0_UC,
            mapping_id::RESOURCE0_WC,
            mapping_id::RESOURCE1_UC,
            mapping_id::RESOURCE1_WC,
            mapping_id::RESOURCE2_UC,
            mapping_id::RESOURCE2_WC
        ],
        [0, 1, 2, 3, 4, 5, 6]
    );
    assert_eq!((TENSTORRENT_MAX_DMA_BUFS, TENSTORRENT_MAX_INBOUND_TLBS), (256, 256));
    assert_eq!(TENSTORRENT_RESOURCE_LOCK_COUNT, 64);
    assert_eq!((lock_ctl_flags::ACQUIRE, lock_ctl_flags::RELEASE, lock_ctl_flags::TEST), (0, 1, 2));
    assert_eq!(
        [
            reset_flags::RESTORE_STATE,
            reset_flags::RESET_PCIE_LINK,
            reset_flags::CONFIG_WRITE,
            reset_flags::USER_RESET,
            reset_flags::ASIC_RESET,
            reset_flags::ASIC_DMC_RESET,
            reset_flags::POST_RESET
        ],
        [0, 1, 2, 3, 4, 5, 6]
    );
    assert_eq!(
        (
            PinPagesFlags::CONTIGUOUS.bits(),
            PinPagesFlags::NOC_DMA.bits(),
            PinPagesFlags::NOC_TOP_DOWN.bits()
        ),
        (1, 2, 4)
    );
    assert_eq!((LockBits::HELD_BY_CALLER.bits(), LockBits::HELD_BY_ANYONE.bits()), (1, 2));
    assert_eq!(ALLOCATE_DMA_BUF_NOC_DMA, 2);
}

#[test]
fn pod_bytes_round_trip_in_memory_order() {
    let mut a = AllocateTlb::default();
    a.in_.size = 0x20_0000;
    let bytes = a.as_bytes();
    assert_eq!(bytes.len(), 48);
    assert_eq!(&bytes[0..8], &0x20_0000u64.to_ne_bytes());
    let mut b = AllocateTlb::default();
    b.as_bytes_mut()[16..20].copy_from_slice(&7u32.to_ne_bytes());
    assert_eq!(b.out.id, 7);
    assert_eq!(AllocateTlb::read_from(a.as_bytes()), Some(a));
    assert_eq!(AllocateTlb::read_from(&bytes[..47]), None);
}
