//! A small CSV reader (RFC 4180) that keeps line numbers.
//!
//! Fields are separated by `,`; a field may be quoted with `"`, and inside
//! quotes `""` is a quote and line breaks are part of the field. Lines end with
//! LF or CRLF. A UTF-8 byte order mark at the start is skipped. Works on bytes
//! so that one row in a foreign encoding is reported on its own line while the
//! other rows still import: each field is checked for UTF-8 by the caller
//! through [`CsvRecord::field_str`].
//!
//! Blank lines are skipped. Not supported: other separators, a quote in the
//! middle of an unquoted field (an error that names the line and column).

/// One record: its fields as raw bytes and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRecord {
    /// Line of the file where the record starts.
    pub line: usize,
    /// Raw bytes of each field, quotes removed.
    pub fields: Vec<Vec<u8>>,
}

/// A field that is not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {field} is not UTF-8 (byte 0x{byte:02X} at byte {offset} of the field); save the file as UTF-8")]
pub struct NotUtf8 {
    /// 1-based field index.
    pub field: usize,
    /// The first byte that is not valid UTF-8.
    pub byte: u8,
    /// Its 1-based offset in the field.
    pub offset: usize,
}

impl CsvRecord {
    /// Field `index` (0-based) as text, trimmed; missing fields are empty.
    pub fn field_str(&self, index: usize) -> Result<&str, NotUtf8> {
        let Some(bytes) = self.fields.get(index) else {
            return Ok("");
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.trim()),
            Err(e) => {
                let at = e.valid_up_to();
                Err(NotUtf8 { field: index + 1, byte: bytes[at], offset: at + 1 })
            }
        }
    }

    /// The first field that is not UTF-8, if any.
    pub fn check_utf8(&self) -> Result<(), NotUtf8> {
        for index in 0..self.fields.len() {
            self.field_str(index)?;
        }
        Ok(())
    }
}

/// A syntax error: the reader stops there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvSyntaxError {
    #[error("line {line}: a quoted field opened on this line is never closed")]
    UnclosedQuote { line: usize },
    #[error(
        "line {line}, column {column}: a quote inside an unquoted field (quote the whole field and double the quote)"
    )]
    StrayQuote { line: usize, column: usize },
    #[error("line {line}, column {column}: text after a closing quote (expected ',' or the end of the line)")]
    AfterQuote { line: usize, column: usize },
}

/// Reads every record of `data`.
pub fn read_records(data: &[u8]) -> Result<Vec<CsvRecord>, CsvSyntaxError> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut records = Vec::new();
    let mut pos = 0;
    let mut line = 1;
    while pos < data.len() {
        // Skip blank lines.
        if data[pos] == b'\n' {
            pos += 1;
            line += 1;
            continue;
        }
        if data[pos] == b'\r' && data.get(pos + 1) == Some(&b'\n') {
            pos += 2;
            line += 1;
            continue;
        }
        let start_line = line;
        let mut fields = Vec::new();
        let mut line_start = line_start_of(data, pos);
        loop {
            let (field, next, lines) = read_field(data, pos, line, line_start)?;
            fields.push(field);
            if lines > 0 {
                line += lines;
                line_start = line_start_of(data, next);
            }
            pos = next;
            match data.get(pos) {
                Some(b',') => pos += 1,
                Some(b'\r') if data.get(pos + 1) == Some(&b'\n') => {
                    pos += 2;
                    line += 1;
                    break;
                }
                Some(b'\n') => {
                    pos += 1;
                    line += 1;
                    break;
                }
                None => break,
                Some(_) => {
                    return Err(CsvSyntaxError::AfterQuote { line, column: pos - line_start + 1 });
                }
            }
        }
        records.push(CsvRecord { line: start_line, fields });
    }
    Ok(records)
}

fn line_start_of(data: &[u8], pos: usize) -> usize {
    data[..pos].iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1)
}

/// Reads one field starting at `pos`; returns it, the position after it
/// (at a separator, a line end or the end of the data) and how many line
/// breaks it contained.
fn read_field(
    data: &[u8],
    pos: usize,
    line: usize,
    line_start: usize,
) -> Result<(Vec<u8>, usize, usize), CsvSyntaxError> {
    let mut field = Vec::new();
    if data.get(pos) == Some(&b'"') {
        let mut i = pos + 1;
        let mut lines = 0;
        loop {
            match data.get(i) {
                None => return Err(CsvSyntaxError::UnclosedQuote { line }),
                Some(b'"') if data.get(i + 1) == Some(&b'"') => {
                    field.push(b'"');
                    i += 2;
                }
                Some(b'"') => return Ok((field, i + 1, lines)),
                Some(b) => {
                    if *b == b'\n' {
                        lines += 1;
                    }
                    field.push(*b);
                    i += 1;
                }
            }
        }
    }
    let mut i = pos;
    while let Some(b) = data.get(i) {
        match b {
            b',' | b'\n' => break,
            b'\r' if data.get(i + 1) == Some(&b'\n') => break,
            b'"' => return Err(CsvSyntaxError::StrayQuote { line, column: i - line_start + 1 }),
            _ => {
                field.push(*b);
                i += 1;
            }
        }
    }
    Ok((field, i, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(records: &[CsvRecord]) -> Vec<(usize, Vec<String>)> {
        records
            .iter()
            .map(|r| (r.line, r.fields.iter().map(|f| String::from_utf8(f.clone()).unwrap()).collect()))
            .collect()
    }

    #[test]
    fn plain_quoted_and_multiline() {
        let data = b"\xEF\xBB\xBFname,notes\r\nAlice,\"says \"\"hi\"\"\"\r\n\r\nBob,\"two\nlines\"\nCarol,\n";
        let records = read_records(data).unwrap();
        assert_eq!(
            texts(&records),
            vec![
                (1, vec!["name".into(), "notes".into()]),
                (2, vec!["Alice".into(), "says \"hi\"".into()]),
                (4, vec!["Bob".into(), "two\nlines".into()]),
                (6, vec!["Carol".into(), "".into()]),
            ]
        );
    }

    #[test]
    fn no_final_newline_and_empty_fields() {
        let records = read_records(b"a,,c").unwrap();
        assert_eq!(texts(&records), vec![(1, vec!["a".into(), "".into(), "c".into()])]);
        assert!(read_records(b"").unwrap().is_empty());
    }

    #[test]
    fn syntax_errors_name_the_line() {
        assert_eq!(read_records(b"a\n\"open\nb\n"), Err(CsvSyntaxError::UnclosedQuote { line: 2 }));
        assert_eq!(read_records(b"a\nb,c\"d\n"), Err(CsvSyntaxError::StrayQuote { line: 2, column: 4 }));
        assert_eq!(read_records(b"a\n\"b\"c\n"), Err(CsvSyntaxError::AfterQuote { line: 2, column: 4 }));
        assert_eq!(read_records(b"\"x\ny\"\n\"b\"c\n"), Err(CsvSyntaxError::AfterQuote { line: 3, column: 4 }));
    }

    #[test]
    fn utf8_is_checked_per_field() {
        let records = read_records(b"name\nJos\xE9\n").unwrap();
        assert_eq!(records[1].field_str(0), Err(NotUtf8 { field: 1, byte: 0xE9, offset: 4 }));
        assert_eq!(records[0].field_str(0), Ok("name"));
        assert_eq!(records[0].field_str(5), Ok(""));
    }
}
