use std::path::{Path, PathBuf};

use super::*;
use crate::ivr::flow::{
    CompareOp, Condition, Database, Gender, HttpMethod, NodeKind, PromptItem, SayAs, SayOptions, Template,
};

const EXAMPLE: &str = include_str!("../../../tests/ivr_files/example/main.toml");

fn parse(text: &str) -> Result<Flow, Vec<String>> {
    parse_flow(Path::new("/flows/f.toml"), text).map_err(|e| e.0.iter().map(ToString::to_string).collect())
}

/// The errors of a text that must not parse.
fn errors(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("parsed, but should not have:\n{text}"),
        Err(e) => e,
    }
}

/// Asserts exactly one error, at `line`, containing `needle`.
fn one_error(text: &str, line: usize, needle: &str) {
    let e = errors(text);
    assert_eq!(e.len(), 1, "expected one error, got {e:#?}\nin:\n{text}");
    let prefix = format!("/flows/f.toml:{line}:");
    assert!(e[0].starts_with(&prefix) && e[0].contains(needle), "expected `{prefix}…{needle}…`, got `{}`", e[0]);
}

/// A flow with one node, `a`, of the given body (after `[nodes.a]`).
fn node_a(body: &str) -> String {
    format!("start = \"a\"\n[nodes.a]\n{body}\n[nodes.b]\ntype = \"hangup\"\n")
}

fn prompt(name: &str, line: usize) -> PromptItem {
    PromptItem::Prompt { name: Template::new(name), line }
}

