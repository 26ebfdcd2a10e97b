//! Allocation tracking and the shared-memory ledger (work in progress).
