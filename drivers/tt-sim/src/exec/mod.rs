//! Kernel execution: launching RISC-V kernels on the simulated chip's cores, which see the
//! documented tile (`tt_soc::tile`): L1, local data RAM, the NIUs and the tile control
//! registers.
//!
//! The host writes a processor's mailbox (`ENTRY`, `LAUNCH`, then `GO = GO_START`) and calls
//! [`SimChip::launch`]; the simulator claims the mailbox (`GO_RUNNING`), runs each hart in
//! slices round-robin on a few worker threads (so a consumer spinning on a flag lets its
//! producer run, even on one thread), and writes `GO_DONE` or `GO_ERROR` with the result
//! when the hart stops. [`LaunchGroup::wait`] returns what happened to each hart.

mod decode;
mod hart;
pub(crate) mod memory;
mod niu;
pub(crate) mod reset;
pub(crate) mod tile;
mod tile_control;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_isa;
#[cfg(test)]
mod tests_niu;
#[cfg(test)]
mod tests_reset;
#[cfg(test)]
mod tests_tile;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use tt_soc::kernel_abi::{self, cause};
use tt_soc::l1_map::{MAILBOX_BASE, MAILBOX_STRIDE, MAX_PROCESSORS};
use tt_soc::{CoreKind, NocCoord};

use crate::{SimChip, SimError};
use hart::{Hart, Stop};
use tile::Bus;

/// Instructions a hart runs before its worker moves on to the next hart.
pub(crate) const SLICE: u64 = 4096;

/// One processor of one core to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Launch {
    /// The core (Tensix or Ethernet) whose L1 holds the kernel and its mailbox.
    pub core: NocCoord,
    /// Processor index on that core, below `l1_map::MAX_PROCESSORS`.
    pub processor: u8,
}

/// Limits and parallelism of one launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecConfig {
    /// Instructions each hart may retire before it is stopped with `BUDGET_EXHAUSTED`.
    pub instruction_budget: u64,
    /// Wall time after which every hart still running is stopped with `BUDGET_EXHAUSTED`.
    pub timeout: Duration,
    /// Worker threads the harts are spread over (at least one is used).
    pub threads: usize,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            instruction_budget: 2_000_000_000,
            timeout: Duration::from_secs(60),
            threads: 2,
        }
    }
}

/// How one hart of a launch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HartOutcome {
    /// The kernel returned to `EXIT_ADDR`.
    Done {
        /// The core.
        core: NocCoord,
        /// The processor.
        processor: u8,
        /// `a0` at return.
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
        /// One of `kernel_abi::cause`.
        cause: u32,
        /// pc of the faulting instruction (or of the next one, for budget and timeout).
        pc: u32,
        /// A sentence naming the core, processor, pc, cause and what happened.
        message: String,
    },
}

impl HartOutcome {
    /// The core this outcome is for.
    pub fn core(&self) -> NocCoord {
        match self {
            HartOutcome::Done { core, .. } | HartOutcome::Error { core, .. } => *core,
        }
    }

    /// The processor this outcome is for.
    pub fn processor(&self) -> u8 {
        match self {
            HartOutcome::Done { processor, .. } | HartOutcome::Error { processor, .. } => {
                *processor
            }
        }
    }

    /// The exit code of a finished kernel, or [`SimError::KernelFault`] for a stopped one.
    pub fn into_result(self) -> Result<u32, SimError> {
        match self {
            HartOutcome::Done { exit_code, .. } => Ok(exit_code),
            HartOutcome::Error { core, processor, cause, pc, message } => {
                Err(SimError::KernelFault { core, processor, cause, pc, message })
            }
        }
    }
}