#[test]
fn the_example_parses_completely() {
    let flow = parse(EXAMPLE).unwrap();
    assert_eq!(flow.name, "main");
    assert_eq!(flow.lang, Lang::En);
    assert_eq!(flow.start.node, "greeting");
    assert_eq!(flow.start.line, 8);
    assert_eq!(flow.nodes.len(), 22);
    let types: std::collections::BTreeSet<&str> = flow.nodes.iter().map(|n| n.kind.type_name()).collect();
    assert_eq!(types.len(), 13, "every node type is in the example: {types:?}");
    let names: Vec<&str> = flow.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(&names[..3], ["greeting", "who_is_calling", "tell_crm"], "file order");

    assert_eq!(flow.schedules.len(), 1);
    let office = &flow.schedules[0];
    assert_eq!((office.name.as_str(), office.line), ("office", 10));
    assert_eq!(office.rules[0].days, [true, true, true, true, true, false, false]);
    assert_eq!((office.rules[0].from_min, office.rules[0].to_min), (540, 1080));
    assert_eq!(office.rules[1].days, [false, false, false, false, false, true, false]);
    assert_eq!(flow.holidays[0].ranges, vec![((2026, 1, 1), (2026, 1, 1)), ((2026, 10, 1), (2026, 10, 7))]);

    let greeting = flow.node("greeting").unwrap();
    assert_eq!(greeting.line, 19);
    let NodeKind::Play { prompts, barge_in, next } = &greeting.kind else { panic!() };
    assert_eq!(prompts, &vec![prompt("demo/welcome", 21), PromptItem::Silence { ms: 300, line: 21 }]);
    assert!(*barge_in);
    assert_eq!((next.node.as_str(), next.line), ("who_is_calling", 23));

    let NodeKind::Lookup { database, sql_line, prefix, found, .. } = &flow.node("who_is_calling").unwrap().kind else {
        panic!()
    };
    assert_eq!(database, &Database::Records);
    assert_eq!(*sql_line, 29);
    assert_eq!(prefix, "crm.");
    assert_eq!(found.line, 35);

    let NodeKind::Webhook { method, body, timeout_ms, .. } = &flow.node("tell_crm").unwrap().kind else { panic!() };
    assert_eq!(*method, HttpMethod::Post);
    assert_eq!(*timeout_ms, 2000);
    assert_eq!(body[0], ("caller".to_string(), Template::new("${caller}")));

    let NodeKind::Branch { cases, default } = &flow.node("office_hours").unwrap().kind else { panic!() };
    assert_eq!(cases[0].when, Condition::Holiday { name: "cn".into() });
    assert_eq!(cases[1].when, Condition::Not(Box::new(Condition::Schedule { name: "office".into() })));
    assert_eq!((cases[1].line, cases[1].goto.line), (53, 53));
    assert_eq!(default.node, "main_menu");

    let menu = flow.node("main_menu").unwrap();
    let NodeKind::Menu { prompt: p, choices, timeout_ms, invalid, no_input, retries, fallback } = &menu.kind else {
        panic!()
    };
    assert_eq!(p, &vec![prompt("demo/main-menu", 64)]);
    assert_eq!(choices.keys().collect::<String>(), "012389");
    assert_eq!((choices[&'3'].node.as_str(), choices[&'3'].line), ("order_number", 72));
    assert_eq!(*timeout_ms, 6000);
    assert_eq!(invalid, &vec![prompt("invalid-choice", menu.line)]);
    assert_eq!(no_input, &vec![prompt("no-input", menu.line)]);
    assert_eq!(*retries, 3);
    assert_eq!(fallback.as_ref().unwrap().node, "to_operator");

    let NodeKind::Queue { queue, priority, skills, on_failure } = &flow.node("team_queue").unwrap().kind else {
        panic!()
    };
    assert_eq!(queue, &Template::new("${team}"));
    assert_eq!(priority, &Some(Template::new("${crm.vip}")));
    assert_eq!(skills.len(), 2);
    assert_eq!(on_failure.as_ref().unwrap().node, "voicemail");

    let NodeKind::Collect { var, min, max, terminator, first_digit_timeout_ms, pattern, fallback, .. } =
        &flow.node("order_number").unwrap().kind
    else {
        panic!()
    };
    assert_eq!((var.as_str(), *min, *max, *terminator), ("order", 4, 10, Some('#')));
    assert_eq!(*first_digit_timeout_ms, 8000);
    assert_eq!(pattern.as_deref(), Some("[0-9]+"));
    assert!(fallback.is_some());

    let NodeKind::Lookup { database, .. } = &flow.node("find_order").unwrap().kind else { panic!() };
    assert_eq!(database, &Database::File(PathBuf::from("/flows/orders.db")));

    let NodeKind::Say { before, item, after, .. } = &flow.node("order_status").unwrap().kind else { panic!() };
    assert_eq!(before.len(), 1);
    assert_eq!(after, &vec![prompt("demo/status-${order_status}", 134)]);
    assert_eq!(
        item,
        &PromptItem::Say {
            value: Template::new("${order}"),
            kind: SayAs::Digits,
            options: SayOptions::default(),
            line: 132
        }
    );

    let NodeKind::Voicemail { beep, max_ms, silence_ms, notify, .. } = &flow.node("voicemail").unwrap().kind else {
        panic!()
    };
    assert_eq!((*beep, *max_ms, *silence_ms), (true, 120_000, 5_000));
    assert!(notify.is_some());
    let NodeKind::Record { var, max_ms, terminator, .. } = &flow.node("feedback").unwrap().kind else { panic!() };
    assert_eq!((var.as_str(), *max_ms, *terminator), ("feedback", 90_000, Some('#')));
    let NodeKind::Hangup { prompts } = &flow.node("saved").unwrap().kind else { panic!() };
    assert_eq!(prompts.len(), 2);
}

