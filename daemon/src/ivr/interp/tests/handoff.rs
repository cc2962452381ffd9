//! queue, transfer, voicemail and record.

use super::*;

fn queue(q: &str, priority: Option<&str>, skills: &[&str], on_failure: Option<&str>) -> NodeKind {
    NodeKind::Queue {
        queue: Template::new(q),
        priority: priority.map(Template::new),
        skills: skills.iter().map(|s| Template::new(*s)).collect(),
        on_failure: on_failure.map(g),
    }
}

fn queue_action(q: &str, priority: u32, skills: &[&str]) -> Action {
    Action::Queue { queue: q.into(), priority, skills: skills.iter().map(|s| s.to_string()).collect() }
}

#[test]
fn queue_hands_the_call_over() {
    let f = flow("q").node("q", queue("${dept}", Some("${vip}"), &["lang-${lang}", "billing"], Some("vm"))).build();
    let mut c = Call::with(f, &[("dept", "sales"), ("vip", " 3 ")]);
    assert_eq!(
        c.start(),
        vec![node("q", "queue"), res("q", "queued sales"), queue_action("sales", 3, &["lang-en", "billing"])]
    );
    assert_eq!(c.s.state(), State::Handed);
    assert_eq!(c.s.deadline(), None);
    // The flow no longer listens.
    assert_eq!(c.key('1'), vec![]);
    assert_eq!(c.done(), vec![]);
    assert_eq!(c.send(Input::Timer), vec![]);
    assert_eq!(c.s.state(), State::Handed);
}

#[test]
fn queue_priority_that_is_not_a_number_is_zero() {
    for (prio, expected) in [(Some("${vip}"), 0), (Some("-2"), 0), (Some("vip"), 0), (None, 0), (Some("7"), 7)] {
        let f = flow("q").node("q", queue("sales", prio, &[], None)).build();
        let out = Call::with(f, &[("vip", "")]).start();
        assert_eq!(out[2], queue_action("sales", expected, &[]), "{prio:?}");
    }
}

#[test]
fn queue_failure_goes_to_on_failure() {
    let f =
        flow("q").node("q", queue("sales", None, &[], Some("sorry"))).node("sorry", play(&["all-busy"], "end")).build();
    let mut c = Call::new(f);
    c.start();
    assert_eq!(
        c.send(Input::Failed("nobody answered in queue sales".into())),
        vec![res("q", "failed: nobody answered in queue sales"), node("sorry", "play"), pl(&["all-busy"])]
    );
    assert_eq!(c.s.state(), State::Running);
    assert_eq!(c.send(Input::Failed("again".into())), vec![], "not handed any more");
}

#[test]
fn transfer_failure_without_on_failure_says_sorry_and_hangs_up() {
    let f = flow("t").node("t", NodeKind::Transfer { to: Template::new("8${ext}"), on_failure: None }).build();
    let mut c = Call::with(f, &[("ext", "01")]);
    assert_eq!(c.start(), vec![node("t", "transfer"), res("t", "transfer 801"), Action::Transfer { to: "801".into() }]);
    assert_eq!(c.s.state(), State::Handed);
    assert_eq!(c.send(Input::Failed("busy".into())), vec![res("t", "failed: busy"), pl(&[SORRY_PROMPT])]);
    assert_eq!(c.s.state(), State::Running);
    assert_eq!(c.key('1'), vec![]);
    assert_eq!(c.done(), vec![Action::Hangup]);
    assert_eq!(c.s.state(), State::Ended);
}

#[test]
fn transfer_failure_with_on_failure() {
    let f = flow("t")
        .node("t", NodeKind::Transfer { to: Template::new("801"), on_failure: Some(g("vm")) })
        .node("vm", play(&["leave-message"], "end"))
        .build();
    let mut c = Call::new(f);
    c.start();
    assert_eq!(
        c.send(Input::Failed("no answer".into())),
        vec![res("t", "failed: no answer"), node("vm", "play"), pl(&["leave-message"])]
    );
}

// ---- voicemail ---------------------------------------------------------

