//! The argument structs of every tt-kmd ioctl, in `ioctl.h` order. Sizes and member
//! offsets are pinned in `abi_tests.rs` against tt-kmd's `test/ioctl_abi.golden`.

abi_struct!(
    /// `struct tenstorrent_get_device_info_in`.
    GetDeviceInfoIn = 4 {
        /// Must be `size_of::<GetDeviceInfoOut>()`: the driver clears and fills that many bytes.
        output_size_bytes: u32,
    }
);
abi_struct!(
    /// `struct tenstorrent_get_device_info_out`.
    GetDeviceInfoOut = 20 {
        /// The size of the driver's own out struct.
        output_size_bytes: u32,
        /// PCI vendor id (0x1e52 for Tenstorrent).
        vendor_id: u16,
        /// PCI device id (0x401e Wormhole, 0xb140 Blackhole).
        device_id: u16,
        /// PCI subsystem vendor id.
        subsystem_vendor_id: u16,
        /// PCI subsystem id (the board type).
        subsystem_id: u16,
        /// `[0:2]` function, `[3:7]` device, `[8:15]` bus.
        bus_dev_fn: u16,
        /// log2 of the largest DMA buffer (since tt-kmd 1.0).
        max_dma_buf_size_log2: u16,
        /// PCI domain (since tt-kmd 1.23; 0 from older drivers).
        pci_domain: u16,
        /// Reserved.
        reserved: u16,
    }
);
abi_struct!(
    /// `struct tenstorrent_get_device_info`.
    GetDeviceInfo = 24 {
        /// The request user space fills in.
        in_: GetDeviceInfoIn,
        /// The reply the driver writes.
        out: GetDeviceInfoOut,
    }
);

abi_struct!(
    /// `struct tenstorrent_query_mappings_in`.
    QueryMappingsIn = 8 {
        /// How many `Mapping` slots follow the in struct; the driver fills or zeroes each.
        output_mapping_count: u32,
        /// Reserved.
        reserved: u32,
    }
);
abi_struct!(
    /// `struct tenstorrent_mapping`: one mmap-able BAR view.
    Mapping = 24 {
        /// One of [`mapping_id`](super::mapping_id).
        mapping_id: u32,
        /// Reserved.
        reserved: u32,
        /// The mmap offset of the mapping on the device fd.
        mapping_base: u64,
        /// Its size in bytes.
        mapping_size: u64,
    }
);
abi_struct!(
    /// `struct tenstorrent_query_mappings_out`: a flexible array of [`Mapping`].
    QueryMappingsOut = 0 {
        /// Zero-length marker: `output_mapping_count` entries follow in the buffer.
        mappings: [Mapping; 0],
    }
);
abi_struct!(
    /// `struct tenstorrent_query_mappings`; `output_mapping_count` mappings follow it.
    QueryMappings = 8 {
        /// The request user space fills in.
        in_: QueryMappingsIn,
        /// The reply the driver writes.
        out: QueryMappingsOut,
    }
);

