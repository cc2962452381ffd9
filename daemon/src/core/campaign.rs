//! Outbound campaigns in the call core: numbers are dialled through a
//! trunk's lines as the pure engine ([`crate::acd::campaign::Campaign`])
//! paces them; the line's call-progress analysis gives the result (busy,
//! no answer, fax, no dial tone, congestion, SIT); an answered party joins
//! the campaign's queue at the top priority and the ACD offers it to the
//! next ready agent, with the customer's screen pop. When no agent's phone
//! rings within the campaign's `agent_wait`, the party hears a short
//! apology (`campaign-sorry`) and the call is `abandoned`. Every dial and
//! result goes to the journal (`campaign_numbers`, `campaign_attempts`).
//!
//! The numbers come from the records on a worker thread at start, after a
//! reload and after an import ([`CoreRequest::CampaignNumbersAdded`]);
//! until they are in, the campaign dials nothing. Whether a campaign is
//! paused is kept in the records, so a restart keeps a paused campaign
//! paused.
//!
//! [`CoreRequest::CampaignNumbersAdded`]: super::api::CoreRequest::CampaignNumbersAdded

use std::collections::BTreeMap;

use ctibox_driver::engine::EngineCommand;
use ctibox_driver::hal::{BoardTime, ChannelId, Duration};
use ctibox_driver::media::player::PlayBuffer;
use ctibox_driver::signaling::analog::{DigitString, LineCommand, ProgressResult};

use super::Core;
use super::api::{
    CallId, CampaignView, ChannelStatus, CoreError, CoreReply, CoreRequest, CtiEventKind, LegId, LegStatus, PreviewView,
};
use super::ivr_io::IoJob;
use super::model::{Media, RingPurpose, Ringing};
use crate::acd::campaign::{
    AttemptCall, Campaign, CampaignSpec, DayTime, Dial, DialMode, FailReason, NumberEntry, Outcome,
};
use crate::config::Target;
use crate::ivr::flow::Lang;
use crate::ivr::interp::Spoken;
use crate::records::{
    CampaignNumberId, CampaignNumberRecord, Direction, HangupCause, JournalOp, LegRole, Stamp, phone::PhoneNumber,
};
use ctibox_driver::dsp::tones::Country;

/// The priority an answered campaign party gets in its queue (the top:
/// someone we called must not wait behind inbound callers).
const ANSWERED_PRIORITY: &str = "9";

/// A number a preview agent skipped (or let time out) is shown again
/// after this long.
const PREVIEW_AGAIN_MS: u64 = 5 * 60_000;

/// Room for the agent's phone to ring on an accepted preview.
const PREVIEW_RING_MS: u64 = 30_000;

/// A number shown to an agent (preview dialling).
#[derive(Debug, Clone)]
pub(crate) struct Preview {
    pub campaign: String,
    pub extension: String,
    pub dial: Dial,
    pub since: BoardTime,
}

/// A campaign the core runs.
#[derive(Debug)]
pub(crate) struct CampaignRun {
    pub engine: Campaign,
    /// The numbers are read from the records; until then nothing is
    /// dialled.
    pub loaded: bool,
    /// A read of the numbers is under way.
    pub loading: bool,
    /// Its calls out.
    pub calls: BTreeMap<CallId, Out>,
    /// Gone from the config: dropped once its calls end.
    pub retired: bool,
    /// Who paused or resumed it last, and when (wall ms).
    pub paused_by: Option<(String, i64)>,
}

/// One call of a campaign.
#[derive(Debug, Clone)]
pub(crate) struct Out {
    pub number: CampaignNumberId,
    pub started: Stamp,
    pub phase: Phase,
    /// The dial's result, known before the call is gone.
    pub outcome: Option<Outcome>,
    /// Preview dialling: the agent who accepted the number (on the call
    /// from the start).
    pub agent: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Preview: the agent's phone rings; the number is dialled once it
    /// answers.
    AgentRinging,
    /// Dialling or ringing.
    Dialing,
    /// Answered, in the queue; `since`: when it last had no agent's phone
    /// ringing for it.
    Waiting { since: BoardTime },
    /// No agent came: the apology plays (media id).
    Sorry { media: u32 },
    /// An agent took it.
    Connected,
}

/// Numbers of a campaign read from the records, and whether it was left
/// paused (who, when).
#[derive(Debug)]
pub struct CampaignLoad {
    pub campaign: String,
    pub numbers: Result<Vec<CampaignNumberRecord>, String>,
    pub paused: Option<(bool, String, i64)>,
}

/// Read a campaign's numbers and pause state (on a worker thread).
pub(crate) fn load_campaign(campaign: &str, reader: &crate::records::RecordsReader) -> CampaignLoad {
    let numbers = reader.campaign_numbers(campaign).map_err(|e| e.to_string());
    let paused = match reader.campaign_paused(campaign) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(campaign, "cannot read whether the campaign is paused: {e}");
            None
        }
    };
    CampaignLoad { campaign: campaign.to_string(), numbers, paused }
}

