//! The device session: an opened device with its allocator, its ledger slot, the fixed
//! RESERVED area and the persistent SYSTEM kernels.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;

use parking_lot::Mutex;
use tt_accounting::{
    fork_generation, BankClass, BankSpan, BankType, ForkGeneration, MemKind, Placement, Reservation,
};
use tt_alloc::{Allocation, Allocator, AllocatorConfig, BufferRequest, Layout, Policy};
use tt_device::{Device, OpenOptions};
use tt_soc::l1_map::{firmware_slot, L1Map, MAX_PROCESSORS, TENSIX_KERNEL_REGION};
use tt_soc::{CoreKind, LogicalCoord, NocCoord};
use tt_track::{AllocRecord, DeviceInfo, DeviceSlot, SessionPlacer, Tracker};

use crate::{KernelImage, ProgramError};

const DISPATCH_ELF: &[u8] = include_bytes!("../../../kernels/elf/dispatch.elf");
const FABRIC_ELF: &[u8] = include_bytes!("../../../kernels/elf/fabric.elf");

/// Dispatch cores per chip: the first two cores of the last worker row, as tt-metal keeps
/// its dispatch cores at the edge of the grid.
const DISPATCH_CORES: u16 = 2;

/// An opened device ready for programs. Cheap to clone; the device closes (SYSTEM kernels
/// and RESERVED released, ledger slot closed, chip lock given back) when the last clone,
/// every program and buffer made through it, and every allocation and allocator clone are
/// gone, or at [`Runtime::close`].
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

/// Fields drop in order: the session's own allocations first, then its allocator handle,
/// then the session (if nothing else holds it).
pub(crate) struct RuntimeInner {
    system: Mutex<Vec<Allocation>>,
    pub(crate) allocator: Allocator,
    pub(crate) session: Arc<Session>,
    dispatch_cores: Vec<NocCoord>,
    fabric_cores: Vec<NocCoord>,
    /// Held while a program runs: each core has one mailbox per processor, so programs run
    /// one at a time per device, in the order they ask, like a hardware command queue.
    pub(crate) run_lock: Mutex<()>,
}

/// What holds the chip: the opened device (and its exclusive lock), its ledger slot and the
/// placements that last as long as the chip is open. The allocator keeps it alive, so every
/// handle holding chip memory keeps the chip held and its slot open.
pub(crate) struct Session {
    fabric: Mutex<Option<AllocRecord>>,
    firmware: Mutex<Option<AllocRecord>>,
    reserved: Mutex<Option<AllocRecord>>,
    /// The Ethernet firmware's areas of every Ethernet core (RESERVED).
    eth_reserved: Mutex<Option<AllocRecord>>,
    pub(crate) tracker: Tracker,
    pub(crate) slot: DeviceSlot,
    /// The slot's only placer while the session holds the chip: its allocator places
    /// through it, and it says how many records the slot holds.
    placer: SessionPlacer,
    pub(crate) device: Device,
    /// The process that opened the chip; a forked child's copy refuses to act.
    generation: ForkGeneration,
}

impl Session {
    /// Records a placement the session holds for its whole life (RESERVED areas, our firmware),
    /// whose reserved bytes are its payload.
    fn record_fixed(
        &self,
        kind: MemKind,
        class: BankClass,
        spans: &[BankSpan],
        owner: &str,
        opened_at: &'static Location<'static>,
    ) -> Result<AllocRecord, tt_track::TrackError> {
        let placement = Placement {
            device: self.device.chip_uid(),
            kind,
            class,
            spans,
            reserved: Reservation::Payload,
            owner,
            provenance: opened_at,
        };
        self.tracker.record(self.slot, &placement)
    }

    /// Records the session itself holds outside its allocator (RESERVED areas, firmware,
    /// the fabric kernel).
    fn fixed_records(&self) -> usize {
        [&self.fabric, &self.firmware, &self.reserved, &self.eth_reserved]
            .iter()
            .filter(|record| record.lock().is_some())
            .count()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.generation.is_current() {
            // A forked child letting go of its copy: the chip and its slot are the parent's.
            return;
        }
        // Stop our firmware before its bytes stop being counted.
        for core in self.device.soc().tensix_cores() {
            if let Err(e) = self.device.hold_in_reset(core) {
                tracing::warn!(%core, error = %e, "holding a core in reset at close failed");
            }
        }
        // Release while the tracker slot is still open, then close it; the device closes
        // after this body, as a field.
        drop(self.firmware.lock().take());
        drop(self.fabric.lock().take());
        drop(self.reserved.lock().take());
        drop(self.eth_reserved.lock().take());
        if let Err(e) = self.tracker.unregister_device(self.slot) {
            tracing::warn!(error = %e, "closing the device's ledger slot failed");
        }
    }
}

