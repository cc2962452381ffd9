//! lookup, branch, set and webhook.

use super::*;
use crate::ivr::flow::Database;

const SQL: &str = "SELECT status, eta FROM orders WHERE id = :order AND (phone = :caller OR ':x' = :order)";

fn lookup_flow(database: Database) -> Arc<Flow> {
    flow("lk")
        .node(
            "lk",
            NodeKind::Lookup {
                database,
                sql: SQL.into(),
                sql_line: 4,
                prefix: "o.".into(),
                found: g("found"),
                not_found: g("nf"),
                error: g("err"),
            },
        )
        .node("found", play(&["status-${o.status}"], "end"))
        .node("nf", play(&["demo/no-such-order"], "end"))
        .node("err", play(&["sorry-error"], "end"))
        .node("m", menu("menu/main", &[('5', "end")]).kind())
        .build()
}

#[test]
fn lookup_found_sets_prefixed_vars() {
    let mut c = Call::with(lookup_flow(Database::Records), &[("order", "42")]);
    assert_eq!(
        c.start(),
        vec![
            node("lk", "lookup"),
            Action::Lookup {
                database: Database::Records,
                sql: SQL.into(),
                params: vec![("order".into(), "42".into()), ("caller".into(), "13800138000".into())],
            }
        ]
    );
    assert_eq!(c.s.deadline(), None);
    let row = vec![("status".to_string(), "shipped".to_string()), ("eta".to_string(), "2026-11-25".to_string())];
    assert_eq!(
        c.send(Input::LookupDone(Ok(Some(row)))),
        vec![res("lk", "found"), node("found", "play"), pl(&["status-shipped"])]
    );
    assert_eq!(c.var("o.status"), Some("shipped"));
    assert_eq!(c.var("o.eta"), Some("2026-11-25"));
    // Only one answer is taken.
    assert_eq!(c.send(Input::LookupDone(Ok(None))), vec![]);
}

