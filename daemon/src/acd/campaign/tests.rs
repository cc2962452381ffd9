//! The campaign engine's rules, one test per rule with hand-worked
//! outcomes, and a seeded 50-number run against scripted parties.

use super::*;

const MIN: u64 = 60_000;

/// Monday 10:00: inside any office hours.
fn monday_10() -> DayTime {
    DayTime::at(0, 10, 0)
}

fn id(n: i64) -> CampaignNumberId {
    CampaignNumberId(n)
}

/// Numbers 1..=n: `1380013800N` (N with two digits).
fn entries(n: i64) -> Vec<NumberEntry> {
    (1..=n).map(|i| NumberEntry::pending(id(i), &format!("138001380{i:02}"))).collect()
}

fn spec() -> CampaignSpec {
    CampaignSpec::new("spring", "sales", "pstn")
}

fn campaign(n: i64) -> Campaign {
    Campaign::new(spec(), entries(n))
}

/// Dials one number (one line, one agent), with no other call out.
fn dial(c: &mut Campaign, now: u64) -> Option<Dial> {
    c.next_dial(now, monday_10(), 1, 1, 0)
}

/// Dials the one due number and reports `outcome` at once.
fn dial_and(c: &mut Campaign, now: u64, outcome: Outcome) -> NumberChange {
    let d = dial(c, now).expect("a number is due");
    c.result(d.number_id, outcome, now).unwrap()
}

#[test]
fn a_busy_number_is_retried_after_its_delay_until_its_retries_are_used() {
    let mut s = spec();
    s.retry.busy = Retry { after_ms: 5 * MIN, max: 3 };
    let mut c = Campaign::new(s, entries(1));
    let mut t = 1_000;
    for k in 1..=3 {
        let ch = dial_and(&mut c, t, Outcome::Busy);
        assert_eq!(
            ch,
            NumberChange {
                number_id: id(1),
                state: NumberState::RetryWait,
                attempts: k,
                outcome: Some(Outcome::Busy),
                next_at_ms: Some(t + 5 * MIN),
                result: None,
            }
        );
        // Not a millisecond early.
        assert_eq!(dial(&mut c, t + 5 * MIN - 1), None);
        assert_eq!(c.next_deadline(t, monday_10()), Some(t + 5 * MIN));
        t += 5 * MIN;
    }
    // The fourth busy has no retry left.
    let d = dial(&mut c, t).unwrap();
    assert_eq!(d.attempt, 4);
    let ch = c.result(d.number_id, Outcome::Busy, t).unwrap();
    assert_eq!((ch.state, ch.attempts, ch.result, ch.next_at_ms), (NumberState::Done, 4, Some(CallResult::Busy), None));
    assert!(c.is_finished());
    assert_eq!(c.next_deadline(t, monday_10()), None);
}

#[test]
fn every_result_has_its_own_rule_and_the_defaults() {
    // Default rules: (result, delay, retries).
    let defaults = [
        (Outcome::Busy, 5 * MIN, 3),
        (Outcome::NoAnswer, 30 * MIN, 2),
        (Outcome::Fax, 0, 0),
        (Outcome::Failed(FailReason::NoDialTone), 2 * MIN, 3),
        (Outcome::Failed(FailReason::Congestion), 2 * MIN, 3),
        (Outcome::Failed(FailReason::NoFreeLine), 2 * MIN, 3),
        (Outcome::Abandoned, 10 * MIN, 2),
    ];
    for (outcome, after, max) in defaults {
        let mut c = campaign(1);
        let mut t = 0;
        for k in 1..=max {
            let ch = dial_and(&mut c, t, outcome);
            assert_eq!(
                (ch.state, ch.attempts, ch.next_at_ms),
                (NumberState::RetryWait, k, Some(t + after)),
                "{outcome:?}"
            );
            t += after;
        }
        let ch = dial_and(&mut c, t, outcome);
        assert_eq!(
            (ch.state, ch.attempts, ch.result),
            (NumberState::Done, max + 1, Some(outcome.result())),
            "{outcome:?}"
        );
        assert!(c.is_finished());
    }
    // A fax can be retried when configured.
    let mut s = spec();
    s.retry.fax = Retry { after_ms: MIN, max: 1 };
    let mut c = Campaign::new(s, entries(1));
    assert_eq!(dial_and(&mut c, 0, Outcome::Fax).state, NumberState::RetryWait);
    assert_eq!(dial_and(&mut c, MIN, Outcome::Fax).result, Some(CallResult::Fax));
}