/// What still holds a device that [`Runtime::close`] was asked to close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveHandles {
    /// Other clones of the runtime, loaded programs and buffers made through it.
    pub runtime_holders: usize,
    /// Live allocations made through its allocator: (owner, bank type, address).
    pub allocations: Vec<(String, BankType, u64)>,
    /// Clones of its allocator.
    pub allocator_clones: usize,
    /// Records made directly through the session's tracker slot ([`Tracker::record`] on
    /// [`Runtime::slot`]) and still alive: they count on the chip, so they are the session's.
    pub raw_records: usize,
}

impl LiveHandles {
    /// Every live handle counted.
    pub fn total(&self) -> usize {
        self.runtime_holders + self.allocations.len() + self.allocator_clones + self.raw_records
    }
}

impl fmt::Display for LiveHandles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.runtime_holders > 0 {
            parts.push(format!(
                "{} runtime clone(s), loaded program(s) or buffer(s)",
                self.runtime_holders
            ));
        }
        if !self.allocations.is_empty() {
            const SHOWN: usize = 4;
            let named: Vec<String> = self
                .allocations
                .iter()
                .take(SHOWN)
                .map(|(owner, bank, addr)| format!("`{owner}` ({bank} at {addr:#x})"))
                .collect();
            let more = self.allocations.len().saturating_sub(SHOWN);
            let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
            parts.push(format!(
                "{} allocation(s): {}{tail}",
                self.allocations.len(),
                named.join(", ")
            ));
        }
        if self.allocator_clones > 0 {
            parts.push(format!("{} allocator clone(s)", self.allocator_clones));
        }
        if self.raw_records > 0 {
            parts.push(format!(
                "{} record(s) made through the session's tracker slot",
                self.raw_records
            ));
        }
        f.write_str(&parts.join("; "))
    }
}

/// [`Runtime::close`] refused: handles still hold memory on the device. Nothing was closed;
/// [`CloseError::into_runtime`] gives the session back.
pub struct CloseError {
    runtime: Runtime,
    /// What still holds the device.
    pub live: LiveHandles,
}

impl CloseError {
    /// The session, still open.
    pub fn into_runtime(self) -> Runtime {
        self.runtime
    }
}

impl fmt::Debug for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloseError")
            .field("device", &self.runtime.device().spec().to_string())
            .field("live", &self.live)
            .finish()
    }
}

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot close {}: {} handle(s) still hold it ({}); drop them first, the chip stays \
             locked and its memory counted until they are gone",
            self.runtime.device().spec(),
            self.live.total(),
            self.live
        )
    }
}

impl std::error::Error for CloseError {}

impl From<CloseError> for ProgramError {
    fn from(error: CloseError) -> Self {
        ProgramError::StillInUse {
            device: error.runtime.device().spec().to_string(),
            live: error.live.total(),
            handles: error.live.to_string(),
        }
    }
}

impl Runtime {
    /// Opens `spec` (or, with `None`, the first card or a simulated Wormhole B0) and records
    /// into this process's ledger ([`tt_track::global`]).
    #[track_caller]
    pub fn open(spec: Option<&str>) -> Result<Runtime, ProgramError> {
        Self::open_with(spec, &OpenOptions::default())
    }

    /// Opens the first card, or a simulated Wormhole B0 when there is none (saying so in the
    /// log), recording into this process's ledger.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::env::set_var("TT_SIM_DIR", dir.path());
    /// # std::env::set_var("TT_LEDGER_DIR", dir.path());
    /// let rt = tt_program::Runtime::open_default()?;
    /// let buffer = tt_program::Buffer::dram(&rt, 2048, 4, "doc example")?;
    /// buffer.write(&[7; 8192])?;
    /// let mut back = vec![0; 8192];
    /// buffer.read(&mut back)?;
    /// assert_eq!(back, vec![7; 8192]);
    /// # drop(buffer);
    /// # rt.close()?;
    /// # Ok::<(), tt_program::ProgramError>(())
    /// ```
    pub fn open_default() -> Result<Runtime, ProgramError> {
        Self::open(None)
    }

