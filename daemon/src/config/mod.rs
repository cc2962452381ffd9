//! The daemon's configuration: one TOML file (default
//! `/etc/ctibox/ctibox.toml`), or the built-in demo when none exists.
//!
//! Loading happens in two checks. [`Config::parse`] reads the file and checks
//! everything that needs no hardware: syntax, unknown keys, types, durations,
//! numbers, names that refer to each other, digit maps, tone patterns,
//! users, ACD queues and agents (`acd.rs`), outbound campaigns
//! (`campaign.rs`). [`Config::check_board`] then
//! checks channel numbers and kinds against the layout of the opened board.
//! Both report *every* problem, each as `file:line:col: what is wrong`.
//!
//! See [`demo::DEMO_CONFIG`] for a complete, commented example.

mod acd;
mod campaign;
pub mod demo;
mod raw;
pub mod source;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;

use ctibox_driver::dsp::tones::{Country, ToneKind, parse_pattern};
use ctibox_driver::hal::{BoardInfo, ChannelId, ChannelKind};
use ctibox_driver::signaling::digitmap::{DigitMap, Pattern};
use toml::Spanned;

pub use acd::{AcdConfig, AgentConfig, QueueConfig};
pub use campaign::CampaignConfig;
pub use source::{ConfigError, ConfigErrors, Source, parse_duration_ms};

/// Where a call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The extension whose number was dialled (dial-plan routes only).
    DialledExtension,
    /// A fixed extension.
    Extension(String),
    /// A ring group by number.
    Group(String),
    /// Out through a trunk group, by name.
    Trunk(String),
    /// Refuse the call.
    Hangup,
    /// An IVR flow, by name.
    Ivr(String),
    /// An ACD queue, by name.
    Queue(String),
    /// An ACD agent, by id: the extension the agent is logged in at, when
    /// the agent is logged in and free (dial-plan routes only; IVR transfer
    /// nodes and the API take `agent:ID` too).
    Agent(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::DialledExtension => f.write_str("ext"),
            Target::Extension(n) => write!(f, "ext:{n}"),
            Target::Group(n) => write!(f, "group:{n}"),
            Target::Trunk(n) => write!(f, "trunk:{n}"),
            Target::Hangup => f.write_str("hangup"),
            Target::Ivr(n) => write!(f, "ivr:{n}"),
            Target::Queue(n) => write!(f, "queue:{n}"),
            Target::Agent(n) => write!(f, "agent:{n}"),
        }
    }
}

/// How a trunk group picks a free line for an outgoing call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hunt {
    /// Lowest free channel first.
    Ascending,
    /// Highest free channel first (keeps low ones for inbound).
    Descending,
    /// Next free channel after the last one used.
    RoundRobin,
}

/// Which caller-ID signal an FXO line expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerIdMode {
    /// The country's usual (FSK Bell 202 in CN/US, V.23 in EU/UK/RU…).
    Auto,
    Bell202,
    V23,
    Dtmf,
    None,
}

/// How an FXO line learns the far end hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Disconnect {
    pub loop_drop: bool,
    pub busy_tone: bool,
    pub polarity: bool,
    /// Hang up after this much silence (ms).
    pub silence_ms: Option<u64>,
}

/// A group of FXO lines to one exchange.
#[derive(Debug, Clone)]
pub struct Trunk {
    pub name: String,
    pub channels: Vec<ChannelId>,
    pub hunt: Hunt,
    pub number: Option<String>,
    pub answer_after_rings: u8,
    pub answer_on_caller_id: bool,
    pub caller_id: CallerIdMode,
    pub disconnect: Disconnect,
    pub inbound: Target,
    /// Wait for dial tone before dialling (`None`: dial blind after this
    /// many ms).
    pub blind_dial_ms: Option<u64>,
    span: Range<usize>,
    channels_span: Range<usize>,
}

/// A phone on an FXS port.
#[derive(Debug, Clone)]
pub struct Extension {
    pub number: String,
    pub name: String,
    pub channel: ChannelId,
    /// Send caller ID to the phone when ringing it.
    pub caller_id: bool,
    /// When we hang up on the off-hook phone, withdraw loop current this
    /// long before the busy tone (an open-loop disconnect that answering
    /// machines, headsets and auto-answer phones act on); `None`: tone only.
    pub release_loop_open_ms: Option<u32>,
    channel_span: Range<usize>,
}

/// How a ring group rings its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingStrategy {
    /// All at once; the first to answer takes the call.
    Simultaneous,
    /// One after another, `ring_ms` each.
    Sequential,
}

#[derive(Debug, Clone)]
pub struct RingGroup {
    pub number: String,
    pub name: String,
    pub members: Vec<String>,
    pub strategy: RingStrategy,
    pub ring_ms: u64,
    pub no_answer: Target,
}

