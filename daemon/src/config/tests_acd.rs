//! `[acd]`, `[[queue]]`, `[[agent]]`: a full file parses into the exact
//! specs; each class of mistake is reported at its line.

use super::*;
use crate::acd::{AgentSpec, Member, QueueSpec, Relax, Strategy};

/// Two extensions, two API users, a trunk into the `sales` queue.
const BASE: &str = r#"
[board]
backend = "builtin:fxo=2,fxs=2"

[[trunk]]
name = "pstn"
channels = "1-2"
inbound = "queue:sales"

[[extension]]
number = "801"
channel = 3

[[extension]]
number = "802"
channel = 4

[[user]]
name = "alice"
role = "agent"
password_hash = "$argon2id$x"

[[user]]
name = "bob"
role = "supervisor"
password_hash = "$argon2id$y"
"#;

/// Agents 1001 and 1002 (the second with no PIN) and a plain `sales` queue.
const AGENTS_AND_SALES: &str = r#"
[[agent]]
id = "1001"
name = "Alice"
pin = "1234"
extension = "801"
skills = { sales = 8, english = 5 }
user = "alice"

[[agent]]
id = "1002"

[[queue]]
name = "sales"
strategy = "ring_all"
members = ["1001", "1002"]
"#;

/// BASE, the agents and `sales`, then `more`.
fn file(more: &str) -> String {
    format!("{BASE}{AGENTS_AND_SALES}{more}")
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    match text.lines().position(|l| l.contains(needle)) {
        Some(i) => i + 1,
        None => panic!("`{needle}` is not in:\n{text}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    match Config::parse("t.toml", text) {
        Ok(_) => panic!("expected errors in:\n{text}"),
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

/// The file has an error containing `want` on the line that contains
/// `at`, and no error elsewhere.
fn error_at(text: &str, at: &str, want: &str) {
    let line = line_of(text, at);
    let e = errors(text);
    assert!(
        e.iter().any(|m| m.starts_with(&format!("t.toml:{line}:")) && m.contains(want)),
        "wanted `{want}` at line {line}, got {e:#?}"
    );
    assert!(e.iter().all(|m| m.starts_with(&format!("t.toml:{line}:"))), "errors on other lines: {e:#?}");
}

fn parses(text: &str) -> Config {
    match Config::parse("t.toml", text) {
        Ok(c) => c,
        Err(e) => panic!("{e}\nin:\n{text}"),
    }
}

#[test]
fn full_example_parses_into_the_exact_specs() {
    let text = format!(
        r##"{BASE}
[system]
country = "RU"

[acd]
login_code = "*71"
logout_code = "*72"
ready_code = "#73"
not_ready_code = "*74"
seed = 42

[[ring_group]]
number = "600"
members = ["801"]
no_answer = "queue:support"

[[queue]]
name = "sales"
title = "Sales"
strategy = "weighted-random"
members = ["1001", "1002"]
weights = {{ "1002" = 3 }}
offer_timeout = "20s"
no_answer = "ready"
wrap_up = "10s"
max_wait = "5m"
max_len = 20
overflow = "group:600"
join_empty = false
leave_empty = true
sticky = "0s"
service_level = "30s"
announce = "60s"
comfort = ["queue/comfort", "goodbye"]
comfort_every = "30s"
music_on_hold = "hold.wav"
callback_key = "*"
language = "zh"

[[queue]]
name = "support"
strategy = "skills"
members = ["1002"]
relax = [ {{ after = "30s", lower = 1 }}, {{ after = "90s", lower = "any" }} ]

[[agent]]
id = "1001"
name = "Alice"
pin = "1234"
extension = "801"
skills = {{ sales = 8, english = 5 }}
user = "alice"

[[agent]]
id = "1002"
pin = "00000000"
extension = "802"
skills = {{ support = 10 }}
user = "bob"
"##
    );
    let c = parses(&text);
    assert_eq!(
        c.acd,
        AcdConfig {
            login_code: "*71".into(),
            logout_code: "*72".into(),
            ready_code: "#73".into(),
            not_ready_code: "*74".into(),
            seed: 42,
        }
    );

    let sales = c.queue("sales").expect("sales");
    let want = QueueSpec {
        name: "sales".into(),
        title: "Sales".into(),
        strategy: Strategy::WeightedRandom,
        members: vec![Member { agent: "1001".into(), weight: 1 }, Member { agent: "1002".into(), weight: 3 }],
        offer_timeout_ms: 20_000,
        no_answer_not_ready: false,
        wrap_up_ms: 10_000,
        max_wait_ms: Some(300_000),
        max_len: Some(20),
        join_empty: false,
        leave_empty: true,
        relax: Vec::new(),
        sticky_ms: 0,
        service_level_ms: 30_000,
    };
    assert_eq!(sales.spec, want);
    assert_eq!(sales.overflow, Target::Group("600".into()));
    assert_eq!(sales.announce_ms, Some(60_000));
    assert_eq!(sales.comfort, ["queue/comfort", "goodbye"]);
    assert_eq!(sales.comfort_every_ms, 30_000);
    assert_eq!(sales.music_on_hold, Some(PathBuf::from("hold.wav")));
    assert_eq!(sales.callback_key, Some('*'));
    assert_eq!(sales.language, "zh-CN");

    // Defaults, and the country's language.
    let support = c.queue("support").expect("support");
    let mut want = QueueSpec::new("support", Strategy::Skills, &["1002"]);
    want.relax = vec![Relax { after_ms: 30_000, lower_by: 1 }, Relax { after_ms: 90_000, lower_by: Relax::ANY }];
    assert_eq!(support.spec, want);
    assert_eq!(support.overflow, Target::Hangup);
    assert_eq!((support.announce_ms, support.comfort_every_ms, support.callback_key), (None, 45_000, None));
    assert!(support.comfort.is_empty() && support.music_on_hold.is_none());
    assert_eq!(support.language, "ru");

    let alice = c.agent("1001").expect("1001");
    let mut want = AgentSpec::new("1001", "Alice");
    want.pin = Some("1234".into());
    want.extension = Some("801".into());
    want.skills = [("english".to_string(), 5), ("sales".to_string(), 8)].into();
    assert_eq!(alice.spec, want);
    assert_eq!(alice.user.as_deref(), Some("alice"));
    let bob = c.agent("1002").expect("1002");
    assert_eq!(bob.spec.name, "Agent 1002");
    assert_eq!(bob.spec.pin.as_deref(), Some("00000000"));
    assert_eq!(c.agent_of_user("bob").map(AgentConfig::id), Some("1002"));
    assert!(c.agent_of_user("nobody").is_none() && c.agent("1003").is_none() && c.queue("nope").is_none());

    // Targets naming queues.
    assert_eq!(c.trunks[0].inbound, Target::Queue("sales".into()));
    assert_eq!(c.ring_groups[0].no_answer, Target::Queue("support".into()));
    assert!(c.warnings.is_empty(), "{:#?}", c.warnings);

    // The digit map collects each code, then what follows until `#`.
    use ctibox_driver::signaling::digitmap::MapMatch;
    let map = &c.dial_plan.digit_map;
    assert_eq!(map.check(b"*7"), MapMatch::Partial);
    assert_eq!(map.check(b"*711001*1234"), MapMatch::CompleteMore);
    assert_eq!(map.check(b"#73"), MapMatch::CompleteMore);
    assert_eq!(map.check(b"*51"), MapMatch::NoMatch);
    assert_eq!(c.dial_plan.digit_map_text[3..], ["*71.", "*72.", "#73.", "*74."]);
}

#[test]
fn defaults_of_acd_and_agents() {
    let c = parses(&file(""));
    assert_eq!(c.acd, AcdConfig::default());
    assert_eq!(c.acd.codes().map(|(_, code)| code), ["*51", "*52", "*53", "*54"]);
    let q = &c.queues[0];
    assert_eq!(q.spec, QueueSpec::new("sales", Strategy::RingAll, &["1001", "1002"]));
    // The base file's country is CN.
    assert_eq!(q.language, "zh-CN");
    // Agent 1002 has no name and no user.
    let a = c.agent("1002").unwrap();
    assert_eq!((a.spec.name.as_str(), a.user.as_deref(), a.spec.extension.as_deref()), ("Agent 1002", None, None));
    // An open pattern that already collects the codes is enough.
    let own_map = file("\n[dial_plan]\ndigit_map = [\"8XX\", \"*5.\"]\n");
    assert_eq!(parses(&own_map).dial_plan.digit_map_text, ["8XX", "*5."]);
    // A closed one is not.
    let closed = file("\n[dial_plan]\ndigit_map = [\"8XX\", \"*XX\"]\n");
    assert_eq!(parses(&closed).dial_plan.digit_map_text, ["8XX", "*XX", "*51.", "*52.", "*53.", "*54."]);
}

#[test]
fn warnings_for_settings_that_do_not_count() {
    let text = file(
        r#"
[[queue]]
name = "empty"
strategy = "linear"
members = []

[[queue]]
name = "other"
strategy = "linear"
members = ["1001"]
weights = { "1001" = 2 }
relax = [ { after = "30s", lower = 1 } ]
comfort_every = "30s"
"#,
    );
    let c = parses(&text);
    let w: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
    let has = |at: &str, want: &str| {
        let line = line_of(&text, at);
        assert!(
            w.iter().any(|m| m.starts_with(&format!("t.toml:{line}:")) && m.contains(want)),
            "wanted warning `{want}` at line {line}: {w:#?}"
        );
    };
    has("id = \"1002\"", "agent 1002 has no pin");
    has("members = []", "queue `empty` has no members");
    has("weights = {", "weights only count with strategy weighted_random (this is linear)");
    has("relax = [", "relax only counts with strategy skills");
    has("comfort_every", "comfort_every has no effect without comfort prompts");
    // A key of `weights` that is no member is an error with any strategy.
    let bad = text.replace("weights = { \"1001\" = 2 }", "weights = { \"1002\" = 2 }");
    error_at(&bad, "weights = {", "weights: 1002 is not a member of this queue");
}

#[test]
fn unknown_keys_in_acd_sections_are_errors() {
    error_at(&file("\n[acd]\nlogin = \"*51\"\n"), "login = ", "unknown field `login`");
    let q = file("\n[[queue]]\nname = \"x\"\nstrategy = \"linear\"\nmembers = []\ncolour = \"red\"\n");
    error_at(&q, "colour", "unknown field `colour`");
    let relax = file(
        "\n[[queue]]\nname = \"x\"\nstrategy = \"skills\"\nmembers = []\nrelax = [ { after = \"1s\", by = 1 } ]\n",
    );
    error_at(&relax, "relax = [", "unknown field `by`");
}

#[test]
fn queue_errors_name_their_line() {
    let q = |body: &str| file(&format!("\n[[queue]]\nname = \"q2\"\nmembers = [\"1001\"]\n{body}\n"));
    error_at(
        &q("strategy = \"fastest\""),
        "fastest",
        "strategy: `fastest` is not one of ring_all, round_robin, longest_idle, fewest_calls, least_talk_time, \
         linear, weighted_random, skills",
    );
    error_at(
        &file("\n[[queue]]\nname = \"q2\"\nstrategy = \"linear\"\nmembers = [\"1001\", \"1009\"]\n"),
        "1009",
        "member 1009 is not an agent",
    );
    error_at(
        &file("\n[[queue]]\nname = \"q2\"\nstrategy = \"linear\"\nmembers = [\"1001\", \"1001\"]\n"),
        "members = [\"1001\", \"1001\"]",
        "member 1001 is listed twice",
    );
    let dup = file("\n[[queue]]\nname = \"sales\"\nstrategy = \"linear\"\nmembers = []\n");
    let line = dup.lines().enumerate().filter(|(_, l)| l.contains("name = \"sales\"")).nth(1).unwrap().0 + 1;
    let e = errors(&dup);
    assert!(
        e.iter().any(|m| m.starts_with(&format!("t.toml:{line}:8: there is already a queue named `sales`"))),
        "{e:#?}"
    );
    error_at(&q("strategy = \"linear\"\nname2 = 1"), "name2", "unknown field `name2`");
    error_at(
        &file("\n[[queue]]\nname = \"Sales Desk\"\nstrategy = \"linear\"\nmembers = []\n"),
        "Sales Desk",
        "queue name `Sales Desk` must be lower-case letters, digits, _ or -",
    );
    let group = file(
        "\n[[ring_group]]\nnumber = \"600\"\nmembers = [\"801\"]\n\n[[queue]]\nname = \"600\"\nstrategy = \"linear\"\nmembers = []\n",
    );
    error_at(&group, "name = \"600\"", "queue name `600` is also a ring group's number");
    error_at(
        &q("strategy = \"weighted_random\"\nweights = { \"1002\" = 3 }"),
        "weights",
        "weights: 1002 is not a member of this queue",
    );
    error_at(
        &q("strategy = \"weighted_random\"\nweights = { \"1001\" = 0 }"),
        "weights",
        "weights: 1001 must be 1 to 1000, not 0",
    );
    error_at(&q("strategy = \"linear\"\nno_answer = \"busy\""), "busy", "no_answer: `busy` is not not_ready or ready");
    error_at(&q("strategy = \"linear\"\nmax_len = 0"), "max_len", "max_len must be 1 or more, not 0");
    error_at(
        &q("strategy = \"linear\"\ncallback_key = \"**\""),
        "callback_key",
        "callback_key `**` must be one key: 0-9, * or #",
    );
    error_at(&q("strategy = \"linear\"\ncallback_key = \"A\""), "callback_key", "callback_key `A` must be one key");
    error_at(&q("strategy = \"linear\"\nlanguage = \"fr\""), "language", "language `fr` is not zh-CN, en or ru");
    error_at(&q("strategy = \"linear\"\ntitle = \" \""), "title", "title is empty");
    error_at(&q("strategy = \"linear\"\nmusic_on_hold = \"\""), "music_on_hold", "music_on_hold is empty");
    error_at(
        &q("strategy = \"linear\"\ncomfort = [\"../etc/passwd\"]"),
        "comfort",
        "comfort: `../etc/passwd` is not a prompt name",
    );
}

#[test]
fn queue_times_are_checked() {
    let q = |body: &str| file(&format!("\n[[queue]]\nname = \"q2\"\nstrategy = \"linear\"\nmembers = []\n{body}\n"));
    error_at(&q("wrap_up = \"10 parsecs\""), "wrap_up", "wrap_up: `10 parsecs`: unknown unit `parsecs`");
    error_at(&q("offer_timeout = \"10m\""), "offer_timeout", "offer_timeout must be 1s to 5m, not `10m`");
    error_at(&q("offer_timeout = \"500ms\""), "offer_timeout", "offer_timeout must be 1s to 5m, not `500ms`");
    error_at(&q("wrap_up = \"2h\""), "wrap_up", "wrap_up must be 0s to 1h, not `2h`");
    error_at(&q("max_wait = \"0s\""), "max_wait", "max_wait must be 1s to 24h");
    error_at(&q("sticky = \"20\""), "sticky", "sticky: `20` needs a unit");
    error_at(&q("service_level = \"0s\""), "service_level", "service_level must be 1s to 1h");
    error_at(&q("announce = \"5s\""), "announce", "announce (or \"off\") must be 10s to 1h, not `5s`");
    error_at(&q("announce = \"never\""), "announce", "announce (or \"off\"): `never` is not a duration");
    error_at(&q("comfort = [\"goodbye\"]\ncomfort_every = \"1s\""), "comfort_every", "comfort_every must be 5s to 1h");
    assert_eq!(parses(&q("announce = \"off\"")).queue("q2").unwrap().announce_ms, None);
}

#[test]
fn relax_steps_are_checked() {
    let q = |relax: &str| {
        file(&format!(
            "\n[[queue]]\nname = \"q2\"\nstrategy = \"skills\"\nmembers = [\"1001\"]\nrelax = [\n{relax}\n]\n"
        ))
    };
    let text = q("  { after = \"60s\", lower = 1 },\n  { after = \"30s\", lower = 2 },");
    error_at(&text, "after = \"30s\"", "relax: after `30s` must be later than the step before it (`60s`)");
    let same = q("  { after = \"1m\", lower = 1 },\n  { after = \"60s\", lower = 2 },");
    error_at(&same, "after = \"60s\"", "relax: after `60s` must be later than the step before it (`1m`)");
    error_at(&q("  { after = \"30s\", lower = 10 },"), "lower = 10", "relax: lower must be 1 to 9 or \"any\", not 10");
    error_at(&q("  { after = \"30s\", lower = 0 },"), "lower = 0", "relax: lower must be 1 to 9 or \"any\", not 0");
    error_at(&q("  { after = \"30s\", lower = \"all\" },"), "lower = \"all\"", "not \"all\"");
    error_at(&q("  { after = \"soon\", lower = 1 },"), "soon", "relax: after: `soon` is not a duration");
    let ok = parses(&q("  { after = \"0s\", lower = 2 },\n  { after = \"1s\", lower = \"any\" },"));
    assert_eq!(
        ok.queue("q2").unwrap().spec.relax,
        [Relax { after_ms: 0, lower_by: 2 }, Relax { after_ms: 1000, lower_by: Relax::ANY }]
    );
}

#[test]
fn overflow_targets_are_checked() {
    let q = |name: &str, overflow: &str| {
        format!("\n[[queue]]\nname = \"{name}\"\nstrategy = \"linear\"\nmembers = []\noverflow = \"{overflow}\"\n")
    };
    error_at(&file(&q("q2", "queue:nowhere")), "queue:nowhere", "overflow: there is no queue `nowhere`");
    error_at(&file(&q("q2", "queue:q2")), "queue:q2", "overflow: queue `q2` cannot overflow to itself");
    error_at(&file(&q("q2", "ext:899")), "ext:899", "overflow: there is no extension 899");
    error_at(&file(&q("q2", "group:600")), "group:600", "overflow: there is no ring group 600");
    error_at(&file(&q("q2", "trunk:pstn")), "trunk:pstn", "overflow: use ext:NUMBER");
    error_at(&file(&q("q2", "ext")), "overflow = \"ext\"", "overflow: use ext:NUMBER");
    error_at(&file(&q("q2", "voicemail")), "voicemail", "overflow: `voicemail` is not a call target");
    // Forward references are fine.
    let fwd = file(&format!("{}{}", q("q2", "queue:q3"), q("q3", "ext:801")));
    assert_eq!(parses(&fwd).queue("q2").unwrap().overflow, Target::Queue("q3".into()));
    // An IVR flow is checked when flows load: noted with its place.
    let ivr = parses(&file(&q("q2", "ivr:voicemail")));
    let line = line_of(&file(&q("q2", "ivr:voicemail")), "ivr:voicemail");
    let (flow, span) = ivr.ivr.refs.iter().find(|(f, _)| f == "voicemail").expect("noted");
    assert_eq!((flow.as_str(), ivr.source.line_col(span.start).0), ("voicemail", line));
}

#[test]
fn overflow_loops_are_errors() {
    let q = |name: &str, overflow: &str| {
        format!("\n[[queue]]\nname = \"{name}\"\nstrategy = \"linear\"\nmembers = []\noverflow = \"{overflow}\"\n")
    };
    // a → b → a: one error, at the first queue's overflow.
    let text = file(&format!("{}{}", q("a", "queue:b"), q("b", "queue:a")));
    error_at(&text, "queue:b", "overflow: queue `a` → queue `b` → queue `a` is a loop");
    assert_eq!(errors(&text).len(), 1);
    // Through a ring group's no_answer; `sales` only leads into the loop.
    let text = file(&format!(
        "{}{}\n[[ring_group]]\nnumber = \"600\"\nmembers = [\"801\"]\nno_answer = \"queue:c\"\n",
        q("c", "queue:d"),
        q("d", "group:600")
    ))
    .replace("members = [\"1001\", \"1002\"]", "members = [\"1001\", \"1002\"]\noverflow = \"queue:c\"");
    error_at(&text, "queue:d", "overflow: queue `c` → queue `d` → ring group 600 → queue `c` is a loop");
    // A chain that ends is fine.
    parses(&file(&format!("{}{}", q("a", "queue:b"), q("b", "ext:801"))));
}

/// The file with a dial-plan route `pattern` → `to`.
fn with_route(pattern: &str, to: &str) -> String {
    file(&format!("\n[[dial_plan.route]]\npattern = \"{pattern}\"\nto = \"{to}\"\n"))
}

/// The file with the trunk's `inbound` set to `to`.
fn with_inbound(to: &str) -> String {
    file("").replace("inbound = \"queue:sales\"", &format!("inbound = \"{to}\""))
}

/// The file with ring group 600 whose `no_answer` is `to`.
fn with_no_answer(to: &str) -> String {
    file(&format!("\n[[ring_group]]\nnumber = \"600\"\nmembers = [\"801\"]\nno_answer = \"{to}\"\n"))
}

#[test]
fn queue_targets_elsewhere_must_exist() {
    error_at(&with_inbound("queue:sale"), "queue:sale", "inbound: there is no queue `sale`");
    error_at(&with_route("7", "queue:nope"), "queue:nope", "to: there is no queue `nope`");
    error_at(&with_no_answer("queue:nope"), "queue:nope", "no_answer: there is no queue `nope`");
    error_at(&with_inbound("queue:"), "inbound", "is not a call target");
    let c = parses(&with_route("7", "queue:sales"));
    assert_eq!(c.route("7").unwrap().to, Target::Queue("sales".into()));
    assert_eq!(Target::Queue("sales".into()).to_string(), "queue:sales");
}

#[test]
fn agent_targets_are_dial_plan_routes_to_known_agents() {
    // The base file's agents are 1001 and 1002.
    let c = parses(&with_route("71", "agent:1001"));
    assert_eq!(c.route("71").unwrap().to, Target::Agent("1001".into()));
    assert_eq!(Target::Agent("1001".into()).to_string(), "agent:1001");
    error_at(&with_route("79", "agent:1009"), "agent:1009", "to: there is no agent `1009`");
    error_at(&with_inbound("agent:1001"), "agent:1001", "inbound: `agent:1001` is a dial-plan target only");
    error_at(&with_no_answer("agent:1002"), "agent:1002", "no_answer: `agent:1002` is a dial-plan target only");
    let overflow =
        file("").replace("members = [\"1001\", \"1002\"]", "members = [\"1001\", \"1002\"]\noverflow = \"agent:1001\"");
    error_at(&overflow, "agent:1001", "overflow: use ext:NUMBER");
    error_at(&with_inbound("agent:"), "inbound", "agent:ID");
}

#[test]
fn agent_errors_name_their_line() {
    let a = |body: &str| file(&format!("\n[[agent]]\n{body}\n"));
    let dup = a("id = \"1001\"\npin = \"4321\"");
    let line = dup.lines().enumerate().filter(|(_, l)| l.contains("id = \"1001\"")).nth(1).unwrap().0 + 1;
    let e = errors(&dup);
    assert_eq!(e, [format!("t.toml:{line}:6: agent 1001 is defined twice")]);
    error_at(&a("id = \"10a1\"\npin = \"4321\""), "10a1", "agent id `10a1` must be 1 to 16 digits");
    error_at(&a("id = \"1003\"\npin = \"12\""), "pin = \"12\"", "agent 1003: pin must be 4 to 8 digits");
    error_at(&a("id = \"1003\"\npin = \"12ab\""), "12ab", "agent 1003: pin must be 4 to 8 digits");
    error_at(&a("id = \"1003\"\npin = \"123456789\""), "123456789", "pin must be 4 to 8 digits");
    error_at(&a("id = \"1003\"\npin = \"4321\"\nextension = \"899\""), "899", "agent 1003: there is no extension 899");
    error_at(&a("id = \"1003\"\npin = \"4321\"\nuser = \"carol\""), "carol", "agent 1003: there is no user `carol`");
    let taken = a("id = \"1003\"\npin = \"4321\"\nuser = \"alice\"");
    let line = taken.lines().enumerate().filter(|(_, l)| l.contains("user = \"alice\"")).nth(1).unwrap().0 + 1;
    assert_eq!(errors(&taken), [format!("t.toml:{line}:8: agent 1003: user alice is already agent 1001")]);
    error_at(
        &a("id = \"1003\"\npin = \"4321\"\nskills = { sales = 11 }"),
        "sales = 11",
        "agent 1003: skill sales: level must be 1 to 10, not 11",
    );
    error_at(&a("id = \"1003\"\npin = \"4321\"\nskills = { sales = 0 }"), "sales = 0", "level must be 1 to 10, not 0");
    error_at(
        &a("id = \"1003\"\npin = \"4321\"\nskills = { Sales = 3 }"),
        "Sales = 3",
        "skill name `Sales` must be lower-case",
    );
    error_at(&a("id = \"1003\"\npin = \"4321\"\nname = \"\""), "name = \"\"", "agent 1003: name is empty");
    error_at(&a("id = 1003"), "id = 1003", "invalid type: integer");
}

#[test]
fn feature_codes_are_checked() {
    let acd = |body: &str| file(&format!("\n[acd]\n{body}\n"));
    error_at(&acd("login_code = \"51\""), "login_code", "login_code `51` must be * or # followed by 1 to 6 digits");
    error_at(&acd("ready_code = \"*5a\""), "ready_code", "ready_code `*5a` must be * or #");
    error_at(&acd("ready_code = \"*\""), "ready_code", "ready_code `*` must be * or #");
    error_at(&acd("logout_code = \"*51\""), "logout_code", "logout_code `*51` is the same as login_code");
    error_at(
        &acd("not_ready_code = \"*5\""),
        "not_ready_code",
        "not_ready_code `*5` and login_code `*51`: one begins with the other",
    );
    error_at(&acd("seed = -1"), "seed", "seed must be 0 or more, not -1");
    // Routes that take what agents dial.
    let route = |pattern: &str| file(&format!("\n[[dial_plan.route]]\npattern = \"{pattern}\"\nto = \"ext:801\"\n"));
    error_at(&route("*."), "*.", "pattern `*.` takes numbers beginning with `*51`, the ACD's login_code ([acd])");
    error_at(&route("*5X"), "*5X", "pattern `*5X` takes numbers beginning with `*52`, the ACD's logout_code");
    error_at(&route("*51XX"), "*51XX", "beginning with `*51`");
    error_at(&route("."), "pattern = \".\"", "beginning with `*51`");
    // Ones that do not.
    parses(&route("*6X"));
    parses(&route("*5"));
    parses(&route("9."));
    // A moved code frees its old numbers.
    let moved = file("\n[acd]\nlogin_code = \"*61\"\n\n[[dial_plan.route]]\npattern = \"*51\"\nto = \"ext:801\"\n");
    parses(&moved);
    // Numbers that begin with a code.
    let ext = file("\n[[extension]]\nnumber = \"*531\"\nchannel = 9\n");
    error_at(&ext, "*531", "extension number `*531` begins with `*53`, the ACD's ready_code");
}

#[test]
fn every_acd_error_is_reported_at_once_in_line_order() {
    let text = file(
        r#"
[acd]
login_code = "x"

[[queue]]
name = "q2"
strategy = "fastest"
members = ["1009"]
wrap_up = "soon"

[[agent]]
id = "1003"
pin = "1"
skills = { sales = 99 }
"#,
    );
    let e = errors(&text);
    let lines: Vec<usize> = e.iter().map(|m| m.split(':').nth(1).unwrap().parse().unwrap()).collect();
    let want: Vec<usize> = ["login_code", "fastest", "1009", "soon", "pin = \"1\"", "sales = 99"]
        .iter()
        .map(|n| line_of(&text, n))
        .collect();
    assert_eq!(lines, want, "{e:#?}");
}

#[test]
fn queue_music_is_relative_to_the_config_file() {
    let d = tempfile::tempdir().unwrap();
    let text = file("\n[[queue]]\nname = \"q2\"\nstrategy = \"linear\"\nmembers = []\nmusic_on_hold = \"hold.wav\"\n")
        .replace("members = [\"1001\", \"1002\"]", "members = [\"1001\", \"1002\"]\nmusic_on_hold = \"/srv/moh.wav\"");
    let path = d.path().join("ctibox.toml");
    std::fs::write(&path, text).unwrap();
    let c = Config::load(&path).unwrap();
    assert_eq!(c.queue("q2").unwrap().music_on_hold, Some(d.path().join("hold.wav")));
    assert_eq!(c.queue("sales").unwrap().music_on_hold, Some(PathBuf::from("/srv/moh.wav")));
}

#[test]
fn demo_has_the_acd() {
    let c = Config::demo();
    assert_eq!(c.acd, AcdConfig::default());
    let sales = c.queue("sales").expect("sales");
    let mut want = QueueSpec::new("sales", Strategy::LongestIdle, &["1001", "1002"]);
    want.title = "Sales".into();
    want.wrap_up_ms = 5000;
    want.max_wait_ms = Some(180_000);
    assert_eq!(sales.spec, want);
    assert_eq!(sales.overflow, Target::Extension("804".into()));
    assert_eq!((sales.announce_ms, sales.callback_key), (Some(60_000), Some('1')));
    let support = c.queue("support").expect("support");
    assert_eq!(support.spec.strategy, Strategy::Skills);
    let members: Vec<&str> = support.spec.members.iter().map(|m| m.agent.as_str()).collect();
    assert_eq!(members, ["1001", "1002", "1003"]);
    // id, name, extension, pin, user
    let agents: Vec<String> = c
        .agents
        .iter()
        .map(|a| {
            let s = &a.spec;
            format!("{} {} {:?} {:?} {:?}", s.id, s.name, s.extension, s.pin, a.user)
        })
        .collect();
    assert_eq!(
        agents,
        [
            r#"1001 Alice Some("801") Some("1111") Some("alice")"#,
            r#"1002 Bob Some("802") Some("2222") Some("bob")"#,
            r#"1003 Carol Some("803") Some("3333") Some("carol")"#,
        ]
    );
    assert_eq!(c.agent("1001").unwrap().spec.skills, [("english".to_string(), 5), ("sales".to_string(), 8)].into());
    assert_eq!(c.agent("1002").unwrap().spec.skills, [("sales".to_string(), 5), ("support".to_string(), 3)].into());
    assert_eq!(c.agent("1003").unwrap().spec.skills, [("support".to_string(), 9)].into());
    assert_eq!(c.agent_of_user("carol").map(AgentConfig::id), Some("1003"));
    // Its digit map collects the login code.
    use ctibox_driver::signaling::digitmap::MapMatch;
    assert_eq!(c.dial_plan.digit_map.check(b"*511001*1111"), MapMatch::CompleteMore);
}
