//! Opens the default device (the first card, else a simulated Wormhole B0) and prints what it
//! is: architecture, worker grid, memory sizes and the soft-reset state of a worker core.
//!
//! ```sh
//! cargo run --example open_device
//! cargo run --example open_device -- sim:p150a   # any device spec
//! ```

use tt_runtime::device::Device;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A device spec as the first argument (`sim:p150a`), else the default device.
    let device = match std::env::args().nth(1) {
        Some(spec) => Device::open(&spec)?,
        None => Device::open_default()?,
    };
    let soc = device.soc();
    let (columns, rows) = soc.worker_grid_size();
    println!(
        "opened {} ({}): {} worker cores in a {columns}x{rows} grid, {} KiB of L1 each, {} GiB of DRAM",
        device.spec(),
        device.arch(),
        soc.tensix_cores().len(),
        soc.worker_l1_size() / 1024,
        soc.dram_size() >> 30,
    );
    let core = soc.tensix_cores()[0];
    // RISCV_DEBUG_REG_SOFT_RESET_0, read through a TLB window as on a card.
    println!("soft reset of core {core}: {:?}", device.soft_reset(core)?);
    Ok(())
}