/// One dial-plan route: dialled digits matching `pattern` go to `to`.
#[derive(Debug, Clone)]
pub struct Route {
    pub pattern: String,
    pub matcher: Pattern,
    pub to: Target,
    /// Digits removed from the front before sending out a trunk.
    pub strip: usize,
    /// Digits added in front after stripping.
    pub prefix: String,
}

#[derive(Debug, Clone)]
pub struct DialPlan {
    /// When an extension has dialled enough.
    pub digit_map: DigitMap,
    /// The map's patterns as written, then `CODE.` for each ACD feature
    /// code the written ones do not collect.
    pub digit_map_text: Vec<String>,
    pub first_digit_ms: u64,
    pub interdigit_ms: u64,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Supervisor,
    Agent,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "supervisor" => Some(Role::Supervisor),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
        }
    }
}

/// A password as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    /// An argon2 PHC string (`$argon2id$…`).
    Hash(String),
    /// A plain password (allowed, with a warning from `config check`).
    Plain(String),
}

#[derive(Debug, Clone)]
pub struct UserConfig {
    pub name: String,
    pub role: Role,
    pub password: Password,
    pub extension: Option<String>,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub source: Source,
    pub name: String,
    pub country: Country,
    pub data_dir: PathBuf,
    /// A WAV file (any common format) played to held parties; `None`: the
    /// built-in music.
    pub music_on_hold: Option<PathBuf>,
    pub listen: SocketAddr,
    pub token_ttl_ms: u64,
    pub board: String,
    pub trunks: Vec<Trunk>,
    pub extensions: Vec<Extension>,
    pub ring_groups: Vec<RingGroup>,
    pub dial_plan: DialPlan,
    pub users: Vec<UserConfig>,
    /// Tone overrides: kind → pattern, in file order.
    pub tones: Vec<(ToneKind, String)>,
    /// The IVR: where flows are, and the CRM for webhooks.
    pub ivr: IvrConfig,
    /// `[acd]`: the agents' feature codes.
    pub acd: AcdConfig,
    /// `[[queue]]`s, in file order.
    pub queues: Vec<QueueConfig>,
    /// `[[agent]]`s, in file order.
    pub agents: Vec<AgentConfig>,
    /// `[[campaign]]`s, in file order.
    pub campaigns: Vec<CampaignConfig>,
    /// Things that work but deserve a look (`config check` prints them).
    pub warnings: Vec<ConfigError>,
}

/// The `[ivr]` section.
#[derive(Debug, Clone, Default)]
pub struct IvrConfig {
    /// The flow directory (one flow per `*.toml`, prompts under
    /// `prompts/`); relative paths are taken from the config file's
    /// directory. `None`: no `[ivr] dir` and no `ivr/` next to the file.
    pub dir: Option<PathBuf>,
    /// Base URL that relative webhook URLs are joined to.
    pub crm_url: Option<String>,
    /// Every `ivr:FLOW` target in the file with where it was written, so
    /// a missing flow is reported at its line once flows are loaded.
    pub refs: Vec<(String, Range<usize>)>,
}

/// Collects errors while validating.
struct Checker<'s> {
    src: &'s Source,
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
}

impl Checker<'_> {
    fn err(&mut self, span: Range<usize>, msg: impl Into<String>) {
        self.errors.push(self.src.error(Some(span), msg));
    }
    fn warn(&mut self, span: Range<usize>, msg: impl Into<String>) {
        self.warnings.push(self.src.error(Some(span), msg));
    }
    fn duration(&mut self, v: &Option<Spanned<String>>, what: &str, default_ms: u64) -> u64 {
        match v {
            None => default_ms,
            Some(s) => match parse_duration_ms(s.get_ref()) {
                Ok(ms) => ms,
                Err(e) => {
                    self.err(s.span(), format!("{what}: {e}"));
                    default_ms
                }
            },
        }
    }
}

/// Parse `1-4,7,9-10` into channel numbers.
pub fn parse_channels(text: &str) -> Result<Vec<ChannelId>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |s: &str| -> Result<u16, String> {
            let n: u16 = s.trim().parse().map_err(|_| format!("`{s}` is not a channel number"))?;
            if n == 0 {
                return Err("channels are numbered from 1".into());
            }
            Ok(n)
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("range `{part}` runs backwards"));
                }
                out.extend((a..=b).map(ChannelId));
            }
            None => out.push(ChannelId(num(part)?)),
        }
    }
    if out.is_empty() {
        return Err("no channels listed (write e.g. \"1-4\" or \"1,3\")".into());
    }
    Ok(out)
}

