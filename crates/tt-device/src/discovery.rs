//! Learning the board from the chip's firmware, the way tt-umd does, through one code path for
//! cards and simulated chips: ARC register reads and writes on the ARC tile.
//!
//! - Identity (both chips): the telemetry table the firmware publishes (board id, ASIC
//!   location, unique id), found through two pointer registers.
//! - Harvesting: Wormhole answers the ARC message `0xAA57` (tt-umd wormhole_tt_device.cpp
//!   `get_chip_info`); Blackhole reports enabled Tensix columns, GDDR, Ethernet and PCIe usage in
//!   telemetry (tt-umd blackhole_tt_device.cpp `get_chip_info`).
//! - NOC translation: bit 14 of the NIU configuration.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tt_soc::firmware::{self, apb, telemetry};
use tt_soc::{Arch, BoardType, HarvestingMasks};

use crate::DeviceError;

/// What a chip's firmware says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChipIdentity {
    /// The board id (0 when the firmware reports none, as a bare simulated chip does).
    pub board_id: u64,
    /// The board type the board id encodes, if tt-umd knows it.
    pub board_type: Option<BoardType>,
    /// The chip's position on its board (0 for the chip with the PCIe link).
    pub asic_location: u8,
    /// The chip's unique id (telemetry ASIC_ID_HIGH/LOW), when the firmware reports one.
    pub unique_id: Option<u64>,
    /// Harvesting in tt-umd's convention.
    pub harvesting: HarvestingMasks,
    /// Whether NOC translation is on.
    pub noc_translation: bool,
}

/// 32-bit access to NOC addresses on the ARC tile.
pub(crate) trait ArcAccess {
    /// Reads the word at NOC address `addr` of the ARC tile.
    fn arc_read32(&self, addr: u64) -> Result<u32, DeviceError>;
    /// Writes the word at NOC address `addr` of the ARC tile.
    fn arc_write32(&self, addr: u64, value: u32) -> Result<(), DeviceError>;
}

/// How long to wait for the firmware (tt-umd waits about a second for ARC messages).
pub(crate) const FIRMWARE_TIMEOUT: Duration = Duration::from_secs(2);

/// More entries than any firmware publishes (tt-umd's tags stop at 69): a guard against
/// reading a garbage table.
const MAX_TELEMETRY_ENTRIES: u32 = 1024;

fn no_answer(device: &str, what: String) -> DeviceError {
    DeviceError::Firmware { device: device.to_string(), what }
}

/// Reads the telemetry table into tag -> value.
fn read_telemetry(
    arc: &dyn ArcAccess,
    arch: Arch,
    device: &str,
) -> Result<BTreeMap<u16, u32>, DeviceError> {
    let (table_reg, values_reg) = firmware::telemetry_pointer_offsets(arch);
    let table_ptr = arc.arc_read32(firmware::arc_apb_noc_address(arch, table_reg))?;
    let values_ptr = arc.arc_read32(firmware::arc_apb_noc_address(arch, values_reg))?;
    if table_ptr == 0 || values_ptr == 0 {
        return Err(no_answer(
            device,
            "the firmware has not published its telemetry table (pointer registers read 0); \
             check that the card's firmware booted (tt-smi) or reset it"
                .into(),
        ));
    }
    let table = firmware::telemetry_noc_address(arch, table_ptr);
    let values = firmware::telemetry_noc_address(arch, values_ptr);
    let count = arc.arc_read32(table + 4)?;
    if count > MAX_TELEMETRY_ENTRIES {
        return Err(no_answer(device, format!("the telemetry table claims {count} entries")));
    }
    let mut out = BTreeMap::new();
    for i in 0..u64::from(count) {
        let entry = arc.arc_read32(table + telemetry::HEADER_BYTES + 4 * i)?;
        let (tag, index) = ((entry & 0xFFFF) as u16, u64::from(entry >> 16));
        out.insert(tag, arc.arc_read32(values + 4 * index)?);
    }
    Ok(out)
}

