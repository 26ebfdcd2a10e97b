//! `ttctl top` drawn through ratatui's test backend at 80x24 (and other sizes), from a real
//! ledger this test writes.

// A failed step should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::panic::Location;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use tt_accounting::{BankClass, BankSpan, MemKind, Placement, Reservation};
use tt_soc::{Arch, ChipUid, NocCoord};
use tt_track::{AllocRecord, DeviceCapacity, DeviceInfo, Tracker};

use crate::top::{ProcessSort, TopState};

const CAPACITY: DeviceCapacity = DeviceCapacity {
    dram_bytes: 12 << 30,
    dram_banks: 12,
    tensix_l1_per_core: 1 << 20,
    tensix_cores: 4,
    ethernet_l1_per_core: 256 << 10,
    ethernet_cores: 0,
};

/// A ledger with two chips held by this process: 2 MiB of DRAM on the first, a 512 KiB
/// kernel on each of the second's four cores (a 2x2 grid).
struct Ledger {
    dir: tempfile::TempDir,
    _tracker: Tracker,
    _records: Vec<AllocRecord>,
}

fn ledger() -> Ledger {
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::with_ledger_dir(dir.path()).unwrap();
    let first = tracker
        .register_device(&DeviceInfo::new(ChipUid(0xA1), Arch::WormholeB0, CAPACITY))
        .unwrap();
    let mut info = DeviceInfo::new(ChipUid(0xB2), Arch::WormholeB0, CAPACITY);
    info.tensix_cores = [(1, 1), (2, 1), (1, 2), (2, 2)].map(|(x, y)| NocCoord { x, y }).to_vec();
    let second = tracker.register_device(&info).unwrap();
    let dram = [BankSpan { bank: 0, addr: 0, size: 2 << 20 }];
    let spans: Vec<BankSpan> =
        (0..4).map(|bank| BankSpan { bank, addr: 0x10000, size: 512 << 10 }).collect();
    let records = vec![
        tracker
            .record(
                first,
                &Placement {
                    device: ChipUid(0xA1),
                    kind: MemKind::Dram,
                    class: BankClass::Dram,
                    spans: &dram,
                    reserved: Reservation::EveryBank { per_bank: 2 << 20, banks: 1 },
                    owner: "test buffer",
                    provenance: Location::caller(),
                },
            )
            .unwrap(),
        tracker
            .record(
                second,
                &Placement {
                    device: ChipUid(0xB2),
                    kind: MemKind::Kernel,
                    class: BankClass::Tensix,
                    spans: &spans,
                    reserved: Reservation::EveryBank { per_bank: 512 << 10, banks: 4 },
                    owner: "test kernel",
                    provenance: Location::caller(),
                },
            )
            .unwrap(),
    ];
    Ledger { dir, _tracker: tracker, _records: records }
}

fn screen(state: &TopState, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| crate::top_view::draw(frame, state)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut text = String::new();
    for y in 0..height {
        for x in 0..width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

fn press(state: &mut TopState, code: KeyCode) {
    state.key(KeyEvent::new(code, KeyModifiers::NONE));
}

#[test]
fn the_screen_at_80x24_shows_kinds_processes_and_the_grid() {
    let ledger = ledger();
    let snapshot = tt_track::read_ledger(ledger.dir.path()).unwrap();
    let mut state = TopState::new(snapshot, Instant::now());
    let first = screen(&state, 80, 24);
    assert!(first.starts_with("ttctl top 1/2 0x00000000000000a1"), "{first}");
    assert!(first.contains("dram     █"), "the DRAM bar is drawn:\n{first}");
    assert!(first.contains("2.0 MiB/12.0 GiB"), "{first}");
    assert!(first.contains("processes (sorted by used)"), "{first}");
    assert!(first.contains(&std::process::id().to_string()), "{first}");
    assert!(first.contains("not published"), "no allocator health was published:\n{first}");

    press(&mut state, KeyCode::Right);
    let second = screen(&state, 80, 24);
    assert!(second.starts_with("ttctl top 2/2 0x00000000000000b2"), "{second}");
    assert!(second.contains("kernel   "), "{second}");
    assert!(second.contains("2.0 MiB/4.0 MiB"), "{second}");
    // Four cores at half their L1: ▓ in a 2x2 block, '.' where no core is.
    assert_eq!(second.matches("││...  ").count(), 1, "{second}");
    assert_eq!(second.matches("││.▓▓  ").count(), 2, "{second}");

    press(&mut state, KeyCode::Char('s'));
    assert_eq!(state.sort, ProcessSort::Peak);
    assert!(screen(&state, 80, 24).contains("processes (sorted by peak)"));
    press(&mut state, KeyCode::Left);
    assert_eq!(state.selected, 0);
    assert!(!state.quit);
    press(&mut state, KeyCode::Char('q'));
    assert!(state.quit);
}

#[test]
fn history_keeps_the_last_minutes_and_the_selection_follows_its_chip() {
    let ledger = ledger();
    let start = Instant::now();
    let read = || tt_track::read_ledger(ledger.dir.path()).unwrap();
    let mut state = TopState::new(read(), start);
    press(&mut state, KeyCode::Tab);
    for s in 1..=400 {
        state.update(read(), start + Duration::from_secs(s));
    }
    let samples = &state.history[&ChipUid(0xB2)];
    assert_eq!(samples.len(), 301, "5 minutes of one-second samples, both ends included");
    assert_eq!(samples[0].used[MemKind::Kernel.index()], 2 << 20);
    assert_eq!(state.device().unwrap().uid, ChipUid(0xB2));
}

#[test]
fn an_empty_ledger_and_odd_sizes_draw_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let state = TopState::new(tt_track::read_ledger(dir.path()).unwrap(), Instant::now());
    let text = screen(&state, 80, 24);
    assert!(text.contains("no device in use by any live process"), "{text}");
    let ledger = ledger();
    let state = TopState::new(tt_track::read_ledger(ledger.dir.path()).unwrap(), Instant::now());
    for (w, h) in [(20, 5), (1, 1), (200, 60), (80, 10)] {
        let text = screen(&state, w, h);
        assert_eq!(text.lines().count(), h as usize);
    }
}