struct Vm {
    greeting: &'static [&'static str],
    beep: bool,
    max_ms: u64,
    silence_ms: u64,
}

fn vm_flow(v: Vm) -> Arc<Flow> {
    flow("vm")
        .node(
            "vm",
            NodeKind::Voicemail {
                mailbox: Template::new("box-${called}"),
                greeting: ps(v.greeting),
                beep: v.beep,
                max_ms: v.max_ms,
                silence_ms: v.silence_ms,
                notify: Some(Template::new("https://crm/vm?c=${caller}")),
                next: g("saved"),
            },
        )
        .node("saved", hangup(&["message-saved"]))
        .build()
}

fn standard_vm() -> Vm {
    Vm { greeting: &["leave-message"], beep: true, max_ms: 120_000, silence_ms: 5000 }
}

fn vm_record() -> Action {
    Action::StartRecord {
        purpose: RecordPurpose::Voicemail {
            mailbox: "box-4000".into(),
            notify: Some("https://crm/vm?c=13800138000".into()),
        },
        max_ms: 120_000,
    }
}

fn saved(recorded: &str) -> Vec<Action> {
    vec![res("vm", recorded), node("saved", "hangup"), pl(&["message-saved"])]
}

#[test]
fn voicemail_greeting_beep_record_until_hash() {
    let mut c = Call::new(vm_flow(standard_vm()));
    assert_eq!(c.start(), vec![node("vm", "voicemail"), pl(&["leave-message"])]);
    assert_eq!(c.key('#'), vec![], "no barge-in on the greeting");
    assert_eq!(c.done(), vec![pl(&[BEEP_PROMPT])]);
    c.wait(500);
    assert_eq!(c.done(), vec![vm_record()]);
    assert_eq!(c.s.deadline(), Some(1500 + 5000), "silence counts from the start");
    c.wait(1000);
    assert_eq!(c.send(Input::Voice(true)), vec![]);
    assert_eq!(c.s.deadline(), Some(1500 + 120_000), "only max while talking");
    assert_eq!(c.key('1'), vec![]);
    c.wait(10_000);
    assert_eq!(c.key('#'), vec![Action::StopRecord]);
    assert_eq!(c.s.deadline(), None);
    assert_eq!(c.key('#'), vec![]);
    assert_eq!(
        c.send(Input::RecordDone { path: "/var/lib/ctibox/vm/1.wav".into(), ms: 12_345 }),
        saved("recorded 12.3s")
    );
    assert_eq!(c.var("recording"), None, "voicemail sets no variable");
}

#[test]
fn voicemail_stops_after_silence() {
    let mut c = Call::new(vm_flow(standard_vm()));
    c.start();
    c.done();
    c.done();
    c.wait(2000);
    c.send(Input::Voice(true));
    c.wait(3000);
    c.send(Input::Voice(false));
    assert_eq!(c.s.deadline(), Some(6000 + 5000));
    c.wait(4000);
    // Talking again restarts the count at the next pause.
    c.send(Input::Voice(true));
    c.wait(1000);
    c.send(Input::Voice(false));
    assert_eq!(c.s.deadline(), Some(11_000 + 5000));
    c.wait(4999);
    assert_eq!(c.send(Input::Timer), vec![], "early");
    assert_eq!(c.fire(), vec![Action::StopRecord]);
    assert_eq!(c.send(Input::RecordDone { path: "/v.wav".into(), ms: 15_000 }), saved("recorded 15.0s"));
}

#[test]
fn voicemail_silence_from_the_start_when_nobody_speaks() {
    let mut c = Call::new(vm_flow(Vm { greeting: &[], beep: false, ..standard_vm() }));
    // No greeting, no beep: recording starts at once.
    assert_eq!(c.start(), vec![node("vm", "voicemail"), vm_record()]);
    assert_eq!(c.fire(), vec![Action::StopRecord]);
    assert_eq!(c.now, 1000 + 5000);
    assert_eq!(c.send(Input::RecordDone { path: "/v.wav".into(), ms: 5000 }), saved("recorded 5.0s"));
}

