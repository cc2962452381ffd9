//! `[acd]`, `[[queue]]` and `[[agent]]`: the ACD's part of the config file
//! (docs/config-acd.md describes the format).
//!
//! Checked like the rest of the file: every problem is reported at its
//! line, all at once. What is checked here:
//! - the agents' feature codes (`*51`…): `*` or `#` and digits, distinct,
//!   none the beginning of another, not taken by a dial-plan route or an
//!   extension or ring-group number; each gets a digit-map pattern `CODE.`
//!   unless the file's digit map already collects it;
//! - queues: names, strategies, members (existing agents, once each),
//!   weights, times within their ranges, relaxation steps, overflow
//!   targets (which must exist, and must not loop back, through other
//!   queues or ring groups' `no_answer`, to the queue they leave);
//! - agents: ids (digits), PINs, extensions, skills, API users (one agent
//!   per user).
//!
//! Not checked here: whether comfort prompts exist (the IVR's prompt set
//! knows, `ivr/set.rs` checks them when it loads).

use std::collections::{HashMap, HashSet};
use std::ops::{Range, RangeInclusive};
use std::path::PathBuf;

use ctibox_driver::dsp::tones::Country;
use ctibox_driver::signaling::digitmap::{Pattern, PatternMatch};
use toml::Spanned;

use super::raw::{RawAgent, RawConfig, RawQueue};
use super::{Checker, ConfigError, RingGroup, Source, Target, UserConfig, parse_duration_ms, parse_target};
use crate::acd::{AgentSpec, Member, QueueSpec, Relax, Strategy};
use crate::ivr::flow::Lang;

/// The `[acd]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcdConfig {
    /// An agent logs in by dialling `LOGIN AGENT * PIN #` (`*511001*1234#`).
    pub login_code: String,
    /// Dialled alone: log out.
    pub logout_code: String,
    /// Dialled alone: ready for calls.
    pub ready_code: String,
    /// `NOT_READY [REASON digits] #`: not ready, with an optional reason
    /// code.
    pub not_ready_code: String,
    /// Seed of the weighted-random strategy's generator (the same seed
    /// makes the same choices).
    pub seed: u64,
}

impl Default for AcdConfig {
    fn default() -> Self {
        AcdConfig {
            login_code: "*51".into(),
            logout_code: "*52".into(),
            ready_code: "*53".into(),
            not_ready_code: "*54".into(),
            seed: 1,
        }
    }
}

impl AcdConfig {
    /// The four codes with their config keys, in file order.
    pub fn codes(&self) -> [(&'static str, &str); 4] {
        [
            ("login_code", &self.login_code),
            ("logout_code", &self.logout_code),
            ("ready_code", &self.ready_code),
            ("not_ready_code", &self.not_ready_code),
        ]
    }

    fn code_mut(&mut self, i: usize) -> &mut String {
        match i {
            0 => &mut self.login_code,
            1 => &mut self.logout_code,
            2 => &mut self.ready_code,
            _ => &mut self.not_ready_code,
        }
    }
}

/// A `[[queue]]`: what the ACD routes by ([`QueueSpec`]) and what the call
/// core plays to waiting callers.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueConfig {
    pub spec: QueueSpec,
    /// Where callers go after `max_wait`, when the queue is full, or when
    /// it is empty (`join_empty = false`, `leave_empty = true`).
    pub overflow: Target,
    /// Announce position and estimated wait this often; `None`: never.
    pub announce_ms: Option<u64>,
    /// Prompts played between the music, in turn.
    pub comfort: Vec<String>,
    /// Time between comfort prompts.
    pub comfort_every_ms: u64,
    /// This queue's music; `None`: the system's. Relative paths are taken
    /// from the config file's directory by [`super::Config::load`].
    pub music_on_hold: Option<PathBuf>,
    /// A caller pressing this key leaves the queue and is called back.
    pub callback_key: Option<char>,
    /// Language of announcements: `zh-CN`, `en` or `ru`.
    pub language: String,
    span: Range<usize>,
    comfort_spans: Vec<Range<usize>>,
}

