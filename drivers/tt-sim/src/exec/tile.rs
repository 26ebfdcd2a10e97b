//! A tile's registers shared by its RISC-V cores, the requests they issued and have not yet
//! completed, and the bus that routes a core's loads and stores outside L1 to them.
//!
//! A request issued by a store to `NOC_CMD_CTRL` waits in its tile's queue and happens when
//! the queue drains: when any core of the tile next reads an NIU register (the way every
//! barrier polls a counter), when the issuing core's time slice ends, and when it stops. So a
//! kernel that reads its destination without waiting can see the old bytes, as on the chip.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tt_soc::kernel_abi::cause;
use tt_soc::tile::{self, counter, RiscV, TILE_CONTROL_BASE, TILE_CONTROL_BYTES};
use tt_soc::{Arch, NocCoord};

use super::memory::ChipMemory;
use super::niu::{Niu, Op, Place, Refusal, Request};
use super::tile_control::TileControl;
use crate::chip::Shared;

/// A stop of the core: a `kernel_abi::cause` and what happened.
pub(crate) type Fault = (u32, String);

/// What one tile's cores share.
#[derive(Debug)]
pub(crate) struct TileState {
    /// NIU #0 and NIU #1.
    pub(crate) niu: [Niu; 2],
    /// Soft reset and wall clock.
    pub(crate) control: TileControl,
    pending: Vec<Request>,
}

/// Every tile's state, made on first use and kept while the chip is open.
pub(crate) struct Tiles {
    arch: Arch,
    pub(crate) epoch: Instant,
    map: Mutex<HashMap<NocCoord, Arc<Mutex<TileState>>>>,
}

impl Tiles {
    pub(crate) fn new(arch: Arch) -> Tiles {
        Tiles { arch, epoch: Instant::now(), map: Mutex::new(HashMap::new()) }
    }

    /// The state of the tile at `core`.
    pub(crate) fn get(&self, core: NocCoord) -> Arc<Mutex<TileState>> {
        let layout = tile::niu_layout(self.arch);
        Arc::clone(self.map.lock().entry(core).or_insert_with(|| {
            Arc::new(Mutex::new(TileState {
                niu: [Niu::new(0, layout), Niu::new(1, layout)],
                control: TileControl::default(),
                pending: Vec::new(),
            }))
        }))
    }
}

/// Carries out every request the tile at `core` has queued, in issue order.
pub(crate) fn drain(chip: &Shared, memory: &ChipMemory, core: NocCoord) -> Result<(), String> {
    let pending = std::mem::take(&mut chip.tiles.get(core).lock().pending);
    for request in &pending {
        complete(chip, memory, request)?;
    }
    Ok(())
}

fn copy(memory: &ChipMemory, from: u64, to: u64, len: usize) -> Result<(), String> {
    // Through a buffer: the ranges may overlap, and chip memory is never a slice.
    let mut buffer = vec![0u8; len];
    if memory.read_bytes(from, &mut buffer) && memory.write_bytes(to, &buffer) {
        Ok(())
    } else {
        Err(format!("a {len}-byte copy left the chip file"))
    }
}

