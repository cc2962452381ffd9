//! `ivr::check` on flow files: one directory under `tests/ivr_files/` per
//! class of problem, each asserting the message and the line.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ctibox_daemon::config::ConfigError;
use ctibox_daemon::ivr::PromptLookup;
use ctibox_daemon::ivr::check::{CheckContext, CheckReport, check_flows};
use ctibox_daemon::ivr::flow::{Flow, Lang, PromptItem};
use ctibox_daemon::ivr::parse::{load_dir, parse_flow};

/// Prompts that exist, per language.
struct Known(HashSet<(Lang, String)>);

impl Known {
    fn all_langs(names: &[&str]) -> Known {
        Known(Lang::ALL.iter().flat_map(|&l| names.iter().map(move |n| (l, n.to_string()))).collect())
    }
    /// Every literal prompt the flows name, in the flows' languages.
    fn everything_in(flows: &[Flow]) -> Known {
        let mut set = HashSet::new();
        for flow in flows {
            for node in &flow.nodes {
                for item in node.kind.prompt_items() {
                    if let PromptItem::Prompt { name, .. } = item {
                        set.insert((flow.lang, name.text.clone()));
                    }
                }
            }
        }
        Known(set)
    }
}

impl PromptLookup for Known {
    fn has(&self, lang: Lang, name: &str) -> bool {
        self.0.contains(&(lang, name.to_string()))
    }
}

fn case_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ivr_files").join(case)
}

/// Loads a case directory (which must parse) and checks it.
fn check_case(case: &str, prompts: Option<&dyn PromptLookup>) -> CheckReport {
    let (flows, errors) = load_dir(&case_dir(case));
    assert!(errors.is_empty(), "{case}: parse errors: {errors:#?}");
    let everything = Known::everything_in(&flows);
    let ctx = CheckContext { prompts: prompts.unwrap_or(&everything) };
    check_flows(&flows, &ctx)
}

/// `file:line` and message of each finding, file relative to the case.
fn findings(case: &str, list: &[ConfigError]) -> Vec<(String, usize, String)> {
    let dir = case_dir(case).display().to_string();
    list.iter()
        .map(|e| {
            let file = e.file.strip_prefix(&dir).unwrap_or(&e.file).trim_start_matches('/').to_string();
            (file, e.line.unwrap_or(0), e.message.clone())
        })
        .collect()
}

fn assert_finding(list: &[(String, usize, String)], file: &str, line: usize, needle: &str) {
    assert!(
        list.iter().any(|(f, l, m)| f == file && *l == line && m.contains(needle)),
        "no finding `{file}:{line}: …{needle}…` in {list:#?}"
    );
}

#[test]
fn unknown_targets() {
    let r = check_case("unknown_target", None);
    let e = findings("unknown_target", &r.errors);
    assert_eq!(e.len(), 3, "{e:#?}");
    assert_finding(&e, "main.toml", 7, "node `menu` (choice 1): no node named `salse` (did you mean `sales`?)");
    // Nothing close to `support` exists: no suggestion.
    assert_finding(&e, "main.toml", 7, "node `menu` (choice 2): no node named `support`");
    assert!(e[1].2.ends_with("`support`"), "{e:#?}");
    assert_finding(&e, "start.toml", 2, "start: no node named `greting` (did you mean `greeting`?)");
    let r2 = findings("unknown_target", &r.warnings);
    assert_finding(&r2, "main.toml", 10, "node `sales` is never reached from start `menu`");
    // Without a start node nothing can be reached: no warning about it.
    assert!(r2.iter().all(|(f, _, _)| f != "start.toml"), "{r2:#?}");
}

#[test]
fn unreachable_nodes_are_warnings() {
    let r = check_case("unreachable", None);
    assert!(r.errors.is_empty(), "{:#?}", r.errors);
    let w = findings("unreachable", &r.warnings);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_finding(&w, "main.toml", 9, "node `orphan` is never reached from start `hello`");
    assert_eq!(
        r.warnings[0].to_string(),
        format!("{}:9: node `orphan` is never reached from start `hello`", r.warnings[0].file)
    );
}