impl QueueConfig {
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// An error about this queue, at its `[[queue]]` line.
    pub fn error(&self, source: &Source, msg: impl Into<String>) -> ConfigError {
        source.error(Some(self.span.clone()), msg)
    }

    /// An error about comfort prompt `index`, where the file names it.
    pub fn comfort_error(&self, source: &Source, index: usize, msg: impl Into<String>) -> ConfigError {
        source.error(Some(self.comfort_spans.get(index).unwrap_or(&self.span).clone()), msg)
    }
}

/// An `[[agent]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    pub spec: AgentSpec,
    /// The API user who is this agent (the console logs them in).
    pub user: Option<String>,
    span: Range<usize>,
}

impl AgentConfig {
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// An error about this agent, at its `[[agent]]` line.
    pub fn error(&self, source: &Source, msg: impl Into<String>) -> ConfigError {
        source.error(Some(self.span.clone()), msg)
    }
}

/// What the rest of the file defines, for cross references.
pub(super) struct Known<'a> {
    pub extensions: &'a HashSet<String>,
    pub ring_groups: &'a [RingGroup],
    pub users: &'a [UserConfig],
    pub country: Country,
}

/// Queue and agent names: lower-case letters, digits, `_`, `-`.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `*` or `#`, then 1 to 6 digits.
fn is_feature_code(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=7).contains(&b.len()) && (b[0] == b'*' || b[0] == b'#') && b[1..].iter().all(u8::is_ascii_digit)
}

/// `90000` → `1m30s`-free short forms for messages: `1h`, `5m`, `15s`,
/// `500ms`.
fn show_ms(ms: u64) -> String {
    match ms {
        0 => "0s".into(),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    }
}

/// A duration within `range`; errors name the key and the range.
pub(super) fn duration_in(
    ck: &mut Checker<'_>,
    v: Option<&Spanned<String>>,
    key: &str,
    range: RangeInclusive<u64>,
) -> Option<u64> {
    let v = v?;
    match parse_duration_ms(v.get_ref()) {
        Ok(ms) if range.contains(&ms) => Some(ms),
        Ok(_) => {
            ck.err(
                v.span(),
                format!(
                    "{key} must be {} to {}, not `{}`",
                    show_ms(*range.start()),
                    show_ms(*range.end()),
                    v.get_ref().trim()
                ),
            );
            None
        }
        Err(e) => {
            ck.err(v.span(), format!("{key}: {e}"));
            None
        }
    }
}

/// Names of the `[[queue]]`s as written, so `queue:NAME` targets elsewhere
/// can be checked before the queues themselves are.
pub(super) fn queue_names(raw: &RawConfig) -> HashSet<String> {
    raw.queues.iter().map(|q| q.get_ref().name.get_ref().trim().to_string()).collect()
}