/// What is dialled for a number: digits; a leading `+` becomes the
/// country's international prefix.
fn dial_string(number: &str, country: Country) -> String {
    match number.strip_prefix('+') {
        Some(rest) => {
            let prefix = match country {
                Country::Us => "011",
                // Russian analog lines: 8, (second dial tone), 10.
                Country::Ru => "810",
                Country::Cn | Country::Uk | Country::Eu => "00",
            };
            format!("{prefix}{rest}")
        }
        None => number.to_string(),
    }
}

/// A little more than it takes to seize a line, hear dial tone and dial
/// `digits` DTMF digits: the ring timeout counts after it when no ringback
/// is heard.
fn dialling_allowance_ms(digits: usize) -> u64 {
    4_000 + 200 * digits as u64
}

impl Core {
    /// Start (or, after a reload, reconcile) the configured campaigns: new
    /// ones read their numbers; changed ones take the new settings; ones
    /// gone from the config stop dialling and go when their calls end.
    pub(crate) fn campaigns_sync(&mut self) {
        let specs: Vec<_> = self.config.campaigns.iter().map(|c| c.spec.clone()).collect();
        for run in self.campaigns.values_mut() {
            run.retired = true;
        }
        for spec in specs {
            let name = spec.name.clone();
            match self.campaigns.get_mut(&name) {
                Some(run) => {
                    run.retired = false;
                    run.engine.reconfigure(spec);
                }
                None => {
                    self.campaigns.insert(
                        name.clone(),
                        CampaignRun {
                            engine: Campaign::new(spec, Vec::new()),
                            loaded: false,
                            loading: false,
                            calls: BTreeMap::new(),
                            retired: false,
                            paused_by: None,
                        },
                    );
                    self.campaign_read(&name);
                }
            }
        }
        self.campaigns.retain(|_, r| !r.retired || !r.calls.is_empty());
    }

    /// Read a campaign's numbers from the records (again: numbers it has
    /// are left alone, new ones join).
    fn campaign_read(&mut self, name: &str) {
        let Some(run) = self.campaigns.get_mut(name) else { return };
        run.loading = true;
        self.ivr_io.submit(IoJob::Campaign { campaign: name.to_string(), reader: self.reader.clone() });
    }

