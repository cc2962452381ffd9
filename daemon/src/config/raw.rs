//! The config file as written: serde structs that keep every value's span
//! so validation can point at the line. Unknown keys are errors.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub system: Option<RawSystem>,
    #[serde(default)]
    pub api: Option<RawApi>,
    #[serde(default)]
    pub board: Option<RawBoard>,
    #[serde(default)]
    pub ivr: Option<RawIvr>,
    #[serde(default, rename = "trunk")]
    pub trunks: Vec<Spanned<RawTrunk>>,
    #[serde(default, rename = "extension")]
    pub extensions: Vec<Spanned<RawExtension>>,
    #[serde(default, rename = "ring_group")]
    pub ring_groups: Vec<Spanned<RawRingGroup>>,
    #[serde(default)]
    pub dial_plan: Option<RawDialPlan>,
    #[serde(default, rename = "user")]
    pub users: Vec<Spanned<RawUser>>,
    /// Call-progress tone overrides: kind → pattern (e.g. a learned one).
    #[serde(default)]
    pub tones: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub acd: Option<RawAcd>,
    #[serde(default, rename = "queue")]
    pub queues: Vec<Spanned<RawQueue>>,
    #[serde(default, rename = "agent")]
    pub agents: Vec<Spanned<RawAgent>>,
    #[serde(default, rename = "campaign")]
    pub campaigns: Vec<Spanned<RawCampaign>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSystem {
    pub name: Option<Spanned<String>>,
    pub country: Option<Spanned<String>>,
    pub data_dir: Option<Spanned<String>>,
    pub music_on_hold: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    pub listen: Option<Spanned<String>>,
    pub token_ttl: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIvr {
    pub dir: Option<Spanned<String>>,
    pub crm_url: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBoard {
    pub backend: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrunk {
    pub name: Spanned<String>,
    pub channels: Spanned<String>,
    pub hunt: Option<Spanned<String>>,
    /// Our published number on these lines (the called number of inbound
    /// calls, since analog lines carry none).
    pub number: Option<Spanned<String>>,
    pub answer_after_rings: Option<Spanned<i64>>,
    pub answer_on_caller_id: Option<Spanned<bool>>,
    pub caller_id: Option<Spanned<String>>,
    pub disconnect: Option<Spanned<Vec<Spanned<String>>>>,
    pub silence_timeout: Option<Spanned<String>>,
    pub inbound: Spanned<String>,
    pub dial_tone: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExtension {
    pub number: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub channel: Spanned<i64>,
    pub caller_id: Option<Spanned<bool>>,
    pub release_loop_open: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRingGroup {
    pub number: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub members: Spanned<Vec<Spanned<String>>>,
    pub strategy: Option<Spanned<String>>,
    pub ring_time: Option<Spanned<String>>,
    pub no_answer: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDialPlan {
    pub digit_map: Option<Spanned<Vec<Spanned<String>>>>,
    pub first_digit_timeout: Option<Spanned<String>>,
    pub interdigit_timeout: Option<Spanned<String>>,
    #[serde(default, rename = "route")]
    pub routes: Vec<Spanned<RawRoute>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub pattern: Spanned<String>,
    pub to: Spanned<String>,
    pub strip: Option<Spanned<i64>>,
    pub prefix: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    pub name: Spanned<String>,
    pub role: Spanned<String>,
    pub password_hash: Option<Spanned<String>>,
    pub password: Option<Spanned<String>>,
    pub extension: Option<Spanned<String>>,
}

/// `[acd]`: the agents' feature codes and the weighted-random seed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAcd {
    pub login_code: Option<Spanned<String>>,
    pub logout_code: Option<Spanned<String>>,
    pub ready_code: Option<Spanned<String>>,
    pub not_ready_code: Option<Spanned<String>>,
    pub seed: Option<Spanned<i64>>,
}

/// One `[[queue]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    pub name: Spanned<String>,
    pub title: Option<Spanned<String>>,
    pub strategy: Spanned<String>,
    pub members: Spanned<Vec<Spanned<String>>>,
    /// Agent id → share (weighted random).
    pub weights: Option<BTreeMap<Spanned<String>, Spanned<i64>>>,
    pub offer_timeout: Option<Spanned<String>>,
    pub no_answer: Option<Spanned<String>>,
    pub wrap_up: Option<Spanned<String>>,
    pub max_wait: Option<Spanned<String>>,
    pub max_len: Option<Spanned<i64>>,
    pub overflow: Option<Spanned<String>>,
    pub join_empty: Option<Spanned<bool>>,
    pub leave_empty: Option<Spanned<bool>>,
    pub relax: Option<Vec<Spanned<RawRelax>>>,
    pub sticky: Option<Spanned<String>>,
    pub service_level: Option<Spanned<String>>,
    pub announce: Option<Spanned<String>>,
    pub comfort: Option<Spanned<Vec<Spanned<String>>>>,
    pub comfort_every: Option<Spanned<String>>,
    pub music_on_hold: Option<Spanned<String>>,
    pub callback_key: Option<Spanned<String>>,
    pub language: Option<Spanned<String>>,
}

/// One skill-relaxation step: `{ after = "30s", lower = 1 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelax {
    pub after: Spanned<String>,
    /// A level (1–9) or `"any"`; checked in validation so the message can
    /// say both.
    pub lower: Spanned<toml::Value>,
}

/// One `[[agent]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAgent {
    pub id: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub pin: Option<Spanned<String>>,
    pub extension: Option<Spanned<String>>,
    /// Skill → level.
    pub skills: Option<BTreeMap<Spanned<String>, Spanned<i64>>>,
    pub user: Option<Spanned<String>>,
}

/// One `[[campaign]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCampaign {
    pub name: Spanned<String>,
    pub queue: Spanned<String>,
    pub trunk: Spanned<String>,
    pub caller_id: Option<Spanned<String>>,
    pub max_lines: Option<Spanned<i64>>,
    /// A number, integer or not; checked in validation.
    pub ratio: Option<Spanned<toml::Value>>,
    pub ring_timeout: Option<Spanned<String>>,
    pub agent_wait: Option<Spanned<String>>,
    pub mode: Option<Spanned<String>>,
    pub preview_timeout: Option<Spanned<String>>,
    pub hours: Option<Spanned<String>>,
    pub days: Option<Spanned<String>>,
    pub retry: Option<RawRetries>,
}

/// `retry.RESULT = { after = "5m", max = 3 }` of a campaign.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetries {
    pub busy: Option<Spanned<RawRetry>>,
    pub no_answer: Option<Spanned<RawRetry>>,
    pub fax: Option<Spanned<RawRetry>>,
    pub failed: Option<Spanned<RawRetry>>,
    pub abandoned: Option<Spanned<RawRetry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    pub after: Option<Spanned<String>>,
    pub max: Option<Spanned<i64>>,
}
