//! TLB windows emulated by remapping slices of the chip file.

use std::ffi::c_void;
use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::Arc;

/// The largest window whose file slice is reserved when configured.
const RESERVE_WINDOW_MAX: u64 = 64 << 20;

use nix::sys::mman::{mmap, mmap_anonymous, munmap, MapFlags, ProtFlags};
use tt_mmio::{MmioRegion, WriteGuard};
use tt_soc::{CoreKind, NocCoord, TranslatedCoord};

use crate::chip::Shared;
use crate::layout::PAGE;
use crate::SimError;

/// One TLB window: a fixed range of this process's address space that shows a slice of one
/// core's memory once configured, as a BAR window does on the card.
pub struct SimTlbWindow {
    shared: Arc<Shared>,
    class: usize,
    base: NonNull<c_void>,
    size: u64,
    target: Option<(NocCoord, u64)>,
    region: Option<MmioRegion>,
}

// SAFETY: the window owns its reservation; the raw base pointer is only used by `configure`
// (which takes `&mut self`) and `Drop`, and the region it exposes is itself Send + Sync.
unsafe impl Send for SimTlbWindow {}
// SAFETY: shared access goes only through `region()`, whose accesses are volatile word
// operations (see tt_mmio::MmioRegion).
unsafe impl Sync for SimTlbWindow {}

impl std::fmt::Debug for SimTlbWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimTlbWindow")
            .field("size", &self.size)
            .field("target", &self.target)
            .finish()
    }
}

fn nz(len: u64) -> Result<NonZeroUsize, SimError> {
    usize::try_from(len).ok().and_then(NonZeroUsize::new).ok_or(SimError::Map {
        what: "TLB window (zero or oversized length)",
        source: nix::errno::Errno::EINVAL,
    })
}

impl SimTlbWindow {
    pub(crate) fn allocate(shared: Arc<Shared>, size: u64) -> Result<Self, SimError> {
        let arch = shared.soc.arch();
        let classes = arch.tlb_classes();
        let Some(class) = classes.iter().position(|c| c.size == size) else {
            let list: Vec<String> = classes.iter().map(|c| format!("{:#x}", c.size)).collect();
            return Err(SimError::BadTlbSize { arch, size, classes: list.join(", ") });
        };
        {
            let mut used = shared.windows_in_use.lock();
            if used[class] >= classes[class].count {
                return Err(SimError::NoTlbWindow { arch, size, count: classes[class].count });
            }
            used[class] += 1;
        }
        // SAFETY: a fresh anonymous PROT_NONE reservation at an address the kernel picks;
        // nothing else refers to it. MAP_NORESERVE: a 4 GiB Blackhole window costs no memory.
        let base = unsafe {
            mmap_anonymous(
                None,
                nz(size)?,
                ProtFlags::PROT_NONE,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE,
            )
        };
        let base = match base {
            Ok(b) => b,
            Err(source) => {
                shared.windows_in_use.lock()[class] -= 1;
                return Err(SimError::Map { what: "TLB window reservation", source });
            }
        };
        Ok(SimTlbWindow { shared, class, base, size, target: None, region: None })
    }

    /// Window size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The (core, base address) the window shows, if configured.
    pub fn target(&self) -> Option<(NocCoord, u64)> {
        self.target
    }

    /// The mapped window, once configured. Its length is the part of the window that lies
    /// inside the target core's memory; accesses beyond it are refused.
    pub fn region(&self) -> Option<&MmioRegion> {
        self.region.as_ref()
    }

    /// Points the window at the core that a card's TLB programmed with `programmed` reaches:
    /// with NOC translation on the chip decodes translated coordinates (tt-umd programs its TLBs
    /// with them); on Wormhole coordinates below 16 are outside the translated range and reach
    /// their NOC0 tiles as they are.
    pub fn configure_as_programmed(
        &mut self,
        programmed: TranslatedCoord,
        addr: u64,
    ) -> Result<(), SimError> {
        let soc = &self.shared.soc;
        let core = soc.translated_to_noc0(programmed).ok_or_else(|| {
            let (gx, gy) = soc.grid_size();
            SimError::NotTranslated { core: programmed, arch: soc.arch(), grid_x: gx, grid_y: gy }
        })?;
        self.configure(core, addr)
    }