#[test]
fn defaults_and_inline_nodes() {
    let text = "start = \"m\"\n\
                [nodes]\n\
                m = { type = \"menu\", prompt = \"x\", choices = { \"*\" = \"h\", \"#\" = \"h\" } }\n\
                c = { type = \"collect\", prompt = [\"x\"], var = \"v\", terminator = \"\", next = \"h\" }\n\
                r = { type = \"record\", next = \"h\" }\n\
                w = { type = \"webhook\", method = \"get\", url = \"https://x/${caller}\", next = \"h\", error = \"h\" }\n\
                h = { type = \"hangup\" }\n";
    let flow = parse(text).unwrap();
    // The file stem names the flow; English by default.
    assert_eq!((flow.name.as_str(), flow.lang), ("f", Lang::En));
    let m = flow.node("m").unwrap();
    assert_eq!(m.line, 3);
    let NodeKind::Menu { choices, timeout_ms, retries, fallback, .. } = &m.kind else { panic!() };
    assert_eq!(choices.keys().collect::<String>(), "#*");
    assert_eq!((*timeout_ms, *retries, fallback.is_none()), (5000, 3, true));
    let NodeKind::Collect { min, max, terminator, inter_digit_timeout_ms, .. } = &flow.node("c").unwrap().kind else {
        panic!()
    };
    assert_eq!((*min, *max, *terminator, *inter_digit_timeout_ms), (1, 20, None, 4000));
    let r = flow.node("r").unwrap();
    assert_eq!(r.line, 5);
    let NodeKind::Record { prompt, beep, max_ms, silence_ms, var, .. } = &r.kind else { panic!() };
    assert_eq!((prompt.len(), *beep, *max_ms, *silence_ms, var.as_str()), (0, true, 60_000, 5_000, "recording"));
    let NodeKind::Webhook { method, timeout_ms, prefix, .. } = &flow.node("w").unwrap().kind else { panic!() };
    assert_eq!((*method, *timeout_ms, prefix.as_str()), (HttpMethod::Get, 3000, ""));
}

#[test]
fn say_items_and_nodes() {
    let flow = parse(&node_a(
        "type = \"say\"\nvalue = 12\nas = \"money\"\ngender = \"feminine\"\ncurrency = \"rub\"\nnext = \"b\"",
    ))
    .unwrap();
    let NodeKind::Say { item, before, .. } = &flow.node("a").unwrap().kind else { panic!() };
    assert!(before.is_empty());
    assert_eq!(
        item,
        &PromptItem::Say {
            value: Template::new("12"),
            kind: SayAs::Money,
            options: SayOptions { gender: Some(Gender::Feminine), currency: Some("RUB".into()) },
            line: 4
        }
    );
    let flow = parse(&node_a(
        "type = \"play\"\nprompts = [{ say = \"${n}\", as = \"ordinal\", gender = \"neuter\" }, \"x\"]\nnext = \"b\"",
    ))
    .unwrap();
    let NodeKind::Play { prompts, .. } = &flow.node("a").unwrap().kind else { panic!() };
    assert!(matches!(&prompts[0], PromptItem::Say { kind: SayAs::Ordinal, options, .. }
        if options.gender == Some(Gender::Neuter)));
}

#[test]
fn conditions() {
    let flow = parse(
        "start = \"a\"\n[schedules.s]\nrules = [{ hours = \"22:00-06:00\" }]\n[holidays.h]\ndates = []\n\
         [nodes.a]\ntype = \"branch\"\ndefault = \"a\"\n\
         [[nodes.a.cases]]\nwhen = { any = [{ var = \"x\", op = \"empty\" }, { caller = \"^138\" }, \
         { all = [{ schedule = \"s\" }, { not = { holiday = \"h\" } }] }] }\ngoto = \"a\"\n\
         [[nodes.a.cases]]\nwhen = { var = \"crm.vip\", op = \">=\", value = 2 }\ngoto = \"a\"\n",
    )
    .unwrap();
    let NodeKind::Branch { cases, .. } = &flow.node("a").unwrap().kind else { panic!() };
    assert_eq!(cases.len(), 2);
    assert_eq!((cases[0].line, cases[0].goto.line, cases[1].goto.line), (9, 11, 14));
    let Condition::Any(list) = &cases[0].when else { panic!() };
    assert_eq!(list[0], Condition::Compare { var: "x".into(), op: CompareOp::Empty, value: Template::new("") });
    assert_eq!(list[1], Condition::Caller { pattern: "^138".into() });
    assert!(matches!(&list[2], Condition::All(v) if v.len() == 2));
    assert_eq!(
        cases[1].when,
        Condition::Compare { var: "crm.vip".into(), op: CompareOp::Ge, value: Template::new("2") }
    );
    assert_eq!((flow.schedules[0].rules[0].days, flow.schedules[0].rules[0].from_min), ([true; 7], 1320));
}

