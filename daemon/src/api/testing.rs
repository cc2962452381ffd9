//! **Test double** of the call-control core, and a ready API server around
//! it, for the API's tests (daemon/tests/api_*.rs) and the CLI's
//! (tests/cli_*.rs). Not used by the daemon itself.
//!
//! [`FakeCore`] is a thread that answers [`CoreInbox`] requests from a tiny
//! in-memory model: four channels (FXO 1 on trunk `pstn`, FXS 2–4 for
//! extensions 801–803), calls that ring, are answered, held, transferred
//! and hung up, and a CTI event for every change. It checks what the real
//! core would refuse (unknown call or leg, busy extension, no route for
//! numbers starting with `000`) so that the API's error mapping can be
//! tested, and nothing more: no audio, no journal (but do-not-call entries,
//! journalled as the core does once [`FakeCore::journal_to`] gave it the
//! records), and board time moves 20 ms per request.
//!
//! Its ACD is the real one ([`crate::acd::Acd`]) built from
//! [`TEST_CONFIG`]'s queues and agents; the ACD requests are answered as
//! the core's `acd_request` answers them, and the router's decisions are
//! acted on as the core acts on them, in small: an offer rings the agent's
//! phone (a leg of role `agent`) after a `screen_pop` event, agent state
//! changes go out as `agent` events and queue changes as `queue` events.
//! [`FakeCore::enqueue`] puts a caller in a queue and
//! [`FakeCore::answer_offer`] has an agent answer.
//!
//! [`TestServer`] opens a records database in a directory the caller owns,
//! seeds the users of [`TEST_USERS`], starts a `FakeCore` and serves the API
//! on `127.0.0.1:0` in its own runtime thread until dropped, with
//! [`TEST_CONFIG`] as the configuration in force.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ctibox_driver::hal::ChannelId;
use tokio::sync::broadcast;

use super::{ApiState, Auth, StatusView, seed_users};
use crate::acd::campaign::Campaign;
use crate::acd::{Acd, AcdError, AcdEvent, AgentState, Entry};
use crate::config::{Config, Password, Role as ConfigRole, UserConfig};
use crate::core::call_data::{check_data_key, check_data_value, check_note};
use crate::core::transfer::{self, TransferTarget};
use crate::core::{
    CallNote, CallStatus, CallView, CampaignView, ChannelStatus, ChannelView, CoreError, CoreHandle, CoreInbox,
    CoreReply, CoreRequest, CoreResult, CtiEvent, CtiEventKind, LegStatus, LegView, ScreenPop, Snapshot, TransferMode,
};
use crate::records::{CallId, LegId, Records, RecordsConfig, RecordsHandle, RecordsReader};

/// The model behind [`FakeCore`].
#[derive(Debug)]
struct Model {
    seq: u64,
    board_ms: u64,
    channels: Vec<ChannelView>,
    calls: BTreeMap<CallId, CallView>,
    next_call: i64,
    next_leg: i64,
    events: broadcast::Sender<CtiEvent>,
    acd: Acd,
    /// Offers ringing: (call, agent) → the agent's leg.
    offers: BTreeMap<(CallId, String), LegId>,
    /// A queue changed since the last `queue` events.
    dirty_queues: bool,
    /// The config's campaigns (engines without numbers: the double reads
    /// no records), who paused them, and how often each was asked to read
    /// its numbers again.
    campaigns: BTreeMap<String, (Campaign, Option<String>, u32)>,
    /// Where do-not-call entries are journalled (none: nowhere).
    records: Option<RecordsHandle>,
}

const EXTENSIONS: [(&str, u16); 3] = [("801", 2), ("802", 3), ("803", 4)];

fn channel(n: u16, kind: &str, role: &str, name: &str) -> ChannelView {
    ChannelView {
        channel: ChannelId(n),
        kind: kind.into(),
        role: role.into(),
        name: name.into(),
        status: ChannelStatus::Idle,
        call: None,
        since_ms: 0,
    }
}

/// The ACD's refusals as the core reports them (core/acd.rs maps every
/// [`AcdError`] to [`CoreError::Acd`] with its message).
fn acd_error(e: AcdError) -> CoreError {
    CoreError::Acd(e.to_string())
}

impl Model {
    fn new(events: broadcast::Sender<CtiEvent>, config: &Config) -> Model {
        let mut channels = vec![channel(1, "fxo", "trunk", "pstn")];
        channels.extend(EXTENSIONS.iter().map(|(x, ch)| channel(*ch, "fxs", "extension", x)));
        let acd = Acd::new(
            config.queues.iter().map(|q| q.spec.clone()).collect(),
            config.agents.iter().map(|a| a.spec.clone()).collect(),
            config.acd.seed,
        );
        Model {
            seq: 0,
            board_ms: 1000,
            channels,
            calls: BTreeMap::new(),
            next_call: 1,
            next_leg: 1,
            events,
            acd,
            offers: BTreeMap::new(),
            dirty_queues: false,
            campaigns: config
                .campaigns
                .iter()
                .map(|c| (c.name().to_string(), (Campaign::new(c.spec.clone(), Vec::new()), None, 0)))
                .collect(),
            records: None,
        }
    }

