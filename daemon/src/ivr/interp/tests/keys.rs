//! menu and collect.

use super::*;

fn menu_flow(m: Menu) -> Arc<Flow> {
    flow("m")
        .node("m", m.kind())
        .node("sales", play(&["demo/to-sales"], "end"))
        .node("fb", play(&["demo/to-operator"], "end"))
        .build()
}

fn main_menu() -> Menu {
    menu("demo/main-menu", &[('1', "sales"), ('0', "fb")])
}

fn to_sales() -> Vec<Action> {
    vec![node("sales", "play"), pl(&["demo/to-sales"])]
}

fn to_fb() -> Vec<Action> {
    vec![node("fb", "play"), pl(&["demo/to-operator"])]
}

#[test]
fn menu_choice() {
    let mut c = Call::new(menu_flow(main_menu()));
    assert_eq!(c.start(), vec![node("m", "menu"), plb(&["demo/main-menu"])]);
    assert_eq!(c.s.deadline(), None, "no timer while the prompt plays");
    c.wait(7000);
    assert_eq!(c.done(), vec![]);
    assert_eq!(c.s.deadline(), Some(8000 + 5000), "timeout counts from PlayDone");
    c.wait(4000);
    assert_eq!(c.key('1'), then(vec![res("m", "choice 1")], to_sales()));
    assert_eq!(c.s.deadline(), None);
}

#[test]
fn menu_invalid_then_choice() {
    let mut c = Call::new(menu_flow(main_menu()));
    c.start();
    c.done();
    assert_eq!(c.key('9'), vec![res("m", "invalid 9"), plb(&["invalid-choice"])]);
    assert_eq!(c.s.deadline(), None);
    assert_eq!(c.done(), vec![plb(&["demo/main-menu"])]);
    assert_eq!(c.done(), vec![]);
    assert_eq!(c.key('1'), then(vec![res("m", "choice 1")], to_sales()));
}

#[test]
fn menu_no_input_then_choice() {
    let mut c = Call::new(menu_flow(main_menu()));
    c.start();
    c.done();
    assert_eq!(c.fire(), vec![res("m", "no_input"), plb(&["no-input"])]);
    assert_eq!(c.now, 6000);
    assert_eq!(c.s.deadline(), None);
    assert_eq!(c.done(), vec![plb(&["demo/main-menu"])]);
    c.wait(100);
    assert_eq!(c.done(), vec![]);
    assert_eq!(c.s.deadline(), Some(6100 + 5000));
    assert_eq!(c.key('1'), then(vec![res("m", "choice 1")], to_sales()));
}

#[test]
fn menu_retries_then_fallback() {
    let mut c = Call::new(menu_flow(main_menu()));
    c.start();
    c.done();
    // Try 1: a wrong key.
    assert_eq!(c.key('7'), vec![res("m", "invalid 7"), plb(&["invalid-choice"])]);
    c.done();
    c.done();
    // Try 2: nothing.
    assert_eq!(c.fire(), vec![res("m", "no_input"), plb(&["no-input"])]);
    c.done();
    c.done();
    // Try 3 is the last (retries = 3): straight to the fallback.
    assert_eq!(c.key('5'), then(vec![res("m", "invalid 5")], to_fb()));
}

#[test]
fn menu_without_fallback_hangs_up_after_retries() {
    let mut c = Call::new(menu_flow(Menu { retries: 1, fallback: None, ..main_menu() }));
    c.start();
    c.done();
    assert_eq!(c.fire(), vec![res("m", "no_input"), res("m", "error: no fallback"), Action::Hangup]);
    assert_eq!(c.s.state(), State::Ended);
    assert_eq!(c.s.deadline(), None);
}

#[test]
fn menu_retries_zero_means_one_try() {
    let mut c = Call::new(menu_flow(Menu { retries: 0, ..main_menu() }));
    c.start();
    c.done();
    assert_eq!(c.key('4'), then(vec![res("m", "invalid 4")], to_fb()));
}

#[test]
fn menu_barge_in_digit_is_the_choice() {
    let mut c = Call::new(menu_flow(main_menu()));
    c.start();
    assert_eq!(c.key('1'), vec![Action::StopPlay]);
    assert_eq!(c.done(), then(vec![res("m", "choice 1")], to_sales()));
}

#[test]
fn menu_digit_during_retry_prompt_barges_in() {
    let mut c = Call::new(menu_flow(main_menu()));
    c.start();
    c.done();
    c.key('8');
    assert_eq!(c.key('1'), vec![Action::StopPlay]);
    // The menu prompt is not played again: the key counts.
    assert_eq!(c.done(), then(vec![res("m", "choice 1")], to_sales()));
}