/// Parse a call target: `ext`, `ext:801`, `group:600`, `trunk:pstn`,
/// `ivr:main`, `queue:sales`, `agent:A01`, `hangup`.
pub fn parse_target(text: &str) -> Result<Target, String> {
    let t = text.trim();
    let (kind, arg) = match t.split_once(':') {
        Some((k, a)) => (k, Some(a.trim())),
        None => (t, None),
    };
    match (kind, arg) {
        ("ext", None) => Ok(Target::DialledExtension),
        ("ext", Some(n)) if !n.is_empty() => Ok(Target::Extension(n.into())),
        ("group", Some(n)) if !n.is_empty() => Ok(Target::Group(n.into())),
        ("trunk", Some(n)) if !n.is_empty() => Ok(Target::Trunk(n.into())),
        ("hangup", None) => Ok(Target::Hangup),
        ("ivr", Some(n)) if !n.is_empty() => Ok(Target::Ivr(n.into())),
        ("queue", Some(n)) if !n.is_empty() => Ok(Target::Queue(n.into())),
        ("agent", Some(n)) if !n.is_empty() => Ok(Target::Agent(n.into())),
        _ => Err(format!(
            "`{t}` is not a call target (use ext, ext:NUMBER, group:NUMBER, trunk:NAME, ivr:FLOW, queue:NAME, agent:ID or hangup)"
        )),
    }
}

fn is_dial_string(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
}

