//! A flow file as a tree of values that remember where they were written,
//! and typed reads from it that collect errors instead of stopping.
//!
//! TOML syntax is read by `toml_edit` (which keeps the byte span of every
//! key and value); the tree here is the part of it the flow reader needs:
//! strings, numbers, booleans, arrays and tables in file order, each with
//! its span. A serde model cannot do this job: node tables are checked per
//! `type`, and every problem of every node is reported, not the first.

use std::ops::Range;

use crate::config::{ConfigError, Source, parse_duration_ms};
use crate::ivr::flow::Template;

/// One value and where it is.
#[derive(Debug, Clone)]
pub(super) struct Val {
    pub span: Range<usize>,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
    Str(String),
    Int(i64),
    Float,
    Bool(bool),
    /// A TOML date or date-time literal (flows write dates as strings).
    Datetime(String),
    Array(Vec<Val>),
    Table(Vec<Entry>),
}

/// One `key = value` of a table (or a `[header]` sub-table).
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub key: String,
    pub key_span: Range<usize>,
    pub val: Val,
}

impl Val {
    /// What kind of value this is, for messages ("a string", "a table").
    pub fn type_desc(&self) -> &'static str {
        match self.kind {
            Kind::Str(_) => "a string",
            Kind::Int(_) => "an integer",
            Kind::Float => "a number with a fraction",
            Kind::Bool(_) => "true/false",
            Kind::Datetime(_) => "a date-time literal",
            Kind::Array(_) => "an array",
            Kind::Table(_) => "a table",
        }
    }

    pub fn as_table(&self) -> Option<&[Entry]> {
        match &self.kind {
            Kind::Table(t) => Some(t),
            _ => None,
        }
    }
}

/// Parses TOML text into a tree; a syntax error comes back with its span
/// and message.
pub(super) fn parse_toml(text: &str) -> Result<Val, (Option<Range<usize>>, String)> {
    let doc = toml_edit::ImDocument::parse(text).map_err(|e| (e.span(), e.message().trim().to_string()))?;
    let root = doc.as_table();
    Ok(Val { span: 0..0, kind: Kind::Table(table_entries(root, 0..0)) })
}

fn table_entries(t: &dyn toml_edit::TableLike, fallback: Range<usize>) -> Vec<Entry> {
    let mut out = Vec::new();
    for (key, item) in t.iter() {
        let key_span = t.key(key).and_then(|k| k.span()).unwrap_or_else(|| fallback.clone());
        if let Some(val) = from_item(item, key_span.clone()) {
            out.push(Entry { key: key.to_string(), key_span, val });
        }
    }
    out
}

fn from_item(item: &toml_edit::Item, fallback: Range<usize>) -> Option<Val> {
    match item {
        toml_edit::Item::None => None,
        toml_edit::Item::Value(v) => Some(from_value(v, fallback)),
        toml_edit::Item::Table(t) => {
            let span = t.span().unwrap_or_else(|| fallback.clone());
            Some(Val { kind: Kind::Table(table_entries(t, span.clone())), span })
        }
        toml_edit::Item::ArrayOfTables(a) => {
            let span = a.span().unwrap_or_else(|| fallback.clone());
            let items = a
                .iter()
                .map(|t| {
                    let s = t.span().unwrap_or_else(|| span.clone());
                    Val { kind: Kind::Table(table_entries(t, s.clone())), span: s }
                })
                .collect();
            Some(Val { kind: Kind::Array(items), span })
        }
    }
}

fn from_value(v: &toml_edit::Value, fallback: Range<usize>) -> Val {
    use toml_edit::Value;
    let span = v.span().unwrap_or(fallback);
    let kind = match v {
        Value::String(s) => Kind::Str(s.value().clone()),
        Value::Integer(i) => Kind::Int(*i.value()),
        Value::Float(_) => Kind::Float,
        Value::Boolean(b) => Kind::Bool(*b.value()),
        Value::Datetime(d) => Kind::Datetime(d.value().to_string()),
        Value::Array(a) => Kind::Array(a.iter().map(|x| from_value(x, span.clone())).collect()),
        Value::InlineTable(t) => Kind::Table(table_entries(t, span.clone())),
    };
    Val { span, kind }
}

/// Errors found so far in one file.
#[derive(Debug)]
pub(super) struct Errs<'s> {
    pub src: &'s Source,
    pub list: Vec<ConfigError>,
}

impl<'s> Errs<'s> {
    pub fn new(src: &'s Source) -> Self {
        Errs { src, list: Vec::new() }
    }
    pub fn at(&mut self, span: &Range<usize>, msg: impl Into<String>) {
        self.list.push(self.src.error(Some(span.clone()), msg));
    }
    /// The 1-based line of a span.
    pub fn line(&self, span: &Range<usize>) -> usize {
        self.src.line_col(span.start).0
    }
}

