//! Customers and the call journal over the API: CRUD, search, the screen-pop
//! lookup in national and international forms, duplicate numbers, CSV
//! import, and `GET /cdr` with its filters, paging and the agents' view.

mod api_support;

use std::collections::BTreeSet;

use api_support::{Api, BASE_WALL_MS, JournalCall, write_calls};
use ctibox_daemon::records::{Direction, HangupCause};
use serde_json::{Value, json};

fn create(api: &Api, token: &str, body: Value) -> i64 {
    let (status, answer) = api.post("/customers", token, &body.to_string());
    assert_eq!(status, 201, "POST /customers {body}: {answer}");
    answer["id"].as_i64().expect("an id")
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[test]
fn customer_crud() {
    let api = Api::start();
    let agent = api.login("agent");
    let body = json!({
        "name": "Li Wei",
        "company": "Acme Trading",
        "notes": "prefers mornings",
        "vip": 2,
        "assigned": {"name": "Alice"},
        "phones": ["+86 138-0013-8000", "010 6552 9988"],
    });
    let (status, answer) = api.post("/customers", &agent, &body.to_string());
    assert_eq!(status, 201, "{answer}");
    let keys: BTreeSet<&str> = answer.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["id"]), "{answer}");
    let id = answer["id"].as_i64().unwrap();

    let (status, c) = api.get(&format!("/customers/{id}"), &agent);
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["id"], id);
    assert_eq!(c["name"], "Li Wei");
    assert_eq!(c["company"], "Acme Trading");
    assert_eq!(c["notes"], "prefers mornings");
    assert_eq!(c["vip"], 2);
    assert_eq!(c["assigned"], json!({"name": "Alice"}));
    assert_eq!(
        c["phones"],
        json!([
            {"number": "+86 138-0013-8000", "digits": "+8613800138000"},
            {"number": "010 6552 9988", "digits": "01065529988"},
        ])
    );
    let created = c["created_wall_ms"].as_i64().unwrap();
    assert!(created > BASE_WALL_MS, "{c}");

    let other = create(&api, &agent, json!({"name": "Wang Fang", "company": "Beta", "phones": ["13900139000"]}));
    create(&api, &agent, json!({"name": "Zhao Lei"}));

    // Search by name, by company, by the digits of a number; case-insensitive.
    let search = |q: &str| {
        let (status, list) = api.get(&format!("/customers?q={q}"), &agent);
        assert_eq!(status, 200, "{q}: {list}");
        list
    };
    assert_eq!(names(&search("li+wei")), vec!["Li Wei"]);
    assert_eq!(names(&search("ACME")), vec!["Li Wei"]);
    assert_eq!(names(&search("beta")), vec!["Wang Fang"]);
    assert_eq!(names(&search("138+0013+8000")), vec!["Li Wei"]);
    assert_eq!(names(&search("9000")), vec!["Wang Fang"]);
    assert_eq!(names(&search("nobody")), Vec::<&str>::new());
    // No query: everyone, by name; limit and offset page through.
    assert_eq!(names(&search("")), vec!["Li Wei", "Wang Fang", "Zhao Lei"]);
    let (_, page) = api.get("/customers?limit=2&offset=1", &agent);
    assert_eq!(names(&page), vec!["Wang Fang", "Zhao Lei"]);
    let (status, body) = api.get("/customers?limit=0", &agent);
    assert_eq!((status, body["field"].as_str()), (400, Some("limit")), "{body}");

    // A partial update changes only what it names.
    let (status, c) = api.put(&format!("/customers/{id}"), &agent, r#"{"notes": "called back", "vip": 3}"#);
    assert_eq!(status, 200, "{c}");
    assert_eq!((c["notes"].as_str(), c["vip"].as_u64()), (Some("called back"), Some(3)));
    assert_eq!((c["name"].as_str(), c["company"].as_str()), (Some("Li Wei"), Some("Acme Trading")), "{c}");
    assert_eq!(c["phones"].as_array().unwrap().len(), 2, "numbers kept: {c}");
    assert_eq!(c["assigned"], json!({"name": "Alice"}), "{c}");
    assert!(c["updated_wall_ms"].as_i64().unwrap() >= created);
    assert_eq!(api.get(&format!("/customers/{id}"), &agent).1, c, "the answer is what is stored");
    // `null` clears the assignment; a user id assigns a user.
    let (status, c) = api.put(&format!("/customers/{id}"), &agent, r#"{"assigned": null}"#);
    assert_eq!((status, &c["assigned"]), (200, &Value::Null), "{c}");
    let user = api.server.reader.user_by_username("agent").unwrap().unwrap().id.0;
    let (status, c) = api.put(&format!("/customers/{id}"), &agent, &json!({"assigned": {"user": user}}).to_string());
    assert_eq!((status, &c["assigned"]), (200, &json!({"user": user})), "{c}");
    // Numbers are replaced as a whole.
    let (status, c) = api.put(&format!("/customers/{id}"), &agent, r#"{"phones": ["13700137000"]}"#);
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["phones"], json!([{"number": "13700137000", "digits": "13700137000"}]));
    assert_eq!(names(&search("138+0013+8000")), Vec::<&str>::new(), "the old number is gone");
    // A bad update changes nothing.
    let (status, body) = api.put(&format!("/customers/{id}"), &agent, r#"{"name": " "}"#);
    assert_eq!((status, body["field"].as_str()), (400, Some("name")), "{body}");
    let (status, body) = api.put(&format!("/customers/{id}"), &agent, r#"{"vip": 10}"#);
    assert_eq!((status, body["field"].as_str()), (400, Some("vip")), "{body}");
    assert_eq!(api.get(&format!("/customers/{id}"), &agent).1["name"], "Li Wei");

    // Delete: 204 with no body, then 404 everywhere.
    let sup = api.login("super");
    let (status, body) = api.delete(&format!("/customers/{id}"), &sup);
    assert_eq!((status, body), (204, Value::Null));
    let (status, body) = api.get(&format!("/customers/{id}"), &agent);
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].is_string());
    assert_eq!(api.put(&format!("/customers/{id}"), &agent, r#"{"notes": "x"}"#).0, 404);
    assert_eq!(api.delete(&format!("/customers/{id}"), &sup).0, 404);
    assert_eq!(names(&search("")), vec!["Wang Fang", "Zhao Lei"]);
    // Its number is free again.
    let (status, c) = api.put(&format!("/customers/{other}"), &agent, r#"{"phones": ["13700137000"]}"#);
    assert_eq!(status, 200, "{c}");
    assert_eq!(api.get("/customers/999", &agent).0, 404);
}

/// What `GET /customers/lookup?number=` finds, by name.
fn lookup(api: &Api, token: &str, number: &str) -> Vec<String> {
    let (status, list) = api.get(&format!("/customers/lookup?number={number}"), token);
    assert_eq!(status, 200, "{number}: {list}");
    names(&list).into_iter().map(String::from).collect()
}

#[test]
fn screen_pop_matches_national_and_international_forms() {
    let api = Api::start();
    let agent = api.login("agent");
    create(&api, &agent, json!({"name": "Mobile Intl", "phones": ["+8613800138000"]}));
    create(&api, &agent, json!({"name": "Beijing Office", "phones": ["010-6552-9988"]}));
    create(&api, &agent, json!({"name": "Local Shop", "phones": ["8765 4321"]}));
    create(&api, &agent, json!({"name": "Short Code", "phones": ["8001"]}));
    create(&api, &agent, json!({"name": "US Client", "phones": ["+1 (555) 123-4567"]}));
    let one = |name: &str| vec![name.to_string()];

    // Stored international, looked up national (with and without the trunk 0) or
    // international (+, 00, separators).
    for number in ["13800138000", "013800138000", "%2B8613800138000", "008613800138000", "%2B86+138-0013-8000"] {
        assert_eq!(lookup(&api, &agent, number), one("Mobile Intl"), "{number}");
    }
    // Stored national with the trunk prefix, looked up international or local.
    for number in ["%2B861065529988", "0086+10+6552+9988", "1065529988", "65529988", "(010)6552.9988"] {
        assert_eq!(lookup(&api, &agent, number), one("Beijing Office"), "{number}");
    }
    // Stored local, looked up with the area and country codes (4 digits more).
    assert_eq!(lookup(&api, &agent, "%2B862087654321"), one("Local Shop"));
    assert_eq!(lookup(&api, &agent, "02087654321"), one("Local Shop"));
    // Five digits more is another number.
    assert_eq!(lookup(&api, &agent, "%2B8675587654321"), Vec::<String>::new());
    // North American forms.
    for number in ["5551234567", "1-555-123-4567", "%2B15551234567", "0015551234567"] {
        assert_eq!(lookup(&api, &agent, number), one("US Client"), "{number}");
    }
    // Short numbers match only exactly; near misses do not match.
    assert_eq!(lookup(&api, &agent, "8001"), one("Short Code"));
    assert_eq!(lookup(&api, &agent, "18001"), Vec::<String>::new());
    assert_eq!(lookup(&api, &agent, "13800138001"), Vec::<String>::new());
    // Caller ID as a line delivers it, with junk around the digits.
    assert_eq!(lookup(&api, &agent, "P13800138000*"), one("Mobile Intl"));
    // A number with no digits at all finds nobody (it is not an error).
    assert_eq!(lookup(&api, &agent, "P"), Vec::<String>::new());
}

#[test]
fn a_number_belongs_to_one_customer() {
    let api = Api::start();
    let agent = api.login("agent");
    let first = create(&api, &agent, json!({"name": "First", "phones": ["+86 138 0013 8000"]}));
    // The same number in another form: 409 naming the owner.
    for number in ["13800138000", "0086-138-0013-8000", "+8613800138000"] {
        let (status, body) = api.post("/customers", &agent, &json!({"name": "Second", "phones": [number]}).to_string());
        assert_eq!(status, 409, "{number}: {body}");
        assert!(body["error"].as_str().unwrap().contains(&format!("customer {first}")), "{body}");
    }
    // An update to a taken number: 409, nothing changed.
    let second = create(&api, &agent, json!({"name": "Second", "phones": ["13900139000"]}));
    let (status, body) = api.put(&format!("/customers/{second}"), &agent, r#"{"phones": ["13800138000"]}"#);
    assert_eq!(status, 409, "{body}");
    assert_eq!(api.get(&format!("/customers/{second}"), &agent).1["phones"][0]["digits"], "13900139000");
    // Keeping one's own number is no conflict.
    let (status, body) = api.put(&format!("/customers/{first}"), &agent, r#"{"phones": ["13800138000"]}"#);
    assert_eq!(status, 200, "{body}");
    // Two forms of one number on one customer: 400 on `phones`.
    let (status, body) =
        api.post("/customers", &agent, r#"{"name": "Twice", "phones": ["13700137000", "+86 137 0013 7000"]}"#);
    assert_eq!((status, body["field"].as_str()), (400, Some("phones")), "{body}");
    assert_eq!(lookup(&api, &agent, "13800138000"), vec!["First".to_string()]);
}

fn import(api: &Api, token: &str, query: &str, csv: &str) -> Value {
    let (status, report) = api.raw("POST", &format!("/customers/import{query}"), Some(token), Some(("text/csv", csv)));
    assert_eq!(status, 200, "import{query}: {report}");
    report
}

fn problem_lines(report: &Value) -> Vec<(u64, Option<&str>)> {
    report["problems"].as_array().unwrap().iter().map(|p| (p["line"].as_u64().unwrap(), p["column"].as_str())).collect()
}

const CSV: &str = "Name,Company,Phone,VIP,Notes,Region\n\
Wang Fang,Acme,13900139000,1,,north\n\
Zhao Lei,,12ab,0,,south\n\
\"Chen, Jie\",Beta,010-6552-9988;13700137000,,\"two\nlines\",east\n\
Sun Li,Gamma,,12,,west\n\
,Nameless,13600136000,,,\n\
Liu Yang,Delta,+86 135 0013 5000,9,,north\n";

#[test]
fn csv_import_reports_bad_rows_by_line() {
    let api = Api::start();
    let sup = api.login("super");
    let all = |api: &Api| -> Vec<String> {
        names(&api.get("/customers?limit=100", &sup).1).into_iter().map(String::from).collect()
    };

    let report = import(&api, &sup, "?dry_run=true", CSV);
    let keys: BTreeSet<&str> = report.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["rows", "inserted", "updated", "problems", "ignored_columns", "dry_run"]));
    assert_eq!(report["dry_run"], true);
    assert_eq!((report["rows"].as_u64(), report["inserted"].as_u64()), (Some(6), Some(3)), "{report}");
    // Line 4 is a record over two lines: the next record starts on line 6.
    assert_eq!(problem_lines(&report), vec![(3, Some("Phone")), (6, Some("VIP")), (7, Some("Name"))], "{report}");
    for p in report["problems"].as_array().unwrap() {
        assert!(p["problem"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
    }
    assert_eq!(report["ignored_columns"], json!(["Region"]));
    assert_eq!(all(&api), Vec::<String>::new(), "a dry run writes nothing");

    let report = import(&api, &sup, "", CSV);
    assert_eq!(report["dry_run"], false);
    assert_eq!((report["inserted"].as_u64(), report["updated"].as_u64()), (Some(3), Some(0)), "{report}");
    assert_eq!(problem_lines(&report).len(), 3);
    assert_eq!(all(&api), vec!["Chen, Jie", "Liu Yang", "Wang Fang"]);
    let chen = &api.get("/customers?q=chen", &sup).1[0];
    assert_eq!(chen["notes"], "two\nlines");
    assert_eq!(chen["phones"].as_array().unwrap().len(), 2);
    assert_eq!(lookup(&api, &sup, "8613500135000"), vec!["Liu Yang".to_string()]);

    // The same people again: without update, every row is a conflict.
    let again = "name,company,phone,vip\nWang Fang,Acme Ltd,+86 139 0013 9000,3\nNew Person,,13300133000,\n";
    let report = import(&api, &sup, "", again);
    assert_eq!((report["inserted"].as_u64(), report["updated"].as_u64()), (Some(1), Some(0)), "{report}");
    assert_eq!(problem_lines(&report), vec![(2, Some("phone"))], "{report}");
    let wang = &api.get("/customers?q=wang", &sup).1[0];
    assert_eq!(wang["company"], "Acme", "{wang}");
    // With update=true the row updates the customer that has the number; a
    // dry run says so and changes nothing.
    let again = "name,company,phone,vip\nWang Fang,Acme Ltd,+86 139 0013 9000;13100131000,3\n";
    let report = import(&api, &sup, "?update=true&dry_run=true", again);
    assert_eq!((report["inserted"].as_u64(), report["updated"].as_u64()), (Some(0), Some(1)), "{report}");
    assert_eq!(api.get("/customers?q=wang", &sup).1[0]["company"], "Acme");
    let report = import(&api, &sup, "?update=true", again);
    assert_eq!((report["inserted"].as_u64(), report["updated"].as_u64()), (Some(0), Some(1)), "{report}");
    assert_eq!(report["problems"], json!([]));
    let wang = &api.get("/customers?q=wang", &sup).1[0];
    assert_eq!((wang["company"].as_str(), wang["vip"].as_u64()), (Some("Acme Ltd"), Some(3)), "{wang}");
    assert_eq!(lookup(&api, &sup, "13100131000"), vec!["Wang Fang".to_string()], "the new number is added");
    assert_eq!(lookup(&api, &sup, "13900139000"), vec!["Wang Fang".to_string()], "the old one kept");
    assert_eq!(all(&api).len(), 4, "nobody was added");

    // A file that cannot be imported at all: 400 on the body.
    let (status, body) = api.raw("POST", "/customers/import", Some(&sup), Some(("text/csv", "company,phone\nA,1\n")));
    assert_eq!((status, body["field"].as_str()), (400, Some("body")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("line 1"), "{body}");
    let (status, body) = api.raw("POST", "/customers/import", Some(&sup), Some(("text/csv", "")));
    assert_eq!((status, body["field"].as_str()), (400, Some("body")), "{body}");
}

/// Five calls, one a second from `BASE_WALL_MS`:
/// A inbound +86 138… answered at 801, B inbound 139… at 802, C outbound
/// from 801 to 0138… (national form), busy, D internal 802 → 803, E inbound
/// 138… at 803, cause no_answer.
fn five_calls(api: &Api) -> Vec<i64> {
    let t = BASE_WALL_MS;
    let calls = [
        JournalCall::inbound("+86 138-0013-8000", "801", t),
        JournalCall::inbound("13900139000", "802", t + 1_000),
        JournalCall {
            direction: Direction::Outbound,
            caller: "801",
            called: "013800138000",
            channel: 2,
            extension: None,
            cause: HangupCause::Busy,
            ..JournalCall::inbound("", "", t + 2_000)
        },
        JournalCall {
            direction: Direction::Internal,
            caller: "802",
            called: "803",
            channel: 3,
            extension: Some(("803", 4)),
            ..JournalCall::inbound("", "", t + 3_000)
        },
        JournalCall { cause: HangupCause::NoAnswer, ..JournalCall::inbound("13800138000", "803", t + 4_000) },
    ];
    write_calls(&api.server.records, &calls).into_iter().map(|c| c.0).collect()
}

fn cdr_ids(api: &Api, token: &str, query: &str) -> Vec<i64> {
    let (status, page) = api.get(&format!("/cdr?order=oldest&{query}"), token);
    assert_eq!(status, 200, "/cdr?{query}: {page}");
    assert!(page["next"].is_null(), "{query}: one page: {page}");
    page["calls"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
}

#[test]
fn cdr_filters() {
    let api = Api::quiet();
    let ids = five_calls(&api);
    let [a, b, c, d, e] = ids[..] else { panic!("{ids:?}") };
    let sup = api.login("super");
    let (status, page) = api.get("/cdr", &sup);
    assert_eq!(status, 200, "{page}");
    let keys: BTreeSet<&str> = page.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["calls", "next"]));
    let newest: Vec<i64> = page["calls"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(newest, vec![e, d, c, b, a], "newest first by default");
    let first = &page["calls"][4];
    assert_eq!((first["caller_number"].as_str(), first["cause"].as_str()), (Some("+86 138-0013-8000"), Some("normal")));
    assert_eq!(first["legs"].as_array().unwrap().len(), 2, "{first}");

    // One number in any form finds it as caller, called or party.
    assert_eq!(cdr_ids(&api, &sup, "number=13800138000"), vec![a, c, e]);
    assert_eq!(cdr_ids(&api, &sup, "number=%2B8613800138000"), vec![a, c, e]);
    assert_eq!(cdr_ids(&api, &sup, "number=139-0013-9000"), vec![b]);
    assert_eq!(cdr_ids(&api, &sup, "number=13700137000"), Vec::<i64>::new());
    // An extension: its legs, or calls from or to it.
    assert_eq!(cdr_ids(&api, &sup, "extension=801"), vec![a, c]);
    assert_eq!(cdr_ids(&api, &sup, "extension=802"), vec![b, d]);
    assert_eq!(cdr_ids(&api, &sup, "extension=803"), vec![d, e]);
    assert_eq!(cdr_ids(&api, &sup, "direction=inbound"), vec![a, b, e]);
    assert_eq!(cdr_ids(&api, &sup, "direction=outbound"), vec![c]);
    assert_eq!(cdr_ids(&api, &sup, "direction=internal"), vec![d]);
    assert_eq!(cdr_ids(&api, &sup, "cause=no_answer"), vec![e]);
    assert_eq!(cdr_ids(&api, &sup, "cause=busy"), vec![c]);
    // Time range: from inclusive, to exclusive.
    let t = BASE_WALL_MS;
    assert_eq!(cdr_ids(&api, &sup, &format!("from_ms={}&to_ms={}", t + 1_000, t + 3_000)), vec![b, c]);
    assert_eq!(cdr_ids(&api, &sup, &format!("from_ms={}", t + 3_500)), vec![e]);
    assert_eq!(cdr_ids(&api, &sup, &format!("to_ms={t}")), Vec::<i64>::new());
    // Filters combine.
    assert_eq!(cdr_ids(&api, &sup, "number=13800138000&direction=inbound"), vec![a, e]);
    assert_eq!(cdr_ids(&api, &sup, &format!("extension=803&from_ms={}", t + 3_500)), vec![e]);
    assert_eq!(cdr_ids(&api, &sup, "channel=3"), vec![d]);
}

/// Follows `next` until the last page; every page but the last is full.
fn every_page(api: &Api, token: &str, query: &str, limit: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..100 {
        let cursor = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
        let (status, page) = api.get(&format!("/cdr?limit={limit}&{query}{cursor}"), token);
        assert_eq!(status, 200, "{page}");
        let calls = page["calls"].as_array().unwrap();
        ids.extend(calls.iter().map(|c| c["id"].as_i64().unwrap()));
        match page["next"].as_str() {
            None => {
                assert!(page["next"].is_null(), "{page}");
                return ids;
            }
            Some(next) => {
                assert_eq!(calls.len(), limit, "only the last page may be short");
                after = Some(next.to_string());
            }
        }
    }
    panic!("paging does not end");
}

#[test]
fn cdr_paging_gives_every_call_once_in_both_orders() {
    let api = Api::start();
    // 23 calls, several starting in the same millisecond (the id breaks the tie).
    let specs: Vec<JournalCall<'_>> = (0..23)
        .map(|i| {
            JournalCall::inbound("13800138000", if i % 2 == 0 { "801" } else { "802" }, BASE_WALL_MS + (i / 3) * 1000)
        })
        .collect();
    let ids: Vec<i64> = write_calls(&api.server.records, &specs).into_iter().map(|c| c.0).collect();
    let admin = api.login("admin");
    for limit in [1, 5, 23, 50] {
        assert_eq!(every_page(&api, &admin, "order=oldest", limit), ids, "oldest first, {limit} a page");
        let mut newest = ids.clone();
        newest.reverse();
        assert_eq!(every_page(&api, &admin, "order=newest", limit), newest, "newest first, {limit} a page");
        assert_eq!(every_page(&api, &admin, "", limit), newest, "newest is the default");
    }
    // Exactly full pages: no empty page at the end.
    let (_, page) = api.get("/cdr?limit=23", &admin);
    assert!(page["next"].is_null(), "{page}");
    // Paging with a filter.
    let even: Vec<i64> = ids.iter().copied().step_by(2).collect();
    assert_eq!(every_page(&api, &admin, "order=oldest&extension=801", 4), even);
    // A call started while paging does not shift the pages.
    let (_, first) = api.get("/cdr?limit=10&order=oldest", &admin);
    write_calls(&api.server.records, &[JournalCall::inbound("13900139000", "803", BASE_WALL_MS - 5_000)]);
    let next = first["next"].as_str().unwrap();
    let (_, second) = api.get(&format!("/cdr?limit=10&order=oldest&after={next}"), &admin);
    let second: Vec<i64> = second["calls"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(second, ids[10..20].to_vec());
}

#[test]
fn agents_see_only_their_extensions_calls() {
    let api = Api::quiet();
    let [a, b, c, d, e] = five_calls(&api)[..] else { panic!() };
    let agent = api.login("agent");
    let agent2 = api.login("agent2");
    assert_eq!(cdr_ids(&api, &agent, ""), vec![a, c], "801's calls");
    assert_eq!(cdr_ids(&api, &agent2, ""), vec![b, d], "802's calls");
    assert_eq!(cdr_ids(&api, &agent, "extension=801"), vec![a, c]);
    assert_eq!(api.get("/cdr?extension=803", &agent).0, 403);
    // Other filters narrow the agent's own calls; they never widen them.
    assert_eq!(cdr_ids(&api, &agent, "number=13800138000"), vec![a, c]);
    assert_eq!(cdr_ids(&api, &agent, "number=13900139000"), Vec::<i64>::new());
    assert_eq!(cdr_ids(&api, &agent2, "direction=internal"), vec![d]);
    assert_eq!(cdr_ids(&api, &agent2, "channel=1"), vec![b]);
    // Paging stays within the agent's calls.
    assert_eq!(every_page(&api, &agent, "order=oldest", 1), vec![a, c]);
    // The same history through GET /calls/{id}: its own calls only.
    assert_eq!(api.get(&format!("/calls/{a}"), &agent).0, 200);
    let (status, body) = api.get(&format!("/calls/{e}"), &agent);
    assert_eq!(status, 403, "803's call is not 801's history: {body}");
    // Staff see everything.
    let sup = api.login("super");
    assert_eq!(cdr_ids(&api, &sup, "").len(), 5);
    assert_eq!(api.get(&format!("/calls/{e}"), &sup).0, 200);
}

#[test]
fn an_agent_with_two_extensions_sees_both_histories() {
    let api = Api::quiet();
    let [a, b, c, d, e] = five_calls(&api)[..] else { panic!() };
    // The agent sits at 801 (config) and also has 803 in the directory.
    let admin = api.login("admin");
    let user = api.server.reader.user_by_username("agent").unwrap().unwrap().id.0;
    let body = json!({"number": "803", "name": "Headset", "user": user}).to_string();
    let (status, answer) = api.post("/extensions", &admin, &body);
    assert_eq!(status, 201, "{answer}");
    let agent = api.login("agent");
    assert_eq!(cdr_ids(&api, &agent, ""), vec![a, c, d, e], "801's and 803's calls");
    assert_eq!(cdr_ids(&api, &agent, "extension=803"), vec![d, e]);
    assert_eq!(cdr_ids(&api, &agent, "direction=inbound"), vec![a, e]);
    assert_eq!(api.get("/cdr?extension=802", &agent).0, 403);
    for limit in [1, 2, 3, 4] {
        assert_eq!(every_page(&api, &agent, "order=oldest", limit), vec![a, c, d, e], "{limit} a page");
        assert_eq!(every_page(&api, &agent, "order=newest", limit), vec![e, d, c, a], "{limit} a page");
    }
    assert_eq!(api.get(&format!("/calls/{e}"), &agent).0, 200);
    assert_eq!(api.get(&format!("/calls/{b}"), &agent).0, 403);
}

#[test]
fn search_takes_wildcards_literally_and_errors_name_request_fields() {
    let api = Api::start();
    let agent = api.login("agent");
    create(&api, &agent, json!({"name": "100% Cotton", "company": "a_b"}));
    create(&api, &agent, json!({"name": "Other", "company": "axb"}));
    assert_eq!(names(&api.get("/customers?q=%25", &agent).1), vec!["100% Cotton"]);
    assert_eq!(names(&api.get("/customers?q=a_b", &agent).1), vec!["100% Cotton"]);
    // A problem with `assigned` names the request's field, not a column.
    let (status, body) = api.post("/customers", &agent, r#"{"name": "A", "assigned": {"user": 999}}"#);
    assert_eq!((status, body["field"].as_str()), (400, Some("assigned.user")), "{body}");
    let long = "x".repeat(201);
    let (status, body) = api.post("/customers", &agent, &json!({"name": "A", "assigned": {"name": long}}).to_string());
    assert_eq!((status, body["field"].as_str()), (400, Some("assigned.name")), "{body}");
    let (status, body) = api.put("/customers/1", &agent, r#"{"assigned": {"user": 999}}"#);
    assert_eq!((status, body["field"].as_str()), (400, Some("assigned.user")), "{body}");
    let (status, body) = api.post("/customers", &agent, &json!({"name": "A", "company": long}).to_string());
    assert_eq!((status, body["field"].as_str()), (400, Some("company")), "{body}");
}

#[test]
fn csv_import_of_a_spreadsheet_export() {
    // Excel's "CSV UTF-8": a byte order mark and CRLF line ends.
    let api = Api::start();
    let sup = api.login("super");
    let csv = "\u{feff}Customer Name,Mobile,Tel 2\r\nLi Wei,138 0013 8000,010-6552-9988\r\nBad,+86 13x,\r\nWang Fang,13900139000,\r\n";
    let report = import(&api, &sup, "", csv);
    assert_eq!((report["rows"].as_u64(), report["inserted"].as_u64()), (Some(3), Some(2)), "{report}");
    assert_eq!(problem_lines(&report), vec![(3, Some("Mobile"))], "{report}");
    assert_eq!(report["ignored_columns"], json!([]));
    assert_eq!(lookup(&api, &sup, "%2B861065529988"), vec!["Li Wei".to_string()]);
}