#[test]
fn retries_are_counted_per_result() {
    let mut s = spec();
    s.retry.busy = Retry { after_ms: MIN, max: 1 };
    s.retry.no_answer = Retry { after_ms: 2 * MIN, max: 1 };
    let mut c = Campaign::new(s, entries(1));
    // busy (1 of 1 retry), no answer (1 of 1), busy again: no busy retry left.
    assert_eq!(dial_and(&mut c, 0, Outcome::Busy).next_at_ms, Some(MIN));
    assert_eq!(dial_and(&mut c, MIN, Outcome::NoAnswer).next_at_ms, Some(3 * MIN));
    let ch = dial_and(&mut c, 3 * MIN, Outcome::Busy);
    assert_eq!((ch.state, ch.attempts, ch.result), (NumberState::Done, 3, Some(CallResult::Busy)));
    let n = c.number(id(1)).unwrap();
    assert_eq!((n.tries.busy, n.tries.no_answer, n.tries.total()), (2, 1, 3));
}

#[test]
fn answered_ends_a_number_and_abandoned_is_retried() {
    let mut c = campaign(2);
    let ch = dial_and(&mut c, 0, Outcome::Answered);
    assert_eq!(
        (ch.number_id, ch.state, ch.result, ch.attempts),
        (id(1), NumberState::Done, Some(CallResult::Answered), 1)
    );
    let ch = dial_and(&mut c, 0, Outcome::Abandoned);
    assert_eq!((ch.number_id, ch.state, ch.next_at_ms), (id(2), NumberState::RetryWait, Some(10 * MIN)));
    let ch = dial_and(&mut c, 10 * MIN, Outcome::Answered);
    assert_eq!((ch.result, ch.attempts), (Some(CallResult::Answered), 2));
    let s = c.summary();
    assert_eq!((s.numbers, s.done, s.attempts, s.results.answered, s.finished), (2, 2, 3, 2, true));
}

#[test]
fn progressive_pacing_dials_one_number_per_ready_agent() {
    let mut c = campaign(10);
    let mut s = spec();
    s.max_lines = 8;
    c.reconfigure(s);
    // No ready agent, no free line: nothing.
    assert_eq!(c.next_dial(0, monday_10(), 4, 0, 0), None);
    assert_eq!(c.next_dial(0, monday_10(), 0, 3, 0), None);
    // Two ready agents: two dials, then the third waits.
    assert_eq!(c.next_dial(0, monday_10(), 4, 2, 0).unwrap().number_id, id(1));
    assert_eq!(c.next_dial(0, monday_10(), 4, 2, 1).unwrap().number_id, id(2));
    assert_eq!(c.next_dial(0, monday_10(), 4, 2, 2), None);
    // The campaign counts its own dials even when the core says fewer.
    assert_eq!(c.next_dial(0, monday_10(), 4, 2, 0), None);
    // The core's count counts when it is larger.
    c.result(id(1), Outcome::Busy, 0).unwrap();
    assert_eq!(c.next_dial(0, monday_10(), 4, 2, 2), None);
    assert_eq!(c.next_dial(0, monday_10(), 4, 2, 1).unwrap().number_id, id(3));
    assert_eq!(c.summary().dialing, 2);
}

#[test]
fn the_ratio_and_max_lines_bound_the_dials() {
    let mut s = spec();
    s.ratio = 1.5;
    s.max_lines = 4;
    assert_eq!([0, 1, 2, 3, 4].map(|r| s.dial_limit(r)), [0, 1, 3, 4, 4]);
    s.ratio = 2.0;
    s.max_lines = 100;
    assert_eq!([0, 1, 3].map(|r| s.dial_limit(r)), [0, 2, 6]);
    s.ratio = 1.1;
    // 10 × 1.1 is 11 despite the float.
    assert_eq!(s.dial_limit(10), 11);
    s.ratio = 1.5;
    s.max_lines = 4;
    let mut c = Campaign::new(s, entries(10));
    let mut got = 0;
    while c.next_dial(0, monday_10(), 10, 3, 0).is_some() {
        got += 1;
    }
    assert_eq!(got, 4, "3 agents × 1.5 = 4.5, max_lines 4");
    let mut s = spec();
    s.ratio = 1.5;
    s.max_lines = 10;
    let mut c = Campaign::new(s, entries(10));
    let mut got = 0;
    while c.next_dial(0, monday_10(), 10, 3, 0).is_some() {
        got += 1;
    }
    assert_eq!(got, 4, "⌊3 × 1.5⌋");
    // Fewer free lines than that: one dial per call of next_dial as long
    // as one is free.
    let mut c = campaign(3);
    assert!(c.next_dial(0, monday_10(), 1, 1, 0).is_some());
}

