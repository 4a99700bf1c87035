//! Text that comes from plugins (error messages, log lines, captured stdout) made
//! safe to print: bounded in length and with control characters escaped, so a
//! plugin can neither flood the log nor forge lines of its own (newlines, ANSI
//! escape sequences).

use std::fmt::Write;

/// Bytes of a plugin's error message kept; the rest is counted, not printed.
pub const ERROR_TEXT_BYTES: usize = 1024;

/// `text` with every control character escaped (`\n`, `\u{1b}`, ...) and cut to
/// at most `limit` bytes (on a character boundary), saying how much was left out.
pub fn sanitize(text: &str, limit: usize) -> String {
    let mut cut = text.len().min(limit);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let kept = &text[..cut];
    let mut out = String::with_capacity(kept.len());
    for c in kept.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if cut < text.len() {
        let _ = write!(out, "... ({} more bytes)", text.len() - cut);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn control_characters_are_escaped_and_long_text_is_cut() {
        assert_eq!(
            sanitize("ok\nINFO forged\u{1b}[31mred\r", 100),
            "ok\\nINFO forged\\u{1b}[31mred\\r"
        );
        assert_eq!(sanitize("héllo", 2), "h... (5 more bytes)");
        assert_eq!(sanitize("plain text", 100), "plain text");
    }
}
