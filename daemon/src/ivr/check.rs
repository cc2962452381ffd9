//! Checks of parsed flows that need the whole flow or the world around it
//! (`ctibox ivr check DIR`; the daemon runs them when it loads flows).
//!
//! Errors (the flow would misbehave):
//! - a node target (or `start`) that names no node;
//! - a `menu` or `collect` without `fallback` (after the last retry the
//!   call would have nowhere to go);
//! - a loop that waits for no input: a cycle of nodes none of which waits
//!   for the caller (`NodeKind::waits_for_input`), e.g. branch → set →
//!   branch, would spin without end;
//! - a literal prompt name (no `${…}`) that does not exist for the flow's
//!   language ([`PromptLookup`]);
//! - a `lookup` whose SQL is not exactly one SELECT statement that SQLite
//!   can prepare against the database it names (the records schema built
//!   in memory from `records::schema::MIGRATIONS`, or the customer file
//!   opened read-only), or whose parameters are not `:name` with a
//!   variable name.
//!
//! Warnings: nodes that cannot be reached from `start`.
//!
//! Findings name the flow file and the line (of the reference, the node
//! header, the prompt or the `sql` value). Prompts named by templates and
//! `say` items are checked at run time only.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::config::ConfigError;
use crate::ivr::PromptLookup;
use crate::ivr::flow::{Database, Flow, Goto, NodeKind, PromptItem};
use crate::ivr::parse::is_var_name;
use crate::records::schema::MIGRATIONS;

/// What the checks need from outside the flows.
pub struct CheckContext<'a> {
    /// Which prompts exist (the flow directory's and the default set).
    pub prompts: &'a dyn PromptLookup,
}

impl fmt::Debug for CheckContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckContext").finish_non_exhaustive()
    }
}

/// Everything found, each sorted by file and line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<ConfigError>,
}

/// Runs every check on every flow.
pub fn check_flows(flows: &[Flow], ctx: &CheckContext<'_>) -> CheckReport {
    let mut report = CheckReport::default();
    let mut databases = Databases::default();
    for flow in flows {
        let mut c = FlowChecker { flow, report: &mut report };
        c.targets();
        c.fallbacks();
        c.reachability();
        c.input_less_loops();
        c.prompts(ctx.prompts);
        c.lookups(&mut databases);
    }
    let key = |e: &ConfigError| (e.file.clone(), e.line.unwrap_or(0));
    report.errors.sort_by_key(key);
    report.warnings.sort_by_key(key);
    report
}

struct FlowChecker<'f, 'r> {
    flow: &'f Flow,
    report: &'r mut CheckReport,
}

impl FlowChecker<'_, '_> {
    fn finding(&self, line: usize, message: String) -> ConfigError {
        ConfigError { file: self.flow.file.display().to_string(), line: Some(line), col: None, message }
    }
    fn error(&mut self, line: usize, message: String) {
        let e = self.finding(line, message);
        self.report.errors.push(e);
    }
    fn warn(&mut self, line: usize, message: String) {
        let w = self.finding(line, message);
        self.report.warnings.push(w);
    }

    /// "no node named `x`", with the closest name when one is near.
    fn no_such_node(&self, target: &Goto) -> String {
        let mut msg = format!("no node named `{}`", target.node);
        let close = self
            .flow
            .nodes
            .iter()
            .map(|n| (edit_distance(&n.name, &target.node), &n.name))
            .filter(|(d, name)| *d <= 2.max(name.chars().count() / 3))
            .min();
        if let Some((_, name)) = close {
            msg.push_str(&format!(" (did you mean `{name}`?)"));
        }
        msg
    }

    fn targets(&mut self) {
        let index = node_index(self.flow);
        let flow = self.flow;
        if !index.contains_key(flow.start.node.as_str()) {
            let m = format!("start: {}", self.no_such_node(&flow.start));
            self.error(flow.start.line, m);
        }
        for node in &flow.nodes {
            for (label, target) in node.kind.exits() {
                if !index.contains_key(target.node.as_str()) {
                    let m = format!(
                        "node `{}` ({}): {}",
                        node.name,
                        exit_desc(&node.kind, &label),
                        self.no_such_node(target)
                    );
                    self.error(target.line, m);
                }
            }
        }
    }