/// The name of a `kernel_abi::cause` code, for messages.
pub fn cause_name(code: u32) -> &'static str {
    match code {
        cause::ILLEGAL_INSTRUCTION => "ILLEGAL_INSTRUCTION",
        cause::MISALIGNED_ACCESS => "MISALIGNED_ACCESS",
        cause::ACCESS_FAULT => "ACCESS_FAULT",
        cause::ECALL => "ECALL",
        cause::EBREAK => "EBREAK",
        cause::BUDGET_EXHAUSTED => "BUDGET_EXHAUSTED",
        cause::NOC_ERROR => "NOC_ERROR",
        cause::FETCH_FAULT => "FETCH_FAULT",
        cause::UNMODELLED_REGISTER => "UNMODELLED_REGISTER",
        cause::COPROCESSOR_NOT_MODELLED => "COPROCESSOR_NOT_MODELLED",
        _ => "UNKNOWN_CAUSE",
    }
}

type WorkerResult = Vec<(usize, HartOutcome)>;

/// Kernels started by one [`SimChip::launch`], running on background threads. Dropping the
/// group stops the harts still running (they report `BUDGET_EXHAUSTED`) and joins them.
pub struct LaunchGroup {
    workers: Vec<JoinHandle<WorkerResult>>,
    harts: usize,
    cancel: Arc<AtomicBool>,
}

impl std::fmt::Debug for LaunchGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaunchGroup")
            .field("harts", &self.harts)
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl LaunchGroup {
    /// Waits for every hart to stop and returns their outcomes in launch order.
    pub fn wait(mut self) -> Result<Vec<HartOutcome>, SimError> {
        let mut slots: Vec<Option<HartOutcome>> = vec![None; self.harts];
        for worker in std::mem::take(&mut self.workers) {
            let results = worker.join().map_err(|panic| {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                SimError::ExecWorkerPanicked { message: text }
            })?;
            for (index, outcome) in results {
                if let Some(slot) = slots.get_mut(index) {
                    *slot = Some(outcome);
                }
            }
        }
        slots
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or(SimError::ExecWorkerPanicked { message: "a hart reported no outcome".into() })
    }

    /// Whether every hart has stopped (so [`wait`](Self::wait) returns at once).
    pub fn is_finished(&self) -> bool {
        self.workers.iter().all(JoinHandle::is_finished)
    }
}

impl Drop for LaunchGroup {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        for worker in std::mem::take(&mut self.workers) {
            // A worker that panicked has nothing left to stop; its panic was its report.
            let _ = worker.join();
        }
    }
}

fn mailbox(processor: u8) -> u32 {
    (MAILBOX_BASE + u64::from(processor) * MAILBOX_STRIDE) as u32
}

