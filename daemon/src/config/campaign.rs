//! `[[campaign]]`: progressive outbound campaigns (docs/campaigns.md
//! describes the format).
//!
//! Checked like the rest of the file: every problem is reported at its
//! line, all at once, naming the key. What is checked here: names (unique,
//! lower-case letters, digits, `_`, `-`), the queue and trunk (which must
//! exist), the caller ID, `mode`, `max_lines` (≥ 1; a warning above the trunk's
//! line count), `ratio` (1 to 5), `ring_timeout`, `agent_wait`, `preview_timeout`, calling `hours` and
//! `days` (the same forms as IVR schedules) and each `retry.RESULT`'s
//! `after` and `max`.
//!
//! Not checked here: the campaign's numbers (they are imported into the
//! records, `records/campaign.rs`).

use std::collections::HashSet;
use std::ops::Range;

use toml::Spanned;

use super::raw::{RawCampaign, RawConfig, RawRetry};
use super::{Checker, ConfigError, QueueConfig, Source, Trunk};
use crate::acd::campaign::{CallResult, CallingHours, CampaignSpec, DialMode, RetryPolicy};
use crate::ivr::parse::{parse_days, parse_hours};

/// A `[[campaign]]`: what the campaign engine runs by.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignConfig {
    pub spec: CampaignSpec,
    span: Range<usize>,
}

impl CampaignConfig {
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// An error about this campaign, at its `[[campaign]]` line.
    pub fn error(&self, source: &Source, msg: impl Into<String>) -> ConfigError {
        source.error(Some(self.span.clone()), msg)
    }
}

/// Most dials per ready agent.
pub const RATIO_MAX: f64 = 5.0;
/// Most retries per result.
pub const RETRY_MAX: u32 = 20;
/// Longest wait before a retry (7 days).
const RETRY_AFTER_MAX_MS: u64 = 7 * 86_400_000;

