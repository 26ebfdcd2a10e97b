//! The simulated ARC firmware: the registers and telemetry a host reads to learn the board,
//! its harvesting and its unique id, and the Wormhole ARC message it answers.
//!
//! The ARC tile models two address ranges and nothing else (a window elsewhere on the tile is
//! refused): the APB registers (tt-umd `ARC_APB_ADDRESS_RANGE`, 1 MiB) and 512 KiB of memory
//! where the firmware keeps its telemetry table. On Wormhole that memory is the ARC CSM
//! (tt-umd `ARC_CSM_NOC_XBAR_OFFSET_START` 0x10000000 - 0x1007FFFF, seen from the NOC at
//! `ARC_NOC_ADDRESS_START` above); Blackhole's firmware publishes an address of its own choosing
//! in SCRATCH_RAM_13, and the simulated one chooses 0x10000000. The host only ever follows the
//! published pointers, as tt-umd does.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tt_soc::firmware::{self, apb, telemetry};
use tt_soc::{Arch, HarvestingMasks};

use crate::layout::ChipLayout;

/// Bytes of the modelled APB range.
const APB_BYTES: u64 = 1 << 20;
/// Bytes of the modelled telemetry memory.
const TELEMETRY_BYTES: u64 = 512 << 10;
/// ARC address of the telemetry memory (see the module comment).
const TELEMETRY_ARC_ADDR: u32 = 0x1000_0000;
/// Offset of the values array after the table inside the telemetry memory.
const VALUES_OFFSET: u32 = 0x1000;

/// The ARC tile's modelled ranges as (NOC base, bytes).
pub(crate) fn arc_ranges(arch: Arch) -> [(u64, u64); 2] {
    [
        (firmware::arc_apb_noc_address(arch, 0), APB_BYTES),
        (firmware::telemetry_noc_address(arch, TELEMETRY_ARC_ADDR), TELEMETRY_BYTES),
    ]
}

/// What the simulated firmware reports about its chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirmwareIdentity {
    /// Board id (0 for a bare chip, which belongs to no board).
    pub board_id: u64,
    /// ASIC location on the board.
    pub asic_location: u8,
    /// The chip's unique id (reported as ASIC_ID_HIGH/LOW).
    pub unique_id: u64,
    /// Harvesting in tt-umd's convention.
    pub harvesting: HarvestingMasks,
}

fn io_err(e: std::io::Error) -> String {
    e.to_string()
}

fn write_u32(file: &File, layout: &ChipLayout, noc_addr: u64, value: u32) -> Result<(), String> {
    let (off, _) = layout
        .arc_memory(noc_addr)
        .ok_or_else(|| format!("ARC address {noc_addr:#x} is not modelled"))?;
    file.write_all_at(&value.to_le_bytes(), off).map_err(io_err)
}

fn read_u32(file: &File, layout: &ChipLayout, noc_addr: u64) -> Result<u32, String> {
    let (off, _) = layout
        .arc_memory(noc_addr)
        .ok_or_else(|| format!("ARC address {noc_addr:#x} is not modelled"))?;
    let mut b = [0u8; 4];
    file.read_exact_at(&mut b, off).map_err(io_err)?;
    Ok(u32::from_le_bytes(b))
}

/// The words the firmware publishes at boot, as (NOC address on the ARC tile, value): NOC
/// translation on in the NIU config, the telemetry pointers, table and values. The simulated
/// chip writes them into its file; a test can write them into any model of a card.
pub fn published_words(arch: Arch, id: &FirmwareIdentity) -> Vec<(u64, u32)> {
    let apb = |offset| firmware::arc_apb_noc_address(arch, offset);
    let (table_reg, values_reg) = firmware::telemetry_pointer_offsets(arch);
    let mut words = vec![
        (apb(apb::NIU0_CFG), apb::NIU_CFG_TRANSLATION),
        (apb(table_reg), TELEMETRY_ARC_ADDR),
        (apb(values_reg), TELEMETRY_ARC_ADDR + VALUES_OFFSET),
    ];
    let h = id.harvesting;
    let mut entries: Vec<(u16, u32)> = vec![
        (telemetry::BOARD_ID_HIGH, (id.board_id >> 32) as u32),
        (telemetry::BOARD_ID_LOW, id.board_id as u32),
        (telemetry::ASIC_LOCATION, u32::from(id.asic_location)),
        (telemetry::ASIC_ID_HIGH, (id.unique_id >> 32) as u32),
        (telemetry::ASIC_ID_LOW, id.unique_id as u32),
    ];
    if arch == Arch::Blackhole {
        // The enabled sets, in the firmware's order; tt-umd's blackhole_tt_device.cpp reads
        // the complement back as the harvesting masks.
        let pcie_usage = (0..2)
            .filter(|tile| h.pcie & (1 << tile) == 0)
            .fold(0, |usage, tile| usage | (telemetry::PCIE_USAGE_ENDPOINT << (2 * tile)));
        entries.extend([
            (telemetry::ENABLED_TENSIX_COL, !arch.tensix_mask_to_firmware(h.tensix) & 0x3FFF),
            (telemetry::ENABLED_ETH, !h.eth & 0x3FFF),
            (telemetry::ENABLED_GDDR, !h.dram & 0xFF),
            (telemetry::PCIE_USAGE, pcie_usage),
        ]);
    }
    let table = firmware::telemetry_noc_address(arch, TELEMETRY_ARC_ADDR);
    let values = firmware::telemetry_noc_address(arch, TELEMETRY_ARC_ADDR + VALUES_OFFSET);
    words.push((table, 1)); // table version
    words.push((table + 4, entries.len() as u32));
    for (i, (tag, value)) in entries.iter().enumerate() {
        let entry = u32::from(*tag) | ((i as u32) << 16);
        words.push((table + telemetry::HEADER_BYTES + 4 * i as u64, entry));
        words.push((values + 4 * i as u64, *value));
    }
    words
}