impl SimChip {
    /// Starts the kernels whose mailboxes the host has set to `GO_START`. Every launch is
    /// checked first (an L1 core, an existing processor, named once, `GO == GO_START`);
    /// if any fails nothing runs and no mailbox changes.
    pub fn launch(
        &self,
        launches: &[Launch],
        config: &ExecConfig,
    ) -> Result<LaunchGroup, SimError> {
        let shared = self.shared();
        let memory = shared.memory()?;
        let mut spans = Vec::with_capacity(launches.len());
        for (index, launch) in launches.iter().enumerate() {
            let Launch { core, processor } = *launch;
            let (offset, size) = match shared.soc.kind_at(core) {
                None => {
                    let (grid_x, grid_y) = shared.soc.grid_size();
                    let arch = shared.soc.arch();
                    return Err(SimError::OutOfGrid { core, arch, grid_x, grid_y });
                }
                Some(kind @ (CoreKind::Tensix | CoreKind::Ethernet)) => {
                    shared.layout.memory_of(core).ok_or(SimError::NotAKernelCore { core, kind })?
                }
                Some(kind) => return Err(SimError::NotAKernelCore { core, kind }),
            };
            if u64::from(processor) >= MAX_PROCESSORS {
                return Err(SimError::NoSuchProcessor { core, processor });
            }
            if launches[..index].contains(launch) {
                return Err(SimError::DuplicateLaunch { core, processor });
            }
            // A core out of reset runs its own code from its reset pc; this launch would run a
            // second hart on it.
            let riscv = tt_soc::tile::RiscV::from_index(processor);
            if let (Some(riscv), Some(page)) = (riscv, shared.layout.control_of(core)) {
                let held = tile_control::soft_reset(&memory, page);
                if !held.contains(riscv.soft_reset_bit()) {
                    return Err(SimError::NotInReset { core, processor });
                }
            }
            let span = memory.span(offset, size).ok_or_else(|| SimError::BadChipFile {
                path: shared.path.clone(),
                reason: format!("it does not hold all of core {core}'s L1"),
            })?;
            let go = span.load_u32(mailbox(processor)).unwrap_or(u32::MAX);
            if go != kernel_abi::GO_START {
                return Err(SimError::NotStarted { core, processor, go });
            }
            spans.push((span, offset, size));
        }
        // Claim every mailbox only after all checks passed, so a refused launch changes
        // nothing. Claiming is a compare-and-swap so two launchers never both run a hart.
        let mut claimed: Vec<u64> = Vec::with_capacity(launches.len());
        for (launch, (_, offset, _)) in launches.iter().zip(&spans) {
            let go = offset + u64::from(mailbox(launch.processor));
            match memory.compare_exchange_u32(go, kernel_abi::GO_START, kernel_abi::GO_RUNNING) {
                Ok(_) => claimed.push(go),
                Err(found) => {
                    for go in claimed {
                        let _ = memory.compare_exchange_u32(
                            go,
                            kernel_abi::GO_RUNNING,
                            kernel_abi::GO_START,
                        );
                    }
                    return Err(SimError::NotStarted {
                        core: launch.core,
                        processor: launch.processor,
                        go: found,
                    });
                }
            }
        }
        let threads = config.threads.clamp(1, launches.len().max(1));
        let mut per_worker: Vec<Vec<(usize, Hart)>> = (0..threads).map(|_| Vec::new()).collect();
        for (index, (launch, (span, _, _))) in launches.iter().zip(spans).enumerate() {
            let base = mailbox(launch.processor);
            let entry = span.load_u32(base + kernel_abi::MAILBOX_ENTRY as u32).unwrap_or(0);
            let block = span.load_u32(base + kernel_abi::MAILBOX_LAUNCH as u32).unwrap_or(0);
            // Starting a core is leaving soft reset; the register shows it.
            let bus =
                Bus::new(Arc::clone(shared), Arc::clone(&memory), launch.core, launch.processor);
            let hart = Hart::new(launch.core, launch.processor, entry, block, span, bus);
            per_worker[index % threads].push((index, hart));
        }
        let cancel = Arc::new(AtomicBool::new(false));
        // A timeout too long to represent means no deadline.
        let deadline = Instant::now().checked_add(config.timeout);
        let mut group = LaunchGroup { workers: Vec::new(), harts: launches.len(), cancel };
        for (number, harts) in per_worker.into_iter().enumerate() {
            if harts.is_empty() {
                continue;
            }
            let limits = Limits {
                budget: config.instruction_budget,
                timeout: config.timeout,
                deadline,
                cancel: Arc::clone(&group.cancel),
            };
            // Handed over through a slot, so that if the thread cannot start, these harts
            // are still here to be stopped and their mailboxes released.
            let handover = Arc::new(Mutex::new(Some(harts)));
            let slot = Arc::clone(&handover);
            let spawned = std::thread::Builder::new()
                .name(format!("tt-sim-hart-{number}"))
                .spawn(move || run_worker(slot.lock().take().unwrap_or_default(), &limits));
            match spawned {
                Ok(worker) => group.workers.push(worker),
                Err(source) => {
                    let detail = format!("no thread to run it: {source}");
                    for (_, hart) in handover.lock().take().unwrap_or_default() {
                        let pc = hart.pc;
                        let stop = Stop::Trap {
                            cause: cause::BUDGET_EXHAUSTED,
                            pc,
                            detail: detail.clone(),
                        };
                        finish(hart, stop);
                    }
                    // Dropping `group` stops the workers already started.
                    return Err(SimError::ExecThread { source });
                }
            }
        }
        tracing::debug!(harts = launches.len(), threads, "launched kernels");
        Ok(group)
    }
}