#[test]
fn voicemail_stops_at_max() {
    let mut c = Call::new(vm_flow(Vm { max_ms: 20_000, greeting: &[], ..standard_vm() }));
    assert_eq!(c.start(), vec![node("vm", "voicemail"), pl(&[BEEP_PROMPT])]);
    c.done();
    c.send(Input::Voice(true));
    assert_eq!(c.fire(), vec![Action::StopRecord]);
    assert_eq!(c.now, 1000 + 20_000);
    // A caller who keeps talking: the max also bounds the silence timer.
    let mut c = Call::new(vm_flow(Vm { max_ms: 20_000, greeting: &[], ..standard_vm() }));
    c.start();
    c.done();
    c.wait(18_000);
    c.send(Input::Voice(false));
    assert_eq!(c.s.deadline(), Some(21_000));
}

#[test]
fn voicemail_takes_the_cores_own_stop_at_max() {
    let mut c = Call::new(vm_flow(Vm { silence_ms: 0, ..standard_vm() }));
    c.start();
    c.done();
    c.done();
    assert_eq!(c.s.deadline(), Some(121_000), "silence limit off");
    c.send(Input::Voice(false));
    assert_eq!(c.s.deadline(), Some(121_000));
    assert_eq!(c.send(Input::RecordDone { path: "/v.wav".into(), ms: 119_999 }), saved("recorded 119.9s"));
}

#[test]
fn voicemail_throws_typeahead_away() {
    let f = flow("p")
        .node("p", play_barge(&["welcome"], "vm"))
        .node(
            "vm",
            NodeKind::Voicemail {
                mailbox: Template::new("100"),
                greeting: vec![],
                beep: false,
                max_ms: 0,
                silence_ms: 0,
                notify: None,
                next: g("end"),
            },
        )
        .build();
    let mut c = Call::new(f);
    c.start();
    c.keys("1#");
    let start =
        Action::StartRecord { purpose: RecordPurpose::Voicemail { mailbox: "100".into(), notify: None }, max_ms: 0 };
    assert_eq!(c.done(), vec![res("p", "barge_in 1"), node("vm", "voicemail"), start]);
    assert_eq!(c.s.deadline(), None, "no limits");
    assert_eq!(c.key('#'), vec![Action::StopRecord], "the typed-ahead # did not stop it");
}

// ---- record ------------------------------------------------------------

fn record_flow(terminator: Option<char>) -> Arc<Flow> {
    flow("r")
        .node(
            "r",
            NodeKind::Record {
                prompt: ps(&["say-your-name"]),
                beep: true,
                max_ms: 10_000,
                silence_ms: 3000,
                terminator,
                var: "name_wav".into(),
                next: g("p"),
            },
        )
        .node("p", play(&["thanks"], "end"))
        .build()
}

#[test]
fn record_sets_its_variable() {
    let mut c = Call::new(record_flow(Some('*')));
    assert_eq!(c.start(), vec![node("r", "record"), pl(&["say-your-name"])]);
    assert_eq!(c.done(), vec![pl(&[BEEP_PROMPT])]);
    assert_eq!(
        c.done(),
        vec![Action::StartRecord { purpose: RecordPurpose::Caller { var: "name_wav".into() }, max_ms: 10_000 }]
    );
    assert_eq!(c.s.deadline(), Some(4000));
    assert_eq!(c.key('#'), vec![], "`*` is the terminator here");
    assert_eq!(c.key('*'), vec![Action::StopRecord]);
    assert_eq!(
        c.send(Input::RecordDone { path: "/rec/17-r.wav".into(), ms: 2050 }),
        vec![res("r", "recorded 2.0s"), node("p", "play"), pl(&["thanks"])]
    );
    assert_eq!(c.var("name_wav"), Some("/rec/17-r.wav"));
}

#[test]
fn record_without_terminator_ignores_keys() {
    let mut c = Call::new(record_flow(None));
    c.start();
    c.done();
    c.done();
    assert_eq!(c.keys("#*1"), vec![]);
    assert_eq!(c.fire(), vec![Action::StopRecord]);
}
