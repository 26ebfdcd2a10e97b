//! One NoC interface unit (NIU) of a tile as its cores see it: four request initiators, the
//! counters, `NOC_NODE_ID`, the clear-counters register and the configuration words.
//!
//! Offsets and bit fields come from `tt_soc::tile`, which cites Tenstorrent's documentation
//! for each. A store of 1 to `NOC_CMD_CTRL` checks the request and turns it into a
//! [`Request`], moving the counters that NoC/Counters.md moves "as software writes to
//! `NOC_CMD_CTRL`"; everything else happens when the tile drains its queue (`tile.rs`), which
//! is after the store, never inside it. What the documentation leaves open (non-posted
//! broadcasts, overlay delivery, coordinate translation, other atomics) is refused with a
//! message, never approximated.

use tt_soc::tile::{
    self, counter, CoordinateEncoding, NiuLayout, NocCtrl, RequestType, INITIATORS,
    PACKET_TAG_DELIVER_TO_OVERLAY, PACKET_TAG_HEADER_STORE,
};
use tt_soc::{CoreKind, NocCoord};

use crate::chip::Shared;

/// The fields of one request initiator, as last written.
#[derive(Debug, Default, Clone, Copy)]
struct Initiator {
    targ_lo: u32,
    targ_mid: u32,
    targ_hi: u32,
    ret_lo: u32,
    ret_mid: u32,
    ret_hi: u32,
    packet_tag: u32,
    ctrl: u32,
    at_len_be: u32,
    at_data: u32,
}

/// A register of the NIU, decoded from an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Register {
    Field(usize, Field),
    NodeId,
    ClearOutstanding,
    CombinedStatus,
    Config(usize),
    Counter(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    TargLo,
    TargMid,
    TargHi,
    RetLo,
    RetMid,
    RetHi,
    PacketTag,
    Ctrl,
    AtLenBe,
    AtData,
    CmdCtrl,
}

/// A memory location a request touches, resolved to the chip file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    /// The tile (NoC0 coordinates).
    pub(crate) core: NocCoord,
    /// The address in that tile's memory.
    pub(crate) addr: u64,
    /// Offset of that byte in the chip file.
    pub(crate) file: u64,
}

/// What a request does once it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// Copy `len` bytes from `from` to `to`.
    Read { from: Place, to: Place, len: u32 },
    /// Copy `len` bytes of the initiator's L1 to every place in `to`.
    Write { from: Place, to: Vec<Place>, len: u32 },
    /// Copy the bytes of a 32-byte block whose bit is set in `mask`.
    WriteMasked { from: Place, to: Vec<Place>, mask: u32 },
    /// Write byte `i & 3` of `data` to byte `i` of a 16-byte block when bit `i` or `16 + i`
    /// of `enables` is set.
    Inline { to: Vec<Place>, data: u32, enables: u32 },
    /// An atomic on one word of each place, optionally returning the old value to `ret`.
    Atomic { to: Vec<Place>, at_len_be: u32, data: u32, ret: Option<Place> },
}

/// A request accepted by an initiator and not yet carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// The issuing tile.
    pub(crate) core: NocCoord,
    /// Which NoC (0 or 1).
    pub(crate) noc: u8,
    /// `NOC_PACKET_TRANSACTION_ID`.
    pub(crate) id: u32,
    /// Whether no acknowledgement comes back (`NOC_CMD_RESP_MARKED` clear).
    pub(crate) posted: bool,
    /// Packets the request is split into (8 KiB each on Wormhole).
    pub(crate) packets: u32,
    /// Data flits over all packets.
    pub(crate) flits: u32,
    /// The work.
    pub(crate) op: Op,
}

/// Why a store to the NIU was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The register is not modelled, read-only, or holds a value with unmodelled effects.
    Register(String),
    /// `NOC_CMD_CTRL` started a request the simulator does not carry out.
    Request(String),
}

/// One NIU's registers.
#[derive(Debug, Clone)]
pub(crate) struct Niu {
    noc: u8,
    layout: &'static NiuLayout,
    initiators: [Initiator; INITIATORS as usize],
    counters: [u32; counter::COUNT as usize],
    config: Vec<u32>,
}

/// Whether counter `index` is one of the 8-bit transaction-id counters (Counters.md).
fn is_eight_bit(index: u32) -> bool {
    (counter::mst_reqs_outstanding(0)..counter::mst_write_reqs_outgoing(16)).contains(&index)
}

