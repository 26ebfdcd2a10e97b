//! Where a chip's ARC firmware answers the host: the NOC addresses of its registers, the
//! Wormhole ARC message protocol and the telemetry table, all as tt-umd reads them. Every
//! address here is a NOC address on the ARC tile (Wormhole 0-10, Blackhole 8-0).

use crate::Arch;

/// Wormhole: ARC message codes carry this prefix (tt-umd wormhole_implementation.hpp
/// `ARC_MSG_COMMON_PREFIX = 0xAA00`).
pub const WORMHOLE_ARC_MSG_PREFIX: u32 = 0xAA00;
/// Wormhole ARC message: report the harvested Tensix rows in the firmware's bit order
/// (tt-umd wormhole_implementation.hpp `arc_message_type::ARC_GET_HARVESTING = 0x57`).
pub const WORMHOLE_MSG_GET_HARVESTING: u32 = 0x57;

/// Base of the ARC APB registers in NOC space on Wormhole: tt-umd `ARC_NOC_ADDRESS_START`
/// (0x800000000) + `ARC_APB_NOC_XBAR_OFFSET_START` (0x80000000).
const WORMHOLE_ARC_APB_NOC_BASE: u64 = 0x8_8000_0000;
/// Base of the ARC APB registers in NOC space on Blackhole: tt-umd blackhole_implementation.hpp
/// `ARC_NOC_XBAR_ADDRESS_START = 0x80000000` (`get_arc_apb_noc_base_address`).
const BLACKHOLE_ARC_APB_NOC_BASE: u64 = 0x8000_0000;

/// Offsets inside the ARC APB space, identical on both chips (tt-umd
/// `ARC_RESET_UNIT_OFFSET = 0x30000`, `ARC_RESET_SCRATCH_OFFSET = +0x60`).
pub mod apb {
    /// Wormhole message argument in, first result out (`ARC_RESET_SCRATCH_RES0_OFFSET`).
    pub const SCRATCH_RES0: u64 = 0x3_0060 + 0xC;
    /// Wormhole second result (`ARC_RESET_SCRATCH_RES1_OFFSET`).
    pub const SCRATCH_RES1: u64 = 0x3_0060 + 0x10;
    /// Wormhole message code in, status out (`ARC_RESET_SCRATCH_STATUS_OFFSET`).
    pub const SCRATCH_STATUS: u64 = 0x3_0060 + 0x14;
    /// Wormhole misc control; bit 16 rings the firmware (`ARC_RESET_ARC_MISC_CNTL_OFFSET`).
    pub const MISC_CNTL: u64 = 0x3_0100;
    /// The doorbell bit of [`MISC_CNTL`] (tt-umd wormhole_arc_messenger.cpp `1 << 16`).
    pub const MISC_CNTL_TRIGGER: u32 = 1 << 16;
    /// Wormhole: ARC address of the telemetry table (tt-umd `NOC_NODEID_X_0` at
    /// `ARC_NOC_RESET_UNIT_BASE_ADDR` 0x880030000).
    pub const WORMHOLE_TELEMETRY_TABLE: u64 = 0x3_0000 + 0x1D0;
    /// Wormhole: ARC address of the telemetry values (`NOC_NODEID_Y_0`).
    pub const WORMHOLE_TELEMETRY_VALUES: u64 = 0x3_0000 + 0x1D4;
    /// Blackhole: address of the telemetry table (`SCRATCH_RAM_13`).
    pub const BLACKHOLE_TELEMETRY_TABLE: u64 = 0x3_0000 + 0x434;
    /// Blackhole: address of the telemetry values (`SCRATCH_RAM_12`).
    pub const BLACKHOLE_TELEMETRY_VALUES: u64 = 0x3_0000 + 0x430;
    /// NIU configuration of NOC0; bit 14 is NOC translation (tt-umd
    /// wormhole_tt_device.cpp `ARC_APB_NIU_0_OFFSET + NIU_CFG_0_OFFSET`, blackhole
    /// `NIU_CFG_NOC0_ARC_ADDR = 0x80050100`).
    pub const NIU0_CFG: u64 = 0x5_0000 + 0x100;
    /// The NOC translation bit of [`NIU0_CFG`].
    pub const NIU_CFG_TRANSLATION: u32 = 1 << 14;
}

/// What a Wormhole status register reads when the firmware does not know a message
/// (tt-umd `HANG_READ_VALUE`).
pub const STATUS_UNKNOWN_MESSAGE: u32 = 0xFFFF_FFFF;

/// NOC address of APB offset `offset` on `arch`'s ARC tile.
pub fn arc_apb_noc_address(arch: Arch, offset: u64) -> u64 {
    match arch {
        Arch::WormholeB0 => WORMHOLE_ARC_APB_NOC_BASE + offset,
        Arch::Blackhole => BLACKHOLE_ARC_APB_NOC_BASE + offset,
    }
}

/// The APB offsets of the registers holding the telemetry table and values addresses.
pub fn telemetry_pointer_offsets(arch: Arch) -> (u64, u64) {
    match arch {
        Arch::WormholeB0 => (apb::WORMHOLE_TELEMETRY_TABLE, apb::WORMHOLE_TELEMETRY_VALUES),
        Arch::Blackhole => (apb::BLACKHOLE_TELEMETRY_TABLE, apb::BLACKHOLE_TELEMETRY_VALUES),
    }
}

/// The NOC address of a telemetry pointer's target: Wormhole publishes ARC addresses, which the
/// NOC sees at `ARC_NOC_ADDRESS_START` (0x800000000) above (tt-umd
/// wormhole_arc_telemetry_reader.cpp); Blackhole's are used as they are.
pub fn telemetry_noc_address(arch: Arch, published: u32) -> u64 {
    match arch {
        Arch::WormholeB0 => 0x8_0000_0000 + u64::from(published),
        Arch::Blackhole => u64::from(published),
    }
}

