//! Progressive outbound campaigns: which number to dial next, and what a
//! call's result does to the number.
//!
//! Pure: no I/O, no clock. Board time (ms) and the local day and time of
//! day ([`DayTime`]) come in with every call; changes to numbers go out as
//! [`NumberChange`]s for the core to journal (`records/campaign.rs` stores
//! them).
//!
//! # Pacing
//!
//! The core asks [`Campaign::next_dial`] whenever something may allow a
//! dial (an agent of the campaign's queue became ready, a line or a dial
//! finished, a [`Campaign::next_deadline`] passed), and again after each
//! dial it gets. A number is dialled when the campaign runs (not paused),
//! the local time is inside its calling hours, a trunk line is free, and
//! fewer calls are being dialled than `min(max_lines, ⌊ready agents ×
//! ratio⌋)`: with the default ratio 1 that is one dial per ready agent
//! (progressive dialling: an answered party always finds an agent unless
//! the agent left meanwhile).
//!
//! Retries that are due go first, the earliest first; then numbers never
//! dialled, in import order.
//!
//! # Results and retries
//!
//! [`Campaign::result`] takes what a dial came to ([`Outcome`]). Answered:
//! the number is done. Busy, no answer, fax, failed and abandoned (answered
//! while no agent was free) each have a retry rule ([`Retry`]): the number
//! is dialled again `after_ms` later, at most `max` times for that result
//! (the count is per result: a number that was busy twice and unanswered
//! once has used two busy retries and one no-answer retry); after that it
//! is done with that result. A number on the do-not-call list is never
//! dialled: it is done with result `dnc` when the campaign starts, when
//! the list gains it ([`Campaign::do_not_call`]), or — if its call is out —
//! when the call's result comes in (unless the party answered).
//!
//! # Restart
//!
//! [`Campaign::new`] takes the numbers as the records hold them
//! ([`NumberEntry::from_record`]). A number left `dialing` by a daemon that
//! stopped is due again at once, its attempts unchanged (the call was cut
//! before a result); this and do-not-call numbers are changes in
//! [`Campaign::take_changes`].
//!
//! Not done here: predictive pacing from answer rates and handle times
//! (the ratio is fixed), time zones per number (calling hours are the
//! box's local time), agents reserved for a campaign (the queue's ready
//! agents are counted as they are).

use std::collections::{BTreeSet, HashMap};

use crate::records::campaign::{AttemptWrite, CampaignNumberRecord};
pub use crate::records::campaign::{CallResult, CampaignNumberId, NumberState, ResultCounts};
use crate::records::customers::CustomerId;
use crate::records::{CallId, JournalOp, Stamp, phone};

mod spec;
pub use spec::{CallingHours, CampaignSpec, DAY_MS, DayTime, DialMode, Retry, RetryPolicy};

/// Why a dial failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailReason {
    /// No dial tone after seizing the line.
    NoDialTone,
    /// Congestion (reorder) tone.
    Congestion,
    /// A special information tone (number not in service…).
    Sit,
    /// No line of the trunk was free when the core tried.
    NoFreeLine,
    /// Something else went wrong (the line failed, the core could not
    /// start the call).
    Error,
    /// The agent of a preview call hung up before the party answered.
    Cancelled,
}

impl FailReason {
    /// The text stored as the attempt's detail.
    pub fn name(self) -> &'static str {
        match self {
            FailReason::NoDialTone => "no_dial_tone",
            FailReason::Congestion => "congestion",
            FailReason::Sit => "sit",
            FailReason::NoFreeLine => "no_free_line",
            FailReason::Error => "error",
            FailReason::Cancelled => "cancelled",
        }
    }
}

/// What a dial came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A person answered and was given to an agent.
    Answered,
    Busy,
    /// Rang out the ring timeout.
    NoAnswer,
    /// A fax machine or modem answered.
    Fax,
    Failed(FailReason),
    /// A person answered while no agent was free (the core played a short
    /// message and hung up).
    Abandoned,
    /// Not dialled after all: the number is on the do-not-call list.
    Dnc,
}

impl Outcome {
    /// The result it is recorded as.
    pub fn result(self) -> CallResult {
        match self {
            Outcome::Answered => CallResult::Answered,
            Outcome::Busy => CallResult::Busy,
            Outcome::NoAnswer => CallResult::NoAnswer,
            Outcome::Fax => CallResult::Fax,
            Outcome::Failed(_) => CallResult::Failed,
            Outcome::Abandoned => CallResult::Abandoned,
            Outcome::Dnc => CallResult::Dnc,
        }
    }