#[test]
fn syntax_errors_have_a_line() {
    one_error("start = \"a\"\n[nodes.a]\ntype = \"hangup\nx = 1\n", 3, "");
    one_error("start = \"a\"\n[nodes.a]\ntype = \"hangup\"\n[nodes.a]\n", 4, "");
}

#[test]
fn top_level_errors() {
    one_error(
        "start = \"a\"\nlanguage = \"fr\"\n[nodes.a]\ntype = \"hangup\"\n",
        2,
        "language `fr` is not one of zh-CN, en, ru",
    );
    one_error("start = \"a\"\nflow = 1\n[nodes.a]\ntype = \"hangup\"\n", 2, "unknown key `flow`");
    one_error("[nodes.a]\ntype = \"hangup\"\n", 1, "`start` is missing");
    one_error("start = \"a\"\n", 1, "`nodes` is missing");
    one_error("start = \"a\"\nname = \"a b\"\n[nodes.a]\ntype = \"hangup\"\n", 2, "name `a b`");
    one_error("start = \"\"\n[nodes.a]\ntype = \"hangup\"\n", 1, "flow: `start`: the node name is empty");
    one_error("start = \"a\"\nnodes = 3\n", 2, "`nodes` must be a table of nodes, not an integer");
}

#[test]
fn node_type_errors() {
    one_error(&node_a("next = \"b\""), 2, "node `a` has no `type` (one of play, say, menu");
    one_error(&node_a("type = \"plya\""), 3, "unknown type `plya`");
    one_error(&node_a("type = 4"), 3, "`type` must be a string, not an integer");
    one_error("start = \"a\"\n[nodes]\na = 4\n", 3, "node `a` must be a table");
}

#[test]
fn unknown_keys_are_per_node_type() {
    // `retries` belongs to menus, not to play nodes.
    one_error(
        &node_a("type = \"play\"\nprompts = \"x\"\nretries = 2\nnext = \"b\""),
        5,
        "node `a` (play): unknown key `retries` (play keys: type, prompts, prompt, barge_in, next)",
    );
    one_error(&node_a("type = \"hangup\"\nnext = \"b\""), 4, "node `a` (hangup): unknown key `next`");
    one_error(
        &node_a("type = \"menu\"\nprompt = \"x\"\nchoices = { 1 = \"b\" }\nfallback = \"b\"\nnext = \"b\""),
        7,
        "unknown key `next`",
    );
}

#[test]
fn missing_required_keys() {
    one_error(&node_a("type = \"play\"\nprompts = \"x\""), 2, "node `a` (play): `next` is missing");
    one_error(&node_a("type = \"play\"\nnext = \"b\""), 2, "`prompts` is missing");
    one_error(&node_a("type = \"menu\"\nprompt = \"x\""), 2, "`choices` is missing");
    one_error(&node_a("type = \"collect\"\nprompt = \"x\"\nnext = \"b\""), 2, "`var` is missing");
    one_error(&node_a("type = \"lookup\"\nfound = \"b\"\nnot_found = \"b\"\nerror = \"b\""), 2, "`sql` is missing");
    one_error(&node_a("type = \"say\"\nvalue = \"1\"\nnext = \"b\""), 2, "`as` is missing");
    one_error(&node_a("type = \"transfer\""), 2, "`to` is missing");
    one_error(&node_a("type = \"queue\""), 2, "`queue` is missing");
    one_error(&node_a("type = \"voicemail\"\nnext = \"b\""), 2, "`mailbox` is missing");
    one_error(&node_a("type = \"set\"\nnext = \"b\""), 2, "`vars` is missing");
    one_error(&node_a("type = \"branch\"\ndefault = \"b\""), 2, "`cases` is missing");
    one_error(&node_a("type = \"webhook\"\nurl = \"/x\"\nnext = \"b\""), 2, "`error` is missing");
    // An inline node: the error is at its key.
    one_error("start = \"a\"\n[nodes]\na = { type = \"play\", prompts = \"x\" }\n", 3, "`next` is missing");
}