    /// A campaign's numbers came from the records.
    pub(crate) fn campaign_loaded(&mut self, load: CampaignLoad) {
        let at = self.stamp();
        let Some(run) = self.campaigns.get_mut(&load.campaign) else { return };
        run.loading = false;
        let records = match load.numbers {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(campaign = load.campaign, "cannot read the campaign's numbers: {e}");
                return;
            }
        };
        let entries: Vec<NumberEntry> = records.iter().map(|r| NumberEntry::from_record(r, at)).collect();
        let first = !run.loaded;
        if first {
            let spec = run.engine.spec().clone();
            run.engine = Campaign::new(spec, entries);
            if let Some((paused, by, when)) = load.paused {
                if paused {
                    run.engine.pause();
                }
                run.paused_by = Some((by, when));
            }
            run.loaded = true;
        } else {
            run.engine.add_numbers(entries);
        }
        // Numbers put on the list while the read was under way may be
        // missing from what it read.
        for number in &self.dnc_during_read {
            run.engine.do_not_call(number);
        }
        if !self.campaigns.values().any(|r| r.loading) {
            self.dnc_during_read.clear();
        }
        let Some(run) = self.campaigns.get_mut(&load.campaign) else { return };
        let changes = run.engine.take_changes();
        let summary = run.engine.summary();
        tracing::info!(
            campaign = load.campaign,
            numbers = summary.numbers,
            pending = summary.pending,
            retry_wait = summary.retry_wait,
            done = summary.done,
            paused = summary.paused,
            "campaign numbers read"
        );
        for ch in changes {
            self.journal(ch.journal_op(None, at));
        }
    }

    /// Every tick: answered parties that waited too long for an agent hear
    /// the apology; then each campaign dials what it may.
    pub(crate) fn campaign_tick(&mut self) {
        if self.campaigns.is_empty() {
            return;
        }
        self.campaign_agent_waits();
        self.preview_timeouts();
        let names: Vec<String> = self
            .campaigns
            .iter()
            .filter(|(_, r)| r.loaded && !r.retired && !r.engine.is_paused() && !r.engine.is_finished())
            .map(|(n, _)| n.clone())
            .collect();
        if names.is_empty() {
            return;
        }
        let mut local: Option<DayTime> = None;
        for name in names {
            let Some(spec) = self.campaigns.get(&name).map(|r| r.engine.spec().clone()) else { continue };
            if spec.mode == DialMode::Preview {
                self.preview_tick(&name, &spec, &mut local);
                continue;
            }
            for _ in 0..spec.max_lines {
                let free = self.free_lines(&spec.trunk);
                let ready = self.acd.ready_in(&spec.queue);
                if free == 0 || ready == 0 {
                    break;
                }
                let day_time =
                    *local.get_or_insert_with(|| DayTime::from_datetime(&chrono::Local::now().naive_local()));
                let now_ms = self.now.as_ms();
                let Some(run) = self.campaigns.get_mut(&name) else { break };
                let dialing = run.calls.values().filter(|o| o.phase == Phase::Dialing).count();
                let Some(dial) = run.engine.next_dial(now_ms, day_time, free, ready, dialing) else { break };
                self.campaign_dial(&name, dial);
            }
        }
    }

    fn free_lines(&self, trunk: &str) -> usize {
        self.config
            .trunk(trunk)
            .map(|t| t.channels.iter().filter(|&&c| self.chan(c).is_some_and(|c| c.is_free())).count())
            .unwrap_or(0)
    }

    /// Dial a number the engine gave.
    fn campaign_dial(&mut self, name: &str, dial: Dial) {
        let Some(spec) = self.campaigns.get(name).map(|r| r.engine.spec().clone()) else { return };
        let digits = dial_string(&dial.number, self.config.country);
        let digit_string = match DigitString::new(&digits) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(campaign = name, number = dial.number, "cannot dial: {e}");
                self.campaign_result_without_call(name, dial.number_id, Outcome::Failed(FailReason::Error));
                return;
            }
        };
        let Some(ch) = self.hunt(&spec.trunk) else {
            self.campaign_result_without_call(name, dial.number_id, Outcome::Failed(FailReason::NoFreeLine));
            return;
        };
        let caller = (spec.caller_id.clone().unwrap_or_default(), format!("campaign {name}"));
        let call = self.new_call(Direction::Outbound, caller, dial.number.clone(), Some(ch));
        let started = self.stamp();
        self.journal(JournalOp::CampaignDial { number: dial.number_id, call, at: started });
        if let Some(c) = self.calls.get_mut(&call) {
            c.vars.insert("campaign".into(), name.to_string());
            c.vars.insert("campaign_number".into(), dial.number_id.0.to_string());
            c.vars.insert("campaign_attempt".into(), dial.attempt.to_string());
        }
        self.dial_line(call, ch, &dial.number, digit_string, spec.ring_timeout_ms);
        // The customer card (for the agent's screen pop) is read while it
        // rings.
        self.lookup_caller(call, &dial.number);
        self.campaign_calls.insert(call, name.to_string());
        if let Some(run) = self.campaigns.get_mut(name) {
            run.calls.insert(
                call,
                Out { number: dial.number_id, started, phase: Phase::Dialing, outcome: None, agent: None },
            );
        }
        tracing::debug!(campaign = name, number = dial.number, attempt = dial.attempt, call = call.0, "campaign dial");
    }

    /// Dial `number` on line `ch` for a campaign's call; no answer after
    /// the dialling and `ring_timeout_ms` ends it.
    fn dial_line(&mut self, call: CallId, ch: ChannelId, number: &str, digits: DigitString, ring_timeout_ms: u64) {
        let allowance = dialling_allowance_ms(digits.len());
        self.add_leg(call, ch, LegRole::Callee, number.to_string(), LegStatus::Ringing, true);
        self.line(ch, LineCommand::Dial { number: digits });
        self.set_status(ch, ChannelStatus::Calling);
        self.campaign_deadline(call, allowance + ring_timeout_ms);
    }

    /// The call ends (the campaign's ring timeout) `ms` from now unless
    /// answered.
    fn campaign_deadline(&mut self, call: CallId, ms: u64) {
        let deadline = self.now + Duration::from_ms(ms);
        if let Some(c) = self.calls.get_mut(&call) {
            c.ringing = Some(Ringing {
                purpose: RingPurpose::Connect,
                deadline,
                next_members: Vec::new(),
                each_ms: 0,
                no_answer: Target::Hangup,
            });
        }
    }

    /// A dial that could not become a call.
    fn campaign_result_without_call(&mut self, name: &str, number: CampaignNumberId, outcome: Outcome) {
        let now_ms = self.now.as_ms();
        let at = self.stamp();
        let Some(run) = self.campaigns.get_mut(name) else { return };
        match run.engine.result(number, outcome, now_ms) {
            Ok(change) => {
                self.journal(change.journal_op(None, at));
            }
            Err(e) => tracing::error!(campaign = name, "campaign result: {e}"),
        }
    }

    fn campaign_of(&self, call: CallId) -> Option<(&str, &Out)> {
        let name = self.campaign_calls.get(&call)?;
        let out = self.campaigns.get(name)?.calls.get(&call)?;
        Some((name.as_str(), out))
    }

    fn campaign_out_mut(&mut self, call: CallId) -> Option<&mut Out> {
        let name = self.campaign_calls.get(&call)?;
        self.campaigns.get_mut(name)?.calls.get_mut(&call)
    }

    /// Whether `call` is a campaign's call.
    pub(crate) fn is_campaign_call(&self, call: CallId) -> bool {
        self.campaign_calls.contains_key(&call)
    }

    /// The line's call-progress result for a campaign call; false when the
    /// call is not one.
    pub(crate) fn campaign_progress(&mut self, call: CallId, leg: LegId, result: ProgressResult) -> bool {
        let Some((name, out)) = self.campaign_of(call) else { return false };
        if out.phase != Phase::Dialing {
            return true;
        }
        let out = out.clone();
        let name = name.to_string();
        let ring_ms = self.campaigns.get(&name).map_or(30_000, |r| r.engine.spec().ring_timeout_ms);
        let ended = |outcome: Outcome| -> (Outcome, HangupCause) {
            let cause = match outcome {
                Outcome::Busy => HangupCause::Busy,
                Outcome::Failed(FailReason::NoDialTone) => HangupCause::Failed,
                Outcome::Failed(_) => HangupCause::Congestion,
                _ => HangupCause::Normal,
            };
            (outcome, cause)
        };
        let (outcome, cause) = match result {
            ProgressResult::Ringback => {
                let deadline = self.now + Duration::from_ms(ring_ms);
                if let Some(c) = self.calls.get_mut(&call) {
                    if let Some(l) = c.leg_mut(leg) {
                        l.status = LegStatus::Alerting;
                    }
                    if let Some(r) = c.ringing.as_mut() {
                        r.deadline = deadline;
                    }
                }
                self.dirty_calls.insert(call);
                return true;
            }
            ProgressResult::Answered { .. } if out.agent.is_some() => {
                // Preview: the agent is on the line already.
                self.leg_up(call, leg);
                if let Some(c) = self.calls.get_mut(&call) {
                    c.ringing = None;
                }
                self.campaign_agent_answered(call);
                self.reconnect(call);
                return true;
            }
            ProgressResult::Answered { .. } => {
                self.campaign_answered(&name, call, leg);
                return true;
            }
            ProgressResult::Fax { .. } => ended(Outcome::Fax),
            ProgressResult::Busy => ended(Outcome::Busy),
            ProgressResult::NoAnswer => (Outcome::NoAnswer, HangupCause::NoAnswer),
            ProgressResult::NoDialTone => ended(Outcome::Failed(FailReason::NoDialTone)),
            ProgressResult::Congestion => ended(Outcome::Failed(FailReason::Congestion)),
            ProgressResult::Sit => ended(Outcome::Failed(FailReason::Sit)),
        };
        if let Some(o) = self.campaign_out_mut(call) {
            o.outcome = Some(outcome);
        }
        // The line releases itself on a failure it detected; a SIT, an
        // answer by a fax machine: we hang up.
        let released = matches!(
            result,
            ProgressResult::Busy | ProgressResult::NoAnswer | ProgressResult::NoDialTone | ProgressResult::Congestion
        );
        self.end_leg(call, leg, cause.clone(), result.name(), released);
        self.end_call(call, cause, result.name());
        true
    }

    /// A campaign's ring timeout passed: no answer. False when the call is
    /// not a campaign's.
    pub(crate) fn campaign_ring_timeout(&mut self, call: CallId) -> bool {
        let Some(out) = self.campaign_out_mut(call) else { return false };
        if out.phase == Phase::Dialing {
            out.outcome = Some(Outcome::NoAnswer);
        }
        if let Some(c) = self.calls.get_mut(&call) {
            c.ringing = None;
        }
        self.end_call(call, HangupCause::NoAnswer, "campaign ring timeout");
        true
    }

    /// A person answered: to the campaign's queue, ahead of everyone.
    fn campaign_answered(&mut self, name: &str, call: CallId, leg: LegId) {
        self.leg_up(call, leg);
        let queue = self.campaigns.get(name).map(|r| r.engine.spec().queue.clone()).unwrap_or_default();
        let now = self.now;
        if let Some(c) = self.calls.get_mut(&call) {
            c.ringing = None;
            c.vars.insert("priority".into(), ANSWERED_PRIORITY.into());
        }
        if let Some(o) = self.campaign_out_mut(call) {
            o.phase = Phase::Waiting { since: now };
        }
        if let Err(e) = self.enqueue_call(call, &queue) {
            tracing::info!(campaign = name, call = call.0, "answered party cannot queue: {e}");
            self.campaign_sorry(call);
        }
    }

    /// Answered parties whose agent wait passed hear the apology.
    fn campaign_agent_waits(&mut self) {
        let now = self.now;
        let mut late = Vec::new();
        let mut offered = Vec::new();
        for run in self.campaigns.values() {
            let wait = Duration::from_ms(run.engine.spec().agent_wait_ms);
            for (&call, out) in &run.calls {
                let Phase::Waiting { since } = out.phase else { continue };
                let ringing = self.queued.get(&call).is_some_and(|q| !q.offers.is_empty());
                if ringing {
                    offered.push(call);
                } else if now >= since + wait
                    || !self.queued.contains_key(&call) && !self.awaiting_card.contains_key(&call)
                {
                    late.push(call);
                }
            }
        }
        for call in offered {
            if let Some(o) = self.campaign_out_mut(call) {
                o.phase = Phase::Waiting { since: now };
            }
        }
        for call in late {
            self.campaign_sorry(call);
        }
    }

    /// Nobody can take the answered party: out of the queue, the apology,
    /// then the call ends (`abandoned`).
    fn campaign_sorry(&mut self, call: CallId) {
        let Some((name, out)) = self.campaign_of(call) else { return };
        if matches!(out.phase, Phase::Sorry { .. } | Phase::Connected) {
            return;
        }
        let name = name.to_string();
        self.awaiting_card.remove(&call);
        if let Some(q) = self.queued.remove(&call) {
            let now_ms = self.now.as_ms();
            let wait = self.acd.leave(call, false, now_ms).map(|(_, w)| w as i64);
            self.journal(JournalOp::QueueEvent {
                call,
                queue: q.queue.clone(),
                kind: crate::records::QueueEventKind::Leave,
                agent: None,
                position: None,
                wait_ms: wait,
                detail: serde_json::json!({"why": "no agent free for the campaign's call", "campaign": name}),
                at: self.stamp(),
            });
            for (_, leg) in q.offers.clone() {
                self.end_leg(call, leg, HangupCause::Cancelled, "the campaign's party was let go", false);
            }
            self.stop_queue_media(&q);
            self.dirty_queues = true;
            self.acd_events();
        }
        let Some(ch) = self.calls.get(&call).and_then(|c| c.live_legs().find(|l| l.outbound_trunk)).map(|l| l.channel)
        else {
            return;
        };
        let lang = self
            .config
            .queue(&self.campaigns.get(&name).map(|r| r.engine.spec().queue.clone()).unwrap_or_default())
            .and_then(|q| Lang::parse(&q.language))
            .unwrap_or(Lang::of_country(self.config.country));
        let (audio, missing) = self.ivr.prompts.render(&[Spoken::Prompt { lang, name: "campaign-sorry".into() }]);
        if !missing.is_empty() {
            tracing::warn!(?missing, "campaign apology: prompt not found");
        }
        self.set_media(ch, Media::None);
        self.media_ids = self.media_ids.wrapping_add(1);
        let id = self.media_ids;
        self.engine_cmd(EngineCommand::Play { channel: ch, id, buffer: PlayBuffer::new(audio), repeat: false });
        if let Some(c) = self.chans.get_mut(ch.index()) {
            c.media = Media::Prompt;
        }
        if let Some(o) = self.campaign_out_mut(call) {
            o.phase = Phase::Sorry { media: id };
        }
    }

    /// The apology ended: hang up. True when `id` was one.
    pub(crate) fn campaign_media_done(&mut self, ch: ChannelId, id: u32) -> bool {
        let Some((call, _)) = self.chan(ch).and_then(|c| c.call) else { return false };
        let Some((_, out)) = self.campaign_of(call) else { return false };
        if out.phase != (Phase::Sorry { media: id }) {
            return false;
        }
        if let Some(c) = self.chans.get_mut(ch.index()) {
            c.media = Media::None;
        }
        self.end_call(call, HangupCause::Normal, "no agent was free: the apology was played");
        true
    }

    /// Whether a campaign's answered party is being dealt with here (an
    /// ACD overflow must not send it elsewhere).
    pub(crate) fn campaign_left_queue(&mut self, call: CallId) -> bool {
        if !self.is_campaign_call(call) {
            return false;
        }
        self.campaign_sorry(call);
        true
    }

    /// An agent answered the campaign's call: the number is done,
    /// `answered`.
    pub(crate) fn campaign_agent_answered(&mut self, call: CallId) {
        let Some(name) = self.campaign_calls.get(&call).cloned() else { return };
        let now_ms = self.now.as_ms();
        let at = self.stamp();
        let Some(run) = self.campaigns.get_mut(&name) else { return };
        let Some(out) = run.calls.get_mut(&call) else { return };
        if out.phase == Phase::Connected {
            return;
        }
        out.phase = Phase::Connected;
        let (number, started) = (out.number, out.started);
        match run.engine.result(number, Outcome::Answered, now_ms) {
            Ok(change) => {
                let dialled = AttemptCall { call: Some(call), started, ended: None };
                self.journal(change.journal_op(Some(&dialled), at));
            }
            Err(e) => tracing::error!(campaign = name, "campaign result: {e}"),
        }
    }

    /// A campaign's call is over: its result, if it had none yet, or the
    /// end of an answered attempt.
    pub(crate) fn campaign_call_gone(&mut self, call: CallId) {
        let Some(name) = self.campaign_calls.remove(&call) else { return };
        let now_ms = self.now.as_ms();
        let at = self.stamp();
        let Some(run) = self.campaigns.get_mut(&name) else { return };
        let Some(out) = run.calls.remove(&call) else { return };
        let outcome = match out.phase {
            Phase::Connected => {
                self.journal(JournalOp::CampaignAttemptEnded { call, at });
                self.campaign_drop_retired(&name);
                return;
            }
            Phase::AgentRinging => {
                // The agent did not take the call: not an attempt.
                match run.engine.skip(out.number, now_ms, PREVIEW_AGAIN_MS) {
                    Ok(change) => {
                        self.journal(change.journal_op(None, at));
                    }
                    Err(e) => tracing::error!(campaign = name, "campaign skip: {e}"),
                }
                self.campaign_drop_retired(&name);
                return;
            }
            Phase::Dialing if out.agent.is_some() => out.outcome.unwrap_or(Outcome::Failed(FailReason::Cancelled)),
            Phase::Dialing => out.outcome.unwrap_or(Outcome::Failed(FailReason::Error)),
            Phase::Waiting { .. } | Phase::Sorry { .. } => Outcome::Abandoned,
        };
        match run.engine.result(out.number, outcome, now_ms) {
            Ok(change) => {
                let dialled = AttemptCall { call: Some(call), started: out.started, ended: Some(at) };
                self.journal(change.journal_op(Some(&dialled), at));
            }
            Err(e) => tracing::error!(campaign = name, "campaign result: {e}"),
        }
        self.campaign_drop_retired(&name);
    }

    fn campaign_drop_retired(&mut self, name: &str) {
        if self.campaigns.get(name).is_some_and(|r| r.retired && r.calls.is_empty()) {
            self.campaigns.remove(name);
        }
    }

    fn campaign_views(&self) -> Vec<CampaignView> {
        self.config
            .campaigns
            .iter()
            .filter_map(|c| {
                let run = self.campaigns.get(c.name())?;
                let spec = run.engine.spec();
                Some(CampaignView {
                    name: spec.name.clone(),
                    queue: spec.queue.clone(),
                    trunk: spec.trunk.clone(),
                    loaded: run.loaded,
                    summary: run.engine.summary(),
                    calls_out: run.calls.len(),
                    dialing_now: run.calls.values().filter(|o| o.phase == Phase::Dialing).count(),
                    ready_agents: self.acd.ready_in(&spec.queue),
                    free_lines: self.free_lines(&spec.trunk),
                    paused_by: run.paused_by.as_ref().map(|(by, _)| by.clone()),
                    paused_at_wall_ms: run.paused_by.as_ref().map(|(_, at)| *at),
                    previews: self
                        .previews
                        .iter()
                        .filter(|(_, p)| p.campaign == spec.name)
                        .map(|(agent, p)| self.preview_view(agent, &p.campaign, &p.dial, "offered"))
                        .collect(),
                })
            })
            .collect()
    }

    /// What the API asks about campaigns.
    pub(crate) fn campaign_request(&mut self, req: CoreRequest) -> super::CoreResult {
        match req {
            CoreRequest::Campaigns => Ok(CoreReply::Campaigns { campaigns: self.campaign_views() }),
            CoreRequest::CampaignPause { campaign, paused, by } => {
                let at = self.stamp();
                let run = self
                    .campaigns
                    .get_mut(&campaign)
                    .filter(|r| !r.retired)
                    .ok_or_else(|| CoreError::Campaign(format!("there is no campaign `{campaign}`")))?;
                if paused {
                    run.engine.pause();
                } else {
                    run.engine.resume();
                }
                run.paused_by = Some((by.clone(), at.wall_ms));
                tracing::info!(campaign, paused, by, "campaign paused or resumed");
                self.journal(JournalOp::CampaignPaused { campaign, paused, by, at });
                Ok(CoreReply::Ok { call: None })
            }
            CoreRequest::CampaignNumbersAdded { campaign } => {
                if self.campaigns.get(&campaign).is_none_or(|r| r.retired) {
                    return Err(CoreError::Campaign(format!("there is no campaign `{campaign}`")));
                }
                self.campaign_read(&campaign);
                Ok(CoreReply::Ok { call: None })
            }
            CoreRequest::Preview { agent, accept } => self.preview_answer(&agent, accept),
            CoreRequest::DoNotCall { number, reason } => {
                let parsed =
                    PhoneNumber::parse(&number).map_err(|e| CoreError::Campaign(format!("number `{number}`: {e}")))?;
                let at = self.stamp();
                self.journal(JournalOp::DoNotCall { number: parsed, reason, at });
                let mut matched = 0;
                for run in self.campaigns.values_mut() {
                    matched += run.engine.do_not_call(&number);
                }
                if self.campaigns.values().any(|r| r.loading) {
                    self.dnc_during_read.push(number.clone());
                }
                let changes: Vec<_> = self.campaigns.values_mut().flat_map(|r| r.engine.take_changes()).collect();
                for ch in changes {
                    self.journal(ch.journal_op(None, at));
                }
                tracing::info!(number, matched, "number put on the do-not-call list");
                Ok(CoreReply::Ok { call: None })
            }
            _ => Err(CoreError::InvalidState("not a campaign request".into())),
        }
    }
}