    /// More about the result, for the attempt's record.
    pub fn detail(self) -> &'static str {
        match self {
            Outcome::Failed(why) => why.name(),
            _ => "",
        }
    }

    /// Whether a call was attempted (everything but [`Outcome::Dnc`]).
    pub fn is_attempt(self) -> bool {
        self != Outcome::Dnc
    }
}

/// A number as the campaign starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberEntry {
    pub id: CampaignNumberId,
    /// What is dialled (digits, maybe a leading `+`).
    pub number: String,
    pub customer: Option<CustomerId>,
    pub state: NumberState,
    /// Attempts made.
    pub attempts: u32,
    /// Results of the attempts so far, per result.
    pub tries: ResultCounts,
    /// `retry_wait`: board time it is due.
    pub next_at_ms: u64,
    /// The final result once done.
    pub result: Option<CallResult>,
    /// On the do-not-call list.
    pub dnc: bool,
}

impl NumberEntry {
    /// A number never dialled.
    pub fn pending(id: CampaignNumberId, number: &str) -> NumberEntry {
        NumberEntry {
            id,
            number: number.to_string(),
            customer: None,
            state: NumberState::Pending,
            attempts: 0,
            tries: ResultCounts::default(),
            next_at_ms: 0,
            result: None,
            dnc: false,
        }
    }

    /// From the records (`RecordsReader::campaign_numbers`), with `now` in
    /// both clocks to turn the stored wall time of a retry into board time
    /// (a retry whose time passed is due at once).
    pub fn from_record(r: &CampaignNumberRecord, now: Stamp) -> NumberEntry {
        let board_now = u64::try_from(now.board_ms).unwrap_or(0);
        let next_at_ms = match r.next_at_wall_ms {
            Some(wall) => board_now + u64::try_from(wall - now.wall_ms).unwrap_or(0),
            None => 0,
        };
        NumberEntry {
            id: r.id,
            number: r.digits.clone(),
            customer: r.customer,
            state: r.state,
            attempts: r.attempts,
            tries: r.tries,
            next_at_ms,
            result: r.result,
            dnc: r.on_dnc,
        }
    }
}

/// A number to dial now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    pub number_id: CampaignNumberId,
    /// What to dial (digits, maybe a leading `+`).
    pub number: String,
    pub customer: Option<CustomerId>,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// A number's new state, for the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberChange {
    pub number_id: CampaignNumberId,
    pub state: NumberState,
    /// Attempts made so far.
    pub attempts: u32,
    /// What the dial came to; `None` when no dial led to the change (a
    /// do-not-call entry, a restart).
    pub outcome: Option<Outcome>,
    /// `retry_wait`: board time it is due.
    pub next_at_ms: Option<u64>,
    /// The final result once done.
    pub result: Option<CallResult>,
}

/// The call behind an attempt, for [`NumberChange::journal_op`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCall {
    /// `None` when no call could be started.
    pub call: Option<CallId>,
    /// When dialling began.
    pub started: Stamp,
    /// When the call ended; `None` while it goes on (answered).
    pub ended: Option<Stamp>,
}

impl NumberChange {
    /// The retry time in wall ms, given `at` in both clocks.
    pub fn next_at_wall_ms(&self, at: Stamp) -> Option<i64> {
        self.next_at_ms.map(|t| at.wall_ms + (i64::try_from(t).unwrap_or(i64::MAX) - at.board_ms))
    }

    /// The journal operation that records the change at `at`; a change
    /// from a dial ([`Outcome::is_attempt`]) gets its attempt row, with the
    /// call from `dialled` (none given: no call, started and ended at
    /// `at`).
    pub fn journal_op(&self, dialled: Option<&AttemptCall>, at: Stamp) -> JournalOp {
        let attempt = self.outcome.filter(|o| o.is_attempt()).map(|o| {
            let d = dialled.copied().unwrap_or(AttemptCall { call: None, started: at, ended: Some(at) });
            AttemptWrite {
                call: d.call,
                result: o.result(),
                detail: o.detail().to_string(),
                started: d.started,
                ended: d.ended,
            }
        });
        JournalOp::CampaignNumber {
            number: self.number_id,
            state: self.state,
            attempts: self.attempts,
            next_at_wall_ms: self.next_at_wall_ms(at),
            result: self.result,
            attempt,
            at,
        }
    }
}