abi_struct!(
    /// `struct tenstorrent_allocate_dma_buf_in`.
    AllocateDmaBufIn = 24 {
        /// Page-multiple size in bytes.
        requested_size: u32,
        /// Slot in `[0, TENSTORRENT_MAX_DMA_BUFS)`.
        buf_index: u8,
        /// [`ALLOCATE_DMA_BUF_NOC_DMA`](super::ALLOCATE_DMA_BUF_NOC_DMA) or 0.
        flags: u8,
        /// Reserved.
        reserved0: [u8; 2],
        /// Reserved.
        reserved1: [u64; 2],
    }
);
abi_struct!(
    /// `struct tenstorrent_allocate_dma_buf_out`.
    AllocateDmaBufOut = 40 {
        /// Physical address or IOVA.
        physical_address: u64,
        /// mmap offset of the buffer.
        mapping_offset: u64,
        /// Size in bytes.
        size: u32,
        /// Reserved.
        reserved0: u32,
        /// NOC address, valid with [`ALLOCATE_DMA_BUF_NOC_DMA`](super::ALLOCATE_DMA_BUF_NOC_DMA).
        noc_address: u64,
        /// Reserved.
        reserved1: u64,
    }
);
abi_struct!(
    /// `struct tenstorrent_allocate_dma_buf`.
    AllocateDmaBuf = 64 {
        /// The request user space fills in.
        in_: AllocateDmaBufIn,
        /// The reply the driver writes.
        out: AllocateDmaBufOut,
    }
);
abi_struct!(
    /// `struct tenstorrent_free_dma_buf_in` (empty).
    FreeDmaBufIn = 0 {}
);
abi_struct!(
    /// `struct tenstorrent_free_dma_buf_out` (empty).
    FreeDmaBufOut = 0 {}
);
abi_struct!(
    /// `struct tenstorrent_free_dma_buf` (empty; the driver rejects the ioctl).
    FreeDmaBuf = 0 {
        /// The request user space fills in.
        in_: FreeDmaBufIn,
        /// The reply the driver writes.
        out: FreeDmaBufOut,
    }
);

abi_struct!(
    /// `struct tenstorrent_get_driver_info_in`.
    GetDriverInfoIn = 4 {
        /// Must be `size_of::<GetDriverInfoOut>()`.
        output_size_bytes: u32,
    }
);
abi_struct!(
    /// `struct tenstorrent_get_driver_info_out`.
    GetDriverInfoOut = 12 {
        /// The size of the driver's own out struct: 8 before the semver bytes existed.
        output_size_bytes: u32,
        /// The ioctl API version (`TENSTORRENT_DRIVER_VERSION`).
        driver_version: u32,
        /// Driver semver major (tt-kmd 2.x).
        driver_version_major: u8,
        /// Driver semver minor.
        driver_version_minor: u8,
        /// Driver semver patch.
        driver_version_patch: u8,
        /// Reserved.
        reserved0: u8,
    }
);
abi_struct!(
    /// `struct tenstorrent_get_driver_info`.
    GetDriverInfo = 16 {
        /// The request user space fills in.
        in_: GetDriverInfoIn,
        /// The reply the driver writes.
        out: GetDriverInfoOut,
    }
);

abi_struct!(
    /// `struct tenstorrent_reset_device_in`.
    ResetDeviceIn = 8 {
        /// Must be `size_of::<ResetDeviceOut>()`.
        output_size_bytes: u32,
        /// One of [`reset_flags`](super::reset_flags).
        flags: u32,
    }
);
abi_struct!(
    /// `struct tenstorrent_reset_device_out`.
    ResetDeviceOut = 8 {
        /// The size of the driver's out struct.
        output_size_bytes: u32,
        /// 0 on success, nonzero when the reset step failed.
        result: u32,
    }
);
abi_struct!(
    /// `struct tenstorrent_reset_device`.
    ResetDevice = 16 {
        /// The request user space fills in.
        in_: ResetDeviceIn,
        /// The reply the driver writes.
        out: ResetDeviceOut,
    }
);