/// Preview dialling.
impl Core {
    /// Show a number to each ready agent of a preview campaign's queue who
    /// has none (a line must be free for each).
    fn preview_tick(&mut self, name: &str, spec: &CampaignSpec, local: &mut Option<DayTime>) {
        let ready = self.acd.ready_agents_in(&spec.queue);
        for (agent, extension) in ready {
            if self.previews.contains_key(&agent) {
                continue;
            }
            let free = self.free_lines(&spec.trunk);
            // Lines promised to previews shown and not yet dialled.
            let shown = self.previews.values().filter(|p| p.campaign == name).count();
            if free <= shown {
                break;
            }
            let day_time = *local.get_or_insert_with(|| DayTime::from_datetime(&chrono::Local::now().naive_local()));
            let now_ms = self.now.as_ms();
            let Some(run) = self.campaigns.get_mut(name) else { return };
            // One number per agent, at most max_lines shown or dialling.
            let Some(dial) = run.engine.next_dial(now_ms, day_time, free - shown, 1_000_000, 0) else { break };
            self.acd.set_busy(&extension, true);
            let view = self.preview_view(&agent, name, &dial, "offered");
            tracing::info!(campaign = name, agent, number = dial.number, "preview offered");
            self.previews.insert(agent, Preview { campaign: name.to_string(), extension, dial, since: self.now });
            self.emit(CtiEventKind::Preview { preview: view });
            self.dirty_queues = true;
        }
    }