impl Config {
    /// Parse and check a config file's text. `name` is shown in errors.
    pub fn parse(name: &str, text: &str) -> Result<Config, ConfigErrors> {
        let src = Source::new(name, text);
        let raw: raw::RawConfig = match toml::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                let msg = e.message().to_string();
                return Err(ConfigErrors(vec![src.error(e.span(), msg)]));
            }
        };
        let mut ck = Checker { src: &src, errors: Vec::new(), warnings: Vec::new() };

        // [system]
        let mut name = "ctibox".to_string();
        let mut country = Country::Cn;
        let mut data_dir = PathBuf::from("/var/lib/ctibox");
        let mut music_on_hold = None;
        if let Some(sys) = &raw.system {
            if let Some(m) = &sys.music_on_hold {
                if m.get_ref().trim().is_empty() {
                    ck.err(m.span(), "music_on_hold is empty (leave it out for the built-in music)");
                } else {
                    music_on_hold = Some(PathBuf::from(m.get_ref()));
                }
            }
            if let Some(n) = &sys.name {
                name = n.get_ref().clone();
            }
            if let Some(c) = &sys.country {
                match c.get_ref().parse::<Country>() {
                    Ok(c) => country = c,
                    Err(e) => ck.err(c.span(), format!("country: {e}")),
                }
            }
            if let Some(d) = &sys.data_dir {
                if d.get_ref().trim().is_empty() {
                    ck.err(d.span(), "data_dir is empty");
                }
                data_dir = PathBuf::from(d.get_ref());
            }
        }

        // [api]
        let mut listen: SocketAddr = ([127, 0, 0, 1], 8080).into();
        let mut token_ttl_ms = 12 * 3_600_000;
        if let Some(api) = &raw.api {
            if let Some(l) = &api.listen {
                match l.get_ref().parse::<SocketAddr>() {
                    Ok(a) => listen = a,
                    Err(_) => ck.err(l.span(), format!("listen: `{}` is not an address:port", l.get_ref())),
                }
            }
            token_ttl_ms = ck.duration(&api.token_ttl, "token_ttl", token_ttl_ms);
        }

        // [board]
        let board = match &raw.board {
            Some(b) => {
                let be = &b.backend;
                if let Err(e) = check_backend(be.get_ref()) {
                    ck.err(be.span(), e);
                }
                be.get_ref().clone()
            }
            None => "builtin".to_string(),
        };

        // [[trunk]]
        let mut trunks = Vec::new();
        let mut used: HashMap<u16, String> = HashMap::new();
        let mut trunk_names = HashSet::new();
        for t in &raw.trunks {
            let span = t.span();
            let t = t.get_ref();
            let tname = t.name.get_ref().trim().to_string();
            if tname.is_empty() {
                ck.err(t.name.span(), "trunk name is empty");
            } else if !trunk_names.insert(tname.clone()) {
                ck.err(t.name.span(), format!("there is already a trunk named `{tname}`"));
            }
            let channels = match parse_channels(t.channels.get_ref()) {
                Ok(c) => c,
                Err(e) => {
                    ck.err(t.channels.span(), format!("channels: {e}"));
                    Vec::new()
                }
            };
            for c in &channels {
                if let Some(other) = used.insert(c.0, format!("trunk `{tname}`")) {
                    ck.err(t.channels.span(), format!("channel {c} is already used by {other}"));
                }
            }
            let hunt = match t.hunt.as_ref().map(|h| (h.get_ref().as_str(), h.span())) {
                None | Some(("ascending", _)) => Hunt::Ascending,
                Some(("descending", _)) => Hunt::Descending,
                Some(("round_robin", _)) => Hunt::RoundRobin,
                Some((other, sp)) => {
                    ck.err(sp, format!("hunt: `{other}` is not ascending, descending or round_robin"));
                    Hunt::Ascending
                }
            };
            if let Some(n) = &t.number
                && !is_dial_string(n.get_ref())
            {
                ck.err(n.span(), format!("number `{}` must be digits (at most 32)", n.get_ref()));
            }
            let answer_after_rings = match &t.answer_after_rings {
                None => 2,
                Some(r) if (0..=15).contains(r.get_ref()) => *r.get_ref() as u8,
                Some(r) => {
                    ck.err(r.span(), format!("answer_after_rings must be 0 to 15, not {}", r.get_ref()));
                    2
                }
            };
            let caller_id = match t.caller_id.as_ref().map(|c| (c.get_ref().as_str(), c.span())) {
                None | Some(("auto", _)) => CallerIdMode::Auto,
                Some(("bell202", _)) => CallerIdMode::Bell202,
                Some(("v23", _)) => CallerIdMode::V23,
                Some(("dtmf", _)) => CallerIdMode::Dtmf,
                Some(("none", _)) => CallerIdMode::None,
                Some((other, sp)) => {
                    ck.err(sp, format!("caller_id: `{other}` is not auto, bell202, v23, dtmf or none"));
                    CallerIdMode::Auto
                }
            };
            let mut disconnect = Disconnect::default();
            match &t.disconnect {
                None => {
                    disconnect.loop_drop = true;
                    disconnect.busy_tone = true;
                }
                Some(list) => {
                    for d in list.get_ref() {
                        match d.get_ref().as_str() {
                            "loop_drop" => disconnect.loop_drop = true,
                            "busy_tone" => disconnect.busy_tone = true,
                            "polarity" => disconnect.polarity = true,
                            "silence" => disconnect.silence_ms = Some(60_000),
                            other => ck.err(
                                d.span(),
                                format!("disconnect: `{other}` is not loop_drop, busy_tone, polarity or silence"),
                            ),
                        }
                    }
                    if list.get_ref().is_empty() {
                        ck.err(list.span(), "disconnect lists no signal: the line would never hang up by itself");
                    }
                }
            }
            if let Some(s) = &t.silence_timeout {
                let ms = ck.duration(&t.silence_timeout, "silence_timeout", 60_000);
                if disconnect.silence_ms.is_none() {
                    ck.warn(s.span(), "silence_timeout is set but `silence` is not in disconnect: it has no effect");
                } else {
                    disconnect.silence_ms = Some(ms);
                }
            }
            let inbound = match parse_target(t.inbound.get_ref()) {
                Ok(Target::DialledExtension) => {
                    ck.err(
                        t.inbound.span(),
                        "inbound: `ext` alone only makes sense in the dial plan; name one (ext:801)",
                    );
                    Target::Hangup
                }
                Ok(Target::Trunk(_)) => {
                    ck.err(t.inbound.span(), "inbound: a trunk cannot send its calls out through a trunk");
                    Target::Hangup
                }
                Ok(x) => x,
                Err(e) => {
                    ck.err(t.inbound.span(), format!("inbound: {e}"));
                    Target::Hangup
                }
            };
            let blind_dial_ms = match t.dial_tone.as_ref().map(|d| (d.get_ref().as_str(), d.span())) {
                None | Some(("wait", _)) => None,
                Some((other, sp)) => match other.strip_prefix("blind:").map(parse_duration_ms) {
                    Some(Ok(ms)) => Some(ms),
                    Some(Err(e)) => {
                        ck.err(sp, format!("dial_tone: {e}"));
                        None
                    }
                    None => {
                        ck.err(sp, format!("dial_tone: `{other}` is not `wait` or `blind:DURATION` (e.g. blind:2s)"));
                        None
                    }
                },
            };
            trunks.push(Trunk {
                name: tname,
                channels,
                hunt,
                number: t.number.as_ref().map(|n| n.get_ref().clone()),
                answer_after_rings,
                answer_on_caller_id: t.answer_on_caller_id.as_ref().is_some_and(|b| *b.get_ref()),
                caller_id,
                disconnect,
                inbound,
                blind_dial_ms,
                span,
                channels_span: t.channels.span(),
            });
        }

        // [[extension]]
        let mut extensions = Vec::new();
        let mut numbers: HashMap<String, &'static str> = HashMap::new();
        for e in &raw.extensions {
            let e = e.get_ref();
            let number = e.number.get_ref().trim().to_string();
            if !is_dial_string(&number) {
                ck.err(e.number.span(), format!("extension number `{number}` must be digits, * or # (at most 32)"));
            } else if numbers.insert(number.clone(), "extension").is_some() {
                ck.err(e.number.span(), format!("extension {number} is defined twice"));
            }
            let ch = match u16::try_from(*e.channel.get_ref()) {
                Ok(c) if c > 0 => ChannelId(c),
                _ => {
                    ck.err(e.channel.span(), format!("channel {} is not a channel number", e.channel.get_ref()));
                    ChannelId(0)
                }
            };
            if ch.0 > 0
                && let Some(other) = used.insert(ch.0, format!("extension {number}"))
            {
                ck.err(e.channel.span(), format!("channel {ch} is already used by {other}"));
            }
            extensions.push(Extension {
                name: e.name.as_ref().map(|n| n.get_ref().clone()).unwrap_or_else(|| format!("Extension {number}")),
                number,
                channel: ch,
                caller_id: e.caller_id.as_ref().is_none_or(|b| *b.get_ref()),
                release_loop_open_ms: match &e.release_loop_open {
                    None => None,
                    Some(v) => match ck.duration(&Some(v.clone()), "release_loop_open", 0) {
                        0 => None,
                        ms if (50..=5000).contains(&ms) => Some(ms as u32),
                        ms => {
                            ck.err(
                                v.span(),
                                format!("release_loop_open: {ms} ms is outside 50 ms–5 s (0 turns it off)"),
                            );
                            None
                        }
                    },
                },
                channel_span: e.channel.span(),
            });
        }

        // [[ring_group]]
        let mut ring_groups = Vec::new();
        let ext_numbers: HashSet<String> = extensions.iter().map(|e| e.number.clone()).collect();
        for g in &raw.ring_groups {
            let g = g.get_ref();
            let number = g.number.get_ref().trim().to_string();
            if !is_dial_string(&number) {
                ck.err(g.number.span(), format!("ring group number `{number}` must be digits, * or #"));
            } else if let Some(kind) = numbers.insert(number.clone(), "ring group") {
                ck.err(g.number.span(), format!("number {number} is already used by a {kind}"));
            }
            for m in g.members.get_ref() {
                if !ext_numbers.contains(m.get_ref()) {
                    ck.err(m.span(), format!("member {} is not an extension", m.get_ref()));
                }
            }
            if g.members.get_ref().is_empty() {
                ck.err(g.members.span(), "a ring group needs at least one member");
            }
            let strategy = match g.strategy.as_ref().map(|s| (s.get_ref().as_str(), s.span())) {
                None | Some(("simultaneous", _)) => RingStrategy::Simultaneous,
                Some(("sequential", _)) => RingStrategy::Sequential,
                Some((other, sp)) => {
                    ck.err(sp, format!("strategy: `{other}` is not simultaneous or sequential"));
                    RingStrategy::Simultaneous
                }
            };
            let ring_ms = ck.duration(&g.ring_time, "ring_time", 30_000);
            let no_answer = match &g.no_answer {
                None => Target::Hangup,
                Some(t) => match parse_target(t.get_ref()) {
                    Ok(Target::DialledExtension) | Ok(Target::Trunk(_)) => {
                        ck.err(t.span(), "no_answer: use ext:NUMBER, group:NUMBER, queue:NAME, ivr:FLOW or hangup");
                        Target::Hangup
                    }
                    Ok(x) => x,
                    Err(e) => {
                        ck.err(t.span(), format!("no_answer: {e}"));
                        Target::Hangup
                    }
                },
            };
            ring_groups.push(RingGroup {
                name: g.name.as_ref().map(|n| n.get_ref().clone()).unwrap_or_else(|| format!("Group {number}")),
                number,
                members: g.members.get_ref().iter().map(|m| m.get_ref().clone()).collect(),
                strategy,
                ring_ms,
                no_answer,
            });
        }

        // [dial_plan]
        let default_map = ["[1-8]XX", "9.", "0"];
        let (mut map_text, mut first_digit_ms, mut interdigit_ms) =
            (default_map.iter().map(|s| s.to_string()).collect::<Vec<_>>(), 10_000, 4_000);
        let mut routes = Vec::new();
        let mut map_span = 0..0;
        if let Some(dp) = &raw.dial_plan {
            if let Some(m) = &dp.digit_map {
                map_span = m.span();
                map_text = Vec::new();
                for p in m.get_ref() {
                    if let Err(e) = Pattern::parse(p.get_ref()) {
                        ck.err(p.span(), format!("digit_map: `{}`: {e}", p.get_ref()));
                    }
                    map_text.push(p.get_ref().clone());
                }
            }
            first_digit_ms = ck.duration(&dp.first_digit_timeout, "first_digit_timeout", first_digit_ms);
            interdigit_ms = ck.duration(&dp.interdigit_timeout, "interdigit_timeout", interdigit_ms);
            for r in &dp.routes {
                let r = r.get_ref();
                let matcher = match Pattern::parse(r.pattern.get_ref()) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        ck.err(r.pattern.span(), format!("pattern `{}`: {e}", r.pattern.get_ref()));
                        None
                    }
                };
                let to = match parse_target(r.to.get_ref()) {
                    Ok(t) => t,
                    Err(e) => {
                        ck.err(r.to.span(), format!("to: {e}"));
                        Target::Hangup
                    }
                };
                let strip = match &r.strip {
                    None => 0,
                    Some(s) if (0..=31).contains(s.get_ref()) => *s.get_ref() as usize,
                    Some(s) => {
                        ck.err(s.span(), format!("strip must be 0 to 31, not {}", s.get_ref()));
                        0
                    }
                };
                let prefix = match &r.prefix {
                    None => String::new(),
                    Some(p) if p.get_ref().is_empty() || is_dial_string(p.get_ref()) => p.get_ref().clone(),
                    Some(p) => {
                        ck.err(p.span(), format!("prefix `{}` must be digits, * or #", p.get_ref()));
                        String::new()
                    }
                };
                if let Some(matcher) = matcher {
                    routes.push(Route { pattern: r.pattern.get_ref().clone(), matcher, to, strip, prefix });
                }
            }
        }
        // [acd] feature codes, and the digit-map patterns that collect them.
        let (acd_config, code_patterns) = acd::feature_codes(&mut ck, &raw, &map_text);
        map_text.extend(code_patterns);
        let digit_map = match DigitMap::from_patterns(map_text.iter().map(String::as_str)) {
            Ok(m) => m,
            Err(e) => {
                if ck.errors.is_empty() {
                    ck.err(map_span.clone(), format!("digit_map: {e}"));
                }
                DigitMap::from_patterns(default_map).unwrap_or_else(|_| DigitMap::default())
            }
        };

        // Cross references: targets must exist.
        let group_numbers: HashSet<&str> = ring_groups.iter().map(|g| g.number.as_str()).collect();
        let trunk_set: HashSet<&str> = trunks.iter().map(|t| t.name.as_str()).collect();
        let queue_names = acd::queue_names(&raw);
        let agent_ids: HashSet<&str> = raw.agents.iter().map(|a| a.get_ref().id.get_ref().trim()).collect();
        let check_target = |t: &Target| -> Option<String> {
            match t {
                Target::Agent(id) if !agent_ids.contains(id.as_str()) => Some(format!("there is no agent `{id}`")),
                Target::Extension(n) if !ext_numbers.contains(n) => Some(format!("there is no extension {n}")),
                Target::Group(n) if !group_numbers.contains(n.as_str()) => Some(format!("there is no ring group {n}")),
                Target::Trunk(n) if !trunk_set.contains(n.as_str()) => Some(format!("there is no trunk `{n}`")),
                Target::Queue(n) if !queue_names.contains(n) => Some(format!("there is no queue `{n}`")),
                _ => None,
            }
        };
        // A caller sent to an agent who is away needs somewhere else to go;
        // only a person dialling (who hears busy and can try again) or an
        // IVR transfer node (with its on_failure) has one.
        let agent_elsewhere = |t: &Target| match t {
            Target::Agent(id) => Some(format!(
                "`agent:{id}` is a dial-plan target only: a caller needs somewhere to go when the agent is away \
                 (send the call to an IVR flow whose transfer node has an on_failure)"
            )),
            _ => None,
        };
        for (t, raw_t) in trunks.iter().zip(&raw.trunks) {
            if let Some(e) = agent_elsewhere(&t.inbound).or_else(|| check_target(&t.inbound)) {
                ck.err(raw_t.get_ref().inbound.span(), format!("inbound: {e}"));
            }
        }
        for (g, raw_g) in ring_groups.iter().zip(&raw.ring_groups) {
            if let (Some(e), Some(sp)) = (
                agent_elsewhere(&g.no_answer).or_else(|| check_target(&g.no_answer)),
                raw_g.get_ref().no_answer.as_ref(),
            ) {
                ck.err(sp.span(), format!("no_answer: {e}"));
            }
        }
        if let Some(dp) = &raw.dial_plan {
            for (r, raw_r) in
                routes.iter().zip(dp.routes.iter().filter(|r| Pattern::parse(r.get_ref().pattern.get_ref()).is_ok()))
            {
                if let Some(e) = check_target(&r.to) {
                    ck.err(raw_r.get_ref().to.span(), format!("to: {e}"));
                }
            }
        }

        // [ivr]
        let mut ivr = IvrConfig::default();
        if let Some(i) = &raw.ivr {
            if let Some(d) = &i.dir {
                if d.get_ref().trim().is_empty() {
                    ck.err(d.span(), "ivr dir is empty (leave it out for `ivr/` next to this file)");
                } else {
                    ivr.dir = Some(PathBuf::from(d.get_ref()));
                }
            }
            if let Some(u) = &i.crm_url {
                let t = u.get_ref().trim();
                if !(t.starts_with("http://") || t.starts_with("https://")) || t.len() < 8 {
                    ck.err(u.span(), format!("crm_url: `{t}` is not an http:// or https:// URL"));
                } else {
                    ivr.crm_url = Some(t.to_string());
                }
            }
        }
        let mut note_ivr = |t: &Target, span: Option<Range<usize>>| {
            if let (Target::Ivr(n), Some(sp)) = (t, span) {
                ivr.refs.push((n.clone(), sp));
            }
        };
        for (t, raw_t) in trunks.iter().zip(&raw.trunks) {
            note_ivr(&t.inbound, Some(raw_t.get_ref().inbound.span()));
        }
        for (g, raw_g) in ring_groups.iter().zip(&raw.ring_groups) {
            note_ivr(&g.no_answer, raw_g.get_ref().no_answer.as_ref().map(|s| s.span()));
        }
        if let Some(dp) = &raw.dial_plan {
            for (r, raw_r) in
                routes.iter().zip(dp.routes.iter().filter(|r| Pattern::parse(r.get_ref().pattern.get_ref()).is_ok()))
            {
                note_ivr(&r.to, Some(raw_r.get_ref().to.span()));
            }
        }

        // [[user]]
        let mut users = Vec::new();
        let mut user_names = HashSet::new();
        for u in &raw.users {
            let span = u.span();
            let u = u.get_ref();
            let uname = u.name.get_ref().trim().to_string();
            if uname.is_empty() || uname.len() > 64 || uname.chars().any(|c| c.is_whitespace() || c.is_control()) {
                ck.err(u.name.span(), format!("user name `{uname}` must be 1 to 64 characters without spaces"));
            } else if !user_names.insert(uname.clone()) {
                ck.err(u.name.span(), format!("user {uname} is defined twice"));
            }
            let role = match Role::parse(u.role.get_ref()) {
                Some(r) => r,
                None => {
                    ck.err(u.role.span(), format!("role `{}` is not admin, supervisor or agent", u.role.get_ref()));
                    Role::Agent
                }
            };
            let password = match (&u.password_hash, &u.password) {
                (Some(h), None) => {
                    if !h.get_ref().starts_with("$argon2") {
                        ck.err(
                            h.span(),
                            "password_hash must be an argon2 hash (make one with `ctiboxd hash-password`)",
                        );
                    }
                    Password::Hash(h.get_ref().clone())
                }
                (None, Some(p)) => {
                    if p.get_ref().is_empty() {
                        ck.err(p.span(), "password is empty");
                    }
                    ck.warn(
                        p.span(),
                        format!(
                            "user {uname}: plain-text password in the config; store password_hash instead \
                             (`ctiboxd hash-password`)"
                        ),
                    );
                    Password::Plain(p.get_ref().clone())
                }
                (Some(_), Some(p)) => {
                    ck.err(p.span(), "give password_hash or password, not both");
                    Password::Plain(String::new())
                }
                (None, None) => {
                    ck.err(span.clone(), format!("user {uname} has no password_hash"));
                    Password::Plain(String::new())
                }
            };
            if let Some(x) = &u.extension
                && !ext_numbers.contains(x.get_ref())
            {
                ck.err(x.span(), format!("there is no extension {}", x.get_ref()));
            }
            users.push(UserConfig {
                name: uname,
                role,
                password,
                extension: u.extension.as_ref().map(|x| x.get_ref().clone()),
            });
        }

        // [[agent]], [[queue]]
        let known = acd::Known { extensions: &ext_numbers, ring_groups: &ring_groups, users: &users, country };
        let (queues, agents) = acd::queues_and_agents(&mut ck, &raw, &known, &mut ivr.refs);

        // [[campaign]]
        let campaigns = campaign::campaigns(&mut ck, &raw, &queues, &trunks);

        // [tones]
        let mut tones: Vec<(ToneKind, String)> = Vec::new();
        for (k, v) in &raw.tones {
            let kind = match k.get_ref().parse::<ToneKind>() {
                Ok(kind) => kind,
                Err(e) => {
                    ck.err(k.span(), format!("tones: `{}`: {e}", k.get_ref()));
                    continue;
                }
            };
            match parse_pattern(v.get_ref(), ctibox_driver::dsp::tones::DEFAULT_TONE_LEVEL_DBM0) {
                Ok(_) => tones.push((kind, v.get_ref().clone())),
                Err(e) => ck.err(v.span(), format!("tones: {} = \"{}\": {e}", k.get_ref(), v.get_ref())),
            }
        }

        if ck.errors.is_empty() {
            let warnings = ck.warnings;
            Ok(Config {
                name,
                country,
                data_dir,
                music_on_hold,
                listen,
                token_ttl_ms,
                board,
                trunks,
                extensions,
                ring_groups,
                dial_plan: DialPlan { digit_map, digit_map_text: map_text, first_digit_ms, interdigit_ms, routes },
                users,
                tones,
                ivr,
                acd: acd_config,
                queues,
                agents,
                campaigns,
                warnings,
                source: src,
            })
        } else {
            let mut errors = ck.errors;
            errors.sort_by_key(|e| (e.line, e.col));
            Err(ConfigErrors(errors))
        }
    }

    /// Read and check a config file.
    pub fn load(path: &std::path::Path) -> Result<Config, ConfigErrors> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut c = Config::parse(&name, &text)?;
                // The IVR directory is relative to the file; `ivr/` next
                // to it is used when it exists.
                let base = path.parent().unwrap_or(std::path::Path::new("."));
                c.ivr.dir = match c.ivr.dir.take() {
                    Some(d) if d.is_relative() => Some(base.join(d)),
                    Some(d) => Some(d),
                    None => Some(base.join("ivr")).filter(|d| d.is_dir()),
                };
                // So is a queue's music.
                for q in &mut c.queues {
                    if let Some(m) = q.music_on_hold.take() {
                        q.music_on_hold = Some(if m.is_relative() { base.join(m) } else { m });
                    }
                }
                Ok(c)
            }
            Err(e) => Err(ConfigErrors(vec![ConfigError {
                file: name,
                line: None,
                col: None,
                message: format!("cannot read: {e}"),
            }])),
        }
    }

    /// The built-in demo configuration.
    pub fn demo() -> Config {
        match Config::parse("<built-in demo config>", demo::DEMO_CONFIG) {
            Ok(c) => c,
            // The demo is checked by a unit test; this cannot happen in a
            // released build.
            Err(e) => panic!("the built-in demo config is invalid:\n{e}"),
        }
    }

    /// Check channel numbers and kinds against the opened board.
    pub fn check_board(&self, info: &BoardInfo) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        let last = info.channel_count();
        for t in &self.trunks {
            for &c in &t.channels {
                match info.channel(c) {
                    None => errors.push(self.source.error(
                        Some(t.channels_span.clone()),
                        format!(
                            "trunk `{}`: channel {c} does not exist (board {} has channels 1-{last})",
                            t.name, info.name
                        ),
                    )),
                    Some(ch) if ch.kind != ChannelKind::Fxo => errors.push(self.source.error(
                        Some(t.channels_span.clone()),
                        format!("trunk `{}`: channel {c} is an {} port; trunks need FXO ports", t.name, ch.kind.name()),
                    )),
                    Some(_) => {}
                }
            }
            let _ = &t.span;
        }
        for e in &self.extensions {
            match info.channel(e.channel) {
                None => errors.push(self.source.error(
                    Some(e.channel_span.clone()),
                    format!(
                        "extension {}: channel {} does not exist (board {} has channels 1-{last})",
                        e.number, e.channel, info.name
                    ),
                )),
                Some(ch) if ch.kind != ChannelKind::Fxs => errors.push(self.source.error(
                    Some(e.channel_span.clone()),
                    format!(
                        "extension {}: channel {} is an {} port; phones need FXS ports",
                        e.number,
                        e.channel,
                        ch.kind.name()
                    ),
                )),
                Some(_) => {}
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(ConfigErrors(errors)) }
    }

    pub fn extension(&self, number: &str) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.number == number)
    }
    pub fn extension_on(&self, ch: ChannelId) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.channel == ch)
    }
    pub fn trunk(&self, name: &str) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.name == name)
    }
    pub fn trunk_on(&self, ch: ChannelId) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.channels.contains(&ch))
    }
    pub fn ring_group(&self, number: &str) -> Option<&RingGroup> {
        self.ring_groups.iter().find(|g| g.number == number)
    }
    pub fn queue(&self, name: &str) -> Option<&QueueConfig> {
        self.queues.iter().find(|q| q.spec.name == name)
    }
    pub fn agent(&self, id: &str) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| a.spec.id == id)
    }
    pub fn campaign(&self, name: &str) -> Option<&CampaignConfig> {
        self.campaigns.iter().find(|c| c.spec.name == name)
    }
    /// The agent an API user is (`user = "alice"` in its `[[agent]]`).
    pub fn agent_of_user(&self, user: &str) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| a.user.as_deref() == Some(user))
    }
    /// The first route whose pattern matches the dialled digits completely.
    pub fn route(&self, digits: &str) -> Option<&Route> {
        use ctibox_driver::signaling::digitmap::PatternMatch;
        self.dial_plan
            .routes
            .iter()
            .find(|r| matches!(r.matcher.check(digits.as_bytes()), PatternMatch::Full | PatternMatch::FullOpen))
    }
}

/// Check a board string's kind (and a builtin's options) without opening
/// it.
fn check_backend(spec: &str) -> Result<(), String> {
    let s = ctibox_driver::backend::BoardSpec::parse(spec);
    match s.kind {
        "builtin" => ctibox_boardsim::open::parse_builtin(s.arg).map(|_| ()).map_err(|e| format!("backend: {e}")),
        "sim" | "dahdi" | "modem" => Ok(()),
        other => Err(format!("backend: unknown kind `{other}` (use builtin, sim, dahdi or modem)")),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_acd;
