use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::Instant;

use tt_soc::{Arch, NocCoord};

use crate::{SimChip, SimError, SimKind};

#[test]
fn both_architectures_open_as_sparse_files() {
    let dir = tempfile::tempdir().unwrap();
    for arch in Arch::ALL {
        let chip = SimChip::open_in(dir.path(), arch, 0).unwrap();
        let meta = std::fs::metadata(chip.path()).unwrap();
        assert!(meta.len() > chip.soc().dram_size(), "file holds all DRAM");
        // DRAM is sparse; everything else (header, ARC, L1, control pages) is reserved up
        // front, so that a store through the chip's mapping cannot raise SIGBUS on a full
        // tmpfs.
        let allocated = meta.blocks() * 512;
        // The file holds every channel whole (a Blackhole channel is 4 GiB, more than the
        // banks the allocator is given out of it).
        let channels: u64 = chip.soc().dram_channels().iter().map(|c| c.size).sum();
        let non_dram = meta.len() - channels;
        assert!(allocated <= non_dram + (1 << 20), "{arch}: {allocated} bytes allocated");
        assert!(allocated + (1 << 20) >= non_dram, "{arch}: only {allocated} bytes reserved");
        assert!(SimKind::Bare(arch).owns_uid(chip.chip_uid()), "{arch}: {}", chip.chip_uid());
    }
}

#[test]
fn a_chip_file_draws_its_id_once_and_keeps_it() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = SimChip::open_in(one.path(), Arch::WormholeB0, 0).unwrap().chip_uid();
    // The same file opened again is the same chip...
    let again = SimChip::open_in(one.path(), Arch::WormholeB0, 0).unwrap().chip_uid();
    assert_eq!(first, again);
    // ...and the same spec in another directory is another chip.
    let other = SimChip::open_in(two.path(), Arch::WormholeB0, 0).unwrap().chip_uid();
    assert_ne!(first, other, "two directories' sim:wormhole_b0:0 are two chips");
    assert!(tt_soc::SocDescriptor::is_sim_chip_uid(other));
    // Listing reads the id the file holds.
    let listed = crate::list_chips(one.path()).unwrap();
    assert_eq!(listed.iter().map(|c| c.chip_uid).collect::<Vec<_>>(), [first]);
}

#[test]
fn writes_through_a_window_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let core = NocCoord::new(1, 1);
    {
        let chip = SimChip::open_in(dir.path(), Arch::WormholeB0, 3).unwrap();
        let mut w = chip.allocate_tlb(2 << 20).unwrap();
        w.configure(core, 0).unwrap();
        let r = w.region().unwrap();
        assert_eq!(r.len(), 1_499_136, "window shows exactly the core's L1");
        r.write32(0x1000, 0xfeed_f00d).unwrap();
        // The last word of L1 is reachable; the byte after it is not.
        r.write32(1_499_136 - 4, 7).unwrap();
        assert!(r.write32(1_499_136, 7).is_err());
    }
    let chip = SimChip::open_in(dir.path(), Arch::WormholeB0, 3).unwrap();
    let mut w = chip.allocate_tlb(1 << 20).unwrap();
    w.configure(core, 0).unwrap();
    assert_eq!(w.region().unwrap().read32(0x1000).unwrap(), 0xfeed_f00d);
    // Reconfiguring to another core shows that core's (zeroed) memory, not the old slice.
    w.configure(NocCoord::new(2, 1), 0).unwrap();
    assert_eq!(w.region().unwrap().read32(0x1000).unwrap(), 0);
}

