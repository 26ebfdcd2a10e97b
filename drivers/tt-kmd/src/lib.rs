//! PCIe backend over the tt-kmd driver (work in progress).