    fn preview_view(&self, agent: &str, campaign: &str, dial: &Dial, state: &str) -> PreviewView {
        PreviewView {
            agent: agent.to_string(),
            campaign: campaign.to_string(),
            state: state.to_string(),
            number_id: dial.number_id,
            number: dial.number.clone(),
            customer: dial.customer,
            attempt: dial.attempt,
            timeout_ms: self.campaigns.get(campaign).map_or(0, |r| r.engine.spec().preview_timeout_ms),
        }
    }

    /// Whether an agent at `extension` has a number on screen (the ACD
    /// offers such an agent nothing).
    pub(crate) fn previewing_at(&self, extension: &str) -> bool {
        self.previews.values().any(|p| p.extension == extension)
    }

    /// A preview ends unanswered: the number comes back later; the agent
    /// is free again.
    fn preview_drop(&mut self, agent: &str, state: &str) -> Option<Preview> {
        let p = self.previews.remove(agent)?;
        let now_ms = self.now.as_ms();
        let at = self.stamp();
        if let Some(run) = self.campaigns.get_mut(&p.campaign) {
            match run.engine.skip(p.dial.number_id, now_ms, PREVIEW_AGAIN_MS) {
                Ok(change) => {
                    self.journal(change.journal_op(None, at));
                }
                Err(e) => tracing::error!(campaign = p.campaign, "preview skip: {e}"),
            }
        }
        let view = self.preview_view(agent, &p.campaign, &p.dial, state);
        self.emit(CtiEventKind::Preview { preview: view });
        self.acd_sync_seat(&p.extension);
        self.dirty_queues = true;
        tracing::info!(campaign = p.campaign, agent, number = p.dial.number, state, "preview ended");
        Some(p)
    }