    fn publish(&mut self, kind: CtiEventKind) {
        self.seq += 1;
        let _ = self.events.send(CtiEvent { seq: self.seq, at_ms: self.board_ms, kind });
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            seq: self.seq,
            board_ms: self.board_ms,
            channels: self.channels.clone(),
            calls: self.calls.values().cloned().collect(),
            agents: self.acd.agents_view(),
            queues: self.acd.queues_view(self.board_ms),
        }
    }

    fn set_channel(&mut self, ch: ChannelId, status: ChannelStatus, call: Option<CallId>) {
        let at = self.board_ms;
        let Some(view) = self.channels.iter_mut().find(|c| c.channel == ch) else { return };
        if view.status == status && view.call == call {
            return;
        }
        view.status = status;
        view.call = call;
        view.since_ms = at;
        let view = view.clone();
        // An agent whose phone is in use is not offered calls.
        if view.role == "extension" {
            self.acd.set_busy(&view.name, status != ChannelStatus::Idle);
        }
        self.publish(CtiEventKind::Channel { channel: view });
    }

    fn publish_call(&mut self, id: CallId) {
        if let Some(call) = self.calls.get(&id).cloned() {
            self.publish(CtiEventKind::Call { call });
        }
    }

    fn ext_channel(number: &str) -> Option<ChannelId> {
        EXTENSIONS.iter().find(|(x, _)| *x == number).map(|(_, ch)| ChannelId(*ch))
    }

    fn channel_free(&self, ch: ChannelId) -> bool {
        self.channels.iter().any(|c| c.channel == ch && c.status == ChannelStatus::Idle)
    }

    fn leg(&mut self, channel: ChannelId, role: &str, party: &str, status: LegStatus) -> LegView {
        let leg = LegId(self.next_leg);
        self.next_leg += 1;
        LegView { leg, channel, role: role.into(), party: party.into(), status, held: status == LegStatus::Held }
    }

    /// Where a dialled number goes: an extension's channel, or the trunk.
    fn route(&self, to: &str) -> Result<ChannelId, CoreError> {
        if to.starts_with("000") || to.is_empty() {
            return Err(CoreError::NoRoute(to.into()));
        }
        match Model::ext_channel(to) {
            Some(ch) if self.channel_free(ch) => Ok(ch),
            Some(_) => Err(CoreError::Busy(to.into())),
            None if to.len() == 3 => Err(CoreError::NoSuchExtension(to.into())),
            None if self.channel_free(ChannelId(1)) => Ok(ChannelId(1)),
            None => Err(CoreError::NoFreeLine("pstn".into())),
        }
    }

    fn new_call(&mut self, direction: &str, caller: &str, called: &str, legs: Vec<LegView>) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        for leg in &legs {
            self.set_channel(leg.channel, ChannelStatus::Ringing, Some(id));
        }
        self.calls.insert(
            id,
            CallView {
                call: id,
                direction: direction.into(),
                caller_number: Some(caller.into()),
                caller_name: None,
                called_number: Some(called.into()),
                status: CallStatus::Ringing,
                legs,
                started_ms: self.board_ms,
                answered_ms: None,
                ended_ms: None,
                cause: None,
                vars: Default::default(),
                notes: Vec::new(),
            },
        );
        self.publish_call(id);
        id
    }

    fn ring_inbound(&mut self, from: &str, to_ext: &str) -> Result<CallId, CoreError> {
        let ext_ch = Model::ext_channel(to_ext).ok_or_else(|| CoreError::NoSuchExtension(to_ext.into()))?;
        if !self.channel_free(ChannelId(1)) {
            return Err(CoreError::NoFreeLine("pstn".into()));
        }
        if !self.channel_free(ext_ch) {
            return Err(CoreError::Busy(to_ext.into()));
        }
        let caller = self.leg(ChannelId(1), "caller", from, LegStatus::Up);
        let callee = self.leg(ext_ch, "callee", to_ext, LegStatus::Ringing);
        Ok(self.new_call("inbound", from, to_ext, vec![caller, callee]))
    }

    fn call_mut(&mut self, id: CallId) -> Result<&mut CallView, CoreError> {
        self.calls.get_mut(&id).ok_or(CoreError::NoSuchCall(id))
    }

    fn end_call(&mut self, id: CallId, cause: &str) {
        let Some(mut call) = self.calls.remove(&id) else { return };
        call.status = CallStatus::Ended;
        call.ended_ms = Some(self.board_ms);
        call.cause = Some(cause.into());
        for leg in &mut call.legs {
            leg.status = LegStatus::Ended;
        }
        let channels: Vec<ChannelId> = call.legs.iter().map(|l| l.channel).collect();
        self.publish(CtiEventKind::Call { call });
        for ch in channels {
            self.set_channel(ch, ChannelStatus::Idle, None);
        }
        self.acd_call_gone(id);
    }

    fn handle(&mut self, request: CoreRequest) -> CoreResult {
        self.board_ms += 20;
        match request {
            CoreRequest::Snapshot => Ok(CoreReply::Snapshot(self.snapshot())),
            CoreRequest::Originate { from, to } => {
                let from_ch = Model::ext_channel(&from).ok_or_else(|| CoreError::NoSuchExtension(from.clone()))?;
                if !self.channel_free(from_ch) {
                    return Err(CoreError::Busy(from));
                }
                let to_ch = self.route(&to)?;
                let direction = if to_ch == ChannelId(1) { "outbound" } else { "internal" };
                let caller = self.leg(from_ch, "caller", &from, LegStatus::Ringing);
                let callee = self.leg(to_ch, "callee", &to, LegStatus::Ringing);
                let id = self.new_call(direction, &from, &to, vec![caller, callee]);
                Ok(CoreReply::Ok { call: Some(id) })
            }
            CoreRequest::Answer { call } => {
                let at = self.board_ms;
                let view = self.call_mut(call)?;
                if view.status != CallStatus::Ringing || view.direction != "inbound" {
                    return Err(CoreError::InvalidState(format!("call {call} is not a ringing inbound call")));
                }
                view.status = CallStatus::Up;
                view.answered_ms = Some(at);
                for leg in &mut view.legs {
                    leg.status = if leg.role == "caller" { LegStatus::Held } else { LegStatus::Ended };
                    leg.held = leg.role == "caller";
                }
                let trunk = view.legs.iter().find(|l| l.role == "caller").map(|l| l.channel);
                let ended: Vec<ChannelId> =
                    view.legs.iter().filter(|l| l.role != "caller").map(|l| l.channel).collect();
                view.legs.retain(|l| l.role == "caller");
                self.publish_call(call);
                for ch in ended {
                    self.set_channel(ch, ChannelStatus::Idle, None);
                }
                if let Some(ch) = trunk {
                    self.set_channel(ch, ChannelStatus::Held, Some(call));
                }
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::Hangup { call, leg } => {
                self.call_mut(call)?;
                match leg {
                    None => self.end_call(call, "normal"),
                    // An agent's phone rang for a queued caller: the caller
                    // waits on.
                    Some(leg) if self.offers.values().any(|l| *l == leg) => {
                        self.end_offer_leg(call, leg);
                        self.acd_leg_ended(call, leg);
                    }
                    Some(leg) => {
                        let view = self.call_mut(call)?;
                        let l = view
                            .legs
                            .iter_mut()
                            .find(|l| l.leg == leg && l.status != LegStatus::Ended)
                            .ok_or(CoreError::NoSuchLeg { call, leg })?;
                        l.status = LegStatus::Ended;
                        let ch = l.channel;
                        let live = view.legs.iter().filter(|l| l.status != LegStatus::Ended).count();
                        if live < 2 {
                            self.end_call(call, "normal");
                        } else {
                            self.publish_call(call);
                            self.set_channel(ch, ChannelStatus::Idle, None);
                        }
                    }
                }
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::Hold { call, leg } | CoreRequest::Unhold { call, leg } => {
                let hold = matches!(request, CoreRequest::Hold { .. });
                let view = self.call_mut(call)?;
                if view.status != CallStatus::Up {
                    return Err(CoreError::InvalidState(format!("call {call} is not connected")));
                }
                let l = view.legs.iter_mut().find(|l| l.leg == leg).ok_or(CoreError::NoSuchLeg { call, leg })?;
                l.status = if hold { LegStatus::Held } else { LegStatus::Up };
                l.held = hold;
                let ch = l.channel;
                self.publish_call(call);
                let status = if hold { ChannelStatus::Held } else { ChannelStatus::Talking };
                self.set_channel(ch, status, Some(call));
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::Transfer { call, leg, to, mode } => {
                let view = self.calls.get(&call).ok_or(CoreError::NoSuchCall(call))?;
                if !view.legs.iter().any(|l| l.leg == leg) {
                    return Err(CoreError::NoSuchLeg { call, leg });
                }
                let by = view
                    .legs
                    .iter()
                    .find(|l| l.leg != leg && l.status == LegStatus::Up)
                    .and_then(|l| self.acd.agent_at(&l.party))
                    .map(str::to_string);
                let to = match transfer::parse_target(&to)? {
                    TransferTarget::Queue(queue) => return self.transfer_to_queue(call, leg, queue, mode, by),
                    TransferTarget::Agent(id) => {
                        let agent = self.acd.agent_view(id);
                        let free = |ext: &str| Model::ext_channel(ext).is_some_and(|ch| self.channel_free(ch));
                        transfer::agent_seat(id, agent.as_ref(), free).map_err(CoreError::AgentUnavailable)?
                    }
                    TransferTarget::Number(n) => n.to_string(),
                };
                let ch = self.route(&to)?;
                let role = match mode {
                    TransferMode::Blind => "callee",
                    TransferMode::Attended => "consult",
                };
                let new_leg = self.leg(ch, role, &to, LegStatus::Ringing);
                if mode == TransferMode::Blind {
                    let gone = self.transferring_legs(call, leg);
                    self.drop_legs(call, &gone);
                    if let Some(c) = self.calls.get_mut(&call) {
                        match &by {
                            Some(a) => c.vars.insert("transferred_by".into(), a.clone()),
                            None => c.vars.remove("transferred_by"),
                        };
                    }
                }
                self.call_mut(call)?.legs.push(new_leg);
                // The agent whose phone rings gets the call on screen.
                if let Some(agent) = self.acd.agent_at(&to).map(str::to_string)
                    && let Some(mut pop) = self.pop(call, "", &agent, 0)
                {
                    pop.transferred_by = by;
                    self.publish(CtiEventKind::ScreenPop { pop: Box::new(pop) });
                }
                self.publish_call(call);
                self.set_channel(ch, ChannelStatus::Ringing, Some(call));
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::CompleteTransfer { call } => {
                let view = self.call_mut(call)?;
                let consult = view.legs.iter_mut().find(|l| l.role == "consult");
                match consult {
                    None => Err(CoreError::InvalidState(format!("call {call} has no attended transfer in progress"))),
                    Some(l) => {
                        l.role = "callee".into();
                        l.status = LegStatus::Up;
                        self.publish_call(call);
                        Ok(CoreReply::Ok { call: Some(call) })
                    }
                }
            }
            CoreRequest::CancelTransfer { call } => {
                let view = self.call_mut(call)?;
                let before = view.legs.len();
                view.legs.retain(|l| l.role != "consult");
                let consulted = view.legs.len() != before;
                // A consultation of a queue: a held party, the call waiting.
                let held = view.legs.iter().any(|l| l.held);
                let queued = held && self.acd.leave(call, false, self.board_ms).is_some();
                if !consulted && !queued {
                    return Err(CoreError::InvalidState(format!("call {call} has no transfer in progress")));
                }
                if let Some(c) = self.calls.get_mut(&call) {
                    for l in c.legs.iter_mut().filter(|l| l.held) {
                        l.held = false;
                        l.status = LegStatus::Up;
                    }
                }
                self.publish_call(call);
                self.dirty_queues = true;
                self.acd_route();
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::AddNote { call, author, text } => {
                let text = check_note(&text)?.to_string();
                let at_ms = self.board_ms;
                self.call_mut(call)?.notes.push(CallNote { author, text, at_ms });
                self.publish_call(call);
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::SetCallData { call, key, value, .. } => {
                check_data_key(&key)?;
                check_data_value(&value)?;
                self.call_mut(call)?.vars.insert(key, value);
                self.publish_call(call);
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::Conference { call, to } => {
                self.call_mut(call)?;
                let ch = self.route(&to)?;
                let leg = self.leg(ch, "conference", &to, LegStatus::Ringing);
                self.call_mut(call)?.legs.push(leg);
                self.publish_call(call);
                self.set_channel(ch, ChannelStatus::Ringing, Some(call));
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::Acd
            | CoreRequest::AgentLogin { .. }
            | CoreRequest::AgentLogout { .. }
            | CoreRequest::AgentReady { .. }
            | CoreRequest::AgentNotReady { .. }
            | CoreRequest::QueuePriority { .. }
            | CoreRequest::QueuePick { .. } => self.acd_request(request),
            CoreRequest::Campaigns
            | CoreRequest::CampaignPause { .. }
            | CoreRequest::CampaignNumbersAdded { .. }
            | CoreRequest::Preview { .. }
            | CoreRequest::DoNotCall { .. } => self.campaign_request(request),
            // Supervising needs the agent on a call; the fake has no audio
            // to wire, so it only checks and answers.
            CoreRequest::Monitor { ref agent, .. } | CoreRequest::ForceRelease { ref agent, .. } => {
                let view = self.acd.agent_view(agent).ok_or_else(|| CoreError::Acd(format!("no agent `{agent}`")))?;
                match view.call {
                    Some(call) => {
                        if matches!(request, CoreRequest::ForceRelease { .. }) {
                            self.end_call(call, "force_released");
                        }
                        Ok(CoreReply::Ok { call: Some(call) })
                    }
                    None => Err(CoreError::InvalidState(format!("`{agent}` is not talking on a call"))),
                }
            }
        }
    }

    // --- campaigns, as core/campaign.rs answers ----------------------------

    fn campaign_request(&mut self, request: CoreRequest) -> CoreResult {
        let unknown = |name: &str| CoreError::Campaign(format!("there is no campaign `{name}`"));
        match request {
            CoreRequest::Campaigns => {
                let campaigns = self
                    .campaigns
                    .values()
                    .map(|(c, by, _)| CampaignView {
                        name: c.spec().name.clone(),
                        queue: c.spec().queue.clone(),
                        trunk: c.spec().trunk.clone(),
                        loaded: true,
                        summary: c.summary(),
                        calls_out: 0,
                        dialing_now: 0,
                        ready_agents: self.acd.ready_in(&c.spec().queue),
                        free_lines: usize::from(self.channel_free(ChannelId(1))),
                        paused_by: by.clone(),
                        paused_at_wall_ms: by.as_ref().map(|_| 0),
                        previews: Vec::new(),
                    })
                    .collect();
                Ok(CoreReply::Campaigns { campaigns })
            }
            CoreRequest::CampaignPause { campaign, paused, by } => {
                let (c, who, _) = self.campaigns.get_mut(&campaign).ok_or_else(|| unknown(&campaign))?;
                if paused {
                    c.pause();
                } else {
                    c.resume();
                }
                *who = Some(by);
                Ok(CoreReply::Ok { call: None })
            }
            CoreRequest::CampaignNumbersAdded { campaign } => {
                self.campaigns.get_mut(&campaign).ok_or_else(|| unknown(&campaign))?.2 += 1;
                Ok(CoreReply::Ok { call: None })
            }
            CoreRequest::Preview { agent, .. } => {
                Err(CoreError::Campaign(format!("agent {agent} has no number to preview")))
            }
            CoreRequest::DoNotCall { number, reason } => {
                let parsed = crate::records::phone::PhoneNumber::parse(&number)
                    .map_err(|e| CoreError::Campaign(format!("number `{number}`: {e}")))?;
                if let Some(records) = &self.records {
                    let at = crate::records::Stamp {
                        board_ms: self.board_ms as i64,
                        wall_ms: crate::records::now_wall_ms(),
                    };
                    let _ = records.submit(crate::records::JournalOp::DoNotCall { number: parsed, reason, at });
                }
                for (c, _, _) in self.campaigns.values_mut() {
                    c.do_not_call(&number);
                }
                Ok(CoreReply::Ok { call: None })
            }
            _ => Err(CoreError::InvalidState("not a campaign request".into())),
        }
    }

    // --- the ACD, as core/acd.rs drives it -------------------------------

    /// The ACD requests, answered as the core's `acd_request` answers them.
    fn acd_request(&mut self, request: CoreRequest) -> CoreResult {
        let now = self.board_ms;
        let reply = match request {
            CoreRequest::Acd => {
                return Ok(CoreReply::Acd { agents: self.acd.agents_view(), queues: self.acd.queues_view(now) });
            }
            CoreRequest::AgentLogin { agent, extension, queues } => {
                if let Some(ext) = &extension
                    && Model::ext_channel(ext).is_none()
                {
                    return Err(CoreError::NoSuchExtension(ext.clone()));
                }
                self.acd.login(&agent, extension.as_deref(), queues.as_deref(), now).map_err(acd_error)?;
                if let Some(seat) = self.acd.agent_view(&agent).and_then(|a| a.extension) {
                    self.sync_seat(&seat);
                }
                Ok(CoreReply::Ok { call: None })
            }
            CoreRequest::AgentLogout { agent } => {
                self.acd.logout(&agent, now).map_err(acd_error).map(|()| CoreReply::Ok { call: None })
            }
            CoreRequest::AgentReady { agent } => {
                self.acd.ready(&agent, now).map_err(acd_error).map(|()| CoreReply::Ok { call: None })
            }
            CoreRequest::AgentNotReady { agent, reason } => {
                self.acd.not_ready(&agent, &reason, now).map_err(acd_error).map(|()| CoreReply::Ok { call: None })
            }
            CoreRequest::QueuePriority { call, priority } => {
                if priority > 9 {
                    return Err(CoreError::Acd(format!("priority {priority} is out of range 0-9")));
                }
                self.acd.set_priority(call, priority).map_err(acd_error)?;
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::QueuePick { call, agent } => {
                self.acd.reserve(call, &agent).map_err(acd_error).map(|()| CoreReply::Ok { call: Some(call) })
            }
            _ => return Err(CoreError::InvalidState("not an ACD request".into())),
        };
        self.dirty_queues = true;
        self.acd_route();
        reply
    }

    /// After a login: the seat's phone may already be in use.
    fn sync_seat(&mut self, extension: &str) {
        let busy = Model::ext_channel(extension).is_some_and(|ch| !self.channel_free(ch));
        self.acd.set_busy(extension, busy);
    }

    /// Runs the router, acts on what it decided, and publishes the queues
    /// when they changed.
    fn acd_route(&mut self) {
        let now = self.board_ms;
        if self.acd.next_deadline().is_some_and(|d| d <= now) {
            self.acd.tick(now);
        }
        self.acd.route(now);
        self.acd_events();
        if std::mem::take(&mut self.dirty_queues) {
            for queue in self.acd.queues_view(now) {
                self.publish(CtiEventKind::Queue { queue });
            }
        }
    }

    /// Acts on the router's outbox (until acting on it adds nothing).
    fn acd_events(&mut self) {
        loop {
            let events = self.acd.take_events();
            if events.is_empty() {
                return;
            }
            for event in events {
                self.dirty_queues = true;
                match event {
                    AcdEvent::Offer { call, queue, agents, wait_ms } => {
                        for a in agents {
                            self.offer_to(call, &queue, &a.agent, &a.extension, wait_ms);
                        }
                    }
                    AcdEvent::Withdraw { call, agent, .. } => {
                        if let Some(leg) = self.offers.remove(&(call, agent)) {
                            self.end_offer_leg(call, leg);
                        }
                    }
                    AcdEvent::AgentState { agent, .. } => {
                        if let Some(agent) = self.acd.agent_view(&agent) {
                            self.publish(CtiEventKind::Agent { agent });
                        }
                    }
                    AcdEvent::Left { call, .. } => self.end_call(call, "no_answer"),
                }
            }
        }
    }

    /// Pops the caller on the agent's screen and rings the agent's phone;
    /// a phone that cannot ring fails the offer (the agent stays ready).
    fn offer_to(&mut self, call: CallId, queue: &str, agent: &str, extension: &str, wait_ms: u64) {
        let now = self.board_ms;
        let free = Model::ext_channel(extension).filter(|ch| self.channel_free(*ch));
        let (Some(ch), true) = (free, self.calls.contains_key(&call)) else {
            let _ = self.acd.offer_failed(call, agent, false, now);
            return;
        };
        if let Some(pop) = self.pop(call, queue, agent, wait_ms) {
            self.publish(CtiEventKind::ScreenPop { pop: Box::new(pop) });
        }
        let leg = self.leg(ch, "agent", extension, LegStatus::Ringing);
        let id = leg.leg;
        if let Some(c) = self.calls.get_mut(&call) {
            c.legs.push(leg);
        }
        self.offers.insert((call, agent.to_string()), id);
        self.publish_call(call);
        self.set_channel(ch, ChannelStatus::Ringing, Some(call));
    }

    /// What an agent's screen shows for a call (as core/acd.rs's
    /// `screen_pop`, without the customer lookup).
    fn pop(&self, call: CallId, queue: &str, agent: &str, wait_ms: u64) -> Option<ScreenPop> {
        let view = self.calls.get(&call)?;
        let queue = if queue.is_empty() { view.vars.get("queue").cloned().unwrap_or_default() } else { queue.into() };
        Some(ScreenPop {
            agent: agent.to_string(),
            call,
            queue_title: self.acd.queue_of(call).map_or_else(|| queue.clone(), |q| q.title.clone()),
            queue,
            caller_number: view.caller_number.clone().unwrap_or_default(),
            caller_name: view.caller_name.clone().unwrap_or_default(),
            wait_ms,
            callback: self.acd.is_callback(call),
            customer: None,
            last_calls: Vec::new(),
            ivr_path: Vec::new(),
            vars: view.vars.clone(),
            notes: view.notes.clone(),
            transferred_by: view.vars.get("transferred_by").cloned(),
        })
    }

    /// The legs a blind transfer of `moved` drops: all but the caller's
    /// and `moved`.
    fn transferring_legs(&self, call: CallId, moved: LegId) -> Vec<LegId> {
        let Some(c) = self.calls.get(&call) else { return Vec::new() };
        c.legs.iter().filter(|l| l.leg != moved && l.role != "caller").map(|l| l.leg).collect()
    }

    /// A blind transfer: the transferring legs go, and an agent on one of
    /// them ends its queue call (wrap-up).
    fn drop_legs(&mut self, call: CallId, legs: &[LegId]) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        let (gone, kept): (Vec<LegView>, Vec<LegView>) = c.legs.drain(..).partition(|l| legs.contains(&l.leg));
        c.legs = kept;
        let now = self.board_ms;
        for l in gone {
            self.set_channel(l.channel, ChannelStatus::Idle, None);
            if let Some(agent) = self.acd.agent_at(&l.party).map(str::to_string)
                && self.acd.agent_view(&agent).is_some_and(|a| a.call == Some(call) && a.state == AgentState::OnCall)
            {
                let _ = self.acd.call_ended(&agent, now);
            }
        }
    }

    /// A blind transfer to a queue: the party on `moved` waits in `queue`
    /// again, the transferring legs go.
    fn transfer_to_queue(
        &mut self,
        call: CallId,
        moved: LegId,
        queue: &str,
        mode: TransferMode,
        by: Option<String>,
    ) -> CoreResult {
        let now = self.board_ms;
        // Queued before the agent's call ends, as the core does, so the
        // router does not give the caller straight back. A consultation
        // keeps the transferring legs (the core has the transferring party
        // wait in the queue; here the call simply waits).
        let gone = if mode == TransferMode::Attended { Vec::new() } else { self.transferring_legs(call, moved) };
        self.acd.enqueue(call, queue, Entry::default(), now).map_err(|r| CoreError::Acd(r.to_string()))?;
        if let Some(c) = self.calls.get_mut(&call) {
            c.vars.insert("queue".into(), queue.to_string());
            match &by {
                Some(a) => c.vars.insert("transferred_by".into(), a.clone()),
                None => c.vars.remove("transferred_by"),
            };
            for l in c.legs.iter_mut().filter(|l| l.leg == moved) {
                l.status = LegStatus::Held;
                l.held = true;
            }
        }
        self.acd_route();
        self.drop_legs(call, &gone);
        self.publish_call(call);
        self.dirty_queues = true;
        self.acd_route();
        Ok(CoreReply::Ok { call: Some(call) })
    }

    /// Stops ringing an agent's phone for a call.
    fn end_offer_leg(&mut self, call: CallId, leg: LegId) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        let Some(l) = c.legs.iter_mut().find(|l| l.leg == leg) else { return };
        l.status = LegStatus::Ended;
        let ch = l.channel;
        c.legs.retain(|l| l.status != LegStatus::Ended);
        self.publish_call(call);
        self.set_channel(ch, ChannelStatus::Idle, None);
    }

    /// An offer's phone was hung up without answering: the agent is
    /// withdrawn (and stays ready), the caller waits for the next agent.
    fn acd_leg_ended(&mut self, call: CallId, leg: LegId) {
        let Some(agent) = self.offers.iter().find(|(_, l)| **l == leg).map(|((_, a), _)| a.clone()) else { return };
        self.offers.remove(&(call, agent.clone()));
        let _ = self.acd.offer_failed(call, &agent, false, self.board_ms);
        self.acd_route();
    }

    /// The call is over: a caller still waiting abandoned the queue, an
    /// agent's queue call ended.
    fn acd_call_gone(&mut self, call: CallId) {
        let now = self.board_ms;
        self.offers.retain(|(c, _), _| *c != call);
        if self.acd.leave(call, true, now).is_some() {
            self.dirty_queues = true;
        }
        let talking: Vec<String> = self
            .acd
            .agents_view()
            .into_iter()
            .filter(|a| a.call == Some(call) && a.state == AgentState::OnCall)
            .map(|a| a.id)
            .collect();
        for agent in talking {
            let _ = self.acd.call_ended(&agent, now);
        }
        self.acd_route();
    }

    /// A caller from `from` on the trunk line, answered and waiting in
    /// `queue` (the line held, hearing the queue's music).
    fn enqueue(&mut self, from: &str, queue: &str, priority: u8) -> Result<CallId, CoreError> {
        if !self.channel_free(ChannelId(1)) {
            return Err(CoreError::NoFreeLine("pstn".into()));
        }
        let caller = self.leg(ChannelId(1), "caller", from, LegStatus::Held);
        let call = self.new_call("inbound", from, queue, vec![caller]);
        let now = self.board_ms;
        let entry = Entry { priority, ..Entry::default() };
        if let Err(refusal) = self.acd.enqueue(call, queue, entry, now) {
            self.end_call(call, "no_answer");
            return Err(CoreError::Acd(refusal.to_string()));
        }
        if let Some(c) = self.calls.get_mut(&call) {
            c.status = CallStatus::Up;
            c.answered_ms = Some(now);
            c.vars.insert("queue".into(), queue.to_string());
        }
        self.publish_call(call);
        self.set_channel(ChannelId(1), ChannelStatus::Held, Some(call));
        self.dirty_queues = true;
        self.acd_route();
        Ok(call)
    }

    /// The agent answers the call its phone rings for: agent and caller
    /// talk, the other agents' phones stop.
    fn answer_offer(&mut self, agent: &str) -> Result<CallId, CoreError> {
        let (call, leg) = self
            .offers
            .iter()
            .find(|((_, a), _)| a == agent)
            .map(|((c, _), l)| (*c, *l))
            .ok_or_else(|| CoreError::InvalidState(format!("no offer rings agent {agent}")))?;
        self.acd.answered(call, agent, self.board_ms).map_err(acd_error)?;
        self.offers.remove(&(call, agent.to_string()));
        let mut channels = Vec::new();
        if let Some(c) = self.calls.get_mut(&call) {
            for l in c.legs.iter_mut().filter(|l| l.leg == leg || l.role == "caller") {
                l.status = LegStatus::Up;
                l.held = false;
                channels.push(l.channel);
            }
        }
        self.publish_call(call);
        for ch in channels {
            self.set_channel(ch, ChannelStatus::Talking, Some(call));
        }
        self.acd_route();
        Ok(call)
    }
}

/// The test double of the core: a thread answering requests from a small
/// model. Stops (and its handle's requests get [`CoreError::Gone`]) when
/// dropped or [`FakeCore::stop`]ped.
#[derive(Debug)]
pub struct FakeCore {
    model: Arc<Mutex<Model>>,
    /// While set, requests are taken but not answered (the API times out).
    silent: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn lock(m: &Mutex<Model>) -> std::sync::MutexGuard<'_, Model> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeCore {
    /// Starts the double; `event_backlog` is the broadcast's depth (how far
    /// an event stream may lag); its ACD has `config`'s queues and agents.
    pub fn start(event_backlog: usize, config: &Config) -> (CoreHandle, FakeCore) {
        let (handle, inbox) = crate::core::handle::channel(64, event_backlog);
        let CoreInbox { requests, events } = inbox;
        let model = Arc::new(Mutex::new(Model::new(events, config)));
        let silent = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s, st) = (model.clone(), silent.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("fake-core".into())
            .spawn(move || {
                let mut unanswered = Vec::new();
                while !st.load(Ordering::Acquire) {
                    match requests.recv_timeout(Duration::from_millis(20)) {
                        Ok(envelope) if s.load(Ordering::Acquire) => unanswered.push(envelope),
                        Ok(envelope) => {
                            let reply = lock(&m).handle(envelope.request);
                            envelope.reply.send(reply);
                        }
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                    }
                }
            })
            .ok();
        (handle, FakeCore { model, silent, stop, thread })
    }

    /// Rings extension `to_ext` with an inbound trunk call from `from`.
    pub fn ring_inbound(&self, from: &str, to_ext: &str) -> Result<CallId, CoreError> {
        lock(&self.model).ring_inbound(from, to_ext)
    }

    /// A caller from `from` waits in `queue` with `priority` (0–9); the
    /// router runs at once (a ready agent's phone rings). The trunk line
    /// must be free.
    pub fn enqueue(&self, from: &str, queue: &str, priority: u8) -> Result<CallId, CoreError> {
        lock(&self.model).enqueue(from, queue, priority)
    }

    /// Journal do-not-call entries into `records`, as the core does.
    pub fn journal_to(&self, records: RecordsHandle) {
        lock(&self.model).records = Some(records);
    }

    /// How often campaign `name` was asked to read its numbers again
    /// (`None`: no such campaign).
    pub fn campaign_reads(&self, name: &str) -> Option<u32> {
        lock(&self.model).campaigns.get(name).map(|c| c.2)
    }

    /// The agent answers the queue call its phone rings for.
    pub fn answer_offer(&self, agent: &str) -> Result<CallId, CoreError> {
        lock(&self.model).answer_offer(agent)
    }

    /// Publishes a DTMF event.
    pub fn dtmf(&self, channel: u16, digit: char, call: Option<CallId>) {
        lock(&self.model).publish(CtiEventKind::Dtmf { channel: ChannelId(channel), digit, call });
    }

    /// Publishes a caller-ID event.
    pub fn caller_id(&self, channel: u16, number: &str, call: Option<CallId>) {
        lock(&self.model).publish(CtiEventKind::CallerId {
            channel: ChannelId(channel),
            number: Some(number.into()),
            name: None,
            call,
        });
    }

    /// The sequence of the last event published.
    pub fn seq(&self) -> u64 {
        lock(&self.model).seq
    }

    /// Calls in progress.
    pub fn active_calls(&self) -> usize {
        lock(&self.model).calls.len()
    }

    /// While `true`, requests are taken and never answered.
    pub fn set_silent(&self, silent: bool) {
        self.silent.store(silent, Ordering::Release);
    }

    /// Stops the thread: requests then fail with [`CoreError::Gone`].
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FakeCore {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The users a [`TestServer`] has: (username, password, role, extension).
pub const TEST_USERS: &[(&str, &str, &str, Option<&str>)] = &[
    ("admin", "admin-pw", "admin", None),
    ("super", "super-pw", "supervisor", None),
    ("agent", "agent-pw", "agent", Some("801")),
    ("agent2", "agent2-pw", "agent", Some("802")),
];

/// The configuration a [`TestServer`] has in force: the fake core's
/// board (trunk line 1, extensions 801–803 on channels 2–4), the users of
/// [`TEST_USERS`], three agents (1001 is user `agent` at 801, 1002 is
/// `agent2` at 802, 1003 is no user and sits at 803) and two queues
/// (`sales`: 1001 and 1002, longest idle, service level 20 s; `support`:
/// 1002 and 1003, ring all, service level 30 s).
pub const TEST_CONFIG: &str = r#"
[system]
name = "ctibox-test"

[board]
backend = "builtin:fxo=1,fxs=3"

[[trunk]]
name = "pstn"
channels = "1"
inbound = "queue:sales"

[[extension]]
number = "801"
channel = 2

[[extension]]
number = "802"
channel = 3

[[extension]]
number = "803"
channel = 4

[[user]]
name = "admin"
role = "admin"
password = "admin-pw"

[[user]]
name = "super"
role = "supervisor"
password = "super-pw"

[[user]]
name = "agent"
role = "agent"
password = "agent-pw"
extension = "801"

[[user]]
name = "agent2"
role = "agent"
password = "agent2-pw"
extension = "802"

[[agent]]
id = "1001"
name = "Alice"
pin = "1111"
extension = "801"
skills = { sales = 8 }
user = "agent"

[[agent]]
id = "1002"
name = "Bob"
pin = "2222"
extension = "802"
user = "agent2"

[[agent]]
id = "1003"
name = "Carol"
pin = "3333"
extension = "803"

[[queue]]
name = "sales"
title = "Sales"
strategy = "longest_idle"
members = ["1001", "1002"]
service_level = "20s"

[[queue]]
name = "support"
title = "Support"
strategy = "ring_all"
members = ["1002", "1003"]
service_level = "30s"

[[campaign]]
name = "spring"
queue = "sales"
trunk = "pstn"
"#;

/// [`TEST_CONFIG`], parsed.
pub fn test_config() -> Result<Config, TestServerError> {
    Config::parse("test.toml", TEST_CONFIG).map_err(|e| TestServerError::Config(e.to_string()))
}

/// The config users of [`TEST_USERS`].
pub fn test_user_configs() -> Vec<UserConfig> {
    TEST_USERS
        .iter()
        .map(|(name, pw, role, ext)| UserConfig {
            name: (*name).into(),
            role: ConfigRole::parse(role).unwrap_or(ConfigRole::Agent),
            password: Password::Plain((*pw).into()),
            extension: ext.map(Into::into),
        })
        .collect()
}

/// How to start a [`TestServer`].
#[derive(Debug, Clone)]
pub struct TestServerOptions {
    pub token_ttl_ms: u64,
    pub event_backlog: usize,
    pub core_timeout: Duration,
    /// Ring extension 801 from 13800138000 at start (call 1).
    pub ringing_call: bool,
}

impl Default for TestServerOptions {
    fn default() -> TestServerOptions {
        TestServerOptions {
            token_ttl_ms: 3_600_000,
            event_backlog: 1024,
            core_timeout: Duration::from_secs(2),
            ringing_call: true,
        }
    }
}

/// Starting a test server failed.
#[derive(Debug, thiserror::Error)]
pub enum TestServerError {
    #[error(transparent)]
    Records(#[from] crate::records::OpenError),
    #[error(transparent)]
    Seed(#[from] super::SeedError),
    #[error("cannot start the server thread: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server thread ended before it listened")]
    NoListener,
    #[error("the test configuration does not parse: {0}")]
    Config(String),
}

/// An API server over a [`FakeCore`] and a records database, on
/// `127.0.0.1:0`, stopped when dropped.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:PORT` (the API is under `/api/v1`).
    pub url: String,
    pub core: FakeCore,
    pub records: RecordsHandle,
    pub reader: RecordsReader,
    pub auth: Auth,
    /// The configuration in force ([`TEST_CONFIG`]).
    pub config: Arc<Config>,
    /// What `POST /config/reload` answers.
    pub reload_result: Arc<Mutex<Result<(), Vec<String>>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    db: Option<Records>,
}

impl TestServer {
    /// Starts with the default options, the database in `dir`.
    pub fn start(dir: &Path) -> Result<TestServer, TestServerError> {
        TestServer::start_with(dir, TestServerOptions::default())
    }

    pub fn start_with(dir: &Path, options: TestServerOptions) -> Result<TestServer, TestServerError> {
        let config = RecordsConfig { quick_check_on_open: false, ..RecordsConfig::default() };
        let db = Records::open(dir.join("records.db"), &config)?;
        let (records, reader) = (db.handle(), db.reader());
        let users = test_user_configs();
        seed_users(&records, &reader, &users)?;
        let config = Arc::new(test_config()?);
        let (core_handle, core) = FakeCore::start(options.event_backlog, &config);
        core.journal_to(records.clone());
        if options.ringing_call {
            let _ = core.ring_inbound("13800138000", "801");
        }
        let auth = Auth::new(options.token_ttl_ms, &users);
        let reload_result: Arc<Mutex<Result<(), Vec<String>>>> = Arc::new(Mutex::new(Ok(())));
        let model = core.model.clone();
        let stats_records = records.clone();
        let status = Arc::new(move || {
            let stats = stats_records.stats();
            let (board_ms, calls) = {
                let m = lock(&model);
                (m.board_ms, m.calls.len() as u64)
            };
            StatusView {
                name: "ctibox-test".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                board: super::BoardStatus { name: "fake".into(), channels: 4, tick_ms: 20, slips: 0 },
                board_ms,
                engine: super::EngineStatus {
                    ticks: board_ms / 20,
                    events_dropped: 0,
                    busy_ratio: 0.01,
                    busy_ns: board_ms * 200_000,
                },
                calls_active: calls,
                records: super::RecordsStatus { committed_seq: stats.committed_seq, queue_full: stats.queue_full },
            }
        });
        let result = reload_result.clone();
        let reload = Arc::new(move || result.lock().unwrap_or_else(|p| p.into_inner()).clone());
        let in_force = config.clone();
        let config_fn: super::ConfigFn = Arc::new(move || in_force.clone());
        let mut state =
            ApiState::new(core_handle, records.clone(), reader.clone(), status, reload, config_fn, auth.clone());
        state.core_timeout = options.core_timeout;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new().name("test-api".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    let _ = addr_tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = addr_tx.send(Err(e));
                        return;
                    }
                };
                let _ = addr_tx.send(listener.local_addr());
                if let Err(e) = super::serve(listener, state, async move {
                    let _ = rx.await;
                })
                .await
                {
                    tracing::error!(error = %e, "test api server failed");
                }
            });
        })?;
        let addr = addr_rx.recv().map_err(|_| TestServerError::NoListener)??;
        Ok(TestServer {
            url: format!("http://{addr}"),
            core,
            records,
            reader,
            auth,
            config,
            reload_result,
            shutdown: Some(tx),
            thread: Some(thread),
            db: Some(db),
        })
    }

    /// The full URL of an API path (`/calls` → `http://…/api/v1/calls`).
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.url)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.core.stop();
        if let Some(db) = self.db.take() {
            db.shutdown();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_config_agrees_with_the_fake_core_and_the_test_users() {
        let config = test_config().unwrap();
        let users: Vec<(String, String)> =
            config.users.iter().map(|u| (u.name.clone(), format!("{:?}", u.extension))).collect();
        let want: Vec<(String, String)> =
            test_user_configs().iter().map(|u| (u.name.clone(), format!("{:?}", u.extension))).collect();
        assert_eq!(users, want);
        for (user, config_user) in test_user_configs().iter().zip(&config.users) {
            assert_eq!(user.role, config_user.role, "{}", user.name);
            assert_eq!(user.password, config_user.password, "{}", user.name);
        }
        let extensions: Vec<(&str, u16)> = config.extensions.iter().map(|e| (e.number.as_str(), e.channel.0)).collect();
        assert_eq!(extensions, EXTENSIONS);
        assert_eq!(config.agent_of_user("agent").map(|a| a.id()), Some("1001"));
        assert_eq!(config.agent_of_user("agent2").map(|a| a.id()), Some("1002"));
        assert_eq!(config.queue("support").map(|q| q.spec.service_level_ms), Some(30_000));
    }
}