/// Sends a Wormhole ARC message with no arguments and returns its first result, following
/// tt-umd's wormhole_arc_messenger.cpp step by step.
pub(crate) fn wormhole_arc_message(
    arc: &dyn ArcAccess,
    code: u32,
    device: &str,
) -> Result<u32, DeviceError> {
    let reg = |offset| firmware::arc_apb_noc_address(Arch::WormholeB0, offset);
    let message = firmware::WORMHOLE_ARC_MSG_PREFIX | code;
    // Arguments 0 and 0, packed as arg0 | arg1 << 16, as tt-umd's get_chip_info sends them.
    arc.arc_write32(reg(apb::SCRATCH_RES0), 0)?;
    arc.arc_write32(reg(apb::SCRATCH_STATUS), message)?;
    let deadline = Instant::now() + FIRMWARE_TIMEOUT;
    let mut misc = arc.arc_read32(reg(apb::MISC_CNTL))?;
    while misc & apb::MISC_CNTL_TRIGGER != 0 {
        if Instant::now() > deadline {
            return Err(no_answer(device, "the ARC never cleared its message doorbell".into()));
        }
        std::thread::sleep(Duration::from_micros(100));
        misc = arc.arc_read32(reg(apb::MISC_CNTL))?;
    }
    arc.arc_write32(reg(apb::MISC_CNTL), misc | apb::MISC_CNTL_TRIGGER)?;
    loop {
        let status = arc.arc_read32(reg(apb::SCRATCH_STATUS))?;
        if status & 0xFFFF == message & 0xFF {
            let exit = status >> 16;
            if exit != 0 {
                return Err(no_answer(
                    device,
                    format!("ARC message {message:#x} failed with exit code {exit}"),
                ));
            }
            return arc.arc_read32(reg(apb::SCRATCH_RES0));
        }
        if status == firmware::STATUS_UNKNOWN_MESSAGE {
            return Err(no_answer(
                device,
                format!("the firmware does not know ARC message {message:#x}"),
            ));
        }
        if Instant::now() > deadline {
            return Err(no_answer(
                device,
                format!("no answer to ARC message {message:#x} within {FIRMWARE_TIMEOUT:?}"),
            ));
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Asks the chip's firmware for its identity and harvesting.
pub(crate) fn discover(
    arc: &dyn ArcAccess,
    arch: Arch,
    device: &str,
) -> Result<ChipIdentity, DeviceError> {
    let tags = match (read_telemetry(arc, arch, device), arch) {
        (Ok(tags), _) => tags,
        // Wormhole firmware older than 18.4 publishes no telemetry table there (tt-umd then
        // reads the SMBus telemetry, which we do not); its harvesting still comes from the
        // ARC message, so only the board identity is unknown.
        (Err(DeviceError::Firmware { what, .. }), Arch::WormholeB0) => {
            tracing::warn!(device, reason = %what, "no telemetry table; the board and unique id stay unknown");
            BTreeMap::new()
        }
        (Err(e), _) => return Err(e),
    };
    let pair = |high: u16, low: u16| match (tags.get(&high), tags.get(&low)) {
        (Some(h), Some(l)) => Some((u64::from(*h) << 32) | u64::from(*l)),
        _ => None,
    };
    let board_id = pair(telemetry::BOARD_ID_HIGH, telemetry::BOARD_ID_LOW).unwrap_or(0);
    let harvesting = match arch {
        Arch::WormholeB0 => {
            let reported =
                wormhole_arc_message(arc, firmware::WORMHOLE_MSG_GET_HARVESTING, device)?;
            HarvestingMasks::tensix(arch.tensix_mask_from_firmware(reported))
        }
        // A tag the firmware does not publish means nothing harvested, as in tt-umd.
        Arch::Blackhole => firmware::blackhole_masks_from_telemetry(
            tags.get(&telemetry::ENABLED_TENSIX_COL).copied().unwrap_or(0x3FFF),
            tags.get(&telemetry::ENABLED_GDDR).copied().unwrap_or(0xFF),
            tags.get(&telemetry::ENABLED_ETH).copied().unwrap_or(0x3FFF),
            tags.get(&telemetry::PCIE_USAGE).copied().unwrap_or(0b0101),
        ),
    };
    let niu = arc.arc_read32(firmware::arc_apb_noc_address(arch, apb::NIU0_CFG))?;
    Ok(ChipIdentity {
        board_id,
        board_type: BoardType::from_board_id(board_id),
        asic_location: tags.get(&telemetry::ASIC_LOCATION).map_or(0, |v| *v as u8),
        unique_id: pair(telemetry::ASIC_ID_HIGH, telemetry::ASIC_ID_LOW),
        harvesting,
        noc_translation: niu & apb::NIU_CFG_TRANSLATION != 0,
    })
}