#[test]
fn dram_endpoints_share_a_channel_and_windows_tile_it() {
    let dir = tempfile::tempdir().unwrap();
    let chip = SimChip::open_in(dir.path(), Arch::WormholeB0, 0).unwrap();
    let ch = chip.soc().dram_channels()[1].clone();
    let mut a = chip.allocate_tlb(16 << 20).unwrap();
    let mut b = chip.allocate_tlb(16 << 20).unwrap();
    a.configure(ch.endpoints[0], 32 << 20).unwrap();
    b.configure(ch.endpoints[2], 32 << 20).unwrap();
    a.region().unwrap().write32(8, 0xabcd).unwrap();
    assert_eq!(b.region().unwrap().read32(8).unwrap(), 0xabcd);
    // The top window of a 2 GiB channel ends exactly at the channel's end.
    a.configure(ch.endpoints[0], (2 << 30) - (16 << 20)).unwrap();
    assert_eq!(a.region().unwrap().len(), 16 << 20);
    let err = a.configure(ch.endpoints[0], 2 << 30).unwrap_err();
    assert!(matches!(err, SimError::AddressOutOfRange { .. }), "{err}");
}

#[test]
fn window_rules_match_the_card() {
    let dir = tempfile::tempdir().unwrap();
    let chip = SimChip::open_in(dir.path(), Arch::WormholeB0, 0).unwrap();
    let err = chip.allocate_tlb(4096).unwrap_err().to_string();
    assert!(err.contains("0x100000, 0x200000, 0x1000000"), "{err}");
    let mut w = chip.allocate_tlb(1 << 20).unwrap();
    let err = w.configure(NocCoord::new(1, 1), 0x1000).unwrap_err();
    assert!(matches!(err, SimError::UnalignedWindow { addr: 0x1000, .. }), "{err}");
    let err = w.configure(NocCoord::new(10, 0), 0).unwrap_err();
    assert!(matches!(err, SimError::OutOfGrid { .. }), "{err}");
    assert!(err.to_string().contains("10x12"), "{err}");
    let err = w.configure(NocCoord::new(0, 2), 0).unwrap_err();
    assert!(matches!(err, SimError::NoMemoryAt { .. }), "router-only: {err}");
    let err = w.configure(NocCoord::new(1, 1), 2 << 20).unwrap_err();
    assert!(matches!(err, SimError::AddressOutOfRange { .. }), "{err}");
    assert!(w.region().is_none(), "failed configure leaves the window unconfigured");
}

#[test]
fn window_counts_are_limited_per_class_and_returned_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let chip = SimChip::open_in(dir.path(), Arch::WormholeB0, 0).unwrap();
    let windows: Vec<_> = (0..10).map(|_| chip.allocate_tlb(2 << 20).unwrap()).collect();
    let err = chip.allocate_tlb(2 << 20).unwrap_err();
    assert!(matches!(err, SimError::NoTlbWindow { count: 10, .. }), "{err}");
    drop(windows);
    assert!(chip.allocate_tlb(2 << 20).is_ok());
}

#[test]
fn blackhole_four_gib_window_covers_a_channel() {
    let dir = tempfile::tempdir().unwrap();
    let chip = SimChip::open_in(dir.path(), Arch::Blackhole, 0).unwrap();
    let ch = chip.soc().dram_channels()[7].clone();
    let mut w = chip.allocate_tlb(4 << 30).unwrap();
    w.configure(ch.endpoints[1], 0).unwrap();
    let r = w.region().unwrap();
    assert_eq!(r.len() as u64, ch.size);
    r.write32(r.len() - 4, 0x5a5a_5a5a).unwrap();
    assert_eq!(r.read32(r.len() - 4).unwrap(), 0x5a5a_5a5a);
}

#[test]
fn second_open_in_this_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _chip = SimChip::open_in(dir.path(), Arch::Blackhole, 1).unwrap();
    let err = SimChip::open_in(dir.path(), Arch::Blackhole, 1).unwrap_err();
    assert!(
        matches!(err, SimError::BusyInProcess { pid, .. } if pid == std::process::id() as i32),
        "{err}"
    );
    // Another id is another chip.
    assert!(SimChip::open_in(dir.path(), Arch::Blackhole, 2).is_ok());
}

