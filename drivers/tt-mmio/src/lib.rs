//! Volatile, bounds-checked access to a mapped window of device memory.
//!
//! Both backends (tt-kmd's BAR/TLB mappings and tt-sim's remapped chip file) hand out
//! [`MmioRegion`]s. Device memory is never turned into `&[u8]`: a reference would let the
//! compiler assume nothing else changes the bytes, which is false for a card (its cores write
//! L1) and for a simulated chip shared between processes. Every access here is a volatile
//! load or store of an aligned word: 4 or 8 bytes at the ends of a span, and in its bulk the
//! widest the CPU has (32 bytes with AVX, 16 with SSE2).

mod bulk;

use std::ptr::NonNull;

use bulk::BULK;

/// Errors from an access to a mapped region.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MmioError {
    /// The access reaches past the end of the mapped window.
    #[error(
        "access of {len} bytes at offset {offset:#x} is outside the {window_len:#x}-byte window; \
         split the transfer or configure the window nearer the target address"
    )]
    OutOfWindow {
        /// Offset of the access within the window.
        offset: usize,
        /// Length of the access in bytes.
        len: usize,
        /// Size of the window in bytes.
        window_len: usize,
    },
    /// The access falls in the part of the window below the mapped range (a window over a
    /// tile's register space, of which the simulator maps only the registers it models).
    #[error(
        "access of {len} bytes at offset {offset:#x} is below the mapped part of the window, \
         which starts at offset {start:#x}: only the modelled registers are mapped"
    )]
    Unmapped {
        /// Offset of the access within the window.
        offset: usize,
        /// Length of the access in bytes.
        len: usize,
        /// First mapped offset.
        start: usize,
    },
    /// A write into a part of the window that a card's firmware owns (the simulator guards
    /// those parts, so code that would overwrite a card's firmware fails in tests).
    #[error(
        "write of {len} bytes at window offset {offset:#x} reaches {start:#x}..{end:#x}, owned by \
         {owner}; writing there would overwrite a card's firmware: write outside it"
    )]
    FirmwareOwned {
        /// Offset of the access within the window.
        offset: usize,
        /// Length of the access in bytes.
        len: usize,
        /// First offset of the owned part.
        start: usize,
        /// End (exclusive) of the owned part.
        end: usize,
        /// Who owns it, for the message.
        owner: &'static str,
    },
    /// A word access at an offset that is not a multiple of the word size.
    #[error("{width}-byte access at offset {offset:#x} is not {width}-byte aligned; device registers and L1 words need aligned access")]
    Misaligned {
        /// Offset of the access within the window.
        offset: usize,
        /// Access width in bytes.
        width: usize,
    },
}

/// A window of device memory mapped into this process, accessed only with volatile word
/// loads and stores. It does not own the mapping: the backend that created it unmaps it
/// after the region is dropped.
#[derive(Debug)]
pub struct MmioRegion {
    base: NonNull<u8>,
    /// First accessible offset (0 unless only the top of the window is mapped).
    start: usize,
    len: usize,
    /// Parts of the window that writes must not reach (empty but on guarded windows).
    guards: Vec<WriteGuard>,
}

/// A part of a window that firmware owns: reads pass, writes are refused with
/// [`MmioError::FirmwareOwned`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteGuard {
    /// Offsets within the window.
    pub range: std::ops::Range<usize>,
    /// The owner, named in the error.
    pub owner: &'static str,
}

// SAFETY: the region is a plain address range of shared memory; every access is a volatile
// word operation, which is as safe from several threads as the device itself allows (the
// same as two host threads writing a card's BAR). Callers that need ordering between threads
// provide it themselves, as with any device memory.
unsafe impl Send for MmioRegion {}
// SAFETY: see the `Send` impl: no method hands out references into the mapping.
unsafe impl Sync for MmioRegion {}

impl MmioRegion {
    /// Wraps `len` bytes of mapped device memory starting at `base`.
    ///
    /// # Safety
    /// `base` must be 8-byte aligned and valid for volatile reads and writes of `len` bytes
    /// for as long as this value lives, and nothing may unmap the range before it is dropped.
    pub unsafe fn new(base: NonNull<u8>, len: usize) -> Self {
        debug_assert_eq!(base.as_ptr() as usize % 8, 0, "mapping base must be 8-byte aligned");
        Self { base, start: 0, len, guards: Vec::new() }
    }

    /// The same region with writes into `guards` refused (reads still pass).
    pub fn with_write_guards(mut self, guards: Vec<WriteGuard>) -> Self {
        self.guards = guards;
        self
    }

