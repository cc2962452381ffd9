//! play, say, hangup, language, and the guards (spin, unknown node, stray
//! inputs).

use super::*;

#[test]
fn play_then_next() {
    let f = flow("greet").node("greet", play(&["welcome", "demo/welcome"], "end")).build();
    let mut c = Call::new(f);
    assert_eq!(c.start(), vec![node("greet", "play"), pl(&["welcome", "demo/welcome"])]);
    assert_eq!(c.s.node(), "greet");
    assert_eq!(c.s.state(), State::Running);
    assert_eq!(c.s.deadline(), None);
    assert_eq!(c.done(), then(vec![res("greet", "played")], to_end()));
    assert_eq!(c.s.state(), State::Ended);
    // Nothing after the end.
    assert_eq!(c.done(), vec![]);
    assert_eq!(c.key('1'), vec![]);
}

#[test]
fn play_without_barge_in_discards_digits() {
    let f = flow("greet")
        .node("greet", play(&["welcome"], "m"))
        .node("m", menu("menu/main", &[('1', "end")]).kind())
        .build();
    let mut c = Call::new(f);
    c.start();
    assert_eq!(c.keys("12"), vec![]);
    // The menu plays its prompt: no type-ahead was kept.
    assert_eq!(c.done(), vec![res("greet", "played"), node("m", "menu"), plb(&["menu/main"])]);
}

#[test]
fn play_barge_in_stops_and_keeps_typeahead() {
    let f = flow("greet")
        .node("greet", play_barge(&["welcome"], "m"))
        .node("m", menu("menu/main", &[('2', "m2")]).kind())
        .node("m2", menu("menu/sub", &[('3', "end")]).kind())
        .build();
    let mut c = Call::new(f);
    c.start();
    assert_eq!(c.key('2'), vec![Action::StopPlay]);
    // Only one StopPlay; later digits are kept too.
    assert_eq!(c.key('3'), vec![]);
    // The node goes on when PlayDone comes; both menus take the type-ahead.
    assert_eq!(
        c.done(),
        then(
            vec![
                res("greet", "barge_in 2"),
                node("m", "menu"),
                res("m", "choice 2"),
                node("m2", "menu"),
                res("m2", "choice 3"),
            ],
            to_end()
        )
    );
}

#[test]
fn say_node_expands_and_speaks_in_the_call_language() {
    let item = PromptItem::Say {
        value: Template::new("${amount}"),
        kind: SayAs::Money,
        options: SayOptions { gender: Some(Gender::Feminine), currency: Some("RUB".into()) },
        line: 2,
    };
    let f = flow("s")
        .node(
            "s",
            NodeKind::Say {
                before: vec![p("balance-${kind}")],
                item,
                after: vec![PromptItem::Silence { ms: 300, line: 3 }, p("thanks")],
                barge_in: false,
                next: g("end"),
            },
        )
        .build();
    let mut c = Call::with(f, &[("amount", "12.50"), ("kind", "card")]);
    assert_eq!(
        c.start(),
        vec![
            node("s", "say"),
            Action::Play {
                items: vec![
                    Spoken::Prompt { lang: Lang::En, name: "balance-card".into() },
                    Spoken::Say {
                        lang: Lang::En,
                        kind: SayAs::Money,
                        value: "12.50".into(),
                        options: SayOptions { gender: Some(Gender::Feminine), currency: Some("RUB".into()) },
                    },
                    Spoken::Silence { ms: 300 },
                    Spoken::Prompt { lang: Lang::En, name: "thanks".into() },
                ],
                barge_in: false,
            }
        ]
    );
    assert_eq!(c.done(), then(vec![res("s", "played")], to_end()));
}

#[test]
fn empty_play_goes_on_at_once() {
    let f = flow("a").node("a", play(&[], "end")).build();
    assert_eq!(Call::new(f).start(), then(vec![node("a", "play"), res("a", "played")], to_end()));
}

#[test]
fn hangup_plays_its_prompts_first() {
    let f = flow("bye").node("bye", hangup(&["goodbye"])).build();
    let mut c = Call::new(f);
    assert_eq!(c.start(), vec![node("bye", "hangup"), pl(&["goodbye"])]);
    assert_eq!(c.s.state(), State::Running);
    assert_eq!(c.key('1'), vec![], "no barge-in on a goodbye");
    assert_eq!(c.done(), vec![res("bye", "hangup"), Action::Hangup]);
    assert_eq!(c.s.state(), State::Ended);
}