/// A campaign at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CampaignSummary {
    pub numbers: u32,
    pub pending: u32,
    pub dialing: u32,
    pub retry_wait: u32,
    pub done: u32,
    /// Attempts made, over every number.
    pub attempts: u32,
    /// Final results of the numbers that are done.
    pub results: ResultCounts,
    pub paused: bool,
    pub finished: bool,
}

/// A result the campaign cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CampaignError {
    #[error("campaign `{campaign}` has no number {id}")]
    NoNumber { campaign: String, id: CampaignNumberId },
    #[error("campaign `{campaign}`: number {id} is {state}, not being dialled")]
    NotDialing { campaign: String, id: CampaignNumberId, state: NumberState },
}

#[derive(Debug, Clone)]
struct Number {
    id: CampaignNumberId,
    number: String,
    /// Match key (records::phone), for do-not-call entries.
    key: String,
    customer: Option<CustomerId>,
    state: NumberState,
    attempts: u32,
    tries: ResultCounts,
    next_at: u64,
    result: Option<CallResult>,
    dnc: bool,
}

/// A running campaign. See the module doc.
#[derive(Debug, Clone)]
pub struct Campaign {
    spec: CampaignSpec,
    numbers: Vec<Number>,
    index: HashMap<CampaignNumberId, usize>,
    /// Numbers never dialled, by their place in `numbers` (import order).
    pending: BTreeSet<usize>,
    /// Numbers waiting for a retry, by (due time, place).
    waiting: BTreeSet<(u64, usize)>,
    /// Numbers being dialled.
    dialing: usize,
    paused: bool,
    changes: Vec<NumberChange>,
}

impl Campaign {
    /// A campaign over `numbers` (in dialling order, as the records give
    /// them; a repeated id is left out). Do-not-call numbers and numbers a
    /// stopped daemon left `dialing` change at once (see the module doc):
    /// [`Campaign::take_changes`].
    pub fn new(spec: CampaignSpec, numbers: Vec<NumberEntry>) -> Campaign {
        let mut c = Campaign {
            spec,
            numbers: Vec::with_capacity(numbers.len()),
            index: HashMap::with_capacity(numbers.len()),
            pending: BTreeSet::new(),
            waiting: BTreeSet::new(),
            dialing: 0,
            paused: false,
            changes: Vec::new(),
        };
        c.add_numbers(numbers);
        c
    }

    /// Adds numbers (imported while the campaign runs); ids it has are
    /// left out.
    pub fn add_numbers(&mut self, numbers: Vec<NumberEntry>) {
        for e in numbers {
            if self.index.contains_key(&e.id) {
                continue;
            }
            let ix = self.numbers.len();
            self.index.insert(e.id, ix);
            let mut n = Number {
                id: e.id,
                key: phone::match_key_lenient(&e.number),
                number: e.number,
                customer: e.customer,
                state: e.state,
                attempts: e.attempts,
                tries: e.tries,
                next_at: e.next_at_ms,
                result: e.result,
                dnc: e.dnc,
            };
            match n.state {
                NumberState::Done => {}
                _ if n.dnc => {
                    self.numbers.push(n);
                    self.finish(ix, CallResult::Dnc, None);
                    continue;
                }
                NumberState::Pending => {
                    self.pending.insert(ix);
                }
                NumberState::RetryWait => {
                    self.waiting.insert((n.next_at, ix));
                }
                NumberState::Dialing => {
                    // The daemon stopped during the call: due again now.
                    n.state = NumberState::RetryWait;
                    n.next_at = 0;
                    self.waiting.insert((0, ix));
                    self.changes.push(NumberChange {
                        number_id: n.id,
                        state: NumberState::RetryWait,
                        attempts: n.attempts,
                        outcome: None,
                        next_at_ms: Some(0),
                        result: None,
                    });
                }
            }
            self.numbers.push(n);
        }
    }

    /// The configuration.
    pub fn spec(&self) -> &CampaignSpec {
        &self.spec
    }

    /// Takes a new configuration (pacing, hours and retry rules count from
    /// now on; retries already planned keep their time).
    pub fn reconfigure(&mut self, spec: CampaignSpec) {
        self.spec = spec;
    }

