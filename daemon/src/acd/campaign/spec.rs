//! What the configuration says about a campaign, as the engine takes it:
//! pacing, calling hours and retry rules. The config file's
//! `[[campaign]]` becomes a [`CampaignSpec`] (`config/campaign.rs` checks
//! it). Times are milliseconds; calling hours are local time
//! ([`DayTime`], which the core reads from the clock).

use super::CallResult;

/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;

/// What a number gets after one result: dialled again `after_ms` later,
/// at most `max` times for this result (0: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub after_ms: u64,
    pub max: u32,
}

/// The retry rule of each result that is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub busy: Retry,
    pub no_answer: Retry,
    /// A fax line will not become a person: not retried by default.
    pub fax: Retry,
    /// No dial tone, congestion, a special information tone, no free line.
    pub failed: Retry,
    /// Answered while no agent was free.
    pub abandoned: Retry,
}

impl RetryPolicy {
    /// busy 5m ×3, no answer 30m ×2, fax never, failed 2m ×3, abandoned
    /// 10m ×2.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        busy: Retry { after_ms: 300_000, max: 3 },
        no_answer: Retry { after_ms: 1_800_000, max: 2 },
        fax: Retry { after_ms: 3_600_000, max: 0 },
        failed: Retry { after_ms: 120_000, max: 3 },
        abandoned: Retry { after_ms: 600_000, max: 2 },
    };

    /// The results that have a rule, with their config keys.
    pub const KEYS: [(CallResult, &'static str); 5] = [
        (CallResult::Busy, "busy"),
        (CallResult::NoAnswer, "no_answer"),
        (CallResult::Fax, "fax"),
        (CallResult::Failed, "failed"),
        (CallResult::Abandoned, "abandoned"),
    ];

    /// The rule of a result; `None` for results that end a number
    /// (answered, dnc).
    pub fn rule(&self, result: CallResult) -> Option<Retry> {
        match result {
            CallResult::Busy => Some(self.busy),
            CallResult::NoAnswer => Some(self.no_answer),
            CallResult::Fax => Some(self.fax),
            CallResult::Failed => Some(self.failed),
            CallResult::Abandoned => Some(self.abandoned),
            CallResult::Answered | CallResult::Dnc => None,
        }
    }

    /// The rule of a result, to change it; `None` as for [`Self::rule`].
    pub fn rule_mut(&mut self, result: CallResult) -> Option<&mut Retry> {
        match result {
            CallResult::Busy => Some(&mut self.busy),
            CallResult::NoAnswer => Some(&mut self.no_answer),
            CallResult::Fax => Some(&mut self.fax),
            CallResult::Failed => Some(&mut self.failed),
            CallResult::Abandoned => Some(&mut self.abandoned),
            CallResult::Answered | CallResult::Dnc => None,
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy::DEFAULT
    }
}

/// Local day of the week and time of day, as the core reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayTime {
    /// Monday = 0 … Sunday = 6.
    pub weekday: u8,
    /// Milliseconds since local midnight, below [`DAY_MS`].
    pub ms_of_day: u32,
}

impl DayTime {
    /// From a local date and time (the core reads the clock; this only
    /// converts).
    pub fn from_datetime(t: &chrono::NaiveDateTime) -> DayTime {
        use chrono::{Datelike, Timelike};
        DayTime {
            weekday: t.weekday().num_days_from_monday() as u8,
            ms_of_day: t.num_seconds_from_midnight() * 1000 + (t.nanosecond() / 1_000_000).min(999),
        }
    }

    /// `weekday` at `h:m`.
    pub fn at(weekday: u8, h: u32, m: u32) -> DayTime {
        DayTime { weekday: weekday % 7, ms_of_day: (h * 60 + m) * 60_000 }
    }

    fn minute(self) -> u16 {
        (self.ms_of_day / 60_000) as u16
    }
}

/// When a campaign may dial: on `days`, from `from_min` (inclusive) to
/// `to_min` (exclusive) minutes after local midnight; an end before the
/// start runs past midnight into the next day (`22:00-02:00` on Friday
/// covers Saturday until 02:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallingHours {
    /// Monday = 0 … Sunday = 6.
    pub days: [bool; 7],
    pub from_min: u16,
    pub to_min: u16,
}