/// Campaign names: lower-case letters, digits, `_`, `-`.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A caller ID: digits, maybe one leading `+`, 1 to 20 digits.
fn is_caller_id(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    (1..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Every `[[campaign]]`, checked against the queues and trunks.
pub(super) fn campaigns(
    ck: &mut Checker<'_>,
    raw: &RawConfig,
    queues: &[QueueConfig],
    trunks: &[Trunk],
) -> Vec<CampaignConfig> {
    let mut out: Vec<CampaignConfig> = Vec::new();
    let mut names = HashSet::new();
    for c in &raw.campaigns {
        let campaign = check_campaign(ck, c, queues, trunks);
        if !names.insert(campaign.spec.name.clone()) {
            ck.err(c.get_ref().name.span(), format!("there is already a campaign named `{}`", campaign.spec.name));
            continue;
        }
        out.push(campaign);
    }
    out
}

fn check_campaign(
    ck: &mut Checker<'_>,
    c: &Spanned<RawCampaign>,
    queues: &[QueueConfig],
    trunks: &[Trunk],
) -> CampaignConfig {
    let span = c.span();
    let c = c.get_ref();
    let name = c.name.get_ref().trim().to_string();
    if !is_name(&name) {
        ck.err(c.name.span(), format!("campaign name `{name}` must be lower-case letters, digits, _ or -"));
    }
    let queue = c.queue.get_ref().trim().to_string();
    if !queues.iter().any(|q| q.spec.name == queue) {
        ck.err(c.queue.span(), format!("campaign `{name}`: queue: there is no queue `{queue}`"));
    }
    let trunk_name = c.trunk.get_ref().trim().to_string();
    let trunk = trunks.iter().find(|t| t.name == trunk_name);
    if trunk.is_none() {
        ck.err(c.trunk.span(), format!("campaign `{name}`: trunk: there is no trunk `{trunk_name}`"));
    }
    let mut spec = CampaignSpec::new(&name, &queue, &trunk_name);

    spec.caller_id = c.caller_id.as_ref().and_then(|v| {
        let text = v.get_ref().trim();
        if is_caller_id(text) {
            Some(text.to_string())
        } else {
            ck.err(
                v.span(),
                format!("campaign `{name}`: caller_id `{text}` must be digits (1 to 20, maybe a leading +)"),
            );
            None
        }
    });

    if let Some(v) = &c.max_lines {
        match usize::try_from(*v.get_ref()) {
            Ok(n) if (1..=1000).contains(&n) => {
                spec.max_lines = n;
                if let Some(t) = trunk
                    && n > t.channels.len()
                {
                    ck.warn(
                        v.span(),
                        format!(
                            "campaign `{name}`: max_lines {n} is more than trunk `{}`'s {} lines: at most {} dial at once",
                            t.name,
                            t.channels.len(),
                            t.channels.len()
                        ),
                    );
                }
            }
            _ => ck.err(v.span(), format!("campaign `{name}`: max_lines must be 1 to 1000, not {}", v.get_ref())),
        }
    }

    if let Some(v) = &c.ratio {
        let ratio = match v.get_ref() {
            toml::Value::Float(f) => Some(*f),
            toml::Value::Integer(i) => Some(*i as f64),
            _ => None,
        };
        match ratio {
            Some(r) if (1.0..=RATIO_MAX).contains(&r) => spec.ratio = r,
            _ => ck.err(
                v.span(),
                format!(
                    "campaign `{name}`: ratio must be a number from 1.0 to {RATIO_MAX:.1} (dials per ready agent), \
                     not {}",
                    v.get_ref()
                ),
            ),
        }
    }

    if let Some(v) = &c.ring_timeout {
        let key = format!("campaign `{name}`: ring_timeout");
        spec.ring_timeout_ms =
            super::acd::duration_in(ck, Some(v), &key, 5_000..=300_000).unwrap_or(spec.ring_timeout_ms);
    }

    if let Some(v) = &c.mode {
        match v.get_ref().trim() {
            "progressive" => spec.mode = DialMode::Progressive,
            "preview" => spec.mode = DialMode::Preview,
            other => ck.err(v.span(), format!("campaign `{name}`: mode must be progressive or preview, not `{other}`")),
        }
    }
    if let Some(v) = &c.preview_timeout {
        let key = format!("campaign `{name}`: preview_timeout");
        spec.preview_timeout_ms =
            super::acd::duration_in(ck, Some(v), &key, 5_000..=3_600_000).unwrap_or(spec.preview_timeout_ms);
        if spec.mode != DialMode::Preview {
            ck.warn(v.span(), format!("campaign `{name}`: preview_timeout has no effect without mode = \"preview\""));
        }
    }
    if let Some(v) = &c.agent_wait {
        let key = format!("campaign `{name}`: agent_wait");
        spec.agent_wait_ms = super::acd::duration_in(ck, Some(v), &key, 1_000..=60_000).unwrap_or(spec.agent_wait_ms);
    }

    spec.hours = calling_hours(ck, c, &name);

    for (result, key) in RetryPolicy::KEYS {
        let raw = c.retry.as_ref().and_then(|r| match result {
            CallResult::Busy => r.busy.as_ref(),
            CallResult::NoAnswer => r.no_answer.as_ref(),
            CallResult::Fax => r.fax.as_ref(),
            CallResult::Failed => r.failed.as_ref(),
            _ => r.abandoned.as_ref(),
        });
        if let (Some(raw), Some(rule)) = (raw, spec.retry.rule_mut(result)) {
            retry_rule(ck, raw, &name, key, rule);
        }
    }

    CampaignConfig { spec, span }
}

/// `hours` and `days`: days without hours is the whole of those days;
/// hours without days is every day.
fn calling_hours(ck: &mut Checker<'_>, c: &RawCampaign, name: &str) -> Option<CallingHours> {
    let hours = match &c.hours {
        None => None,
        Some(h) => match parse_hours(h.get_ref()) {
            Ok(range) => Some(range),
            Err(e) => {
                ck.err(h.span(), format!("campaign `{name}`: hours: {e}"));
                return None;
            }
        },
    };
    let days = match &c.days {
        None => None,
        Some(d) => match parse_days(d.get_ref()) {
            Ok(days) => Some(days),
            Err(e) => {
                ck.err(d.span(), format!("campaign `{name}`: days: {e}"));
                return None;
            }
        },
    };
    if hours.is_none() && days.is_none() {
        return None;
    }
    let (from_min, to_min) = hours.unwrap_or((0, 1440));
    Some(CallingHours { days: days.unwrap_or([true; 7]), from_min, to_min })
}

/// One `retry.RESULT = { after = DURATION, max = N }`.
fn retry_rule(
    ck: &mut Checker<'_>,
    raw: &Spanned<RawRetry>,
    name: &str,
    key: &str,
    rule: &mut crate::acd::campaign::Retry,
) {
    let r = raw.get_ref();
    if let Some(after) = &r.after {
        let what = format!("campaign `{name}`: retry.{key}.after");
        rule.after_ms =
            super::acd::duration_in(ck, Some(after), &what, 1_000..=RETRY_AFTER_MAX_MS).unwrap_or(rule.after_ms);
    }
    if let Some(max) = &r.max {
        match u32::try_from(*max.get_ref()) {
            Ok(n) if n <= RETRY_MAX => rule.max = n,
            _ => ck.err(
                max.span(),
                format!("campaign `{name}`: retry.{key}.max must be 0 to {RETRY_MAX}, not {}", max.get_ref()),
            ),
        }
    }
    if rule.max == 0
        && let Some(after) = &r.after
    {
        ck.warn(
            after.span(),
            format!("campaign `{name}`: retry.{key}.after has no effect with max = 0 (the number is not retried)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use crate::acd::campaign::Retry;

    use super::*;

    /// A trunk of two lines, a queue `sales` with one agent.
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

[[agent]]
id = "1001"
pin = "1234"
extension = "801"

[[queue]]
name = "sales"
strategy = "linear"
members = ["1001"]
"#;

    fn parse(more: &str) -> Result<Config, Vec<String>> {
        Config::parse("t.toml", &format!("{BASE}{more}")).map_err(|e| e.0.iter().map(|e| e.to_string()).collect())
    }

    /// The file has exactly one error, containing `want`, on the line that
    /// contains `at`.
    fn error_at(more: &str, at: &str, want: &str) {
        let text = format!("{BASE}{more}");
        let line = text.lines().position(|l| l.contains(at)).map(|i| i + 1).expect("`at` is in the text");
        let e = parse(more).expect_err("errors");
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(
            e[0].starts_with(&format!("t.toml:{line}:")) && e[0].contains(want),
            "wanted `{want}` at line {line}: {e:#?}"
        );
    }

    #[test]
    fn a_full_campaign_parses_into_the_exact_spec() {
        let c = parse(
            r#"
[[campaign]]
name = "spring-offer"
queue = "sales"
trunk = "pstn"
caller_id = "+8688880000"
max_lines = 2
ratio = 1.5
ring_timeout = "25s"
agent_wait = "4s"
mode = "preview"
preview_timeout = "45s"
hours = "09:00-18:00"
days = "mon-fri"
retry.busy = { after = "4m", max = 5 }
retry.no_answer = { after = "1h" }
retry.fax = { after = "2h", max = 1 }
retry.failed = { max = 0 }
retry.abandoned = { after = "15m", max = 4 }
"#,
        )
        .unwrap();
        assert!(c.warnings.iter().all(|w| !w.message.contains("campaign")), "{:?}", c.warnings);
        let spec = &c.campaign("spring-offer").unwrap().spec;
        assert_eq!(
            *spec,
            CampaignSpec {
                name: "spring-offer".into(),
                queue: "sales".into(),
                trunk: "pstn".into(),
                mode: DialMode::Preview,
                preview_timeout_ms: 45_000,
                caller_id: Some("+8688880000".into()),
                max_lines: 2,
                ratio: 1.5,
                ring_timeout_ms: 25_000,
                agent_wait_ms: 4_000,
                hours: Some(CallingHours {
                    days: [true, true, true, true, true, false, false],
                    from_min: 540,
                    to_min: 1080
                }),
                retry: RetryPolicy {
                    busy: Retry { after_ms: 240_000, max: 5 },
                    no_answer: Retry { after_ms: 3_600_000, max: 2 },
                    fax: Retry { after_ms: 7_200_000, max: 1 },
                    failed: Retry { after_ms: 120_000, max: 0 },
                    abandoned: Retry { after_ms: 900_000, max: 4 },
                },
            }
        );
    }

    #[test]
    fn a_minimal_campaign_gets_the_defaults() {
        let c = parse("[[campaign]]\nname = \"c\"\nqueue = \"sales\"\ntrunk = \"pstn\"\nratio = 2\n").unwrap();
        let spec = &c.campaigns[0].spec;
        let mut want = CampaignSpec::new("c", "sales", "pstn");
        want.ratio = 2.0;
        assert_eq!(*spec, want);
        assert_eq!(spec.retry.fax.max, 0, "a fax is not retried by default");
        // Days alone: the whole of those days; hours alone: every day.
        let c = parse("[[campaign]]\nname = \"c\"\nqueue = \"sales\"\ntrunk = \"pstn\"\ndays = \"sat,sun\"\n").unwrap();
        assert_eq!(
            c.campaigns[0].spec.hours,
            Some(CallingHours { days: [false, false, false, false, false, true, true], from_min: 0, to_min: 1440 })
        );
        let c = parse("[[campaign]]\nname = \"c\"\nqueue = \"sales\"\ntrunk = \"pstn\"\nhours = \"22:00-02:00\"\n")
            .unwrap();
        assert_eq!(c.campaigns[0].spec.hours, Some(CallingHours { days: [true; 7], from_min: 1320, to_min: 120 }));
    }

    const HEAD: &str = "[[campaign]]\nname = \"c\"\nqueue = \"sales\"\ntrunk = \"pstn\"\n";

    #[test]
    fn each_mistake_is_reported_at_its_line_naming_the_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("name = \"Spring Offer\"", "name = \"Spring", "campaign name `Spring Offer` must be lower-case"),
            ("queue = \"nosuch\"", "queue = \"nosuch", "queue: there is no queue `nosuch`"),
            ("trunk = \"gsm\"", "trunk = \"gsm", "trunk: there is no trunk `gsm`"),
            ("caller_id = \"88-88\"", "caller_id", "caller_id `88-88` must be digits"),
            ("max_lines = 0", "max_lines", "max_lines must be 1 to 1000, not 0"),
            ("ratio = 0.5", "ratio", "ratio must be a number from 1.0 to 5.0 (dials per ready agent), not 0.5"),
            ("ratio = \"fast\"", "ratio", "ratio must be a number from 1.0 to 5.0"),
            ("ring_timeout = \"2s\"", "ring_timeout", "ring_timeout must be 5s to 5m, not `2s`"),
            ("ring_timeout = \"soon\"", "ring_timeout", "ring_timeout: `soon` is not a duration"),
            ("agent_wait = \"90s\"", "agent_wait", "agent_wait must be 1s to 1m, not `90s`"),
            ("mode = \"predictive\"", "mode", "mode must be progressive or preview, not `predictive`"),
            ("hours = \"9-18\"", "hours", "hours: `9` is not a time of day"),
            ("days = \"mon-fry\"", "days", "days: `fry` is not a weekday"),
            ("retry.busy = { after = \"0s\", max = 3 }", "retry.busy", "retry.busy.after must be 1s to 168h, not `0s`"),
            ("retry.no_answer = { max = 21 }", "retry.no_answer", "retry.no_answer.max must be 0 to 20, not 21"),
            ("retry.abandoned = { max = -1 }", "retry.abandoned", "retry.abandoned.max must be 0 to 20, not -1"),
        ];
        for (line, at, want) in cases {
            // The line replaces the head's key of the same name, if any.
            let key = line.split(' ').next().unwrap();
            let head: String =
                HEAD.lines().filter(|l| !l.starts_with(&format!("{key} "))).map(|l| format!("{l}\n")).collect();
            error_at(&format!("\n{head}{line}\n"), at, want);
        }
    }

    #[test]
    fn unknown_keys_and_duplicates_are_errors() {
        let e = parse(&format!("\n{HEAD}speed = 3\n")).unwrap_err();
        assert!(e[0].contains("unknown field `speed`"), "{e:?}");
        let e = parse(&format!("\n{HEAD}retry.busy = {{ afterwards = \"1m\" }}\n")).unwrap_err();
        assert!(e[0].contains("unknown field `afterwards`"), "{e:?}");
        let e = parse(&format!("\n{HEAD}retry.voicemail = {{ max = 1 }}\n")).unwrap_err();
        assert!(e[0].contains("unknown field `voicemail`"), "{e:?}");
        let twice = format!("\n{HEAD}\n{HEAD}");
        let text = format!("{BASE}{twice}");
        let second = text.lines().enumerate().filter(|(_, l)| l.starts_with("name = \"c\"")).nth(1).unwrap().0 + 1;
        let e = parse(&twice).unwrap_err();
        assert_eq!(e, [format!("t.toml:{second}:8: there is already a campaign named `c`")]);
    }

    #[test]
    fn warnings_for_more_lines_than_the_trunk_and_a_delay_never_used() {
        let c = parse(&format!("\n{HEAD}max_lines = 3\nretry.fax = {{ after = \"1h\" }}\n")).unwrap();
        let w: Vec<&str> = c.warnings.iter().map(|w| w.message.as_str()).collect();
        assert!(
            w.contains(&"campaign `c`: max_lines 3 is more than trunk `pstn`'s 2 lines: at most 2 dial at once"),
            "{w:?}"
        );
        assert!(
            w.contains(&"campaign `c`: retry.fax.after has no effect with max = 0 (the number is not retried)"),
            "{w:?}"
        );
        assert_eq!(c.campaigns[0].spec.max_lines, 3);
    }

    #[test]
    fn the_demo_has_a_campaign() {
        let c = Config::demo();
        let spec = &c.campaign("spring-offer").expect("the demo's campaign").spec;
        assert_eq!((spec.queue.as_str(), spec.trunk.as_str()), ("sales", "pstn"));
        assert!(spec.hours.is_some());
        assert!(c.warnings.iter().all(|w| !w.message.contains("campaign")), "{:?}", c.warnings);
    }
}