#[test]
fn value_errors() {
    one_error(
        &node_a("type = \"play\"\nprompts = \"x\"\nbarge_in = \"yes\"\nnext = \"b\""),
        5,
        "`barge_in` must be true or false, not a string",
    );
    one_error(&node_a("type = \"play\"\nprompts = \"x\"\nnext = 3"), 5, "`next` must be a string");
    one_error(
        &node_a("type = \"play\"\nprompts = [\"x\", 3]\nnext = \"b\""),
        4,
        "an item must be a prompt name or a table, not an integer",
    );
    one_error(&node_a("type = \"play\"\nprompts = [\"\"]\nnext = \"b\""), 4, "a prompt name is empty");
    one_error(
        &node_a("type = \"play\"\nprompts = [{ sya = \"1\" }]\nnext = \"b\""),
        4,
        "an item is a prompt name, { say",
    );
    one_error(
        &node_a("type = \"play\"\nprompts = [{ silence = \"1s\", as = \"x\" }]\nnext = \"b\""),
        4,
        "unknown key `as`",
    );
    one_error(
        &node_a("type = \"play\"\nprompts = \"x\"\nprompt = \"y\"\nnext = \"b\""),
        5,
        "`prompt` and `prompts` are the same key",
    );
    one_error(
        &node_a("type = \"menu\"\nprompt = \"x\"\nchoices = { 1 = \"b\" }\nretries = 0"),
        6,
        "`retries` must be 1 to 20, not 0",
    );
    one_error(
        &node_a("type = \"collect\"\nprompt = \"x\"\nvar = \"v\"\nmin = 5\nmax = 3\nnext = \"b\""),
        6,
        "`min` (5) is more than `max` (3)",
    );
    one_error(
        &node_a("type = \"set\"\nvars = { x = [1] }\nnext = \"b\""),
        4,
        "`vars.x` must be a string, not an array",
    );
    one_error(
        &node_a("type = \"webhook\"\nmethod = \"PUT\"\nurl = \"/x\"\nnext = \"b\"\nerror = \"b\""),
        4,
        "method `PUT` is not GET or POST",
    );
    one_error(
        &node_a(
            "type = \"lookup\"\nsql = \"SELECT 1\"\nprefix = \"1x\"\nfound = \"b\"\nnot_found = \"b\"\nerror = \"b\"",
        ),
        5,
        "`prefix`: `1x` cannot start a variable name",
    );
    one_error(
        &node_a("type = \"lookup\"\nsql = \" \"\nfound = \"b\"\nnot_found = \"b\"\nerror = \"b\""),
        4,
        "`sql` is empty",
    );
}

#[test]
fn bad_durations() {
    one_error(
        &node_a("type = \"menu\"\nprompt = \"x\"\nchoices = { 1 = \"b\" }\ntimeout = \"5 parsecs\""),
        6,
        "`timeout`: `5 parsecs`: unknown unit `parsecs`",
    );
    one_error(&node_a("type = \"menu\"\nprompt = \"x\"\nchoices = { 1 = \"b\" }\ntimeout = \"5\""), 6, "needs a unit");
    one_error(&node_a("type = \"record\"\nmax = \"0s\"\nnext = \"b\""), 4, "`max` must be longer than zero");
    one_error(
        &node_a("type = \"play\"\nprompts = [{ silence = \"soon\" }]\nnext = \"b\""),
        4,
        "`silence`: `soon` is not a duration",
    );
}