/// Writes the firmware's published state into the chip file. Done at every open, as firmware
/// does at boot.
pub(crate) fn publish(
    file: &File,
    layout: &ChipLayout,
    arch: Arch,
    id: &FirmwareIdentity,
) -> Result<(), String> {
    published_words(arch, id)
        .into_iter()
        .try_for_each(|(addr, value)| write_u32(file, layout, addr, value))
}

/// The Wormhole firmware's message loop, run while the chip is open in this process: it
/// watches the doorbell bit in MISC_CNTL and answers the message in SCRATCH_STATUS as tt-umd's
/// wormhole_arc_messenger.cpp expects (result in RES0, status = code & 0xff | exit << 16,
/// doorbell cleared). A message it does not model is answered with the "not recognised" status
/// and logged as an error.
pub(crate) struct ArcMessageLoop {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// How often the loop looks at the doorbell.
const POLL: Duration = Duration::from_micros(500);

impl ArcMessageLoop {
    /// Starts the loop over `file`; `harvesting_fw` is the Tensix mask in firmware order.
    pub(crate) fn start(
        file: File,
        layout: ChipLayout,
        harvesting_fw: u32,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let inherit = crate::inherit::ChipFd::register(&file);
        let thread = std::thread::Builder::new().name("tt-sim-arc".into()).spawn(move || {
            // Dropped at the end of the loop, before the captured file closes.
            let _inherit = inherit;
            while !stop_flag.load(Ordering::Relaxed) {
                if let Err(e) = answer_pending(&file, &layout, harvesting_fw) {
                    tracing::error!(error = %e, "simulated ARC firmware cannot reach its registers");
                    return;
                }
                std::thread::sleep(POLL);
            }
        })?;
        Ok(ArcMessageLoop { stop, thread: Some(thread) })
    }
}

impl Drop for ArcMessageLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers the message whose doorbell is rung, if any.
pub(crate) fn answer_pending(
    file: &File,
    layout: &ChipLayout,
    harvesting_fw: u32,
) -> Result<(), String> {
    answer_wormhole_message(
        |addr| read_u32(file, layout, addr),
        |addr, value| write_u32(file, layout, addr, value),
        harvesting_fw,
    )
}

/// One step of the Wormhole firmware's message loop over any model of the ARC registers: if
/// the doorbell is rung, answers the message (`harvesting_fw` is the Tensix mask in the
/// firmware's order) and clears the doorbell.
pub fn answer_wormhole_message<E>(
    read: impl Fn(u64) -> Result<u32, E>,
    write: impl Fn(u64, u32) -> Result<(), E>,
    harvesting_fw: u32,
) -> Result<(), E> {
    let apb = |offset| firmware::arc_apb_noc_address(Arch::WormholeB0, offset);
    let misc = read(apb(apb::MISC_CNTL))?;
    if misc & apb::MISC_CNTL_TRIGGER == 0 {
        return Ok(());
    }
    let code = read(apb(apb::SCRATCH_STATUS))?;
    let status =
        if code == firmware::WORMHOLE_ARC_MSG_PREFIX | firmware::WORMHOLE_MSG_GET_HARVESTING {
            write(apb(apb::SCRATCH_RES0), harvesting_fw)?;
            code & 0xff
        } else {
            tracing::error!(
                code = format!("{code:#x}"),
                "the simulated ARC firmware does not model this message"
            );
            firmware::STATUS_UNKNOWN_MESSAGE
        };
    write(apb(apb::SCRATCH_STATUS), status)?;
    write(apb(apb::MISC_CNTL), misc & !apb::MISC_CNTL_TRIGGER)
}