#[test]
fn language_from_vars_and_set() {
    let f = flow("a")
        .lang(Lang::Zh)
        .node("a", play(&["welcome"], "s"))
        .node("s", set(&[("lang", "ru")], "b"))
        .node(
            "b",
            NodeKind::Say {
                before: vec![],
                item: PromptItem::Say {
                    value: Template::new("3"),
                    kind: SayAs::Number,
                    options: SayOptions::default(),
                    line: 1,
                },
                after: vec![],
                barge_in: false,
                next: g("end"),
            },
        )
        .build();
    // The call's `lang` is not a language: the flow's (zh-CN) is used.
    let mut c = Call::with(Arc::clone(&f), &[("lang", "xx")]);
    assert_eq!(
        c.start(),
        vec![node("a", "play"), Action::Play { items: spoken(Lang::Zh, &["welcome"]), barge_in: false }]
    );
    // After `set lang = "ru"` everything is Russian.
    assert_eq!(
        c.done(),
        vec![
            res("a", "played"),
            node("s", "set"),
            node("b", "say"),
            Action::Play {
                items: vec![Spoken::Say {
                    lang: Lang::Ru,
                    kind: SayAs::Number,
                    value: "3".into(),
                    options: SayOptions::default()
                }],
                barge_in: false
            }
        ]
    );
    assert_eq!(c.var("lang"), Some("ru"));
    // A call that starts with `lang = en` overrides the flow's zh-CN.
    let mut c = Call::new(f);
    assert_eq!(c.start()[1], pl(&["welcome"]));
}

#[test]
fn spin_guard_stops_a_loop_without_input() {
    let f = flow("b")
        .node("b", NodeKind::Branch { cases: vec![case(cmp("n", CompareOp::Eq, "never"), "end")], default: g("s") })
        .node("s", set(&[("n", "x${n}")], "b"))
        .build();
    let mut c = Call::new(f);
    let out = c.start();
    let nodes = out.iter().filter(|a| matches!(a, Action::Journal(Step::Node { .. }))).count();
    assert_eq!(nodes, MAX_HOPS as usize);
    assert_eq!(
        out[out.len() - 2..],
        [res("b", "error: flow loops without input at b"), Action::Hangup],
        "node 1001 is `b` (odd hops are the branch)"
    );
    assert_eq!(c.s.state(), State::Ended);
    assert_eq!(c.var("n").map(str::len), Some(MAX_HOPS as usize / 2));
}

#[test]
fn a_loop_through_a_prompt_is_not_a_spin() {
    let f = flow("p").node("p", play(&["tick"], "s")).node("s", set(&[("n", "x${n}")], "p")).build();
    let mut c = Call::new(f);
    c.start();
    for _ in 0..1500 {
        assert_eq!(c.done(), vec![res("p", "played"), node("s", "set"), node("p", "play"), pl(&["tick"])]);
    }
    assert_eq!(c.s.state(), State::Running);
}

#[test]
fn unknown_start_and_unknown_target_hang_up() {
    let f = flow("nowhere").build();
    let mut c = Call::new(f);
    assert_eq!(c.start(), vec![res("nowhere", "error: no node named `nowhere` in flow `t`"), Action::Hangup]);
    assert_eq!(c.s.state(), State::Ended);

    let f = flow("a").node("a", play(&["x"], "gone")).build();
    let mut c = Call::new(f);
    c.start();
    assert_eq!(c.done(), vec![res("a", "played"), res("a", "error: no node named `gone` in flow `t`"), Action::Hangup]);
    assert_eq!(c.s.node(), "a");
}

#[test]
fn stray_inputs_are_ignored() {
    let f = flow("m").node("m", menu("menu/main", &[('1', "end")]).kind()).build();
    let mut c = Call::new(f);
    // Before start nothing happens.
    assert_eq!(c.send(Input::PlayDone), vec![]);
    assert_eq!(c.s.node(), "");
    c.start();
    assert_eq!(c.start(), vec![], "a second start does nothing");
    // The prompt plays: no timer yet.
    assert_eq!(c.send(Input::Timer), vec![]);
    assert_eq!(c.done(), vec![]);
    assert_eq!(c.s.deadline(), Some(6000));
    // A second PlayDone, results of things never asked for, a voice event.
    assert_eq!(c.done(), vec![]);
    assert_eq!(c.send(Input::LookupDone(Ok(None))), vec![]);
    assert_eq!(c.send(Input::WebhookDone(Ok(vec![]))), vec![]);
    assert_eq!(c.send(Input::RecordDone { path: "/x.wav".into(), ms: 5 }), vec![]);
    assert_eq!(c.send(Input::Failed("x".into())), vec![]);
    assert_eq!(c.send(Input::Voice(true)), vec![]);
    // A timer before the deadline is ignored and the deadline stays.
    c.wait(4999);
    assert_eq!(c.send(Input::Timer), vec![]);
    assert_eq!(c.s.deadline(), Some(6000));
    assert_eq!(c.s.state(), State::Running);
    assert_eq!(c.s.node(), "m");
}

#[test]
fn local_time_from_a_date_and_time() {
    let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap().and_hms_opt(23, 59, 30).unwrap();
    assert_eq!(
        LocalTime::from_datetime(&t),
        LocalTime { year: 2026, month: 11, day: 22, weekday: 6, minute: 23 * 60 + 59 }
    );
}
