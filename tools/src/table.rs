//! Aligned text tables for the human output of the API commands.
//!
//! Columns are as wide as their widest cell; CJK and other wide characters
//! count as two columns (customer and caller names are often Chinese).
//! Cells are padded with spaces, two spaces between columns, no trailing
//! spaces. Not implemented: combining characters and emoji widths.

/// A table: a header row (none when empty) and data rows, printed with
/// [`Table::render`].
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table { header: header.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    /// Adds a row; missing cells are empty, extra cells are kept.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table, one line per row, each ending in `\n`.
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).chain([self.header.len()]).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(display_width(cell));
            }
        }
        let mut out = String::new();
        let header = (!self.header.is_empty()).then_some(&self.header);
        for row in header.into_iter().chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map_or("", String::as_str);
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', width - display_width(cell)));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Columns a string takes on a terminal (East Asian wide characters: 2).
pub fn display_width(text: &str) -> usize {
    text.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F        // Hangul Jamo
        | 0x2E80..=0x303E      // CJK radicals, punctuation
        | 0x3041..=0x33FF      // kana, CJK symbols
        | 0x3400..=0x4DBF      // CJK extension A
        | 0x4E00..=0x9FFF      // CJK unified ideographs
        | 0xA000..=0xA4CF      // Yi
        | 0xAC00..=0xD7A3      // Hangul syllables
        | 0xF900..=0xFAFF      // CJK compatibility ideographs
        | 0xFE30..=0xFE4F      // CJK compatibility forms
        | 0xFF00..=0xFF60      // full-width forms
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_lines_have_no_trailing_spaces() {
        let mut t = Table::new(&["CH", "NAME", "STATUS"]);
        t.row(vec!["1".into(), "pstn".into(), "idle".into()]);
        t.row(vec!["12".into(), "801".into(), String::new()]);
        assert_eq!(t.render(), "CH  NAME  STATUS\n1   pstn  idle\n12  801\n");
    }

    #[test]
    fn wide_characters_count_twice() {
        assert_eq!(display_width("张伟"), 4);
        let mut t = Table::new(&["NAME", "X"]);
        t.row(vec!["张伟伟".into(), "1".into()]);
        assert_eq!(t.render(), "NAME    X\n张伟伟  1\n");
    }

    #[test]
    fn no_header_line_without_a_header() {
        let mut t = Table::default();
        t.row(vec!["board".into(), "sim".into()]);
        t.row(vec!["calls".into(), "1 active".into()]);
        assert_eq!(t.render(), "board  sim\ncalls  1 active\n");
    }
}
