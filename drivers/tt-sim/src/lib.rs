//! Simulated chip backend (work in progress).
