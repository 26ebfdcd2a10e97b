//! Buffers in DRAM or L1, interleaved page by page over every bank of their type or sharded
//! over listed cores, with host-side reads and writes; and the DRAM bank table kernels use to
//! find a page.

use std::panic::Location;

use tt_accounting::{BankType, MemKind};
use tt_alloc::{Allocation, BufferRequest, Layout, Policy};
use tt_device::DramBankId;
use tt_soc::NocCoord;

use crate::{ProgramError, Runtime};

/// Bytes of one `struct tt_dram_bank` entry (x, y, offset low, offset high).
pub const DRAM_BANK_ENTRY_BYTES: u64 = 16;

/// How a buffer's bytes lie in its banks.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// Page `p` in bank `p % banks` at `address + (p / banks) * page_size`.
    Interleaved { page_size: u64, pages: u64 },
    /// Shard `i` on `cores[i]` at `address`.
    Sharded { cores: Vec<NocCoord>, shard_size: u64 },
}

/// A buffer in one bank type (DRAM, L1, L1_SMALL or TRACE), freed when dropped. Its memory
/// kind follows from the bank type, so it is counted where it lives.
pub struct Buffer {
    allocation: Allocation,
    shape: Shape,
    runtime: Runtime,
}

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buffer")
            .field("bank_type", &self.allocation.bank_type())
            .field("address", &format_args!("{:#x}", self.allocation.address()))
            .field("shape", &self.shape)
            .finish()
    }
}

/// The memory kind a buffer of `bank_type` is counted as.
fn kind_of(bank_type: BankType, owner: &str) -> Result<MemKind, ProgramError> {
    match bank_type {
        BankType::Dram => Ok(MemKind::Dram),
        BankType::L1 => Ok(MemKind::L1),
        BankType::L1Small => Ok(MemKind::L1Small),
        BankType::Trace => Ok(MemKind::Trace),
        BankType::KernelRegion => Err(ProgramError::Invalid {
            program: owner.to_string(),
            reason: "the kernel region holds kernels, not buffers; load a Program, or choose \
                     dram, l1, l1_small or trace"
                .into(),
        }),
    }
}

impl Buffer {
    /// `pages` pages of `page_size` bytes dealt round-robin over every bank of `bank_type`;
    /// `page_size` must be a nonzero multiple of the bank alignment, so a bank's pages lie
    /// `page_size` apart, as kernels' address generators expect.
    #[track_caller]
    pub fn interleaved(
        runtime: &Runtime,
        bank_type: BankType,
        page_size: u64,
        pages: u64,
        owner: &str,
    ) -> Result<Buffer, ProgramError> {
        let align = runtime.allocator().alignment(bank_type);
        if page_size == 0 || page_size % align != 0 {
            return Err(ProgramError::Invalid {
                program: owner.to_string(),
                reason: format!(
                    "page size {page_size} is not a nonzero multiple of the {align}-byte \
                     {bank_type} alignment"
                ),
            });
        }
        let layout = Layout::Interleaved { page_size, pages };
        let shape = Shape::Interleaved { page_size, pages };
        Self::place(runtime, bank_type, layout, shape, owner, Location::caller())
    }

    /// An interleaved DRAM buffer ([`Buffer::interleaved`] in [`BankType::Dram`]).
    #[track_caller]
    pub fn dram(
        runtime: &Runtime,
        page_size: u64,
        pages: u64,
        owner: &str,
    ) -> Result<Buffer, ProgramError> {
        Self::interleaved(runtime, BankType::Dram, page_size, pages, owner)
    }

    /// One shard of `shard_size` bytes on each of `cores` (usable Tensix cores, each once),
    /// at the same L1 address on each; `bank_type` is L1 or L1_SMALL.
    #[track_caller]
    pub fn sharded(
        runtime: &Runtime,
        bank_type: BankType,
        cores: &[NocCoord],
        shard_size: u64,
        owner: &str,
    ) -> Result<Buffer, ProgramError> {
        let layout = Layout::Sharded { cores, shard_size };
        let shape = Shape::Sharded { cores: cores.to_vec(), shard_size };
        Self::place(runtime, bank_type, layout, shape, owner, Location::caller())
    }

    fn place(
        runtime: &Runtime,
        bank_type: BankType,
        layout: Layout<'_>,
        shape: Shape,
        owner: &str,
        provenance: &'static Location<'static>,
    ) -> Result<Buffer, ProgramError> {
        runtime.check_process()?;
        let kind = kind_of(bank_type, owner)?;
        let request = BufferRequest { bank_type, kind, layout, policy: Policy::default(), owner };
        let allocation = runtime
            .allocator()
            .allocate_from(&request, provenance)
            .map_err(|source| ProgramError::Alloc { program: owner.to_string(), source })?;
        Ok(Buffer { allocation, shape, runtime: runtime.clone() })
    }

    /// Base address (the same offset in every bank, or on every core).
    pub fn address(&self) -> u64 {
        self.allocation.address()
    }

    /// The bank type it lives in.
    pub fn bank_type(&self) -> BankType {
        self.allocation.bank_type()
    }

