//! The whole chip file mapped once, with bounds-checked volatile accessors.
//!
//! This is the only module of the interpreter with `unsafe`: every other module reaches chip
//! memory through [`ChipMemory`] (absolute file offsets, for the NOC) or [`Span`] (one core's
//! L1, for a hart's loads, stores and fetches). The mapping is `MAP_SHARED` over the chip
//! file, so the host's TLB windows, other harts and other processes see the same bytes.
//! Accesses are volatile (never cached in registers, never merged or split by the compiler)
//! and never turned into `&[u8]`, because other threads write the same memory concurrently.

use std::fs::File;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use memmap2::MmapRaw;

/// The chip file mapped shared and read-write.
pub(crate) struct ChipMemory {
    map: MmapRaw,
}

impl ChipMemory {
    /// Maps all of `file`. The file is sparse, so this costs address space, not memory.
    /// Not inherited by forked children: a mapping holds the chip file's open description,
    /// and so its lock, for as long as it exists (see `crate::inherit`).
    pub(crate) fn map(file: &File) -> std::io::Result<ChipMemory> {
        let map = MmapRaw::map_raw(file)?;
        map.advise(memmap2::Advice::DontFork)?;
        Ok(ChipMemory { map })
    }

    /// Pointer to `len` bytes at `offset`, or `None` when they are not all inside the mapping.
    fn range(&self, offset: u64, len: u64) -> Option<*mut u8> {
        let end = offset.checked_add(len)?;
        if end > self.map.len() as u64 {
            return None;
        }
        // `offset <= end <= map.len()`, which is a usize, so the cast is lossless.
        Some(self.map.as_mut_ptr().wrapping_add(offset as usize))
    }

    /// A view of `len` bytes at `offset` (one core's memory), or `None` when out of range or
    /// not word-sized.
    pub(crate) fn span(self: &Arc<Self>, offset: u64, len: u64) -> Option<Span> {
        if len < 4 || len % 4 != 0 || offset % 4 != 0 {
            return None;
        }
        let base = self.range(offset, len)?;
        Some(Span { _memory: Arc::clone(self), base, len: usize::try_from(len).ok()? })
    }

    /// Copies `out.len()` bytes at `offset` into `out`; `false` when out of range.
    pub(crate) fn read_bytes(&self, offset: u64, out: &mut [u8]) -> bool {
        let Some(src) = self.range(offset, out.len() as u64) else { return false };
        let (head, words) = split_for_words(src, out.len());
        for (i, byte) in out[..head].iter_mut().enumerate() {
            // SAFETY: `src..src + out.len()` lies inside the live mapping (checked by `range`);
            // a byte read has no alignment requirement.
            *byte = unsafe { src.add(i).read_volatile() };
        }
        for (i, chunk) in out[head..head + words * 8].chunks_exact_mut(8).enumerate() {
            // SAFETY: inside the mapping as above, and `src + head` is 8-byte aligned.
            let word = unsafe { src.add(head + i * 8).cast::<u64>().read_volatile() };
            chunk.copy_from_slice(&word.to_ne_bytes());
        }
        for (i, byte) in out.iter_mut().enumerate().skip(head + words * 8) {
            // SAFETY: inside the mapping, as above.
            *byte = unsafe { src.add(i).read_volatile() };
        }
        true
    }

    /// Copies `data` to `offset`; `false` (and nothing written) when out of range.
    pub(crate) fn write_bytes(&self, offset: u64, data: &[u8]) -> bool {
        let Some(dst) = self.range(offset, data.len() as u64) else { return false };
        let (head, words) = split_for_words(dst, data.len());
        for (i, byte) in data[..head].iter().enumerate() {
            // SAFETY: inside the live mapping (checked by `range`); bytes need no alignment.
            unsafe { dst.add(i).write_volatile(*byte) };
        }
        for (i, chunk) in data[head..head + words * 8].chunks_exact(8).enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            // SAFETY: inside the mapping as above, and `dst + head` is 8-byte aligned.
            unsafe { dst.add(head + i * 8).cast::<u64>().write_volatile(u64::from_ne_bytes(word)) };
        }
        for (i, byte) in data.iter().enumerate().skip(head + words * 8) {
            // SAFETY: inside the mapping, as above.
            unsafe { dst.add(i).write_volatile(*byte) };
        }
        true
    }

    /// Atomically replaces the 32-bit word at `offset` with `f(old)` and returns `old`, or
    /// `None` when the word is out of range or not 4-byte aligned.
    pub(crate) fn fetch_update_u32(&self, offset: u64, f: &dyn Fn(u32) -> u32) -> Option<u32> {
        if offset % 4 != 0 {
            return None;
        }
        let ptr = self.range(offset, 4)?;
        // SAFETY: the word is inside the mapping, which lives as long as `self`, and is
        // 4-byte aligned (the mapping is page aligned and `offset` is a multiple of 4).
        // Other accessors use volatile word or byte accesses, never references, so no Rust
        // reference aliases it.
        let word = unsafe { AtomicU32::from_ptr(ptr.cast::<u32>()) };
        let old = word.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |raw| {
            Some(f(u32::from_le(raw)).to_le())
        });
        // The closure always returns `Some`, so the update always happens.
        Some(u32::from_le(old.unwrap_or_else(|raw| raw)))
    }
}

/// Splits `len` bytes at `ptr` into a byte head up to the first 8-byte boundary and a number
/// of whole 8-byte words after it (the rest is a byte tail), so bulk copies move words.
fn split_for_words(ptr: *mut u8, len: usize) -> (usize, usize) {
    let head = ptr.align_offset(8).min(len);
    (head, (len - head) / 8)
}