    /// Previews nobody answered in time: taken back, and the agent goes
    /// not ready (nobody is at the screen).
    fn preview_timeouts(&mut self) {
        let now = self.now;
        let late: Vec<String> = self
            .previews
            .iter()
            .filter(|(_, p)| {
                let limit = self.campaigns.get(&p.campaign).map_or(60_000, |r| r.engine.spec().preview_timeout_ms);
                now >= p.since + Duration::from_ms(limit)
            })
            .map(|(a, _)| a.clone())
            .collect();
        for agent in late {
            self.preview_drop(&agent, "expired");
            if let Err(e) = self.acd.not_ready(&agent, "no_answer", now.as_ms()) {
                tracing::debug!(agent, "preview timeout: {e}");
            }
            self.acd_events();
        }
    }

    /// The agent accepts (its phone rings; the number is dialled when it
    /// answers) or skips the number shown.
    fn preview_answer(&mut self, agent: &str, accept: bool) -> super::CoreResult {
        if !self.previews.contains_key(agent) {
            return Err(CoreError::Campaign(format!("agent {agent} has no number to preview")));
        }
        if !accept {
            self.preview_drop(agent, "skipped");
            return Ok(CoreReply::Ok { call: None });
        }
        let Some(p) = self.previews.remove(agent) else { return Ok(CoreReply::Ok { call: None }) };
        let name = self.acd.agent_spec(agent).map(|a| a.name.clone()).unwrap_or_default();
        let seat = self.config.extension(&p.extension).map(|e| e.channel);
        let call = self.new_call(Direction::Outbound, (p.extension.clone(), name), p.dial.number.clone(), seat);
        let started = self.stamp();
        self.journal(JournalOp::CampaignDial { number: p.dial.number_id, call, at: started });
        if let Some(c) = self.calls.get_mut(&call) {
            c.vars.insert("campaign".into(), p.campaign.clone());
            c.vars.insert("campaign_number".into(), p.dial.number_id.0.to_string());
            c.vars.insert("campaign_attempt".into(), p.dial.attempt.to_string());
            c.vars.insert("agent".into(), agent.to_string());
        }
        self.campaign_calls.insert(call, p.campaign.clone());
        if let Some(run) = self.campaigns.get_mut(&p.campaign) {
            run.calls.insert(
                call,
                Out {
                    number: p.dial.number_id,
                    started,
                    phase: Phase::AgentRinging,
                    outcome: None,
                    agent: Some(agent.to_string()),
                },
            );
        }
        let view = self.preview_view(agent, &p.campaign, &p.dial, "accepted");
        self.emit(CtiEventKind::Preview { preview: view });
        match self.ring_extension(call, &p.extension, LegRole::Agent) {
            Ok(_) => {
                self.campaign_deadline(call, PREVIEW_RING_MS);
                Ok(CoreReply::Ok { call: Some(call) })
            }
            Err(e) => {
                self.end_call(call, HangupCause::Failed, &format!("the agent's phone: {e}"));
                Err(e)
            }
        }
    }