#[test]
fn bad_keys() {
    one_error(
        &node_a("type = \"menu\"\nprompt = \"x\"\nchoices = { 11 = \"b\" }"),
        5,
        "choices`: `11` is not a key (one of 0-9, * and #)",
    );
    one_error(&node_a("type = \"menu\"\nprompt = \"x\"\n[nodes.a.choices]\nA = \"b\""), 6, "`A` is not a key");
    one_error(&node_a("type = \"menu\"\nprompt = \"x\"\nchoices = { 1 = 2 }"), 5, "choice `1` must name a node");
    one_error(
        &node_a("type = \"collect\"\nprompt = \"x\"\nvar = \"v\"\nterminator = \"##\"\nnext = \"b\""),
        6,
        "`terminator`: `##` is not a key",
    );
}

#[test]
fn bad_templates_and_variables() {
    one_error(&node_a("type = \"play\"\nprompts = \"status-${status\"\nnext = \"b\""), 4, "`${` is not closed");
    one_error(&node_a("type = \"transfer\"\nto = \"${9x}\""), 4, "`${9x}` is not a variable name");
    one_error(
        &node_a("type = \"collect\"\nprompt = \"x\"\nvar = \"order-no\"\nnext = \"b\""),
        5,
        "`order-no` is not a variable name",
    );
    one_error(&node_a("type = \"set\"\nvars = { \"a b\" = \"1\" }\nnext = \"b\""), 4, "`a b` is not a variable name");
    one_error(&node_a("type = \"record\"\nvar = \"\"\nnext = \"b\""), 4, "`` is not a variable name");
    one_error(
        &node_a("type = \"webhook\"\nurl = \"/x\"\nbody = { id = \"${}\" }\nnext = \"b\"\nerror = \"b\""),
        5,
        "`${}` is not a variable name",
    );
}

#[test]
fn bad_regexes() {
    one_error(
        &node_a("type = \"collect\"\nprompt = \"x\"\nvar = \"v\"\npattern = \"[0-9\"\nnext = \"b\""),
        6,
        "bad regex `[0-9`",
    );
    one_error(
        &node_a("type = \"branch\"\ncases = [{ when = { caller = \"(13\" }, goto = \"b\" }]\ndefault = \"b\""),
        4,
        "bad regex `(13`",
    );
    one_error(
        &node_a(
            "type = \"branch\"\ncases = [{ when = { var = \"x\", op = \"matches\", value = \"*x\" }, goto = \"b\" }]\ndefault = \"b\"",
        ),
        4,
        "bad regex `*x`",
    );
}

#[test]
fn bad_say_options() {
    one_error(
        &node_a("type = \"say\"\nvalue = \"1\"\nas = \"roman\"\nnext = \"b\""),
        5,
        "`as = \"roman\"` is not one of number, digits",
    );
    one_error(
        &node_a("type = \"say\"\nvalue = \"1\"\nas = \"number\"\ngender = \"f\"\nnext = \"b\""),
        6,
        "gender `f` is not masculine, feminine or neuter",
    );
    one_error(
        &node_a("type = \"say\"\nvalue = \"1\"\nas = \"money\"\ncurrency = \"EUR\"\nnext = \"b\""),
        6,
        "currency `EUR` is not one of CNY, USD, RUB",
    );
    one_error(&node_a("type = \"play\"\nprompts = { say = \"1\" }\nnext = \"b\""), 4, "`as` is missing");
}