/// Telemetry table layout (tt-umd arc_telemetry_reader.cpp): a `u32` version, a `u32` entry
/// count, then one `u32` per entry holding the tag in its low 16 bits and the index of the
/// value in the values array in its high 16 bits; values are `u32`s.
pub mod telemetry {
    /// Bytes before the first tag entry (version and entry count).
    pub const HEADER_BYTES: u64 = 8;
    /// Board id, high 32 bits (tt-umd telemetry.hpp `BOARD_ID_HIGH = 1`).
    pub const BOARD_ID_HIGH: u16 = 1;
    /// Board id, low 32 bits (`BOARD_ID_LOW = 2`).
    pub const BOARD_ID_LOW: u16 = 2;
    /// Enabled Tensix columns, firmware bit order (`ENABLED_TENSIX_COL = 34`).
    pub const ENABLED_TENSIX_COL: u16 = 34;
    /// Enabled Ethernet channels (`ENABLED_ETH = 35`).
    pub const ENABLED_ETH: u16 = 35;
    /// Enabled GDDR channels (`ENABLED_GDDR = 36`).
    pub const ENABLED_GDDR: u16 = 36;
    /// PCIe usage, two bits per PCIe tile, 1 = endpoint (`PCIE_USAGE = 38`).
    pub const PCIE_USAGE: u16 = 38;
    /// ASIC location on the board (`ASIC_LOCATION = 52`).
    pub const ASIC_LOCATION: u16 = 52;
    /// ASIC unique id, high 32 bits (`ASIC_ID_HIGH = 61`).
    pub const ASIC_ID_HIGH: u16 = 61;
    /// ASIC unique id, low 32 bits (`ASIC_ID_LOW = 62`).
    pub const ASIC_ID_LOW: u16 = 62;
    /// The PCIe usage value of a tile used as the endpoint (tt-umd blackhole_tt_device.cpp
    /// `pcie_usage_endpoint = 1`).
    pub const PCIE_USAGE_ENDPOINT: u32 = 1;
}

/// Harvesting masks from Blackhole telemetry values, as tt-umd's
/// `BlackholeTTDevice::get_chip_info` derives them: the complement of the enabled sets
/// (14 Tensix columns in firmware order, 8 GDDR channels, 14 Ethernet channels) and the PCIe
/// tiles whose usage is not "endpoint".
pub fn blackhole_masks_from_telemetry(
    enabled_tensix: u32,
    enabled_gddr: u32,
    enabled_eth: u32,
    pcie_usage: u32,
) -> crate::HarvestingMasks {
    let mut pcie = 0;
    for tile in 0..2 {
        if (pcie_usage >> (2 * tile)) & 0x3 != telemetry::PCIE_USAGE_ENDPOINT {
            pcie |= 1 << tile;
        }
    }
    crate::HarvestingMasks {
        tensix: Arch::Blackhole.tensix_mask_from_firmware(!enabled_tensix & 0x3FFF),
        dram: !enabled_gddr & 0xFF,
        eth: !enabled_eth & 0x3FFF,
        pcie,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_match_tt_umd() {
        // tt-umd wormhole_implementation.hpp ARC_RESET_SCRATCH_ADDR = 0x880030060,
        // ARC_RESET_MISC_CNTL_ADDR = 0x880030100, ARC_NOC_RESET_UNIT_BASE_ADDR = 0x880030000.
        assert_eq!(arc_apb_noc_address(Arch::WormholeB0, 0x3_0060), 0x8_8003_0060);
        assert_eq!(arc_apb_noc_address(Arch::WormholeB0, apb::MISC_CNTL), 0x8_8003_0100);
        assert_eq!(arc_apb_noc_address(Arch::WormholeB0, apb::SCRATCH_STATUS), 0x8_8003_0074);
        assert_eq!(
            arc_apb_noc_address(Arch::WormholeB0, apb::WORMHOLE_TELEMETRY_TABLE),
            0x8_8003_01D0
        );
        // tt-umd blackhole_implementation.hpp NIU_CFG_NOC0_ARC_ADDR = 0x80050100,
        // SCRATCH_RAM_12 = 0x30430, SCRATCH_RAM_13 = 0x30434.
        assert_eq!(arc_apb_noc_address(Arch::Blackhole, apb::NIU0_CFG), 0x8005_0100);
        assert_eq!(telemetry_pointer_offsets(Arch::Blackhole), (0x3_0434, 0x3_0430));
        assert_eq!(WORMHOLE_ARC_MSG_PREFIX | WORMHOLE_MSG_GET_HARVESTING, 0xAA57);
        assert_eq!(telemetry_noc_address(Arch::WormholeB0, 0x1000_0000), 0x8_1000_0000);
    }

    #[test]
    fn blackhole_telemetry_gives_tt_umd_masks() {
        // A P150 as tt-umd's blackhole_P150.yaml records it: Tensix columns 7 and 10 (NOC0 mask
        // 192), Ethernet channels 5 and 8 (288), PCIe tile 1 unused (2).
        let tensix_fw = Arch::Blackhole.tensix_mask_to_firmware(192);
        let masks =
            blackhole_masks_from_telemetry(!tensix_fw & 0x3FFF, 0xFF, !288 & 0x3FFF, 0b0001);
        assert_eq!(masks, crate::HarvestingMasks { tensix: 192, dram: 0, eth: 288, pcie: 2 });
        // In the firmware's order columns 7 and 10 are bits 12 and 13.
        assert_eq!(tensix_fw, (1 << 12) | (1 << 13));
    }
}
