//! Kernel binaries: RV32 ELF files validated and flattened into the image the loader writes.

use std::path::Path;
use std::sync::Arc;

use object::elf::{FileHeader32, EM_RISCV, ET_EXEC, PF_X, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;

use crate::ProgramError;

/// Kernel images are padded to this many bytes, the L1 alignment of every architecture.
pub const IMAGE_ALIGN: u64 = 16;

/// A validated kernel: its memory image from address 0 (segments laid out at their link
/// addresses, gaps and `.bss` zero-filled) and its entry offset. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelImage {
    name: Arc<str>,
    image: Arc<[u8]>,
    entry: u32,
}

impl KernelImage {
    /// Reads and validates the ELF file at `path`.
    pub fn from_file(path: &Path, region_size: u64) -> Result<KernelImage, ProgramError> {
        let bytes = std::fs::read(path)
            .map_err(|source| ProgramError::ReadKernel { path: path.to_path_buf(), source })?;
        Self::from_elf(&path.display().to_string(), &bytes, region_size)
    }

    /// Validates `bytes` as a kernel that must fit in `region_size` bytes of kernel region:
    /// ELF32, little-endian, RISC-V, an executable, every PT_LOAD inside the file and inside
    /// the region, segments not overlapping, the entry inside an executable segment.
    pub fn from_elf(
        name: &str,
        bytes: &[u8],
        region_size: u64,
    ) -> Result<KernelImage, ProgramError> {
        let bad = |reason: String| ProgramError::BadKernel { name: name.to_string(), reason };
        if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
            return Err(bad("not an ELF file (no \\x7fELF magic)".into()));
        }
        if bytes.get(4) != Some(&1) {
            return Err(bad(
                "not ELF32: kernels are built for RV32 (-march=rv32im -mabi=ilp32)".into()
            ));
        }
        if bytes.get(5) != Some(&1) {
            return Err(bad("not little-endian".into()));
        }
        let header = FileHeader32::<Endianness>::parse(bytes)
            .map_err(|e| bad(format!("malformed ELF header: {e}")))?;
        let endian = header.endian().map_err(|e| bad(format!("malformed ELF header: {e}")))?;
        if header.e_machine(endian) != EM_RISCV {
            return Err(bad(format!(
                "machine is {}, not RISC-V ({EM_RISCV})",
                header.e_machine(endian)
            )));
        }
        if header.e_type(endian) != ET_EXEC {
            return Err(bad(
                "not an executable (ET_EXEC); link the kernel, do not pass an object file".into(),
            ));
        }
        let segments = header
            .program_headers(endian, bytes)
            .map_err(|e| bad(format!("malformed program headers: {e}")))?;
        let entry = header.e_entry(endian);
        let mut loads: Vec<(u64, u64, u64, u64, bool)> = Vec::new();
        for (i, ph) in segments.iter().enumerate() {
            if ph.p_type(endian) != PT_LOAD {
                continue;
            }
            let (vaddr, memsz) = (u64::from(ph.p_vaddr(endian)), u64::from(ph.p_memsz(endian)));
            let (offset, filesz) = (u64::from(ph.p_offset(endian)), u64::from(ph.p_filesz(endian)));
            if filesz > memsz {
                return Err(bad(format!(
                    "segment {i}: file size {filesz} exceeds memory size {memsz}"
                )));
            }
            if offset + filesz > bytes.len() as u64 {
                return Err(bad(format!(
                    "segment {i}: bytes {offset:#x}..{:#x} lie past the end of the {}-byte file (truncated?)",
                    offset + filesz,
                    bytes.len()
                )));
            }
            if vaddr + memsz > region_size {
                return Err(bad(format!(
                    "segment {i} spans {vaddr:#x}..{:#x}, past the {region_size:#x}-byte kernel region; \
                     kernels are linked at 0 (kernels/link.ld) and must fit the region",
                    vaddr + memsz
                )));
            }
            if let Some(other) = loads.iter().position(|l| vaddr < l.0 + l.1 && l.0 < vaddr + memsz)
            {
                return Err(bad(format!("segments {other} and {i} overlap")));
            }
            loads.push((vaddr, memsz, offset, filesz, ph.p_flags(endian) & PF_X != 0));
        }
        if loads.is_empty() {
            return Err(bad("no PT_LOAD segment: nothing to load".into()));
        }
        let entry64 = u64::from(entry);
        if !loads.iter().any(|l| l.4 && l.0 <= entry64 && entry64 < l.0 + l.1) {
            return Err(bad(format!("entry point {entry:#x} is not inside an executable segment")));
        }
        let span = loads.iter().map(|l| l.0 + l.1).max().unwrap_or(0);
        let padded = span.div_ceil(IMAGE_ALIGN) * IMAGE_ALIGN;
        let mut image = vec![0u8; padded as usize];
        for (vaddr, _, offset, filesz, _) in &loads {
            image[*vaddr as usize..(*vaddr + *filesz) as usize]
                .copy_from_slice(&bytes[*offset as usize..(*offset + *filesz) as usize]);
        }
        Ok(KernelImage { name: name.into(), image: image.into(), entry })
    }

    /// The file or kernel name given at parse time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The image to place: segments at their link offsets, zero-filled, padded to
    /// [`IMAGE_ALIGN`].
    pub fn image(&self) -> &[u8] {
        &self.image
    }

    /// Bytes each core holds for this kernel (the image length).
    pub fn placed_bytes(&self) -> u64 {
        self.image.len() as u64
    }

    /// Entry point, as an offset from the image start.
    pub fn entry(&self) -> u32 {
        self.entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid ELF32 RISC-V executable with one PT_LOAD of `code` at vaddr 0.
    pub(crate) fn tiny_elf(code: &[u8], memsz: u32, entry: u32) -> Vec<u8> {
        let mut f = vec![0u8; 84];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 1; // ELFCLASS32
        f[5] = 1; // little-endian
        f[6] = 1; // EV_CURRENT
        f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f[18..20].copy_from_slice(&243u16.to_le_bytes()); // EM_RISCV
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[24..28].copy_from_slice(&entry.to_le_bytes());
        f[28..32].copy_from_slice(&52u32.to_le_bytes()); // e_phoff
        f[40..42].copy_from_slice(&52u16.to_le_bytes()); // e_ehsize
        f[42..44].copy_from_slice(&32u16.to_le_bytes()); // e_phentsize
        f[44..46].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let ph = 52;
        f[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        f[ph + 4..ph + 8].copy_from_slice(&84u32.to_le_bytes()); // p_offset
        f[ph + 16..ph + 20].copy_from_slice(&(code.len() as u32).to_le_bytes());
        f[ph + 20..ph + 24].copy_from_slice(&memsz.to_le_bytes());
        f[ph + 24..ph + 28].copy_from_slice(&5u32.to_le_bytes()); // R+X
        f.extend_from_slice(code);
        f
    }

    #[test]
    fn valid_kernel_is_flattened_zero_filled_and_padded() {
        let elf = tiny_elf(&[0x13, 0, 0, 0, 0x67, 0x80, 0, 0], 20, 4);
        let k = KernelImage::from_elf("k.elf", &elf, 0x1000).unwrap();
        assert_eq!(k.entry(), 4);
        assert_eq!(k.placed_bytes(), 32, "20 bytes of memory padded to 16");
        assert_eq!(&k.image()[..8], &[0x13, 0, 0, 0, 0x67, 0x80, 0, 0]);
        assert!(k.image()[8..].iter().all(|&b| b == 0));
    }

    fn reason(bytes: &[u8]) -> String {
        KernelImage::from_elf("bad.elf", bytes, 0x1000).unwrap_err().to_string()
    }

    #[test]
    fn bad_files_name_file_and_reason() {
        let good = tiny_elf(&[0x13, 0, 0, 0], 4, 0);
        assert!(reason(b"hello").contains("no \\x7fELF magic"));
        let mut elf64 = good.clone();
        elf64[4] = 2;
        assert!(reason(&elf64).contains("not ELF32"));
        let mut be = good.clone();
        be[5] = 2;
        assert!(reason(&be).contains("little-endian"));
        let mut x86 = good.clone();
        x86[18] = 3;
        assert!(reason(&x86).contains("not RISC-V"));
        let mut obj = good.clone();
        obj[16] = 1;
        assert!(reason(&obj).contains("ET_EXEC"));
        let truncated = &good[..good.len() - 2];
        assert!(reason(truncated).contains("past the end"), "{}", reason(truncated));
        let huge = tiny_elf(&[0x13, 0, 0, 0], 0x2000, 0);
        assert!(reason(&huge).contains("past the 0x1000-byte kernel region"));
        let outside_entry = tiny_elf(&[0x13, 0, 0, 0], 4, 8);
        assert!(reason(&outside_entry).contains("entry point 0x8"));
        let mut filesz_over = good.clone();
        filesz_over[52 + 20..52 + 24].copy_from_slice(&2u32.to_le_bytes());
        assert!(reason(&filesz_over).contains("exceeds memory size"));
        assert!(reason(&good[..30]).contains("bad.elf"));
        for len in 0..good.len() {
            let _ = KernelImage::from_elf("cut.elf", &good[..len], 0x1000); // never panics
        }
    }
}