    /// The agent's phone answered a preview call: dial the number. True
    /// when the leg was one.
    pub(crate) fn preview_agent_up(&mut self, call: CallId) -> bool {
        let Some((name, out)) = self.campaign_of(call) else { return false };
        if out.phase != Phase::AgentRinging {
            return false;
        }
        let name = name.to_string();
        let number = self.calls.get(&call).map(|c| c.called_number.clone()).unwrap_or_default();
        let Some(spec) = self.campaigns.get(&name).map(|r| r.engine.spec().clone()) else { return false };
        if let Some(o) = self.campaign_out_mut(call) {
            o.phase = Phase::Dialing;
        }
        let digits = dial_string(&number, self.config.country);
        let ch = match (DigitString::new(&digits), self.hunt(&spec.trunk)) {
            (Ok(d), Some(ch)) => (d, ch),
            (Err(e), _) => {
                tracing::warn!(campaign = name, number, "cannot dial: {e}");
                if let Some(o) = self.campaign_out_mut(call) {
                    o.outcome = Some(Outcome::Failed(FailReason::Error));
                }
                self.end_call(call, HangupCause::Failed, &format!("number `{number}`: {e}"));
                return true;
            }
            (_, None) => {
                if let Some(o) = self.campaign_out_mut(call) {
                    o.outcome = Some(Outcome::Failed(FailReason::NoFreeLine));
                }
                self.end_call(call, HangupCause::Congestion, &format!("no free line in trunk `{}`", spec.trunk));
                return true;
            }
        };
        let (digit_string, ch) = ch;
        self.dial_line(call, ch, &number, digit_string, spec.ring_timeout_ms);
        self.reconnect(call);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_plus_becomes_the_countrys_international_prefix() {
        assert_eq!(dial_string("+8613800138000", Country::Cn), "008613800138000");
        assert_eq!(dial_string("+74951234567", Country::Ru), "81074951234567");
        assert_eq!(dial_string("+12125551234", Country::Us), "01112125551234");
        assert_eq!(dial_string("+442071234567", Country::Eu), "00442071234567");
        assert_eq!(dial_string("13800138000", Country::Cn), "13800138000");
    }

    #[test]
    fn the_ring_timeout_counts_after_the_dialling() {
        assert_eq!(dialling_allowance_ms(11), 6_200);
        assert!(dialling_allowance_ms(20) > dialling_allowance_ms(5));
    }
}
