//! The per-device allocator and the owning [`Allocation`] handle.

use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tt_accounting::{
    fork_generation, BankHealth, BankSpan, BankType, ForkGeneration, MemKind, Placement,
    PlacementGuard, PlacementTracker, Reservation,
};
use tt_soc::{ChipUid, DramBank, NocCoord, SocDescriptor};

use crate::bank::{bank_layouts, BankLayout};
use crate::error::{AllocError, RangeError};
use crate::layout::{plan, BufferRequest};
use crate::range::{RangeAllocator, RangeHandle};
use crate::stats::{dump_json, BankStats, BlockInfo};
use crate::AllocatorConfig;

/// Who holds an allocated block, for dumps.
struct Owner {
    tag: Box<str>,
    kind: MemKind,
}

struct BankState {
    ranges: RangeAllocator,
    owners: HashMap<u64, Owner>,
}

impl BankState {
    /// The free-space figures a monitor needs, taken under the bank type's lock.
    fn health(&self, layout: &BankLayout) -> BankHealth {
        // Published after every allocation and free, so only figures that need no walk: not
        // `stats()`, whose largest block's address may cost a walk of equal-sized blocks.
        let r = &self.ranges;
        BankHealth {
            bank_type: layout.bank_type,
            banks: layout.count,
            bank_size: r.size(),
            free_per_bank: r.free_bytes(),
            largest_free_per_bank: r.largest_free_size(),
            free_blocks: r.free_block_count() as u64,
            allocated_blocks: r.allocated_block_count() as u64,
        }
    }
}

/// One bank type: where its banks are and the engine behind its own lock, so allocations
/// of different bank types never wait for each other.
struct BankGroup {
    layout: BankLayout,
    state: Mutex<BankState>,
}

struct Inner {
    device: ChipUid,
    soc: SocDescriptor,
    tracker: Arc<dyn PlacementTracker>,
    groups: [BankGroup; 5],
    /// L1 bank index -> Tensix core, and back.
    cores: Vec<NocCoord>,
    core_banks: HashMap<NocCoord, u32>,
    integrity_errors: AtomicU64,
    /// The process the allocator was made in; a forked child's copy refuses to place.
    generation: ForkGeneration,
    /// Whatever holds the chip (the device session and its exclusive lock), kept alive for
    /// as long as any clone of the allocator or any allocation lives, so an address can never
    /// be handed out twice.
    _session: Option<Arc<dyn Send + Sync>>,
}

impl Inner {
    fn publish_health(&self, bank_type: BankType, state: &BankState) {
        let layout = &self.groups[bank_type.index()].layout;
        self.tracker.allocator_health(self.device, &state.health(layout));
    }
}

/// Places buffers in the banks of one device. Cheap to clone (shared state); each bank
/// type has its own lock.
#[derive(Clone)]
pub struct Allocator {
    inner: Arc<Inner>,
}

impl fmt::Debug for Allocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Allocator")
            .field("device", &self.inner.device)
            .field("arch", &self.inner.soc.arch())
            .finish_non_exhaustive()
    }
}

impl Allocator {
    /// An allocator for the chip `soc` describes (harvested cores excluded), with L1_SMALL
    /// and TRACE carved as `config` says; every placement is reported to `tracker`. It is
    /// tied to no device session: use [`Allocator::for_session`] for a chip that is open.
    /// Refused when `tracker` says this allocator must not exist: a device session already
    /// owns the chip's allocator (a second one would hand out its addresses again), or (for
    /// a tracker that counts) no session or registration opened the chip.
    pub fn new(
        soc: &SocDescriptor,
        device: ChipUid,
        config: AllocatorConfig,
        tracker: Arc<dyn PlacementTracker>,
    ) -> Result<Self, AllocError> {
        Self::build(soc, device, config, tracker, None)
    }