impl CallingHours {
    /// Whether dialling is allowed at `t`.
    pub fn is_open(&self, t: DayTime) -> bool {
        let today = usize::from(t.weekday % 7);
        let yesterday = (today + 6) % 7;
        let m = t.minute();
        if self.from_min < self.to_min {
            self.days[today] && self.from_min <= m && m < self.to_min
        } else if self.to_min < self.from_min {
            (self.days[today] && m >= self.from_min) || (self.days[yesterday] && m < self.to_min)
        } else {
            false
        }
    }

    /// How long from `t` until dialling is allowed: 0 while it is; `None`
    /// when no day is enabled.
    pub fn ms_until_open(&self, t: DayTime) -> Option<u64> {
        if self.is_open(t) {
            return Some(0);
        }
        let now = u64::from(t.ms_of_day);
        // Windows open at `from_min` of an enabled day (a window past
        // midnight continues the day it opened on).
        (0..=7u64).find_map(|d| {
            let day = (usize::from(t.weekday % 7) + d as usize) % 7;
            let start = d * DAY_MS + u64::from(self.from_min) * 60_000;
            (self.days[day] && start > now).then(|| start - now)
        })
    }
}

/// How a campaign's numbers are dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialMode {
    /// Dialled as agents become ready; an answered party goes to the next
    /// ready agent.
    Progressive,
    /// A ready agent sees the number and its customer first and accepts
    /// (the agent's phone rings, then the number is dialled) or skips it.
    Preview,
}

impl DialMode {
    pub fn name(self) -> &'static str {
        match self {
            DialMode::Progressive => "progressive",
            DialMode::Preview => "preview",
        }
    }
}

/// A campaign as configured (`[[campaign]]`, checked by
/// `config/campaign.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignSpec {
    /// The name the API and the records use.
    pub name: String,
    /// The queue whose ready agents take answered calls.
    pub queue: String,
    /// The trunk group the calls go out on.
    pub trunk: String,
    pub mode: DialMode,
    /// Preview: an agent who neither accepts nor skips a number within
    /// this long has it taken back (skipped).
    pub preview_timeout_ms: u64,
    /// The number presented to called parties, where the line allows it.
    pub caller_id: Option<String>,
    /// At most this many calls dialled at once (not yet answered).
    pub max_lines: usize,
    /// Dials per ready agent (1.0: progressive).
    pub ratio: f64,
    /// A dial that rings this long is no answer.
    pub ring_timeout_ms: u64,
    /// An answered party waits at most this long for an agent's phone to
    /// start ringing; then it hears a short message and the call is
    /// `abandoned`.
    pub agent_wait_ms: u64,
    /// When dialling is allowed; `None`: any time.
    pub hours: Option<CallingHours>,
    pub retry: RetryPolicy,
}

impl CampaignSpec {
    /// A campaign with the usual settings (tests and the config start
    /// here): progressive, one line, ratio 1, 30 s ring timeout, 2 s agent
    /// wait, 60 s preview timeout, any time, default retries.
    pub fn new(name: &str, queue: &str, trunk: &str) -> CampaignSpec {
        CampaignSpec {
            name: name.to_string(),
            queue: queue.to_string(),
            trunk: trunk.to_string(),
            mode: DialMode::Progressive,
            preview_timeout_ms: 60_000,
            caller_id: None,
            max_lines: 1,
            ratio: 1.0,
            ring_timeout_ms: 30_000,
            agent_wait_ms: 2_000,
            hours: None,
            retry: RetryPolicy::DEFAULT,
        }
    }

    /// How many calls may be dialling at once with `ready_agents` ready:
    /// `min(max_lines, ⌊ready × ratio⌋)`.
    pub fn dial_limit(&self, ready_agents: usize) -> usize {
        let by_agents = (ready_agents as f64 * self.ratio + 1e-9).floor();
        let by_agents = if by_agents.is_finite() && by_agents > 0.0 { by_agents as usize } else { 0 };
        by_agents.min(self.max_lines)
    }
}