/// `[acd]`: the feature codes and the seed, checked against each other,
/// the routes and the numbers of the file; also the digit-map patterns to
/// add so that a line collects what agents dial.
pub(super) fn feature_codes(ck: &mut Checker<'_>, raw: &RawConfig, map_text: &[String]) -> (AcdConfig, Vec<String>) {
    let mut acd = AcdConfig::default();
    let mut spans: [Option<Range<usize>>; 4] = Default::default();
    if let Some(a) = &raw.acd {
        let given = [&a.login_code, &a.logout_code, &a.ready_code, &a.not_ready_code];
        for (i, v) in given.into_iter().enumerate() {
            let Some(v) = v else { continue };
            let key = AcdConfig::default().codes()[i].0;
            let code = v.get_ref().trim();
            if is_feature_code(code) {
                *acd.code_mut(i) = code.to_string();
                spans[i] = Some(v.span());
            } else {
                ck.err(v.span(), format!("{key} `{code}` must be * or # followed by 1 to 6 digits (e.g. *51)"));
            }
        }
        if let Some(s) = &a.seed {
            match u64::try_from(*s.get_ref()) {
                Ok(seed) => acd.seed = seed,
                Err(_) => ck.err(s.span(), format!("seed must be 0 or more, not {}", s.get_ref())),
            }
        }
    }
    let codes = acd.codes();

    // Distinct, and none the beginning of another (a phone dialling `*5…`
    // could not tell `*5` from `*51`).
    for i in 0..codes.len() {
        for j in 0..i {
            let ((ki, ci), (kj, cj)) = (codes[i], codes[j]);
            if !(ci.starts_with(cj) || cj.starts_with(ci)) {
                continue;
            }
            // Two defaults never clash: one of them was written.
            let Some(span) = spans[i].clone().or_else(|| spans[j].clone()) else { continue };
            let msg = if ci == cj {
                format!("{ki} `{ci}` is the same as {kj}")
            } else {
                format!("{ki} `{ci}` and {kj} `{cj}`: one begins with the other, so a phone could not tell them apart")
            };
            ck.err(span, msg);
        }
    }

    // Routes that would take what agents dial.
    if let Some(dp) = &raw.dial_plan {
        for r in &dp.routes {
            let pattern = r.get_ref().pattern.get_ref();
            let Ok(p) = Pattern::parse(pattern) else { continue };
            for (key, code) in codes {
                if p.check(code.as_bytes()) != PatternMatch::None {
                    ck.err(
                        r.get_ref().pattern.span(),
                        format!(
                            "pattern `{pattern}` takes numbers beginning with `{code}`, the ACD's {key} \
                             ([acd]): change the route or the code"
                        ),
                    );
                }
            }
        }
    }

    // Numbers that begin with a code.
    let numbers = raw
        .extensions
        .iter()
        .map(|e| ("extension", &e.get_ref().number))
        .chain(raw.ring_groups.iter().map(|g| ("ring group", &g.get_ref().number)));
    for (what, n) in numbers {
        let number = n.get_ref().trim();
        for (key, code) in codes {
            if number.starts_with(code) {
                ck.err(n.span(), format!("{what} number `{number}` begins with `{code}`, the ACD's {key} ([acd])"));
            }
        }
    }

    // Digit-map patterns: `CODE.` collects the code and what follows until
    // `#` or the inter-digit timeout, unless an open pattern of the map
    // already takes everything that begins with the code.
    let map: Vec<Pattern> = map_text.iter().filter_map(|t| Pattern::parse(t).ok()).collect();
    let extra = codes
        .iter()
        .filter(|(_, code)| !map.iter().any(|p| p.is_open() && p.check(code.as_bytes()) == PatternMatch::FullOpen))
        .map(|(_, code)| format!("{code}."))
        .collect();
    (acd, extra)
}

/// `[[agent]]` and `[[queue]]`. Overflow targets naming an IVR flow are
/// added to `ivr_refs` (checked once flows are loaded).
pub(super) fn queues_and_agents(
    ck: &mut Checker<'_>,
    raw: &RawConfig,
    known: &Known<'_>,
    ivr_refs: &mut Vec<(String, Range<usize>)>,
) -> (Vec<QueueConfig>, Vec<AgentConfig>) {
    let mut agents = Vec::new();
    let mut agent_of_user: HashMap<String, String> = HashMap::new();
    for a in &raw.agents {
        if let Some(agent) = check_agent(ck, a, known, &mut agent_of_user) {
            if agents.iter().any(|x: &AgentConfig| x.spec.id == agent.spec.id) {
                ck.err(a.get_ref().id.span(), format!("agent {} is defined twice", agent.spec.id));
            } else {
                agents.push(agent);
            }
        }
    }
    let agent_ids: HashSet<&str> = agents.iter().map(|a| a.spec.id.as_str()).collect();

    let names = queue_names(raw);
    let mut queues: Vec<QueueConfig> = Vec::new();
    let mut overflow_spans = Vec::new();
    for q in &raw.queues {
        let (queue, overflow_span) = check_queue(ck, q, known, &agent_ids, &names);
        if let (Target::Ivr(flow), Some(span)) = (&queue.overflow, &overflow_span) {
            ivr_refs.push((flow.clone(), span.clone()));
        }
        if queues.iter().any(|x| x.spec.name == queue.spec.name) {
            ck.err(q.get_ref().name.span(), format!("there is already a queue named `{}`", queue.spec.name));
            continue;
        }
        queues.push(queue);
        overflow_spans.push(overflow_span);
    }
    overflow_loops(ck, &queues, &overflow_spans, known.ring_groups);
    (queues, agents)
}

