//! The free blocks of a range in four address bands, each with its own size index: a best
//! fit looks in the lowest band that has a block that fits before the next one up, unless
//! a block further on fits tightly where the lowest band's does not.
//!
//! Plain best fit spreads long-lived blocks over the whole range, so that a large request
//! later finds no hole big enough; first fit packs everything low and leaves the top free,
//! but cuts up large holes for small requests. Best fit within the lowest band that can
//! serve a request does both, but inherits first fit's trap across bands: a loose fit low
//! is cut while an exact hole higher up waits (holes of 3u and 2u low and 1u higher: u
//! goes in the 2u hole, 2u in the 3u hole, and the next 2u finds only 1u holes). So a
//! loose fit in the lowest band gives way to the smallest block anywhere when that one
//! fits tightly ([`TIGHT_SHIFT`]). On the allocator benchmark's pressure traces (L1, DRAM
//! and model memory, 8 seeds each) this fails fewer bytes than both an exact best fit and
//! a first fit; `cargo bench --bench allocator` prints the figures. The band count was
//! chosen by replaying the L1 and DRAM traces with 2, 3, 4, 6 and 8 bands: fewer bands
//! drift back to best fit's DRAM failures, more to first fit's L1 failures.

use super::node::Node;
use super::size_index::SizeIndex;

/// Bands the range is cut into.
pub(super) const BANDS: usize = 4;

/// A fit is tight when it leaves at most `size >> TIGHT_SHIFT` bytes of its block over: a
/// quarter of the request. Replaying the benchmark's three pressure traces with an eighth,
/// a sixteenth and a thirty-second moved the L1 and DRAM failures by a few percent either
/// way, but a quarter kept the model-memory trace clearly below best fit's failures.
pub(super) const TIGHT_SHIFT: u32 = 2;

/// One size index per address band, and how to tell a block's band from its address.
#[derive(Debug, Clone)]
pub(super) struct BandedIndex {
    bands: [SizeIndex; BANDS],
    base: u64,
    /// `BANDS * 2^64 / size`: a block's band is its offset times this, over 2^64, so that
    /// filing a block costs a multiply rather than a division or three comparisons.
    scale: u64,
}

/// The `scale` of a range of `size` bytes (saturating for ranges too small to cut).
fn scale_of(size: u64) -> u64 {
    let scale = ((BANDS as u128) << 64) / u128::from(size.max(1));
    u64::try_from(scale).unwrap_or(u64::MAX)
}

/// The band of the block at `offset` bytes into a range of `scale` ([`scale_of`]): four
/// bands of (within a byte) equal width, the last one also holding the range's remainder.
#[inline(always)]
fn band_at(offset: u64, scale: u64) -> usize {
    let band = ((u128::from(offset) * u128::from(scale)) >> 64) as usize;
    band.min(BANDS - 1)
}

/// The band of the block at `addr` in the range `[base, base + size)`, as the index files
/// it (for tests that check the policy independently).
#[cfg(test)]
pub(super) fn band_of(base: u64, size: u64, addr: u64) -> usize {
    band_at(addr - base, scale_of(size))
}

impl BandedIndex {
    pub(super) fn new(base: u64, size: u64) -> Self {
        let bands = std::array::from_fn(|_| SizeIndex::new());
        Self { bands, base, scale: scale_of(size) }
    }

    /// The band a free block starting at `addr` is filed in.
    #[inline(always)]
    fn band_of(&self, addr: u64) -> usize {
        band_at(addr - self.base, self.scale)
    }

    /// Files free node `index` (whose size and address are already set).
    #[inline(always)]
    pub(super) fn insert(&mut self, nodes: &mut [Node], index: u32, align_shift: u32) {
        let band = self.band_of(nodes[index as usize].addr);
        self.bands[band].insert(nodes, index, align_shift);
    }

    /// Takes free node `index` out of the index; its size and address must be the ones it
    /// was filed with.
    #[inline(always)]
    pub(super) fn remove(&mut self, nodes: &mut [Node], index: u32, align_shift: u32) {
        let band = self.band_of(nodes[index as usize].addr);
        self.bands[band].remove(nodes, index, align_shift);
    }

    /// The free block `size` bytes (a multiple of the alignment) go in, placed at its start
    /// (its end when `top_down`): the best fit ([`SizeIndex::best_fit`]) among the blocks of
    /// the lowest band that has one that fits (the highest band when `top_down`), unless
    /// that leaves more than [`TIGHT_SHIFT`]'s share of the request over and a block in a
    /// band further on would not: then the smallest block that fits anywhere (the first
    /// such band in search order).
    #[inline]
    pub(super) fn best_fit(
        &self,
        nodes: &[Node],
        size: u64,
        top_down: bool,
        align_shift: u32,
    ) -> Option<u32> {
        let units = size >> align_shift;
        let band_at = |step: usize| if top_down { BANDS - 1 - step } else { step };
        let (step, first) = (0..BANDS).find_map(|step| {
            let found = self.bands[band_at(step)].best_fit(nodes, size, units, top_down)?;
            Some((step, found))
        })?;
        let slack = size >> TIGHT_SHIFT;
        let leftover = |index: u32| nodes[index as usize].size - size;
        if leftover(first) <= slack {
            return Some(first);
        }
        // The lowest band's best fit leaves a fragment behind. A block elsewhere that fits
        // (nearly) exactly is worth the trip: the request takes it whole and the larger
        // block stays for a request that needs it, where the band rule would have cut it
        // and left the exact hole to waste.
        let mut best = first;
        for later in step + 1..BANDS {
            if let Some(found) = self.bands[band_at(later)].best_fit(nodes, size, units, top_down) {
                if nodes[found as usize].size < nodes[best as usize].size {
                    best = found;
                }
            }
        }
        Some(if leftover(best) <= slack { best } else { first })
    }

