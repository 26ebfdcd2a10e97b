//! What a buffer asks for, and how its bytes spread over the banks.

use std::collections::HashSet;
use tt_accounting::{BankType, MemKind};

use tt_soc::NocCoord;

use crate::bank::BankLayout;
use crate::error::AllocError;
use crate::range::Policy;

/// How a buffer's bytes are spread over banks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout<'a> {
    /// `pages` pages of `page_size` bytes (each rounded up to the bank alignment), dealt
    /// round-robin over all banks of the type from bank 0, at the same offset in each bank.
    Interleaved {
        /// Bytes per page before alignment.
        page_size: u64,
        /// Number of pages.
        pages: u64,
    },
    /// One shard of `shard_size` bytes (rounded up to the bank alignment) on each listed
    /// Tensix core, at the same offset on each.
    Sharded {
        /// The cores, in NOC0 coordinates; each at most once.
        cores: &'a [NocCoord],
        /// Bytes per shard before alignment.
        shard_size: u64,
    },
}

/// Everything needed to place one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferRequest<'a> {
    /// Which banks.
    pub bank_type: BankType,
    /// What the bytes are, for accounting; must be one the bank type accepts
    /// ([`BankType::accepts`]).
    pub kind: MemKind,
    /// How the bytes spread over banks.
    pub layout: Layout<'a>,
    /// Where in the banks' address range the buffer goes.
    pub policy: Policy,
    /// Who owns it, shown in block dumps and given to the tracker.
    pub owner: &'a str,
}

/// A layout resolved against the banks: the range every bank reserves and the bytes each
/// bank really holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BankPlan {
    pub(crate) size_per_bank: u64,
    /// Distance between a bank's consecutive pages (the aligned page size); `None` for a
    /// sharded layout, which has no pages.
    pub(crate) page_stride: Option<u64>,
    /// (bank index, payload bytes: what the owner asked for, before alignment), banks
    /// holding nothing left out.
    pub(crate) payload_per_bank: Vec<(u32, u64)>,
}

