//! Starting kernels through the cores' mailboxes and waiting for them.

use tt_sim::Launch;
use tt_soc::NocCoord;

use crate::backend::Backend;
use crate::{Device, DeviceError};

/// Limits of one launch on the simulated card: instruction budget per processor, wall-time
/// timeout, worker threads.
pub type ExecLimits = tt_sim::ExecConfig;

/// How one launched processor finished: the simulator's outcome, the one backend that runs
/// kernels today.
pub use tt_sim::HartOutcome as LaunchOutcome;

/// Kernels started by [`Device::launch`]; [`DeviceLaunch::wait`] collects their outcomes.
pub struct DeviceLaunch {
    group: tt_sim::LaunchGroup,
}

impl DeviceLaunch {
    /// Waits for every launched processor and returns how each finished, in launch order.
    pub fn wait(self) -> Result<Vec<LaunchOutcome>, DeviceError> {
        Ok(self.group.wait()?)
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
