//! Runs a program with a kernel shipped in `kernels/`: `loopback` copies pages of one DRAM
//! buffer to another through a circular buffer in each core's L1, using the kernel API's
//! `noc_async_read_page` / `noc_async_write_page` and their barriers.
//!
//! ```sh
//! cargo run --example loopback_program
//! cargo run --example loopback_program -- sim:p150a   # any device spec
//! ```

use tt_accounting::BankType;
use tt_runtime::program::workloads::bank_table_on;
use tt_runtime::program::{builtin_kernel, Buffer, Processor, Program, Runtime};

const PAGE: u64 = 2048;
const PAGES_PER_CORE: u64 = 4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A device spec as the first argument (`sim:p150a`), else the default device.
    let rt = Runtime::open(std::env::args().nth(1).as_deref())?;
    let cores = rt.worker_cores()[..8].to_vec();
    let pages = PAGES_PER_CORE * cores.len() as u64;
    let src = Buffer::dram(&rt, PAGE, pages, "example: source")?;
    let dst = Buffer::dram(&rt, PAGE, pages, "example: destination")?;
    // Each core gets the DRAM bank table in its L1: where page p of a buffer lives.
    let table = bank_table_on(&rt, &cores)?;
    let banks = rt.allocator().bank_count(BankType::Dram) as u64;

    let mut program = Program::new("loopback example");
    let kernel = program.add_kernel(
        "loopback",
        builtin_kernel("loopback")?,
        Processor::DataMovement0,
        &cores,
    );
    for (i, core) in cores.iter().enumerate() {
        let args = [
            src.address(),
            dst.address(),
            PAGE,
            i as u64 * PAGES_PER_CORE,
            PAGES_PER_CORE,
            table.address(),
            banks,
        ];
        program.set_runtime_args(kernel, *core, &args.map(|a| a as u32))?;
    }
    program.add_circular_buffer(0, &cores, PAGE as u32, 1);

    let data: Vec<u8> = (0..src.len()).map(|i| (i * 7 % 253) as u8).collect();
    src.write(&data)?;
    let loaded = program.load(&rt)?;
    loaded.run()?;
    let mut out = vec![0; data.len()];
    dst.read(&mut out)?;
    assert_eq!(out, data, "the destination holds the source");
    println!("{} cores copied {} bytes DRAM -> L1 -> DRAM", cores.len(), src.len());
    Ok(())
}