    fn fallbacks(&mut self) {
        for node in &self.flow.nodes {
            if let NodeKind::Menu { fallback: None, .. } | NodeKind::Collect { fallback: None, .. } = node.kind {
                let m = format!(
                    "node `{}` ({}) has no `fallback`: after the last retry the call would have nowhere to go",
                    node.name,
                    node.kind.type_name()
                );
                self.error(node.line, m);
            }
        }
    }

    /// Node indexes each node can go to (targets that exist).
    fn edges(&self) -> Vec<Vec<usize>> {
        let index = node_index(self.flow);
        self.flow
            .nodes
            .iter()
            .map(|n| n.kind.exits().iter().filter_map(|(_, g)| index.get(g.node.as_str()).copied()).collect())
            .collect()
    }

    fn reachability(&mut self) {
        let Some(&start) = node_index(self.flow).get(self.flow.start.node.as_str()) else { return };
        let edges = self.edges();
        let mut seen = vec![false; edges.len()];
        seen[start] = true;
        let mut queue = VecDeque::from([start]);
        while let Some(i) = queue.pop_front() {
            for &j in &edges[i] {
                if !seen[j] {
                    seen[j] = true;
                    queue.push_back(j);
                }
            }
        }
        let flow = self.flow;
        for (node, _) in flow.nodes.iter().zip(&seen).filter(|(_, s)| !**s) {
            let m = format!("node `{}` is never reached from start `{}`", node.name, flow.start.node);
            self.warn(node.line, m);
        }
    }

    fn input_less_loops(&mut self) {
        let flow = self.flow;
        // The graph of nodes that do not wait for the caller.
        let waits: Vec<bool> = flow.nodes.iter().map(|n| n.kind.waits_for_input()).collect();
        let edges: Vec<Vec<usize>> = self
            .edges()
            .into_iter()
            .enumerate()
            .map(|(i, out)| if waits[i] { Vec::new() } else { out.into_iter().filter(|&j| !waits[j]).collect() })
            .collect();
        for component in strongly_connected(&edges) {
            let first = component[0];
            let looping = component.len() > 1 || edges[first].contains(&first);
            if !looping {
                continue;
            }
            let cycle = shortest_cycle(&edges, &component, first);
            let names: Vec<&str> = cycle.iter().map(|&i| flow.nodes[i].name.as_str()).collect();
            let m = format!(
                "node `{}`: a loop that never waits for the caller ({}): it would run without end",
                names[0],
                names.join(" → ")
            );
            self.error(flow.nodes[first].line, m);
        }
    }

    fn prompts(&mut self, lookup: &dyn PromptLookup) {
        let flow = self.flow;
        for node in &flow.nodes {
            for item in node.kind.prompt_items() {
                if let PromptItem::Prompt { name, line } = item
                    && name.is_literal()
                    && !lookup.has(flow.lang, &name.text)
                {
                    let m = format!(
                        "node `{}`: no prompt `{}` for language {} (in the flow directory's prompts or the default \
                         set)",
                        node.name,
                        name.text,
                        flow.lang.code()
                    );
                    self.error(*line, m);
                }
            }
        }
    }

    fn lookups(&mut self, databases: &mut Databases) {
        let flow = self.flow;
        for node in &flow.nodes {
            let NodeKind::Lookup { database, sql, sql_line, .. } = &node.kind else { continue };
            let result = match databases.get(database) {
                Ok(conn) => check_sql(conn, sql),
                Err(e) => Err(e.clone()),
            };
            if let Err(e) = result {
                self.error(*sql_line, format!("node `{}` (lookup): {e}", node.name));
            }
        }
    }
}

/// Node name → index in file order.
fn node_index(flow: &Flow) -> HashMap<&str, usize> {
    flow.nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect()
}

/// How an exit is named in messages: `next`, `choice 1`, `case 2`, ….
fn exit_desc(kind: &NodeKind, label: &str) -> String {
    match kind {
        NodeKind::Menu { .. } if label != "fallback" => format!("choice {label}"),
        _ => label.to_string(),
    }
}

