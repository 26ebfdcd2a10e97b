//! Cores start only by leaving soft reset. A watcher thread reads every tile's
//! `RISCV_DEBUG_REG_SOFT_RESET_0` in the chip file (where the host writes it through a TLB
//! window, as on the card); when a RISC-V core's bit clears, the core starts with every
//! register zero at its documented reset pc (WormholeB0/TensixTile/SoftReset.md), and when
//! the bit is set again the core stops. Running cores share a few worker threads, a time
//! slice at a time. A core that stops on its own (a fault, an unmodelled register) stays
//! stopped until the host puts it back in reset; [`SimChip::core_state`] says why.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use tt_soc::kernel_abi::cause;
use tt_soc::tile::{RiscV, SoftReset};
use tt_soc::{CoreKind, NocCoord};

use super::hart::{Hart, Stop};
use super::memory::ChipMemory;
use super::tile::Bus;
use super::tile_control;
use super::{cause_name, SLICE};
use crate::chip::Shared;
use crate::{SimChip, SimError};

/// How often the watcher reads the soft-reset registers.
const POLL: Duration = Duration::from_micros(500);
/// Worker threads running the cores that are out of reset.
const WORKERS: usize = 2;
/// First and longest pause of a worker that finds every core spin-waiting.
const IDLE_PAUSE_MIN: Duration = Duration::from_micros(50);
const IDLE_PAUSE_MAX: Duration = Duration::from_millis(1);

/// What a RISC-V core of a tile is doing, as far as the simulator knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreState {
    /// Held in soft reset.
    InReset,
    /// Out of reset and running.
    Running,
    /// Out of reset but stopped: the simulator could not go on.
    Stopped {
        /// One of `kernel_abi::cause`.
        cause: u32,
        /// pc of the instruction that stopped it.
        pc: u32,
        /// What happened, naming the core, processor and pc.
        message: String,
    },
}

/// A core out of reset, with the flag the watcher sets to put it back.
struct Running {
    hart: Hart,
    reset: Arc<AtomicBool>,
}

/// Each core's state and the flag that puts its running hart back in reset.
type States = HashMap<(NocCoord, u8), (CoreState, Arc<AtomicBool>)>;

/// State shared by the watcher and the workers.
struct Cores {
    queue: Mutex<VecDeque<Running>>,
    ready: Condvar,
    states: Mutex<States>,
    /// Each tile's control page and its soft-reset bits when last looked at.
    seen: Mutex<Vec<(NocCoord, u64, SoftReset)>>,
    shutdown: AtomicBool,
}

/// The watcher and workers of one open chip; dropping it stops them.
pub(crate) struct ResetEngine {
    cores: Arc<Cores>,
    chip: Arc<Shared>,
    memory: Arc<ChipMemory>,
    threads: Vec<JoinHandle<()>>,
}

impl ResetEngine {
    /// Starts watching `chip`'s soft-reset registers.
    pub(crate) fn start(chip: &Arc<Shared>) -> Result<ResetEngine, SimError> {
        let memory = chip.memory()?;
        // Seen as held at first, so cores already out of reset when the chip opens start now.
        let seen = tiles(chip).into_iter().map(|(c, page)| (c, page, SoftReset::ALL_RISCV));
        let cores = Arc::new(Cores {
            queue: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            states: Mutex::new(HashMap::new()),
            seen: Mutex::new(seen.collect()),
            shutdown: AtomicBool::new(false),
        });
        let mut engine = ResetEngine {
            cores,
            chip: Arc::clone(chip),
            memory: Arc::clone(&memory),
            threads: Vec::new(),
        };
        let spawn = |name: String, body: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name)
                .spawn(body)
                .map_err(|source| SimError::ExecThread { source })
        };
        for number in 0..WORKERS {
            let cores = Arc::clone(&engine.cores);
            engine
                .threads
                .push(spawn(format!("tt-sim-core-{number}"), Box::new(move || work(&cores)))?);
        }
        let (cores, chip) = (Arc::clone(&engine.cores), Arc::clone(chip));
        engine
            .threads
            .push(spawn("tt-sim-reset".into(), Box::new(move || watch(&chip, &memory, &cores)))?);
        Ok(engine)
    }

    /// Looks at every soft-reset register now and starts or stops cores whose bits changed.
    pub(crate) fn scan(&self) {
        scan(&self.chip, &self.memory, &self.cores);
    }

    /// The state of `processor` of `core`.
    pub(crate) fn state(&self, core: NocCoord, processor: u8) -> CoreState {
        let states = self.cores.states.lock();
        states.get(&(core, processor)).map_or(CoreState::InReset, |(state, _)| state.clone())
    }
}

