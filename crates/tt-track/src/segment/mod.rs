//! The per-process ledger segment: its shared-memory schema, its writer, the sequence
//! protocol between them and readers, and readers' private copies of segments.

pub(crate) mod copy;
pub mod layout;
pub(crate) mod seqlock;
pub(crate) mod writer;