/// Connections the SQL is prepared on, opened once per database.
#[derive(Default)]
struct Databases {
    records: Option<Result<Connection, String>>,
    files: HashMap<PathBuf, Result<Connection, String>>,
}

impl Databases {
    fn get(&mut self, db: &Database) -> &Result<Connection, String> {
        match db {
            Database::Records => self.records.get_or_insert_with(records_schema),
            Database::File(path) => self.files.entry(path.clone()).or_insert_with(|| open_read_only(path)),
        }
    }
}

/// An empty records database in memory, with the daemon's schema.
fn records_schema() -> Result<Connection, String> {
    let conn = Connection::open_in_memory().map_err(|e| format!("cannot create the records schema: {e}"))?;
    for (i, step) in MIGRATIONS.iter().enumerate() {
        conn.execute_batch(step).map_err(|e| format!("records schema step {}: {e}", i + 1))?;
    }
    Ok(conn)
}

fn open_read_only(path: &Path) -> Result<Connection, String> {
    if !path.is_file() {
        return Err(format!("database file `{}` does not exist", path.display()));
    }
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| format!("database file `{}`: cannot open it read-only: {e}", path.display()))
}

/// Whether the first word of `sql` (after comments) is SELECT, WITH or
/// VALUES.
fn starts_as_query(sql: &str) -> bool {
    let mut rest = sql.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, after)| after).trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, after)| after).trim_start();
        } else {
            break;
        }
    }
    let word: String = rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    matches!(word.to_ascii_uppercase().as_str(), "SELECT" | "WITH" | "VALUES")
}

/// Exactly one read-only query with `:name` parameters; the error as
/// SQLite words it, or what is wrong with it.
pub fn check_sql(conn: &Connection, sql: &str) -> Result<(), String> {
    let mut batch = rusqlite::Batch::new(conn, sql);
    let stmt = match batch.next() {
        Ok(Some(s)) => s,
        Ok(None) => return Err("sql has no statement".into()),
        Err(e) => return Err(format!("sql: {}", sqlite_message(&e))),
    };
    if !matches!(batch.next(), Ok(None)) {
        return Err("sql has more than one statement: a lookup runs one SELECT".into());
    }
    if !stmt.readonly() || stmt.column_count() == 0 || !starts_as_query(sql) {
        return Err("sql is not a SELECT: a lookup only reads (SELECT … or WITH … SELECT …)".into());
    }
    for i in 1..=stmt.parameter_count() {
        match stmt.parameter_name(i) {
            None => {
                return Err(format!(
                    "sql: parameter {i} is `?`: write `:name`, which is bound to the variable of that name"
                ));
            }
            Some(p) => match p.strip_prefix(':') {
                Some(var) if is_var_name(var) => {}
                Some(var) => return Err(format!("sql: parameter `{p}`: `{var}` is not a variable name")),
                None => return Err(format!("sql: parameter `{p}`: write `:name` (the variable's name)")),
            },
        }
    }
    Ok(())
}

fn sqlite_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    }
}

/// Strongly connected components (Kosaraju, without recursion), each
/// sorted by node index; components in order of their first node.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = edges.len();
    // 1: nodes in order of finishing a depth-first search.
    let mut finished = Vec::with_capacity(n);
    let mut visited = vec![false; n];
    for root in 0..n {
        if visited[root] {
            continue;
        }
        visited[root] = true;
        let mut stack = vec![(root, 0usize)];
        while let Some((v, next_edge)) = stack.last_mut() {
            if let Some(&w) = edges[*v].get(*next_edge) {
                *next_edge += 1;
                if !visited[w] {
                    visited[w] = true;
                    stack.push((w, 0));
                }
            } else {
                finished.push(*v);
                stack.pop();
            }
        }
    }
    // 2: on the reversed graph, latest finished first.
    let mut reversed = vec![Vec::new(); n];
    for (v, out) in edges.iter().enumerate() {
        for &w in out {
            reversed[w].push(v);
        }
    }
    let mut component = vec![usize::MAX; n];
    let mut components: Vec<Vec<usize>> = Vec::new();
    for &root in finished.iter().rev() {
        if component[root] != usize::MAX {
            continue;
        }
        let id = components.len();
        component[root] = id;
        let mut members = vec![root];
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            for &w in &reversed[v] {
                if component[w] == usize::MAX {
                    component[w] = id;
                    members.push(w);
                    stack.push(w);
                }
            }
        }
        members.sort_unstable();
        components.push(members);
    }
    components.sort_by_key(|c| c[0]);
    components
}