#[test]
fn due_retries_go_before_numbers_never_dialled() {
    let mut c = campaign(4);
    let mut s = spec();
    s.max_lines = 4;
    s.retry.busy = Retry { after_ms: MIN, max: 3 };
    s.retry.no_answer = Retry { after_ms: 2 * MIN, max: 3 };
    c.reconfigure(s);
    assert_eq!(dial_and(&mut c, 0, Outcome::NoAnswer).number_id, id(1)); // due 2 min
    assert_eq!(dial_and(&mut c, 0, Outcome::Busy).number_id, id(2)); // due 1 min
    assert_eq!(dial(&mut c, 30_000).unwrap().number_id, id(3));
    c.result(id(3), Outcome::Answered, 30_000).unwrap();
    // At 3 min both retries are due: the earlier (2) first, then 1, then 4.
    let order: Vec<i64> = (0..3)
        .map(|_| {
            let d = c.next_dial(3 * MIN, monday_10(), 4, 4, 0).unwrap();
            d.number_id.0
        })
        .collect();
    assert_eq!(order, [2, 1, 4]);
    assert_eq!(c.number(id(1)).unwrap().state, NumberState::Dialing);
}

#[test]
fn calling_hours_across_days_and_midnight() {
    let office = CallingHours { days: [true, true, true, true, true, false, false], from_min: 540, to_min: 1080 };
    assert!(!office.is_open(DayTime::at(0, 8, 59)));
    assert!(office.is_open(DayTime::at(0, 9, 0)));
    assert!(office.is_open(DayTime::at(4, 17, 59)));
    assert!(!office.is_open(DayTime::at(4, 18, 0)));
    assert!(!office.is_open(DayTime::at(5, 10, 0)));
    // Friday 18:00 → Monday 09:00 is 2 days 15 hours.
    assert_eq!(office.ms_until_open(DayTime::at(4, 18, 0)), Some((2 * 24 + 15) * 60 * MIN));
    assert_eq!(office.ms_until_open(DayTime::at(0, 8, 59)), Some(MIN));
    assert_eq!(
        office.ms_until_open(DayTime { weekday: 0, ms_of_day: 8 * 3_600_000 + 59 * 60_000 + 30_000 }),
        Some(30_000)
    );
    assert_eq!(office.ms_until_open(DayTime::at(2, 12, 0)), Some(0));
    // Tuesday 20:00 → Wednesday 09:00.
    assert_eq!(office.ms_until_open(DayTime::at(1, 20, 0)), Some(13 * 60 * MIN));
    // 22:00-02:00 on Fridays: Saturday 01:59 is still Friday's window.
    let late = CallingHours { days: [false, false, false, false, true, false, false], from_min: 1320, to_min: 120 };
    assert!(late.is_open(DayTime::at(4, 22, 0)));
    assert!(late.is_open(DayTime::at(5, 1, 59)));
    assert!(!late.is_open(DayTime::at(5, 2, 0)));
    assert!(!late.is_open(DayTime::at(4, 1, 0)));
    assert!(!late.is_open(DayTime::at(5, 22, 0)));
    // Saturday 02:00 → next Friday 22:00.
    assert_eq!(late.ms_until_open(DayTime::at(5, 2, 0)), Some((6 * 24 + 20) * 60 * MIN));
    let never = CallingHours { days: [false; 7], from_min: 540, to_min: 1080 };
    assert_eq!(never.ms_until_open(DayTime::at(0, 10, 0)), None);
    // Until 24:00.
    let evening = CallingHours { days: [true; 7], from_min: 1200, to_min: 1440 };
    assert!(evening.is_open(DayTime { weekday: 6, ms_of_day: (DAY_MS - 1) as u32 }));
}