impl Niu {
    /// NIU `noc` of a tile, with every register zero.
    pub(crate) fn new(noc: u8, layout: &'static NiuLayout) -> Niu {
        Niu {
            noc,
            layout,
            initiators: [Initiator::default(); INITIATORS as usize],
            counters: [0; counter::COUNT as usize],
            config: vec![0; layout.config_words as usize],
        }
    }

    fn decode(&self, offset: u32) -> Option<Register> {
        let l = self.layout;
        if offset % 4 != 0 {
            return None;
        }
        if offset >= l.counters && offset < l.counters + 4 * counter::COUNT {
            return Some(Register::Counter((offset - l.counters) / 4));
        }
        if offset >= l.config && offset < l.config + 4 * l.config_words {
            return Some(Register::Config(((offset - l.config) / 4) as usize));
        }
        if offset == l.clear_outstanding {
            return Some(Register::ClearOutstanding);
        }
        if Some(offset) == l.combined_status {
            return Some(Register::CombinedStatus);
        }
        let index = offset / l.initiator_stride;
        if index >= INITIATORS {
            return None;
        }
        let within = offset % l.initiator_stride;
        let field = match within {
            w if w == l.targ_addr_lo => Field::TargLo,
            w if w == l.targ_addr_mid => Field::TargMid,
            w if Some(w) == l.targ_addr_hi => Field::TargHi,
            w if w == l.ret_addr_lo => Field::RetLo,
            w if w == l.ret_addr_mid => Field::RetMid,
            w if Some(w) == l.ret_addr_hi => Field::RetHi,
            w if w == l.packet_tag => Field::PacketTag,
            w if w == l.ctrl => Field::Ctrl,
            w if w == l.at_len_be => Field::AtLenBe,
            w if w == l.at_data => Field::AtData,
            w if w == l.cmd_ctrl => Field::CmdCtrl,
            // The identification registers repeat after every initiator (MemoryMap.md).
            w if w == l.node_id => return Some(Register::NodeId),
            _ => return None,
        };
        Some(Register::Field(index as usize, field))
    }

    /// The value of the register at `offset`, or `None` when the simulator does not model it.
    pub(crate) fn read(&self, offset: u32, chip: &Shared, core: NocCoord) -> Option<u32> {
        Some(match self.decode(offset)? {
            Register::Field(i, field) => {
                let r = &self.initiators[i];
                match field {
                    Field::TargLo => r.targ_lo,
                    Field::TargMid => r.targ_mid,
                    Field::TargHi => r.targ_hi,
                    Field::RetLo => r.ret_lo,
                    Field::RetMid => r.ret_mid,
                    Field::RetHi => r.ret_hi,
                    Field::PacketTag => r.packet_tag & 0xFFFF,
                    Field::Ctrl => r.ctrl,
                    Field::AtLenBe => r.at_len_be,
                    Field::AtData => r.at_data,
                    // Requests are accepted as the store happens, so the bit is back to 0.
                    Field::CmdCtrl => 0,
                }
            }
            Register::NodeId => {
                let (width, height) = chip.soc.grid_size();
                let own = self.to_own_space(core, (width, height));
                tile::node_id(self.noc, own.x, own.y, width, height)
            }
            Register::CombinedStatus => 0,
            Register::Config(i) => self.config[i],
            Register::Counter(i) => {
                let value = self.counters[i as usize];
                if is_eight_bit(i) {
                    value & 0xFF
                } else {
                    value
                }
            }
            Register::ClearOutstanding => return None,
        })
    }

