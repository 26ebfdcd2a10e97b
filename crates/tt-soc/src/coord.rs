use std::fmt;

/// A coordinate as a NOC with translation on decodes it (tt-umd's TRANSLATED system): what a
/// TLB window is programmed with and what a NOC command carries on a chip whose firmware turned
/// translation on. A distinct type from [`NocCoord`] so that code programming hardware cannot
/// be handed a NOC0 coordinate where the hardware decodes translated ones (issue 19: the
/// register window did exactly that on Blackhole). Built only by [`crate::SocDescriptor`]'s
/// conversions, or from raw numbers read back from hardware with [`TranslatedCoord::from_raw`].
///
/// ```compile_fail
/// use tt_soc::{Arch, NocCoord, SocDescriptor};
/// let soc = SocDescriptor::builtin(Arch::Blackhole);
/// // A NOC0 coordinate is not a translated one: this does not compile.
/// let _ = soc.translated_to_noc0(NocCoord::new(1, 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TranslatedCoord {
    x: u16,
    y: u16,
}

impl TranslatedCoord {
    /// A translated coordinate from the numbers a TLB register or a NOC command carries.
    pub const fn from_raw(x: u16, y: u16) -> Self {
        Self { x, y }
    }

    /// Column, as programmed into hardware.
    pub const fn x(self) -> u16 {
        self.x
    }

    /// Row, as programmed into hardware.
    pub const fn y(self) -> u16 {
        self.y
    }
}

impl fmt::Display for TranslatedCoord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "translated ({}, {})", self.x, self.y)
    }
}

/// A coordinate system whose coordinates are plain public (x, y) pairs: the struct, its
/// constructor and its display (`prefix` then `(x, y)`), the same for every such system.
macro_rules! plain_coord {
    ($(#[$doc:meta])* $name:ident, $new_doc:literal, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name {
            /// Column.
            pub x: u16,
            /// Row.
            pub y: u16,
        }

        impl $name {
            #[doc = $new_doc]
            pub const fn new(x: u16, y: u16) -> Self {
                Self { x, y }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "({}, {})"), self.x, self.y)
            }
        }
    };
}

plain_coord!(
    /// A core's position on the NOC0 grid (what tt-umd calls a NOC0 or physical coordinate).
    NocCoord,
    "The core at column `x`, row `y`.",
    ""
);

plain_coord!(
    /// A core's position on the NOC1 grid: NOC0 seen from the opposite corner. A distinct type
    /// so that a NOC1 coordinate is never taken for a NOC0 one.
    Noc1Coord,
    "The NOC1 location at column `x`, row `y`.",
    "noc1 "
);

plain_coord!(
    /// A Tensix core's position in the usable (harvested) worker grid, row-major from (0, 0).
    LogicalCoord,
    "The worker at logical column `x`, row `y`.",
    "logical "
);

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