/// One agent; `None` when its id is unusable.
fn check_agent(
    ck: &mut Checker<'_>,
    a: &Spanned<RawAgent>,
    known: &Known<'_>,
    agent_of_user: &mut HashMap<String, String>,
) -> Option<AgentConfig> {
    let span = a.span();
    let a = a.get_ref();
    let id = a.id.get_ref().trim().to_string();
    let id_ok = !id.is_empty() && id.len() <= 16 && id.bytes().all(|b| b.is_ascii_digit());
    if !id_ok {
        ck.err(a.id.span(), format!("agent id `{id}` must be 1 to 16 digits (agents type it on a phone)"));
    }
    let name = match &a.name {
        None => format!("Agent {id}"),
        Some(n) if n.get_ref().trim().is_empty() => {
            ck.err(n.span(), format!("agent {id}: name is empty"));
            String::new()
        }
        Some(n) => n.get_ref().trim().to_string(),
    };
    let pin = match &a.pin {
        // The value is a secret: messages do not repeat it.
        Some(p) if !(4..=8).contains(&p.get_ref().len()) || !p.get_ref().bytes().all(|b| b.is_ascii_digit()) => {
            ck.err(p.span(), format!("agent {id}: pin must be 4 to 8 digits"));
            None
        }
        Some(p) => Some(p.get_ref().clone()),
        None => {
            ck.warn(a.id.span(), format!("agent {id} has no pin: anyone at a phone can log in as this agent"));
            None
        }
    };
    let extension = a.extension.as_ref().map(|x| {
        let x_text = x.get_ref().trim().to_string();
        if !known.extensions.contains(&x_text) {
            ck.err(x.span(), format!("agent {id}: there is no extension {x_text}"));
        }
        x_text
    });
    let mut skills = std::collections::BTreeMap::new();
    for (k, v) in a.skills.iter().flatten() {
        let skill = k.get_ref().trim();
        if !is_name(skill) {
            ck.err(k.span(), format!("agent {id}: skill name `{skill}` must be lower-case letters, digits, _ or -"));
            continue;
        }
        match u8::try_from(*v.get_ref()) {
            Ok(level) if (1..=10).contains(&level) => {
                skills.insert(skill.to_string(), level);
            }
            _ => ck.err(v.span(), format!("agent {id}: skill {skill}: level must be 1 to 10, not {}", v.get_ref())),
        }
    }
    let user = a.user.as_ref().map(|u| {
        let uname = u.get_ref().trim().to_string();
        if !known.users.iter().any(|x| x.name == uname) {
            ck.err(u.span(), format!("agent {id}: there is no user `{uname}`"));
        } else if let Some(other) = agent_of_user.get(&uname) {
            ck.err(u.span(), format!("agent {id}: user {uname} is already agent {other}"));
        } else {
            agent_of_user.insert(uname.clone(), id.clone());
        }
        uname
    });
    id_ok.then_some(AgentConfig { spec: AgentSpec { id, name, pin, skills, extension }, user, span })
}