    /// The largest free block, lowest address among equals: bands are in address order,
    /// and each band answers with its lowest-addressed largest block.
    pub(super) fn largest(&self, nodes: &[Node]) -> Option<u32> {
        let mut best: Option<(u64, u32)> = None;
        for band in &self.bands {
            let Some(index) = band.largest(nodes) else { continue };
            let size = nodes[index as usize].size;
            if best.is_none_or(|(largest, _)| size > largest) {
                best = Some((size, index));
            }
        }
        best.map(|(_, index)| index)
    }

    /// Bytes in the largest free block, or 0, without a walk: bit scans per band, and a
    /// descent of the largest class's tree only in the bands that hold that class.
    pub(super) fn largest_size(&self, nodes: &[Node], align_shift: u32) -> u64 {
        let top = self.bands.iter().map(SizeIndex::top_class).max().flatten();
        self.bands
            .iter()
            .filter(|band| band.top_class() == top)
            .map(|band| band.largest_size(nodes, align_shift))
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_equal_quarters_and_the_last_takes_the_remainder() {
        // A quarter of 0x4003 bytes is 0x1000.c: bands start at offsets 0x1001, 0x2002 and
        // 0x3003, give or take the byte the multiply may round.
        let bands: Vec<usize> = [0, 0x1000, 0x1002, 0x2001, 0x2003, 0x3002, 0x3004, 0x4002]
            .map(|offset| band_of(0x1000, 0x4003, 0x1000 + offset))
            .to_vec();
        assert_eq!(bands, [0, 0, 1, 1, 2, 2, 3, 3]);
        let bands: Vec<usize> =
            [0, 0x3fff_ffff, 0x4000_0000, 0xbfff_ffff, 0xc000_0000, 0xffff_ffff]
                .map(|a| band_of(0, 1 << 32, a))
                .to_vec();
        assert_eq!(bands, [0, 0, 1, 2, 3, 3], "a power of two is cut exactly");
        // A range of fewer than four bytes saturates the scale (and holds at most a byte or
        // two of blocks); one as large as the address space is cut like any other.
        assert_eq!([0, 1, 2].map(|a| band_of(0, 3, a)), [0, 0, 1]);
        assert_eq!(band_of(0, u64::MAX, u64::MAX - 1), 3);
        assert_eq!(band_of(0, u64::MAX, u64::MAX / 4 - 1), 0);
    }

    #[test]
    fn the_lowest_band_with_a_fit_wins_unless_a_tight_fit_waits_further_on() {
        const SHIFT: u32 = 4;
        // Band width 0x1000: a 0x200 block and a 0x80 block in band 0, a 0x100 block in
        // band 2 and a 0x300 block in band 3.
        let mut nodes = vec![
            Node::free(0x400, 0x200),
            Node::free(0x2400, 0x100),
            Node::free(0x800, 0x80),
            Node::free(0x3000, 0x300),
        ];
        let mut index = BandedIndex::new(0, 0x4000);
        for i in 0..4 {
            index.insert(&mut nodes, i, SHIFT);
        }
        // 0x100 fits the band 2 block exactly, where band 0's best fit would leave 0x100.
        assert_eq!(index.best_fit(&nodes, 0x100, false, SHIFT), Some(1));
        // 0xc0 would leave 0x40 of band 2's block, more than a quarter of the request
        // (0x30): band 0's best fit. 0xd0 leaves 0x30 there, within a quarter (0x34).
        assert_eq!(index.best_fit(&nodes, 0xc0, false, SHIFT), Some(0));
        assert_eq!(index.best_fit(&nodes, 0xd0, false, SHIFT), Some(1));
        assert_eq!(index.best_fit(&nodes, 0x80, false, SHIFT), Some(2));
        // Top-down starts from the highest band, and the mirror rule holds: band 3's block
        // is loose for 0x80, band 0's 0x80 block is exact; it is tight for 0x2c0.
        assert_eq!(index.best_fit(&nodes, 0x80, true, SHIFT), Some(2));
        assert_eq!(index.best_fit(&nodes, 0x2c0, true, SHIFT), Some(3));
        assert_eq!(index.best_fit(&nodes, 0x310, false, SHIFT), None);
        assert_eq!(index.largest(&nodes), Some(3));
        assert_eq!(index.largest_size(&nodes, SHIFT), 0x300);
        index.remove(&mut nodes, 3, SHIFT);
        assert_eq!(index.largest(&nodes), Some(0));
        assert_eq!(index.largest_size(&nodes, SHIFT), 0x200);
        index.remove(&mut nodes, 0, SHIFT);
        assert_eq!(index.best_fit(&nodes, 0xc0, false, SHIFT), Some(1));
        assert_eq!(index.largest(&nodes), Some(1));
        assert_eq!(index.largest_size(&nodes, SHIFT), 0x100);
    }
}
