//! TLB windows (ALLOCATE_TLB / CONFIGURE_TLB / FREE_TLB plus the mmap of the window) and
//! whole-BAR mappings, each an RAII owner of its mapping.

use std::io;
use std::ptr::NonNull;
use std::sync::Arc;

use tt_mmio::MmioRegion;

use crate::abi;
use crate::device::{BarMapping, DeviceFd, KmdDevice};
use crate::error::KmdError;

/// How a window is mapped into this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheMode {
    /// Uncached: every access reaches the card in program order; right for registers.
    #[default]
    Uncached,
    /// Write-combined: stores may be merged and reordered; faster for bulk copies.
    WriteCombined,
}

/// NOC transaction ordering of a TLB window (`tenstorrent_noc_tlb_config.ordering`; values
/// from tt-umd's `tlb_data` Relaxed/Strict/Posted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NocOrdering {
    /// No ordering guarantee between transactions.
    Relaxed,
    /// Transactions complete in order; the safe default for registers and read-after-write.
    #[default]
    Strict,
    /// Posted writes: no write acknowledgement is awaited.
    Posted,
}

impl NocOrdering {
    /// The driver's encoding.
    pub const fn raw(self) -> u8 {
        match self {
            NocOrdering::Relaxed => 0,
            NocOrdering::Strict => 1,
            NocOrdering::Posted => 2,
        }
    }
}

/// Where a TLB window points on the NOC, mirroring `tenstorrent_noc_tlb_config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NocTarget {
    /// Target x (the far corner of a multicast rectangle).
    pub x: u16,
    /// Target y (the far corner of a multicast rectangle).
    pub y: u16,
    /// NOC address of the window's first byte; must be a multiple of the window size.
    pub addr: u64,
    /// NOC 0 or 1.
    pub noc: u8,
    /// Transaction ordering.
    pub ordering: NocOrdering,
    /// `Some((x_start, y_start))` makes writes multicast over the rectangle up to `(x, y)`.
    pub multicast_start: Option<(u16, u16)>,
    /// Linked transactions.
    pub linked: bool,
    /// Static virtual channel (0 lets the hardware choose).
    pub static_vc: u8,
}

impl NocTarget {
    /// A unicast target on NOC 0 with strict ordering.
    pub fn unicast(x: u16, y: u16, addr: u64) -> Self {
        NocTarget {
            x,
            y,
            addr,
            noc: 0,
            ordering: NocOrdering::Strict,
            multicast_start: None,
            linked: false,
            static_vc: 0,
        }
    }

    /// A multicast target over the rectangle `start..=end` on NOC 0 with strict ordering.
    pub fn multicast(start: (u16, u16), end: (u16, u16), addr: u64) -> Self {
        NocTarget { multicast_start: Some(start), ..Self::unicast(end.0, end.1, addr) }
    }

    /// The driver's struct for this target.
    pub fn to_abi(&self) -> abi::NocTlbConfig {
        let (x_start, y_start) = self.multicast_start.unwrap_or((0, 0));
        abi::NocTlbConfig {
            addr: self.addr,
            x_end: self.x,
            y_end: self.y,
            x_start,
            y_start,
            noc: self.noc,
            mcast: u8::from(self.multicast_start.is_some()),
            ordering: self.ordering.raw(),
            linked: u8::from(self.linked),
            static_vc: self.static_vc,
            ..Default::default()
        }
    }
}

/// One mmap of the device fd; unmapped on drop.
struct Mapping {
    fd: Arc<DeviceFd>,
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: `Mapping` only holds the address to hand back to munmap; it never dereferences it,
// and munmap may be called from any thread.
unsafe impl Send for Mapping {}
// SAFETY: no `&self` method touches the mapped memory.
unsafe impl Sync for Mapping {}

impl Mapping {
    fn new(
        fd: &Arc<DeviceFd>,
        what: &'static str,
        len: u64,
        offset: u64,
    ) -> Result<Self, KmdError> {
        let mmap_err =
            |source: io::Error| KmdError::Mmap { path: fd.path.clone(), what, len, offset, source };
        let ulen = usize::try_from(len).map_err(|_| {
            mmap_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "window larger than the address space",
            ))
        })?;
        let base = fd.sys.mmap(fd.fd, ulen, offset).map_err(mmap_err)?;
        let mapping = Mapping { fd: Arc::clone(fd), base, len: ulen };
        if base.as_ptr() as usize % 8 != 0 {
            // Dropping `mapping` unmaps it again.
            return Err(mmap_err(io::Error::other("mapping is not 8-byte aligned")));
        }
        Ok(mapping)
    }

    /// A region over the whole mapping.
    ///
    /// The caller must drop the region before this mapping (declare it as an earlier field).
    fn region(&self) -> MmioRegion {
        // SAFETY: `base` is 8-byte aligned (checked in `new`) and, by the `Syscalls` contract,
        // valid for volatile access of `len` bytes until our munmap in `Drop`; every owner declares the region before the
        // mapping, so the region is gone before munmap runs.
        unsafe { MmioRegion::new(self.base, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly the result of our mmap, and the region over it was
        // dropped first (field order of the owners), so nothing accesses it any more.
        if let Err(e) = unsafe { self.fd.sys.munmap(self.base, self.len) } {
            tracing::warn!(path = %self.fd.path.display(), error = %e, "munmap of tt-kmd window failed");
        }
    }
}

/// An allocated TLB id; FREE_TLB on drop.
struct TlbId {
    fd: Arc<DeviceFd>,
    id: u32,
}

impl Drop for TlbId {
    fn drop(&mut self) {
        let mut arg = abi::FreeTlb { in_: abi::FreeTlbIn { id: self.id }, out: abi::FreeTlbOut {} };
        if let Err(e) = self.fd.call(&mut arg) {
            // The driver also frees it when the fd closes, so this leaks until then at most.
            tracing::warn!(path = %self.fd.path.display(), id = self.id, error = %e, "FREE_TLB failed");
        }
    }
}

/// A TLB window: a slice of a BAR that the card forwards to a configurable NOC address,
/// mapped into this process. Dropping it unmaps the window and then frees the TLB (the driver
/// refuses FREE_TLB with EBUSY while the window is still mapped).
pub struct TlbWindow {
    // Field order is teardown order: the region goes first, then the mapping (munmap), then
    // the TLB id (FREE_TLB); the device fd, shared through both, closes last.
    region: MmioRegion,
    mapping: Mapping,
    tlb: TlbId,
    size: u64,
    cache: CacheMode,
    target: Option<NocTarget>,
}

impl std::fmt::Debug for TlbWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlbWindow")
            .field("path", &self.tlb.fd.path)
            .field("id", &self.tlb.id)
            .field("size", &self.size)
            .field("mapped_len", &self.mapping.len)
            .field("cache", &self.cache)
            .field("target", &self.target)
            .finish()
    }
}