/// A string read from the file, with its span.
#[derive(Debug, Clone)]
pub(super) struct Str<'v> {
    pub text: &'v str,
    pub span: Range<usize>,
}

/// A table being read: knows what it is (for messages) and which keys its
/// kind allows.
#[derive(Debug)]
pub(super) struct Fields<'v> {
    pub entries: &'v [Entry],
    /// The table's span (a `[header]` or an inline table).
    pub span: Range<usize>,
    /// What the table is, starting messages: "node `menu` (menu)".
    pub what: String,
}

impl<'v> Fields<'v> {
    pub fn new(entries: &'v [Entry], span: Range<usize>, what: impl Into<String>) -> Self {
        Fields { entries, span, what: what.into() }
    }

    pub fn get(&self, key: &str) -> Option<&'v Val> {
        self.entries.iter().find(|e| e.key == key).map(|e| &e.val)
    }

    /// Reports every key not in `allowed`, naming the allowed ones.
    pub fn deny_unknown(&self, e: &mut Errs<'_>, allowed: &[&str], kind: &str) {
        for entry in self.entries {
            if !allowed.contains(&entry.key.as_str()) {
                e.at(
                    &entry.key_span,
                    format!("{}: unknown key `{}` ({kind} keys: {})", self.what, entry.key, allowed.join(", ")),
                );
            }
        }
    }

    pub fn missing(&self, e: &mut Errs<'_>, key: &str) {
        e.at(&self.span, format!("{}: `{key}` is missing", self.what));
    }

    fn wrong_type(&self, e: &mut Errs<'_>, key: &str, v: &Val, want: &str) {
        e.at(&v.span, format!("{}: `{key}` must be {want}, not {}", self.what, v.type_desc()));
    }

    /// A string value, if present (a value of another type is an error).
    pub fn opt_str(&self, e: &mut Errs<'_>, key: &str) -> Option<Str<'v>> {
        let v = self.get(key)?;
        match &v.kind {
            Kind::Str(s) => Some(Str { text: s, span: v.span.clone() }),
            _ => {
                self.wrong_type(e, key, v, "a string");
                None
            }
        }
    }

    pub fn req_str(&self, e: &mut Errs<'_>, key: &str) -> Option<Str<'v>> {
        if self.get(key).is_none() {
            self.missing(e, key);
        }
        self.opt_str(e, key)
    }

    /// A string, or an integer taken as its decimal text (for values such
    /// as `value = 2` or `priority = 5`).
    pub fn opt_text(&self, e: &mut Errs<'_>, key: &str) -> Option<(String, Range<usize>)> {
        let v = self.get(key)?;
        match &v.kind {
            Kind::Str(s) => Some((s.clone(), v.span.clone())),
            Kind::Int(n) => Some((n.to_string(), v.span.clone())),
            _ => {
                self.wrong_type(e, key, v, "a string");
                None
            }
        }
    }

    pub fn opt_bool(&self, e: &mut Errs<'_>, key: &str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(Val { kind: Kind::Bool(b), .. }) => *b,
            Some(v) => {
                self.wrong_type(e, key, v, "true or false");
                default
            }
        }
    }

    /// An integer in `range`, or `default` when absent.
    pub fn opt_uint(&self, e: &mut Errs<'_>, key: &str, default: u32, range: (u32, u32)) -> u32 {
        match self.get(key) {
            None => default,
            Some(Val { kind: Kind::Int(n), span }) => {
                if *n < i64::from(range.0) || *n > i64::from(range.1) {
                    e.at(span, format!("{}: `{key}` must be {} to {}, not {n}", self.what, range.0, range.1));
                    default
                } else {
                    *n as u32
                }
            }
            Some(v) => {
                self.wrong_type(e, key, v, "an integer");
                default
            }
        }
    }

    /// A duration (`500ms`, `5s`, `2m`) in milliseconds; `default` when
    /// absent. Zero is refused unless `allow_zero`.
    pub fn opt_duration(&self, e: &mut Errs<'_>, key: &str, default_ms: u64, allow_zero: bool) -> u64 {
        match self.opt_str(e, key) {
            None => default_ms,
            Some(s) => duration(e, &self.what, key, &s, allow_zero).unwrap_or(default_ms),
        }
    }

    /// An array of strings (a single string counts as a one-item array).
    pub fn opt_str_list(&self, e: &mut Errs<'_>, key: &str) -> Vec<Str<'v>> {
        let Some(v) = self.get(key) else { return Vec::new() };
        match &v.kind {
            Kind::Str(s) => vec![Str { text: s, span: v.span.clone() }],
            Kind::Array(items) => items
                .iter()
                .filter_map(|item| match &item.kind {
                    Kind::Str(s) => Some(Str { text: s, span: item.span.clone() }),
                    _ => {
                        e.at(
                            &item.span,
                            format!("{}: the items of `{key}` must be strings, not {}", self.what, item.type_desc()),
                        );
                        None
                    }
                })
                .collect(),
            _ => {
                self.wrong_type(e, key, v, "a string or an array of strings");
                Vec::new()
            }
        }
    }

    /// A table value, if present.
    pub fn opt_table(&self, e: &mut Errs<'_>, key: &str) -> Option<(&'v [Entry], Range<usize>)> {
        let v = self.get(key)?;
        match &v.kind {
            Kind::Table(t) => Some((t, v.span.clone())),
            _ => {
                self.wrong_type(e, key, v, "a table");
                None
            }
        }
    }
}

/// Parses a duration value, reporting errors with the key's name.
pub(super) fn duration(e: &mut Errs<'_>, what: &str, key: &str, s: &Str<'_>, allow_zero: bool) -> Option<u64> {
    match parse_duration_ms(s.text) {
        Ok(0) if !allow_zero => {
            e.at(&s.span, format!("{what}: `{key}` must be longer than zero"));
            None
        }
        Ok(ms) => Some(ms),
        Err(msg) => {
            e.at(&s.span, format!("{what}: `{key}`: {msg}"));
            None
        }
    }
}

/// Whether `name` is a variable name: `[A-Za-z_][A-Za-z0-9_.]*`.
pub fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Checks a template's `${…}` references; the first problem, if any.
pub fn template_problem(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        match after.find('}') {
            None => return Some(format!("`{text}`: `${{` is not closed by `}}`")),
            Some(j) => {
                let name = &after[..j];
                if !is_var_name(name) {
                    return Some(format!(
                        "`{text}`: `${{{name}}}` is not a variable name (letters, digits, `_` and `.`, not starting \
                         with a digit)"
                    ));
                }
                rest = &after[j + 1..];
            }
        }
    }
    None
}

