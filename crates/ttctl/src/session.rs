//! An opened device with its allocator and its entry in this process's ledger.

use std::panic::Location;
use std::sync::Arc;

use anyhow::{Context, Result};
use tt_alloc::tracker::{BankSpan, MemKind};
use tt_alloc::{Allocator, AllocatorConfig};
use tt_device::Device;
use tt_soc::l1_map::L1Map;
use tt_soc::CoreKind;
use tt_track::{AllocRecord, DeviceCapacity, DeviceSlot, Tracker};

/// A device opened for a workload: registered in the ledger with its capacity, with the fixed
/// reserved L1 area of every Tensix core recorded as RESERVED for the session's lifetime.
pub struct Session {
    // Field order is drop order: buffers' allocator first, then the reserved record.
    pub allocator: Allocator,
    reserved: Option<AllocRecord>,
    slot: DeviceSlot,
    tracker: Tracker,
    pub device: Device,
}

impl Session {
    /// Opens `spec` (or the default device) and registers it with `tracker`.
    pub fn open(spec: Option<&str>, tracker: &Tracker) -> Result<Session> {
        let device = match spec {
            Some(s) => Device::open(s).with_context(|| format!("opening device {s}"))?,
            None => Device::open_default().context("opening the default device")?,
        };
        let soc = device.soc();
        let cores = soc.tensix_cores();
        let capacity = DeviceCapacity {
            dram_bytes: soc.dram_size(),
            l1_bytes_total: soc.worker_l1_size() * cores.len() as u64,
            l1_bytes_per_core: soc.worker_l1_size(),
            core_count: cores.len() as u64,
        };
        let slot = tracker
            .register_device(device.chip_uid(), device.arch(), capacity)
            .context("registering the device in the ledger")?;
        let reserved = L1Map::for_core(CoreKind::Tensix, soc.worker_l1_size()).map(|map| {
            let spans: Vec<BankSpan> = (0..cores.len() as u32)
                .map(|bank| BankSpan {
                    bank,
                    addr: map.reserved.start,
                    size: map.reserved.end - map.reserved.start,
                })
                .collect();
            tracker.record_place(
                slot,
                MemKind::Reserved,
                &spans,
                "L1 reserved area",
                Location::caller(),
            )
        });
        let allocator = Allocator::new(
            soc,
            device.chip_uid(),
            AllocatorConfig::default(),
            Arc::new(tracker.clone()),
        )
        .context("building the allocator")?;
        Ok(Session { allocator, reserved, slot, tracker: tracker.clone(), device })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(record) = self.reserved.take() {
            self.tracker.record_release(record);
        }
        if let Err(e) = self.tracker.unregister_device(self.slot) {
            tracing::warn!(error = %e, "unregistering the device from the ledger failed");
        }
    }
}
