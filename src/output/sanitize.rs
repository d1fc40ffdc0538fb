//! Neutralising attacker-written text for the places people read it.
//!
//! `userAgent`, session names, request parameters and error messages are
//! chosen by whoever holds the leaked key. Two readers are at risk: a
//! spreadsheet, which runs a cell starting with `=` as a formula, and a
//! terminal, which obeys escape sequences (colours, cursor moves, OSC 8 links,
//! window titles). The values themselves stay untouched in JSONL and Parquet.
//! <https://owasp.org/www-community/attacks/CSV_Injection>

use std::borrow::Cow;
use std::fmt::Write;

/// Makes `s` safe to print to a terminal: control characters (C0, DEL, C1),
/// and the bidirectional controls that can reorder what is shown (all of
/// those listed by <https://trojansource.codes>, the Arabic letter mark
/// included), are written as visible escapes such as `\x1b` or `\u{202e}`.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}'
        )
}

/// Makes `s` safe as a spreadsheet cell: a value that a spreadsheet would
/// read as a formula (leading `=`, `+`, `-`, `@`, tab or carriage return) is
/// prefixed with `'`.
pub fn spreadsheet(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes() {
        assert_eq!(terminal("aws-cli/2.0"), "aws-cli/2.0");
        assert_eq!(
            terminal("\u{1b}[31mred\u{1b}]8;;http://x\u{7}"),
            "\\x1b[31mred\\x1b]8;;http://x\\x07"
        );
        assert_eq!(terminal("a\nb\r\t"), "a\\x0ab\\x0d\\x09");
        assert_eq!(terminal("\u{9b}2J \u{202e}txt"), "\\x9b2J \\u{202e}txt");
        assert_eq!(terminal("日本 😀"), "日本 😀");
        assert_eq!(terminal("a\u{61c}b\u{2067}c"), "a\\u{61c}b\\u{2067}c");
    }

    #[test]
    fn spreadsheet_formulas() {
        for s in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(spreadsheet(s), format!("'{s}"));
        }
        assert_eq!(spreadsheet("aws-cli"), "aws-cli");
        assert_eq!(spreadsheet(""), "");
    }
}
