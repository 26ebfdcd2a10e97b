use std::fmt;

/// A core's position on the NOC0 grid (what tt-umd calls a NOC0 or physical coordinate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NocCoord {
    /// Column.
    pub x: u16,
    /// Row.
    pub y: u16,
}

impl NocCoord {
    /// The core at column `x`, row `y`.
    pub const fn new(x: u16, y: u16) -> Self {
        Self { x, y }
    }
}

impl fmt::Display for NocCoord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.x, self.y)
    }
}

/// A Tensix core's position in the usable (harvested) worker grid, row-major from (0, 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogicalCoord {
    /// Column in the worker grid.
    pub x: u16,
    /// Row in the worker grid.
    pub y: u16,
}

impl LogicalCoord {
    /// The worker at logical column `x`, row `y`.
    pub const fn new(x: u16, y: u16) -> Self {
        Self { x, y }
    }
}

impl fmt::Display for LogicalCoord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "logical ({}, {})", self.x, self.y)
    }
}

/// What occupies a NOC grid location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CoreKind {
    /// A usable Tensix worker core.
    Tensix,
    /// A Tensix core removed by harvesting: present on the grid, never used.
    HarvestedTensix,
    /// One NOC endpoint of a DRAM channel.
    Dram,
    /// An endpoint of a DRAM channel removed by harvesting (Blackhole): never addressed.
    HarvestedDram,
    /// An Ethernet core.
    Ethernet,
    /// An Ethernet core removed by harvesting (Blackhole): never used.
    HarvestedEthernet,
    /// The PCIe endpoint.
    Pcie,
    /// A PCIe tile the board does not use as its endpoint (Blackhole PCIe harvesting).
    HarvestedPcie,
    /// The ARC management core.
    Arc,
    /// A router-only tile (no memory).
    RouterOnly,
    /// Nothing is at this location.
    Empty,
}

impl CoreKind {
    /// Lower-case name for messages and JSON.
    pub fn name(self) -> &'static str {
        match self {
            CoreKind::Tensix => "tensix",
            CoreKind::HarvestedTensix => "harvested tensix",
            CoreKind::Dram => "dram",
            CoreKind::HarvestedDram => "harvested dram",
            CoreKind::Ethernet => "ethernet",
            CoreKind::HarvestedEthernet => "harvested ethernet",
            CoreKind::Pcie => "pcie",
            CoreKind::HarvestedPcie => "harvested pcie",
            CoreKind::Arc => "arc",
            CoreKind::RouterOnly => "router-only",
            CoreKind::Empty => "empty",
        }
    }
}

impl fmt::Display for CoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A chip's unique id: from the card's board/ASIC id, or a simulated chip's id. Chips are
/// always named by this, never by a logical index that changes with enumeration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChipUid(pub u64);

impl fmt::Display for ChipUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#018x}", self.0)
    }
}