abi_struct!(
    /// `struct tenstorrent_pin_pages_in`.
    PinPagesIn = 24 {
        /// Size of the out struct the caller provides (8, or 16 for the extended one).
        output_size_bytes: u32,
        /// [`PinPagesFlags`](super::PinPagesFlags) bits.
        flags: u32,
        /// Page-aligned start of the range.
        virtual_address: u64,
        /// Page-multiple length of the range.
        size: u64,
    }
);
abi_struct!(
    /// `struct tenstorrent_pin_pages_out`.
    PinPagesOut = 8 {
        /// Physical address or IOVA.
        physical_address: u64,
    }
);
abi_struct!(
    /// `struct tenstorrent_pin_pages_out_extended` (with [`PinPagesFlags::NOC_DMA`](super::PinPagesFlags::NOC_DMA)).
    PinPagesOutExtended = 16 {
        /// Physical address or IOVA.
        physical_address: u64,
        /// NOC address of the pinned range.
        noc_address: u64,
    }
);
abi_struct!(
    /// `struct tenstorrent_pin_pages`.
    PinPages = 32 {
        /// The request user space fills in.
        in_: PinPagesIn,
        /// The reply the driver writes.
        out: PinPagesOut,
    }
);
abi_struct!(
    /// `struct tenstorrent_unpin_pages_in`; a subset of a pinned range cannot be unpinned.
    UnpinPagesIn = 24 {
        /// The virtual address originally pinned.
        virtual_address: u64,
        /// The size originally pinned.
        size: u64,
        /// Reserved.
        reserved: u64,
    }
);
abi_struct!(
    /// `struct tenstorrent_unpin_pages_out` (empty).
    UnpinPagesOut = 0 {}
);
abi_struct!(
    /// `struct tenstorrent_unpin_pages`.
    UnpinPages = 24 {
        /// The request user space fills in.
        in_: UnpinPagesIn,
        /// The reply the driver writes.
        out: UnpinPagesOut,
    }
);

abi_struct!(
    /// `struct tenstorrent_lock_ctl_in`.
    LockCtlIn = 12 {
        /// Must be `size_of::<LockCtlOut>()`.
        output_size_bytes: u32,
        /// One of [`lock_ctl_flags`](super::lock_ctl_flags).
        flags: u32,
        /// Lock index below [`TENSTORRENT_RESOURCE_LOCK_COUNT`](super::TENSTORRENT_RESOURCE_LOCK_COUNT).
        index: u8,
        /// Reserved.
        reserved: [u8; 3],
    }
);
abi_struct!(
    /// `struct tenstorrent_lock_ctl_out`.
    LockCtlOut = 4 {
        /// Result; meaning depends on the flag (see [`lock_ctl_flags`](super::lock_ctl_flags)).
        value: u8,
        /// Reserved.
        reserved: [u8; 3],
    }
);
abi_struct!(
    /// `struct tenstorrent_lock_ctl`.
    LockCtl = 16 {
        /// The request user space fills in.
        in_: LockCtlIn,
        /// The reply the driver writes.
        out: LockCtlOut,
    }
);

abi_struct!(
    /// `struct tenstorrent_map_peer_bar_in`.
    MapPeerBarIn = 24 {
        /// fd of the peer card's device file.
        peer_fd: u32,
        /// Which BAR of the peer.
        peer_bar_index: u32,
        /// Offset into that BAR.
        peer_bar_offset: u32,
        /// Length to map.
        peer_bar_length: u32,
        /// Reserved flags.
        flags: u32,
        /// Reserved.
        reserved: u32,
    }
);
abi_struct!(
    /// `struct tenstorrent_map_peer_bar_out`.
    MapPeerBarOut = 16 {
        /// Address this card uses to reach the peer BAR.
        dma_address: u64,
        /// Reserved.
        reserved: u64,
    }
);
abi_struct!(
    /// `struct tenstorrent_map_peer_bar`.
    MapPeerBar = 40 {
        /// The request user space fills in.
        in_: MapPeerBarIn,
        /// The reply the driver writes.
        out: MapPeerBarOut,
    }
);

