//! The named parameters (`:name`) of a `lookup` query, found by scanning
//! the SQL text the way SQLite's tokenizer would: nothing inside a string
//! literal (`'…'`, `''` escapes a quote), a quoted identifier (`"…"`,
//! `` `…` ``, `[…]`) or a comment (`-- …` to the end of the line,
//! `/* … */`) counts. A parameter is `:` followed by a letter or `_`, then
//! letters, digits and `_` (a variable name; SQLite does not allow `.` in
//! one). Pure.

/// Parameter names without the `:`, each once, in order of first use.
pub(super) fn named_params(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => i = skip_quoted(b, i + 1, q),
            b'[' => i = b[i..].iter().position(|&c| c == b']').map_or(b.len(), |p| i + p + 1),
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p + 1)
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = b[i + 2..].windows(2).position(|w| w == b"*/").map_or(b.len(), |p| i + 2 + p + 2)
            }
            b':' if b.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                    end += 1;
                }
                let name = &sql[start..end];
                if !out.iter().any(|n| n == name) {
                    out.push(name.to_string());
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

/// The index after the closing quote `q` of a quoted run starting at `i`
/// (a doubled quote is an escaped one); the end of the text if unclosed.
fn skip_quoted(b: &[u8], mut i: usize, q: u8) -> usize {
    while i < b.len() {
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::named_params;

    #[test]
    fn params_in_order_once() {
        assert_eq!(
            named_params("SELECT status, eta FROM orders WHERE id = :order AND phone = :caller OR id = :order"),
            vec!["order", "caller"]
        );
        assert_eq!(named_params("SELECT 1"), Vec::<String>::new());
        assert_eq!(named_params("SELECT * FROM t WHERE a=:a_1 AND b=:_b"), vec!["a_1", "_b"]);
    }

    #[test]
    fn literals_identifiers_and_comments_are_skipped() {
        let sql = "SELECT ':no', \"x:no\", `y:no`, [z:no] -- :no\n FROM t /* :no */ WHERE a = 'it''s :no' AND b = :yes";
        assert_eq!(named_params(sql), vec!["yes"]);
        // Unclosed literal or comment: nothing after it counts, no panic.
        assert_eq!(named_params("SELECT :a, 'open :b"), vec!["a"]);
        assert_eq!(named_params("SELECT :a /* open :b"), vec!["a"]);
        assert_eq!(named_params("SELECT :a [open :b"), vec!["a"]);
        assert_eq!(named_params("SELECT :a -- :b"), vec!["a"]);
    }

    #[test]
    fn not_parameters() {
        // `:` alone, before a digit, or at the end; time literals are in quotes.
        assert_eq!(named_params("SELECT a : b, :1, x:"), Vec::<String>::new());
        // A dotted name stops at the dot, as in SQLite.
        assert_eq!(named_params("SELECT :crm.name"), vec!["crm"]);
        // Non-ASCII text does not break the scan.
        assert_eq!(named_params("SELECT '订单' AS x, :订单, :n"), vec!["n"]);
    }
}