/// Moves the data of one request and the counters Counters.md moves after the store.
fn complete(chip: &Shared, memory: &ChipMemory, r: &Request) -> Result<(), String> {
    use counter::*;
    let (p, f) = (i64::from(r.packets), i64::from(r.flits));
    let mut bumps: Vec<(NocCoord, u32, i64)> = vec![(r.core, MST_CMD_ACCEPTED, p)];
    let mut own = |index: u32, delta: i64| bumps.push((r.core, index, delta));
    let posted = r.posted;
    let mut slaves: Vec<(NocCoord, u32, i64)> = Vec::new();
    match &r.op {
        Op::Read { from, to, len } => {
            own(MST_RD_REQ_STARTED, p);
            own(MST_RD_REQ_SENT, p);
            copy(memory, from.file, to.file, *len as usize)?;
            for (index, delta) in [
                (SLV_REQ_ACCEPTED, p),
                (SLV_RD_REQ_RECEIVED, p),
                (SLV_RD_RESP_SENT, p),
                (SLV_RD_DATA_WORD_SENT, f),
            ] {
                slaves.push((from.core, index, delta));
            }
            own(MST_RD_RESP_RECEIVED, p);
            own(MST_RD_DATA_WORD_RECEIVED, f);
            own(mst_reqs_outstanding(r.id), -p);
        }
        Op::Write { .. } | Op::WriteMasked { .. } | Op::Inline { .. } => {
            let inline = matches!(r.op, Op::Inline { .. });
            let targets: &[Place] = match &r.op {
                Op::Write { from, to, len } => {
                    for place in to {
                        copy(memory, from.file, place.file, *len as usize)?;
                    }
                    to
                }
                Op::WriteMasked { from, to, mask } => {
                    for place in to {
                        masked(memory, from.file, place.file, *mask)?;
                    }
                    to
                }
                Op::Inline { to, data, enables } => {
                    for place in to {
                        inline_write(memory, place.file, *data, *enables)?;
                    }
                    to
                }
                Op::Read { .. } | Op::Atomic { .. } => &[],
            };
            let (started, sent, words) = if posted {
                (MST_POSTED_WR_REQ_STARTED, MST_POSTED_WR_REQ_SENT, MST_POSTED_WR_DATA_WORD_SENT)
            } else {
                (
                    MST_NONPOSTED_WR_REQ_STARTED,
                    MST_NONPOSTED_WR_REQ_SENT,
                    MST_NONPOSTED_WR_DATA_WORD_SENT,
                )
            };
            own(started, p);
            own(sent, p);
            if !inline {
                own(words, f);
                own(mst_write_reqs_outgoing(r.id), -p);
            }
            let (s_started, s_received, s_words) = if posted {
                (
                    SLV_POSTED_WR_REQ_STARTED,
                    SLV_POSTED_WR_REQ_RECEIVED,
                    SLV_POSTED_WR_DATA_WORD_RECEIVED,
                )
            } else {
                (
                    SLV_NONPOSTED_WR_REQ_STARTED,
                    SLV_NONPOSTED_WR_REQ_RECEIVED,
                    SLV_NONPOSTED_WR_DATA_WORD_RECEIVED,
                )
            };
            for place in targets {
                slaves.push((place.core, s_started, p));
                slaves.push((place.core, s_received, p));
                slaves.push((place.core, s_words, f));
                if !posted {
                    slaves.push((place.core, SLV_WR_ACK_SENT, p));
                }
            }
            if !posted {
                // Non-posted requests are unicast (broadcasts are refused at issue).
                own(MST_WR_ACK_RECEIVED, p);
                own(mst_reqs_outstanding(r.id), -p);
            }
        }
        Op::Atomic { to, at_len_be, data, ret } => {
            if posted {
                own(MST_POSTED_ATOMIC_SENT, 1);
            } else {
                own(MST_NONPOSTED_ATOMIC_STARTED, 1);
                own(MST_NONPOSTED_ATOMIC_SENT, 1);
            }
            let received =
                if posted { SLV_POSTED_ATOMIC_RECEIVED } else { SLV_NONPOSTED_ATOMIC_RECEIVED };
            let mut result = 0;
            for place in to {
                slaves.push((place.core, SLV_REQ_ACCEPTED, 1));
                slaves.push((place.core, received, 1));
                result = atomic(memory, place, *at_len_be, *data)?;
                if !posted {
                    slaves.push((place.core, SLV_ATOMIC_RESP_SENT, 1));
                }
            }
            if let Some(ret) = ret {
                if !memory.write_bytes(ret.file, &result.to_le_bytes()) {
                    return Err("an atomic's result left the chip file".into());
                }
                own(MST_ATOMIC_RESP_RECEIVED, 1);
                own(mst_reqs_outstanding(r.id), -1);
            }
        }
    }
    // Slave counters live in the receiving tiles' NIUs of the same NoC; DRAM tiles' NIUs are
    // not visible to any core, so they are not kept.
    for (core, index, delta) in slaves.into_iter().chain(bumps) {
        if chip.soc.kind_at(core) == Some(tt_soc::CoreKind::Dram) {
            continue;
        }
        chip.tiles.get(core).lock().niu[usize::from(r.noc)].bump(index, delta);
    }
    Ok(())
}

/// A byte-enable write: byte `i` of a 32-byte block when bit `i` of `mask` is set.
fn masked(memory: &ChipMemory, from: u64, to: u64, mask: u32) -> Result<(), String> {
    let mut block = [0u8; 32];
    if !memory.read_bytes(from, &mut block) {
        return Err("a byte-enable write read outside the chip file".into());
    }
    for (i, byte) in block.iter().enumerate() {
        if mask & (1 << i) != 0 && !memory.write_bytes(to + i as u64, &[*byte]) {
            return Err("a byte-enable write left the chip file".into());
        }
    }
    Ok(())
}