/// One core's memory: offsets from 0 to `len`, each access bounds- and alignment-checked.
/// It holds the mapping alive, so it may move to a worker thread.
pub(crate) struct Span {
    _memory: Arc<ChipMemory>,
    base: *mut u8,
    len: usize,
}

// SAFETY: `base` points into a mapping owned by the `Arc<ChipMemory>` the span holds, which
// is shared memory meant for concurrent use; every access is a volatile load or store.
unsafe impl Send for Span {}
// SAFETY: see `Send`: methods take `&self` and only perform volatile accesses.
unsafe impl Sync for Span {}

impl Span {
    /// Bytes in the span (a multiple of 4, at least 4).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The 32-bit word at `addr`, or `None` when `addr` is misaligned or out of range.
    #[inline(always)]
    pub(crate) fn load_u32(&self, addr: u32) -> Option<u32> {
        let addr = addr as usize;
        if addr & 3 != 0 || addr >= self.len {
            return None;
        }
        // SAFETY: `addr` is 4-aligned and `addr < len` with `len` a multiple of 4, so the
        // word lies inside the span; `base` is 4-aligned (checked at construction).
        Some(u32::from_le(unsafe { self.base.add(addr).cast::<u32>().read_volatile() }))
    }

    /// The 16-bit halfword at `addr`, or `None` when misaligned or out of range.
    #[inline(always)]
    pub(crate) fn load_u16(&self, addr: u32) -> Option<u16> {
        let addr = addr as usize;
        if addr & 1 != 0 || addr >= self.len {
            return None;
        }
        // SAFETY: 2-aligned, and `addr < len` with `len` even, so both bytes are inside.
        Some(u16::from_le(unsafe { self.base.add(addr).cast::<u16>().read_volatile() }))
    }

    /// The byte at `addr`, or `None` when out of range.
    #[inline(always)]
    pub(crate) fn load_u8(&self, addr: u32) -> Option<u8> {
        let addr = addr as usize;
        if addr >= self.len {
            return None;
        }
        // SAFETY: `addr < len`, inside the span.
        Some(unsafe { self.base.add(addr).read_volatile() })
    }

    /// Stores a word; `false` (nothing written) when misaligned or out of range.
    #[inline(always)]
    pub(crate) fn store_u32(&self, addr: u32, value: u32) -> bool {
        let addr = addr as usize;
        if addr & 3 != 0 || addr >= self.len {
            return false;
        }
        // SAFETY: as in `load_u32`.
        unsafe { self.base.add(addr).cast::<u32>().write_volatile(value.to_le()) };
        true
    }

    /// Stores a halfword; `false` when misaligned or out of range.
    #[inline(always)]
    pub(crate) fn store_u16(&self, addr: u32, value: u16) -> bool {
        let addr = addr as usize;
        if addr & 1 != 0 || addr >= self.len {
            return false;
        }
        // SAFETY: as in `load_u16`.
        unsafe { self.base.add(addr).cast::<u16>().write_volatile(value.to_le()) };
        true
    }

    /// Stores a byte; `false` when out of range.
    #[inline(always)]
    pub(crate) fn store_u8(&self, addr: u32, value: u8) -> bool {
        let addr = addr as usize;
        if addr >= self.len {
            return false;
        }
        // SAFETY: as in `load_u8`.
        unsafe { self.base.add(addr).write_volatile(value) };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_refuse_out_of_range_and_misaligned() {
        let file = tempfile::tempfile().unwrap();
        file.set_len(8192).unwrap();
        let memory = Arc::new(ChipMemory::map(&file).unwrap());
        assert!(memory.span(4096, 4097).is_none(), "not word sized");
        assert!(memory.span(4096, 8192).is_none(), "past the end");
        let span = memory.span(4096, 4096).unwrap();
        assert!(span.store_u32(4092, 0x1122_3344));
        assert!(!span.store_u32(4096, 1));
        assert!(!span.store_u32(2, 1));
        assert_eq!(span.load_u32(4092), Some(0x1122_3344));
        assert_eq!(span.load_u16(4094), Some(0x1122));
        assert_eq!(span.load_u8(4095), Some(0x11));
        assert_eq!(span.load_u16(4093), None);
        assert_eq!(span.load_u8(4096), None);
        assert_eq!(memory.fetch_update_u32(4096 + 4092, &|v| v + 1), Some(0x1122_3344));
        assert_eq!(memory.fetch_update_u32(8190, &|v| v + 1), None);
        let mut out = [0u8; 4];
        assert!(memory.read_bytes(8188, &mut out));
        assert_eq!(u32::from_le_bytes(out), 0x1122_3345);
        assert!(!memory.read_bytes(8189, &mut out));
        assert!(!memory.write_bytes(u64::MAX, &out));
    }

    #[test]
    fn bulk_copies_keep_every_byte_at_any_alignment() {
        let file = tempfile::tempfile().unwrap();
        file.set_len(8192).unwrap();
        let memory = ChipMemory::map(&file).unwrap();
        for (offset, len) in [(0u64, 64usize), (3, 61), (5, 3), (4093, 100), (8191, 1)] {
            let data: Vec<u8> =
                (0..len).map(|i| (i as u8).wrapping_mul(7).wrapping_add(1)).collect();
            assert!(memory.write_bytes(offset, &data));
            let mut back = vec![0u8; len];
            assert!(memory.read_bytes(offset, &mut back));
            assert_eq!(back, data, "offset {offset} len {len}");
        }
    }
}