impl Drop for ResetEngine {
    fn drop(&mut self) {
        self.cores.shutdown.store(true, Ordering::Relaxed);
        self.cores.ready.notify_all();
        for thread in std::mem::take(&mut self.threads) {
            // A thread that panicked has nothing left to stop.
            let _ = thread.join();
        }
    }
}

/// The tiles whose cores can leave reset, with their control pages.
fn tiles(chip: &Shared) -> Vec<(NocCoord, u64)> {
    let (width, height) = chip.soc.grid_size();
    let mut tiles = Vec::new();
    for y in 0..height {
        for x in 0..width {
            let core = NocCoord::new(x, y);
            let kind = chip.soc.kind_at(core);
            if matches!(kind, Some(CoreKind::Tensix | CoreKind::Ethernet)) {
                if let Some(page) = chip.layout.control_of(core) {
                    tiles.push((core, page));
                }
            }
        }
    }
    tiles
}

/// Scans the soft-reset registers until shutdown.
fn watch(chip: &Arc<Shared>, memory: &Arc<ChipMemory>, cores: &Cores) {
    while !cores.shutdown.load(Ordering::Relaxed) {
        scan(chip, memory, cores);
        std::thread::sleep(POLL);
    }
}

/// Starts or stops the cores whose soft-reset bits changed since the last scan. One scan at a
/// time (the host's and the watcher's), so every change is acted on once.
fn scan(chip: &Arc<Shared>, memory: &Arc<ChipMemory>, cores: &Cores) {
    let mut seen = cores.seen.lock();
    for (core, page, last) in seen.iter_mut() {
        let now = tile_control::soft_reset(memory, *page);
        let changed = (now ^ *last) & SoftReset::ALL_RISCV;
        if changed.is_empty() {
            continue;
        }
        *last = now;
        let ethernet = chip.soc.kind_at(*core) == Some(CoreKind::Ethernet);
        // An Ethernet tile has one RISC-V core, which the runtime numbers 0.
        let processors = if ethernet { &RiscV::ALL[..1] } else { &RiscV::ALL[..] };
        for (index, riscv) in processors.iter().enumerate() {
            if !changed.contains(riscv.soft_reset_bit()) {
                continue;
            }
            let processor = index as u8;
            if now.contains(riscv.soft_reset_bit()) {
                hold(cores, *core, processor);
            } else {
                start(chip, memory, cores, *core, processor, *riscv, ethernet);
            }
        }
    }
}

/// Puts a core back in reset: a running hart is dropped at its next turn.
fn hold(cores: &Cores, core: NocCoord, processor: u8) {
    let mut states = cores.states.lock();
    if let Some((state, reset)) = states.get_mut(&(core, processor)) {
        reset.store(true, Ordering::Relaxed);
        *state = CoreState::InReset;
    }
}

