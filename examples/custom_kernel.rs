//! Builds a kernel of your own from C with `kernels/build.sh` (Debian's
//! `riscv64-unknown-elf-gcc`, the flags of the committed kernels), loads it and runs it on
//! one core. Without the compiler it says so and exits successfully.
//!
//! ```sh
//! sudo apt-get install gcc-riscv64-unknown-elf
//! cargo run --example custom_kernel
//! cargo run --example custom_kernel -- sim:p150a   # any device spec
//! ```

use std::path::Path;
use std::process::Command;

use tt_accounting::BankType;
use tt_accounting::MemKind;
use tt_runtime::alloc::{BufferRequest, Layout, Policy};
use tt_runtime::program::{KernelImage, Processor, Program, Runtime};
use tt_runtime::soc::l1_map::TENSIX_KERNEL_REGION;

/// Sums its runtime args and writes the sum to the L1 address in arg 0, then returns 0.
const SOURCE: &str = r#"
#include "tt_kernel.h"

int kernel_main(void)
{
    uint32_t sum = 0;
    for (uint32_t i = 1; i < get_num_args(); i++)
        sum += get_arg_val(i);
    *(volatile uint32_t *)get_arg_val(0) = sum + my_x() * 1000 + my_y() * 100;
    return TT_EXIT_OK;
}
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let have_compiler = Command::new("riscv64-unknown-elf-gcc").arg("--version").output().is_ok();
    if !have_compiler {
        println!("skipped: riscv64-unknown-elf-gcc is not installed (apt-get install gcc-riscv64-unknown-elf)");
        return Ok(());
    }
    let dir = std::env::temp_dir().join(format!("tt-runtime-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let source = dir.join("sum_args.c");
    std::fs::write(&source, SOURCE)?;
    let build = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels/build.sh");
    let status = Command::new("bash").arg(build).arg(&dir).arg(&source).status()?;
    if !status.success() {
        return Err("kernels/build.sh failed".into());
    }
    let region = TENSIX_KERNEL_REGION.end - TENSIX_KERNEL_REGION.start;
    let image = KernelImage::from_file(&dir.join("sum_args.elf"), region)?;
    std::fs::remove_dir_all(&dir)?;

    // A device spec as the first argument (`sim:p150a`), else the default device.
    let rt = Runtime::open(std::env::args().nth(1).as_deref())?;
    let core = rt.worker_cores()[0];
    let mut program = Program::new("custom kernel example");
    let kernel = program.add_kernel("sum_args", image, Processor::DataMovement0, &[core]);
    // The result goes to 16 bytes of L1 placed (and counted) for it.
    let result = rt.allocator().allocate(&BufferRequest {
        bank_type: BankType::L1,
        kind: MemKind::L1,
        layout: Layout::Sharded { cores: &[core], shard_size: 16 },
        policy: Policy::default(),
        owner: "example: kernel result",
    })?;
    program.set_runtime_args(kernel, core, &[result.address() as u32, 1, 2, 3, 4])?;
    program.load(&rt)?.run()?;
    let got = rt.device().read32(core, result.address())?;
    let expected = 10 + u32::from(core.x) * 1000 + u32::from(core.y) * 100;
    assert_eq!(got, expected);
    println!("custom kernel on core {core} wrote {got}");
    Ok(())
}