#[test]
fn menu_invalid_typeahead_throws_the_rest_away() {
    let f = flow("greet")
        .node("greet", play_barge(&["welcome"], "m"))
        .node("m", main_menu().kind())
        .node("sales", play(&["demo/to-sales"], "end"))
        .node("fb", play(&["demo/to-operator"], "end"))
        .build();
    let mut c = Call::new(f);
    c.start();
    assert_eq!(c.keys("91"), vec![Action::StopPlay]);
    assert_eq!(
        c.done(),
        vec![res("greet", "barge_in 9"), node("m", "menu"), res("m", "invalid 9"), plb(&["invalid-choice"]),]
    );
    // The `1` typed after the wrong key is gone: the prompt plays again.
    assert_eq!(c.done(), vec![plb(&["demo/main-menu"])]);
}

#[test]
fn menu_with_empty_prompts_waits_at_once() {
    let m = Menu { prompt: vec![], invalid: vec![], no_input: vec![], ..main_menu() };
    let mut c = Call::new(menu_flow(m));
    assert_eq!(c.start(), vec![node("m", "menu")]);
    assert_eq!(c.s.deadline(), Some(6000));
    assert_eq!(c.fire(), vec![res("m", "no_input")]);
    assert_eq!(c.s.deadline(), Some(11000));
    assert_eq!(c.key('1'), then(vec![res("m", "choice 1")], to_sales()));
}

// ---- collect -----------------------------------------------------------

fn collect_flow(k: Collect) -> Arc<Flow> {
    flow("c")
        .node("c", k.kind())
        .node("ok", play(&["thanks"], "end"))
        .node("fb", play(&["demo/to-operator"], "end"))
        .build()
}

fn order() -> Collect {
    collect("demo/enter-order", "order", "ok")
}

fn to_ok() -> Vec<Action> {
    vec![node("ok", "play"), pl(&["thanks"])]
}

#[test]
fn collect_until_terminator() {
    let mut c = Call::new(collect_flow(order()));
    assert_eq!(c.start(), vec![node("c", "collect"), plb(&["demo/enter-order"])]);
    assert_eq!(c.done(), vec![]);
    assert_eq!(c.s.deadline(), Some(1000 + 8000), "first-digit timeout");
    c.wait(3000);
    assert_eq!(c.keys("123"), vec![]);
    assert_eq!(c.s.deadline(), Some(4000 + 4000), "inter-digit timeout");
    assert_eq!(c.key('#'), then(vec![digits("c", "123"), res("c", "collected")], to_ok()));
    assert_eq!(c.var("order"), Some("123"));
    assert_eq!(c.s.deadline(), None);
}

#[test]
fn collect_ends_at_max_at_once() {
    let mut c = Call::new(collect_flow(Collect { max: 4, ..order() }));
    c.start();
    c.done();
    assert_eq!(c.keys("123"), vec![]);
    assert_eq!(c.key('4'), then(vec![digits("c", "1234"), res("c", "collected")], to_ok()));
    assert_eq!(c.var("order"), Some("1234"));
}

#[test]
fn collect_ends_at_inter_digit_timeout() {
    let mut c = Call::new(collect_flow(order()));
    c.start();
    c.done();
    c.wait(500);
    c.keys("42");
    assert_eq!(c.fire(), then(vec![digits("c", "42"), res("c", "collected")], to_ok()));
    assert_eq!(c.now, 1500 + 4000);
}

#[test]
fn collect_too_few_digits_is_invalid() {
    let mut c = Call::new(collect_flow(Collect { min: 3, ..order() }));
    c.start();
    c.done();
    assert_eq!(c.keys("12#"), vec![res("c", "invalid 12"), plb(&["invalid-choice"])]);
    assert_eq!(c.var("order"), None);
    assert_eq!(c.done(), vec![plb(&["demo/enter-order"])]);
    c.done();
    assert_eq!(c.keys("123#"), then(vec![digits("c", "123"), res("c", "collected")], to_ok()));
    // Terminator alone: invalid without digits.
    let mut c = Call::new(collect_flow(Collect { min: 3, ..order() }));
    c.start();
    c.done();
    assert_eq!(c.key('#'), vec![res("c", "invalid"), plb(&["invalid-choice"])]);
}

#[test]
fn collect_pattern_is_whole_string() {
    let mut c = Call::new(collect_flow(Collect { pattern: Some("1[0-9]{3}"), ..order() }));
    c.start();
    c.done();
    assert_eq!(c.keys("21234#"), vec![res("c", "invalid 21234"), plb(&["invalid-choice"])]);
    c.done();
    c.done();
    assert_eq!(c.keys("12345#"), vec![res("c", "invalid 12345"), plb(&["invalid-choice"])]);
    c.done();
    c.done();
    // Third try, and valid.
    assert_eq!(c.keys("1234#"), then(vec![digits("c", "1234"), res("c", "collected")], to_ok()));
}

