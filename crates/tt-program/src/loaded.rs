//! A program placed on a device: what load placed, launching, and the drop that frees it.

use std::panic::Location;

use tt_accounting::{BankType, MemKind};
use tt_alloc::{Allocation, BufferRequest, Layout, Policy};
use tt_device::{ExecLimits, KernelStart, LaunchOutcome};
use tt_soc::kernel_abi::{
    self, ABI_VERSION, CB_DESCRIPTOR_BYTES, LAUNCH_BLOCK_BYTES, LAUNCH_MAGIC,
};
use tt_soc::NocCoord;

use crate::program::KernelSpec;
use crate::{Program, ProgramError, Runtime};

/// Where each part of the per-core config block lies, identical on every core of a program
/// so that one lockstep allocation serves them all.
#[derive(Debug, Clone)]
struct ConfigLayout {
    /// Offset of kernel k's launch block.
    launch: Vec<u64>,
    /// Offset and capacity (words) of kernel k's runtime args.
    args: Vec<(u64, usize)>,
    cbs: u64,
    num_cbs: u32,
    sems: u64,
    num_sems: u32,
    total: u64,
}

impl ConfigLayout {
    fn new(program: &Program) -> ConfigLayout {
        let mut at = 0u64;
        let launch: Vec<u64> = program
            .kernels
            .iter()
            .map(|_| {
                let off = at;
                at += LAUNCH_BLOCK_BYTES;
                off
            })
            .collect();
        let args = program
            .kernels
            .iter()
            .map(|k| {
                let words = k.cores.iter().map(|c| k.args_for(*c).len()).max().unwrap_or(0);
                let off = at;
                at += 4 * words as u64;
                (off, words)
            })
            .collect();
        at = at.div_ceil(16) * 16;
        let num_cbs = program.cbs.iter().map(|c| c.index + 1).max().unwrap_or(0);
        let cbs = at;
        at += CB_DESCRIPTOR_BYTES * u64::from(num_cbs);
        let sems = at;
        let num_sems = program.sems.len() as u32;
        at += 4 * u64::from(num_sems);
        ConfigLayout { launch, args, cbs, num_cbs, sems, num_sems, total: at.div_ceil(16) * 16 }
    }
}

struct PlacedKernel {
    name: String,
    processor: u8,
    cores: Vec<NocCoord>,
    /// Where the image starts (the same L1 address on every core).
    addr: u64,
    entry: u32,
    _binary: Allocation,
}

/// A loaded program. Dropping it (or [`LoadedProgram::unload`]) frees every kernel binary,
/// circular buffer and config block on every core, with the sizes recorded at load.
pub struct LoadedProgram {
    name: String,
    kernels: Vec<PlacedKernel>,
    config: Allocation,
    config_blobs: Vec<(NocCoord, Vec<u8>)>,
    cbs: Vec<Allocation>,
    // Last: the session outlives the placements it counts.
    runtime: Runtime,
}

impl std::fmt::Debug for LoadedProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedProgram")
            .field("name", &self.name)
            .field("kernels", &self.kernels.len())
            .field("kernel_bytes", &self.kernel_bytes())
            .field("kernel_payload_bytes", &self.kernel_payload_bytes())
            .field("cb_bytes", &self.circular_buffer_bytes())
            .finish()
    }
}