/// An inline write to a 16-byte block (NoC/MemoryMap.md, `NOC_AT_LEN_BE`).
fn inline_write(memory: &ChipMemory, block: u64, data: u32, enables: u32) -> Result<(), String> {
    let bytes = data.to_le_bytes();
    for i in 0..16u64 {
        let enabled = enables & (1 << i) != 0 || enables & (1 << (16 + i)) != 0;
        if enabled && !memory.write_bytes(block + i, &[bytes[(i & 3) as usize]]) {
            return Err("an inline write left the chip file".into());
        }
    }
    Ok(())
}

/// Performs an atomic on the block holding `place` (NoC/Atomics.md) and returns `Result`.
fn atomic(memory: &ChipMemory, place: &Place, at_len_be: u32, data: u32) -> Result<u32, String> {
    let word = (place.file & !0xF) + u64::from(at_len_be & 3) * 4;
    let outside = || "an atomic left the chip file".to_string();
    let update = |f: &dyn Fn(u32) -> u32| memory.fetch_update_u32(word, f).ok_or_else(outside);
    let original = match tile::atomic_opcode(at_len_be) {
        tile::ATOMIC_INCREMENT => {
            let width = at_len_be >> 2 & 0x1F;
            let mask = (2u32 << width).wrapping_sub(1);
            update(&|old: u32| (old.wrapping_add(data) & mask) | (old & !mask))?
        }
        _ => {
            let (compare, set) = (at_len_be >> 2 & 0xF, at_len_be >> 6 & 0xF);
            update(&|old: u32| if old == compare { set } else { old })?
        }
    };
    if word == place.file {
        return Ok(original);
    }
    let mut bytes = [0u8; 4];
    if !memory.read_bytes(place.file, &mut bytes) {
        return Err(outside());
    }
    Ok(u32::from_le_bytes(bytes))
}

/// The address space of one core beyond its L1: its private local data RAM, the tile control
/// registers and the two NIUs (BabyRISCV/README.md); everything else stops the core.
pub(crate) struct Bus {
    chip: Arc<Shared>,
    memory: Arc<ChipMemory>,
    core: NocCoord,
    processor: u8,
    tile: Arc<Mutex<TileState>>,
    /// Local data RAM at `MEM_LOCAL_BASE`, private to this core (4 KiB for B and NC, 2 KiB
    /// for T0-T2). Its contents after reset are not documented; the simulator starts it zeroed.
    local: Vec<u8>,
    /// Whether this core queued a request since the last drain.
    issued: bool,
}

impl Bus {
    /// The bus of `processor` of `core`.
    pub(crate) fn new(
        chip: Arc<Shared>,
        memory: Arc<ChipMemory>,
        core: NocCoord,
        processor: u8,
    ) -> Bus {
        let tile = chip.tiles.get(core);
        let local_bytes = RiscV::from_index(processor).map_or(0, RiscV::local_data_bytes);
        let local = vec![0; local_bytes as usize];
        Bus { chip, memory, core, processor, tile, local, issued: false }
    }

    /// The `width` bytes of local data RAM at `addr`, if they are all inside it.
    fn local_range(&self, addr: u32, width: u32) -> Option<std::ops::Range<usize>> {
        let start = addr.checked_sub(tile::LOCAL_DATA_BASE)? as usize;
        let end = start + width as usize;
        (end <= self.local.len()).then_some(start..end)
    }

    /// File offset of this tile's control page.
    fn control_page(&self) -> Option<u64> {
        self.chip.layout.control_of(self.core)
    }

    fn processor_name(&self) -> String {
        RiscV::from_index(self.processor)
            .map_or_else(|| format!("{}", self.processor), |r| r.name().to_string())
    }

    fn unmodelled(&self, addr: u32, what: &str, width: u32) -> Fault {
        (
            cause::UNMODELLED_REGISTER,
            format!(
                "unmodelled register {addr:#010x} on core {}, processor {} ({width}-byte {what})",
                self.core,
                self.processor_name()
            ),
        )
    }

    fn coprocessor(&self, addr: u32, what: &str) -> Option<Fault> {
        let push = tile::COPROCESSOR_PUSH.contains(&addr);
        (push || tile::COPROCESSOR_WINDOWS.contains(&addr)).then(|| {
            let action = if push { "pushing a Tensix instruction" } else { "an access" };
            (
                cause::COPROCESSOR_NOT_MODELLED,
                format!(
                    "Tensix coprocessor not modelled: {action} ({what} at {addr:#010x}) on core \
                     {}, processor {}",
                    self.core,
                    self.processor_name()
                ),
            )
        })
    }