#[test]
fn outside_the_hours_nothing_is_dialled_until_they_open() {
    let mut s = spec();
    s.hours = Some(CallingHours { days: [true; 7], from_min: 540, to_min: 1080 });
    let mut c = Campaign::new(s, entries(2));
    let early = DayTime::at(3, 8, 30);
    assert_eq!(c.next_dial(1_000, early, 1, 1, 0), None);
    assert_eq!(c.next_deadline(1_000, early), Some(1_000 + 30 * MIN));
    assert!(c.next_dial(1_000 + 30 * MIN, DayTime::at(3, 9, 0), 1, 1, 0).is_some());
    // A retry falling due after 18:00 waits for the next morning.
    c.result(id(1), Outcome::Busy, 0).unwrap();
    let evening = DayTime::at(3, 18, 30);
    assert_eq!(c.next_dial(10 * MIN, evening, 1, 1, 0), None);
    assert_eq!(c.next_deadline(10 * MIN, evening), Some(10 * MIN + (14 * 60 + 30) * MIN));
}

#[test]
fn next_deadline_is_the_next_retry_or_nothing() {
    let mut s = spec();
    s.max_lines = 3;
    s.retry.busy = Retry { after_ms: MIN, max: 3 };
    s.retry.no_answer = Retry { after_ms: 5 * MIN, max: 3 };
    let mut c = Campaign::new(s, entries(3));
    // Pending numbers wait for agents and lines, not time.
    assert_eq!(c.next_deadline(0, monday_10()), None);
    dial_and(&mut c, 0, Outcome::NoAnswer);
    dial_and(&mut c, 0, Outcome::Busy);
    dial_and(&mut c, 0, Outcome::Answered);
    assert_eq!(c.next_deadline(0, monday_10()), Some(MIN));
    // Due now, but the agent is busy: no deadline, the next one later.
    assert_eq!(c.next_deadline(MIN, monday_10()), Some(5 * MIN));
    assert_eq!(c.next_deadline(5 * MIN, monday_10()), None);
    c.pause();
    assert_eq!(c.next_deadline(0, monday_10()), None);
    assert_eq!(c.next_dial(5 * MIN, monday_10(), 1, 1, 0), None);
    c.resume();
    assert_eq!(c.next_dial(5 * MIN, monday_10(), 1, 1, 0).unwrap().number_id, id(2));
}

#[test]
fn do_not_call_numbers_are_never_dialled() {
    let mut list = entries(5);
    list[1].dnc = true; // 2: on the list at start
    list[3].state = NumberState::RetryWait; // 4: on the list and waiting
    list[3].attempts = 1;
    list[3].tries.busy = 1;
    list[3].dnc = true;
    let mut c = Campaign::new(spec(), list);
    let changes = c.take_changes();
    let got: Vec<(CampaignNumberId, NumberState, Option<CallResult>, u32)> =
        changes.iter().map(|ch| (ch.number_id, ch.state, ch.result, ch.attempts)).collect();
    assert_eq!(
        got,
        [(id(2), NumberState::Done, Some(CallResult::Dnc), 0), (id(4), NumberState::Done, Some(CallResult::Dnc), 1)]
    );
    assert!(changes.iter().all(|ch| ch.outcome.is_none()));
    // 1 is being dialled when it goes on the list; 3 is waiting for a
    // retry; 5 is pending.
    assert_eq!(dial_and(&mut c, 0, Outcome::Busy).number_id, id(1));
    assert_eq!(dial(&mut c, 0).unwrap().number_id, id(3));
    assert_eq!(c.do_not_call("+86 138 0013 8001"), 1);
    assert_eq!(c.do_not_call("13800138003"), 1);
    assert_eq!(c.do_not_call("13800138005"), 1);
    assert_eq!(c.do_not_call("13800138002"), 0, "already done");
    let got: Vec<CampaignNumberId> = c.take_changes().iter().map(|ch| ch.number_id).collect();
    assert_eq!(got, [id(1), id(5)]);
    // 3's call ends busy: no retry, done as dnc.
    let ch = c.result(id(3), Outcome::Busy, 0).unwrap();
    assert_eq!(
        (ch.state, ch.result, ch.attempts, ch.outcome),
        (NumberState::Done, Some(CallResult::Dnc), 1, Some(Outcome::Busy))
    );
    assert!(c.is_finished());
    assert_eq!(c.summary().results.dnc, 5);
    assert_eq!(dial(&mut c, DAY_MS), None);
}