#[test]
fn foreign_or_damaged_files_are_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = SimChip::path_in(dir.path(), Arch::WormholeB0, 0);
    std::fs::write(&path, b"not a chip").unwrap();
    let err = SimChip::open_in(dir.path(), Arch::WormholeB0, 0).unwrap_err().to_string();
    assert!(err.contains("shorter than its header") && err.contains("remove it"), "{err}");
    std::fs::write(&path, vec![0u8; 8192]).unwrap();
    let err = SimChip::open_in(dir.path(), Arch::WormholeB0, 0).unwrap_err().to_string();
    assert!(err.contains("wrong magic"), "{err}");
    // A Blackhole file renamed to a Wormhole name is caught too.
    drop(SimChip::open_in(dir.path(), Arch::Blackhole, 0).unwrap());
    std::fs::rename(SimChip::path_in(dir.path(), Arch::Blackhole, 0), &path).unwrap();
    let err = SimChip::open_in(dir.path(), Arch::WormholeB0, 0).unwrap_err().to_string();
    assert!(err.contains("not wormhole_b0"), "{err}");
}

const CHILD_DIR: &str = "TT_SIM_TEST_CHILD_DIR";

/// Child role for `second_process_gets_busy_with_holder_pid`: does nothing unless the parent
/// test re-executes this binary with the chip directory in the environment.
#[test]
fn child_role_open_held_chip() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
    match SimChip::open_in(std::path::Path::new(&dir), Arch::WormholeB0, 9) {
        Err(SimError::Busy { pid, .. }) => println!("CHILD-RESULT busy pid={pid}"),
        Err(e) => println!("CHILD-RESULT other error: {e}"),
        Ok(_) => println!("CHILD-RESULT opened"),
    }
}

