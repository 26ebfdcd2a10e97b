//! Devices in a ledger: what a process registers about a chip (identity, capacity, core
//! positions), the slot it gets, and the slot's life (open, closed, reused).

use std::sync::atomic::{AtomicU64, Ordering};

use tt_accounting::{fork_generation, BankHealth, ForkGeneration, MemKind};
use tt_soc::{Arch, ChipUid, NocCoord, SocDescriptor};

use crate::counting::{
    count_integrity_error, publish_health, reset_peaks, IntegrityError, NO_SESSION,
};
use crate::error::TrackError;
use crate::ledger::{Ledger, LedgerRef};
use crate::record::UNCOUNTED_SLOT;
use crate::segment::layout::{
    load_string, prefix_within, store_bytes, store_coords, DeviceRecord, ARCH_BYTES, MAX_DEVICES,
    MAX_ETHERNET_CORES, MAX_TENSIX_CORES, SLOT_CLOSED, SLOT_EMPTY, SLOT_OPEN, SPEC_BYTES,
};
use crate::tracker::{find_device, Tracker};

/// Capacity figures of a device, supplied by whoever opens it, so that monitors can show
/// usage against capacity without opening the device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceCapacity {
    /// DRAM bytes over all banks.
    pub dram_bytes: u64,
    /// DRAM banks.
    pub dram_banks: u64,
    /// L1 bytes of one Tensix core.
    pub tensix_l1_per_core: u64,
    /// Usable (unharvested) Tensix cores.
    pub tensix_cores: u64,
    /// L1 bytes of one Ethernet core.
    pub ethernet_l1_per_core: u64,
    /// Ethernet cores.
    pub ethernet_cores: u64,
}

impl DeviceCapacity {
    /// Tensix L1 over all usable cores (Ethernet L1 is not part of it).
    pub fn tensix_l1_bytes(&self) -> u64 {
        self.tensix_l1_per_core.saturating_mul(self.tensix_cores)
    }

    /// Ethernet L1 over all Ethernet cores.
    pub fn ethernet_l1_bytes(&self) -> u64 {
        self.ethernet_l1_per_core.saturating_mul(self.ethernet_cores)
    }
}

/// What a process tells the ledger about a chip it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The chip.
    pub uid: ChipUid,
    /// Architecture name (`wormhole_b0`, `blackhole`).
    pub arch: String,
    /// The spec it was opened with (`sim:wormhole_b0:0`, `/dev/tenstorrent/0`), so monitors
    /// can be filtered by what `ttctl devices` prints; empty when unknown.
    pub spec: String,
    /// Capacity figures.
    pub capacity: DeviceCapacity,
    /// NOC0 position of each usable Tensix core, in L1 bank order; empty when unknown.
    pub tensix_cores: Vec<NocCoord>,
    /// NOC0 position of each Ethernet core, in order; empty when unknown.
    pub ethernet_cores: Vec<NocCoord>,
}

impl DeviceInfo {
    /// A chip known only by its capacity (no spec, no core positions).
    pub fn new(uid: ChipUid, arch: Arch, capacity: DeviceCapacity) -> DeviceInfo {
        DeviceInfo {
            uid,
            arch: arch.name().to_owned(),
            spec: String::new(),
            capacity,
            tensix_cores: Vec::new(),
            ethernet_cores: Vec::new(),
        }
    }

    /// Everything the SoC descriptor says about chip `uid`, opened as `spec`.
    pub fn from_soc(uid: ChipUid, spec: &str, soc: &SocDescriptor) -> DeviceInfo {
        let tensix_cores = soc.tensix_cores();
        let ethernet_cores = soc.ethernet_cores().to_vec();
        DeviceInfo {
            uid,
            arch: soc.arch().name().to_owned(),
            spec: spec.to_owned(),
            capacity: DeviceCapacity {
                dram_bytes: soc.dram_size(),
                dram_banks: soc.dram_banks().len() as u64,
                tensix_l1_per_core: soc.worker_l1_size(),
                tensix_cores: tensix_cores.len() as u64,
                ethernet_l1_per_core: soc.eth_l1_size(),
                ethernet_cores: ethernet_cores.len() as u64,
            },
            tensix_cores,
            ethernet_cores,
        }
    }
}