    /// Stores `value` at `offset`. `Ok(Some(request))` when the store started a request;
    /// `Err` says why the store is refused.
    pub(crate) fn write(
        &mut self,
        offset: u32,
        value: u32,
        chip: &Shared,
        core: NocCoord,
    ) -> Result<Option<Request>, Refusal> {
        let Some(register) = self.decode(offset) else {
            return Err(Refusal::Register("not an NIU register the simulator models".into()));
        };
        match register {
            Register::Field(i, field) => {
                let r = &mut self.initiators[i];
                match field {
                    Field::TargLo => r.targ_lo = value,
                    Field::TargMid => r.targ_mid = value,
                    Field::TargHi => r.targ_hi = value,
                    Field::RetLo => r.ret_lo = value,
                    Field::RetMid => r.ret_mid = value,
                    Field::RetHi => r.ret_hi = value,
                    Field::PacketTag => r.packet_tag = value,
                    Field::Ctrl => r.ctrl = value,
                    Field::AtLenBe => r.at_len_be = value,
                    Field::AtData => r.at_data = value,
                    Field::CmdCtrl if value & 1 == 0 => {}
                    Field::CmdCtrl => {
                        let initiator = *r;
                        let request =
                            self.issue(&initiator, chip, core).map_err(Refusal::Request)?;
                        return Ok(Some(request));
                    }
                }
            }
            Register::ClearOutstanding => {
                for id in 0..16 {
                    if value & (1 << id) != 0 {
                        self.counters[counter::mst_reqs_outstanding(id) as usize] = 0;
                    }
                }
            }
            Register::Config(0) if value & (tile::NIU_CFG_0_TRANSLATE | 1 << 12) != 0 => {
                return Err(Refusal::Register(format!(
                    "NIU_CFG_0 value {value:#x} enables coordinate translation or disables the \
                     tile clock, which the simulator does not model"
                )));
            }
            Register::Config(i) => self.config[i] = value,
            Register::NodeId | Register::CombinedStatus | Register::Counter(_) => {
                return Err(Refusal::Register("the register is read-only".into()));
            }
        }
        Ok(None)
    }

    /// Counter `index`.
    #[cfg(test)]
    pub(crate) fn counter(&self, index: u32) -> u32 {
        self.counters[index as usize]
    }

    /// Adds `delta` (which may be negative) to counter `index`, wrapping as the hardware does.
    pub(crate) fn bump(&mut self, index: u32, delta: i64) {
        let slot = &mut self.counters[index as usize];
        *slot = slot.wrapping_add(delta as u32);
        if is_eight_bit(index) {
            *slot &= 0xFF;
        }
    }

    /// A NoC0 coordinate in this NIU's coordinate space: NoC #1 counts from the bottom right
    /// (NoC/Coordinates.md).
    fn to_own_space(&self, core: NocCoord, (width, height): (u16, u16)) -> NocCoord {
        if self.noc == 0 {
            core
        } else {
            NocCoord::new(width - 1 - core.x, height - 1 - core.y)
        }
    }

    fn to_noc0(&self, x: u32, y: u32, (width, height): (u16, u16)) -> Result<NocCoord, String> {
        let (w, h) = (u32::from(width), u32::from(height));
        if x >= w || y >= h {
            return Err(format!(
                "NoC #{} coordinates ({x}, {y}) are outside the {w}x{h} grid",
                self.noc
            ));
        }
        // Both fit in u16: they are below the grid size.
        let (x, y) = if self.noc == 0 { (x, y) } else { (w - 1 - x, h - 1 - y) };
        Ok(NocCoord::new(x as u16, y as u16))
    }

    /// (address, x, y, start x, start y) of a LO/MID/HI triple.
    fn split(&self, lo: u32, mid: u32, hi: u32) -> (u64, u32, u32, u32, u32) {
        match self.layout.coordinates {
            CoordinateEncoding::InMid => (
                u64::from(lo) | u64::from(mid & 0xF) << 32,
                mid >> 4 & 0x3F,
                mid >> 10 & 0x3F,
                mid >> 16 & 0x3F,
                mid >> 22 & 0x3F,
            ),
            CoordinateEncoding::InHi => (
                u64::from(lo) | u64::from(mid) << 32,
                hi & 0x3F,
                hi >> 6 & 0x3F,
                hi >> 12 & 0x3F,
                hi >> 18 & 0x3F,
            ),
        }
    }

