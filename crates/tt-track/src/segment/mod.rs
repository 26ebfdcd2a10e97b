//! The per-process ledger segment: its shared-memory schema, its writer, and read-only
//! mappings of other processes' segments.

pub(crate) mod dir;
pub mod layout;
pub(crate) mod mapped;
pub(crate) mod writer;
