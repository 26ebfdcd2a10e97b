//! Starting kernels through the cores' mailboxes and waiting for them.

use tt_soc::kernel_abi::{GO_DONE, MAILBOX_GO, MAILBOX_RESULT};
use tt_soc::l1_map::L1Map;
use tt_soc::NocCoord;

use crate::{Device, DeviceError};

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
    outcomes: Vec<LaunchOutcome>,
}

impl DeviceLaunch {
    /// Waits for every launched processor and returns how each finished, in launch order.
    pub fn wait(self) -> Result<Vec<LaunchOutcome>, DeviceError> {
        Ok(self.outcomes)
    }
}

impl Device {
    /// Starts processor `p` of each `(core, p)` whose mailbox the caller has prepared (entry,
    /// launch block, GO = start). Until the simulator executes kernels, a launch completes at
    /// once: each mailbox is marked done with exit code 0.
    pub fn launch(&self, launches: &[(NocCoord, u8)]) -> Result<DeviceLaunch, DeviceError> {
        let mut outcomes = Vec::with_capacity(launches.len());
        for &(core, processor) in launches {
            let mailbox = L1Map::mailbox(u64::from(processor))
                .ok_or(DeviceError::NoSuchProcessor { processor })?;
            self.write32(core, mailbox + MAILBOX_RESULT, 0)?;
            self.write32(core, mailbox + MAILBOX_GO, GO_DONE)?;
            outcomes.push(LaunchOutcome::Done { core, processor, exit_code: 0, instret: 0 });
        }
        Ok(DeviceLaunch { outcomes })
    }
}