fn put(blob: &mut [u8], at: u64, value: u32) {
    let at = at as usize;
    blob[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

impl LoadedProgram {
    pub(crate) fn load(
        program: &Program,
        runtime: &Runtime,
        provenance: &'static Location<'static>,
    ) -> Result<LoadedProgram, ProgramError> {
        runtime.check_process()?;
        let inner = runtime.inner();
        let device = runtime.device();
        let allocator = &inner.allocator;
        let name = program.name.clone();
        let invalid = |reason: String| ProgramError::Invalid { program: name.clone(), reason };
        if program.kernels.is_empty() {
            return Err(invalid("it has no kernels; add one with Program::add_kernel".into()));
        }
        let cores = program.cores();
        let workers = runtime.worker_cores();
        for core in &cores {
            if !workers.contains(core) {
                return Err(ProgramError::BadCore {
                    what: format!("program `{name}`"),
                    core: *core,
                    device: device.spec().to_string(),
                });
            }
        }
        check_processors(&program.kernels)?;
        for cb in &program.cbs {
            if cb.page_size == 0 || cb.num_pages == 0 {
                return Err(invalid(format!(
                    "circular buffer {} has no pages or zero page size",
                    cb.index
                )));
            }
            let clash = program.cbs.iter().any(|o| {
                !std::ptr::eq(o, cb)
                    && o.index == cb.index
                    && o.cores.iter().any(|c| cb.cores.contains(c))
            });
            if clash {
                return Err(invalid(format!(
                    "circular buffer index {} is defined twice on one core",
                    cb.index
                )));
            }
        }
        let place = |bank_type, kind, cores: &[NocCoord], size: u64, owner: &str| {
            let request = BufferRequest {
                bank_type,
                kind,
                layout: Layout::Sharded { cores, shard_size: size },
                policy: Policy::default(),
                owner,
            };
            allocator
                .allocate_from(&request, provenance)
                .map_err(|source| ProgramError::Alloc { program: name.clone(), source })
        };
        let mut kernels = Vec::with_capacity(program.kernels.len());
        for k in &program.kernels {
            let owner = format!("program {name} kernel {}", k.name);
            let binary = place(
                BankType::KernelRegion,
                MemKind::Kernel,
                &k.cores,
                k.image.placed_bytes(),
                &owner,
            )?;
            kernels.push(PlacedKernel {
                name: k.name.clone(),
                processor: k.processor.index(),
                cores: k.cores.clone(),
                addr: binary.address(),
                entry: k.image.entry(),
                _binary: binary,
            });
        }
        let layout = ConfigLayout::new(program);
        let config = place(
            BankType::KernelRegion,
            MemKind::Kernel,
            &cores,
            layout.total,
            &format!("program {name} launch blocks and args"),
        )?;
        let mut cbs = Vec::with_capacity(program.cbs.len());
        for cb in &program.cbs {
            let size = u64::from(cb.page_size) * u64::from(cb.num_pages);
            cbs.push(place(
                BankType::L1,
                MemKind::Cb,
                &cb.cores,
                size,
                &format!("program {name} cb {}", cb.index),
            )?);
        }
        let soc = device.soc();
        let base = config.address();
        let mut config_blobs = Vec::with_capacity(cores.len());
        for core in &cores {
            let mut blob = vec![0u8; layout.total as usize];
            let logical = soc.noc_to_logical(*core).unwrap_or(tt_soc::LogicalCoord::new(0, 0));
            for (k, spec) in program.kernels.iter().enumerate() {
                if !spec.cores.contains(core) {
                    continue;
                }
                let args = spec.args_for(*core);
                let (args_off, _) = layout.args[k];
                for (i, a) in args.iter().enumerate() {
                    put(&mut blob, args_off + 4 * i as u64, *a);
                }
                let lb = layout.launch[k];
                let fields = [
                    LAUNCH_MAGIC,
                    ABI_VERSION,
                    u32::from(core.x),
                    u32::from(core.y),
                    u32::from(logical.x),
                    u32::from(logical.y),
                    args.len() as u32,
                    (base + args_off) as u32,
                    layout.num_cbs,
                    (base + layout.cbs) as u32,
                    layout.num_sems,
                    (base + layout.sems) as u32,
                    kernel_abi::arch_code(soc.arch()),
                ];
                for (i, f) in fields.iter().enumerate() {
                    put(&mut blob, lb + 4 * i as u64, *f);
                }
            }
            for (cb, placed) in program.cbs.iter().zip(&cbs) {
                if !cb.cores.contains(core) {
                    continue;
                }
                let d = layout.cbs + CB_DESCRIPTOR_BYTES * u64::from(cb.index);
                put(&mut blob, d, placed.address() as u32);
                put(&mut blob, d + 4, cb.page_size * cb.num_pages);
                put(&mut blob, d + 8, cb.page_size);
                put(&mut blob, d + 12, cb.num_pages);
            }
            for (i, sem) in program.sems.iter().enumerate() {
                if sem.cores.contains(core) {
                    put(&mut blob, layout.sems + 4 * i as u64, sem.initial);
                }
            }
            // One core at a time, so its TLB window is configured once for all its writes.
            for (spec, placed) in program.kernels.iter().zip(&kernels) {
                if spec.cores.contains(core) {
                    device.write(*core, placed.addr, spec.image.image())?;
                }
            }
            device.write(*core, base, &blob)?;
            config_blobs.push((*core, blob));
        }
        tracing::debug!(program = %name, cores = cores.len(), "loaded program");
        Ok(LoadedProgram { name, kernels, config, config_blobs, cbs, runtime: runtime.clone() })
    }

    /// The program's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// KERNEL bytes this load reserved: the kernel-region ranges of the binaries and the
    /// config blocks, on every core of the lockstep kernel region.
    pub fn kernel_bytes(&self) -> u64 {
        self.kernels.iter().map(|k| k._binary.reserved_bytes()).sum::<u64>()
            + self.config.reserved_bytes()
    }

    /// KERNEL payload this load placed: each binary and config block on the cores it runs on.
    pub fn kernel_payload_bytes(&self) -> u64 {
        self.kernels.iter().map(|k| k._binary.total_bytes()).sum::<u64>()
            + self.config.total_bytes()
    }

    /// CB bytes this load reserved (each buffer's L1 range on every core).
    pub fn circular_buffer_bytes(&self) -> u64 {
        self.cbs.iter().map(|c| c.reserved_bytes()).sum()
    }

    /// CB payload this load placed (each buffer on the cores it is defined on).
    pub fn circular_buffer_payload_bytes(&self) -> u64 {
        self.cbs.iter().map(|c| c.total_bytes()).sum()
    }

    /// L1 address of circular buffer number `i` (in the order they were added).
    pub fn circular_buffer_address(&self, i: usize) -> Option<u64> {
        self.cbs.get(i).map(|c| c.address())
    }

    /// Starts every kernel on every core and waits for all to finish (programs of one device
    /// run one at a time; a second caller waits its turn): resets CB counters and
    /// semaphores, writes each processor's mailbox for the firmware the session placed at the
    /// reset pcs ([`tt_device::Device::launch`]), and reads the mailboxes until every kernel
    /// is done. A kernel that returns a nonzero exit code, stops (on the simulator, with why
    /// and where) or does not finish in time fails the run with its name, core and processor.
    pub fn run(&self) -> Result<Vec<LaunchOutcome>, ProgramError> {
        self.run_with(&ExecLimits::default())
    }

    /// [`LoadedProgram::run`] with a timeout of your own.
    pub fn run_with(&self, limits: &ExecLimits) -> Result<Vec<LaunchOutcome>, ProgramError> {
        self.runtime.check_process()?;
        let device = self.runtime.device();
        let _running = self.runtime.inner().run_lock.lock();
        let mut starts = Vec::new();
        let base = self.config.address();
        for (core, blob) in &self.config_blobs {
            device.write(*core, base, blob)?;
        }
        for (k, placed) in self.kernels.iter().enumerate() {
            let launch_block = base + LAUNCH_BLOCK_BYTES * k as u64;
            for core in &placed.cores {
                starts.push(KernelStart {
                    core: *core,
                    processor: placed.processor,
                    entry: (placed.addr + u64::from(placed.entry)) as u32,
                    launch_block: launch_block as u32,
                });
            }
        }
        let launch = device.launch(&starts)?;
        let outcomes = device.wait(launch, limits)?;
        for outcome in &outcomes {
            let (core, processor) = (outcome.core(), outcome.processor());
            let kernel = self
                .kernels
                .iter()
                .find(|k| k.processor == processor && k.cores.contains(&core))
                .map_or_else(|| "?".to_string(), |k| k.name.clone());
            match outcome {
                LaunchOutcome::Done { exit_code: 0, .. } => {}
                LaunchOutcome::Done { exit_code, .. } => {
                    return Err(ProgramError::KernelFailed {
                        kernel,
                        core,
                        processor,
                        what: format!("returned exit code {exit_code}"),
                    })
                }
                LaunchOutcome::Error { message, .. } => {
                    return Err(ProgramError::KernelFailed {
                        kernel,
                        core,
                        processor,
                        what: message.clone(),
                    })
                }
            }
        }
        Ok(outcomes)
    }

    /// Frees everything the load placed (the same as dropping it).
    pub fn unload(self) {}
}

fn check_processors(kernels: &[KernelSpec]) -> Result<(), ProgramError> {
    for (i, a) in kernels.iter().enumerate() {
        for b in &kernels[i + 1..] {
            if a.processor != b.processor {
                continue;
            }
            if let Some(core) = a.cores.iter().find(|c| b.cores.contains(c)) {
                return Err(ProgramError::ProcessorClash {
                    first: a.name.clone(),
                    second: b.name.clone(),
                    processor: a.processor.index(),
                    core: *core,
                });
            }
        }
    }
    Ok(())
}