abi_struct!(
    /// `struct tenstorrent_allocate_tlb_in`.
    AllocateTlbIn = 16 {
        /// Window size in bytes; current drivers want an exact supported size.
        size: u64,
        /// Reserved.
        reserved: u64,
    }
);
abi_struct!(
    /// `struct tenstorrent_allocate_tlb_out`.
    AllocateTlbOut = 32 {
        /// TLB id for CONFIGURE_TLB / FREE_TLB.
        id: u32,
        /// Reserved.
        reserved0: u32,
        /// mmap offset for an uncached view.
        mmap_offset_uc: u64,
        /// mmap offset for a write-combined view.
        mmap_offset_wc: u64,
        /// Reserved.
        reserved1: u64,
    }
);
abi_struct!(
    /// `struct tenstorrent_allocate_tlb`.
    AllocateTlb = 48 {
        /// The request user space fills in.
        in_: AllocateTlbIn,
        /// The reply the driver writes.
        out: AllocateTlbOut,
    }
);
abi_struct!(
    /// `struct tenstorrent_free_tlb_in`.
    FreeTlbIn = 4 {
        /// The id ALLOCATE_TLB returned.
        id: u32,
    }
);
abi_struct!(
    /// `struct tenstorrent_free_tlb_out` (empty).
    FreeTlbOut = 0 {}
);
abi_struct!(
    /// `struct tenstorrent_free_tlb`.
    FreeTlb = 4 {
        /// The request user space fills in.
        in_: FreeTlbIn,
        /// The reply the driver writes.
        out: FreeTlbOut,
    }
);
abi_struct!(
    /// `struct tenstorrent_noc_tlb_config`: where a TLB window points on the NOC.
    NocTlbConfig = 32 {
        /// Window-size-aligned NOC address.
        addr: u64,
        /// Target x (the far corner for multicast).
        x_end: u16,
        /// Target y (the far corner for multicast).
        y_end: u16,
        /// Multicast start x.
        x_start: u16,
        /// Multicast start y.
        y_start: u16,
        /// NOC 0 or 1.
        noc: u8,
        /// 1 for multicast.
        mcast: u8,
        /// 0 relaxed, 1 strict, 2 posted.
        ordering: u8,
        /// Linked transaction.
        linked: u8,
        /// Static virtual channel.
        static_vc: u8,
        /// Reserved.
        reserved0: [u8; 3],
        /// Reserved.
        reserved1: [u32; 2],
    }
);
abi_struct!(
    /// `struct tenstorrent_configure_tlb_in`.
    ConfigureTlbIn = 40 {
        /// The id ALLOCATE_TLB returned.
        id: u32,
        /// Reserved (implicit padding in older headers).
        reserved: u32,
        /// The new target.
        config: NocTlbConfig,
    }
);
abi_struct!(
    /// `struct tenstorrent_configure_tlb_out`.
    ConfigureTlbOut = 8 {
        /// Reserved.
        reserved: u64,
    }
);
abi_struct!(
    /// `struct tenstorrent_configure_tlb`.
    ConfigureTlb = 48 {
        /// The request user space fills in.
        in_: ConfigureTlbIn,
        /// The reply the driver writes.
        out: ConfigureTlbOut,
    }
);

abi_struct!(
    /// `struct tenstorrent_set_noc_cleanup`.
    SetNocCleanup = 32 {
        /// Must be `size_of::<SetNocCleanup>()` exactly.
        argsz: u32,
        /// Must be 0.
        flags: u32,
        /// 1 to arm, 0 to disarm.
        enabled: u8,
        /// Target x.
        x: u8,
        /// Target y.
        y: u8,
        /// NOC 0 or 1.
        noc: u8,
        /// Reserved.
        reserved0: u32,
        /// 4-byte aligned NOC address.
        addr: u64,
        /// Value written (low 32 bits).
        data: u64,
    }
);
abi_struct!(
    /// `struct tenstorrent_power_state`.
    PowerState = 40 {
        /// Must be `size_of::<PowerState>()` exactly.
        argsz: u32,
        /// Must be 0.
        flags: u32,
        /// Must be 0.
        reserved0: u8,
        /// Bits 0-3: valid flag count; bits 4-7: valid setting count.
        validity: u8,
        /// On/off power features.
        power_flags: u16,
        /// Numeric power settings.
        power_settings: [u16; 14],
    }
);