/// Starts a core at its reset pc with every register zero.
fn start(
    chip: &Arc<Shared>,
    memory: &Arc<ChipMemory>,
    cores: &Cores,
    core: NocCoord,
    processor: u8,
    riscv: RiscV,
    ethernet: bool,
) {
    let reset = Arc::new(AtomicBool::new(false));
    let stopped = |cause: u32, detail: String| {
        let message = format!("core {core} processor {} stopped: {detail}", riscv.name());
        tracing::debug!("{message}");
        CoreState::Stopped { cause, pc: 0, message }
    };
    let page = chip.layout.control_of(core);
    let arch = chip.soc.arch();
    let pc = match (ethernet, page) {
        (false, Some(page)) => tile_control::reset_pc(memory, page, arch, riscv),
        _ => None,
    };
    let Some(pc) = pc else {
        let tile = if ethernet { "an Ethernet tile's core" } else { riscv.name() };
        let state = stopped(
            cause::FETCH_FAULT,
            format!(
                "the reset pc of {tile} on {} is not in the sources the simulator cites",
                chip.soc.arch()
            ),
        );
        cores.states.lock().insert((core, processor), (state, reset));
        return;
    };
    let span = chip.layout.memory_of(core).and_then(|(offset, size)| memory.span(offset, size));
    let Some(span) = span else {
        let state = stopped(cause::ACCESS_FAULT, "its L1 is not in the chip file".into());
        cores.states.lock().insert((core, processor), (state, reset));
        return;
    };
    let bus = Bus::new(Arc::clone(chip), Arc::clone(memory), core, processor);
    let hart = Hart::at_reset(core, processor, pc, span, bus);
    {
        let mut states = cores.states.lock();
        if let Some((_, old)) = states.get(&(core, processor)) {
            old.store(true, Ordering::Relaxed);
        }
        states.insert((core, processor), (CoreState::Running, Arc::clone(&reset)));
    }
    cores.queue.lock().push_back(Running { hart, reset });
    cores.ready.notify_one();
}

/// Runs the cores out of reset a slice at a time until shutdown. When a whole round of
/// turns finds every core spin-waiting (idle firmware, say), the worker pauses a little,
/// longer each idle round up to a millisecond, so an idle chip does not keep a host CPU busy.
fn work(cores: &Cores) {
    let mut idle_turns = 0usize;
    let mut pause = IDLE_PAUSE_MIN;
    loop {
        let next = {
            let mut queue = cores.queue.lock();
            loop {
                if cores.shutdown.load(Ordering::Relaxed) {
                    return;
                }
                if let Some(next) = queue.pop_front() {
                    break next;
                }
                cores.ready.wait_for(&mut queue, Duration::from_millis(50));
            }
        };
        let Running { mut hart, reset } = next;
        if reset.load(Ordering::Relaxed) {
            continue;
        }
        match hart.run(SLICE) {
            None => {
                let waiting = {
                    let mut queue = cores.queue.lock();
                    let spinning = hart.spinning;
                    queue.push_back(Running { hart, reset });
                    spinning.then_some(queue.len())
                };
                match waiting {
                    Some(round) => {
                        idle_turns += 1;
                        if idle_turns >= round {
                            std::thread::sleep(pause);
                            pause = (pause * 2).min(IDLE_PAUSE_MAX);
                            idle_turns = 0;
                        }
                    }
                    None => {
                        idle_turns = 0;
                        pause = IDLE_PAUSE_MIN;
                    }
                }
            }
            Some(stop) => {
                let (cause, pc, detail) = match stop {
                    // Returning to the exit address means nothing at reset (ra starts at 0),
                    // but a jump there is a fetch from outside L1.
                    Stop::Exit(a0) => (
                        cause::FETCH_FAULT,
                        hart.pc,
                        format!("jumped to {:#x} (a0 = {a0}), which is not code", hart.pc),
                    ),
                    Stop::Trap { cause, pc, detail } => (cause, pc, detail),
                };
                let message = format!(
                    "core {} processor {} stopped at pc {pc:#x} with {} ({cause}): {detail}",
                    hart.core,
                    hart.processor,
                    cause_name(cause)
                );
                tracing::debug!("{message}");
                let mut states = cores.states.lock();
                if !reset.load(Ordering::Relaxed) {
                    states.insert(
                        (hart.core, hart.processor),
                        (CoreState::Stopped { cause, pc, message }, reset),
                    );
                }
            }
        }
    }
}

impl SimChip {
    /// What `processor` of `core` is doing: held in reset, running, or stopped (and why).
    pub fn core_state(&self, core: NocCoord, processor: u8) -> CoreState {
        self.reset_engine().state(core, processor)
    }

    /// Acts on soft-reset writes now rather than at the watcher's next look, so a brief
    /// reset pulse (hold, then release) is never missed. The host calls it after each write.
    pub fn apply_soft_reset(&self) {
        self.reset_engine().scan();
    }
}
