//! Describing a program: kernels on core sets, circular buffers, semaphores, runtime args.

use std::collections::BTreeMap;

use tt_soc::NocCoord;

use crate::{KernelImage, LoadedProgram, ProgramError, Runtime};

/// The RISC-V processors of a Tensix core a kernel can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Processor {
    /// Data movement processor 0 (BRISC), mailbox 0.
    DataMovement0,
    /// Data movement processor 1 (NCRISC), mailbox 1.
    DataMovement1,
    /// Compute processor 0 (TRISC0, unpack), mailbox 2.
    Compute0,
    /// Compute processor 1 (TRISC1, math), mailbox 3.
    Compute1,
    /// Compute processor 2 (TRISC2, pack), mailbox 4.
    Compute2,
}

impl Processor {
    /// The processor's mailbox index (also its `mhartid`).
    pub fn index(self) -> u8 {
        match self {
            Processor::DataMovement0 => 0,
            Processor::DataMovement1 => 1,
            Processor::Compute0 => 2,
            Processor::Compute1 => 3,
            Processor::Compute2 => 4,
        }
    }
}

/// Handle to a kernel added to a [`Program`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KernelId(pub(crate) usize);

#[derive(Debug, Clone)]
pub(crate) struct KernelSpec {
    pub(crate) name: String,
    pub(crate) image: KernelImage,
    pub(crate) processor: Processor,
    pub(crate) cores: Vec<NocCoord>,
    pub(crate) args: BTreeMap<NocCoord, Vec<u32>>,
    pub(crate) common_args: Vec<u32>,
}

impl KernelSpec {
    /// The args this core sees: its own, then the common ones.
    pub(crate) fn args_for(&self, core: NocCoord) -> Vec<u32> {
        let mut args = self.args.get(&core).cloned().unwrap_or_default();
        args.extend_from_slice(&self.common_args);
        args
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CbSpec {
    pub(crate) index: u32,
    pub(crate) cores: Vec<NocCoord>,
    pub(crate) page_size: u32,
    pub(crate) num_pages: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct SemSpec {
    pub(crate) cores: Vec<NocCoord>,
    pub(crate) initial: u32,
}

/// A program: kernels for core sets, circular buffers and semaphores on cores, runtime
/// arguments. It is a description; [`Program::load`] places it on a device.
#[derive(Debug, Clone)]
pub struct Program {
    pub(crate) name: String,
    pub(crate) kernels: Vec<KernelSpec>,
    pub(crate) cbs: Vec<CbSpec>,
    pub(crate) sems: Vec<SemSpec>,
}

fn unique(cores: &[NocCoord]) -> Vec<NocCoord> {
    let mut v = cores.to_vec();
    v.sort();
    v.dedup();
    v
}

impl Program {
    /// An empty program; `name` appears as the owner of everything it places.
    pub fn new(name: impl Into<String>) -> Program {
        Program { name: name.into(), kernels: Vec::new(), cbs: Vec::new(), sems: Vec::new() }
    }

    /// The program's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds `image` to run on `processor` of every core in `cores`.
    pub fn add_kernel(
        &mut self,
        name: impl Into<String>,
        image: KernelImage,
        processor: Processor,
        cores: &[NocCoord],
    ) -> KernelId {
        self.kernels.push(KernelSpec {
            name: name.into(),
            image,
            processor,
            cores: unique(cores),
            args: BTreeMap::new(),
            common_args: Vec::new(),
        });
        KernelId(self.kernels.len() - 1)
    }

    /// Sets the runtime arguments kernel `kernel` sees on `core` (before the common ones).
    pub fn set_runtime_args(
        &mut self,
        kernel: KernelId,
        core: NocCoord,
        args: &[u32],
    ) -> Result<(), ProgramError> {
        let name = self.name.clone();
        let spec = self.kernels.get_mut(kernel.0).ok_or_else(|| ProgramError::Invalid {
            program: name.clone(),
            reason: format!("no kernel #{}", kernel.0),
        })?;
        if !spec.cores.contains(&core) {
            return Err(ProgramError::Invalid {
                program: name,
                reason: format!(
                    "kernel `{}` does not run on core {core}; args are per core of the kernel",
                    spec.name
                ),
            });
        }
        spec.args.insert(core, args.to_vec());
        Ok(())
    }

    /// Sets arguments every core of `kernel` sees after its own.
    pub fn set_common_args(&mut self, kernel: KernelId, args: &[u32]) -> Result<(), ProgramError> {
        let name = self.name.clone();
        let spec = self.kernels.get_mut(kernel.0).ok_or_else(|| ProgramError::Invalid {
            program: name,
            reason: format!("no kernel #{}", kernel.0),
        })?;
        spec.common_args = args.to_vec();
        Ok(())
    }

    /// Adds circular buffer `index` of `num_pages` pages of `page_size` bytes on each core
    /// of `cores`.
    pub fn add_circular_buffer(
        &mut self,
        index: u32,
        cores: &[NocCoord],
        page_size: u32,
        num_pages: u32,
    ) {
        self.cbs.push(CbSpec { index, cores: unique(cores), page_size, num_pages });
    }

    /// Adds a semaphore on `cores` starting at `initial`; returns its index (the kernels'
    /// `tt_sem(launch, i)`), the same on every core.
    pub fn add_semaphore(&mut self, cores: &[NocCoord], initial: u32) -> u32 {
        self.sems.push(SemSpec { cores: unique(cores), initial });
        (self.sems.len() - 1) as u32
    }

    /// Kernel binary bytes one load places (image size times cores, over all kernels): the
    /// KERNEL bytes of the binaries, without the per-core launch/args block.
    pub fn kernel_binary_bytes(&self) -> u64 {
        self.kernels.iter().map(|k| k.image.placed_bytes() * k.cores.len() as u64).sum()
    }

    /// Circular buffer bytes one load places (CB kind).
    pub fn circular_buffer_bytes(&self, alignment: u64) -> u64 {
        self.cbs
            .iter()
            .map(|c| {
                let size = u64::from(c.page_size) * u64::from(c.num_pages);
                size.div_ceil(alignment) * alignment * c.cores.len() as u64
            })
            .sum()
    }

    /// Every core the program touches, sorted.
    pub(crate) fn cores(&self) -> Vec<NocCoord> {
        let mut all: Vec<NocCoord> = self
            .kernels
            .iter()
            .flat_map(|k| k.cores.iter().copied())
            .chain(self.cbs.iter().flat_map(|c| c.cores.iter().copied()))
            .chain(self.sems.iter().flat_map(|s| s.cores.iter().copied()))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Places the program on `runtime`'s device: kernel binaries into the kernel region of
    /// each of their cores (KERNEL), circular buffers into L1 (CB), the per-core launch block,
    /// runtime args, CB descriptors and semaphores (KERNEL). Each load is a separate set of
    /// placements: loading twice, or on two devices, records and frees each on its own. The
    /// caller's source location is recorded as every placement's provenance.
    #[track_caller]
    pub fn load(&self, runtime: &Runtime) -> Result<LoadedProgram, ProgramError> {
        LoadedProgram::load(self, runtime, std::panic::Location::caller())
    }
}