/// Resolves `layout` for `banks`; `bank_of_core` maps a core to its bank index or to what
/// was found there instead.
pub(crate) fn plan(
    layout: &Layout<'_>,
    banks: &BankLayout,
    bank_of_core: impl Fn(NocCoord) -> Result<u32, AllocError>,
) -> Result<BankPlan, AllocError> {
    let bank_type = banks.bank_type;
    let align_up = |bytes: u64, what| {
        bytes
            .checked_add(banks.alignment - 1)
            .map(|b| b / banks.alignment * banks.alignment)
            .ok_or(AllocError::TooLarge { bank_type, what })
    };
    match *layout {
        Layout::Interleaved { page_size, pages } => {
            if page_size == 0 {
                return Err(AllocError::ZeroPageSize { bank_type });
            }
            if pages == 0 {
                return Err(AllocError::ZeroSize { bank_type });
            }
            let page = align_up(page_size, "the aligned page size")?;
            let count = u64::from(banks.count);
            let pages_per_bank = pages.div_ceil(count);
            let size_per_bank = pages_per_bank
                .checked_mul(page)
                .ok_or(AllocError::TooLarge { bank_type, what: "pages per bank x page size" })?;
            let (whole, extra) = (pages / count, pages % count);
            // Cannot overflow: page_size <= page and the aligned figure fitted above.
            let payload_per_bank = (0..banks.count)
                .map(|bank| (bank, (whole + u64::from(u64::from(bank) < extra)) * page_size))
                .filter(|&(_, bytes)| bytes > 0)
                .collect();
            Ok(BankPlan { size_per_bank, page_stride: Some(page), payload_per_bank })
        }
        Layout::Sharded { cores, shard_size } => {
            if !bank_type.is_per_core() {
                return Err(AllocError::ShardedNotSupported { bank_type });
            }
            if cores.is_empty() {
                return Err(AllocError::NoCores { bank_type });
            }
            if shard_size == 0 {
                return Err(AllocError::ZeroSize { bank_type });
            }
            let size_per_bank = align_up(shard_size, "the aligned shard size")?;
            let mut seen = HashSet::with_capacity(cores.len());
            let mut payload_per_bank = Vec::with_capacity(cores.len());
            for &core in cores {
                if !seen.insert(core) {
                    return Err(AllocError::DuplicateCore { core });
                }
                payload_per_bank.push((bank_of_core(core)?, shard_size));
            }
            Ok(BankPlan { size_per_bank, page_stride: None, payload_per_bank })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tt_soc::ChipUid;

    fn banks(bank_type: BankType, count: u32, alignment: u64) -> BankLayout {
        BankLayout { bank_type, count, range: 0..1 << 20, alignment }
    }

    fn no_cores(core: NocCoord) -> Result<u32, AllocError> {
        Err(AllocError::NotATensixCore { device: ChipUid(0), core, found: "dram" })
    }

    #[test]
    fn interleaved_pages_round_robin_from_bank_zero() {
        let layout = Layout::Interleaved { page_size: 1000, pages: 10 };
        let p = plan(&layout, &banks(BankType::Dram, 4, 32), no_cores).unwrap();
        // 1000 B pages align to 1024; banks 0 and 1 get 3 pages, banks 2 and 3 get 2. Each
        // bank reserves 3 aligned pages; the payload is what was asked for.
        assert_eq!(p.size_per_bank, 3 * 1024);
        assert_eq!(p.payload_per_bank, vec![(0, 3000), (1, 3000), (2, 2000), (3, 2000)]);
    }

    #[test]
    fn banks_without_pages_hold_nothing() {
        let layout = Layout::Interleaved { page_size: 64, pages: 2 };
        let p = plan(&layout, &banks(BankType::L1, 80, 16), no_cores).unwrap();
        assert_eq!(p.size_per_bank, 64);
        assert_eq!(p.payload_per_bank, vec![(0, 64), (1, 64)]);
    }

    #[test]
    fn sharded_places_one_aligned_shard_per_listed_core() {
        let cores = [NocCoord::new(1, 1), NocCoord::new(2, 1)];
        let layout = Layout::Sharded { cores: &cores, shard_size: 100 };
        let p = plan(&layout, &banks(BankType::L1, 80, 16), |c| Ok(u32::from(c.x) * 10)).unwrap();
        assert_eq!(p.size_per_bank, 112);
        assert_eq!(p.payload_per_bank, vec![(10, 100), (20, 100)]);
    }

    #[test]
    fn bad_layouts_are_refused() {
        let l1 = banks(BankType::L1, 80, 16);
        let core = NocCoord::new(1, 1);
        let cases = [
            (
                Layout::Interleaved { page_size: 0, pages: 1 },
                AllocError::ZeroPageSize { bank_type: BankType::L1 },
            ),
            (
                Layout::Interleaved { page_size: 1, pages: 0 },
                AllocError::ZeroSize { bank_type: BankType::L1 },
            ),
            (
                Layout::Interleaved { page_size: u64::MAX, pages: 1 },
                AllocError::TooLarge { bank_type: BankType::L1, what: "the aligned page size" },
            ),
            (
                Layout::Interleaved { page_size: 1 << 40, pages: 1 << 40 },
                AllocError::TooLarge {
                    bank_type: BankType::L1,
                    what: "pages per bank x page size",
                },
            ),
            (
                Layout::Sharded { cores: &[], shard_size: 16 },
                AllocError::NoCores { bank_type: BankType::L1 },
            ),
            (
                Layout::Sharded { cores: &[core], shard_size: 0 },
                AllocError::ZeroSize { bank_type: BankType::L1 },
            ),
            (
                Layout::Sharded { cores: &[core, core], shard_size: 16 },
                AllocError::DuplicateCore { core },
            ),
        ];
        for (layout, expected) in cases {
            assert_eq!(plan(&layout, &l1, |_| Ok(0)), Err(expected));
        }
        let dram = banks(BankType::Dram, 12, 32);
        let sharded = Layout::Sharded { cores: &[core], shard_size: 16 };
        assert_eq!(
            plan(&sharded, &dram, |_| Ok(0)),
            Err(AllocError::ShardedNotSupported { bank_type: BankType::Dram })
        );
        assert!(matches!(plan(&sharded, &l1, no_cores), Err(AllocError::NotATensixCore { .. })));
    }
}