#[test]
fn menus_and_collects_need_a_fallback() {
    let r = check_case("no_fallback", None);
    let e = findings("no_fallback", &r.errors);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_finding(&e, "main.toml", 3, "node `menu` (menu) has no `fallback`");
    assert_finding(&e, "main.toml", 8, "node `digits` (collect) has no `fallback`");
}

#[test]
fn loops_without_input() {
    let r = check_case("input_loop", None);
    let e = findings("input_loop", &r.errors);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_finding(&e, "main.toml", 4, "node `check`: a loop that never waits for the caller (check → count → check)");
    assert_finding(&e, "self.toml", 5, "a loop that never waits for the caller (again → again)");
    // The menu that loops to itself waits for a key: not an error (it is
    // unreachable, a warning).
    assert!(e.iter().all(|(_, _, m)| !m.contains("`menu`")), "{e:#?}");
}

#[test]
fn missing_prompts_per_language() {
    // `main-menu` exists, but only in English; the flow is Russian.
    let mut known = Known::all_langs(&["welcome", "invalid-choice", "no-input", "goodbye"]);
    known.0.insert((Lang::En, "main-menu".into()));
    let r = check_case("missing_prompt", Some(&known));
    let e = findings("missing_prompt", &r.errors);
    assert_eq!(e.len(), 3, "{e:#?}");
    assert_finding(&e, "main.toml", 6, "node `hello`: no prompt `welcom` for language ru");
    assert_finding(&e, "main.toml", 11, "node `menu`: no prompt `main-menu` for language ru");
    assert_finding(&e, "main.toml", 14, "node `menu`: no prompt `no-input-2` for language ru");
}

#[test]
fn default_retry_prompts_are_checked_at_the_node() {
    let known = Known::all_langs(&["x"]);
    let text = "start = \"m\"\n[nodes.m]\ntype = \"menu\"\nprompt = \"x\"\nchoices = { 1 = \"m\" }\nfallback = \"m\"\n";
    let flow = parse_flow(Path::new("d.toml"), text).unwrap();
    let r = check_flows(&[flow], &CheckContext { prompts: &known });
    let e: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        e,
        [
            "d.toml:2: node `m`: no prompt `invalid-choice` for language en (in the flow directory's prompts or the \
             default set)",
            "d.toml:2: node `m`: no prompt `no-input` for language en (in the flow directory's prompts or the \
             default set)",
        ]
    );
}

#[test]
fn invalid_sql() {
    let r = check_case("bad_sql", None);
    let e = findings("bad_sql", &r.errors);
    assert_eq!(e.len(), 6, "{e:#?}");
    assert_finding(&e, "main.toml", 5, "node `syntax` (lookup): sql: near \"SELEC\": syntax error");
    assert_finding(&e, "main.toml", 12, "node `column` (lookup): sql: no such column: nme");
    assert_finding(&e, "main.toml", 21, "node `write` (lookup): sql is not a SELECT");
    assert_finding(&e, "main.toml", 28, "node `two` (lookup): sql has more than one statement");
    assert_finding(&e, "main.toml", 35, "node `param` (lookup): sql: parameter 1 is `?`");
    let shop = case_dir("bad_sql").join("shop.db");
    assert_finding(
        &e,
        "main.toml",
        43,
        &format!("node `nofile` (lookup): database file `{}` does not exist", shop.display()),
    );
}