    /// [`Runtime::open`] with a SoC descriptor file, harvesting mask or simulator directory.
    #[track_caller]
    pub fn open_with(spec: Option<&str>, options: &OpenOptions) -> Result<Runtime, ProgramError> {
        let device = match spec {
            Some(s) => Device::open_with(s, options)?,
            None => Device::open_default_with(options)?,
        };
        Self::with_device(device, tt_track::global())
    }

    /// Starts a session on an opened device, recording into `tracker`: registers the device,
    /// records the reserved L1 area of every Tensix core as RESERVED, brings each Tensix core
    /// up with our firmware at its reset pcs (SYSTEM, exact size), and places the dispatch
    /// kernel on the dispatch cores and the fabric kernel on the Ethernet cores as SYSTEM.
    /// The caller's source location is their provenance.
    #[track_caller]
    pub fn with_device(device: Device, tracker: &Tracker) -> Result<Runtime, ProgramError> {
        let opened_at = Location::caller();
        let soc = device.soc();
        let info = DeviceInfo::from_soc(device.chip_uid(), &device.spec().to_string(), soc);
        let slot = tracker.register_device(&info)?;
        // Refused when a session of this process already holds the chip (its slot stays as
        // that session has it).
        let placer = tracker.attach_session(slot)?;
        let uid = device.chip_uid();
        let session = Arc::new(Session {
            fabric: Mutex::new(None),
            firmware: Mutex::new(None),
            reserved: Mutex::new(None),
            eth_reserved: Mutex::new(None),
            tracker: tracker.clone(),
            slot,
            placer: placer.clone(),
            device,
            generation: fork_generation(),
        });
        let soc = session.device.soc();
        let allocator = Allocator::for_session(
            soc,
            uid,
            AllocatorConfig::default(),
            Arc::new(placer.clone()),
            Arc::clone(&session) as Arc<dyn Send + Sync>,
        )
        .map_err(|source| ProgramError::Alloc { program: "device session".into(), source })?;
        let (cols, rows) = soc.worker_grid_size();
        let dispatch_cores: Vec<NocCoord> = (0..DISPATCH_CORES.min(cols))
            .filter_map(|x| soc.logical_to_noc(LogicalCoord::new(x, rows.saturating_sub(1))))
            .collect();
        // A simulated chip is a loopback cluster: every Ethernet link counts as active. A
        // card's link state needs ARC telemetry, not read yet, so all are taken as active too.
        let fabric_cores = soc.ethernet_cores().to_vec();
        let inner = Arc::new(RuntimeInner {
            system: Mutex::new(Vec::new()),
            allocator,
            session,
            dispatch_cores,
            fabric_cores,
            run_lock: Mutex::new(()),
        });
        let runtime = Runtime { inner };
        // From here on, dropping `runtime` on an error releases whatever was placed.
        runtime.place_reserved_and_firmware(opened_at)?;
        runtime.place_ethernet_reserved(opened_at)?;
        runtime.place_system_kernels(opened_at)?;
        // From here on nobody places SYSTEM or RESERVED on the chip: user code asking for
        // them through the allocator, a buffer or a raw record is refused and counted.
        placer.finish_bring_up();
        Ok(runtime)
    }

    /// Records the reserved L1 area of every Tensix core as RESERVED, less our firmware at
    /// each reset pc, which is SYSTEM with its exact size, and brings every core up: held in
    /// soft reset, firmware written, released (the same tt-device calls on a card).
    fn place_reserved_and_firmware(
        &self,
        opened_at: &'static Location<'static>,
    ) -> Result<(), ProgramError> {
        let session = &self.inner.session;
        let soc = session.device.soc();
        let Some(map) = L1Map::for_core(CoreKind::Tensix, soc.worker_l1_size()) else {
            return Ok(());
        };
        let firmware = crate::firmware()?;
        let size = firmware.image().len() as u64;
        let mut slots: Vec<u64> = (0..MAX_PROCESSORS).filter_map(firmware_slot).collect();
        slots.sort_unstable();
        let cores = soc.tensix_cores();
        let mut reserved = Vec::new();
        let mut system = Vec::new();
        for bank in 0..u32::try_from(cores.len()).unwrap_or(u32::MAX) {
            let mut at = map.reserved.start;
            for slot in &slots {
                reserved.push(BankSpan { bank, addr: at, size: slot - at });
                system.push(BankSpan { bank, addr: *slot, size });
                at = slot + size;
            }
            reserved.push(BankSpan { bank, addr: at, size: map.reserved.end - at });
        }
        reserved.retain(|span| span.size > 0);
        let record = |kind, spans: &[BankSpan], owner| {
            session.record_fixed(kind, BankClass::Tensix, spans, owner, opened_at)
        };
        let reserved =
            record(MemKind::Reserved, &reserved, "L1 reserved area (mailboxes, stacks)")?;
        *session.reserved.lock() = Some(reserved);
        let placed = record(MemKind::System, &system, "system: firmware at the reset pcs")?;
        *session.firmware.lock() = Some(placed);
        for core in &cores {
            session.device.start_firmware(*core, firmware.image())?;
        }
        Ok(())
    }