#[test]
fn bad_conditions() {
    let branch = |when: &str| {
        node_a(&format!("type = \"branch\"\ncases = [{{ when = {when}, goto = \"b\" }}]\ndefault = \"b\""))
    };
    one_error(&branch("{ var = \"x\", op = \"=~\", value = \"1\" }"), 4, "op `=~` is not one of ==, !=");
    one_error(&branch("{ var = \"x\", op = \"==\" }"), 4, "`value` is missing");
    one_error(&branch("{ var = \"x\", op = \"empty\", value = \"\" }"), 4, "take no `value`");
    one_error(&branch("{ var = \"x\", op = \"==\", value = \"1\", values = 2 }"), 4, "unknown key `values`");
    one_error(&branch("{ schedule = \"office\" }"), 4, "no schedule named `office` in [schedules]");
    one_error(&branch("{ holiday = \"cn\" }"), 4, "no holiday list named `cn` in [holidays]");
    one_error(&branch("{ caller = \"^1\", schedule = \"x\" }"), 4, "not several (caller, schedule)");
    one_error(&branch("{ always = true }"), 4, "a condition needs one of: var, caller");
    one_error(&branch("{ all = [] }"), 4, "`all` lists no condition");
    one_error(&branch("{ not = { any = [{ holiday = \"x\" }] } }"), 4, "no holiday list named `x`");
    one_error(&node_a("type = \"branch\"\ncases = [{ goto = \"b\" }]\ndefault = \"b\""), 4, "`when` is missing");
}

#[test]
fn bad_schedules_and_holidays() {
    let with = |extra: &str| format!("start = \"a\"\n{extra}\n[nodes.a]\ntype = \"hangup\"\n");
    one_error(
        &with("[schedules.s]\nrules = [{ days = \"mon-fry\", hours = \"09:00-18:00\" }]"),
        3,
        "schedule `s`: days: `fry` is not a weekday",
    );
    one_error(
        &with("[schedules.s]\nrules = [{ days = \"mon\", hours = \"09:00-25:00\" }]"),
        3,
        "hours: `25:00` is not a time of day",
    );
    one_error(&with("[schedules.s]\nrules = [{ days = \"mon\", from = \"09:00\" }]"), 3, "unknown key `from`");
    one_error(&with("[schedules.s]\nrules = []"), 3, "`rules` is empty");
    one_error(
        &with("[holidays.h]\ndates = [\"2026-02-30\"]"),
        3,
        "holidays `h`: `2026-02-30`: day 30 does not exist in 2026-02",
    );
    one_error(&with("[holidays.h]\ndates = [\"2026-10-07..2026-10-01\"]"), 3, "runs backwards");
    one_error(&with("[holidays.h]\ndates = [2026-01-01]"), 3, "write the date in quotes: \"2026-01-01\"");
}

#[test]
fn every_error_is_reported() {
    let text = "start = \"a\"\nlanguage = \"xx\"\n[nodes.a]\ntype = \"menu\"\nprompt = \"${\"\nchoices = { x = \"b\" }\n\
                timeout = \"later\"\nbogus = 1\n[nodes.b]\ntype = \"nothing\"\n";
    let e = errors(text);
    let lines: Vec<&str> = e.iter().map(|s| s.split(':').nth(1).unwrap()).collect();
    assert_eq!(e.len(), 6, "{e:#?}");
    for l in ["2", "5", "6", "7", "8", "10"] {
        assert!(lines.contains(&l), "no error on line {l}: {e:#?}");
    }
}