    /// [`Allocator::new`] for an open chip: `session` (whatever holds the chip's exclusive
    /// lock) stays alive until the last clone of the allocator and the last allocation are
    /// gone, so the chip cannot be closed, reopened and handed out again under them.
    pub fn for_session(
        soc: &SocDescriptor,
        device: ChipUid,
        config: AllocatorConfig,
        tracker: Arc<dyn PlacementTracker>,
        session: Arc<dyn Send + Sync>,
    ) -> Result<Self, AllocError> {
        Self::build(soc, device, config, tracker, Some(session))
    }

    fn build(
        soc: &SocDescriptor,
        device: ChipUid,
        config: AllocatorConfig,
        tracker: Arc<dyn PlacementTracker>,
        session: Option<Arc<dyn Send + Sync>>,
    ) -> Result<Self, AllocError> {
        tracker
            .allocator_attached(device)
            .map_err(|refused| AllocError::AllocatorRefused { device, reason: refused.reason })?;
        let layouts = bank_layouts(soc, device, config)?;
        let groups = layouts.map(|layout| {
            let ranges = RangeAllocator::new(
                layout.range.start,
                layout.range.end - layout.range.start,
                layout.alignment,
            );
            BankGroup { layout, state: Mutex::new(BankState { ranges, owners: HashMap::new() }) }
        });
        let cores = soc.tensix_cores();
        // Bank indices fit in u32: bank_layouts checked the core count.
        let core_banks = cores.iter().enumerate().map(|(i, c)| (*c, i as u32)).collect();
        let inner = Inner {
            device,
            soc: soc.clone(),
            tracker,
            groups,
            cores,
            core_banks,
            integrity_errors: AtomicU64::new(0),
            generation: fork_generation(),
            _session: session,
        };
        for group in &inner.groups {
            inner.publish_health(group.layout.bank_type, &group.state.lock());
        }
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The device this allocator places on.
    pub fn device(&self) -> ChipUid {
        self.inner.device
    }

    /// Places one buffer and returns the handle that owns it. The caller's source location
    /// is recorded as the placement's provenance.
    #[track_caller]
    pub fn allocate(&self, req: &BufferRequest<'_>) -> Result<Allocation, AllocError> {
        self.allocate_from(req, Location::caller())
    }

    /// [`Allocator::allocate`] recording `provenance` as where the placement was asked for,
    /// for callers that place on behalf of their own caller.
    pub fn allocate_from(
        &self,
        req: &BufferRequest<'_>,
        provenance: &'static Location<'static>,
    ) -> Result<Allocation, AllocError> {
        let inner = &self.inner;
        let bank_type = req.bank_type;
        if !inner.generation.is_current() {
            return Err(AllocError::InheritedAcrossFork { device: inner.device });
        }
        if !bank_type.accepts(req.kind) {
            let allowed = bank_type.accepted_kinds();
            return Err(AllocError::KindNotValid { kind: req.kind, bank_type, allowed });
        }
        let group = &inner.groups[bank_type.index()];
        if group.layout.range.is_empty() || group.layout.count == 0 {
            return Err(AllocError::EmptyRegion { device: inner.device, bank_type });
        }
        let plan = plan(&req.layout, &group.layout, |core| self.bank_of_core_checked(core))?;
        let handle = {
            let mut state = group.state.lock();
            let handle = state
                .ranges
                .allocate_handle(plan.size_per_bank, 0, req.policy)
                .map_err(|e| self.range_error(bank_type, e))?;
            state.owners.insert(handle.addr(), Owner { tag: req.owner.into(), kind: req.kind });
            inner.publish_health(bank_type, &state);
            handle
        };
        let address = handle.addr();
        let spans = plan
            .payload_per_bank
            .iter()
            .map(|&(bank, size)| BankSpan { bank, addr: address, size })
            .collect();
        // The handle exists before the tracker is called, so the range is freed if the
        // tracker refuses or unwinds; the tracker in turn releases whatever it counted if it
        // unwinds after counting. Either a live handle owns the placement or nothing does.
        let mut allocation = Allocation {
            inner: Arc::clone(inner),
            bank_type,
            kind: req.kind,
            handle,
            size_per_bank: plan.size_per_bank,
            page_stride: plan.page_stride,
            spans,
            guard: None,
        };
        let placement = Placement {
            device: inner.device,
            kind: req.kind,
            class: bank_type.class(),
            spans: &allocation.spans,
            reserved: Reservation::EveryBank {
                per_bank: plan.size_per_bank,
                banks: group.layout.count,
            },
            owner: req.owner,
            provenance,
        };
        let guard = inner.tracker.placed(&placement).map_err(|refused| {
            AllocError::TrackingRefused { device: inner.device, bank_type, reason: refused.reason }
        })?;
        allocation.guard = Some(guard);
        Ok(allocation)
    }

    /// Every live holder of this allocator's state: its clones (this one included) and its
    /// live allocations. The device session uses it to refuse closing under live handles.
    pub fn holders(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    /// Live allocations over every bank type.
    pub fn live_allocations(&self) -> usize {
        self.inner.groups.iter().map(|g| g.state.lock().ranges.allocated_block_count()).sum()
    }

    /// Occupancy of one bank type.
    pub fn stats(&self, bank_type: BankType) -> BankStats {
        let group = &self.inner.groups[bank_type.index()];
        let range = group.state.lock().ranges.stats();
        BankStats::new(bank_type, group.layout.count, group.layout.range.start, range)
    }

    /// Every block of one bank type in address order, with owners.
    pub fn blocks(&self, bank_type: BankType) -> Vec<BlockInfo> {
        let state = self.inner.groups[bank_type.index()].state.lock();
        state
            .ranges
            .blocks()
            .into_iter()
            .map(|b| {
                let owner = b.allocated.then(|| state.owners.get(&b.addr)).flatten();
                BlockInfo {
                    addr: b.addr,
                    size: b.size,
                    allocated: b.allocated,
                    owner: owner.map(|o| o.tag.to_string()),
                    kind: owner.map(|o| o.kind),
                }
            })
            .collect()
    }

    /// Figures and blocks of one bank type as JSON (addresses and sizes in bytes).
    pub fn dump_json(&self, bank_type: BankType) -> serde_json::Value {
        // Blocks first, then stats: both are consistent snapshots, taken a lock apart.
        let blocks = self.blocks(bank_type);
        dump_json(self.inner.device, &self.stats(bank_type), &blocks)
    }

    /// Number of banks of a type (DRAM banks, or usable Tensix cores).
    pub fn bank_count(&self, bank_type: BankType) -> usize {
        self.inner.groups[bank_type.index()].layout.count as usize
    }

    /// Address alignment of a bank type.
    pub fn alignment(&self, bank_type: BankType) -> u64 {
        self.inner.groups[bank_type.index()].layout.alignment
    }

    /// The Tensix core of an L1 (or L1_SMALL, kernel region) bank index.
    pub fn bank_core(&self, l1_bank: u32) -> Option<NocCoord> {
        self.inner.cores.get(l1_bank as usize).copied()
    }

    /// The L1 bank index of a usable Tensix core.
    pub fn core_bank(&self, core: NocCoord) -> Option<u32> {
        self.inner.core_banks.get(&core).copied()
    }

    /// The SoC descriptor's DRAM bank behind DRAM (or TRACE) bank index `bank`: add its
    /// `offset` to an allocation's address to get the offset within the channel.
    pub fn dram_bank(&self, bank: u32) -> Option<DramBank> {
        self.inner.soc.dram_banks().get(bank as usize).copied()
    }

    /// Releases that found their range already gone; always 0 unless this crate has a bug.
    pub fn integrity_errors(&self) -> u64 {
        self.inner.integrity_errors.load(Ordering::Relaxed)
    }

    fn bank_of_core_checked(&self, core: NocCoord) -> Result<u32, AllocError> {
        self.core_bank(core).ok_or_else(|| AllocError::NotATensixCore {
            device: self.inner.device,
            core,
            found: self.inner.soc.kind_at(core).map_or("outside the grid", |k| k.name()),
        })
    }

    fn range_error(&self, bank_type: BankType, error: RangeError) -> AllocError {
        let device = self.inner.device;
        match error {
            RangeError::OutOfMemory { requested, free } => {
                AllocError::OutOfMemory { device, bank_type, requested, free }
            }
            RangeError::Fragmented { requested, free, largest_free_block } => {
                AllocError::Fragmented { device, bank_type, requested, free, largest_free_block }
            }
            RangeError::ZeroSize => AllocError::ZeroSize { bank_type },
            source => AllocError::Placement { device, bank_type, source },
        }
    }
}

/// One placed buffer. Dropping it frees its range in every bank and then drops the
/// tracker guard, which records the release with the sizes captured at placement.
pub struct Allocation {
    inner: Arc<Inner>,
    bank_type: BankType,
    kind: MemKind,
    /// The range block, freed by handle (no address lookup) on drop.
    handle: RangeHandle,
    size_per_bank: u64,
    page_stride: Option<u64>,
    spans: Box<[BankSpan]>,
    guard: Option<Box<dyn PlacementGuard>>,
}

impl Allocation {
    /// The address of the buffer in every bank it uses (an L1 address, or an offset within
    /// each DRAM bank).
    pub fn address(&self) -> u64 {
        self.handle.addr()
    }

    /// Bytes reserved in each bank of the type (aligned pages per bank, or the aligned
    /// shard size).
    pub fn size_per_bank(&self) -> u64 {
        self.size_per_bank
    }

    /// Where page `page` of an interleaved buffer lives: (bank, address in that bank). Pages
    /// go round-robin over the banks at the aligned page size. `None` for a sharded buffer or
    /// a page past the buffer's reservation.
    pub fn page_location(&self, page: u64) -> Option<(u32, u64)> {
        let stride = self.page_stride?;
        let banks = u64::from(self.inner.groups[self.bank_type.index()].layout.count);
        let offset = (page / banks).checked_mul(stride)?;
        if offset >= self.size_per_bank {
            return None;
        }
        Some(((page % banks) as u32, self.address() + offset))
    }

    /// The payload each bank or core holds (what the owner asked for, before alignment);
    /// banks holding nothing are left out.
    pub fn spans(&self) -> &[BankSpan] {
        &self.spans
    }

    /// Payload bytes: the sum of [`Allocation::spans`].
    pub fn total_bytes(&self) -> u64 {
        self.spans.iter().map(|s| s.size).sum()
    }

    /// Reserved bytes: the range this buffer removed from every bank of its type
    /// ([`Allocation::size_per_bank`] times the bank count), whatever its payload.
    pub fn reserved_bytes(&self) -> u64 {
        let banks = self.inner.groups[self.bank_type.index()].layout.count;
        self.size_per_bank.saturating_mul(u64::from(banks))
    }

    /// The bank type it lives in.
    pub fn bank_type(&self) -> BankType {
        self.bank_type
    }

    /// Its accounting kind.
    pub fn kind(&self) -> MemKind {
        self.kind
    }

    /// The device it lives on.
    pub fn device(&self) -> ChipUid {
        self.inner.device
    }
}

impl fmt::Debug for Allocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Allocation")
            .field("device", &self.inner.device)
            .field("bank_type", &self.bank_type)
            .field("kind", &self.kind)
            .field("address", &format_args!("{:#x}", self.handle.addr()))
            .field("size_per_bank", &self.size_per_bank)
            .field("banks", &self.spans.len())
            .finish()
    }
}

impl Drop for Allocation {
    fn drop(&mut self) {
        let group = &self.inner.groups[self.bank_type.index()];
        {
            let mut state = group.state.lock();
            match state.ranges.free_handle(self.handle) {
                Ok(_) => {
                    state.owners.remove(&self.handle.addr());
                    if self.inner.generation.is_current() {
                        self.inner.publish_health(self.bank_type, &state);
                    }
                }
                Err(error) => {
                    self.inner.integrity_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        device = %self.inner.device,
                        bank_type = %self.bank_type,
                        address = self.handle.addr(),
                        %error,
                        "allocator integrity error: a buffer's range was already gone at release"
                    );
                }
            }
        }
        drop(self.guard.take());
    }
}
