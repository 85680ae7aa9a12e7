//! Invalid UTF-8 is rejected with the position of its first bad byte,
//! before any JSON parsing, so callers can say where to look.

use std::fmt;

/// Where the first invalid byte is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidUtf8 {
    /// 0-based byte offset into the checked bytes.
    pub offset: usize,
    /// 1-based line and byte column of that byte.
    pub line: usize,
    pub column: usize,
    /// The byte itself.
    pub byte: u8,
}

impl fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not valid UTF-8: byte 0x{:02X} at offset {} (line {}, column {})",
            self.byte, self.offset, self.line, self.column
        )
    }
}

/// `Ok` when `bytes` are UTF-8, else the first invalid byte's position.
pub fn check(bytes: &[u8]) -> Result<(), InvalidUtf8> {
    let Err(e) = std::str::from_utf8(bytes) else {
        return Ok(());
    };
    let offset = e.valid_up_to();
    let before = &bytes[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    Err(InvalidUtf8 {
        offset,
        line,
        column: offset - line_start + 1,
        byte: bytes.get(offset).copied().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_bad_byte() {
        assert!(check("{\"a\": \"Zoë\"}".as_bytes()).is_ok());
        let e = check(b"{\"a\":\n \"x\xffy\"}").unwrap_err();
        assert_eq!((e.offset, e.line, e.column, e.byte), (9, 2, 4, 0xff));
        assert_eq!(
            e.to_string(),
            "not valid UTF-8: byte 0xFF at offset 9 (line 2, column 4)"
        );
        // A truncated sequence at the end.
        let e = check(b"ab\xc3").unwrap_err();
        assert_eq!((e.offset, e.byte), (2, 0xc3));
        // An overlong encoding.
        assert_eq!(check(b"\xc0\xaf").unwrap_err().offset, 0);
    }
}