    /// Changes the campaign made on its own (at start, on a do-not-call
    /// entry), oldest first. [`Campaign::result`] returns its change.
    pub fn take_changes(&mut self) -> Vec<NumberChange> {
        std::mem::take(&mut self.changes)
    }

    /// The next number to dial, if one may be dialled now (see the module
    /// doc): `free_lines` of the trunk are free, `ready_agents` of the
    /// queue are ready, `dialing_now` calls of this campaign are being
    /// dialled (the larger of it and the campaign's own count is used).
    /// The number is `dialing` until its [`Campaign::result`].
    pub fn next_dial(
        &mut self,
        now_ms: u64,
        local: DayTime,
        free_lines: usize,
        ready_agents: usize,
        dialing_now: usize,
    ) -> Option<Dial> {
        if self.paused || free_lines == 0 || !self.in_hours(local) {
            return None;
        }
        if dialing_now.max(self.dialing) >= self.spec.dial_limit(ready_agents) {
            return None;
        }
        loop {
            let ix = self.take_due(now_ms)?;
            if self.numbers[ix].dnc {
                self.finish(ix, CallResult::Dnc, None);
                continue;
            }
            self.dialing += 1;
            let n = &mut self.numbers[ix];
            n.state = NumberState::Dialing;
            return Some(Dial {
                number_id: n.id,
                number: n.number.clone(),
                customer: n.customer,
                attempt: n.attempts + 1,
            });
        }
    }

    fn in_hours(&self, local: DayTime) -> bool {
        self.spec.hours.is_none_or(|h| h.is_open(local))
    }

    /// The due number to dial next, out of its set: the earliest due retry,
    /// else the first number never dialled.
    fn take_due(&mut self, now_ms: u64) -> Option<usize> {
        if let Some(&(at, ix)) = self.waiting.first()
            && at <= now_ms
        {
            self.waiting.remove(&(at, ix));
            return Some(ix);
        }
        self.pending.pop_first()
    }

    /// Ends a number with `result` (it is out of the sets already).
    fn finish(&mut self, ix: usize, result: CallResult, outcome: Option<Outcome>) -> NumberChange {
        let n = &mut self.numbers[ix];
        n.state = NumberState::Done;
        n.result = Some(result);
        let change = NumberChange {
            number_id: n.id,
            state: NumberState::Done,
            attempts: n.attempts,
            outcome,
            next_at_ms: None,
            result: Some(result),
        };
        if outcome.is_none() {
            self.changes.push(change);
        }
        change
    }

    /// What the dial of `id` came to, at board time `now_ms`: the number's
    /// new state (done, or waiting for a retry), to journal.
    pub fn result(
        &mut self,
        id: CampaignNumberId,
        outcome: Outcome,
        now_ms: u64,
    ) -> Result<NumberChange, CampaignError> {
        let Some(&ix) = self.index.get(&id) else {
            return Err(CampaignError::NoNumber { campaign: self.spec.name.clone(), id });
        };
        let state = self.numbers[ix].state;
        if state != NumberState::Dialing {
            return Err(CampaignError::NotDialing { campaign: self.spec.name.clone(), id, state });
        }
        self.dialing -= 1;
        let result = outcome.result();
        let n = &mut self.numbers[ix];
        if outcome.is_attempt() {
            n.attempts += 1;
            n.tries.add(result, 1);
        } else {
            n.dnc = true;
        }
        let retry = self.spec.retry.rule(result).filter(|r| !n.dnc && n.tries.get(result) <= r.max);
        let change = match retry {
            Some(r) => {
                n.state = NumberState::RetryWait;
                n.next_at = now_ms + r.after_ms;
                self.waiting.insert((n.next_at, ix));
                NumberChange {
                    number_id: id,
                    state: NumberState::RetryWait,
                    attempts: n.attempts,
                    outcome: Some(outcome),
                    next_at_ms: Some(n.next_at),
                    result: None,
                }
            }
            None => {
                // A number put on the list during its call ends as dnc,
                // unless the party answered.
                let fin = if n.dnc && result != CallResult::Answered { CallResult::Dnc } else { result };
                self.finish(ix, fin, Some(outcome))
            }
        };
        Ok(change)
    }

