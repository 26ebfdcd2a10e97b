//! Text that came from outside (a ledger segment, a device, a record file, a request) made
//! safe to show: control characters escaped, so it cannot move a terminal's cursor, retitle a
//! window or break a Prometheus label or an HTTP answer, and cut to a bounded length, so a
//! 100 KB value does not become a 100 KB error line.

/// The most characters of one outside value shown anywhere.
pub const MAX_SHOWN: usize = 200;

/// `text` with control characters shown as escapes (`\u{1b}`, `\n`).
pub fn escape(text: &str) -> String {
    clean(text, usize::MAX)
}

/// `text` escaped as [`escape`] does and cut after `max` characters (then ending in `...`
/// with the number of bytes left out), so that no outside value floods a line.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max.saturating_add(32)));
    for (shown, (at, c)) in text.char_indices().enumerate() {
        if shown == max {
            out.push_str(&format!("... ({} more bytes)", text.len() - at));
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`clean`] with the usual bound, [`MAX_SHOWN`].
pub fn shown(text: &str) -> String {
    clean(text, MAX_SHOWN)
}

/// Cleans in place every string of `snapshot` that came from a segment (device arch and
/// spec, command names, record owners and files), so no view, label or answer built from it
/// carries a control character or an unbounded value.
pub fn clean_snapshot(snapshot: &mut tt_track::LedgerSnapshot) {
    let clean_in_place = |text: &mut String| {
        if text.len() > MAX_SHOWN || text.chars().any(char::is_control) {
            *text = shown(text);
        }
    };
    for device in &mut snapshot.devices {
        clean_in_place(&mut device.arch);
        clean_in_place(&mut device.spec);
    }
    for process in &mut snapshot.processes {
        clean_in_place(&mut process.command);
        for device in &mut process.devices {
            clean_in_place(&mut device.arch);
            clean_in_place(&mut device.spec);
            for record in &mut device.live_records {
                clean_in_place(&mut record.owner);
                clean_in_place(&mut record.file);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_long_text_cut() {
        assert_eq!(escape("ttctl\x1b[2J\n"), "ttctl\\u{1b}[2J\\n");
        assert_eq!(escape("plain é"), "plain é");
        assert_eq!(clean("abcdef", 3), "abc... (3 more bytes)");
        assert_eq!(clean("abc", 3), "abc");
        assert_eq!(shown(&"x".repeat(100_000)).len(), MAX_SHOWN + "... (99800 more bytes)".len());
    }

    #[test]
    fn a_saturated_counter_is_not_shown_as_16_eib() {
        assert_eq!(crate::mem::human(u64::MAX), "saturated");
        assert_eq!(crate::mem::human(1536), "1.5 KiB");
    }
}