#[test]
fn load_dir_sorts_and_names_duplicates_and_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, text: &[u8]| std::fs::write(dir.path().join(name), text).unwrap();
    w("b.toml", b"start = \"x\"\n[nodes.x]\ntype = \"hangup\"\n");
    w("a.toml", b"name = \"b\"\nstart = \"x\"\n[nodes.x]\ntype = \"hangup\"\n");
    w("c.toml", b"start = \"x\"\n[nodes.x]\ntype = \"hangup\"\n");
    w("d.toml", b"start = \"x\"\n[nodes.x]\ntype = \"hangup\"\nprompts = \"\xff\"\n");
    w("e.toml", b"start = \"x\"\n");
    w("notes.txt", b"not a flow");
    std::fs::create_dir(dir.path().join("sub.toml")).unwrap();
    let (flows, errs) = load_dir(dir.path());
    let names: Vec<&str> = flows.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["b", "c"]);
    let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(msgs.len(), 3, "{msgs:#?}");
    let b = dir.path().join("b.toml").display().to_string();
    assert!(msgs[0].starts_with(&b) && msgs[0].contains("there is already a flow named `b`"), "{msgs:#?}");
    assert!(msgs[0].contains("a.toml"), "names the first file: {}", msgs[0]);
    assert!(msgs[1].contains("d.toml: cannot read the flow file"), "{msgs:#?}");
    assert!(msgs[2].contains("e.toml:1:") && msgs[2].contains("`nodes` is missing"), "{msgs:#?}");

    let (flows, errs) = load_dir(&dir.path().join("none"));
    assert!(flows.is_empty());
    assert!(errs[0].to_string().contains("none: cannot read the flow directory"), "{errs:?}");
}

/// xorshift64*: a small deterministic generator for the fuzz loops.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Mutates a valid flow file: cut, duplicate, insert characters TOML and
/// flows give meaning to, swap lines.
fn mutate(rng: &mut Rng, text: &str) -> String {
    const PIECES: &[&str] = &[
        "\"",
        "'",
        "[",
        "]",
        "{",
        "}",
        "=",
        ",",
        ".",
        "\n",
        "#",
        "${",
        "}",
        "\\",
        "\"\"\"",
        "é",
        "中",
        "0",
        "-1",
        "99999999999999999999",
        "type = \"menu\"",
        "next = ",
        "[nodes.x]",
        "[[nodes.a.cases]]",
        "true",
        "1e400",
        "2026-01-01",
        "..",
        ":",
        "*",
        "(",
        "\u{0}",
    ];
    let mut s = text.to_string();
    for _ in 0..1 + rng.below(4) {
        let mut at = rng.below(s.len() + 1);
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        match rng.below(4) {
            0 => {
                let mut end = (at + rng.below(20)).min(s.len());
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s.replace_range(at..end, "");
            }
            1 => s.insert_str(at, PIECES[rng.below(PIECES.len())]),
            2 => {
                let mut end = (at + rng.below(40)).min(s.len());
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                let piece = s[at..end].to_string();
                s.insert_str(at, &piece);
            }
            _ => {
                let mut lines: Vec<&str> = s.lines().collect();
                if lines.len() > 1 {
                    let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
                    lines.swap(i, j);
                }
                s = lines.join("\n");
            }
        }
    }
    s
}

#[test]
fn never_panics_on_random_bytes() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let len = rng.below(300);
        let bytes: Vec<u8> = (0..len).map(|_| (rng.next() >> 56) as u8).collect();
        let _ = parse(&String::from_utf8_lossy(&bytes));
        // Mostly-printable text gets further into the parser.
        let printable: String = bytes.iter().map(|b| (b' ' + b % 95) as char).collect();
        let _ = parse(&printable);
    }
}

#[test]
fn never_panics_on_mutated_flows() {
    let mut rng = Rng(42);
    let mut parsed = 0;
    for _ in 0..4000 {
        let text = mutate(&mut rng, EXAMPLE);
        if let Ok(flow) = parse(&text) {
            parsed += 1;
            let _ = crate::ivr::graph::to_dot(&flow);
        } else {
            // Every error names the file and a line.
            for e in parse(&text).unwrap_err() {
                assert!(e.starts_with("/flows/f.toml:"), "{e}");
            }
        }
    }
    // Some mutations keep the file valid (a cut comment, a swapped
    // blank line): the loop reaches the end of the reader too.
    assert!(parsed > 50, "only {parsed} mutated files parsed");
}
