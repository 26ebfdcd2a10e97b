//! Bringing cores up with our firmware and launching kernels through it: soft-reset writes
//! and L1 reads and writes only, the same calls on a card and on the simulator.
//!
//! Bring-up holds a core's RISC-V cores in soft reset, writes the firmware image at each
//! documented reset pc, clears the mailboxes and releases the cores. A launch writes each
//! processor's mailbox (entry, launch block, then `GO_START`); waiting polls `GO` until the
//! firmware writes `GO_DONE` with the exit code. A core that does not answer in time (or, on
//! the simulator, that stopped: a fault, an unmodelled register) is put back in reset and
//! released, which restarts its firmware.

use std::time::{Duration, Instant};

use tt_soc::kernel_abi::{self, GO_DONE, GO_IDLE, GO_START};
use tt_soc::l1_map::{self, MAILBOX_STRIDE, MAX_PROCESSORS};
use tt_soc::tile::{RiscV, SoftReset, TILE_CONTROL_BASE};
use tt_soc::{Arch, NocCoord};

use crate::backend::Backend;
use crate::{Device, DeviceError};

/// How long [`Device::wait`] waits for the kernels of one launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecLimits {
    /// Wall time after which a kernel still running is reported and its core restarted.
    pub timeout: Duration,
}

impl Default for ExecLimits {
    fn default() -> Self {
        ExecLimits { timeout: Duration::from_secs(60) }
    }
}

/// One kernel to start: `processor` of `core` runs the code at `entry` with `a0` pointing at
/// its launch block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelStart {
    /// The Tensix core.
    pub core: NocCoord,
    /// Its processor (0 B, 1 NC, 2-4 T0-T2).
    pub processor: u8,
    /// L1 address of the kernel's entry point.
    pub entry: u32,
    /// L1 address of the kernel's launch block.
    pub launch_block: u32,
}

/// How one launched kernel finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchOutcome {
    /// The kernel returned to the firmware.
    Done {
        /// The core.
        core: NocCoord,
        /// The processor.
        processor: u8,
        /// The kernel's return value.
        exit_code: u32,
    },
    /// The kernel did not finish: it timed out or its core stopped.
    Error {
        /// The core.
        core: NocCoord,
        /// The processor.
        processor: u8,
        /// What happened, naming the core and processor.
        message: String,
    },
}

impl LaunchOutcome {
    /// The core this outcome is for.
    pub fn core(&self) -> NocCoord {
        match self {
            LaunchOutcome::Done { core, .. } | LaunchOutcome::Error { core, .. } => *core,
        }
    }

    /// The processor this outcome is for.
    pub fn processor(&self) -> u8 {
        match self {
            LaunchOutcome::Done { processor, .. } | LaunchOutcome::Error { processor, .. } => {
                *processor
            }
        }
    }
}

/// Kernels started by [`Device::launch`]; [`Device::wait`] collects their outcomes.
#[derive(Debug)]
#[must_use = "wait for the kernels, or their cores stay busy"]
pub struct DeviceLaunch {
    starts: Vec<KernelStart>,
}

fn mailbox(processor: u8) -> u64 {
    l1_map::MAILBOX_BASE + u64::from(processor) * MAILBOX_STRIDE
}

impl Device {
    /// Brings `core` up: holds its RISC-V cores in soft reset, writes `firmware` (an image
    /// linked at 0, position independent) at each documented reset pc, clears the mailboxes
    /// and releases the cores, which then wait for launch messages.
    pub fn start_firmware(&self, core: NocCoord, firmware: &[u8]) -> Result<(), DeviceError> {
        let held = self.soft_reset(core)? | SoftReset::ALL_RISCV;
        self.set_soft_reset(core, held)?;
        for processor in 0..MAX_PROCESSORS {
            let slot = l1_map::firmware_slot(processor);
            if let Some(slot) = slot {
                self.write(core, slot, firmware)?;
            }
            self.write(core, mailbox(processor as u8), &[0; MAILBOX_STRIDE as usize])?;
            // Blackhole's T0-T2 and NC start where their reset pc override registers say
            // (tt-metal's blackhole tensix.h): point them at the firmware slots.
            let riscv = u8::try_from(processor).ok().and_then(RiscV::from_index);
            let overrides = riscv.and_then(RiscV::blackhole_reset_pc_override);
            if let (Arch::Blackhole, Some((pc, enable, bit)), Some(slot)) =
                (self.arch(), overrides, slot)
            {
                let base = u64::from(TILE_CONTROL_BASE);
                self.write_tile_register(core, base + u64::from(pc), slot as u32)?;
                let enabled = self.read_tile_register(core, base + u64::from(enable))?;
                self.write_tile_register(core, base + u64::from(enable), enabled | bit)?;
            }
        }
        self.set_soft_reset(core, held - SoftReset::ALL_RISCV)
    }