    /// Records the Ethernet firmware's areas of every Ethernet core as RESERVED: the base
    /// firmware and its words at the bottom, Wormhole's routing firmware area, the config and
    /// system areas at the top ([`L1Map::firmware_owned`]). Nothing of ours is written there.
    fn place_ethernet_reserved(
        &self,
        opened_at: &'static Location<'static>,
    ) -> Result<(), ProgramError> {
        let session = &self.inner.session;
        let soc = session.device.soc();
        let Some(map) = L1Map::for_core(CoreKind::Ethernet, soc.eth_l1_size()) else {
            return Ok(());
        };
        let cores = u32::try_from(soc.ethernet_cores().len()).unwrap_or(u32::MAX);
        let spans: Vec<BankSpan> = (0..cores)
            .flat_map(|bank| {
                map.firmware_owned().map(move |r| BankSpan {
                    bank,
                    addr: r.start,
                    size: r.end - r.start,
                })
            })
            .collect();
        if spans.is_empty() {
            return Ok(());
        }
        let owner = "Ethernet firmware areas (base firmware, routing firmware, config space)";
        let record = session.record_fixed(
            MemKind::Reserved,
            BankClass::Ethernet,
            &spans,
            owner,
            opened_at,
        )?;
        *session.eth_reserved.lock() = Some(record);
        Ok(())
    }

    fn place_system_kernels(
        &self,
        opened_at: &'static Location<'static>,
    ) -> Result<(), ProgramError> {
        let inner = &self.inner;
        let device = &inner.session.device;
        let tensix_region = TENSIX_KERNEL_REGION.end - TENSIX_KERNEL_REGION.start;
        let dispatch =
            KernelImage::from_elf("dispatch.elf (built in)", DISPATCH_ELF, tensix_region)?;
        if !inner.dispatch_cores.is_empty() {
            let request = BufferRequest {
                bank_type: BankType::KernelRegion,
                kind: MemKind::System,
                layout: Layout::Sharded {
                    cores: &inner.dispatch_cores,
                    shard_size: dispatch.placed_bytes(),
                },
                policy: Policy::default(),
                owner: "system: dispatch kernel",
            };
            let placed = inner.allocator.allocate_from(&request, opened_at).map_err(|source| {
                ProgramError::Alloc { program: "dispatch kernel".into(), source }
            })?;
            for core in &inner.dispatch_cores {
                device.write(*core, placed.address(), dispatch.image())?;
            }
            inner.system.lock().push(placed);
        }
        // An Ethernet L1 of a size no Tenstorrent map describes has no kernel region: no fabric.
        let eth_map = L1Map::for_core(CoreKind::Ethernet, device.soc().eth_l1_size());
        if let (Some(map), false) = (eth_map, inner.fabric_cores.is_empty()) {
            let region = map.kernel;
            let fabric = KernelImage::from_elf(
                "fabric.elf (built in)",
                FABRIC_ELF,
                region.end - region.start,
            )?;
            // The fabric kernel is the only tenant of an Ethernet core's kernel region, so it
            // sits at the region's start (Wormhole: FIRMWARE_BASE, clear of the base firmware's
            // words); the spans count one copy per Ethernet core. It is written, not launched:
            // no source we cite says how a runtime other than tt-metal starts an app there.
            for core in &inner.fabric_cores {
                device.write(*core, region.start, fabric.image())?;
            }
            let payload = fabric.image().len() as u64;
            let spans: Vec<BankSpan> = (0..inner.fabric_cores.len() as u32)
                .map(|bank| BankSpan { bank, addr: region.start, size: payload })
                .collect();
            let session = &inner.session;
            let placement = Placement {
                device: device.chip_uid(),
                kind: MemKind::System,
                class: BankClass::Ethernet,
                spans: &spans,
                reserved: Reservation::EachSpan { per_span: fabric.placed_bytes() },
                owner: "system: fabric kernel (Ethernet cores)",
                provenance: opened_at,
            };
            let record = session.tracker.record(session.slot, &placement)?;
            *session.fabric.lock() = Some(record);
        }
        Ok(())
    }