/// A device's slot in one tracker's ledger, returned by [`Tracker::register_device`] and
/// passed to every placement on that device. It is valid only in the process and for the
/// registration that issued it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceSlot {
    uid: ChipUid,
    index: u8,
    pub(crate) tracker_serial: u32,
    pub(crate) slot_generation: u64,
    pub(crate) fork: ForkGeneration,
}

impl DeviceSlot {
    /// The chip this slot counts for.
    pub fn uid(self) -> ChipUid {
        self.uid
    }

    /// Position of the slot in the segment.
    pub fn index(self) -> usize {
        usize::from(self.index)
    }
}

fn packed_coords(cores: &[NocCoord]) -> Vec<(u8, u8)> {
    // NOC coordinates are 6 bits wide, so every real one fits a byte.
    cores
        .iter()
        .map(|c| (u8::try_from(c.x).unwrap_or(u8::MAX), u8::try_from(c.y).unwrap_or(u8::MAX)))
        .collect()
}

/// True when no placement on the device is still counted, so its slot may serve another chip.
fn holds_nothing(device: &DeviceRecord) -> bool {
    let live = device.kinds.iter().any(|k| {
        k.placed_count.load(Ordering::Acquire) != k.released_count.load(Ordering::Acquire)
    });
    !live && device.live_table_overflow.load(Ordering::Acquire) == 0
}

/// Zeroes every figure of a slot about to serve another chip (its state is EMPTY meanwhile,
/// so readers skip it).
fn clear(device: &DeviceRecord) {
    let words = |fields: &[&AtomicU64]| {
        for field in fields {
            field.store(0, Ordering::Relaxed);
        }
    };
    words(&[
        &device.dram_bytes,
        &device.dram_banks,
        &device.tensix_l1_per_core,
        &device.tensix_cores,
        &device.ethernet_l1_per_core,
        &device.ethernet_cores,
        &device.events_written,
        &device.peak_reserved,
        &device.session_refusals,
        &device.double_releases,
        &device.foreign_placements,
        &device.inherited_uses,
        &device.live_table_overflow,
        &device.live_table_high_water,
        &device.tensix_every_core_reserved,
        &device.ethernet_every_core_reserved,
    ]);
    for kind in &device.kinds {
        words(&[
            &kind.placed_reserved,
            &kind.released_reserved,
            &kind.placed_payload,
            &kind.released_payload,
            &kind.placed_count,
            &kind.released_count,
            &kind.peak_reserved,
            &kind.spare,
        ]);
    }
    for health in &device.health {
        health.seq.store(0, Ordering::Relaxed);
    }
    let arrays: [&[AtomicU64]; 5] = [
        &device.payload_by_class,
        &device.tensix_core_reserved,
        &device.ethernet_core_reserved,
        &device.tensix_coords,
        &device.ethernet_coords,
    ];
    for field in arrays.into_iter().flatten() {
        field.store(0, Ordering::Relaxed);
    }
}

/// Refuses (and counts) a registration of the chip open in slot `index` as another arch or
/// with other capacity figures: monitors would show the held chip as something it is not.
fn refuse_identity_change(
    ledger: &Ledger,
    index: usize,
    info: &DeviceInfo,
) -> Result<(), TrackError> {
    let device = &ledger.layout().devices[index];
    if device.state.load(Ordering::Acquire) != SLOT_OPEN {
        return Ok(());
    }
    let held_arch = load_string(&device.arch);
    let load = |field: &AtomicU64| field.load(Ordering::Relaxed);
    let c = &info.capacity;
    let same = held_arch == prefix_within(&info.arch, ARCH_BYTES)
        && load(&device.dram_bytes) == c.dram_bytes
        && load(&device.dram_banks) == c.dram_banks
        && load(&device.tensix_l1_per_core) == c.tensix_l1_per_core
        && load(&device.tensix_cores) == c.tensix_cores
        && load(&device.ethernet_l1_per_core) == c.ethernet_l1_per_core
        && load(&device.ethernet_cores) == c.ethernet_cores;
    if same {
        return Ok(());
    }
    count_integrity_error(&ledger.writers[index], device, IntegrityError::SessionRefusal);
    Err(TrackError::IdentityChange {
        uid: info.uid,
        held_arch,
        held_dram: load(&device.dram_bytes),
        asked_arch: info.arch.clone(),
        asked_dram: c.dram_bytes,
    })
}

