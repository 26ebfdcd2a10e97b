//! Finding where a key or a list entry sits in descriptor text, so that errors name the line
//! of the thing that is wrong (the YAML parser only knows positions of values it could read).

/// Line lookups over one descriptor text; all line numbers are 1-based.
pub(crate) struct Locator<'a> {
    lines: Vec<&'a str>,
}

/// The text of a line without its comment.
fn strip_comment(line: &str) -> &str {
    line.split_once('#').map_or(line, |(code, _)| code)
}

/// A line that starts a new top-level key (`name:` at column 0).
fn is_top_level_key(line: &str) -> bool {
    let code = strip_comment(line);
    !code.starts_with(char::is_whitespace)
        && code.split_once(':').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

impl<'a> Locator<'a> {
    /// Indexes `text` by line.
    pub(crate) fn new(text: &'a str) -> Self {
        Locator { lines: text.lines().collect() }
    }

    /// The line where `key:` starts a line.
    pub(crate) fn key_line(&self, key: &str) -> Option<usize> {
        let prefix = format!("{key}:");
        self.lines.iter().position(|l| l.trim_start().starts_with(&prefix)).map(|i| i + 1)
    }

    /// The first line holding a key: where the top-level mapping starts.
    pub(crate) fn first_key_line(&self) -> Option<usize> {
        self.lines
            .iter()
            .position(|l| {
                let code = strip_comment(l).trim();
                !code.is_empty() && code != "---"
            })
            .map(|i| i + 1)
    }

    /// The line of entry `index` (0-based, nested lists flattened) of list `key`: entries are
    /// the runs of text between `[`, `]`, `{`, `}`, `,`, whitespace and block `-` markers,
    /// so the n-th occurrence of a repeated value is found, not the first.
    pub(crate) fn entry_line(&self, key: &str, index: usize) -> Option<usize> {
        let start = self.key_line(key)? - 1;
        let mut seen = 0;
        for (n, line) in self.lines.iter().enumerate().skip(start) {
            if n > start && is_top_level_key(line) {
                break;
            }
            let mut code = strip_comment(line);
            if n == start {
                code = code.split_once(':').map_or("", |(_, rest)| rest);
            }
            let separators = |c: char| c.is_whitespace() || "[]{},".contains(c);
            let entries = code.split(separators).filter(|t| !t.is_empty() && *t != "-").count();
            if index < seen + entries {
                return Some(n + 1);
            }
            seen += entries;
        }
        self.key_line(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# comment
grid: {x_size: 3, y_size: 2}
eth: [1-1,
  1-1, 11-1]   # the second 1-1 is on line 4
workers:
  - 1-0
  - 2-0
dram:
  [[0-0, 0-1], [1-0]]
";

    #[test]
    fn finds_keys_and_the_nth_entry() {
        let at = Locator::new(TEXT);
        assert_eq!(at.first_key_line(), Some(2));
        assert_eq!(at.key_line("grid"), Some(2));
        assert_eq!(at.entry_line("eth", 0), Some(3));
        assert_eq!(at.entry_line("eth", 1), Some(4));
        assert_eq!(at.entry_line("eth", 2), Some(4));
        assert_eq!(at.entry_line("workers", 1), Some(7));
        assert_eq!(at.entry_line("dram", 2), Some(9));
        // Past the end falls back to the key's line; unknown keys have no line.
        assert_eq!(at.entry_line("eth", 9), Some(3));
        assert_eq!(at.entry_line("pcie", 0), None);
    }
}