#[test]
fn a_customer_database_is_opened_read_only_and_its_schema_used() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE orders (number TEXT PRIMARY KEY, status TEXT);").unwrap();
    }
    let write = |sql: &str| {
        let text = format!(
            "start = \"l\"\n[nodes.l]\ntype = \"lookup\"\ndatabase = \"shop.db\"\nsql = \"{sql}\"\nfound = \"e\"\n\
             not_found = \"e\"\nerror = \"e\"\n[nodes.e]\ntype = \"hangup\"\n"
        );
        std::fs::write(dir.path().join("f.toml"), text).unwrap();
        let (flows, errors) = load_dir(dir.path());
        assert!(errors.is_empty(), "{errors:?}");
        let r = check_flows(&flows, &CheckContext { prompts: &Known::all_langs(&[]) });
        r.errors.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    assert_eq!(write("SELECT status FROM orders WHERE number = :order"), Vec::<String>::new());
    let e = write("SELECT status FROM order_list WHERE number = :order");
    assert_eq!(e.len(), 1);
    assert!(e[0].ends_with("f.toml:5: node `l` (lookup): sql: no such table: order_list"), "{e:?}");
    // A table of the records schema is not in the customer database.
    let e = write("SELECT name FROM customers");
    assert!(e[0].contains("no such table: customers"), "{e:?}");
    let e = write("SELECT status FROM orders WHERE number = :order-no");
    assert!(e[0].contains("sql: no such column: no"), "{e:?}");
    let e = write("SELECT status FROM orders WHERE number = $order");
    assert!(e[0].contains("parameter `$order`: write `:name`"), "{e:?}");

    // Not a database at all.
    std::fs::write(&db, b"this is not SQLite, it is just long enough to have a header of sorts....").unwrap();
    let e = write("SELECT status FROM orders");
    assert_eq!(e.len(), 1);
    assert!(e[0].contains("node `l` (lookup):") && e[0].contains("not a database"), "{e:?}");
}

#[test]
fn the_example_and_the_good_flows_pass() {
    // The example reads orders.db next to it: made here, in a copy.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(case_dir("example").join("main.toml")).unwrap();
    std::fs::write(dir.path().join("main.toml"), &text).unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("orders.db")).unwrap();
    conn.execute_batch("CREATE TABLE orders (number TEXT PRIMARY KEY, status TEXT, delivery_date TEXT);").unwrap();
    drop(conn);
    let (flows, errors) = load_dir(dir.path());
    assert!(errors.is_empty(), "{errors:#?}");
    let r = check_flows(&flows, &CheckContext { prompts: &Known::everything_in(&flows) });
    assert_eq!(r, CheckReport::default());

    let r = check_case("good", None);
    assert_eq!(r, CheckReport::default());
    // The checked-in example without its database: exactly that error.
    let r = check_case("example", None);
    let e = findings("example", &r.errors);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_finding(&e, "main.toml", 123, "database file");
}

/// xorshift64*, for a deterministic fuzz loop.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[test]
fn parse_and_check_never_panic_on_mutated_flows() {
    let base = std::fs::read_to_string(case_dir("example").join("main.toml")).unwrap();
    let lines: Vec<&str> = base.lines().collect();
    let mut state = 7u64;
    let mut checked = 0;
    let known = Known::all_langs(&["welcome"]);
    for _ in 0..1500 {
        // Drop, copy or swap a few whole lines: the TOML often stays
        // valid, and the flow's structure changes (missing keys, loops,
        // bad targets, keys moved to other nodes).
        let mut out: Vec<&str> = lines.clone();
        for _ in 0..1 + next(&mut state) % 3 {
            let i = (next(&mut state) % out.len() as u64) as usize;
            let j = (next(&mut state) % out.len() as u64) as usize;
            match next(&mut state) % 3 {
                0 => {
                    out.remove(i);
                }
                1 => out.insert(i, out[j]),
                _ => out.swap(i, j),
            }
        }
        let text = out.join("\n");
        if let Ok(flow) = parse_flow(Path::new("/nonexistent/m.toml"), &text) {
            checked += 1;
            let r = check_flows(std::slice::from_ref(&flow), &CheckContext { prompts: &known });
            for e in r.errors.iter().chain(&r.warnings) {
                assert!(e.line.is_some_and(|l| l >= 1 && l <= out.len()), "{e} in:\n{text}");
            }
            let _ = ctibox_daemon::ivr::graph::to_dot(&flow);
        }
    }
    assert!(checked > 20, "only {checked} mutated flows parsed");
}

#[test]
fn the_reference_shows_the_tested_example() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ivr.md")).unwrap();
    let example = std::fs::read_to_string(case_dir("example").join("main.toml")).unwrap();
    assert!(
        doc.contains(&format!("```toml\n{example}```\n")),
        "docs/ivr.md must show daemon/tests/ivr_files/example/main.toml verbatim"
    );
}