/// One queue, and where its overflow target was written.
fn check_queue(
    ck: &mut Checker<'_>,
    q: &Spanned<RawQueue>,
    known: &Known<'_>,
    agent_ids: &HashSet<&str>,
    queue_names: &HashSet<String>,
) -> (QueueConfig, Option<Range<usize>>) {
    let span = q.span();
    let q = q.get_ref();
    let name = q.name.get_ref().trim().to_string();
    if !is_name(&name) {
        ck.err(
            q.name.span(),
            format!("queue name `{name}` must be lower-case letters, digits, _ or - (it is written queue:{name})"),
        );
    } else if known.ring_groups.iter().any(|g| g.number == name) {
        ck.err(
            q.name.span(),
            format!("queue name `{name}` is also a ring group's number: IVR queue nodes could not tell them apart"),
        );
    }
    let title = match &q.title {
        None => name.clone(),
        Some(t) if t.get_ref().trim().is_empty() => {
            ck.err(t.span(), "title is empty (leave it out to show the name)");
            name.clone()
        }
        Some(t) => t.get_ref().trim().to_string(),
    };
    let strategy = match Strategy::parse(q.strategy.get_ref()) {
        Some(s) => s,
        None => {
            let all: Vec<&str> = Strategy::ALL.iter().map(|(_, n)| *n).collect();
            ck.err(
                q.strategy.span(),
                format!("strategy: `{}` is not one of {}", q.strategy.get_ref().trim(), all.join(", ")),
            );
            Strategy::RingAll
        }
    };
    let mut spec = QueueSpec::new(&name, strategy, &[]);
    spec.title = title;

    // Members and weights.
    for m in q.members.get_ref() {
        let agent = m.get_ref().trim();
        if !agent_ids.contains(agent) {
            ck.err(m.span(), format!("member {agent} is not an agent"));
        } else if spec.members.iter().any(|x| x.agent == agent) {
            ck.err(m.span(), format!("member {agent} is listed twice"));
        } else {
            spec.members.push(Member { agent: agent.to_string(), weight: 1 });
        }
    }
    if q.members.get_ref().is_empty() {
        ck.warn(
            q.members.span(),
            format!("queue `{name}` has no members: only agents who join it when they log in will serve it"),
        );
    }
    if let Some(weights) = &q.weights {
        if strategy != Strategy::WeightedRandom
            && let Some((k, _)) = weights.iter().next()
        {
            ck.warn(
                k.span(),
                format!("weights only count with strategy weighted_random (this is {})", strategy.name()),
            );
        }
        for (k, v) in weights {
            let agent = k.get_ref().trim();
            let Some(member) = spec.members.iter_mut().find(|m| m.agent == agent) else {
                ck.err(k.span(), format!("weights: {agent} is not a member of this queue"));
                continue;
            };
            match u32::try_from(*v.get_ref()) {
                Ok(w) if (1..=1000).contains(&w) => member.weight = w,
                _ => ck.err(v.span(), format!("weights: {agent} must be 1 to 1000, not {}", v.get_ref())),
            }
        }
    }

    // Times.
    spec.offer_timeout_ms =
        duration_in(ck, q.offer_timeout.as_ref(), "offer_timeout", 1000..=300_000).unwrap_or(spec.offer_timeout_ms);
    spec.no_answer_not_ready = match q.no_answer.as_ref().map(|v| (v.get_ref().trim().replace('-', "_"), v.span())) {
        None => true,
        Some((v, _)) if v == "not_ready" => true,
        Some((v, _)) if v == "ready" => false,
        Some((v, sp)) => {
            ck.err(sp, format!("no_answer: `{v}` is not not_ready or ready"));
            true
        }
    };
    spec.wrap_up_ms = duration_in(ck, q.wrap_up.as_ref(), "wrap_up", 0..=3_600_000).unwrap_or(0);
    spec.max_wait_ms = duration_in(ck, q.max_wait.as_ref(), "max_wait", 1000..=86_400_000);
    spec.max_len = match &q.max_len {
        None => None,
        Some(n) => match usize::try_from(*n.get_ref()) {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                ck.err(n.span(), format!("max_len must be 1 or more, not {}", n.get_ref()));
                None
            }
        },
    };
    spec.join_empty = q.join_empty.as_ref().is_none_or(|b| *b.get_ref());
    spec.leave_empty = q.leave_empty.as_ref().is_some_and(|b| *b.get_ref());
    spec.sticky_ms = duration_in(ck, q.sticky.as_ref(), "sticky", 0..=3_600_000).unwrap_or(spec.sticky_ms);
    spec.service_level_ms =
        duration_in(ck, q.service_level.as_ref(), "service_level", 1000..=3_600_000).unwrap_or(spec.service_level_ms);

    // Skill relaxation.
    if let Some(relax) = &q.relax {
        if strategy != Strategy::Skills
            && let Some(first) = relax.first()
        {
            ck.warn(first.span(), format!("relax only counts with strategy skills (this is {})", strategy.name()));
        }
        let mut last_after: Option<(u64, String)> = None;
        for step in relax {
            let step = step.get_ref();
            let after = duration_in(ck, Some(&step.after), "relax: after", 0..=86_400_000);
            let lower_by = match step.lower.get_ref() {
                toml::Value::Integer(n @ 1..=9) => u8::try_from(*n).ok(),
                toml::Value::String(s) if s.trim() == "any" => Some(Relax::ANY),
                other => {
                    ck.err(step.lower.span(), format!("relax: lower must be 1 to 9 or \"any\", not {other}"));
                    None
                }
            };
            let Some(after_ms) = after else { continue };
            let written = step.after.get_ref().trim().to_string();
            if let Some((prev, prev_text)) = &last_after
                && after_ms <= *prev
            {
                ck.err(
                    step.after.span(),
                    format!("relax: after `{written}` must be later than the step before it (`{prev_text}`)"),
                );
            }
            last_after = Some((after_ms, written));
            if let Some(lower_by) = lower_by {
                spec.relax.push(Relax { after_ms, lower_by });
            }
        }
    }

    // Overflow.
    let overflow_span = q.overflow.as_ref().map(|o| o.span());
    let overflow = match &q.overflow {
        None => Target::Hangup,
        Some(o) => match parse_target(o.get_ref()) {
            Ok(Target::DialledExtension) | Ok(Target::Trunk(_)) => {
                ck.err(
                    o.span(),
                    "overflow: use ext:NUMBER, group:NUMBER, queue:NAME, ivr:FLOW or hangup (a trunk needs a number)",
                );
                Target::Hangup
            }
            Ok(Target::Agent(_)) => {
                ck.err(
                    o.span(),
                    "overflow: use ext:NUMBER, group:NUMBER, queue:NAME, ivr:FLOW or hangup (an agent may be away; \
                     queue callers reach agents through the queue, or an IVR transfer node with on_failure)",
                );
                Target::Hangup
            }
            Ok(Target::Queue(n)) if n == name => {
                ck.err(o.span(), format!("overflow: queue `{name}` cannot overflow to itself"));
                Target::Hangup
            }
            Ok(Target::Queue(n)) if !queue_names.contains(&n) => {
                ck.err(o.span(), format!("overflow: there is no queue `{n}`"));
                Target::Hangup
            }
            Ok(Target::Extension(n)) if !known.extensions.contains(&n) => {
                ck.err(o.span(), format!("overflow: there is no extension {n}"));
                Target::Hangup
            }
            Ok(Target::Group(n)) if !known.ring_groups.iter().any(|g| g.number == n) => {
                ck.err(o.span(), format!("overflow: there is no ring group {n}"));
                Target::Hangup
            }
            Ok(t) => t,
            Err(e) => {
                ck.err(o.span(), format!("overflow: {e}"));
                Target::Hangup
            }
        },
    };

    // What callers hear.
    let announce_ms = match &q.announce {
        Some(a) if a.get_ref().trim() == "off" => None,
        a => duration_in(ck, a.as_ref(), "announce (or \"off\")", 10_000..=3_600_000),
    };
    let mut comfort = Vec::new();
    let mut comfort_spans = Vec::new();
    for c in q.comfort.iter().flat_map(|c| c.get_ref()) {
        let prompt = c.get_ref().trim();
        let ok = !prompt.is_empty()
            && !prompt.starts_with('/')
            && !prompt.split('/').any(|part| part.is_empty() || part == "..")
            && !prompt.chars().any(|ch| ch.is_whitespace() || ch.is_control());
        if ok {
            comfort.push(prompt.to_string());
            comfort_spans.push(c.span());
        } else {
            ck.err(c.span(), format!("comfort: `{prompt}` is not a prompt name (e.g. queue/comfort)"));
        }
    }
    let comfort_every_ms =
        duration_in(ck, q.comfort_every.as_ref(), "comfort_every", 5000..=3_600_000).unwrap_or(45_000);
    if let Some(ce) = &q.comfort_every
        && q.comfort.as_ref().is_none_or(|c| c.get_ref().is_empty())
    {
        ck.warn(ce.span(), "comfort_every has no effect without comfort prompts");
    }
    let music_on_hold = match &q.music_on_hold {
        None => None,
        Some(m) if m.get_ref().trim().is_empty() => {
            ck.err(m.span(), "music_on_hold is empty (leave it out for the system's music)");
            None
        }
        Some(m) => Some(PathBuf::from(m.get_ref().trim())),
    };
    let callback_key = match &q.callback_key {
        None => None,
        Some(k) => {
            let text = k.get_ref().trim();
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_digit() || c == '*' || c == '#' => Some(c),
                _ => {
                    ck.err(k.span(), format!("callback_key `{text}` must be one key: 0-9, * or #"));
                    None
                }
            }
        }
    };
    let language = match &q.language {
        None => Lang::of_country(known.country),
        Some(l) => Lang::parse(l.get_ref()).unwrap_or_else(|| {
            ck.err(l.span(), format!("language `{}` is not zh-CN, en or ru", l.get_ref().trim()));
            Lang::En
        }),
    }
    .code()
    .to_string();

    let queue = QueueConfig {
        spec,
        overflow,
        announce_ms,
        comfort,
        comfort_every_ms,
        music_on_hold,
        callback_key,
        language,
        span,
        comfort_spans,
    };
    (queue, overflow_span)
}

