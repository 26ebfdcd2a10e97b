//! The per-process ledger segment: its shared-memory schema, its writer, and read-only
//! mappings of other processes' segments.

pub mod layout;
pub(crate) mod mapped;
pub(crate) mod writer;