    /// A number [`Campaign::next_dial`] gave was not dialled after all (a
    /// preview the agent skipped or let time out): due again `after_ms`
    /// later, no attempt counted. The change, to journal.
    pub fn skip(&mut self, id: CampaignNumberId, now_ms: u64, after_ms: u64) -> Result<NumberChange, CampaignError> {
        let Some(&ix) = self.index.get(&id) else {
            return Err(CampaignError::NoNumber { campaign: self.spec.name.clone(), id });
        };
        let state = self.numbers[ix].state;
        if state != NumberState::Dialing {
            return Err(CampaignError::NotDialing { campaign: self.spec.name.clone(), id, state });
        }
        self.dialing -= 1;
        if self.numbers[ix].dnc {
            let change = self.finish(ix, CallResult::Dnc, None);
            self.changes.retain(|c| *c != change);
            return Ok(change);
        }
        let n = &mut self.numbers[ix];
        n.state = NumberState::RetryWait;
        n.next_at = now_ms + after_ms;
        self.waiting.insert((n.next_at, ix));
        Ok(NumberChange {
            number_id: id,
            state: NumberState::RetryWait,
            attempts: n.attempts,
            outcome: None,
            next_at_ms: Some(n.next_at),
            result: None,
        })
    }

    /// A number went on the do-not-call list: every number of the campaign
    /// matching it (records::phone's rule) that is not done is done with
    /// result `dnc` (changes in [`Campaign::take_changes`]); one being
    /// dialled ends so when its result comes. Returns how many matched.
    pub fn do_not_call(&mut self, number: &str) -> usize {
        let key = phone::match_key_lenient(number);
        let mut matched = 0;
        for ix in 0..self.numbers.len() {
            let n = &mut self.numbers[ix];
            if n.state == NumberState::Done || !phone::keys_match(&n.key, &key) {
                continue;
            }
            matched += 1;
            n.dnc = true;
            match n.state {
                NumberState::Pending => {
                    self.pending.remove(&ix);
                }
                NumberState::RetryWait => {
                    self.waiting.remove(&(n.next_at, ix));
                }
                NumberState::Dialing | NumberState::Done => continue,
            }
            self.finish(ix, CallResult::Dnc, None);
        }
        matched
    }

    /// Stops dialling (calls out go on and their results count).
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Dials again.
    pub fn resume(&mut self) {
        self.paused = false;
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Every number is done (none pending, waiting or being dialled).
    pub fn is_finished(&self) -> bool {
        self.pending.is_empty() && self.waiting.is_empty() && self.dialing == 0
    }

    /// Counts per state and final result, and attempts.
    pub fn summary(&self) -> CampaignSummary {
        let mut s = CampaignSummary { paused: self.paused, finished: self.is_finished(), ..CampaignSummary::default() };
        for n in &self.numbers {
            s.numbers += 1;
            s.attempts += n.attempts;
            match n.state {
                NumberState::Pending => s.pending += 1,
                NumberState::Dialing => s.dialing += 1,
                NumberState::RetryWait => s.retry_wait += 1,
                NumberState::Done => s.done += 1,
            }
            if let (NumberState::Done, Some(r)) = (n.state, n.result) {
                s.results.add(r, 1);
            }
        }
        s
    }

    /// One number as the campaign holds it now.
    pub fn number(&self, id: CampaignNumberId) -> Option<NumberEntry> {
        let n = &self.numbers[*self.index.get(&id)?];
        Some(NumberEntry {
            id: n.id,
            number: n.number.clone(),
            customer: n.customer,
            state: n.state,
            attempts: n.attempts,
            tries: n.tries,
            next_at_ms: if n.state == NumberState::RetryWait { n.next_at } else { 0 },
            result: n.result,
            dnc: n.dnc,
        })
    }

    /// The next board time at which waiting alone may allow a dial: the
    /// opening of the calling hours (outside them), else the next retry
    /// that falls due after `now_ms`. `None` while paused, when nothing is
    /// left to dial, or when only agents or lines can allow the next dial
    /// (the core asks [`Campaign::next_dial`] again when they change).
    pub fn next_deadline(&self, now_ms: u64, local: DayTime) -> Option<u64> {
        if self.paused || (self.pending.is_empty() && self.waiting.is_empty()) {
            return None;
        }
        if let Some(h) = self.spec.hours
            && !h.is_open(local)
        {
            return h.ms_until_open(local).map(|d| now_ms + d);
        }
        self.waiting.iter().map(|&(at, _)| at).find(|&at| at > now_ms)
    }
}

#[cfg(test)]
mod tests;
