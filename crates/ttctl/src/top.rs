//! `ttctl top`: the full-screen view of one host's devices, refreshed from the ledger. This
//! module holds the state and the keys; `top_view` draws it.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tt_accounting::MemKind;
use tt_soc::ChipUid;
use tt_track::{DeviceTotals, LedgerSnapshot};

use crate::mem::read_all;

/// How much history the chart keeps.
pub const HISTORY: Duration = Duration::from_secs(300);

/// How the process table is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessSort {
    /// Most used bytes on the shown device first.
    Used,
    /// Highest peak first.
    Peak,
    /// Lowest pid first.
    Pid,
}

impl ProcessSort {
    /// The next order, as the `s` key cycles.
    pub fn next(self) -> ProcessSort {
        match self {
            ProcessSort::Used => ProcessSort::Peak,
            ProcessSort::Peak => ProcessSort::Pid,
            ProcessSort::Pid => ProcessSort::Used,
        }
    }

    /// What the header calls it.
    pub fn name(self) -> &'static str {
        match self {
            ProcessSort::Used => "used",
            ProcessSort::Peak => "peak",
            ProcessSort::Pid => "pid",
        }
    }
}

/// One sample of a device's used bytes per kind.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When it was taken.
    pub at: Instant,
    /// Used (reserved) bytes per kind, indexed by [`MemKind::index`].
    pub used: [u64; MemKind::COUNT],
}

/// What `top` shows: the latest ledger read, each device's recent history, and the choices
/// the keys make.
pub struct TopState {
    /// The latest ledger read.
    pub snapshot: LedgerSnapshot,
    /// Samples per chip, oldest first, no older than [`HISTORY`].
    pub history: BTreeMap<ChipUid, VecDeque<Sample>>,
    /// Index of the shown device in `snapshot.devices`.
    pub selected: usize,
    /// Order of the process table.
    pub sort: ProcessSort,
    /// Set by `q`, Esc or Ctrl-C.
    pub quit: bool,
}

impl TopState {
    /// A state showing `snapshot`, sampled at `now`.
    pub fn new(snapshot: LedgerSnapshot, now: Instant) -> TopState {
        let mut state = TopState {
            snapshot: LedgerSnapshot {
                schema_version: snapshot.schema_version,
                dir: snapshot.dir.clone(),
                processes: Vec::new(),
                devices: Vec::new(),
                skipped: Vec::new(),
                removed_dead: Vec::new(),
                untracked_holders: Vec::new(),
            },
            history: BTreeMap::new(),
            selected: 0,
            sort: ProcessSort::Used,
            quit: false,
        };
        state.update(snapshot, now);
        state
    }

    /// Takes a new ledger read: keeps the shown chip selected if it is still there, and
    /// appends a sample to every chip's history.
    pub fn update(&mut self, snapshot: LedgerSnapshot, now: Instant) {
        let shown = self.device().map(|d| d.uid);
        for dev in &snapshot.devices {
            let samples = self.history.entry(dev.uid).or_default();
            samples.push_back(Sample { at: now, used: dev.kinds.map(|k| k.used_bytes) });
        }
        for samples in self.history.values_mut() {
            while samples.front().is_some_and(|s| now.duration_since(s.at) > HISTORY) {
                samples.pop_front();
            }
        }
        self.history.retain(|_, samples| !samples.is_empty());
        self.snapshot = snapshot;
        self.selected = shown
            .and_then(|uid| self.snapshot.devices.iter().position(|d| d.uid == uid))
            .unwrap_or(self.selected.min(self.snapshot.devices.len().saturating_sub(1)));
    }

    /// The shown device, if any process holds one.
    pub fn device(&self) -> Option<&DeviceTotals> {
        self.snapshot.devices.get(self.selected)
    }

    /// Acts on one key: ←/→ or Tab/Shift-Tab switch device, `s` cycles the sort, `q`, Esc or
    /// Ctrl-C quit.
    pub fn key(&mut self, key: KeyEvent) {
        let devices = self.snapshot.devices.len().max(1);
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.quit = true;
            }
            KeyCode::Right | KeyCode::Tab | KeyCode::Char('n') => {
                self.selected = (self.selected + 1) % devices;
            }
            KeyCode::Left | KeyCode::BackTab | KeyCode::Char('p') => {
                self.selected = (self.selected + devices - 1) % devices;
            }
            KeyCode::Char('s') => self.sort = self.sort.next(),
            _ => {}
        }
    }
}

/// `ttctl top`: draws until quit, reading the ledger every `period`.
pub fn top(period: Duration) -> Result<()> {
    let mut state = TopState::new(read_all()?, Instant::now());
    // ratatui::init enters raw mode and the alternate screen, and restores both on panic.
    let mut terminal = ratatui::try_init().context("setting up the terminal")?;
    let result = (|| -> Result<()> {
        let mut next_read = Instant::now() + period;
        while !state.quit {
            terminal.draw(|frame| crate::top_view::draw(frame, &state))?;
            let wait = next_read.saturating_duration_since(Instant::now());
            if event::poll(wait)? {
                match event::read()? {
                    Event::Key(key) if key.kind == KeyEventKind::Press => state.key(key),
                    // A resize is answered by the next draw, which takes the new size.
                    _ => {}
                }
            }
            if Instant::now() >= next_read {
                state.update(read_all()?, Instant::now());
                next_read = Instant::now() + period;
            }
        }
        Ok(())
    })();
    ratatui::try_restore().context("restoring the terminal")?;
    result
}
