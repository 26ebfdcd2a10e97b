//! Memory kinds, bank types and bank classes: what a byte is, which pool it came from, and
//! which array of banks or cores a span's index counts in.

use std::fmt;

use serde::Serialize;

/// Disjoint kinds of chip memory; every byte the runtime accounts for is in exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum MemKind {
    /// DRAM buffers.
    Dram = 0,
    /// L1 buffers from the allocatable region.
    L1 = 1,
    /// Buffers from the L1_SMALL region.
    L1Small = 2,
    /// Trace buffers in the DRAM TRACE region.
    Trace = 3,
    /// Circular buffers in L1.
    Cb = 4,
    /// Application kernel binaries (and their launch blocks and args) resident in L1.
    Kernel = 5,
    /// Persistent dispatch/fabric kernels and firmware placed at device open.
    System = 6,
    /// The fixed reserved L1 area (mailboxes, firmware text).
    Reserved = 7,
}

impl MemKind {
    /// Every kind, in ledger order.
    pub const ALL: [MemKind; 8] = [
        MemKind::Dram,
        MemKind::L1,
        MemKind::L1Small,
        MemKind::Trace,
        MemKind::Cb,
        MemKind::Kernel,
        MemKind::System,
        MemKind::Reserved,
    ];
    /// Number of kinds.
    pub const COUNT: usize = 8;

    /// Position in [`MemKind::ALL`] (and in every per-kind array of the ledger).
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The kind at `index` of [`MemKind::ALL`], if any.
    #[inline]
    pub fn from_index(index: usize) -> Option<MemKind> {
        MemKind::ALL.get(index).copied()
    }

    /// The snake-case name used in JSON and metrics (`dram`, `l1_small`, ...).
    #[inline]
    pub fn name(self) -> &'static str {
        match self {
            MemKind::Dram => "dram",
            MemKind::L1 => "l1",
            MemKind::L1Small => "l1_small",
            MemKind::Trace => "trace",
            MemKind::Cb => "cb",
            MemKind::Kernel => "kernel",
            MemKind::System => "system",
            MemKind::Reserved => "reserved",
        }
    }

    /// True for kinds whose bytes live in L1 (counted per core).
    #[inline]
    pub fn is_l1(self) -> bool {
        !matches!(self, MemKind::Dram | MemKind::Trace)
    }

    /// True for the kinds a device session places for itself (SYSTEM, RESERVED): the
    /// baseline a device returns to, left out of leak listings unless asked for.
    #[inline]
    pub fn is_baseline(self) -> bool {
        matches!(self, MemKind::System | MemKind::Reserved)
    }
}

impl fmt::Display for MemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which array of banks a [`BankSpan`](crate::BankSpan)'s `bank` indexes: DRAM banks, the
/// chip's usable Tensix cores, or its Ethernet cores, each numbered from 0 in the SoC
/// descriptor's order. Ethernet L1 is not part of the Tensix L1 capacity, so the two are
/// never summed together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum BankClass {
    /// DRAM banks.
    Dram = 0,
    /// Usable (unharvested) Tensix cores' L1.
    Tensix = 1,
    /// Ethernet cores' L1.
    Ethernet = 2,
}

impl BankClass {
    /// Every class, in ledger order.
    pub const ALL: [BankClass; 3] = [BankClass::Dram, BankClass::Tensix, BankClass::Ethernet];

    /// The class at `index`, if any.
    #[inline]
    pub fn from_index(index: usize) -> Option<BankClass> {
        BankClass::ALL.get(index).copied()
    }

    /// The snake-case name used in messages and JSON.
    #[inline]
    pub fn name(self) -> &'static str {
        match self {
            BankClass::Dram => "dram",
            BankClass::Tensix => "tensix",
            BankClass::Ethernet => "ethernet",
        }
    }
}

/// A kind of bank, as tt-metal users know them. Every bank of one type shares one address
/// range: an interleaved buffer takes the same offset in every bank, a sharded one the same
/// offset on each of its cores (and that range is gone from every core of the type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BankType {
    /// One bank per DRAM bank of the SoC descriptor, below the TRACE region.
    Dram,
    /// One bank per usable Tensix core: the L1 map's allocatable region below L1_SMALL.
    L1,
    /// The top `l1_small_size` bytes of each Tensix core's allocatable region.
    L1Small,
    /// The top `trace_size` bytes of each DRAM bank.
    Trace,
    /// The kernel region of each Tensix core's L1 map, for kernel binaries and runtime
    /// arguments (kinds KERNEL and SYSTEM).
    KernelRegion,
}

