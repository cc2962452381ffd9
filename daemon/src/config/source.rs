//! Where a config value came from, and errors that say so.
//!
//! Every error found in a config file names the file, the line and column,
//! and what is wrong. Errors are collected, not stopped at: `ctibox config
//! check` reports all of them at once.

use std::fmt;
use std::ops::Range;

/// A config file's text, kept to turn byte offsets into line:column.
#[derive(Debug, Clone)]
pub struct Source {
    /// Shown in errors: a path, or `<built-in demo>`.
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source { name: name.into(), text, line_starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let col = self.text.get(start..offset).map_or(1, |s| s.chars().count() + 1);
        (line, col)
    }

    /// An error at a span of this file.
    pub fn error(&self, span: Option<Range<usize>>, message: impl Into<String>) -> ConfigError {
        let (line, col) = match span {
            Some(r) => {
                let (l, c) = self.line_col(r.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ConfigError { file: self.name.clone(), line, col, message: message.into() }
    }
}

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub col: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    /// `path:line:col: message`, as compilers print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.col) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Every problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl ConfigErrors {
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parse a duration such as `500ms`, `20s`, `2m`, `1h`, `1.5s`.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!("`{text}` is not a duration: write a number and a unit, e.g. 500ms, 20s, 2m"));
    }
    let n: f64 = num.parse().map_err(|_| format!("`{text}` is not a duration: `{num}` is not a number"))?;
    let scale = match unit.trim() {
        "ms" => 1.0,
        "s" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        "" => return Err(format!("`{text}` needs a unit: ms, s, m or h")),
        u => return Err(format!("`{text}`: unknown unit `{u}` (use ms, s, m or h)")),
    };
    let ms = n * scale;
    if !ms.is_finite() || ms > 1e12 {
        return Err(format!("`{text}` is too long"));
    }
    Ok(ms.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let s = Source::new("f.toml", "a = 1\nbé = 2\n\nc = 3");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(4), (1, 5));
        assert_eq!(s.line_col(6), (2, 1));
        // After a two-byte character, the column counts characters.
        assert_eq!(s.line_col(9), (2, 3));
        assert_eq!(s.line_col(14), (3, 1));
        assert_eq!(s.line_col(15), (4, 1));
        assert_eq!(s.line_col(999), (4, 6));
        let e = s.error(Some(6..8), "bad key");
        assert_eq!(e.to_string(), "f.toml:2:1: bad key");
        assert_eq!(s.error(None, "no board").to_string(), "f.toml: no board");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("20s"), Ok(20_000));
        assert_eq!(parse_duration_ms(" 1.5s "), Ok(1500));
        assert_eq!(parse_duration_ms("2m"), Ok(120_000));
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000));
        assert!(parse_duration_ms("3 parsecs").unwrap_err().contains("unknown unit `parsecs`"));
        assert!(parse_duration_ms("20").unwrap_err().contains("needs a unit"));
        assert!(parse_duration_ms("s").unwrap_err().contains("is not a duration"));
        assert!(parse_duration_ms("1.2.3s").unwrap_err().contains("not a number"));
    }
}
