//! The device session: an opened device with its allocator, its ledger slot, the fixed
//! RESERVED area and the persistent SYSTEM kernels.

use std::panic::Location;
use std::sync::Arc;

use parking_lot::Mutex;
use tt_alloc::tracker::{BankSpan, MemKind};
use tt_alloc::{Allocation, Allocator, AllocatorConfig, BankType, BufferRequest, Layout, Policy};
use tt_device::{Device, OpenOptions};
use tt_soc::l1_map::{
    firmware_slot, L1Map, ETH_KERNEL_REGION, MAX_PROCESSORS, TENSIX_KERNEL_REGION,
};
use tt_soc::{CoreKind, LogicalCoord, NocCoord};
use tt_track::{AllocRecord, DeviceCapacity, DeviceSlot, Tracker};

use crate::{KernelImage, ProgramError};

const DISPATCH_ELF: &[u8] = include_bytes!("../../../kernels/elf/dispatch.elf");
const FABRIC_ELF: &[u8] = include_bytes!("../../../kernels/elf/fabric.elf");

/// Dispatch cores per chip: the first two cores of the last worker row, as tt-metal keeps
/// its dispatch cores at the edge of the grid.
const DISPATCH_CORES: u16 = 2;

/// An opened device ready for programs. Cheap to clone; the device closes (SYSTEM kernels
/// and RESERVED released, ledger slot closed) when the last clone and every program loaded
/// through it are gone, or at [`Runtime::close`].
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    system: Mutex<Vec<Allocation>>,
    fabric: Mutex<Option<AllocRecord>>,
    firmware: Mutex<Option<AllocRecord>>,
    reserved: Mutex<Option<AllocRecord>>,
    pub(crate) allocator: Allocator,
    pub(crate) tracker: Tracker,
    pub(crate) slot: DeviceSlot,
    pub(crate) device: Device,
    dispatch_cores: Vec<NocCoord>,
    fabric_cores: Vec<NocCoord>,
    /// Held while a program runs: each core has one mailbox per processor, so programs run
    /// one at a time per device, in the order they ask, like a hardware command queue.
    pub(crate) run_lock: Mutex<()>,
}

