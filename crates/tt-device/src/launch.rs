//! Starting kernels through the cores' mailboxes and waiting for them.

use tt_sim::{HartOutcome, Launch};
use tt_soc::NocCoord;

use crate::backend::Backend;
use crate::{Device, DeviceError};

/// Limits of one launch on the simulated card: instruction budget per processor, wall-time
/// timeout, worker threads.
pub type ExecLimits = tt_sim::ExecConfig;

/// How one launched processor finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchOutcome {
    /// The kernel returned.
    Done {
        /// The core.
        core: NocCoord,
        /// The processor (mailbox index).
        processor: u8,
        /// `kernel_main`'s return value.
        exit_code: u32,
        /// Instructions retired.
        instret: u64,
    },
    /// The kernel was stopped by an error.
    Error {
        /// The core.
        core: NocCoord,
        /// The processor.
        processor: u8,
        /// The cause code (`tt_soc::kernel_abi::cause`).
        cause: u32,
        /// The faulting pc.
        pc: u32,
        /// What happened, naming core, pc and cause.
        message: String,
    },
}

impl LaunchOutcome {
    /// The (core, processor) this outcome is for.
    pub fn target(&self) -> (NocCoord, u8) {
        match self {
            LaunchOutcome::Done { core, processor, .. }
            | LaunchOutcome::Error { core, processor, .. } => (*core, *processor),
        }
    }
}

/// Kernels started by [`Device::launch`]; [`DeviceLaunch::wait`] collects their outcomes.
pub struct DeviceLaunch {
    group: tt_sim::LaunchGroup,
}

impl DeviceLaunch {
    /// Waits for every launched processor and returns how each finished, in launch order.
    pub fn wait(self) -> Result<Vec<LaunchOutcome>, DeviceError> {
        let outcomes = self.group.wait()?;
        Ok(outcomes
            .into_iter()
            .map(|o| match o {
                HartOutcome::Done { core, processor, exit_code, instret } => {
                    LaunchOutcome::Done { core, processor, exit_code, instret }
                }
                HartOutcome::Error { core, processor, cause, pc, message } => {
                    LaunchOutcome::Error { core, processor, cause, pc, message }
                }
            })
            .collect())
    }

    /// True once every launched processor has finished.
    pub fn is_finished(&self) -> bool {
        self.group.is_finished()
    }
}

impl Device {
    /// Starts processor `p` of each `(core, p)` whose mailbox the caller has prepared (entry,
    /// launch block, `GO = GO_START`), with the default limits ([`ExecLimits::default`]).
    pub fn launch(&self, launches: &[(NocCoord, u8)]) -> Result<DeviceLaunch, DeviceError> {
        self.launch_with(launches, &ExecLimits::default())
    }

    /// [`Device::launch`] with an instruction budget, timeout and thread count of your own.
    /// On the simulated card the simulator's RISC-V cores run the kernels; on a card this
    /// needs tt-metal's firmware on the cores, which this runtime does not load yet.
    pub fn launch_with(
        &self,
        launches: &[(NocCoord, u8)],
        limits: &ExecLimits,
    ) -> Result<DeviceLaunch, DeviceError> {
        match &self.backend {
            Backend::Sim(chip) => {
                let launches: Vec<Launch> =
                    launches.iter().map(|&(core, processor)| Launch { core, processor }).collect();
                Ok(DeviceLaunch { group: chip.launch(&launches, limits)? })
            }
            Backend::Pcie(_) => {
                Err(DeviceError::LaunchUnsupported { device: self.spec.to_string() })
            }
        }
    }
}