/// The shortest path from `start` back to itself inside `component`, as
/// node indexes ending with `start` again.
fn shortest_cycle(edges: &[Vec<usize>], component: &[usize], start: usize) -> Vec<usize> {
    let mut came_from: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in &edges[v] {
            if w == start {
                let mut path = vec![start, v];
                let mut at = v;
                while at != start {
                    at = came_from[&at];
                    path.push(at);
                }
                path.reverse();
                return path;
            }
            if component.binary_search(&w).is_ok() && !came_from.contains_key(&w) {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    // Unreachable for a strongly connected component; the members are
    // still the right thing to name.
    let mut all = component.to_vec();
    all.push(start);
    all
}

/// Levenshtein distance in characters (for "did you mean").
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diag + usize::from(ca != cb));
            diag = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_and_cycles() {
        // 0 → 1 → 2 → 0, 3 → 3, 4 → 0, 5 alone.
        let edges = vec![vec![1], vec![2], vec![0], vec![3], vec![0], vec![]];
        let c = strongly_connected(&edges);
        assert_eq!(c, vec![vec![0, 1, 2], vec![3], vec![4], vec![5]]);
        assert_eq!(shortest_cycle(&edges, &c[0], 0), vec![0, 1, 2, 0]);
        assert_eq!(shortest_cycle(&edges, &c[1], 3), vec![3, 3]);
        // Two cycles through 0: the shorter one is named.
        let edges = vec![vec![1, 3], vec![2], vec![0], vec![0]];
        let c = strongly_connected(&edges);
        assert_eq!(c, vec![vec![0, 1, 2, 3]]);
        assert_eq!(shortest_cycle(&edges, &c[0], 0), vec![0, 3, 0]);
    }

    #[test]
    fn a_long_chain_needs_no_deep_recursion() {
        let n = 200_000;
        let edges: Vec<Vec<usize>> = (0..n).map(|i| vec![(i + 1) % n]).collect();
        let c = strongly_connected(&edges);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].len(), n);
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("sales", "salse"), 2);
        assert_eq!(edit_distance("menu", "main_menu"), 5);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("中文", "中"), 1);
    }

    #[test]
    fn sql_rules() {
        let conn = records_schema().unwrap();
        assert_eq!(check_sql(&conn, "SELECT name, vip FROM customers WHERE id = :id"), Ok(()));
        assert_eq!(check_sql(&conn, "  -- who\n/* c */ with x as (select 1 as a) select a from x;"), Ok(()));
        assert!(check_sql(&conn, "SELECT nme FROM customers").unwrap_err().contains("no such column: nme"));
        assert!(check_sql(&conn, "SELEC 1").unwrap_err().contains("syntax error"));
        assert!(check_sql(&conn, "SELECT 1; SELECT 2").unwrap_err().contains("more than one statement"));
        assert!(check_sql(&conn, "DELETE FROM customers").unwrap_err().contains("not a SELECT"));
        assert!(check_sql(&conn, "BEGIN").unwrap_err().contains("not a SELECT"));
        assert!(check_sql(&conn, "PRAGMA table_info(customers)").unwrap_err().contains("not a SELECT"));
        assert!(check_sql(&conn, "-- nothing").unwrap_err().contains("no statement"));
        assert!(check_sql(&conn, "SELECT ?").unwrap_err().contains("parameter 1 is `?`"));
        assert!(check_sql(&conn, "SELECT @x").unwrap_err().contains("parameter `@x`: write `:name`"));
        assert!(check_sql(&conn, "SELECT :1x").unwrap_err().contains("`1x` is not a variable name"));
        // Nothing was written: the customers table is still empty and
        // exists.
        let n: i64 = conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0);
    }
}