impl Tracker {
    /// Gives the chip a device slot (the same slot again if it was registered before,
    /// reopened if it had been closed; else an empty slot, or a closed one that holds
    /// nothing), recording its identity, capacity and core positions for monitors. A chip
    /// registered and open keeps its identity: registering it again as another arch or with
    /// other capacity figures is refused ([`TrackError::IdentityChange`]) and counted.
    pub fn register_device(&self, info: &DeviceInfo) -> Result<DeviceSlot, TrackError> {
        let uid = info.uid;
        let fork = fork_generation();
        if info.tensix_cores.len() > MAX_TENSIX_CORES
            || info.ethernet_cores.len() > MAX_ETHERNET_CORES
            || info.capacity.tensix_cores > MAX_TENSIX_CORES as u64
            || info.capacity.ethernet_cores > MAX_ETHERNET_CORES as u64
        {
            return Err(TrackError::TooManyCores {
                uid,
                tensix: info.capacity.tensix_cores.max(info.tensix_cores.len() as u64),
                ethernet: info.capacity.ethernet_cores.max(info.ethernet_cores.len() as u64),
                max_tensix: MAX_TENSIX_CORES,
                max_ethernet: MAX_ETHERNET_CORES,
            });
        }
        let serial = self.serial();
        let Some(ledger) = self.ledger()? else {
            return Ok(DeviceSlot {
                uid,
                index: UNCOUNTED_SLOT,
                tracker_serial: serial,
                slot_generation: 0,
                fork,
            });
        };
        let _registering = ledger.registration.lock();
        let layout = ledger.layout();
        let devices = &layout.devices;
        let reuse_closed = || {
            devices
                .iter()
                .position(|d| d.state.load(Ordering::Acquire) == SLOT_CLOSED && holds_nothing(d))
        };
        let (index, fresh) = match find_device(layout, uid) {
            Some(index) => {
                refuse_identity_change(&ledger, index, info)?;
                (index, false)
            }
            None => {
                let empty =
                    devices.iter().position(|d| d.state.load(Ordering::Acquire) == SLOT_EMPTY);
                let index = empty
                    .or_else(reuse_closed)
                    .ok_or(TrackError::TooManyDevices { uid, max: MAX_DEVICES })?;
                (index, true)
            }
        };
        let device = &devices[index];
        let writer = &ledger.writers[index];
        // One write section over the whole registration: a reader sees the slot as it was
        // before or after, never a new chip's identity with another's figures.
        let _writing = writer.write(device);
        if fresh {
            device.state.store(SLOT_EMPTY, Ordering::Relaxed);
            clear(device);
            writer.reset();
            let generation = device.generation.load(Ordering::Relaxed).wrapping_add(1);
            device.generation.store(generation, Ordering::Relaxed);
            device.chip_uid.store(uid.0, Ordering::Relaxed);
        }
        store_bytes(&device.arch, prefix_within(&info.arch, ARCH_BYTES).as_bytes());
        store_bytes(&device.spec, prefix_within(&info.spec, SPEC_BYTES).as_bytes());
        let capacity = &info.capacity;
        device.dram_bytes.store(capacity.dram_bytes, Ordering::Relaxed);
        device.dram_banks.store(capacity.dram_banks, Ordering::Relaxed);
        device.tensix_l1_per_core.store(capacity.tensix_l1_per_core, Ordering::Relaxed);
        device.tensix_cores.store(capacity.tensix_cores, Ordering::Relaxed);
        device.ethernet_l1_per_core.store(capacity.ethernet_l1_per_core, Ordering::Relaxed);
        device.ethernet_cores.store(capacity.ethernet_cores, Ordering::Relaxed);
        store_coords(&device.tensix_coords, &packed_coords(&info.tensix_cores));
        store_coords(&device.ethernet_coords, &packed_coords(&info.ethernet_cores));
        device.state.store(SLOT_OPEN, Ordering::Relaxed);
        Ok(DeviceSlot {
            uid,
            // MAX_DEVICES is 16, so every slot index fits in a u8.
            index: index as u8,
            tracker_serial: serial,
            slot_generation: device.generation.load(Ordering::Relaxed),
            fork,
        })
    }

