//! Device access (work in progress).
