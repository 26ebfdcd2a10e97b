//! Tables a person reads (comfy-table), fitted to the terminal's width: columns wrap rather
//! than the lines running past the edge. Piped output is not wrapped unless `COLUMNS` says
//! how wide to be.

use std::io::IsTerminal;

use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Table};

/// The width to fit: the terminal's when stdout is one, else `COLUMNS` if set.
pub fn width() -> Option<u16> {
    if std::io::stdout().is_terminal() {
        if let Ok((columns, _)) = ratatui::crossterm::terminal::size() {
            return Some(columns);
        }
    }
    std::env::var("COLUMNS").ok()?.trim().parse().ok().filter(|w| *w > 0)
}

/// A borderless table with `header`, fitted to [`width`].
pub fn with_header(header: &[&str]) -> Table {
    match width() {
        Some(columns) => fitted(header, columns),
        None => {
            let mut table = Table::new();
            table.load_preset(NOTHING).set_header(header.to_vec());
            table
        }
    }
}

/// A borderless table with `header` whose lines stay within `columns`: cells wrap.
pub fn fitted(header: &[&str], columns: u16) -> Table {
    let mut table = Table::new();
    table
        .load_preset(NOTHING)
        .set_header(header.to_vec())
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(columns);
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_narrow_width_wraps_columns_instead_of_running_past_it() {
        let mut table = Table::new();
        table
            .load_preset(NOTHING)
            .set_header(vec!["DEVICE", "STATE"])
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(30);
        table.add_row(vec!["sim:wormhole_b0:0", "idle, held by no process right now"]);
        let text = table.to_string();
        assert!(text.lines().count() > 2, "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 30), "{text}");
    }
}