    fn issue(&mut self, r: &Initiator, chip: &Shared, core: NocCoord) -> Result<Request, String> {
        let ctrl = NocCtrl::from_bits_retain(r.ctrl);
        let grid = chip.soc.grid_size();
        let broadcast = ctrl.contains(NocCtrl::BRCST_PACKET);
        let posted = !ctrl.contains(NocCtrl::RESP_MARKED);
        if r.packet_tag & (PACKET_TAG_DELIVER_TO_OVERLAY | PACKET_TAG_HEADER_STORE) != 0 {
            return Err(format!(
                "NOC_PACKET_TAG {:#x} asks for overlay delivery or a header store, which the \
                 simulator does not model",
                r.packet_tag
            ));
        }
        let id = tile::packet_tag_transaction_id(r.packet_tag);
        let (targ_addr, tx, ty, tsx, tsy) = self.split(r.targ_lo, r.targ_mid, r.targ_hi);
        let (ret_addr, rx, ry, rsx, rsy) = self.split(r.ret_lo, r.ret_mid, r.ret_hi);
        let receivers = |addr: u64, x: u32, y: u32, sx: u32, sy: u32, len: u64| {
            if broadcast {
                self.rectangle(chip, core, ctrl, (sx, sy), (x, y), addr, len)
            } else {
                Ok(vec![resolve(chip, self.to_noc0(x, y, grid)?, addr, len)?])
            }
        };
        let max = u64::from(self.layout.max_packet_bytes);
        let packets_of = |len: u64| len.div_ceil(max).max(1) as u32;
        let flits_of = |len: u64| {
            let full = len / max;
            let flit = u64::from(self.layout.flit_bytes);
            (full * (max / flit) + (len % max).div_ceil(flit)) as u32
        };
        let check_split = |len: u64| {
            if len > max && (r.targ_lo % 16 != 0 || r.ret_lo % 16 != 0) {
                return Err(format!(
                    "a {len}-byte request is split into {max}-byte packets, which needs 16-byte \
                     aligned NOC_TARG_ADDR_LO {:#x} and NOC_RET_ADDR_LO {:#x}",
                    r.targ_lo, r.ret_lo
                ));
            }
            Ok(())
        };
        if broadcast && !posted {
            return Err("a non-posted broadcast (NOC_CMD_RESP_MARKED with \
                        NOC_CMD_BRCST_PACKET): its acknowledgements are not documented, so the \
                        simulator does not model them"
                .into());
        }
        let (op, packets, flits) = match ctrl.request_type() {
            RequestType::Reserved => return Err("request type 3 is reserved".into()),
            RequestType::Read => {
                if broadcast {
                    return Err("a read request cannot be a broadcast".into());
                }
                let len = u64::from(r.at_len_be);
                check_split(len)?;
                let from = resolve(chip, self.to_noc0(tx, ty, grid)?, targ_addr, len)?;
                let to = resolve(chip, self.to_noc0(rx, ry, grid)?, ret_addr, len)?;
                let packets = packets_of(len);
                self.bump(counter::mst_reqs_outstanding(id), i64::from(packets));
                (Op::Read { from, to, len: r.at_len_be }, packets, flits_of(len))
            }
            RequestType::Write if ctrl.contains(NocCtrl::WR_INLINE) => {
                let to = receivers(targ_addr & !0xF, tx, ty, tsx, tsy, 16)?;
                only_l1(chip, &to, "an inline write")?;
                if !posted {
                    self.bump(counter::mst_reqs_outstanding(id), 1);
                }
                (Op::Inline { to, data: r.at_data, enables: r.at_len_be }, 1, 1)
            }
            RequestType::Write => {
                let (op, len, packets) = if ctrl.contains(NocCtrl::WR_BE) {
                    let from = resolve(chip, core, targ_addr & !0xF, 32)?;
                    let to = receivers(ret_addr & !0xF, rx, ry, rsx, rsy, 32)?;
                    only_l1(chip, &to, "a byte-enable write")?;
                    (Op::WriteMasked { from, to, mask: r.at_len_be }, 32, 1)
                } else {
                    let len = u64::from(r.at_len_be);
                    check_split(len)?;
                    let from = resolve(chip, core, targ_addr, len)?;
                    let to = receivers(ret_addr, rx, ry, rsx, rsy, len)?;
                    (Op::Write { from, to, len: r.at_len_be }, len, packets_of(len))
                };
                if !posted {
                    self.bump(counter::mst_reqs_outstanding(id), i64::from(packets));
                }
                self.bump(counter::mst_write_reqs_outgoing(id), i64::from(packets));
                (op, packets, flits_of(len))
            }
            RequestType::Atomic => {
                let opcode = tile::atomic_opcode(r.at_len_be);
                if opcode != tile::ATOMIC_INCREMENT && opcode != tile::ATOMIC_COMPARE_AND_SWAP {
                    return Err(format!(
                        "atomic opcode {opcode} in NOC_AT_LEN_BE {:#x}: the simulator models \
                         increment ({}) and compare-and-swap ({})",
                        r.at_len_be,
                        tile::ATOMIC_INCREMENT,
                        tile::ATOMIC_COMPARE_AND_SWAP
                    ));
                }
                if targ_addr % 4 != 0 {
                    return Err(format!("atomic on unaligned address {targ_addr:#x}"));
                }
                let blocks = receivers(targ_addr & !0xF, tx, ty, tsx, tsy, 16)?;
                only_l1(chip, &blocks, "an atomic")?;
                let ret = if posted {
                    None
                } else {
                    if ret_addr % 4 != 0 {
                        return Err(format!("atomic result to unaligned address {ret_addr:#x}"));
                    }
                    let ret = resolve(chip, self.to_noc0(rx, ry, grid)?, ret_addr, 4)?;
                    only_l1(chip, &[ret], "an atomic's result")?;
                    self.bump(counter::mst_reqs_outstanding(id), 1);
                    Some(ret)
                };
                // Keep the word address within each 16-byte block: the result is read there.
                let word = targ_addr & 0xC;
                let to = blocks
                    .into_iter()
                    .map(|p| Place { addr: p.addr + word, file: p.file + word, ..p })
                    .collect();
                (Op::Atomic { to, at_len_be: r.at_len_be, data: r.at_data, ret }, 1, 1)
            }
        };
        Ok(Request { core, noc: self.noc, id, posted, packets, flits, op })
    }