#[test]
fn a_number_found_on_the_list_at_dial_time_and_an_answer_during_the_listing() {
    let mut c = campaign(2);
    let d = dial(&mut c, 0).unwrap();
    let ch = c.result(d.number_id, Outcome::Dnc, 0).unwrap();
    assert_eq!((ch.state, ch.result, ch.attempts), (NumberState::Done, Some(CallResult::Dnc), 0));
    // An answered call stays answered even if the number went on the list
    // meanwhile.
    let d = dial(&mut c, 0).unwrap();
    c.do_not_call("13800138002");
    assert_eq!(c.result(d.number_id, Outcome::Answered, 0).unwrap().result, Some(CallResult::Answered));
}

#[test]
fn finish_detection_and_summary() {
    assert!(Campaign::new(spec(), Vec::new()).is_finished());
    let mut c = campaign(3);
    assert!(!c.is_finished());
    dial_and(&mut c, 0, Outcome::Answered);
    dial_and(&mut c, 0, Outcome::Busy);
    let d = dial(&mut c, 0).unwrap();
    let s = c.summary();
    assert_eq!(
        s,
        CampaignSummary {
            numbers: 3,
            pending: 0,
            dialing: 1,
            retry_wait: 1,
            done: 1,
            attempts: 2,
            results: ResultCounts { answered: 1, ..ResultCounts::default() },
            paused: false,
            finished: false,
        }
    );
    c.result(d.number_id, Outcome::Fax, 0).unwrap();
    assert!(!c.is_finished(), "2 waits for its retry");
    for _ in 0..3 {
        let t = c.number(id(2)).unwrap().next_at_ms;
        dial_and(&mut c, t, Outcome::Busy);
    }
    assert!(c.is_finished());
    let s = c.summary();
    assert_eq!(
        (s.done, s.attempts, s.results.answered, s.results.busy, s.results.fax, s.finished),
        (3, 6, 1, 1, 1, true)
    );
}

#[test]
fn results_the_campaign_cannot_take_are_refused() {
    let mut c = campaign(2);
    assert_eq!(
        c.result(id(9), Outcome::Busy, 0),
        Err(CampaignError::NoNumber { campaign: "spring".into(), id: id(9) })
    );
    let e = c.result(id(1), Outcome::Busy, 0).unwrap_err();
    assert_eq!(e.to_string(), "campaign `spring`: number 1 is pending, not being dialled");
    dial_and(&mut c, 0, Outcome::Answered);
    assert!(matches!(
        c.result(id(1), Outcome::Answered, 0),
        Err(CampaignError::NotDialing { state: NumberState::Done, .. })
    ));
    assert_eq!(c.summary().dialing, 0);
}

#[test]
fn a_restart_takes_the_numbers_as_the_records_hold_them() {
    let now = Stamp { board_ms: 2_000, wall_ms: 1_700_000_000_000 };
    let record = |id: i64, state: NumberState, next_at: Option<i64>| CampaignNumberRecord {
        id: CampaignNumberId(id),
        campaign: "spring".into(),
        position: id,
        number: format!("138 0013 80{id:02}"),
        digits: format!("138001380{id:02}"),
        customer: (id == 1).then_some(CustomerId(77)),
        state,
        attempts: u32::from(state != NumberState::Pending),
        tries: ResultCounts { busy: u32::from(state != NumberState::Pending), ..ResultCounts::default() },
        next_at_wall_ms: next_at,
        result: None,
        last_call: None,
        on_dnc: false,
        added_wall_ms: 0,
        updated_wall_ms: 0,
    };
    let records = [
        record(1, NumberState::Pending, None),
        record(2, NumberState::RetryWait, Some(now.wall_ms + 90_000)),
        record(3, NumberState::RetryWait, Some(now.wall_ms - 90_000)),
        record(4, NumberState::Dialing, None),
    ];
    let list: Vec<NumberEntry> = records.iter().map(|r| NumberEntry::from_record(r, now)).collect();
    assert_eq!(list[0].customer, Some(CustomerId(77)));
    assert_eq!(list[0].number, "13800138001");
    assert_eq!(list[1].next_at_ms, 92_000);
    assert_eq!(list[2].next_at_ms, 2_000, "past: due at once");
    let mut s = spec();
    s.max_lines = 4;
    let mut c = Campaign::new(s, list);
    // The call cut by the stop is due again at once, attempts unchanged.
    let changes = c.take_changes();
    assert_eq!(
        changes,
        [NumberChange {
            number_id: id(4),
            state: NumberState::RetryWait,
            attempts: 1,
            outcome: None,
            next_at_ms: Some(0),
            result: None,
        }]
    );
    let order: Vec<(i64, u32)> = std::iter::from_fn(|| c.next_dial(now.board_ms as u64, monday_10(), 4, 4, 0))
        .map(|d| (d.number_id.0, d.attempt))
        .collect();
    assert_eq!(order, [(4, 2), (3, 2), (1, 1)]);
    assert_eq!(c.next_deadline(2_000, monday_10()), Some(92_000));
    // Numbers imported while it runs join the end; known ids are left out.
    c.add_numbers(vec![NumberEntry::pending(id(1), "1"), NumberEntry::pending(id(9), "13800138009")]);
    assert_eq!(c.summary().numbers, 5);
    assert_eq!(c.number(id(1)).unwrap().number, "13800138001");
}

