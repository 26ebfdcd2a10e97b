//! The whole KmdDevice / TlbWindow lifecycle against the fake driver.

use std::path::Path;
use std::sync::Arc;

use crate::abi::{self, Pod};
use crate::fake::{Call, FakeKmd, FakeOp};
use crate::*;

const DEV0: &str = "/dev/tenstorrent/0";
const MIB: u64 = 1 << 20;

fn open(fake: &Arc<FakeKmd>) -> KmdDevice {
    KmdDevice::open_with(Path::new(DEV0), fake.clone()).unwrap()
}

fn wormhole() -> (Arc<FakeKmd>, KmdDevice) {
    let fake = Arc::new(FakeKmd::wormhole());
    let dev = open(&fake);
    (fake, dev)
}

#[test]
fn open_reads_identity_driver_version_and_mappings() {
    let (fake, dev) = wormhole();
    let info = dev.device_info();
    assert_eq!((info.vendor_id, info.device_id), (0x1e52, 0x401e));
    assert_eq!((info.pci_domain, info.pci_bus, info.pci_device, info.pci_function), (0, 3, 0, 0));
    assert_eq!(info.pci_address(), "0000:03:00.0");
    assert_eq!(info.arch_name(), Some("wormhole_b0"));
    assert_eq!(info.subsystem_id, 0x14);
    let v = dev.driver_version();
    assert_eq!(v.api, 2);
    assert_eq!(v.semver, Some(KmdSemver { major: 2, minor: 6, patch: 0 }));
    assert_eq!(v.to_string(), "tt-kmd 2.6.0, ioctl API 2");
    let m = dev.mappings();
    assert_eq!(m.len(), 6);
    assert_eq!((m[0].bar(), m[0].cache_mode()), (Some(0), Some(CacheMode::Uncached)));
    assert_eq!((m[3].bar(), m[3].cache_mode()), (Some(2), Some(CacheMode::WriteCombined)));
    assert_eq!((m[4].base, m[4].size), (4 << 36, 32 * MIB));
    assert_eq!(
        fake.calls(),
        vec![
            Call::Open(DEV0.into()),
            Call::GetDeviceInfo,
            Call::GetDriverInfo,
            Call::QueryMappings { slots: 16 }
        ]
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn tlb_lifecycle_maps_at_returned_offset_and_unmaps_before_free() {
    let (fake, dev) = wormhole();
    let mut tlb = dev.allocate_tlb(2 * MIB).unwrap();
    let id = tlb.id();
    assert_eq!(id, 156, "first 2 MiB window follows the 156 1 MiB ones");
    assert_eq!(tlb.size(), 2 * MIB);
    assert_eq!(tlb.region().len() as u64, 2 * MIB);
    // tt-kmd memory.c: MMAP_OFFSET_TLB_UC (6 << 36) + the window's BAR0 offset (156 MiB).
    let uc = (6u64 << 36) + 156 * MIB;
    assert_eq!(
        fake.calls()[4..],
        [Call::AllocateTlb { size: 2 * MIB }, Call::Mmap { len: 2 << 20, offset: uc }]
    );

    tlb.configure(NocTarget::unicast(1, 1, 0x40_0000)).unwrap();
    let cfg = fake.tlbs()[&id].config.unwrap();
    assert_eq!(
        cfg,
        abi::NocTlbConfig {
            addr: 0x40_0000,
            x_end: 1,
            y_end: 1,
            ordering: 1,
            ..Default::default()
        }
    );
    assert_eq!(tlb.target(), Some(NocTarget::unicast(1, 1, 0x40_0000)));

    // Host writes land in the window the card sees, and card data reads back.
    tlb.region().write32(0x100, 0xdead_beef).unwrap();
    assert_eq!(fake.tlb_bytes(id, 0x100, 4).unwrap(), 0xdead_beefu32.to_le_bytes());
    assert!(fake.set_tlb_bytes(id, 0x200, &0x1234_5678u32.to_le_bytes()));
    assert_eq!(tlb.region().read32(0x200).unwrap(), 0x1234_5678);
    assert!(tlb.region().read32(2 << 20).is_err(), "bounds-checked");

    let before = fake.calls().len();
    drop(tlb);
    assert_eq!(fake.calls()[before..], [Call::Munmap { len: 2 << 20 }, Call::FreeTlb { id }]);
    assert!(fake.tlbs().is_empty());
    assert_eq!(fake.live_mappings(), 0);
    assert_eq!(fake.open_fds().len(), 1, "the device still holds its fd");
    drop(dev);
    assert_eq!(fake.calls().last(), Some(&Call::Close));
    assert!(fake.open_fds().is_empty());
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn window_keeps_the_fd_open_after_the_device_is_dropped() {
    let (fake, dev) = wormhole();
    let tlb = dev.allocate_tlb_with(MIB, CacheMode::WriteCombined).unwrap();
    // MMAP_OFFSET_TLB_WC (7 << 36) + the first 1 MiB window's BAR0 offset.
    let wc = (7u64 << 36) + u64::from(tlb.id()) * MIB;
    assert_eq!(fake.calls().last(), Some(&Call::Mmap { len: 1 << 20, offset: wc }));
    drop(dev);
    assert_eq!(fake.open_fds().len(), 1);
    let id = tlb.id();
    drop(tlb);
    let calls = fake.calls();
    assert_eq!(
        calls[calls.len() - 3..],
        [Call::Munmap { len: 1 << 20 }, Call::FreeTlb { id }, Call::Close]
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn configure_refuses_misaligned_targets_without_a_syscall() {
    let (fake, dev) = wormhole();
    let mut tlb = dev.allocate_tlb(2 * MIB).unwrap();
    let n = fake.calls().len();
    let err = tlb.configure(NocTarget::unicast(1, 1, 0x20_1000)).unwrap_err();
    assert!(
        matches!(err, KmdError::MisalignedTarget { aligned: 0x20_0000, offset: 0x1000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("configure the window at 0x200000 and access offset 0x1000"));
    assert_eq!(fake.calls().len(), n);
    assert_eq!(tlb.configure_unicast(2, 3, 0x20_1004).unwrap(), 0x1004);
    let cfg = fake.tlbs()[&tlb.id()].config.unwrap();
    assert_eq!((cfg.addr, cfg.x_end, cfg.y_end, cfg.mcast), (0x20_0000, 2, 3, 0));
}

#[test]
fn multicast_target_fills_the_rectangle_fields() {
    let mut t = NocTarget::multicast((1, 2), (8, 9), 0x10_0000);
    t.ordering = NocOrdering::Posted;
    t.noc = 1;
    let c = t.to_abi();
    assert_eq!((c.x_start, c.y_start, c.x_end, c.y_end), (1, 2, 8, 9));
    assert_eq!((c.mcast, c.ordering, c.noc, c.linked, c.static_vc), (1, 2, 1, 0, 0));
    assert_eq!(NocOrdering::Relaxed.raw(), 0);
}

#[test]
fn missing_device_names_the_path_and_the_fix() {
    let fake = Arc::new(FakeKmd::wormhole());
    fake.state().present = false;
    let err = KmdDevice::open_with(Path::new(DEV0), fake.clone()).unwrap_err();
    assert!(matches!(err, KmdError::NotFound { .. }));
    assert!(
        err.to_string()
            .starts_with("no /dev/tenstorrent/0: is tt-kmd loaded? `modprobe tenstorrent`"),
        "{err}"
    );
    fake.state().present = true;
    fake.fail_next(FakeOp::Open, libc::EACCES);
    let err = KmdDevice::open_with(Path::new(DEV0), fake.clone()).unwrap_err();
    assert!(matches!(err, KmdError::PermissionDenied { .. }), "{err}");
}

#[test]
fn real_open_of_a_missing_device_is_not_found() {
    let err = KmdDevice::open(Path::new("/nonexistent-tt-kmd-test/tenstorrent/0")).unwrap_err();
    assert!(matches!(err, KmdError::NotFound { .. }), "{err}");
}

#[test]
fn failed_open_closes_the_descriptor() {
    let fake = Arc::new(FakeKmd::wormhole());
    fake.fail_next(FakeOp::Ioctl(abi::IOCTL_GET_DRIVER_INFO), libc::ENODEV);
    let err = KmdDevice::open_with(Path::new(DEV0), fake.clone()).unwrap_err();
    assert!(matches!(err, KmdError::DeviceGone { op: "GET_DRIVER_INFO", .. }), "{err}");
    assert_eq!(fake.calls().last(), Some(&Call::Close));
    assert!(fake.open_fds().is_empty());
}

#[test]
fn exhausted_pool_is_no_tlb_left() {
    let (fake, dev) = wormhole();
    // 20 16 MiB windows, the last kept by the driver: 19 for user space.
    let held: Vec<TlbWindow> = (0..19).map(|_| dev.allocate_tlb(16 * MIB).unwrap()).collect();
    let err = dev.allocate_tlb(16 * MIB).unwrap_err();
    assert!(matches!(err, KmdError::NoTlbLeft { size, .. } if size == 16 * MIB), "{err}");
    assert!(err
        .to_string()
        .contains("no free 0x1000000-byte TLB window left on /dev/tenstorrent/0"));
    drop(held);
    assert!(fake.tlbs().is_empty());
    assert!(dev.allocate_tlb(16 * MIB).is_ok());
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn unsupported_size_is_refused_before_the_driver() {
    let (fake, dev) = wormhole();
    let n = fake.calls().len();
    let err = dev.allocate_tlb(4 * MIB).unwrap_err();
    assert!(matches!(err, KmdError::UnsupportedTlbSize { arch: "wormhole_b0", .. }), "{err}");
    assert!(err.to_string().contains("1 MiB, 2 MiB, 16 MiB"), "{err}");
    assert_eq!(fake.calls().len(), n);
}

#[test]
fn old_driver_is_reported_as_too_old() {
    // A driver that reports a semver below 1.34 is refused without an ioctl.
    let fake = Arc::new(FakeKmd::wormhole());
    {
        let mut st = fake.state();
        st.driver_info.driver_version_major = 1;
        st.driver_info.driver_version_minor = 33;
    }
    let dev = open(&fake);
    let err = dev.allocate_tlb(2 * MIB).unwrap_err();
    assert!(matches!(err, KmdError::DriverTooOld { needed: "1.34.0", .. }), "{err}");
    assert!(!fake.calls().contains(&Call::AllocateTlb { size: 2 * MIB }));

    // One that reports no semver and does not know the ioctl answers EINVAL.
    let fake = Arc::new(FakeKmd::wormhole());
    {
        let mut st = fake.state();
        st.driver_info.output_size_bytes = 8;
        st.driver_info.driver_version = 1;
        st.knows_tlb_ioctls = false;
    }
    let dev = open(&fake);
    assert_eq!(dev.driver_version().semver, None);
    let err = dev.allocate_tlb(2 * MIB).unwrap_err();
    assert!(matches!(err, KmdError::DriverTooOld { .. }), "{err}");
    assert!(err.to_string().contains("tt-kmd of unreported version, ioctl API 1"), "{err}");
}

#[test]
fn failed_mmap_frees_the_tlb() {
    let (fake, dev) = wormhole();
    fake.fail_next(FakeOp::Mmap, libc::ENOMEM);
    let err = dev.allocate_tlb(MIB).unwrap_err();
    assert!(matches!(err, KmdError::Mmap { what: "TLB window", .. }), "{err}");
    assert_eq!(fake.calls().last(), Some(&Call::FreeTlb { id: 0 }));
    assert!(fake.tlbs().is_empty());
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn ebusy_and_enodev_map_to_their_variants() {
    let (fake, dev) = wormhole();
    fake.fail_next(FakeOp::Ioctl(abi::IOCTL_ALLOCATE_TLB), libc::EBUSY);
    assert!(matches!(
        dev.allocate_tlb(MIB).unwrap_err(),
        KmdError::Busy { op: "ALLOCATE_TLB", .. }
    ));
    fake.fail_next(FakeOp::Ioctl(abi::IOCTL_LOCK_CTL), libc::ENODEV);
    assert!(matches!(dev.lock(0).unwrap_err(), KmdError::DeviceGone { .. }));
    fake.fail_next(FakeOp::Ioctl(abi::IOCTL_CONFIGURE_TLB), libc::EIO);
    let mut tlb = dev.allocate_tlb(MIB).unwrap();
    let err = tlb.configure(NocTarget::unicast(0, 0, 0)).unwrap_err();
    assert!(matches!(err, KmdError::Ioctl { op: "CONFIGURE_TLB", .. }), "{err}");
    assert_eq!(tlb.target(), None, "a failed configure leaves no target");
}

#[test]
fn locks_acquire_test_and_release() {
    let (fake, dev) = wormhole();
    fake.state().locks_elsewhere = 1 << 5;
    assert!(dev.lock(3).unwrap());
    assert_eq!(dev.lock_state(3).unwrap(), LockState { held_by_me: true, held_by_anyone: true });
    assert!(!dev.lock(5).unwrap(), "held by another process");
    assert_eq!(dev.lock_state(5).unwrap(), LockState { held_by_me: false, held_by_anyone: true });
    assert!(dev.unlock(3).unwrap());
    assert!(!dev.unlock(3).unwrap());
    assert_eq!(dev.lock_state(3).unwrap(), LockState { held_by_me: false, held_by_anyone: false });
    let n = fake.calls().len();
    assert!(matches!(dev.lock(64).unwrap_err(), KmdError::InvalidLockIndex { index: 64 }));
    assert_eq!(fake.calls().len(), n);
    assert!(fake.calls().contains(&Call::LockCtl { flags: 2, index: 5 }));
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn reset_sends_the_flag_value_and_reports_failure() {
    let (fake, dev) = wormhole();
    dev.reset(ResetFlags::AsicReset).unwrap();
    assert_eq!(fake.calls().last(), Some(&Call::ResetDevice { flags: 4 }));
    fake.state().reset_result = 1;
    let err = dev.reset(ResetFlags::PostReset).unwrap_err();
    assert!(
        matches!(err, KmdError::ResetFailed { flags: ResetFlags::PostReset, result: 1, .. }),
        "{err}"
    );
    let all = [
        ResetFlags::RestoreState,
        ResetFlags::ResetPcieLink,
        ResetFlags::ConfigWrite,
        ResetFlags::UserReset,
        ResetFlags::AsicReset,
        ResetFlags::AsicDmcReset,
        ResetFlags::PostReset,
    ];
    assert_eq!(all.map(ResetFlags::raw), [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn noc_cleanup_sends_argsz_and_target() {
    let (fake, dev) = wormhole();
    dev.set_noc_cleanup(Some(NocCleanup { x: 0, y: 0, noc: 0, addr: 0x40, data: 0xdead_beef }))
        .unwrap();
    let expected = abi::SetNocCleanup {
        argsz: 32,
        enabled: 1,
        addr: 0x40,
        data: 0xdead_beef,
        ..Default::default()
    };
    assert_eq!(fake.calls().last(), Some(&Call::SetNocCleanup(expected)));
    dev.set_noc_cleanup(None).unwrap();
    let disarm = abi::SetNocCleanup { argsz: 32, ..Default::default() };
    assert_eq!(fake.calls().last(), Some(&Call::SetNocCleanup(disarm)));
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn bar_window_maps_and_unmaps() {
    let (fake, dev) = wormhole();
    let bar = dev.map_bar(abi::mapping_id::RESOURCE1_UC).unwrap();
    assert_eq!(bar.mapping().bar(), Some(2));
    assert_eq!(fake.calls().last(), Some(&Call::Mmap { len: 1 << 20, offset: 2 << 36 }));
    bar.region().write32(0, 7).unwrap();
    assert_eq!(bar.region().read32(0).unwrap(), 7);
    drop(bar);
    assert_eq!(fake.calls().last(), Some(&Call::Munmap { len: 1 << 20 }));
    assert!(matches!(dev.map_bar(99).unwrap_err(), KmdError::BadReply { .. }));
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn blackhole_identity_and_sizes() {
    let fake = Arc::new(FakeKmd::blackhole());
    let dev = open(&fake);
    assert_eq!(dev.device_info().arch_name(), Some("blackhole"));
    let tlb = dev.allocate_tlb(2 * MIB).unwrap();
    assert_eq!(tlb.id(), 0);
    let err = dev.allocate_tlb(MIB).unwrap_err();
    assert!(err.to_string().contains("2 MiB, 4 GiB"), "{err}");
}

#[test]
fn ids_arch_names_and_tlb_sizes() {
    assert_eq!(arch_name(WORMHOLE_PCI_DEVICE_ID), Some("wormhole_b0"));
    assert_eq!(arch_name(BLACKHOLE_PCI_DEVICE_ID), Some("blackhole"));
    assert_eq!(arch_name(0xfaca), None);
    assert_eq!((WORMHOLE_PCI_DEVICE_ID, BLACKHOLE_PCI_DEVICE_ID), (0x401e, 0xb140));
    assert_eq!(tlb_sizes(0x401e), &[MIB, 2 * MIB, 16 * MIB]);
    assert_eq!(tlb_sizes(0xb140), &[2 * MIB, 4 << 30]);
    assert!(tlb_sizes(0).is_empty());
}

#[test]
fn device_info_decodes_bus_dev_fn() {
    let out = abi::GetDeviceInfoOut { bus_dev_fn: 0xab3d, pci_domain: 2, ..Default::default() };
    let info = DeviceInfo::from_abi(&out);
    assert_eq!((info.pci_bus, info.pci_device, info.pci_function), (0xab, 7, 5));
    assert_eq!(info.pci_address(), "0002:ab:07.5");
}

#[test]
fn enumerate_sorts_numerically_and_skips_other_names() {
    let dir = std::env::temp_dir().join(format!("tt-kmd-enum-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["10", "2", "0", "foo", "+1", "3x"] {
        std::fs::write(dir.join(name), b"").unwrap();
    }
    let found = enumerate_in(&dir);
    let names: Vec<_> =
        found.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["0", "2", "10"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(enumerate_in(Path::new("/nonexistent-tt-kmd-test")).is_empty());
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<KmdDevice>();
    check::<TlbWindow>();
    check::<BarWindow>();
    check::<KmdError>();
}

#[test]
fn fake_rejects_requests_the_driver_would_reject() {
    let fake = FakeKmd::wormhole();
    let fd = fake.open(Path::new(DEV0)).unwrap();
    // Wrong output_size_bytes.
    let mut di = abi::GetDeviceInfo::default();
    di.in_.output_size_bytes = 16;
    // SAFETY: the buffer is the whole GET_DEVICE_INFO struct.
    let err = unsafe { fake.ioctl(fd, abi::IOCTL_GET_DEVICE_INFO, di.as_bytes_mut()) }.unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    // Truncated argument.
    let mut short = [0u8; 20];
    // SAFETY: the fake only touches the slice it is given.
    let err = unsafe { fake.ioctl(fd, abi::IOCTL_GET_DEVICE_INFO, &mut short) }.unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EFAULT));
    // FREE_TLB while the window is still mapped is EBUSY, as in the driver.
    let mut a = abi::AllocateTlb::default();
    a.in_.size = MIB;
    // SAFETY: whole ALLOCATE_TLB struct.
    unsafe { fake.ioctl(fd, abi::IOCTL_ALLOCATE_TLB, a.as_bytes_mut()) }.unwrap();
    let p = fake.mmap(fd, 1 << 20, a.out.mmap_offset_uc).unwrap();
    let mut f = abi::FreeTlb { in_: abi::FreeTlbIn { id: a.out.id }, out: abi::FreeTlbOut {} };
    // SAFETY: whole FREE_TLB struct.
    let err = unsafe { fake.ioctl(fd, abi::IOCTL_FREE_TLB, f.as_bytes_mut()) }.unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EBUSY));
    // SAFETY: `p` is the fake's mapping of that length and nothing uses it.
    unsafe { fake.munmap(p, 1 << 20) }.unwrap();
    // SAFETY: whole FREE_TLB struct.
    unsafe { fake.ioctl(fd, abi::IOCTL_FREE_TLB, f.as_bytes_mut()) }.unwrap();
    assert_eq!(fake.violations().len(), 3, "{:?}", fake.violations());
    fake.close(fd).unwrap();
}