    /// Holds every RISC-V core of `core` in soft reset, stopping whatever it runs.
    pub fn hold_in_reset(&self, core: NocCoord) -> Result<(), DeviceError> {
        let held = self.soft_reset(core)? | SoftReset::ALL_RISCV;
        self.set_soft_reset(core, held)
    }

    /// Restarts the firmware of one processor: reset, a clear mailbox, release.
    fn restart(&self, core: NocCoord, processor: u8) -> Result<(), DeviceError> {
        let Some(riscv) = RiscV::from_index(processor) else { return Ok(()) };
        let bits = self.soft_reset(core)?;
        self.set_soft_reset(core, bits | riscv.soft_reset_bit())?;
        self.write32(core, mailbox(processor) + kernel_abi::MAILBOX_GO, GO_IDLE)?;
        self.set_soft_reset(core, bits - riscv.soft_reset_bit())
    }

    /// Starts each kernel: writes its processor's mailbox (entry, launch block, `GO_START`).
    /// The firmware must be running on those cores ([`Device::start_firmware`]).
    pub fn launch(&self, starts: &[KernelStart]) -> Result<DeviceLaunch, DeviceError> {
        for start in starts {
            let m = mailbox(start.processor);
            self.write32(start.core, m + kernel_abi::MAILBOX_ENTRY, start.entry)?;
            self.write32(start.core, m + kernel_abi::MAILBOX_LAUNCH, start.launch_block)?;
        }
        // GO last, once every mailbox is filled.
        for start in starts {
            self.write32(start.core, mailbox(start.processor) + kernel_abi::MAILBOX_GO, GO_START)?;
        }
        Ok(DeviceLaunch { starts: starts.to_vec() })
    }

    /// Waits for the kernels of `launch` and returns how each finished, in launch order.
    /// Cores that time out or stop are restarted, so the next launch finds their firmware.
    pub fn wait(
        &self,
        launch: DeviceLaunch,
        limits: &ExecLimits,
    ) -> Result<Vec<LaunchOutcome>, DeviceError> {
        let deadline = Instant::now() + limits.timeout;
        let mut outcomes: Vec<Option<LaunchOutcome>> = vec![None; launch.starts.len()];
        // Poll core by core: one read of a core's mailboxes serves all its processors.
        let mut cores: Vec<NocCoord> = launch.starts.iter().map(|s| s.core).collect();
        cores.sort_unstable_by_key(|c| (c.y, c.x));
        cores.dedup();
        let mut mailboxes = vec![0u8; (MAX_PROCESSORS * MAILBOX_STRIDE) as usize];
        let word = |bytes: &[u8], at: u64| {
            let at = at as usize;
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let mut pause = Duration::from_micros(10);
        loop {
            let mut pending = 0;
            for core in &cores {
                let waiting = launch
                    .starts
                    .iter()
                    .zip(&outcomes)
                    .any(|(s, o)| s.core == *core && o.is_none());
                if !waiting {
                    continue;
                }
                self.read(*core, l1_map::MAILBOX_BASE, &mut mailboxes)?;
                for (start, outcome) in launch.starts.iter().zip(outcomes.iter_mut()) {
                    if start.core != *core || outcome.is_some() {
                        continue;
                    }
                    let processor = start.processor;
                    let m = u64::from(processor) * MAILBOX_STRIDE;
                    if word(&mailboxes, m + kernel_abi::MAILBOX_GO) == GO_DONE {
                        let exit_code = word(&mailboxes, m + kernel_abi::MAILBOX_RESULT);
                        *outcome = Some(LaunchOutcome::Done { core: *core, processor, exit_code });
                    } else if let Some(message) = self.stopped(*core, processor) {
                        self.restart(*core, processor)?;
                        *outcome = Some(LaunchOutcome::Error { core: *core, processor, message });
                    } else if Instant::now() >= deadline {
                        self.restart(*core, processor)?;
                        let message = format!(
                            "kernel on core {core} processor {processor} did not finish within \
                             {:?}; its core was reset",
                            limits.timeout
                        );
                        *outcome = Some(LaunchOutcome::Error { core: *core, processor, message });
                    } else {
                        pending += 1;
                    }
                }
            }
            if pending == 0 {
                break;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_micros(200));
        }
        Ok(outcomes.into_iter().flatten().collect())
    }

    /// On the simulator, why `processor` of `core` stopped, if it did. A card's cores cannot
    /// fault (BabyRISCV/README.md); a stuck one shows as a timeout.
    fn stopped(&self, core: NocCoord, processor: u8) -> Option<String> {
        match &self.backend {
            Backend::Sim(chip) => match chip.core_state(core, processor) {
                tt_sim::CoreState::Stopped { message, .. } => Some(message),
                _ => None,
            },
            Backend::Pcie(_) => None,
        }
    }
}
