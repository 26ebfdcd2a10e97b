//! Validating and mapping another process's segment, read-only.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use memmap2::{Mmap, MmapOptions};

use super::layout::{
    SegmentLayout, HEADER_BYTES, LIVE_TABLE_CAPACITY, MAX_DEVICES, MAX_ETHERNET_CORES,
    MAX_TENSIX_CORES, RING_CAPACITY, SCHEMA_VERSION, SEGMENT_BYTES, SEGMENT_MAGIC,
};
use crate::error::TrackError;

/// A foreign segment whose header has been checked, mapped read-only.
pub(crate) struct MappedSegment {
    map: Mmap,
}

impl MappedSegment {
    /// Checks the header of `file` (read with `pread`, not through a mapping, so a short
    /// file cannot fault) and maps the segment read-only.
    pub(crate) fn open(file: &File, path: &Path) -> Result<MappedSegment, TrackError> {
        let io = |source| TrackError::SegmentIo { path: path.to_owned(), source };
        let length = file.metadata().map_err(io)?.len();
        if length == 0 {
            return Err(TrackError::EmptySegment { path: path.to_owned() });
        }
        let mut header = [0u8; HEADER_BYTES];
        let available = usize::try_from(length).unwrap_or(usize::MAX).min(HEADER_BYTES);
        file.read_exact_at(&mut header[..available], 0).map_err(io)?;
        check_header(&header[..available], length, path)?;
        // SAFETY: the file is at least SEGMENT_BYTES long (checked above) and mapped
        // read-only; the writer only stores through atomics and never shrinks the file, so
        // reading it as atomics is sound. A hostile process that truncates the file while we
        // read it could still raise SIGBUS; the ledger directory is private (0700) to rule
        // that out.
        let map = unsafe { MmapOptions::new().len(SEGMENT_BYTES).map(file) }.map_err(io)?;
        Ok(MappedSegment { map })
    }

    /// The mapped segment.
    pub(crate) fn layout(&self) -> &SegmentLayout {
        // SAFETY: the mapping is SEGMENT_BYTES long and page aligned (size and alignment of
        // SegmentLayout); every field is an atomic, valid for any bit pattern, and only
        // loaded (read-only memory supports atomic loads of these sizes); the reference
        // borrows `self`, which owns the mapping.
        unsafe { &*self.map.as_ptr().cast::<SegmentLayout>() }
    }
}

fn field_u32(header: &[u8], offset: usize) -> u32 {
    let mut bytes = [0u8; 4];
    if let Some(src) = header.get(offset..offset + 4) {
        bytes.copy_from_slice(src);
    }
    u32::from_le_bytes(bytes)
}

fn field_u64(header: &[u8], offset: usize) -> u64 {
    let mut bytes = [0u8; 8];
    if let Some(src) = header.get(offset..offset + 8) {
        bytes.copy_from_slice(src);
    }
    u64::from_le_bytes(bytes)
}

/// Checks magic, version, and that every size the header states is the one this build's
/// layout has; the version is checked before sizes, so a newer (bigger) segment is reported
/// as a version mismatch, not as corruption.
fn check_header(header: &[u8], length: u64, path: &Path) -> Result<(), TrackError> {
    let path = path.to_owned();
    if header.len() < 16 {
        return Err(TrackError::TruncatedSegment {
            path,
            found: length,
            needed: HEADER_BYTES as u64,
        });
    }
    let magic = field_u64(header, 0);
    if magic != SEGMENT_MAGIC {
        return Err(TrackError::BadMagic { path, found: magic });
    }
    let version = field_u32(header, 8);
    if version != SCHEMA_VERSION {
        return Err(TrackError::UnsupportedVersion {
            path,
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if header.len() < HEADER_BYTES {
        return Err(TrackError::TruncatedSegment {
            path,
            found: length,
            needed: HEADER_BYTES as u64,
        });
    }
    let expectations: [(&str, u64, u64); 7] = [
        ("header length", u64::from(field_u32(header, 12)), HEADER_BYTES as u64),
        ("segment length", field_u64(header, 16), SEGMENT_BYTES as u64),
        ("device slot count", u64::from(field_u32(header, 40)), MAX_DEVICES as u64),
        ("event ring capacity", u64::from(field_u32(header, 44)), RING_CAPACITY as u64),
        ("live table capacity", u64::from(field_u32(header, 48)), LIVE_TABLE_CAPACITY as u64),
        ("Tensix core capacity", u64::from(field_u32(header, 52)), MAX_TENSIX_CORES as u64),
        ("Ethernet core capacity", u64::from(field_u32(header, 56)), MAX_ETHERNET_CORES as u64),
    ];
    for (what, found, expected) in expectations {
        if found != expected {
            return Err(TrackError::CorruptSegment {
                path,
                what: format!("{what} is {found}, version {SCHEMA_VERSION} requires {expected}"),
            });
        }
    }
    if length < SEGMENT_BYTES as u64 {
        return Err(TrackError::TruncatedSegment {
            path,
            found: length,
            needed: SEGMENT_BYTES as u64,
        });
    }
    Ok(())
}