    /// Wraps a window of which only offsets `start..len` are mapped: accesses below `start`
    /// are refused like accesses past `len`.
    ///
    /// # Safety
    /// `base` must be 8-byte aligned and `base + start .. base + len` valid for volatile reads
    /// and writes for as long as this value lives, and nothing may unmap it before it is
    /// dropped.
    pub unsafe fn new_partial(base: NonNull<u8>, start: usize, len: usize) -> Self {
        debug_assert_eq!(base.as_ptr() as usize % 8, 0, "mapping base must be 8-byte aligned");
        Self { base, start, len, guards: Vec::new() }
    }

    /// Size of the window in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the window has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn check(&self, offset: usize, len: usize) -> Result<(), MmioError> {
        if offset < self.start {
            return Err(MmioError::Unmapped { offset, len, start: self.start });
        }
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(MmioError::OutOfWindow { offset, len, window_len: self.len }),
        }
    }

    /// [`Self::check`] for a write, which must also stay out of every guarded part.
    fn check_write(&self, offset: usize, len: usize) -> Result<(), MmioError> {
        self.check(offset, len)?;
        let end = offset + len; // No overflow: `check` proved offset + len <= self.len.
        match self.guards.iter().find(|g| offset < g.range.end && g.range.start < end) {
            Some(g) => Err(MmioError::FirmwareOwned {
                offset,
                len,
                start: g.range.start,
                end: g.range.end,
                owner: g.owner,
            }),
            None => Ok(()),
        }
    }

    fn check_word(&self, offset: usize, width: usize) -> Result<(), MmioError> {
        if offset % width != 0 {
            return Err(MmioError::Misaligned { offset, width });
        }
        self.check(offset, width)
    }

    /// Reads the 32-bit little-endian word at `offset`.
    pub fn read32(&self, offset: usize) -> Result<u32, MmioError> {
        self.check_word(offset, 4)?;
        // SAFETY: in bounds and 4-byte aligned (checked above; base is 8-byte aligned).
        Ok(u32::from_le(unsafe { self.base.as_ptr().add(offset).cast::<u32>().read_volatile() }))
    }

    /// Writes the 32-bit little-endian word at `offset`.
    pub fn write32(&self, offset: usize, value: u32) -> Result<(), MmioError> {
        self.check_word(offset, 4)?;
        self.check_write(offset, 4)?;
        // SAFETY: in bounds and 4-byte aligned (checked above; base is 8-byte aligned).
        unsafe { self.base.as_ptr().add(offset).cast::<u32>().write_volatile(value.to_le()) };
        Ok(())
    }

    /// Copies `data` into the window at `offset`. Any length and alignment is accepted: a
    /// partial word at either end is written by read-modify-write of its aligned 32-bit word,
    /// the way tt-umd writes unaligned spans through a TLB window.
    pub fn write_bytes(&self, offset: usize, data: &[u8]) -> Result<(), MmioError> {
        self.check_write(offset, data.len())?;
        let mut off = offset;
        let mut rest = data;
        // Head: up to the next 8-byte boundary, byte-merged into aligned 32-bit words.
        while !rest.is_empty() && off % 8 != 0 {
            let word_off = off & !3;
            let in_word = off - word_off;
            let n = (4 - in_word).min(rest.len());
            self.merge_word(word_off, in_word, &rest[..n]);
            off += n;
            rest = &rest[n..];
        }
        // 8-byte words up to a bulk-aligned address (at most three).
        while rest.len() >= 8 && !self.bulk_aligned(off) {
            self.store_words(off, &rest[..8]);
            off += 8;
            rest = &rest[8..];
        }
        // Body: the widest aligned volatile stores, then what is left in 8-byte words.
        let bulk = rest.len() / BULK * BULK;
        if bulk > 0 {
            // SAFETY: the address is BULK-aligned (the loop above stops at one while 8 or more
            // bytes are left) and `off + bulk <= self.len` (checked).
            unsafe { bulk::store(self.word_ptr::<u8>(off), &rest[..bulk]) };
        }
        off += bulk;
        rest = &rest[bulk..];
        let words = rest.len() / 8 * 8;
        self.store_words(off, &rest[..words]);
        off += words;
        rest = &rest[words..];
        // Tail: fewer than 8 bytes left, merged into aligned 32-bit words.
        while !rest.is_empty() {
            let n = 4.min(rest.len());
            self.merge_word(off, 0, &rest[..n]);
            off += n;
            rest = &rest[n..];
        }
        Ok(())
    }

    /// Copies bytes from the window at `offset` into `out`. Any length and alignment is
    /// accepted; partial words at either end are read as whole aligned 32-bit words.
    pub fn read_bytes(&self, offset: usize, out: &mut [u8]) -> Result<(), MmioError> {
        self.check(offset, out.len())?;
        let mut off = offset;
        let mut pos = 0;
        while pos < out.len() && off % 8 != 0 {
            let word_off = off & !3;
            let in_word = off - word_off;
            let n = (4 - in_word).min(out.len() - pos);
            let w = self.load_word(word_off).to_ne_bytes();
            out[pos..pos + n].copy_from_slice(&w[in_word..in_word + n]);
            off += n;
            pos += n;
        }
        while out.len() - pos >= 8 && !self.bulk_aligned(off) {
            self.load_words(off, &mut out[pos..pos + 8]);
            off += 8;
            pos += 8;
        }
        let bulk = (out.len() - pos) / BULK * BULK;
        if bulk > 0 {
            // SAFETY: as in `write_bytes`: BULK-aligned and in bounds.
            unsafe { bulk::load(self.word_ptr::<u8>(off), &mut out[pos..pos + bulk]) };
        }
        off += bulk;
        pos += bulk;
        let words = (out.len() - pos) / 8 * 8;
        self.load_words(off, &mut out[pos..pos + words]);
        off += words;
        pos += words;
        while pos < out.len() {
            let n = 4.min(out.len() - pos);
            let w = self.load_word(off).to_ne_bytes();
            out[pos..pos + n].copy_from_slice(&w[..n]);
            off += n;
            pos += n;
        }
        Ok(())
    }

    /// Stores `data` (a multiple of 8 bytes) at 8-byte aligned `off` (any `off` when `data`
    /// is empty) in aligned 8-byte volatile words; the caller checked the span is in the
    /// window.
    fn store_words(&self, off: usize, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        debug_assert!(off % 8 == 0 && data.len() % 8 == 0 && off + data.len() <= self.len);
        let dst = self.word_ptr::<u64>(off);
        for (i, chunk) in data.chunks_exact(8).enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            // SAFETY: `off` is 8-byte aligned (so is base) and the span is in bounds.
            unsafe { dst.add(i).write_volatile(u64::from_ne_bytes(w)) };
        }
    }

    /// Loads `out.len()` (a multiple of 8) bytes from 8-byte aligned `off` (any `off` when
    /// `out` is empty) in aligned 8-byte volatile words; the caller checked the span is in
    /// the window.
    fn load_words(&self, off: usize, out: &mut [u8]) {
        if out.is_empty() {
            return;
        }
        debug_assert!(off % 8 == 0 && out.len() % 8 == 0 && off + out.len() <= self.len);
        let src = self.word_ptr::<u64>(off);
        for (i, chunk) in out.chunks_exact_mut(8).enumerate() {
            // SAFETY: `off` is 8-byte aligned (so is base) and the span is in bounds.
            let w = unsafe { src.add(i).read_volatile() };
            chunk.copy_from_slice(&w.to_ne_bytes());
        }
    }

    /// Whether the window's byte at `off` sits at a multiple of [`BULK`] in memory (the
    /// base is only promised 8-byte alignment).
    fn bulk_aligned(&self, off: usize) -> bool {
        (self.base.as_ptr() as usize).wrapping_add(off) % BULK == 0
    }

    /// Pointer to the word at a byte offset already proven in bounds by the caller.
    fn word_ptr<T>(&self, offset: usize) -> *mut T {
        self.base.as_ptr().wrapping_add(offset).cast::<T>()
    }

    /// Volatile load of the aligned 32-bit word at `word_off` (caller checked bounds).
    fn load_word(&self, word_off: usize) -> u32 {
        debug_assert!(word_off % 4 == 0 && word_off + 4 <= self.len);
        // SAFETY: callers pass a 4-byte aligned offset whose word lies inside the window:
        // `check` proved the byte span in bounds, and the window length is a multiple of 4.
        unsafe { self.word_ptr::<u32>(word_off).read_volatile() }
    }

    /// Replaces `bytes.len()` bytes starting `in_word` bytes into the aligned word at
    /// `word_off`, keeping the word's other bytes.
    fn merge_word(&self, word_off: usize, in_word: usize, bytes: &[u8]) {
        let mut w = if in_word == 0 && bytes.len() == 4 {
            [0u8; 4]
        } else {
            self.load_word(word_off).to_ne_bytes()
        };
        w[in_word..in_word + bytes.len()].copy_from_slice(bytes);
        // SAFETY: as in `load_word`: aligned and inside the window.
        unsafe { self.word_ptr::<u32>(word_off).write_volatile(u32::from_ne_bytes(w)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A heap buffer standing in for a mapping, 8-byte aligned.
    fn region(words: usize) -> (Vec<u64>, MmioRegion) {
        let mut buf = vec![0u64; words];
        let ptr = NonNull::new(buf.as_mut_ptr().cast::<u8>()).expect("vec pointer is non-null");
        // SAFETY: the Vec outlives the region in every test (returned together, dropped after).
        let r = unsafe { MmioRegion::new(ptr, words * 8) };
        (buf, r)
    }

    /// A window of `words` 8-byte words whose base is `skew` bytes (a multiple of 8) past a
    /// 32-byte boundary, so every placement of the bulk body is exercised.
    fn region_at(words: usize, skew: usize) -> (Vec<u64>, MmioRegion) {
        let mut buf = vec![0u64; words + 8];
        let lead = (32 - buf.as_ptr() as usize % 32) % 32 + skew;
        let base = buf.as_mut_ptr().cast::<u8>().wrapping_add(lead);
        let ptr = NonNull::new(base).expect("vec pointer is non-null");
        assert_eq!(ptr.as_ptr() as usize % 32, skew);
        // SAFETY: 8-byte aligned, `words * 8` bytes inside the buffer (eight spare words cover
        // a lead of at most 24 + 24 bytes), and the Vec outlives the region (returned
        // together, dropped after).
        let r = unsafe { MmioRegion::new(ptr, words * 8) };
        (buf, r)
    }

    #[test]
    fn guarded_parts_refuse_writes_and_pass_reads() {
        let (_buf, r) = region(8);
        r.write32(8, 7).unwrap();
        let r = r.with_write_guards(vec![WriteGuard { range: 8..16, owner: "firmware" }]);
        assert_eq!(r.read32(8).unwrap(), 7, "reads pass");
        let err = r.write32(12, 1).unwrap_err();
        assert_eq!(
            err,
            MmioError::FirmwareOwned { offset: 12, len: 4, start: 8, end: 16, owner: "firmware" }
        );
        // A span that only overlaps the guard's first byte is refused; one next to it passes.
        assert!(r.write_bytes(4, &[0; 5]).is_err());
        r.write_bytes(0, &[1; 8]).unwrap();
        r.write_bytes(16, &[2; 8]).unwrap();
        assert_eq!(r.read32(8).unwrap(), 7, "the guarded word is untouched");
    }

    #[test]
    fn word_round_trip_and_alignment() {
        let (_buf, r) = region(4);
        r.write32(4, 0xdead_beef).unwrap();
        assert_eq!(r.read32(4).unwrap(), 0xdead_beef);
        assert_eq!(r.read32(2), Err(MmioError::Misaligned { offset: 2, width: 4 }));
        assert_eq!(
            r.write32(32, 1),
            Err(MmioError::OutOfWindow { offset: 32, len: 4, window_len: 32 })
        );
    }

    #[test]
    fn unaligned_spans_round_trip_and_keep_neighbours() {
        for skew in [0, 8, 16, 24] {
            let (_buf, r) = region_at(16, skew);
            let fill: Vec<u8> = (0..128).map(|i| 0xA0 ^ i as u8).collect();
            r.write_bytes(0, &fill).unwrap();
            for start in 0..20 {
                for len in 0..72 {
                    let data: Vec<u8> = (0..len).map(|i| (i * 7 + start) as u8).collect();
                    r.write_bytes(start, &data).unwrap();
                    let mut back = vec![0u8; len];
                    r.read_bytes(start, &mut back).unwrap();
                    assert_eq!(back, data, "skew {skew} start {start} len {len}");
                    let mut before = vec![0u8; start];
                    r.read_bytes(0, &mut before).unwrap();
                    assert_eq!(before, fill[..start], "bytes before {start} untouched");
                    let mut after = vec![0u8; 128 - start - len];
                    r.read_bytes(start + len, &mut after).unwrap();
                    assert_eq!(after, fill[start + len..], "bytes after span untouched");
                    r.write_bytes(start, &fill[start..start + len]).unwrap();
                }
            }
        }
    }

    #[test]
    fn spans_past_the_end_are_refused_without_writing() {
        let (buf, r) = region(2);
        assert_eq!(
            r.write_bytes(10, &[1; 7]),
            Err(MmioError::OutOfWindow { offset: 10, len: 7, window_len: 16 })
        );
        assert!(r.write_bytes(usize::MAX, &[1]).is_err());
        assert_eq!(buf, vec![0, 0]);
    }

    #[test]
    fn a_partial_window_refuses_offsets_below_its_mapped_part() {
        let mut buf = vec![0u64; 4];
        let ptr = NonNull::new(buf.as_mut_ptr().cast::<u8>()).expect("vec pointer is non-null");
        // SAFETY: the Vec outlives the region.
        let r = unsafe { MmioRegion::new_partial(ptr, 16, 32) };
        r.write32(16, 7).unwrap();
        assert_eq!(r.read32(16).unwrap(), 7);
        assert_eq!(r.read32(12), Err(MmioError::Unmapped { offset: 12, len: 4, start: 16 }));
        let mut out = [0u8; 8];
        assert!(r.read_bytes(12, &mut out).is_err(), "a span starting below the mapped part");
        assert_eq!(buf[2], 7);
    }
}
