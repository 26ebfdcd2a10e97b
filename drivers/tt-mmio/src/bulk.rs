//! The bulk of a transfer: 32-byte aligned spans moved with the widest aligned volatile
//! access the CPU has.
//!
//! A volatile access is never merged or widened by the compiler, so the width chosen here is
//! the width the bus sees. On x86_64 that is 32-byte AVX moves when the CPU has AVX (checked
//! once at run time; a card's write-combining BAR takes them whole, as tt-umd's copies do),
//! else 16-byte SSE2 moves, which every x86_64 CPU has; elsewhere, 8-byte words. At one
//! access per cycle the width sets the speed: 8-byte words reach a third of memcpy's.

/// The alignment and size granularity of a bulk span.
pub(crate) const BULK: usize = 32;

/// Stores `src` (a multiple of [`BULK`] bytes) to `dst` with aligned volatile accesses.
///
/// # Safety
/// `dst` must be [`BULK`]-aligned and valid for volatile writes of `src.len()` bytes.
pub(crate) unsafe fn store(dst: *mut u8, src: &[u8]) {
    debug_assert!(dst as usize % BULK == 0 && src.len() % BULK == 0);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: AVX is present (checked above); the caller's contract is this one.
            unsafe { x86::store_avx(dst, src) };
        } else {
            // SAFETY: the caller's contract is this one; SSE2 is part of x86_64.
            unsafe { x86::store_sse2(dst, src) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    for (i, chunk) in src.chunks_exact(8).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        // SAFETY: `dst` is 32-byte (so 8-byte) aligned and valid for `src.len()` bytes.
        unsafe { dst.cast::<u64>().add(i).write_volatile(u64::from_ne_bytes(w)) };
    }
}

/// Loads `dst.len()` (a multiple of [`BULK`]) bytes from `src` with aligned volatile
/// accesses.
///
/// # Safety
/// `src` must be [`BULK`]-aligned and valid for volatile reads of `dst.len()` bytes.
pub(crate) unsafe fn load(src: *const u8, dst: &mut [u8]) {
    debug_assert!(src as usize % BULK == 0 && dst.len() % BULK == 0);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: AVX is present (checked above); the caller's contract is this one.
            unsafe { x86::load_avx(src, dst) };
        } else {
            // SAFETY: the caller's contract is this one; SSE2 is part of x86_64.
            unsafe { x86::load_sse2(src, dst) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    for (i, chunk) in dst.chunks_exact_mut(8).enumerate() {
        // SAFETY: `src` is 32-byte (so 8-byte) aligned and valid for `dst.len()` bytes.
        let w = unsafe { src.cast::<u64>().add(i).read_volatile() };
        chunk.copy_from_slice(&w.to_ne_bytes());
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{__m128i, __m256i};

    /// # Safety
    /// The CPU has AVX; `dst` is 32-byte aligned and valid for `src.len()` bytes of writes.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn store_avx(dst: *mut u8, src: &[u8]) {
        let (dst, from) = (dst.cast::<__m256i>(), src.as_ptr().cast::<__m256i>());
        for i in 0..src.len() / 32 {
            // SAFETY: the read stays inside `src` (unaligned, plain host memory); the
            // destination is 32-byte aligned and in bounds (the caller's contract).
            unsafe { dst.add(i).write_volatile(from.add(i).read_unaligned()) };
        }
    }

    /// # Safety
    /// The CPU has AVX; `src` is 32-byte aligned and valid for `dst.len()` bytes of reads.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn load_avx(src: *const u8, dst: &mut [u8]) {
        let (src, to) = (src.cast::<__m256i>(), dst.as_mut_ptr().cast::<__m256i>());
        for i in 0..dst.len() / 32 {
            // SAFETY: as in `store_avx`, with the roles of window and host buffer swapped.
            unsafe { to.add(i).write_unaligned(src.add(i).read_volatile()) };
        }
    }

    /// # Safety
    /// `dst` is 16-byte aligned and valid for `src.len()` bytes of writes.
    pub(super) unsafe fn store_sse2(dst: *mut u8, src: &[u8]) {
        let (dst, from) = (dst.cast::<__m128i>(), src.as_ptr().cast::<__m128i>());
        for i in 0..src.len() / 16 {
            // SAFETY: as in `store_avx`, for 16-byte words.
            unsafe { dst.add(i).write_volatile(from.add(i).read_unaligned()) };
        }
    }

    /// # Safety
    /// `src` is 16-byte aligned and valid for `dst.len()` bytes of reads.
    pub(super) unsafe fn load_sse2(src: *const u8, dst: &mut [u8]) {
        let (src, to) = (src.cast::<__m128i>(), dst.as_mut_ptr().cast::<__m128i>());
        for i in 0..dst.len() / 16 {
            // SAFETY: as in `load_avx`, for 16-byte words.
            unsafe { to.add(i).write_unaligned(src.add(i).read_volatile()) };
        }
    }
}
