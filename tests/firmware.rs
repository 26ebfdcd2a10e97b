//! Our firmware at the documented reset pcs launches kernels from a message in L1.
//!
//! Bring-up holds a core's RISC-V cores in soft reset, writes the firmware at each reset pc
//! and releases them; a launch writes the kernel, its launch block and the processor's
//! mailbox; waiting reads the mailbox. All of it is L1 and tile-register writes through
//! tt-device, the same calls on a card as on the simulator. (tt-program still launches
//! through the simulator's mailbox path; it moves to this one next.)

// The helpers below are test code: a failed step should stop the test where it failed.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use tt_device::{Device, NocCoord, OpenOptions};
use tt_program::KernelImage;
use tt_soc::kernel_abi::{
    self, ABI_VERSION, GO_DONE, GO_IDLE, GO_START, LAUNCH_BLOCK_BYTES, LAUNCH_MAGIC,
};
use tt_soc::l1_map::{self, FIRMWARE_SLOT_BYTES, MAILBOX_STRIDE, MAX_PROCESSORS, RESERVED_END};
use tt_soc::tile::SoftReset;

const FIRMWARE: &[u8] = include_bytes!("../kernels/elf/firmware.elf");
const TIGHT_LOOP: &[u8] = include_bytes!("../kernels/elf/tight_loop.elf");

fn mailbox(processor: u8) -> u64 {
    l1_map::MAILBOX_BASE + u64::from(processor) * MAILBOX_STRIDE
}

/// Holds every RISC-V core of `core` in reset, writes the firmware at each reset pc, clears
/// the mailboxes and lets the cores go.
fn bring_up(device: &Device, core: NocCoord) {
    let firmware = KernelImage::from_elf("firmware.elf", FIRMWARE, FIRMWARE_SLOT_BYTES).unwrap();
    assert_eq!(firmware.entry(), 0, "the firmware starts at the top of its slot");
    let held = device.soft_reset(core).unwrap() | SoftReset::ALL_RISCV;
    device.set_soft_reset(core, held).unwrap();
    for processor in 0..MAX_PROCESSORS {
        let slot = l1_map::firmware_slot(processor).unwrap();
        device.write(core, slot, firmware.image()).unwrap();
        device.write(core, mailbox(processor as u8), &[0; MAILBOX_STRIDE as usize]).unwrap();
    }
    device.set_soft_reset(core, held - SoftReset::ALL_RISCV).unwrap();
}

/// Places `kernel` for `processor` of `core` with runtime `args` and starts it.
fn launch(device: &Device, core: NocCoord, processor: u8, kernel: &KernelImage, args: &[u32]) {
    let image = RESERVED_END + u64::from(processor) * 0x2000;
    let block = image + 0x1000;
    let args_at = block + LAUNCH_BLOCK_BYTES;
    device.write(core, image, kernel.image()).unwrap();
    let arch = kernel_abi::arch_code(device.arch());
    let fields = [
        LAUNCH_MAGIC,
        ABI_VERSION,
        u32::from(core.x),
        u32::from(core.y),
        0,
        0,
        args.len() as u32,
        args_at as u32,
        0,
        0,
        0,
        0,
        arch,
        0,
        0,
        0,
    ];
    let bytes: Vec<u8> = fields.iter().chain(args).flat_map(|w| w.to_le_bytes()).collect();
    device.write(core, block, &bytes).unwrap();
    let m = mailbox(processor);
    let entry = image as u32 + kernel.entry();
    device.write32(core, m + kernel_abi::MAILBOX_ENTRY, entry).unwrap();
    device.write32(core, m + kernel_abi::MAILBOX_LAUNCH, block as u32).unwrap();
    device.write32(core, m + kernel_abi::MAILBOX_GO, GO_START).unwrap();
}

/// Waits for `processor` of `core` to finish and returns its exit code.
fn wait(device: &Device, core: NocCoord, processor: u8) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    let m = mailbox(processor);
    while device.read32(core, m + kernel_abi::MAILBOX_GO).unwrap() != GO_DONE {
        assert!(Instant::now() < deadline, "core {core} processor {processor} did not finish");
        std::thread::sleep(Duration::from_millis(1));
    }
    device.read32(core, m + kernel_abi::MAILBOX_RESULT).unwrap()
}

fn launch_and_wait_on(device: &Device) {
    let kernel = KernelImage::from_elf("tight_loop.elf", TIGHT_LOOP, 0x1000).unwrap();
    let cores: Vec<NocCoord> = device.soc().tensix_cores()[..2].to_vec();
    for core in &cores {
        bring_up(device, *core);
        for processor in 0..MAX_PROCESSORS as u8 {
            let go = device.read32(*core, mailbox(processor) + kernel_abi::MAILBOX_GO).unwrap();
            assert_eq!(go, GO_IDLE, "the firmware waits without touching its mailbox");
        }
    }
    // Every processor of both cores counts to 1000 and exits with 0.
    for core in &cores {
        for processor in 0..MAX_PROCESSORS as u8 {
            launch(device, *core, processor, &kernel, &[1000]);
        }
    }
    for core in &cores {
        for processor in 0..MAX_PROCESSORS as u8 {
            assert_eq!(wait(device, *core, processor), 0, "{core} processor {processor}");
        }
    }
    // The firmware loops: a second launch on the same processor, now without its argument,
    // returns the kernel's own error code (TT_EXIT_MISSING_ARGS).
    launch(device, cores[0], 1, &kernel, &[]);
    assert_eq!(wait(device, cores[0], 1), 2);
}

#[test]
fn firmware_launches_kernels_from_l1_messages_on_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let options = OpenOptions { sim_dir: Some(dir.path().to_path_buf()), ..Default::default() };
    let device = Device::open_with("sim:wormhole_b0", &options).unwrap();
    launch_and_wait_on(&device);
}

#[test]
#[ignore = "needs a Wormhole B0 card (/dev/tenstorrent/0); not validated on hardware"]
fn firmware_launches_kernels_from_l1_messages_on_a_card() {
    let device = Device::open("/dev/tenstorrent/0").unwrap();
    launch_and_wait_on(&device);
}