#[test]
fn collect_no_input_retries_then_fallback() {
    let mut c = Call::new(collect_flow(Collect { retries: 2, ..order() }));
    c.start();
    c.done();
    assert_eq!(c.fire(), vec![res("c", "no_input"), plb(&["no-input"])]);
    assert_eq!(c.now, 9000);
    c.done();
    c.done();
    assert_eq!(c.s.deadline(), Some(9000 + 8000));
    c.key('5');
    assert_eq!(c.fire(), then(vec![digits("c", "5"), res("c", "collected")], to_ok()));

    let mut c = Call::new(collect_flow(Collect { retries: 2, min: 2, ..order() }));
    c.start();
    c.done();
    c.fire();
    c.done();
    c.done();
    assert_eq!(
        c.keys("5#"),
        vec![res("c", "invalid 5"), node("fb", "play"), pl(&["demo/to-operator"])],
        "second failed try of two: fallback"
    );
}

#[test]
fn collect_without_fallback_hangs_up() {
    let mut c = Call::new(collect_flow(Collect { retries: 1, fallback: None, ..order() }));
    c.start();
    c.done();
    assert_eq!(c.fire(), vec![res("c", "no_input"), res("c", "error: no fallback"), Action::Hangup]);
    assert_eq!(c.s.state(), State::Ended);
}

#[test]
fn collect_barge_in_and_typeahead() {
    let mut c = Call::new(collect_flow(order()));
    c.start();
    assert_eq!(c.key('4'), vec![Action::StopPlay]);
    assert_eq!(c.key('2'), vec![]);
    c.wait(200);
    // The digits so far count; the inter-digit timer runs from PlayDone.
    assert_eq!(c.done(), vec![]);
    assert_eq!(c.s.deadline(), Some(1200 + 4000));
    assert_eq!(c.key('#'), then(vec![digits("c", "42"), res("c", "collected")], to_ok()));

    // A whole answer typed ahead ends the collect without its prompt, and
    // what is left stays for the next menu.
    let f = flow("greet")
        .node("greet", play_barge(&["welcome"], "c"))
        .node("c", order().kind())
        .node("ok", menu("menu/next", &[('3', "end")]).kind())
        .node("fb", play(&["demo/to-operator"], "end"))
        .build();
    let mut c = Call::new(f);
    c.start();
    assert_eq!(c.keys("77#3"), vec![Action::StopPlay]);
    assert_eq!(
        c.done(),
        then(
            vec![
                res("greet", "barge_in 7"),
                node("c", "collect"),
                digits("c", "77"),
                res("c", "collected"),
                node("ok", "menu"),
                res("ok", "choice 3"),
            ],
            to_end()
        )
    );
}

#[test]
fn collect_digits_during_retry_prompt_barge_in() {
    let mut c = Call::new(collect_flow(Collect { min: 2, ..order() }));
    c.start();
    c.done();
    c.keys("1#");
    assert_eq!(c.key('5'), vec![Action::StopPlay]);
    assert_eq!(c.key('5'), vec![]);
    // The prompt is skipped; the digits are taken.
    assert_eq!(c.done(), vec![]);
    assert_eq!(c.key('#'), then(vec![digits("c", "55"), res("c", "collected")], to_ok()));
}

#[test]
fn collect_terminator_options() {
    // min 0: the terminator alone is an empty answer.
    let mut c = Call::new(collect_flow(Collect { min: 0, ..order() }));
    c.start();
    c.done();
    assert_eq!(c.key('#'), then(vec![digits("c", ""), res("c", "collected")], to_ok()));
    assert_eq!(c.var("order"), Some(""));
    // No terminator: `#` is a digit like the others.
    let mut c = Call::new(collect_flow(Collect { terminator: None, max: 3, ..order() }));
    c.start();
    c.done();
    assert_eq!(c.keys("1#2"), then(vec![digits("c", "1#2"), res("c", "collected")], to_ok()));
    // Another terminator: `*`.
    let mut c = Call::new(collect_flow(Collect { terminator: Some('*'), ..order() }));
    c.start();
    c.done();
    assert_eq!(c.keys("9#*"), then(vec![digits("c", "9#"), res("c", "collected")], to_ok()));
}

#[test]
fn collect_bad_pattern_is_a_runtime_error() {
    let mut c = Call::new(collect_flow(Collect { pattern: Some("(1"), ..order() }));
    c.start();
    c.done();
    let out = c.keys("1#");
    assert_eq!(out.len(), 2);
    match &out[0] {
        Action::Journal(Step::Result { node, result }) => {
            assert_eq!(node, "c");
            assert!(result.starts_with("error: pattern: bad regex `(1`"), "{result}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(out[1], Action::Hangup);
}