    /// Points the window at NOC0 core `core`'s memory starting at `addr`, which must be a
    /// multiple of the window size, as the card's TLB requires.
    pub fn configure(&mut self, core: NocCoord, addr: u64) -> Result<(), SimError> {
        if self.target == Some((core, addr)) {
            return Ok(());
        }
        let soc = &self.shared.soc;
        let (gx, gy) = soc.grid_size();
        let Some(kind) = soc.kind_at(core) else {
            return Err(SimError::OutOfGrid { core, arch: soc.arch(), grid_x: gx, grid_y: gy });
        };
        if addr % self.size != 0 {
            return Err(SimError::UnalignedWindow { addr, size: self.size });
        }
        // (file offset of `addr`, bytes from `addr` to the end of the memory behind it).
        let (slice_off, remaining) = match (kind, self.shared.layout.memory_of(core)) {
            (CoreKind::Tensix | CoreKind::Ethernet, Some((_, size))) if addr >= size => {
                // Past L1: the tile's register space, of which the control page is modelled.
                return self.configure_registers(core, addr, size);
            }
            (CoreKind::Tensix | CoreKind::Ethernet | CoreKind::Dram, Some((off, size))) => {
                if addr >= size {
                    return Err(SimError::AddressOutOfRange { core, addr, size });
                }
                (off + addr, size - addr)
            }
            (CoreKind::Arc, _) => self.shared.layout.arc_memory(addr).ok_or_else(|| {
                let modelled: Vec<String> = self
                    .shared
                    .layout
                    .arc_ranges()
                    .iter()
                    .map(|(base, size)| format!("{base:#x}..{:#x}", base + size))
                    .collect();
                SimError::ArcNotModelled { core, addr, modelled: modelled.join(" and ") }
            })?,
            _ => return Err(SimError::NoMemoryAt { core, kind }),
        };
        let visible = remaining.min(self.size);
        let mapped = visible.div_ceil(PAGE) * PAGE;
        // DRAM is sparse: the slice a window shows is reserved before anything can store
        // through it (a full tmpfs is then an error, not SIGBUS). A 4 GiB Blackhole window
        // is not reserved whole, which would cost 4 GiB of tmpfs.
        if mapped <= RESERVE_WINDOW_MAX {
            crate::chip::reserve_pages(&self.shared.file, &self.shared.path, slice_off, mapped)?;
        }
        self.region = None;
        self.target = None;
        let offset = i64::try_from(slice_off).map_err(|_| SimError::Map {
            what: "chip file slice (offset too large)",
            source: nix::errno::Errno::EOVERFLOW,
        })?;
        let base_addr = NonZeroUsize::new(self.base.as_ptr() as usize);
        // SAFETY: MAP_FIXED replaces pages inside our own reservation [base, base + size)
        // (mapped <= size); no region referring to the old pages exists (cleared above and
        // `&mut self` excludes borrowers). The file is open read-write and long enough.
        unsafe {
            mmap(
                base_addr,
                nz(mapped)?,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED | MapFlags::MAP_FIXED,
                &self.shared.file,
                offset,
            )
        }
        .map_err(|source| SimError::Map { what: "chip file slice into TLB window", source })?;
        not_inherited(self.base.as_ptr().cast(), mapped)?;
        if mapped < self.size {
            let tail = NonZeroUsize::new(self.base.as_ptr() as usize + mapped as usize);
            // SAFETY: re-reserves the rest of our own window as inaccessible, so a stale slice
            // from an earlier configuration can never be reached through this window.
            unsafe {
                mmap_anonymous(
                    tail,
                    nz(self.size - mapped)?,
                    ProtFlags::PROT_NONE,
                    MapFlags::MAP_PRIVATE | MapFlags::MAP_FIXED | MapFlags::MAP_NORESERVE,
                )
            }
            .map_err(|source| SimError::Map { what: "TLB window tail", source })?;
        }
        let guards = match (kind, self.shared.layout.memory_of(core)) {
            (CoreKind::Ethernet, Some((_, l1))) => firmware_guards(l1, addr, visible),
            _ => Vec::new(),
        };
        // SAFETY: [base, base + visible) is mapped read-write (above) and stays mapped until
        // the next configure or drop, both of which need `&mut self` and clear the region first.
        let region = unsafe { MmioRegion::new(self.base.cast(), visible as usize) };
        self.region = Some(region.with_write_guards(guards));
        self.target = Some((core, addr));
        Ok(())
    }
}