impl BankType {
    /// Every bank type.
    pub const ALL: [BankType; 5] =
        [BankType::Dram, BankType::L1, BankType::L1Small, BankType::Trace, BankType::KernelRegion];
    /// Number of bank types.
    pub const COUNT: usize = 5;

    /// Position in [`BankType::ALL`].
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The bank type at `index` of [`BankType::ALL`], if any.
    #[inline]
    pub fn from_index(index: usize) -> Option<BankType> {
        BankType::ALL.get(index).copied()
    }

    /// The snake-case name used in messages and JSON.
    #[inline]
    pub fn name(self) -> &'static str {
        match self {
            BankType::Dram => "dram",
            BankType::L1 => "l1",
            BankType::L1Small => "l1_small",
            BankType::Trace => "trace",
            BankType::KernelRegion => "kernel_region",
        }
    }

    /// True for bank types whose banks are Tensix cores (and so take sharded layouts).
    #[inline]
    pub fn is_per_core(self) -> bool {
        matches!(self, BankType::L1 | BankType::L1Small | BankType::KernelRegion)
    }

    /// The class of banks this type's bank indices count in.
    #[inline]
    pub fn class(self) -> BankClass {
        if self.is_per_core() {
            BankClass::Tensix
        } else {
            BankClass::Dram
        }
    }

    /// Whether bytes of `kind` may be placed in this bank type.
    #[inline]
    pub fn accepts(self, kind: MemKind) -> bool {
        matches!(
            (self, kind),
            (BankType::Dram, MemKind::Dram)
                | (BankType::L1, MemKind::L1 | MemKind::Cb)
                | (BankType::L1Small, MemKind::L1Small)
                | (BankType::Trace, MemKind::Trace)
                | (BankType::KernelRegion, MemKind::Kernel | MemKind::System)
        )
    }

    /// The kinds this bank type accepts, for messages.
    pub fn accepted_kinds(self) -> &'static str {
        match self {
            BankType::Dram => "`dram`",
            BankType::L1 => "`l1` and `cb`",
            BankType::L1Small => "`l1_small`",
            BankType::Trace => "`trace`",
            BankType::KernelRegion => "`kernel` and `system`",
        }
    }
}

impl fmt::Display for BankType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_indexed_in_order_with_stable_names() {
        for (i, k) in MemKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
            assert_eq!(MemKind::from_index(i), Some(*k));
        }
        assert_eq!(MemKind::from_index(8), None);
        let names: Vec<_> = MemKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            ["dram", "l1", "l1_small", "trace", "cb", "kernel", "system", "reserved"]
        );
        assert!(MemKind::Cb.is_l1() && !MemKind::Trace.is_l1());
        let baseline: Vec<_> = MemKind::ALL.iter().filter(|k| k.is_baseline()).collect();
        assert_eq!(baseline, [&MemKind::System, &MemKind::Reserved]);
    }

    #[test]
    fn bank_types_accept_only_their_kinds_and_name_their_class() {
        let accepted: Vec<Vec<MemKind>> = BankType::ALL
            .iter()
            .map(|t| MemKind::ALL.iter().copied().filter(|k| t.accepts(*k)).collect())
            .collect();
        assert_eq!(
            accepted,
            vec![
                vec![MemKind::Dram],
                vec![MemKind::L1, MemKind::Cb],
                vec![MemKind::L1Small],
                vec![MemKind::Trace],
                vec![MemKind::Kernel, MemKind::System],
            ]
        );
        let names: Vec<_> = BankType::ALL.iter().map(|t| t.to_string()).collect();
        assert_eq!(names, ["dram", "l1", "l1_small", "trace", "kernel_region"]);
        let classes: Vec<_> = BankType::ALL.iter().map(|t| t.class()).collect();
        assert_eq!(
            classes,
            [
                BankClass::Dram,
                BankClass::Tensix,
                BankClass::Tensix,
                BankClass::Dram,
                BankClass::Tensix
            ]
        );
        assert!(BankType::L1Small.is_per_core() && !BankType::Trace.is_per_core());
        assert_eq!(BankType::from_index(4), Some(BankType::KernelRegion));
        assert_eq!(BankClass::from_index(2).map(BankClass::name), Some("ethernet"));
    }
}