    /// The slot of a device registered (and open) in this process's ledger.
    pub fn device_slot(&self, uid: ChipUid) -> Option<DeviceSlot> {
        let ledger = self.ledger().ok()??;
        let layout = ledger.layout();
        let index = find_device(layout, uid)?;
        let device = &layout.devices[index];
        if device.state.load(Ordering::Acquire) != SLOT_OPEN {
            return None;
        }
        Some(DeviceSlot {
            uid,
            index: index as u8,
            tracker_serial: self.serial(),
            slot_generation: device.generation.load(Ordering::Relaxed),
            fork: ledger.memory.generation(),
        })
    }

    /// Marks the device closed. Its counters stay: bytes still placed remain visible (as
    /// leaks) until their records are released, and a later registration of the same chip
    /// continues from them. A closed slot that holds nothing may serve another chip.
    pub fn unregister_device(&self, slot: DeviceSlot) -> Result<(), TrackError> {
        let Some((ledger, index)) = self.open_slot(slot)? else { return Ok(()) };
        let _registering = ledger.registration.lock();
        let device = &ledger.layout().devices[index];
        {
            let _writing = ledger.writers[index].write(device);
            device.state.store(SLOT_CLOSED, Ordering::Relaxed);
        }
        // A closed chip is no session's any more: whoever registers it next places on it.
        ledger.writers[index].session.store(NO_SESSION, Ordering::Relaxed);
        let live_bytes: u64 = MemKind::ALL
            .iter()
            .map(|k| {
                let counters = &device.kinds[k.index()];
                let placed = counters.placed_reserved.load(Ordering::Relaxed);
                placed.saturating_sub(counters.released_reserved.load(Ordering::Relaxed))
            })
            .sum();
        if live_bytes > 0 {
            tracing::warn!(device = %slot.uid(), live_bytes, "device closed with bytes still placed");
        }
        Ok(())
    }

    /// Sets the high-water marks of a device (per kind and in all) back to what is placed
    /// now, as `torch.cuda.reset_peak_memory_stats` does.
    pub fn reset_peaks(&self, slot: DeviceSlot) -> Result<(), TrackError> {
        if let Some((ledger, index)) = self.open_slot(slot)? {
            reset_peaks(&ledger.writers[index], &ledger.layout().devices[index]);
        }
        Ok(())
    }

    /// Publishes the free-space figures of one bank type of chip `uid`, as the allocator
    /// that owns the chip sees them; ignored for a chip this process has not registered.
    pub fn publish_health(&self, uid: ChipUid, health: &BankHealth) {
        let Ok(Some(ledger)) = self.ledger() else { return };
        let layout = ledger.layout();
        if let Some(index) = find_device(layout, uid) {
            publish_health(&ledger.writers[index], &layout.devices[index], health);
        }
    }

    /// The ledger and index of `slot` when it is this tracker's, in this process, and still
    /// names its registration; `None` when tracking is off.
    pub(crate) fn open_slot(
        &self,
        slot: DeviceSlot,
    ) -> Result<Option<(LedgerRef<'_>, usize)>, TrackError> {
        if slot.tracker_serial != self.serial() {
            return Err(TrackError::ForeignDeviceSlot { uid: slot.uid });
        }
        if !slot.fork.is_current() {
            return Err(TrackError::InheritedAcrossFork { uid: slot.uid });
        }
        let Some(ledger) = self.ledger()? else { return Ok(None) };
        let index = slot.index();
        let matches = ledger.layout().devices.get(index).is_some_and(|d| {
            d.generation.load(Ordering::Relaxed) == slot.slot_generation
                && d.chip_uid.load(Ordering::Relaxed) == slot.uid.0
        });
        if !matches {
            return Err(TrackError::ClosedDeviceSlot { uid: slot.uid });
        }
        Ok(Some((ledger, index)))
    }

    /// A slot that counts nothing, for chip `uid` (tracking off).
    pub(crate) fn register_uncounted(&self, uid: ChipUid) -> Result<DeviceSlot, TrackError> {
        let info = DeviceInfo {
            uid,
            arch: String::new(),
            spec: String::new(),
            capacity: DeviceCapacity::default(),
            tensix_cores: Vec::new(),
            ethernet_cores: Vec::new(),
        };
        self.register_device(&info)
    }
}
