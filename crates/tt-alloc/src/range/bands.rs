//! The free blocks of a range in four address bands, each with its own size index: a best
//! fit looks in the lowest band that has a block that fits before the next one up.
//!
//! Plain best fit spreads long-lived blocks over the whole range, so that a large request
//! later finds no hole big enough; first fit packs everything low and leaves the top free,
//! but wastes small holes. Best fit within the lowest band that can serve a request does
//! both: on the allocator benchmark's pressure traces (8 seeds each) it fails fewer bytes
//! than either an exact best fit or a first fit, on the L1 trace (where best fit beats
//! first fit) and on the DRAM trace (where first fit beats best fit); `cargo bench --bench
//! allocator` prints the figures. The band count was chosen by replaying the same traces
//! with 2, 3, 4, 6 and 8 bands: fewer bands drift back to best fit's DRAM failures, more
//! to first fit's L1 failures, and four is the count that beat both references on both
//! traces with room to spare.

use super::node::Node;
use super::size_index::SizeIndex;

/// Bands the range is cut into.
pub(super) const BANDS: usize = 4;

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

    /// Where `size` bytes at a multiple of `align` go, as (node, placed address): the best
    /// fit ([`SizeIndex::best_fit`]) among the blocks of the lowest band that has one that
    /// fits, or of the highest band when `top_down`.
    #[inline]
    pub(super) fn best_fit(
        &mut self,
        nodes: &[Node],
        size: u64,
        align: u64,
        top_down: bool,
        align_shift: u32,
    ) -> Option<(u32, u64)> {
        for step in 0..BANDS {
            let band = if top_down { BANDS - 1 - step } else { step };
            let found = self.bands[band].best_fit(nodes, size, align, top_down, align_shift);
            if found.is_some() {
                return found;
            }
        }
        None
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

    /// Bytes in the largest free block, or 0, without a walk: per band, two bit scans and at
    /// most one descent of its largest class's tree.
    pub(super) fn largest_size(&self, nodes: &[Node], align_shift: u32) -> u64 {
        self.bands.iter().map(|band| band.largest_size(nodes, align_shift)).max().unwrap_or(0)
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
    fn the_lowest_band_with_a_fit_wins_over_a_better_fit_higher_up() {
        const SHIFT: u32 = 4;
        // Band width 0x1000: a 0x200 block in band 0, an exact 0x100 fit in band 2, and a
        // 0x80 block in band 0 that is too small.
        let mut nodes =
            vec![Node::free(0x400, 0x200), Node::free(0x2400, 0x100), Node::free(0x800, 0x80)];
        let mut index = BandedIndex::new(0, 0x4000);
        for i in 0..3 {
            index.insert(&mut nodes, i, SHIFT);
        }
        assert_eq!(index.best_fit(&nodes, 0x100, 16, false, SHIFT), Some((0, 0x400)));
        assert_eq!(index.best_fit(&nodes, 0x80, 16, false, SHIFT), Some((2, 0x800)));
        // Top-down starts from the highest band.
        assert_eq!(index.best_fit(&nodes, 0x80, 16, true, SHIFT), Some((1, 0x2480)));
        assert_eq!(index.best_fit(&nodes, 0x210, 16, false, SHIFT), None);
        assert_eq!(index.largest(&nodes), Some(0));
        assert_eq!(index.largest_size(&nodes, SHIFT), 0x200);
        index.remove(&mut nodes, 0, SHIFT);
        assert_eq!(index.best_fit(&nodes, 0x100, 16, false, SHIFT), Some((1, 0x2400)));
        assert_eq!(index.largest(&nodes), Some(1));
        assert_eq!(index.largest_size(&nodes, SHIFT), 0x100);
    }
}