#[test]
fn changes_become_journal_operations() {
    let at = Stamp { board_ms: 10_000, wall_ms: 1_700_000_010_000 };
    let started = Stamp { board_ms: 4_000, wall_ms: 1_700_000_004_000 };
    let mut c = campaign(2);
    let ch = dial_and(&mut c, 10_000, Outcome::Failed(FailReason::Congestion));
    let dialled = AttemptCall { call: Some(CallId(5)), started, ended: Some(at) };
    assert_eq!(
        ch.journal_op(Some(&dialled), at),
        JournalOp::CampaignNumber {
            number: id(1),
            state: NumberState::RetryWait,
            attempts: 1,
            next_at_wall_ms: Some(1_700_000_010_000 + 2 * MIN as i64),
            result: None,
            attempt: Some(AttemptWrite {
                call: Some(CallId(5)),
                result: CallResult::Failed,
                detail: "congestion".into(),
                started,
                ended: Some(at),
            }),
            at,
        }
    );
    // No call could start: the attempt has none.
    let ch = dial_and(&mut c, 10_000, Outcome::Failed(FailReason::NoFreeLine));
    match ch.journal_op(None, at) {
        JournalOp::CampaignNumber { attempt: Some(a), .. } => {
            assert_eq!((a.call, a.detail.as_str(), a.started, a.ended), (None, "no_free_line", at, Some(at)));
        }
        other => panic!("{other:?}"),
    }
    // A do-not-call change has no attempt.
    c.do_not_call("13800138001");
    let ch = c.take_changes()[0];
    match ch.journal_op(Some(&dialled), at) {
        JournalOp::CampaignNumber { attempt: None, result: Some(CallResult::Dnc), next_at_wall_ms: None, .. } => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn day_time_from_a_local_date_and_time() {
    let t = chrono::NaiveDate::from_ymd_opt(2026, 3, 6).unwrap().and_hms_milli_opt(17, 45, 30, 250).unwrap();
    // 2026-03-06 is a Friday.
    assert_eq!(DayTime::from_datetime(&t), DayTime { weekday: 4, ms_of_day: ((17 * 60 + 45) * 60 + 30) * 1000 + 250 });
}

// --- a seeded run of 50 numbers against scripted parties ----------------------

/// splitmix64: the run's only source of chance.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const OUTCOMES: [Outcome; 7] = [
    Outcome::Answered,
    Outcome::Busy,
    Outcome::NoAnswer,
    Outcome::Fax,
    Outcome::Failed(FailReason::NoDialTone),
    Outcome::Failed(FailReason::Congestion),
    Outcome::Abandoned,
];

/// busy 1 min ×2, no answer 2 min ×1, fax never, failed 30 s ×3, abandoned
/// 90 s ×1: a number ends by its 8th attempt at the latest (2+1+0+3+1
/// results can each be retried).
fn run_policy() -> RetryPolicy {
    RetryPolicy {
        busy: Retry { after_ms: MIN, max: 2 },
        no_answer: Retry { after_ms: 2 * MIN, max: 1 },
        fax: Retry { after_ms: MIN, max: 0 },
        failed: Retry { after_ms: 30_000, max: 3 },
        abandoned: Retry { after_ms: 90_000, max: 1 },
    }
}

/// What a script comes to under `run_policy`, worked by hand for the first
/// numbers and by the rule for the others: (final result, attempts).
fn expected(script: &[Outcome]) -> (CallResult, u32) {
    let policy = run_policy();
    let mut seen = ResultCounts::default();
    for (k, o) in script.iter().enumerate() {
        let r = o.result();
        if r == CallResult::Answered {
            return (r, k as u32 + 1);
        }
        seen.add(r, 1);
        if seen.get(r) > policy.rule(r).map_or(0, |rule| rule.max) {
            return (r, k as u32 + 1);
        }
    }
    panic!("script {script:?} does not end");
}

#[test]
fn fifty_numbers_against_scripted_parties_end_as_worked_out() {
    use Outcome::*;
    let mut rng = Rng(0x5EED_CA11);
    // Scripts: what the party does at each successive attempt.
    let nd = Failed(FailReason::NoDialTone);
    let mut scripts: Vec<Vec<Outcome>> = vec![
        vec![Answered],
        vec![Busy, Busy, Busy, Answered],      // third busy: no retry left
        vec![Busy, NoAnswer, Busy, Answered],  // per-result counts
        vec![Fax, Answered],                   // fax: not retried
        vec![nd, nd, nd, Abandoned, Answered], // 3 failed retries, 1 abandoned retry
        vec![NoAnswer, Abandoned, NoAnswer, Answered],
        vec![nd, Busy, Failed(FailReason::Congestion), nd, nd, Answered], // the fourth failure ends it
        vec![Abandoned, Busy, Abandoned, Answered],
    ];
    // Worked by hand from the rules above.
    let by_hand = [
        (CallResult::Answered, 1),
        (CallResult::Busy, 3),
        (CallResult::Answered, 4),
        (CallResult::Fax, 1),
        (CallResult::Answered, 5),
        (CallResult::NoAnswer, 3),
        (CallResult::Failed, 5),
        (CallResult::Abandoned, 3),
    ];
    for (script, want) in scripts.iter().zip(by_hand) {
        assert_eq!(expected(script), want, "{script:?}");
    }
    while scripts.len() < 50 {
        scripts.push((0..8).map(|_| OUTCOMES[rng.below(7) as usize]).collect());
    }
    // 7, 21 and 40 are on the do-not-call list at start; 33 goes on it
    // before the hours open.
    let mut list = entries(50);
    for n in [7, 21, 40] {
        list[n - 1].dnc = true;
    }
    let mut s = spec();
    s.max_lines = 3;
    s.retry = run_policy();
    s.hours = Some(CallingHours { days: [true, true, true, true, true, false, false], from_min: 540, to_min: 1080 });
    let mut c = Campaign::new(s.clone(), list);
    assert_eq!(c.take_changes().len(), 3);
    // Board time 0 is Monday 08:59:00.
    let local = |t: u64| {
        let ms = 8 * 3_600_000 + 59 * MIN + t;
        DayTime { weekday: (ms / DAY_MS) as u8 % 7, ms_of_day: (ms % DAY_MS) as u32 }
    };
    assert_eq!(c.do_not_call("138 0013 8033"), 1);

    const AGENTS: usize = 3;
    const LINES: usize = 4;
    // Calls out: (due, number); agents talking: busy until.
    let mut out: Vec<(u64, CampaignNumberId)> = Vec::new();
    let mut talking: Vec<u64> = Vec::new();
    let mut next_attempt = vec![0usize; 51];
    // Per number: every dial time, and when it may be dialled again.
    let mut dials: Vec<Vec<u64>> = vec![Vec::new(); 51];
    let mut not_before = vec![0u64; 51];
    let mut t = 0u64;
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps < 100_000, "the run does not end");
        // Results due now.
        talking.retain(|&until| until > t);
        let (due, later): (Vec<_>, Vec<_>) = out.iter().partition(|(at, _)| *at <= t);
        out = later;
        for (_, nid) in due {
            let n = nid.0 as usize;
            let outcome = scripts[n - 1][next_attempt[n]];
            next_attempt[n] += 1;
            let ch = c.result(nid, outcome, t).unwrap();
            if outcome == Answered {
                talking.push(t + 10_000 + rng.below(110_000));
            }
            not_before[n] = ch.next_at_ms.unwrap_or(u64::MAX);
            if let Some(at) = ch.next_at_ms {
                let rule = run_policy().rule(outcome.result()).unwrap();
                assert_eq!(at, t + rule.after_ms);
            }
        }
        // Dial what may be dialled.
        loop {
            let ready = AGENTS - talking.len();
            let free = LINES - out.len() - talking.len();
            let Some(d) = c.next_dial(t, local(t), free, ready, out.len()) else {
                // Nothing dialled although it could be: nothing is due.
                let open = s.hours.unwrap().is_open(local(t));
                if open && free > 0 && out.len() < s.dial_limit(ready) {
                    for n in 1..=50 {
                        let e = c.number(id(n)).unwrap();
                        let due = match e.state {
                            NumberState::Pending => true,
                            NumberState::RetryWait => e.next_at_ms <= t,
                            _ => false,
                        };
                        assert!(!due, "number {n} is due at {t} but was not dialled");
                    }
                }
                break;
            };
            let n = d.number_id.0 as usize;
            assert!(s.hours.unwrap().is_open(local(t)), "dialled at {t} outside the hours");
            assert!(out.len() < s.dial_limit(ready), "pacing exceeded at {t}");
            assert!(t >= not_before[n], "number {n} dialled at {t}, before its retry at {}", not_before[n]);
            assert_eq!(d.attempt as usize, dials[n].len() + 1);
            dials[n].push(t);
            not_before[n] = u64::MAX;
            out.push((t + 3_000 + rng.below(37_000), d.number_id));
        }
        if c.is_finished() {
            break;
        }
        // Next moment something happens.
        let next = out
            .iter()
            .map(|(at, _)| *at)
            .chain(talking.iter().copied())
            .chain(c.next_deadline(t, local(t)))
            .min()
            .expect("not finished, yet nothing will happen");
        assert!(next > t);
        t = next;
    }
    assert!(dials.iter().flatten().all(|&at| at >= MIN), "nothing before 09:00");
    let mut want = ResultCounts::default();
    let mut want_attempts = 0;
    for n in 1..=50usize {
        let e = c.number(id(n as i64)).unwrap();
        let (result, attempts) =
            if [7, 21, 33, 40].contains(&n) { (CallResult::Dnc, 0) } else { expected(&scripts[n - 1]) };
        assert_eq!((e.state, e.result, e.attempts), (NumberState::Done, Some(result), attempts), "number {n}");
        assert_eq!(dials[n].len() as u32, attempts, "number {n}: dials");
        want.add(result, 1);
        want_attempts += attempts;
    }
    let summary = c.summary();
    assert_eq!((summary.done, summary.attempts, summary.results), (50, want_attempts, want));
    // The scripts exercise every result.
    for r in CallResult::ALL {
        assert!(want.get(r) > 0, "no number ended {r}: {want:?}");
    }
}