    /// Which NIU and offset `addr` falls in.
    fn niu_at(addr: u32) -> Option<(usize, u32)> {
        match addr {
            a if (tile::NIU0_BASE..tile::NIU0_BASE + tile::NIU_BYTES).contains(&a) => {
                Some((0, a - tile::NIU0_BASE))
            }
            a if (tile::NIU1_BASE..tile::NIU1_BASE + tile::NIU_BYTES).contains(&a) => {
                Some((1, a - tile::NIU1_BASE))
            }
            _ => None,
        }
    }

    /// A load of `width` bytes at `addr`, outside L1.
    pub(crate) fn load(&mut self, addr: u32, width: u32) -> Result<u32, Fault> {
        if let Some(range) = self.local_range(addr, width) {
            let mut bytes = [0u8; 4];
            bytes[..range.len()].copy_from_slice(&self.local[range]);
            return Ok(u32::from_le_bytes(bytes));
        }
        if let Some(fault) = self.coprocessor(addr, "load") {
            return Err(fault);
        }
        if width == 4 {
            if let Some((index, offset)) = Self::niu_at(addr) {
                // A read of any NIU register first lets the tile's requests happen.
                self.flush()?;
                let tile = self.tile.lock();
                if let Some(value) = tile.niu[index].read(offset, &self.chip, self.core) {
                    return Ok(value);
                }
            }
            let control = addr.wrapping_sub(TILE_CONTROL_BASE);
            if let (true, Some(page)) = (control < TILE_CONTROL_BYTES, self.control_page()) {
                let epoch = self.chip.tiles.epoch;
                let arch = self.chip.soc.arch();
                let read = self.tile.lock().control.read(control, epoch, &self.memory, page, arch);
                if let Some(value) = read {
                    return Ok(value);
                }
            }
        }
        Err(self.unmodelled(addr, "load", width))
    }

    /// A store of the low `width` bytes of `value` at `addr`, outside L1.
    pub(crate) fn store(&mut self, addr: u32, value: u32, width: u32) -> Result<(), Fault> {
        if let Some(range) = self.local_range(addr, width) {
            let len = range.len();
            self.local[range].copy_from_slice(&value.to_le_bytes()[..len]);
            return Ok(());
        }
        if let Some(fault) = self.coprocessor(addr, "store") {
            return Err(fault);
        }
        if width == 4 {
            if let Some((index, offset)) = Self::niu_at(addr) {
                let mut tile = self.tile.lock();
                return match tile.niu[index].write(offset, value, &self.chip, self.core) {
                    Ok(Some(request)) => {
                        tile.pending.push(request);
                        self.issued = true;
                        Ok(())
                    }
                    Ok(None) => Ok(()),
                    Err(Refusal::Register(detail)) => {
                        drop(tile);
                        let (cause, message) = self.unmodelled(addr, "store", width);
                        Err((cause, format!("{message}: {detail}")))
                    }
                    Err(Refusal::Request(detail)) => Err((
                        cause::NOC_ERROR,
                        format!(
                            "NoC #{index} request refused on core {}, processor {}: {detail}",
                            self.core,
                            self.processor_name()
                        ),
                    )),
                };
            }
            let control = addr.wrapping_sub(TILE_CONTROL_BASE);
            if let (true, Some(page)) = (control < TILE_CONTROL_BYTES, self.control_page()) {
                let epoch = self.chip.tiles.epoch;
                let arch = self.chip.soc.arch();
                let mut tile = self.tile.lock();
                match tile.control.write(control, value, epoch, &self.memory, page, arch) {
                    Ok(()) => return Ok(()),
                    Err(Some(detail)) => return Err((cause::UNMODELLED_REGISTER, detail)),
                    Err(None) => {}
                }
            }
        }
        Err(self.unmodelled(addr, "store", width))
    }

    /// Lets the requests this tile queued happen, if this core queued any.
    pub(crate) fn flush(&mut self) -> Result<(), Fault> {
        let queued = self.issued || !self.tile.lock().pending.is_empty();
        if !queued {
            return Ok(());
        }
        self.issued = false;
        drain(&self.chip, &self.memory, self.core).map_err(|detail| {
            (cause::NOC_ERROR, format!("NoC request from core {} failed: {detail}", self.core))
        })
    }

    /// Whether this core queued requests that have not happened yet.
    pub(crate) fn has_issued(&self) -> bool {
        self.issued
    }
}