/// The parts of a window over an Ethernet L1 of `l1` bytes, shown from `addr` for `visible`
/// bytes, that the card's Ethernet firmware owns
/// ([`tt_soc::l1_map::ethernet_host_write_refused`]), in window offsets: a host write there
/// would overwrite the firmware on a card, so the simulated chip refuses it.
fn firmware_guards(l1: u64, addr: u64, visible: u64) -> Vec<WriteGuard> {
    let shown = addr..addr + visible;
    tt_soc::l1_map::ethernet_host_write_refused(l1)
        .iter()
        .filter(|(r, _)| r.start < shown.end && shown.start < r.end)
        .map(|(r, owner)| WriteGuard {
            // Both ends lie within the window (clamped), whose size fits in usize.
            range: (r.start.max(addr) - addr) as usize..(r.end.min(shown.end) - addr) as usize,
            owner,
        })
        .collect()
}

impl SimTlbWindow {
    /// Points the window at a tile's register space: only the tile control page (soft reset,
    /// `0xFFB1_2000`) is mapped, the rest of the window refuses access. A window that does not
    /// cover that page is refused like any address past the tile's memory.
    fn configure_registers(&mut self, core: NocCoord, addr: u64, mem: u64) -> Result<(), SimError> {
        let page_addr = u64::from(tt_soc::tile::TILE_CONTROL_BASE);
        let covers = addr <= page_addr && page_addr + PAGE <= addr + self.size;
        let page = self.shared.layout.control_of(core);
        let (Some(page), true) = (page, covers) else {
            return Err(SimError::AddressOutOfRange { core, addr, size: mem });
        };
        self.region = None;
        self.target = None;
        let start = page_addr - addr;
        let reserve = NonZeroUsize::new(self.base.as_ptr() as usize);
        // SAFETY: re-reserves our own whole window as inaccessible first, so no slice of an
        // earlier configuration stays reachable; no region refers to it (cleared above).
        unsafe {
            mmap_anonymous(
                reserve,
                nz(self.size)?,
                ProtFlags::PROT_NONE,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_FIXED | MapFlags::MAP_NORESERVE,
            )
        }
        .map_err(|source| SimError::Map { what: "TLB window reservation", source })?;
        let offset = i64::try_from(page).map_err(|_| SimError::Map {
            what: "tile control page (offset too large)",
            source: nix::errno::Errno::EOVERFLOW,
        })?;
        let at = NonZeroUsize::new(self.base.as_ptr() as usize + start as usize);
        // SAFETY: MAP_FIXED over one page inside our own reservation (start + PAGE <= size,
        // checked by `covers`); the file is open read-write and holds the page.
        unsafe {
            mmap(
                at,
                nz(PAGE)?,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED | MapFlags::MAP_FIXED,
                &self.shared.file,
                offset,
            )
        }
        .map_err(|source| SimError::Map { what: "tile control page into TLB window", source })?;
        // SAFETY: start + PAGE <= size (checked by `covers`), so the address is inside our
        // own reservation.
        not_inherited(unsafe { self.base.as_ptr().cast::<u8>().add(start as usize) }.cast(), PAGE)?;
        // SAFETY: [base + start, base + start + PAGE) is mapped read-write (above) and stays
        // mapped until the next configure or drop, which clear the region first.
        self.region = Some(unsafe {
            MmioRegion::new_partial(self.base.cast(), start as usize, (start + PAGE) as usize)
        });
        self.target = Some((core, addr));
        Ok(())
    }
}

/// Keeps `len` bytes of file mapping at `at` out of forked children: a mapping holds the chip
/// file's open description, and so its lock, for as long as it exists (see `crate::inherit`).
fn not_inherited(at: *mut std::ffi::c_void, len: u64) -> Result<(), SimError> {
    let Some(at) = std::ptr::NonNull::new(at) else { return Ok(()) };
    // SAFETY: the range is a mapping of ours (just made); MADV_DONTFORK changes only whether a
    // child gets a copy of it, never its contents.
    unsafe { nix::sys::mman::madvise(at, len as usize, nix::sys::mman::MmapAdvise::MADV_DONTFORK) }
        .map_err(|source| SimError::Map {
            what: "TLB window (keeping it from forked children)",
            source,
        })
}

impl Drop for SimTlbWindow {
    fn drop(&mut self) {
        self.region = None;
        if let Ok(len) = nz(self.size) {
            // SAFETY: the reservation is ours and no region refers to it any more.
            if let Err(e) = unsafe { munmap(self.base, len.get()) } {
                tracing::warn!(error = %e, "unmapping a simulated TLB window failed");
            }
        }
        self.shared.windows_in_use.lock()[self.class] -= 1;
    }
}