#[test]
fn a_skipped_number_comes_back_later_without_an_attempt() {
    let mut c = campaign(2);
    let d = dial(&mut c, 1_000).expect("number 1");
    assert_eq!(d.number_id, id(1));
    let ch = c.skip(id(1), 1_000, 5 * MIN).unwrap();
    assert_eq!(
        ch,
        NumberChange {
            number_id: id(1),
            state: NumberState::RetryWait,
            attempts: 0,
            outcome: None,
            next_at_ms: Some(1_000 + 5 * MIN),
            result: None,
        }
    );
    // The line is free again: the next number goes first, then number 1
    // when its time comes, still as its first attempt.
    assert_eq!(dial(&mut c, 2_000).map(|d| d.number_id), Some(id(2)));
    c.result(id(2), Outcome::Answered, 2_000).unwrap();
    assert_eq!(dial(&mut c, 1_000 + 5 * MIN - 1), None);
    let again = dial(&mut c, 1_000 + 5 * MIN).expect("number 1 again");
    assert_eq!((again.number_id, again.attempt), (id(1), 1));
    // Only a number being dialled can be skipped.
    assert_eq!(
        c.skip(id(2), 0, MIN),
        Err(CampaignError::NotDialing { campaign: "spring".into(), id: id(2), state: NumberState::Done })
    );
    assert!(matches!(c.skip(id(9), 0, MIN), Err(CampaignError::NoNumber { .. })));
}

#[test]
fn a_number_skipped_after_it_went_on_the_do_not_call_list_is_done_dnc() {
    let mut c = campaign(1);
    dial(&mut c, 0).expect("number 1");
    assert_eq!(c.do_not_call("13800138001"), 1);
    let ch = c.skip(id(1), 0, MIN).unwrap();
    assert_eq!((ch.state, ch.result, ch.outcome), (NumberState::Done, Some(CallResult::Dnc), None));
    assert!(c.take_changes().is_empty(), "the change is the skip's own, not queued twice");
    assert!(c.is_finished());
}