#[test]
fn lookup_not_found_and_error() {
    // A variable that is not set binds as "".
    let mut c = Call::new(lookup_flow(Database::File("/srv/crm.db".into())));
    match &c.start()[1] {
        Action::Lookup { database, params, .. } => {
            assert_eq!(database, &Database::File("/srv/crm.db".into()));
            assert_eq!(params, &vec![("order".into(), String::new()), ("caller".into(), "13800138000".into())]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.send(Input::LookupDone(Ok(None))),
        vec![res("lk", "not_found"), node("nf", "play"), pl(&["demo/no-such-order"])]
    );
    assert_eq!(c.var("o.status"), None);

    let mut c = Call::new(lookup_flow(Database::Records));
    c.start();
    assert_eq!(
        c.send(Input::LookupDone(Err("database is locked".into()))),
        vec![res("lk", "error: database is locked"), node("err", "play"), pl(&["sorry-error"])]
    );
}

#[test]
fn digits_during_a_lookup_are_typeahead() {
    let f = flow("lk")
        .node(
            "lk",
            NodeKind::Lookup {
                database: Database::Records,
                sql: "SELECT 1 AS one".into(),
                sql_line: 2,
                prefix: String::new(),
                found: g("m"),
                not_found: g("end"),
                error: g("end"),
            },
        )
        .node("m", menu("menu/main", &[('5', "end")]).kind())
        .build();
    let mut c = Call::new(f);
    assert_eq!(
        c.start(),
        vec![
            node("lk", "lookup"),
            Action::Lookup { database: Database::Records, sql: "SELECT 1 AS one".into(), params: vec![] }
        ]
    );
    assert_eq!(c.key('5'), vec![], "no play to stop");
    assert_eq!(
        c.send(Input::LookupDone(Ok(Some(vec![("one".into(), "1".into())])))),
        then(vec![res("lk", "found"), node("m", "menu"), res("m", "choice 5")], to_end())
    );
    assert_eq!(c.var("one"), Some("1"));
}

// ---- branch ------------------------------------------------------------

/// A branch with `cases` (to `c1`, `c2`, … in order) and default `d`; each
/// target plays its own name.
fn branch_flow(conds: Vec<Condition>) -> FlowB {
    let n = conds.len();
    let cases = conds.into_iter().enumerate().map(|(i, w)| case(w, &format!("c{}", i + 1))).collect();
    let mut f = flow("b").node("b", NodeKind::Branch { cases, default: g("d") }).node("d", play(&["d"], "end"));
    for i in 1..=n {
        let name = format!("c{i}");
        f = f.node(&name, play(&[&name], "end"));
    }
    f
}

/// The result of the branch for a flow and call.
fn branch_result(f: Arc<Flow>, extra: &[(&str, &str)], local: LocalTime) -> String {
    let mut c = Call::with(f, extra);
    c.local = local;
    let out = c.start();
    match &out[1] {
        Action::Journal(Step::Result { node, result }) if node == "b" => result.clone(),
        other => panic!("{other:?} in {out:?}"),
    }
}

fn one(cond: Condition, extra: &[(&str, &str)]) -> bool {
    match branch_result(branch_flow(vec![cond]).build(), extra, WED_10).as_str() {
        "case 1" => true,
        "default" => false,
        other => panic!("{other}"),
    }
}

#[test]
fn branch_goes_to_the_first_case_that_holds() {
    let f = branch_flow(vec![
        cmp("vip", CompareOp::Ge, "2"),
        cmp("vip", CompareOp::Ge, "1"),
        cmp("vip", CompareOp::Ge, "0"),
    ])
    .build();
    let mut c = Call::with(Arc::clone(&f), &[("vip", "1")]);
    assert_eq!(c.start(), vec![node("b", "branch"), res("b", "case 2"), node("c2", "play"), pl(&["c2"])]);
    assert_eq!(branch_result(Arc::clone(&f), &[("vip", "10")], WED_10), "case 1", "10 >= 2 as numbers");
    assert_eq!(branch_result(Arc::clone(&f), &[("vip", "0")], WED_10), "case 3");
    let mut c = Call::with(f, &[("vip", "-1")]);
    assert_eq!(c.start(), vec![node("b", "branch"), res("b", "default"), node("d", "play"), pl(&["d"])]);
}

#[test]
fn branch_compare_ops() {
    let v = &[("n", "10"), ("s", "abc"), ("e", "")];
    assert!(one(cmp("n", CompareOp::Eq, "10.0"), v));
    assert!(!one(cmp("n", CompareOp::Ne, "10"), v));
    assert!(one(cmp("n", CompareOp::Gt, "9"), v), "numeric, not text");
    assert!(!one(cmp("n", CompareOp::Lt, "9"), v));
    assert!(one(cmp("n", CompareOp::Le, "10"), v));
    assert!(one(cmp("s", CompareOp::Lt, "abd"), v));
    assert!(one(cmp("s", CompareOp::Eq, "abc"), v));
    assert!(one(cmp("s", CompareOp::Gt, "10"), v), "text when one side is not a number");
    assert!(one(cmp("s", CompareOp::Matches, "a.c"), v));
    assert!(!one(cmp("s", CompareOp::Matches, "ab"), v), "the whole value");
    assert!(one(cmp("e", CompareOp::Empty, ""), v));
    assert!(one(cmp("missing", CompareOp::Empty, ""), v));
    assert!(one(cmp("s", CompareOp::NotEmpty, ""), v));
    assert!(!one(cmp("e", CompareOp::NotEmpty, ""), v));
    // The value is a template.
    assert!(one(cmp("s", CompareOp::Eq, "${t}c"), &[("s", "abc"), ("t", "ab")]));
}

#[test]
fn branch_caller_all_any_not() {
    let caller = |p: &str| Condition::Caller { pattern: p.into() };
    assert!(one(caller("^138"), &[]));
    assert!(one(caller("0013"), &[]), "a search, not a whole match");
    assert!(!one(caller("^139"), &[]));
    assert!(!one(caller("^138"), &[("caller", "")]), "withheld");
    let vip = cmp("vip", CompareOp::Ge, "2");
    assert!(one(Condition::All(vec![caller("^138"), vip.clone()]), &[("vip", "2")]));
    assert!(!one(Condition::All(vec![caller("^138"), vip.clone()]), &[("vip", "1")]));
    assert!(one(Condition::Any(vec![caller("^139"), vip.clone()]), &[("vip", "3")]));
    assert!(!one(Condition::Any(vec![caller("^139"), vip.clone()]), &[]));
    assert!(one(Condition::Not(Box::new(caller("^139"))), &[]));
    assert!(one(Condition::All(vec![]), &[]), "all of nothing holds");
    assert!(!one(Condition::Any(vec![]), &[]));
}

#[test]
fn branch_schedule_across_midnight() {
    // Office Mon-Fri 09:00-18:00; night line Fri 22:00 to Sat 02:00.
    let f =
        branch_flow(vec![Condition::Schedule { name: "office".into() }, Condition::Schedule { name: "night".into() }])
            .schedule("office", vec![rule(&[0, 1, 2, 3, 4], "09:00", "18:00")])
            .schedule("night", vec![rule(&[4], "22:00", "02:00")])
            .build();
    let at = |weekday: u8, hhmm: u16| LocalTime { year: 2026, month: 11, day: 20, weekday, minute: hhmm };
    let r = |t| branch_result(Arc::clone(&f), &[], t);
    assert_eq!(r(at(2, 600)), "case 1", "Wednesday 10:00");
    assert_eq!(r(at(2, 18 * 60)), "default", "18:00 is closed");
    assert_eq!(r(at(4, 22 * 60)), "case 2", "Friday 22:00");
    assert_eq!(r(at(5, 60)), "case 2", "Saturday 01:00 belongs to Friday night");
    assert_eq!(r(at(5, 120)), "default", "Saturday 02:00");
    assert_eq!(r(at(4, 60)), "default", "Friday 01:00 belongs to Thursday (not listed)");
    assert_eq!(r(at(5, 23 * 60)), "default", "Saturday night is not listed");
}

#[test]
fn branch_holidays() {
    let f = branch_flow(vec![Condition::Holiday { name: "cn".into() }, Condition::Schedule { name: "office".into() }])
        .schedule("office", vec![rule(&[0, 1, 2, 3, 4], "09:00", "18:00")])
        .holidays("cn", vec![((2026, 1, 1), (2026, 1, 1)), ((2026, 10, 1), (2026, 10, 7))])
        .build();
    let day = |month, day, weekday| LocalTime { year: 2026, month, day, weekday, minute: 600 };
    let r = |t| branch_result(Arc::clone(&f), &[], t);
    assert_eq!(r(day(10, 1, 3)), "case 1", "a Thursday in the golden week");
    assert_eq!(r(day(10, 7, 2)), "case 1", "last day included");
    assert_eq!(r(day(10, 8, 3)), "case 2", "back to work");
    assert_eq!(r(day(1, 1, 3)), "case 1");
    assert_eq!(r(day(1, 3, 5)), "default", "a Saturday");
}

#[test]
fn branch_on_a_broken_condition_hangs_up() {
    let f = branch_flow(vec![Condition::Schedule { name: "nope".into() }]).build();
    assert_eq!(
        Call::new(f).start(),
        vec![node("b", "branch"), res("b", "error: case 1 (line 7): no schedule named `nope`"), Action::Hangup]
    );
    let f = branch_flow(vec![cmp("vip", CompareOp::Eq, "1"), Condition::Holiday { name: "x".into() }]).build();
    assert_eq!(branch_result(Arc::clone(&f), &[("vip", "1")], WED_10), "case 1", "not evaluated past the match");
    assert_eq!(branch_result(f, &[], WED_10), "error: case 2 (line 7): no holiday list named `x`");
    let f = branch_flow(vec![Condition::Caller { pattern: "[".into() }]).build();
    assert!(branch_result(f, &[], WED_10).starts_with("error: case 1 (line 7): bad caller regex `[`"));
}

// ---- set ---------------------------------------------------------------

#[test]
fn set_expands_templates_in_order() {
    let f = flow("s")
        .node("s", set(&[("greeting", "Hello ${caller_name}"), ("line", "${greeting}, ${called}!${nothing}")], "p"))
        .node("p", play(&["hi-${caller_name}"], "end"))
        .build();
    let mut c = Call::new(f);
    assert_eq!(c.start(), vec![node("s", "set"), node("p", "play"), pl(&["hi-Ann"])]);
    assert_eq!(c.var("greeting"), Some("Hello Ann"));
    assert_eq!(c.var("line"), Some("Hello Ann, 4000!"));
}

// ---- webhook -----------------------------------------------------------

fn webhook_flow(method: HttpMethod) -> Arc<Flow> {
    flow("w")
        .node(
            "w",
            NodeKind::Webhook {
                method,
                url: Template::new("/customers?phone=${caller}"),
                body: vec![
                    ("phone".into(), Template::new("${caller}")),
                    ("id".into(), Template::new("call-${call_id}")),
                ],
                timeout_ms: 3000,
                prefix: "crm.".into(),
                next: g("ok"),
                error: g("err"),
            },
        )
        .node("ok", play(&["hello-${crm.name}"], "end"))
        .node("err", play(&["sorry-error"], "end"))
        .build()
}

#[test]
fn webhook_ok_sets_prefixed_vars() {
    let mut c = Call::new(webhook_flow(HttpMethod::Post));
    assert_eq!(
        c.start(),
        vec![
            node("w", "webhook"),
            Action::Webhook {
                method: HttpMethod::Post,
                url: "/customers?phone=13800138000".into(),
                body: vec![("phone".into(), "13800138000".into()), ("id".into(), "call-17".into())],
                timeout_ms: 3000,
            }
        ]
    );
    assert_eq!(c.key('1'), vec![]);
    let fields = vec![("name".to_string(), "Ann".to_string()), ("vip".to_string(), "2".to_string())];
    assert_eq!(c.send(Input::WebhookDone(Ok(fields))), vec![res("w", "ok"), node("ok", "play"), pl(&["hello-Ann"])]);
    assert_eq!(c.var("crm.vip"), Some("2"));
    assert_eq!(c.send(Input::WebhookDone(Ok(vec![]))), vec![], "one answer only");
}

#[test]
fn webhook_error_goes_to_error() {
    let mut c = Call::new(webhook_flow(HttpMethod::Get));
    assert!(matches!(&c.start()[1], Action::Webhook { method: HttpMethod::Get, .. }));
    assert_eq!(
        c.send(Input::WebhookDone(Err("status 503 from /customers".into()))),
        vec![res("w", "error: status 503 from /customers"), node("err", "play"), pl(&["sorry-error"])]
    );
    assert_eq!(c.var("crm.name"), None);
}