struct Limits {
    budget: u64,
    timeout: Duration,
    deadline: Option<Instant>,
    cancel: Arc<AtomicBool>,
}

/// Runs `harts` round-robin, a slice each, until all have stopped.
fn run_worker(mut harts: Vec<(usize, Hart)>, limits: &Limits) -> WorkerResult {
    let mut outcomes = Vec::with_capacity(harts.len());
    while !harts.is_empty() {
        let forced = if limits.cancel.load(Ordering::Relaxed) {
            Some("the launch group was dropped before it finished".to_string())
        } else if limits.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            Some(format!("timed out: still running after {:?}", limits.timeout))
        } else {
            None
        };
        if let Some(detail) = forced {
            for (index, hart) in harts.drain(..) {
                let pc = hart.pc;
                outcomes.push((
                    index,
                    finish(
                        hart,
                        Stop::Trap { cause: cause::BUDGET_EXHAUSTED, pc, detail: detail.clone() },
                    ),
                ));
            }
            break;
        }
        let mut index = 0;
        while index < harts.len() {
            let hart = &mut harts[index].1;
            let left = limits.budget.saturating_sub(hart.instret);
            let stop = match hart.run(left.min(SLICE)) {
                Some(stop) => Some(stop),
                None if hart.instret >= limits.budget => Some(Stop::Trap {
                    cause: cause::BUDGET_EXHAUSTED,
                    pc: hart.pc,
                    detail: format!("instruction budget of {} exhausted", limits.budget),
                }),
                None => None,
            };
            match stop {
                Some(stop) => {
                    let (number, hart) = harts.swap_remove(index);
                    outcomes.push((number, finish(hart, stop)));
                }
                None => index += 1,
            }
        }
    }
    outcomes
}

/// Writes the hart's mailbox for how it stopped (`GO` last, so a host that sees `GO_DONE`
/// or `GO_ERROR` sees the other words too) and builds its outcome.
fn finish(hart: Hart, stop: Stop) -> HartOutcome {
    let base = mailbox(hart.processor);
    let l1 = hart.l1();
    let word = |offset: u64, value: u32| {
        // The mailbox lies inside every core's L1, so these stores cannot fail.
        let _ = l1.store_u32(base + offset as u32, value);
    };
    word(kernel_abi::MAILBOX_INSTRET_LO, hart.instret as u32);
    word(kernel_abi::MAILBOX_INSTRET_HI, (hart.instret >> 32) as u32);
    let (core, processor) = (hart.core, hart.processor);
    let (outcome, go) = match stop {
        Stop::Exit(exit_code) => {
            word(kernel_abi::MAILBOX_RESULT, exit_code);
            word(kernel_abi::MAILBOX_ERROR_PC, 0);
            let outcome = HartOutcome::Done { core, processor, exit_code, instret: hart.instret };
            (outcome, kernel_abi::GO_DONE)
        }
        Stop::Trap { cause, pc, detail } => {
            word(kernel_abi::MAILBOX_RESULT, cause);
            word(kernel_abi::MAILBOX_ERROR_PC, pc);
            let message = format!(
                "kernel on core {core} processor {processor} stopped at pc {pc:#x} with {} ({cause}): {detail}",
                cause_name(cause)
            );
            tracing::debug!("{message}");
            (HartOutcome::Error { core, processor, cause, pc, message }, kernel_abi::GO_ERROR)
        }
    };
    std::sync::atomic::fence(Ordering::Release);
    word(kernel_abi::MAILBOX_GO, go);
    outcome
}