impl TlbWindow {
    /// ALLOCATE_TLB then mmap at the offset it returns for `cache`.
    pub(crate) fn allocate(
        fd: Arc<DeviceFd>,
        size: u64,
        cache: CacheMode,
    ) -> Result<Self, KmdError> {
        let mut arg = abi::AllocateTlb::default();
        arg.in_.size = size;
        fd.call(&mut arg).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOMEM) => KmdError::NoTlbLeft { path: fd.path.clone(), size },
            _ => KmdError::from_io(&fd.path, "ALLOCATE_TLB", e),
        })?;
        // From here on the id is freed if anything fails.
        let tlb = TlbId { fd: Arc::clone(&fd), id: arg.out.id };
        let offset = match cache {
            CacheMode::Uncached => arg.out.mmap_offset_uc,
            CacheMode::WriteCombined => arg.out.mmap_offset_wc,
        };
        let mapping = Mapping::new(&fd, "TLB window", size, offset)?;
        let region = mapping.region();
        tracing::debug!(path = %fd.path.display(), id = tlb.id, size, offset, ?cache, "mapped TLB window");
        Ok(TlbWindow { region, mapping, tlb, size, cache, target: None })
    }

    /// Window size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The driver's id for this TLB.
    pub fn id(&self) -> u32 {
        self.tlb.id
    }

    /// How the window is mapped.
    pub fn cache_mode(&self) -> CacheMode {
        self.cache
    }

    /// The target set by the last successful [`TlbWindow::configure`], if any.
    pub fn target(&self) -> Option<NocTarget> {
        self.target
    }

    /// Points the window at `target` (CONFIGURE_TLB). `target.addr` must be a multiple of
    /// the window size; accesses at offset `o` of [`TlbWindow::region`] then reach
    /// `target.addr + o`.
    pub fn configure(&mut self, target: NocTarget) -> Result<(), KmdError> {
        let rem = target.addr.checked_rem(self.size).unwrap_or(target.addr);
        if rem != 0 {
            return Err(KmdError::MisalignedTarget {
                path: self.tlb.fd.path.clone(),
                addr: target.addr,
                size: self.size,
                aligned: target.addr - rem,
                offset: rem,
            });
        }
        let mut arg = abi::ConfigureTlb::default();
        arg.in_.id = self.tlb.id;
        arg.in_.config = target.to_abi();
        self.tlb.fd.call_mapped(&mut arg)?;
        self.target = Some(target);
        Ok(())
    }

    /// Points the window at the window-sized block of `(x, y)` that contains `addr` (unicast,
    /// strict ordering) and returns `addr`'s offset inside the window.
    pub fn configure_unicast(&mut self, x: u16, y: u16, addr: u64) -> Result<usize, KmdError> {
        let offset = addr.checked_rem(self.size).unwrap_or(0);
        self.configure(NocTarget::unicast(x, y, addr - offset))?;
        // offset < size, and size fit usize when the window was mapped.
        Ok(usize::try_from(offset).unwrap_or(usize::MAX))
    }

    /// The mapped window, for volatile bounds-checked access.
    pub fn region(&self) -> &MmioRegion {
        &self.region
    }
}

/// A whole BAR view (one of [`KmdDevice::mappings`]) mapped into this process; unmapped on drop.
pub struct BarWindow {
    // The region must go before the mapping: field order is drop order.
    region: MmioRegion,
    mapping: Mapping,
    bar: BarMapping,
}

impl std::fmt::Debug for BarWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BarWindow")
            .field("path", &self.mapping.fd.path)
            .field("bar", &self.bar)
            .finish()
    }
}

impl BarWindow {
    /// Which BAR view this maps.
    pub fn mapping(&self) -> &BarMapping {
        &self.bar
    }

    /// The mapped BAR, for volatile bounds-checked access.
    pub fn region(&self) -> &MmioRegion {
        &self.region
    }
}

impl KmdDevice {
    /// Maps the whole BAR view with driver mapping id `id` (see [`abi::mapping_id`]).
    pub fn map_bar(&self, id: u32) -> Result<BarWindow, KmdError> {
        let bar = self.mappings().iter().copied().find(|m| m.id == id).ok_or_else(|| {
            KmdError::BadReply {
                path: self.path().to_path_buf(),
                op: "QUERY_MAPPINGS",
                detail: format!(
                    "the driver offers no mapping with id {id}; available: {:?}",
                    self.mappings()
                ),
            }
        })?;
        let mapping = Mapping::new(self.fd_handle(), "BAR", bar.size, bar.base)?;
        let region = mapping.region();
        Ok(BarWindow { region, mapping, bar })
    }
}
