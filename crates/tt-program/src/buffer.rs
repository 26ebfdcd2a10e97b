//! Interleaved DRAM buffers with host-side reads and writes, and the DRAM bank table kernels
//! use to find a page.

use tt_accounting::{BankType, MemKind};
use tt_alloc::{Allocation, BufferRequest, Layout, Policy};
use tt_device::DramBankId;

use crate::{ProgramError, Runtime};

/// Bytes of one `struct tt_dram_bank` entry (x, y, offset low, offset high).
pub const DRAM_BANK_ENTRY_BYTES: u64 = 16;

/// A DRAM buffer interleaved page by page over every DRAM bank (page `p` in bank
/// `p % banks` at `address + (p / banks) * page_size`), freed when dropped.
pub struct InterleavedBuffer {
    allocation: Allocation,
    page_size: u64,
    pages: u64,
    runtime: Runtime,
}

impl std::fmt::Debug for InterleavedBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterleavedBuffer")
            .field("address", &self.allocation.address())
            .field("page_size", &self.page_size)
            .field("pages", &self.pages)
            .finish()
    }
}

impl InterleavedBuffer {
    /// Allocates `pages` pages of `page_size` bytes (a multiple of the DRAM alignment, so the
    /// page stride equals the page size) owned by `owner`.
    #[track_caller]
    pub fn dram(
        runtime: &Runtime,
        page_size: u64,
        pages: u64,
        owner: &str,
    ) -> Result<InterleavedBuffer, ProgramError> {
        let align = runtime.device().arch().dram_alignment();
        if page_size == 0 || page_size % align != 0 {
            return Err(ProgramError::Invalid {
                program: owner.to_string(),
                reason: format!("page size {page_size} is not a nonzero multiple of the {align}-byte DRAM alignment"),
            });
        }
        runtime.check_process()?;
        let request = BufferRequest {
            bank_type: BankType::Dram,
            kind: MemKind::Dram,
            layout: Layout::Interleaved { page_size, pages },
            policy: Policy::default(),
            owner,
        };
        let allocation = runtime
            .allocator()
            .allocate_from(&request, std::panic::Location::caller())
            .map_err(|source| ProgramError::Alloc { program: owner.to_string(), source })?;
        Ok(InterleavedBuffer { allocation, page_size, pages, runtime: runtime.clone() })
    }

    /// Base address (the same offset in every bank).
    pub fn address(&self) -> u64 {
        self.allocation.address()
    }

    /// Page size in bytes (also the stride between a bank's pages).
    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// Number of pages.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Total bytes (pages times page size).
    pub fn len(&self) -> u64 {
        self.pages * self.page_size
    }

    /// True for a buffer of no bytes (never: a buffer has at least one page).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn page_target(&self, page: u64) -> Result<(DramBankId, u64), ProgramError> {
        let (bank, offset) =
            self.allocation.page_location(page).ok_or_else(|| ProgramError::Invalid {
                program: "buffer I/O".into(),
                reason: format!("page {page} is past the buffer's {} pages", self.pages),
            })?;
        Ok((DramBankId(bank), offset))
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

    /// Writes `data` from the start of the buffer, page by page.
    pub fn write(&self, data: &[u8]) -> Result<(), ProgramError> {
        self.runtime.check_process()?;
        self.check_len(data.len())?;
        for (page, chunk) in data.chunks(self.page_size as usize).enumerate() {
            let (bank, offset) = self.page_target(page as u64)?;
            self.runtime.device().write_dram_bank(bank, offset, chunk)?;
        }
        Ok(())
    }

    /// Reads `out.len()` bytes from the start of the buffer.
    pub fn read(&self, out: &mut [u8]) -> Result<(), ProgramError> {
        self.runtime.check_process()?;
        self.check_len(out.len())?;
        for (page, chunk) in out.chunks_mut(self.page_size as usize).enumerate() {
            let (bank, offset) = self.page_target(page as u64)?;
            self.runtime.device().read_dram_bank(bank, offset, chunk)?;
        }
        Ok(())
    }
}

/// The device's DRAM bank table as kernels read it (`struct tt_dram_bank[banks]`: a DRAM
/// endpoint's x and y, then the bank's offset in its channel as two 32-bit halves).
pub fn dram_bank_table(runtime: &Runtime) -> Vec<u8> {
    let allocator = runtime.allocator();
    let channels = runtime.device().soc().dram_channels();
    let mut table = Vec::new();
    for bank in 0..allocator.bank_count(BankType::Dram) as u32 {
        let Some(b) = allocator.dram_bank(bank) else { continue };
        let Some(endpoint) = channels.get(b.channel).and_then(|c| c.endpoints.first()) else {
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
