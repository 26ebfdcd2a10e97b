//! Our firmware at the documented reset pcs launches kernels from a message in L1.
//!
//! Bring-up holds a core's RISC-V cores in soft reset, writes the firmware at each reset pc
//! and releases them (`Device::start_firmware`); a launch writes the kernel, its launch block
//! and the processor's mailbox (`Device::launch`); waiting reads the mailbox
//! (`Device::wait`). All of it is L1 and tile-register writes through tt-device, the same
//! calls on a card as on the simulator.

// The helpers below are test code: a failed step should stop the test where it failed.
#![allow(clippy::unwrap_used, clippy::panic)]

use tt_device::{Device, ExecLimits, KernelStart, LaunchOutcome, NocCoord, OpenOptions};
use tt_program::KernelImage;
use tt_soc::kernel_abi::{self, ABI_VERSION, GO_IDLE, LAUNCH_BLOCK_BYTES, LAUNCH_MAGIC};
use tt_soc::l1_map::{self, MAILBOX_STRIDE, MAX_PROCESSORS, RESERVED_END};

const TIGHT_LOOP: &[u8] = include_bytes!("../kernels/elf/tight_loop.elf");

/// Places `kernel` for `processor` of `core` with runtime `args`; returns how to start it.
fn place(
    device: &Device,
    core: NocCoord,
    processor: u8,
    kernel: &KernelImage,
    args: &[u32],
) -> KernelStart {
    let image = RESERVED_END + u64::from(processor) * 0x2000;
    let block = image + 0x1000;
    let args_at = block + LAUNCH_BLOCK_BYTES;
    device.write(core, image, kernel.image()).unwrap();
    let arch = kernel_abi::arch_code(device.arch());
    let (x, y) = (u32::from(core.x), u32::from(core.y));
    let n = args.len() as u32;
    let fields = [LAUNCH_MAGIC, ABI_VERSION, x, y, 0, 0, n, args_at as u32, 0, 0, 0, 0, arch];
    let bytes: Vec<u8> =
        fields.iter().chain(&[0, 0, 0]).chain(args).flat_map(|w| w.to_le_bytes()).collect();
    device.write(core, block, &bytes).unwrap();
    KernelStart {
        core,
        processor,
        entry: image as u32 + kernel.entry(),
        launch_block: block as u32,
    }
}

fn exit_codes(outcomes: &[LaunchOutcome]) -> Vec<u32> {
    outcomes
        .iter()
        .map(|o| match o {
            LaunchOutcome::Done { exit_code, .. } => *exit_code,
            LaunchOutcome::Error { message, .. } => panic!("{message}"),
        })
        .collect()
}

fn launch_and_wait_on(device: &Device) {
    let firmware = tt_program::firmware().unwrap();
    let kernel = KernelImage::from_elf("tight_loop.elf", TIGHT_LOOP, 0x1000).unwrap();
    let cores: Vec<NocCoord> = device.soc().tensix_cores()[..2].to_vec();
    for core in &cores {
        device.start_firmware(*core, firmware.image()).unwrap();
        for processor in 0..MAX_PROCESSORS {
            let mailbox = l1_map::MAILBOX_BASE + processor * MAILBOX_STRIDE;
            let go = device.read32(*core, mailbox + kernel_abi::MAILBOX_GO).unwrap();
            assert_eq!(go, GO_IDLE, "the firmware waits without touching its mailbox");
        }
    }
    // Every processor of both cores counts to 1000 and exits with 0.
    let mut starts = Vec::new();
    for core in &cores {
        for processor in 0..MAX_PROCESSORS as u8 {
            starts.push(place(device, *core, processor, &kernel, &[1000]));
        }
    }
    let launch = device.launch(&starts).unwrap();
    let outcomes = device.wait(launch, &ExecLimits::default()).unwrap();
    assert_eq!(exit_codes(&outcomes), vec![0; 10]);
    // The firmware loops: a second launch on the same processor, now without its argument,
    // returns the kernel's own error code (TT_EXIT_MISSING_ARGS).
    let again = place(device, cores[0], 1, &kernel, &[]);
    let outcomes = device.wait(device.launch(&[again]).unwrap(), &ExecLimits::default()).unwrap();
    assert_eq!(exit_codes(&outcomes), [2]);
    for core in &cores {
        device.hold_in_reset(*core).unwrap();
    }
}

#[test]
fn firmware_launches_kernels_from_l1_messages_on_the_simulator() {
    for spec in ["sim:wormhole_b0", "sim:blackhole"] {
        let dir = tempfile::tempdir().unwrap();
        let options = OpenOptions { sim_dir: Some(dir.path().to_path_buf()), ..Default::default() };
        let device = Device::open_with(spec, &options).unwrap();
        launch_and_wait_on(&device);
    }
}

#[test]
#[ignore = "needs a Tenstorrent card (/dev/tenstorrent/0); not validated on hardware"]
fn firmware_launches_kernels_from_l1_messages_on_a_card() {
    let device = Device::open("/dev/tenstorrent/0").unwrap();
    launch_and_wait_on(&device);
}
