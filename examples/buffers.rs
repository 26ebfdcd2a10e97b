//! Places a DRAM buffer interleaved over every bank and an L1 buffer on a few worker cores,
//! writes them and reads them back, and shows that the ledger counts exactly what is placed.
//!
//! ```sh
//! cargo run --example buffers
//! cargo run --example buffers -- sim:p150a   # any device spec
//! ```

use tt_accounting::BankType;
use tt_accounting::MemKind;
use tt_runtime::alloc::{BufferRequest, Layout, Policy};
use tt_runtime::program::{Buffer, Runtime};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A device spec as the first argument (`sim:p150a`), else the default device.
    let rt = Runtime::open(std::env::args().nth(1).as_deref())?;
    println!("device {}", rt.device().spec());

    // DRAM: 16 pages of 2 KiB, page p in bank p % banks.
    let dram = Buffer::dram(&rt, 2048, 16, "example: DRAM buffer")?;
    let data: Vec<u8> = (0..dram.len()).map(|i| (i * 31 % 251) as u8).collect();
    dram.write(&data)?;
    let mut back = vec![0; data.len()];
    dram.read(&mut back)?;
    assert_eq!(back, data);
    println!("DRAM buffer at {:#x}: {} bytes written and read back", dram.address(), dram.len());

    // L1: 4 KiB at the same address on each of four worker cores.
    let cores = rt.worker_cores()[..4].to_vec();
    let l1 = rt.allocator().allocate(&BufferRequest {
        bank_type: BankType::L1,
        kind: MemKind::L1,
        layout: Layout::Sharded { cores: &cores, shard_size: 4096 },
        policy: Policy::default(),
        owner: "example: L1 buffer",
    })?;
    for (i, core) in cores.iter().enumerate() {
        let shard = vec![i as u8; 4096];
        rt.device().write(*core, l1.address(), &shard)?;
        let mut back = vec![0; 4096];
        rt.device().read(*core, l1.address(), &mut back)?;
        assert_eq!(back, shard);
    }
    println!("L1 buffer at {:#x} on {} cores: written and read back", l1.address(), cores.len());

    let placed = l1.total_bytes();
    println!("the ledger counts {placed} bytes of L1 for it ({} per core)", placed / 4);
    drop(l1);
    drop(dram);
    rt.close()?;
    Ok(())
}