    /// The device.
    pub fn device(&self) -> &Device {
        &self.inner.session.device
    }

    /// The device's allocator (buffers placed through it are tracked like everything else).
    pub fn allocator(&self) -> &Allocator {
        &self.inner.allocator
    }

    /// The tracker this session records into.
    pub fn tracker(&self) -> &Tracker {
        &self.inner.session.tracker
    }

    /// The device's slot in the tracker's ledger.
    pub fn slot(&self) -> DeviceSlot {
        self.inner.session.slot
    }

    /// Sets the device's high-water marks back to what is placed now, so the next peak
    /// measures what follows (as `torch.cuda.reset_peak_memory_stats`).
    pub fn reset_peaks(&self) -> Result<(), ProgramError> {
        Ok(self.tracker().reset_peaks(self.slot())?)
    }

    /// Refuses to act in a child forked from the process that opened the device: the chip,
    /// its allocator and its ledger slot are the parent's.
    pub(crate) fn check_process(&self) -> Result<(), ProgramError> {
        if self.inner.session.generation.is_current() {
            Ok(())
        } else {
            Err(ProgramError::InheritedAcrossFork { device: self.device().spec().to_string() })
        }
    }

    /// Cores running the persistent dispatch kernel.
    pub fn dispatch_cores(&self) -> &[NocCoord] {
        &self.inner.dispatch_cores
    }

    /// Ethernet cores running the persistent fabric kernel.
    pub fn fabric_cores(&self) -> &[NocCoord] {
        &self.inner.fabric_cores
    }

    /// Tensix cores available to programs (the usable grid less the dispatch cores), row-major.
    pub fn worker_cores(&self) -> Vec<NocCoord> {
        let dispatch = &self.inner.dispatch_cores;
        self.device().soc().tensix_cores().into_iter().filter(|c| !dispatch.contains(c)).collect()
    }

    pub(crate) fn inner(&self) -> &Arc<RuntimeInner> {
        &self.inner
    }

    /// What still holds the device besides this handle and the session's own placements.
    pub fn live_handles(&self) -> LiveHandles {
        let allocator = &self.inner.allocator;
        let system: Vec<(BankType, u64)> =
            self.inner.system.lock().iter().map(|a| (a.bank_type(), a.address())).collect();
        let mut allocations = Vec::new();
        for bank_type in BankType::ALL {
            for block in allocator.blocks(bank_type) {
                if block.allocated && !system.contains(&(bank_type, block.addr)) {
                    allocations.push((block.owner.unwrap_or_default(), bank_type, block.addr));
                }
            }
        }
        // The allocator is held by the runtime itself, each clone, and each live allocation.
        let live = allocations.len() + system.len();
        let allocator_clones = allocator.holders().saturating_sub(1 + live);
        // Every record alive in the slot that is neither an allocation nor the session's own
        // was made raw through the slot (tracking off: none are counted, none are alive).
        let session = &self.inner.session;
        let known = (live + session.fixed_records()) as u64;
        let raw_records = session.placer.records_alive().saturating_sub(known);
        LiveHandles {
            runtime_holders: Arc::strong_count(&self.inner) - 1,
            allocations,
            allocator_clones,
            raw_records: usize::try_from(raw_records).unwrap_or(usize::MAX),
        }
    }

    /// Closes the device now: releases the SYSTEM kernels and the RESERVED area, closes the
    /// ledger slot and gives the chip back. Refused, with what still holds it, while other
    /// clones, loaded programs, buffers, allocations or allocator clones are alive: the chip
    /// can never be closed (and reopened, and handed out again) under live memory.
    pub fn close(self) -> Result<(), CloseError> {
        let live = self.live_handles();
        if live.total() > 0 {
            return Err(CloseError { runtime: self, live });
        }
        drop(self);
        Ok(())
    }
}