/// A place a call can bounce between: a queue (by overflow) or a ring
/// group (by `no_answer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hop<'a> {
    Queue(&'a str),
    Group(&'a str),
}

impl std::fmt::Display for Hop<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hop::Queue(q) => write!(f, "queue `{q}`"),
            Hop::Group(g) => write!(f, "ring group {g}"),
        }
    }
}

/// Where a call goes next from a queue (its overflow) or a ring group
/// (its `no_answer`), when that is a queue or a ring group.
fn next_hop<'a>(h: Hop<'a>, queues: &'a [QueueConfig], groups: &'a [RingGroup]) -> Option<Hop<'a>> {
    let target = match h {
        Hop::Queue(q) => &queues.iter().find(|x| x.spec.name == q)?.overflow,
        Hop::Group(g) => &groups.iter().find(|x| x.number == g)?.no_answer,
    };
    match target {
        Target::Queue(q) => Some(Hop::Queue(q)),
        Target::Group(g) => Some(Hop::Group(g)),
        _ => None,
    }
}

/// Overflow chains that come back to where they started (`a → b → a`, or
/// through a ring group's `no_answer`): reported once per loop, at the
/// overflow of its first queue in the file.
fn overflow_loops(ck: &mut Checker<'_>, queues: &[QueueConfig], spans: &[Option<Range<usize>>], groups: &[RingGroup]) {
    let index = |h: Hop<'_>| match h {
        Hop::Queue(q) => queues.iter().position(|x| x.spec.name == q),
        Hop::Group(_) => None,
    };
    for (i, (q, span)) in queues.iter().zip(spans).enumerate() {
        let Some(span) = span else { continue };
        let start = Hop::Queue(&q.spec.name);
        let mut path = vec![start];
        let mut at = next_hop(start, queues, groups);
        while let Some(h) = at {
            if h == start {
                // Report from the loop's first queue in the file only.
                if path.iter().all(|&p| index(p).is_none_or(|j| j >= i)) {
                    path.push(h);
                    let chain: Vec<String> = path.iter().map(Hop::to_string).collect();
                    ck.err(
                        span.clone(),
                        format!("overflow: {} is a loop: callers would go round it for ever", chain.join(" → ")),
                    );
                }
                break;
            }
            if path.contains(&h) {
                break; // a loop this queue only leads into
            }
            path.push(h);
            at = next_hop(h, queues, groups);
        }
    }
}