    /// The Tensix tiles of a broadcast rectangle from `start` to `end` in this NIU's space,
    /// with the wrap-around spans of NoC/MemoryMap.md; the initiator only with
    /// `NOC_CMD_BRCST_SRC_INCLUDE`.
    #[allow(clippy::too_many_arguments)]
    fn rectangle(
        &self,
        chip: &Shared,
        core: NocCoord,
        ctrl: NocCtrl,
        start: (u32, u32),
        end: (u32, u32),
        addr: u64,
        len: u64,
    ) -> Result<Vec<Place>, String> {
        let grid = chip.soc.grid_size();
        let within =
            |v: u32, s: u32, e: u32| if s <= e { s <= v && v <= e } else { v <= e || s <= v };
        let mut places = Vec::new();
        for y in 0..u32::from(grid.1) {
            for x in 0..u32::from(grid.0) {
                if !within(x, start.0, end.0) || !within(y, start.1, end.1) {
                    continue;
                }
                let target = self.to_noc0(x, y, grid)?;
                // Only Tensix tiles take broadcasts; harvested ones are opted out (MemoryMap.md).
                if chip.soc.kind_at(target) != Some(CoreKind::Tensix) {
                    continue;
                }
                if target == core && !ctrl.contains(NocCtrl::BRCST_SRC_INCLUDE) {
                    continue;
                }
                places.push(resolve(chip, target, addr, len)?);
            }
        }
        Ok(places)
    }
}

/// `len` bytes at `addr` of `core`'s memory (L1 or a DRAM channel), or why not.
fn resolve(chip: &Shared, core: NocCoord, addr: u64, len: u64) -> Result<Place, String> {
    let kind = chip.soc.kind_at(core);
    let memory = match kind {
        Some(CoreKind::Tensix | CoreKind::Ethernet | CoreKind::Dram) => chip.layout.memory_of(core),
        _ => None,
    };
    let Some((offset, size)) = memory else {
        let kind = kind.map_or("unknown", CoreKind::name);
        return Err(format!("NoC request to {core}, a {kind} tile the simulator gives no memory"));
    };
    match addr.checked_add(len) {
        Some(end) if end <= size => Ok(Place { core, addr, file: offset + addr }),
        _ => Err(format!(
            "NoC request to {len:#x} bytes at {addr:#x} of {core}: past its {size:#x}-byte memory \
             (MMIO addresses on other tiles are not modelled)"
        )),
    }
}

fn only_l1(chip: &Shared, places: &[Place], what: &str) -> Result<(), String> {
    for p in places {
        if chip.soc.kind_at(p.core) == Some(CoreKind::Dram) {
            return Err(format!(
                "{what} to DRAM tile {}: documented for L1 only (NoC/Atomics.md, MemoryMap.md)",
                p.core
            ));
        }
    }
    Ok(())
}
