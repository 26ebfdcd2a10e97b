//! The memory-mapped NOC block a hart sees at `kernel_abi::NOC_BASE`.
//!
//! Each hart has its own copy of the registers (so two processors of one core never see
//! each other's half-written commands). Commands complete synchronously: a read or write
//! has moved every byte through the chip memory before the store that started it retires,
//! so `OUTSTANDING` always reads 0.

use std::sync::Arc;

use tt_soc::kernel_abi::{self, cause};
use tt_soc::{CoreKind, NocCoord};

use super::memory::ChipMemory;
use crate::chip::Shared;

const TARGET_X: u32 = kernel_abi::NOC_TARGET_X as u32;
const TARGET_Y: u32 = kernel_abi::NOC_TARGET_Y as u32;
const TARGET_ADDR_LO: u32 = kernel_abi::NOC_TARGET_ADDR_LO as u32;
const TARGET_ADDR_HI: u32 = kernel_abi::NOC_TARGET_ADDR_HI as u32;
const LOCAL_ADDR: u32 = kernel_abi::NOC_LOCAL_ADDR as u32;
const LEN: u32 = kernel_abi::NOC_LEN as u32;
const VALUE: u32 = kernel_abi::NOC_VALUE as u32;
const CMD: u32 = kernel_abi::NOC_CMD as u32;
const STATUS: u32 = kernel_abi::NOC_STATUS as u32;
const OUTSTANDING: u32 = kernel_abi::NOC_OUTSTANDING as u32;
const MY_X: u32 = kernel_abi::NOC_MY_X as u32;
const MY_Y: u32 = kernel_abi::NOC_MY_Y as u32;

/// Bytes of the register block (up to and including `MY_Y`).
pub(crate) const BLOCK_BYTES: u32 = MY_Y + 4;

/// Value of `STATUS` after a refused command.
const STATUS_REFUSED: u32 = 1;

/// Why an access to the NOC block stopped the hart: a cause code and what happened.
pub(crate) type NocFault = (u32, String);

/// One hart's NOC registers and the chip memory its commands reach.
pub(crate) struct Noc {
    chip: Arc<Shared>,
    memory: Arc<ChipMemory>,
    core: NocCoord,
    /// (file offset, bytes) of this core's L1.
    l1: (u64, u64),
    target_x: u32,
    target_y: u32,
    addr_lo: u32,
    addr_hi: u32,
    local: u32,
    len: u32,
    value: u32,
    status: u32,
}

impl Noc {
    pub(crate) fn new(
        chip: Arc<Shared>,
        memory: Arc<ChipMemory>,
        core: NocCoord,
        l1: (u64, u64),
    ) -> Noc {
        Noc {
            chip,
            memory,
            core,
            l1,
            target_x: 0,
            target_y: 0,
            addr_lo: 0,
            addr_hi: 0,
            local: 0,
            len: 0,
            value: 0,
            status: 0,
        }
    }

    /// Reads the register at `offset` from the block base; `None` for a hole.
    pub(crate) fn read(&self, offset: u32) -> Option<u32> {
        Some(match offset {
            TARGET_X => self.target_x,
            TARGET_Y => self.target_y,
            TARGET_ADDR_LO => self.addr_lo,
            TARGET_ADDR_HI => self.addr_hi,
            LOCAL_ADDR => self.local,
            LEN => self.len,
            VALUE => self.value,
            CMD => 0,
            STATUS => self.status,
            OUTSTANDING => 0,
            MY_X => u32::from(self.core.x),
            MY_Y => u32::from(self.core.y),
            _ => return None,
        })
    }

    /// Writes the register at `offset`; writing `CMD` runs the command to completion.
    pub(crate) fn write(&mut self, offset: u32, value: u32) -> Result<(), NocFault> {
        match offset {
            TARGET_X => self.target_x = value,
            TARGET_Y => self.target_y = value,
            TARGET_ADDR_LO => self.addr_lo = value,
            TARGET_ADDR_HI => self.addr_hi = value,
            LOCAL_ADDR => self.local = value,
            LEN => self.len = value,
            VALUE => self.value = value,
            CMD => {
                self.status = 0;
                if let Err(message) = self.command(value) {
                    self.status = STATUS_REFUSED;
                    return Err((cause::NOC_ERROR, message));
                }
            }
            _ => {
                return Err((
                    cause::ACCESS_FAULT,
                    format!("store to read-only or unmapped NOC register {offset:#x}"),
                ))
            }
        }
        Ok(())
    }