impl Runtime {
    /// Opens `spec` (or, with `None`, the first card or a simulated Wormhole B0) and records
    /// into this process's ledger ([`tt_track::global`]).
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
    /// let buffer = tt_program::InterleavedBuffer::dram(&rt, 2048, 4, "doc example")?;
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
    pub fn with_device(device: Device, tracker: &Tracker) -> Result<Runtime, ProgramError> {
        let soc = device.soc();
        let cores = soc.tensix_cores();
        let capacity = DeviceCapacity {
            dram_bytes: soc.dram_size(),
            l1_bytes_total: soc.worker_l1_size() * cores.len() as u64,
            l1_bytes_per_core: soc.worker_l1_size(),
            core_count: cores.len() as u64,
        };
        let slot = tracker.register_device(device.chip_uid(), device.arch(), capacity)?;
        let allocator = Allocator::new(
            soc,
            device.chip_uid(),
            AllocatorConfig::default(),
            Arc::new(tracker.clone()),
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
            fabric: Mutex::new(None),
            firmware: Mutex::new(None),
            reserved: Mutex::new(None),
            allocator,
            tracker: tracker.clone(),
            slot,
            device,
            dispatch_cores,
            fabric_cores,
            run_lock: Mutex::new(()),
        });
        let runtime = Runtime { inner };
        // From here on, dropping `runtime` on an error releases whatever was placed.
        runtime.place_reserved_and_firmware()?;
        runtime.place_system_kernels()?;
        Ok(runtime)
    }

    /// Records the reserved L1 area of every Tensix core as RESERVED, less our firmware at
    /// each reset pc, which is SYSTEM with its exact size, and brings every core up: held in
    /// soft reset, firmware written, released (the same tt-device calls on a card).
    fn place_reserved_and_firmware(&self) -> Result<(), ProgramError> {
        let inner = &self.inner;
        let soc = inner.device.soc();
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
        for bank in 0..cores.len() as u32 {
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
            inner.tracker.record_place(inner.slot, kind, spans, owner, Location::caller())
        };
        let reserved = record(MemKind::Reserved, &reserved, "L1 reserved area (mailboxes, stacks)");
        *inner.reserved.lock() = Some(reserved);
        let placed = record(MemKind::System, &system, "system: firmware at the reset pcs");
        *inner.firmware.lock() = Some(placed);
        for core in &cores {
            inner.device.start_firmware(*core, firmware.image())?;
        }
        Ok(())
    }

    fn place_system_kernels(&self) -> Result<(), ProgramError> {
        let inner = &self.inner;
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
            let placed = inner.allocator.allocate(&request).map_err(|source| {
                ProgramError::Alloc { program: "dispatch kernel".into(), source }
            })?;
            for core in &inner.dispatch_cores {
                inner.device.write(*core, placed.address(), dispatch.image())?;
            }
            inner.system.lock().push(placed);
        }
        let eth_region = ETH_KERNEL_REGION.end - ETH_KERNEL_REGION.start;
        let fabric = KernelImage::from_elf("fabric.elf (built in)", FABRIC_ELF, eth_region)?;
        if !inner.fabric_cores.is_empty() {
            // The fabric kernel is the only tenant of an Ethernet core's kernel region, so it
            // sits at the region's start; the spans count one copy per Ethernet core.
            for core in &inner.fabric_cores {
                inner.device.write(*core, ETH_KERNEL_REGION.start, fabric.image())?;
            }
            let spans: Vec<BankSpan> = (0..inner.fabric_cores.len() as u32)
                .map(|bank| BankSpan {
                    bank,
                    addr: ETH_KERNEL_REGION.start,
                    size: fabric.placed_bytes(),
                })
                .collect();
            let record = inner.tracker.record_place(
                inner.slot,
                MemKind::System,
                &spans,
                "system: fabric kernel (Ethernet cores)",
                Location::caller(),
            );
            *inner.fabric.lock() = Some(record);
        }
        Ok(())
    }

    /// The device.
    pub fn device(&self) -> &Device {
        &self.inner.device
    }

    /// The device's allocator (buffers placed through it are tracked like everything else).
    pub fn allocator(&self) -> &Allocator {
        &self.inner.allocator
    }

    /// The tracker this session records into.
    pub fn tracker(&self) -> &Tracker {
        &self.inner.tracker
    }

    /// The device's slot in the tracker's ledger.
    pub fn slot(&self) -> DeviceSlot {
        self.inner.slot
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
        self.inner
            .device
            .soc()
            .tensix_cores()
            .into_iter()
            .filter(|c| !dispatch.contains(c))
            .collect()
    }

    pub(crate) fn inner(&self) -> &Arc<RuntimeInner> {
        &self.inner
    }

    /// Closes the device now: releases the SYSTEM kernels and the RESERVED area and closes
    /// the ledger slot. Refused while loaded programs (or other clones) still hold it.
    pub fn close(self) -> Result<(), ProgramError> {
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => {
                drop(inner);
                Ok(())
            }
            Err(inner) => Err(ProgramError::StillInUse {
                device: inner.device.spec().to_string(),
                live: Arc::strong_count(&inner) - 1,
            }),
        }
    }
}

impl Drop for RuntimeInner {
    fn drop(&mut self) {
        // Release while the tracker slot is still open, then close it; the allocator and the
        // device go after this body, as fields.
        self.system.lock().clear();
        // Stop the firmware before its bytes stop being counted.
        for core in self.device.soc().tensix_cores() {
            if let Err(e) = self.device.hold_in_reset(core) {
                tracing::warn!(%core, error = %e, "holding a core in reset at close failed");
            }
        }
        if let Some(record) = self.firmware.lock().take() {
            self.tracker.record_release(record);
        }
        if let Some(record) = self.fabric.lock().take() {
            self.tracker.record_release(record);
        }
        if let Some(record) = self.reserved.lock().take() {
            self.tracker.record_release(record);
        }
        if let Err(e) = self.tracker.unregister_device(self.slot) {
            tracing::warn!(error = %e, "closing the device's ledger slot failed");
        }
    }
}