/// A template from a string value, its `${…}` checked.
pub(super) fn template(e: &mut Errs<'_>, what: &str, key: &str, s: &Str<'_>) -> Template {
    if let Some(p) = template_problem(s.text) {
        e.at(&s.span, format!("{what}: `{key}`: {p}"));
    }
    Template::new(s.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names() {
        for ok in ["caller", "_x", "crm.name", "a1_b.c2"] {
            assert!(is_var_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a b", ".x", "имя", "a$"] {
            assert!(!is_var_name(bad), "{bad}");
        }
    }

    #[test]
    fn template_problems() {
        assert_eq!(template_problem("plain $5 text"), None);
        assert_eq!(template_problem("${caller} and ${crm.name}"), None);
        assert!(template_problem("order ${order").unwrap().contains("is not closed"));
        assert!(template_problem("${}").unwrap().contains("`${}` is not a variable name"));
        assert!(template_problem("${1x}").unwrap().contains("`${1x}`"));
        assert!(template_problem("${a b}").unwrap().contains("`${a b}`"));
    }

    #[test]
    fn spans_of_keys_values_and_headers() {
        let text = "a = 1\n[t]\nb = \"x\"\n[nodes.n1]\ntype = \"play\"\n[nodes]\nn2 = { type = \"hangup\" }\n";
        let src = Source::new("f", text);
        let root = parse_toml(text).unwrap();
        let line = |r: &Range<usize>| src.line_col(r.start).0;
        let top = root.as_table().unwrap();
        let keys: Vec<&str> = top.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a", "t", "nodes"]);
        assert_eq!(line(&top[0].key_span), 1);
        let t = top[1].val.as_table().unwrap();
        assert_eq!(line(&t[0].key_span), 3);
        assert_eq!(line(&t[0].val.span), 3);
        let nodes = top[2].val.as_table().unwrap();
        assert_eq!(nodes[0].key, "n1");
        assert_eq!(line(&nodes[0].key_span), 4);
        assert_eq!(line(&nodes[0].val.span), 4);
        assert_eq!(nodes[1].key, "n2");
        assert_eq!(line(&nodes[1].key_span), 7);
        assert_eq!(line(&nodes[1].val.span), 7);
    }

    #[test]
    fn syntax_error_has_a_span() {
        let (span, msg) = parse_toml("a = 1\nb = \n").unwrap_err();
        let src = Source::new("f", "a = 1\nb = \n");
        assert_eq!(src.line_col(span.unwrap().start).0, 2);
        assert!(!msg.is_empty());
    }
}