    /// The memory kind it is counted as.
    pub fn kind(&self) -> MemKind {
        self.allocation.kind()
    }

    /// The placement behind it (its spans, reserved bytes, page locations).
    pub fn allocation(&self) -> &Allocation {
        &self.allocation
    }

    /// Page size in bytes for an interleaved buffer (also the stride between a bank's pages).
    pub fn page_size(&self) -> Option<u64> {
        match self.shape {
            Shape::Interleaved { page_size, .. } => Some(page_size),
            Shape::Sharded { .. } => None,
        }
    }

    /// Number of pages of an interleaved buffer, or shards of a sharded one.
    pub fn pages(&self) -> u64 {
        match &self.shape {
            Shape::Interleaved { pages, .. } => *pages,
            Shape::Sharded { cores, .. } => cores.len() as u64,
        }
    }

    /// Total bytes the owner asked for (pages times page size, or shards times shard size).
    pub fn len(&self) -> u64 {
        match &self.shape {
            Shape::Interleaved { page_size, pages } => page_size.saturating_mul(*pages),
            Shape::Sharded { cores, shard_size } => shard_size.saturating_mul(cores.len() as u64),
        }
    }

    /// True for a buffer of no bytes (never: a buffer has at least one page or shard).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check_len(&self, len: usize) -> Result<(), ProgramError> {
        if len as u64 > self.len() {
            return Err(ProgramError::Invalid {
                program: "buffer I/O".into(),
                reason: format!("{len} bytes do not fit the buffer's {} bytes", self.len()),
            });
        }
        Ok(())
    }

    /// Where chunk `i` of the buffer (a page, or a shard) lives: a DRAM bank or a core, and
    /// the address there.
    fn chunk_target(&self, i: usize) -> Result<(Target, u64), ProgramError> {
        let past = || ProgramError::Invalid {
            program: "buffer I/O".into(),
            reason: format!("chunk {i} is past the buffer's {} pages or shards", self.pages()),
        };
        match &self.shape {
            Shape::Interleaved { .. } => {
                let (bank, offset) = self.allocation.page_location(i as u64).ok_or_else(past)?;
                match self.bank_type() {
                    BankType::Dram | BankType::Trace => {
                        Ok((Target::Dram(DramBankId(bank)), offset))
                    }
                    _ => {
                        let core = self.runtime.allocator().bank_core(bank).ok_or_else(past)?;
                        Ok((Target::Core(core), offset))
                    }
                }
            }
            Shape::Sharded { cores, .. } => {
                let core = cores.get(i).copied().ok_or_else(past)?;
                Ok((Target::Core(core), self.address()))
            }
        }
    }

    fn chunk_size(&self) -> usize {
        match &self.shape {
            Shape::Interleaved { page_size, .. } => *page_size as usize,
            Shape::Sharded { shard_size, .. } => *shard_size as usize,
        }
    }

    /// Writes `data` from the start of the buffer, page by page (or shard by shard).
    pub fn write(&self, data: &[u8]) -> Result<(), ProgramError> {
        self.runtime.check_process()?;
        self.check_len(data.len())?;
        let device = self.runtime.device();
        for (i, chunk) in data.chunks(self.chunk_size().max(1)).enumerate() {
            match self.chunk_target(i)? {
                (Target::Dram(bank), offset) => device.write_dram_bank(bank, offset, chunk)?,
                (Target::Core(core), addr) => device.write(core, addr, chunk)?,
            }
        }
        Ok(())
    }

    /// Reads `out.len()` bytes from the start of the buffer.
    pub fn read(&self, out: &mut [u8]) -> Result<(), ProgramError> {
        self.runtime.check_process()?;
        self.check_len(out.len())?;
        let device = self.runtime.device();
        let size = self.chunk_size().max(1);
        for (i, chunk) in out.chunks_mut(size).enumerate() {
            match self.chunk_target(i)? {
                (Target::Dram(bank), offset) => device.read_dram_bank(bank, offset, chunk)?,
                (Target::Core(core), addr) => device.read(core, addr, chunk)?,
            }
        }
        Ok(())
    }
}

/// Where one chunk of a buffer is read or written.
enum Target {
    Dram(DramBankId),
    Core(NocCoord),
}

/// The device's DRAM bank table as kernels read it (`struct tt_dram_bank[banks]`: a DRAM
/// endpoint's x and y, then the bank's offset in its channel as two 32-bit halves).
pub fn dram_bank_table(runtime: &Runtime) -> Vec<u8> {
    let allocator = runtime.allocator();
    let soc = runtime.device().soc();
    let mut table = Vec::new();
    for bank in 0..allocator.bank_count(BankType::Dram) as u32 {
        let Some(b) = allocator.dram_bank(bank) else { continue };
        // The endpoint tt-metal hands kernels for the bank (its worker_endpoint).
        let Some(endpoint) = soc.dram_bank_endpoint(&b) else {
            continue;
        };
        for word in
            [u32::from(endpoint.x), u32::from(endpoint.y), b.offset as u32, (b.offset >> 32) as u32]
        {
            table.extend_from_slice(&word.to_le_bytes());
        }
    }
    table
}