    fn command(&self, code: u32) -> Result<(), String> {
        let len = u64::from(self.len);
        match code {
            kernel_abi::NOC_CMD_READ | kernel_abi::NOC_CMD_WRITE => {
                let remote = self.target(len)?;
                let local = self.local_range(len)?;
                let (from, to) = if code == kernel_abi::NOC_CMD_READ {
                    (remote, local)
                } else {
                    (local, remote)
                };
                let Ok(len) = usize::try_from(len) else {
                    return Err(format!("length {len:#x} is too large"));
                };
                // Through a buffer: source and destination may overlap (a core copying
                // within its own L1), and chip memory is never borrowed as a slice.
                let mut buffer = vec![0u8; len];
                if self.memory.read_bytes(from, &mut buffer) && self.memory.write_bytes(to, &buffer)
                {
                    Ok(())
                } else {
                    Err(format!("{} outside the chip file", self.describe(len as u64)))
                }
            }
            kernel_abi::NOC_CMD_ATOMIC_ADD => {
                let target = self.target(4)?;
                if self.address() % 4 != 0 {
                    return Err(format!(
                        "atomic add to {} needs a 4-byte aligned address",
                        self.describe(4)
                    ));
                }
                match self.memory.atomic_add_u32(target, self.value) {
                    Some(_) => Ok(()),
                    None => {
                        Err(format!("atomic add to {} outside the chip file", self.describe(4)))
                    }
                }
            }
            other => Err(format!(
                "unknown NOC command {other} (read {}, write {}, atomic add {})",
                kernel_abi::NOC_CMD_READ,
                kernel_abi::NOC_CMD_WRITE,
                kernel_abi::NOC_CMD_ATOMIC_ADD
            )),
        }
    }

    fn address(&self) -> u64 {
        (u64::from(self.addr_hi) << 32) | u64::from(self.addr_lo)
    }

    fn describe(&self, len: u64) -> String {
        format!(
            "target ({}, {}) address {:#x} length {len:#x}",
            self.target_x,
            self.target_y,
            self.address()
        )
    }

    /// File offset of `len` bytes at the target, or why the target is refused.
    fn target(&self, len: u64) -> Result<u64, String> {
        let soc = &self.chip.soc;
        let (grid_x, grid_y) = soc.grid_size();
        let (Ok(x), Ok(y)) = (u16::try_from(self.target_x), u16::try_from(self.target_y)) else {
            return Err(format!(
                "{} is outside the {grid_x}x{grid_y} NOC grid",
                self.describe(len)
            ));
        };
        let core = NocCoord::new(x, y);
        let memory = match soc.kind_at(core) {
            None => {
                return Err(format!(
                    "{} is outside the {grid_x}x{grid_y} NOC grid",
                    self.describe(len)
                ))
            }
            Some(CoreKind::Tensix | CoreKind::Ethernet | CoreKind::Dram) => {
                self.chip.layout.memory_of(core)
            }
            Some(_) => None,
        };
        let Some((offset, size)) = memory else {
            let kind = soc.kind_at(core).map_or("unknown", CoreKind::name);
            return Err(format!("{} is a {kind} core with no memory", self.describe(len)));
        };
        let address = self.address();
        match address.checked_add(len) {
            Some(end) if end <= size => Ok(offset + address),
            _ => Err(format!(
                "{} runs past the end of its {size:#x}-byte memory",
                self.describe(len)
            )),
        }
    }

    /// File offset of `len` bytes of this core's L1 at `LOCAL_ADDR`.
    fn local_range(&self, len: u64) -> Result<u64, String> {
        let (offset, size) = self.l1;
        let local = u64::from(self.local);
        if local + len > size {
            return Err(format!(
                "local L1 range {local:#x} length {len:#x} runs past the end of the {size:#x}-byte L1 of {}",
                self.core
            ));
        }
        Ok(offset + local)
    }
}