#[test]
fn second_process_gets_busy_with_holder_pid() {
    let dir = tempfile::tempdir().unwrap();
    let chip = SimChip::open_in(dir.path(), Arch::WormholeB0, 9).unwrap();
    let run_child = || {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "tests::child_role_open_held_chip",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let out = run_child();
    let expected = format!("CHILD-RESULT busy pid={}", std::process::id());
    assert!(out.contains(&expected), "child said: {out}");
    // Once the holder closes the chip, another process may open it.
    drop(chip);
    assert!(run_child().contains("CHILD-RESULT opened"));
}

/// A forked child shares this process's open file descriptions until it execs, so a chip
/// closed here can stay locked under our own pid for a moment. Opening it then waits for
/// the lock instead of failing with "busy in this process".
#[test]
fn a_lock_left_by_a_fork_window_is_waited_for_not_refused() {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileExt;

    let dir = tempfile::tempdir().unwrap();
    drop(SimChip::open_in(dir.path(), Arch::WormholeB0, 6).unwrap());
    let path = SimChip::path_in(dir.path(), Arch::WormholeB0, 6);
    // Stand-in for the child's copy: another description of the file, locked, with our pid
    // in the header as the real holder left it.
    let stray = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
    let flock = crate::chip::whole_file_write_lock();
    nix::fcntl::fcntl(stray.as_raw_fd(), nix::fcntl::FcntlArg::F_OFD_SETLK(&flock)).unwrap();
    stray.write_all_at(&(std::process::id() as i32).to_le_bytes(), 20).unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(stray);
    });
    let chip = SimChip::open_in(dir.path(), Arch::WormholeB0, 6);
    releaser.join().unwrap();
    assert!(chip.is_ok(), "{:?}", chip.err());
    // While it is really open here, a second open is refused at once.
    let t = Instant::now();
    let err = SimChip::open_in(dir.path(), Arch::WormholeB0, 6).unwrap_err();
    assert!(matches!(err, SimError::BusyInProcess { .. }), "{err}");
    assert!(t.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn a_window_over_a_tiles_registers_shows_only_the_tile_control_page() {
    use tt_soc::tile::{SoftReset, SOFT_RESET_OFFSET, TILE_CONTROL_BASE};
    let dir = tempfile::tempdir().unwrap();
    let reset = u64::from(TILE_CONTROL_BASE + SOFT_RESET_OFFSET);
    for (arch, size) in [(Arch::WormholeB0, 1u64 << 20), (Arch::Blackhole, 2 << 20)] {
        let chip = SimChip::open_in(dir.path(), arch, 0).unwrap();
        let core = chip.soc().tensix_cores()[0];
        let mut w = chip.allocate_tlb(size).unwrap();
        let base = reset & !(size - 1);
        w.configure(core, base).unwrap();
        let r = w.region().unwrap();
        let offset = (reset - base) as usize;
        // Every RISC-V core starts held in soft reset (the host releases them).
        assert_eq!(r.read32(offset).unwrap(), SoftReset::ALL_RISCV.bits(), "{arch}");
        r.write32(offset, 0).unwrap();
        assert_eq!(r.read32(offset).unwrap(), 0);
        // The rest of the register space is not mapped: a clear refusal, not a fault.
        let err = r.read32(0).unwrap_err().to_string();
        assert!(err.contains("modelled registers"), "{err}");
        assert!(r.read32(offset + 0x1000).is_err(), "past the control page");
        // Each tile has its own page.
        let other = chip.soc().tensix_cores()[1];
        w.configure(other, base).unwrap();
        assert_eq!(w.region().unwrap().read32(offset).unwrap(), SoftReset::ALL_RISCV.bits());
        // A window over registers that does not reach the control page is refused.
        let far = 0xFF00_0000 & !(size - 1);
        let err = w.configure(core, far).unwrap_err();
        assert!(matches!(err, SimError::AddressOutOfRange { .. }), "{err}");
    }
}

mod firmware {
    use std::time::{Duration, Instant};

    use tt_soc::firmware::{self, apb};
    use tt_soc::{Arch, BoardPreset, NocCoord};

    use crate::{SimChip, SimError, SimKind};

    const ARC: NocCoord = NocCoord::new(0, 10);

    /// Rings the Wormhole doorbell with `code` and waits for the simulated firmware's status.
    fn ring(chip: &SimChip, code: u32) -> (u32, u32) {
        let mut w = chip.allocate_tlb(2 << 20).unwrap();
        let base = firmware::arc_apb_noc_address(Arch::WormholeB0, 0);
        w.configure(ARC, base).unwrap();
        let r = w.region().unwrap();
        r.write32(apb::SCRATCH_STATUS as usize, code).unwrap();
        let misc = r.read32(apb::MISC_CNTL as usize).unwrap();
        r.write32(apb::MISC_CNTL as usize, misc | apb::MISC_CNTL_TRIGGER).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while r.read32(apb::MISC_CNTL as usize).unwrap() & apb::MISC_CNTL_TRIGGER != 0 {
            assert!(Instant::now() < deadline, "the simulated ARC never answered");
            std::thread::sleep(Duration::from_millis(1));
        }
        (
            r.read32(apb::SCRATCH_STATUS as usize).unwrap(),
            r.read32(apb::SCRATCH_RES0 as usize).unwrap(),
        )
    }

    #[test]
    fn the_wormhole_firmware_answers_the_harvesting_message_in_its_own_bit_order() {
        let dir = tempfile::tempdir().unwrap();
        let chip = SimChip::open_board_in(dir.path(), BoardPreset::N300, 0, 0).unwrap();
        let (status, result) = ring(&chip, 0xAA57);
        assert_eq!(status, 0x57, "status = code & 0xff, exit code 0");
        // N300 chip 0: NOC0-order mask 65 (rows 1 and 8) is firmware bits 1 and 6.
        assert_eq!(result, (1 << 1) | (1 << 6));
        assert_eq!(Arch::WormholeB0.tensix_mask_from_firmware(result), 65);
        // A message the simulator does not model is refused the way firmware refuses one.
        let (status, _) = ring(&chip, 0xAA34);
        assert_eq!(status, firmware::STATUS_UNKNOWN_MESSAGE);
    }

    #[test]
    fn arc_addresses_outside_the_modelled_ranges_fail_loudly() {
        let dir = tempfile::tempdir().unwrap();
        let chip = SimChip::open_in(dir.path(), Arch::Blackhole, 0).unwrap();
        let mut w = chip.allocate_tlb(2 << 20).unwrap();
        w.configure(NocCoord::new(8, 0), 0x8000_0000).unwrap();
        let table = w.region().unwrap().read32(apb::BLACKHOLE_TELEMETRY_TABLE as usize).unwrap();
        assert_eq!(table, 0x1000_0000, "the telemetry table pointer is published");
        let err = w.configure(NocCoord::new(8, 0), 0x4000_0000).unwrap_err();
        assert!(matches!(err, SimError::ArcNotModelled { addr: 0x4000_0000, .. }), "{err}");
        assert!(err.to_string().contains("0x80000000..0x80100000"), "{err}");
    }

    #[test]
    fn a_board_file_is_not_reopened_as_another_chip() {
        let dir = tempfile::tempdir().unwrap();
        drop(SimChip::open_board_in(dir.path(), BoardPreset::P150a, 1, 0).unwrap());
        // Same file name, another board: renamed by hand, refused with the reason.
        std::fs::rename(dir.path().join("p150a-1-0.chip"), dir.path().join("p100a-1-0.chip"))
            .unwrap();
        let err =
            SimChip::open_board_in(dir.path(), BoardPreset::P100a, 1, 0).unwrap_err().to_string();
        assert!(err.contains("p100a-1-0.chip") && err.contains("sim rm"), "{err}");
        let err = SimChip::open_kind_in(
            dir.path(),
            SimKind::Board { preset: BoardPreset::N150, chip: 1 },
            0,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("n150 has 1 chip(s); chip 1 does not exist"), "{err}");
    }
}

const FORK_ROLE_DIR: &str = "TT_SIM_TEST_FORK_DIR";

/// Child role for `a_forked_child_does_not_keep_its_parents_chip`, run in a process of its
/// own so that its `fork` copies no other test's chips.
#[test]
fn child_role_fork_and_let_go() {
    let Some(dir) = std::env::var_os(FORK_ROLE_DIR) else { return };
    let dir = std::path::Path::new(&dir);
    let chip = SimChip::open_in(dir, Arch::WormholeB0, 5).unwrap();
    // SAFETY: the child only sleeps and calls _exit (async-signal-safe), after the atfork
    // handlers (which only call dup2).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: sleep and _exit are async-signal-safe; _exit skips the parent's atexit
        // handlers and destructors.
        unsafe {
            libc::sleep(10);
            libc::_exit(0)
        };
    }
    let child = nix::unistd::Pid::from_raw(pid);
    // The parent lets go: the chip is free although the child still lives (neither the
    // chip's descriptors nor its mappings followed it into the child)...
    drop(chip);
    // Until the child has run its fork handler (a moment after fork returns here) it still
    // shares the chip's descriptors; after that, never.
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    let mut holder = crate::list_chips(dir).unwrap()[0].holder;
    while holder.is_some() && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
        holder = crate::list_chips(dir).unwrap()[0].holder;
    }
    // ...so another opener gets it (before: "device busy, held by pid <parent>").
    let again = SimChip::open_in(dir, Arch::WormholeB0, 5).map(|_| ());
    let alive = nix::sys::signal::kill(child, None).is_ok();
    let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(child, None);
    println!("CHILD-RESULT holder={holder:?} reopened={:?} child_alive={alive}", again.is_ok());
}

#[test]
fn a_forked_child_does_not_keep_its_parents_chip() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["tests::child_role_fork_and_let_go", "--exact", "--nocapture", "--test-threads=1"])
        .env(FORK_ROLE_DIR, dir.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.contains("CHILD-RESULT holder=None reopened=true child_alive=true"),
        "child said: {out}"
    );
}
