//! Cutting bodies down to short, valid text for error messages.

/// The most bytes of a response body an error keeps.
pub const MAX_BODY_EXCERPT: usize = 512;

/// The first `max` bytes of `bytes` as text, cut on a UTF-8 character boundary, with `…`
/// appended when something was cut. Invalid UTF-8 is replaced, never a panic.
pub(crate) fn head(bytes: &[u8], max: usize) -> String {
    let end = floor_boundary(bytes, bytes.len().min(max));
    let mut text = String::from_utf8_lossy(&bytes[..end]).into_owned();
    if end < bytes.len() {
        text.push('…');
    }
    text
}

/// About `radius` bytes of text on each side of byte `at`, cut on character boundaries, with
/// `…` where something was cut.
pub(crate) fn around(bytes: &[u8], at: usize, radius: usize) -> String {
    let at = at.min(bytes.len());
    let start = floor_boundary(bytes, at.saturating_sub(radius));
    let end = floor_boundary(bytes, at.saturating_add(radius).min(bytes.len()));
    let mut text = String::new();
    if start > 0 {
        text.push('…');
    }
    text.push_str(&String::from_utf8_lossy(&bytes[start..end]));
    if end < bytes.len() {
        text.push('…');
    }
    text
}

/// The largest index `<= at` that does not fall inside a UTF-8 sequence (a continuation byte
/// `10xxxxxx` is never a boundary). Gives up after 3 steps back, as no valid sequence is
/// longer, so invalid input cannot make it scan far.
fn floor_boundary(bytes: &[u8], at: usize) -> usize {
    let mut end = at;
    while end > 0 && end < bytes.len() && at - end < 3 && bytes[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    end
}

/// Byte offset of a 1-based `line` and `column` (as serde_json reports them) in `bytes`.
pub(crate) fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
            .map_or(bytes.len(), |(at, _)| at + 1)
    };
    line_start
        .saturating_add(column.saturating_sub(1))
        .min(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_cuts_on_a_char_boundary() {
        // "é" is two bytes: cutting after 3 bytes would split the second one.
        assert_eq!(head("aéé".as_bytes(), 4), "aé…");
        assert_eq!(head("aéé".as_bytes(), 3), "aé…");
        assert_eq!(head("aéé".as_bytes(), 2), "a…");
        assert_eq!(head("aéé".as_bytes(), 5), "aéé");
        assert_eq!(head("aéé".as_bytes(), 100), "aéé");
        // A 4-byte character.
        assert_eq!(head("x🦀y".as_bytes(), 4), "x…");
        assert_eq!(head("x🦀y".as_bytes(), 5), "x🦀…");
        assert_eq!(head(b"", 10), "");
    }

    #[test]
    fn head_survives_invalid_utf8() {
        let bytes = [b'o', b'k', 0xFF, 0x80, 0x80, 0x80, 0x80, 0x80, b'!'];
        let text = head(&bytes, 6);
        assert!(text.starts_with("ok"), "{text}");
        assert!(text.ends_with('…'));
        assert_eq!(head(&[0x80; 10], 5).chars().last(), Some('…'));
    }

    #[test]
    fn around_marks_both_cuts() {
        let body = b"0123456789abcdefghij";
        assert_eq!(around(body, 10, 3), "…789abc…");
        assert_eq!(around(body, 0, 3), "012…");
        assert_eq!(around(body, 20, 3), "…hij");
        assert_eq!(around(body, 500, 3), "…hij");
        assert_eq!(around("ééé".as_bytes(), 3, 2), "éé…");
    }

    #[test]
    fn offsets_from_line_and_column() {
        let body = b"{\n  \"a\": 1,\n  \"b\": x\n}";
        assert_eq!(offset_of(body, 1, 1), 0);
        assert_eq!(body[offset_of(body, 3, 8)], b'x');
        assert_eq!(offset_of(body, 99, 1), body.len());
    }
}
