//! The ACD in the call core: callers wait in queues (music, position and
//! wait announcements, comfort prompts, callback), agents' phones ring for
//! the offers the router makes, an answer connects caller and agent, and
//! every queue event and agent state change goes to the journal and out as
//! CTI events (the agent's screen pop is sent with the offer).
//!
//! The router ([`crate::acd::Acd`]) decides; this file acts. Timers are
//! board time: [`Core::acd_tick`] runs on every tick.

use ctibox_driver::engine::EngineCommand;
use ctibox_driver::hal::{BoardTime, ChannelId, ChannelKind, Duration};
use ctibox_driver::media::detectors::DetectorEvent;
use ctibox_driver::media::player::PlayBuffer;
use ctibox_driver::signaling::analog::{Detectors, LineCommand};

use super::Core;
use super::api::{CallId, CoreError, CtiEventKind, LegId, LegStatus, ScreenPop};
use super::flows::Destination;
use super::model::{ChanRole, Media, RingPurpose};
use crate::acd::{AcdEvent, Entry, LeaveWhy, Refusal, WithdrawWhy};
use crate::config::Target;
use crate::ivr::flow::{Lang, SayAs, SayOptions};
use crate::ivr::interp::Spoken;
use crate::records::{HangupCause, JournalOp, LegRole};

/// How long a call bound for a queue waits for its customer record.
const CARD_WAIT: Duration = Duration::from_ms(3000);

/// A call waiting in a queue.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub queue: String,
    /// The caller's leg and channel (music, announcements, keys).
    pub leg: LegId,
    pub channel: ChannelId,
    pub next_announce: Option<BoardTime>,
    pub next_comfort: Option<BoardTime>,
    pub comfort_ix: usize,
    /// Media id of an announcement playing.
    pub announcing: Option<u32>,
    /// The caller asked to be called back at this number through this
    /// trunk group, and hung up.
    pub callback: Option<(String, String)>,
    /// Agents being rung: agent id → leg.
    pub offers: Vec<(String, LegId)>,
}

/// Parse `sales:5,ru` (IVR skills) into (skill, minimum level).
pub(crate) fn parse_skills(text: &str) -> Vec<(String, u8)> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once(':') {
            Some((name, level)) => (name.trim().to_string(), level.trim().parse::<u8>().unwrap_or(1).clamp(1, 10)),
            None => (s.to_string(), 1),
        })
        .collect()
}

impl Core {
    /// Put a call in a queue. The caller (answered if its line still
    /// rings) hears the queue's music until an agent takes it.
    ///
    /// While the caller's customer record is still being looked up (for
    /// at most [`CARD_WAIT`] of board time), the call waits for it, so the
    /// VIP level and personal manager count and the agent's screen pop
    /// has the record.
    pub(crate) fn enqueue_call(&mut self, call: CallId, queue: &str) -> Result<(), CoreError> {
        if self.config.queue(queue).is_none() {
            return Err(CoreError::Acd(format!("there is no queue `{queue}`")));
        }
        if !self.calls.contains_key(&call) {
            return Err(CoreError::NoSuchCall(call));
        }
        if self.card_pending.get(&call).is_some_and(|&since| self.now < since + CARD_WAIT) {
            self.awaiting_card.insert(call, queue.to_string());
            return Ok(());
        }
        self.enqueue_leg(call, queue, None)
    }

    /// A call that waited for its customer record joins its queue (the
    /// record came, or [`CARD_WAIT`] passed).
    fn enqueue_awaiting(&mut self, call: CallId) {
        let Some(queue) = self.awaiting_card.remove(&call) else { return };
        if let Err(e) = self.enqueue_leg(call, &queue, None) {
            tracing::warn!(call = call.0, queue, "cannot queue the call: {e}");
            self.end_call(call, HangupCause::Failed, &format!("queue {queue}: {e}"));
        }
    }

    /// Queue the call now: the party on `leg` (default: the caller) waits.
    pub(crate) fn enqueue_leg(&mut self, call: CallId, queue: &str, leg: Option<LegId>) -> Result<(), CoreError> {
        let qc =
            self.config.queue(queue).cloned().ok_or_else(|| CoreError::Acd(format!("there is no queue `{queue}`")))?;
        let Some(c) = self.calls.get(&call) else { return Err(CoreError::NoSuchCall(call)) };
        // The party served: the caller, or the party a campaign called.
        let caller = c
            .legs
            .iter()
            .find(|l| {
                l.is_live()
                    && leg
                        .map_or(l.role == LegRole::Caller || (l.outbound_trunk && self.is_campaign_call(call)), |id| {
                            l.id == id
                        })
            })
            .cloned()
            .ok_or_else(|| CoreError::InvalidState(format!("call {call} has no party to queue")))?;
        let vars = &c.vars;
        // The higher of the IVR's priority and the customer's VIP level.
        let level = |key: &str| vars.get(key).and_then(|p| p.trim().parse::<u8>().ok()).unwrap_or(0);
        let priority = level("priority").max(level("customer_vip")).min(9);
        let skills = vars.get("skills").map(|s| parse_skills(s)).unwrap_or_default();
        // Not held for the personal manager who is moving the call on.
        let sticky =
            vars.get("customer_agent").filter(|a| !a.is_empty() && vars.get("transferred_by") != Some(*a)).cloned();
        let entry = Entry { priority, skills: skills.clone(), sticky: sticky.clone() };
        let now_ms = self.now.as_ms();
        match self.acd.enqueue(call, queue, entry, now_ms) {
            Ok(position) => {
                self.journal(JournalOp::QueueEvent {
                    call,
                    queue: queue.to_string(),
                    kind: crate::records::QueueEventKind::Enter,
                    agent: None,
                    position: Some(position as u32),
                    wait_ms: Some(0),
                    detail: serde_json::json!({"priority": priority, "skills": skills, "sticky": sticky}),
                    at: self.stamp(),
                });
            }
            Err(refusal) => {
                let kind = match refusal {
                    Refusal::Full { .. } | Refusal::Empty(_) => crate::records::QueueEventKind::Overflow,
                    _ => crate::records::QueueEventKind::Leave,
                };
                self.journal(JournalOp::QueueEvent {
                    call,
                    queue: queue.to_string(),
                    kind,
                    agent: None,
                    position: None,
                    wait_ms: Some(0),
                    detail: serde_json::json!({"why": refusal.to_string()}),
                    at: self.stamp(),
                });
                return match refusal {
                    // A campaign's party or an agent consulting the queue
                    // is not sent on elsewhere.
                    Refusal::Full { .. } | Refusal::Empty(_)
                        if qc.overflow != Target::Hangup
                            && !self.is_campaign_call(call)
                            && self.calls.get(&call).is_none_or(|c| c.consult.is_none()) =>
                    {
                        self.overflow(call, &qc.overflow, &refusal.to_string())
                    }
                    _ => Err(CoreError::Acd(refusal.to_string())),
                };
            }
        }
        if let Some(c) = self.calls.get_mut(&call) {
            c.vars.insert("queue".into(), queue.to_string());
            self.dirty_calls.insert(call);
        }
        let now = self.now;
        self.queued.insert(
            call,
            Queued {
                queue: queue.to_string(),
                leg: caller.id,
                channel: caller.channel,
                next_announce: qc.announce_ms.map(|ms| now + Duration::from_ms(ms)),
                next_comfort: (!qc.comfort.is_empty()).then(|| now + Duration::from_ms(qc.comfort_every_ms)),
                comfort_ix: 0,
                announcing: None,
                callback: None,
                offers: Vec::new(),
            },
        );
        self.dirty_queues = true;
        if qc.callback_key.is_some() {
            self.engine_cmd(EngineCommand::SetDetectors {
                channel: caller.channel,
                detectors: Detectors { dtmf: true, ..Detectors::NONE },
            });
        }
        let is_line = self.chan(caller.channel).is_some_and(|ch| ch.kind == ChannelKind::Fxo);
        if caller.status == LegStatus::Up {
            self.reconnect(call);
        } else if is_line {
            // The music starts when our answer is done (on_answered).
            self.line(caller.channel, LineCommand::Answer);
        }
        self.acd_route();
        Ok(())
    }

    /// Whether a call waits in a queue (its lone caller stays connected).
    pub(crate) fn is_queued(&self, call: CallId) -> bool {
        self.queued.contains_key(&call)
    }

    /// What a queued caller's channel plays while nobody talks to it: an
    /// announcement in progress, else music.
    pub(crate) fn queue_media(&self, call: CallId, leg: LegId) -> Option<Media> {
        let q = self.queued.get(&call)?;
        if q.leg != leg {
            return None;
        }
        Some(if q.announcing.is_some() { Media::Prompt } else { Media::MusicOnHold })
    }

    /// Send a call that left a queue (or could not join) to `target`.
    fn overflow(&mut self, call: CallId, target: &Target, why: &str) -> Result<(), CoreError> {
        tracing::debug!(call = call.0, %target, why, "queue overflow");
        let dest = match target {
            Target::Queue(q) => return self.enqueue_call(call, q),
            Target::Extension(e) => Destination::Extension(e.clone()),
            Target::Group(g) => Destination::Group(g.clone()),
            Target::Ivr(f) => Destination::Ivr(f.clone()),
            // The config refuses agents as overflow targets.
            Target::Trunk(_) | Target::DialledExtension | Target::Hangup | Target::Agent(_) => {
                return Err(CoreError::Acd(format!("nobody took the call ({why})")));
            }
        };
        self.ring_destination(call, &dest, RingPurpose::Connect, LegRole::Callee)
    }

    /// Run the router and carry out what it decided.
    pub(crate) fn acd_route(&mut self) {
        let now = self.now.as_ms();
        self.acd.route(now);
        self.acd_events();
    }

    /// Every tick: offers ringing out, wrap-ups ending, maximum waits,
    /// announcements; then routing.
    pub(crate) fn acd_tick(&mut self) {
        if !self.awaiting_card.is_empty() {
            let late: Vec<CallId> = self
                .awaiting_card
                .keys()
                .filter(|c| self.card_pending.get(c).is_none_or(|&since| self.now >= since + CARD_WAIT))
                .copied()
                .collect();
            for call in late {
                tracing::debug!(call = call.0, "customer lookup is late: queueing without it");
                self.enqueue_awaiting(call);
            }
        }
        let now = self.now.as_ms();
        if self.acd.next_deadline().is_some_and(|d| d <= now) {
            self.acd.tick(now);
        }
        self.acd.route(now);
        self.acd_events();
        self.queue_announcements();
        if std::mem::take(&mut self.dirty_queues) {
            for q in self.acd.queues_view(now) {
                self.emit(CtiEventKind::Queue { queue: q });
            }
        }
    }

    /// Act on the router's outbox.
    pub(crate) fn acd_events(&mut self) {
        for ev in self.acd.take_events() {
            match ev {
                AcdEvent::Offer { call, queue, agents, wait_ms } => {
                    self.dirty_queues = true;
                    for a in agents {
                        self.offer_to(call, &queue, &a.agent, &a.extension, wait_ms);
                    }
                }
                AcdEvent::Withdraw { call, agent, why, .. } => {
                    self.dirty_queues = true;
                    let leg = self.queued.get_mut(&call).and_then(|q| {
                        let i = q.offers.iter().position(|(a, _)| *a == agent)?;
                        Some(q.offers.remove(i).1)
                    });
                    if why == WithdrawWhy::NoAnswer {
                        let queue = self.queued.get(&call).map(|q| q.queue.clone()).unwrap_or_default();
                        let wait = self.acd.wait_of(call, self.now.as_ms());
                        self.journal(JournalOp::QueueEvent {
                            call,
                            queue,
                            kind: crate::records::QueueEventKind::NoAnswer,
                            agent: Some(agent.clone()),
                            position: None,
                            wait_ms: wait.map(|w| w as i64),
                            detail: serde_json::json!({}),
                            at: self.stamp(),
                        });
                    }
                    if let Some(leg) = leg {
                        let (cause, detail) = match why {
                            WithdrawWhy::NoAnswer => (HangupCause::NoAnswer, "offer not answered"),
                            WithdrawWhy::Taken => (HangupCause::Normal, "answered by another agent"),
                            WithdrawWhy::CallerLeft => (HangupCause::Cancelled, "the caller left"),
                            WithdrawWhy::AgentLeft => (HangupCause::Cancelled, "the agent left"),
                        };
                        self.end_leg(call, leg, cause, detail, false);
                        self.reconnect(call);
                    }
                }
                AcdEvent::AgentState { agent, state, reason, extension, call, at_ms } => {
                    self.journal(JournalOp::AgentState {
                        agent: agent.clone(),
                        state: state_kind(state),
                        reason,
                        extension,
                        call,
                        at: crate::records::Stamp { board_ms: at_ms as i64, wall_ms: crate::records::now_wall_ms() },
                    });
                    if let Some(view) = self.acd.agent_view(&agent) {
                        self.emit(CtiEventKind::Agent { agent: view });
                    }
                    self.dirty_queues = true;
                }
                AcdEvent::Left { call, queue, why, wait_ms } => {
                    self.dirty_queues = true;
                    let q = self.queued.remove(&call);
                    let kind = match why {
                        LeaveWhy::MaxWait => crate::records::QueueEventKind::Timeout,
                        LeaveWhy::Empty | LeaveWhy::Removed => crate::records::QueueEventKind::Overflow,
                    };
                    self.journal(JournalOp::QueueEvent {
                        call,
                        queue: queue.clone(),
                        kind,
                        agent: None,
                        position: None,
                        wait_ms: Some(wait_ms as i64),
                        detail: serde_json::json!({"why": why}),
                        at: self.stamp(),
                    });
                    // An agent's consultation: back to the held party.
                    if let Some(q) = &q
                        && let Some(cons) = self.calls.get(&call).and_then(|c| c.consult).filter(|c| c.by == q.leg)
                    {
                        self.stop_queue_media(q);
                        self.cancel_consult(call, cons.by, cons.held);
                        continue;
                    }
                    if q.as_ref().is_some_and(|q| q.callback.is_some()) {
                        // Nobody to call back for: the request is dropped.
                        self.end_call(call, HangupCause::NoAnswer, "callback request expired in the queue");
                        continue;
                    }
                    if let Some(q) = &q {
                        self.stop_queue_media(q);
                    }
                    if self.campaign_left_queue(call) {
                        continue;
                    }
                    let target = self.config.queue(&queue).map(|qc| qc.overflow.clone()).unwrap_or(Target::Hangup);
                    let why_text = format!("left queue {queue}: {why:?}");
                    if let Err(e) = self.overflow(call, &target, &why_text)
                        && !self.ivr_handed_failed(call, &e.to_string())
                    {
                        self.end_call(call, HangupCause::NoAnswer, &why_text);
                    }
                }
            }
        }
    }

    /// Ring an agent's phone for a waiting call and pop the caller's
    /// record on the agent's screen.
    fn offer_to(&mut self, call: CallId, queue: &str, agent: &str, extension: &str, wait_ms: u64) {
        self.journal(JournalOp::QueueEvent {
            call,
            queue: queue.to_string(),
            kind: crate::records::QueueEventKind::Offer,
            agent: Some(agent.to_string()),
            position: None,
            wait_ms: Some(wait_ms as i64),
            detail: serde_json::json!({"extension": extension}),
            at: self.stamp(),
        });
        let pop = self.screen_pop(call, queue, agent, wait_ms);
        if let Some(pop) = pop {
            self.emit(CtiEventKind::ScreenPop { pop: Box::new(pop) });
        }
        match self.ring_extension(call, extension, LegRole::Agent) {
            Ok(leg) => {
                if let Some(q) = self.queued.get_mut(&call) {
                    q.offers.push((agent.to_string(), leg));
                }
                self.reconnect(call);
            }
            Err(e) => {
                tracing::debug!(call = call.0, agent, "offer failed: {e}");
                let _ = self.acd.offer_failed(call, agent, false, self.now.as_ms());
            }
        }
    }

    /// What the agent's screen shows for an offered (or transferred) call.
    pub(crate) fn screen_pop(&self, call: CallId, queue: &str, agent: &str, wait_ms: u64) -> Option<ScreenPop> {
        let c = self.calls.get(&call)?;
        let customer = self.customers.get(&call).cloned();
        // A campaign's call: the party is the one called.
        let (caller_number, caller_name) = if self.is_campaign_call(call) {
            (c.called_number.clone(), c.vars.get("customer_name").cloned().unwrap_or_default())
        } else {
            (c.caller_number.clone(), c.caller_name.clone())
        };
        Some(ScreenPop {
            agent: agent.to_string(),
            call,
            queue: queue.to_string(),
            queue_title: self.config.queue(queue).map(|q| q.spec.title.clone()).unwrap_or_default(),
            caller_number,
            caller_name,
            wait_ms,
            callback: self.queued.get(&call).is_some_and(|q| q.callback.is_some()),
            customer: customer.as_ref().and_then(|c| c.customer.clone()),
            last_calls: customer.map(|c| c.last_calls).unwrap_or_default(),
            ivr_path: c.vars.get("ivr_path").map(|p| p.split(',').map(str::to_string).collect()).unwrap_or_default(),
            vars: c.vars.clone(),
            notes: c.notes.clone(),
            transferred_by: c.vars.get("transferred_by").cloned(),
        })
    }

    /// An agent's phone answered an offer: the caller leaves the queue and
    /// talks to the agent (a callback caller is dialled now). True when the
    /// leg was an offer.
    pub(crate) fn acd_answered(&mut self, call: CallId, leg: LegId) -> bool {
        let Some(q) = self.queued.get(&call) else { return false };
        let Some(agent) = q.offers.iter().find(|(_, l)| *l == leg).map(|(a, _)| a.clone()) else { return false };
        let now = self.now.as_ms();
        let wait = self.acd.wait_of(call, now);
        if let Err(e) = self.acd.answered(call, &agent, now) {
            tracing::warn!(call = call.0, agent, "ACD answer: {e}");
            return false;
        }
        let Some(q) = self.queued.remove(&call) else { return false };
        self.agent_calls.insert(agent.clone(), (call, leg));
        self.journal(JournalOp::QueueEvent {
            call,
            queue: q.queue.clone(),
            kind: crate::records::QueueEventKind::Answer,
            agent: Some(agent.clone()),
            position: None,
            wait_ms: wait.map(|w| w as i64),
            detail: serde_json::json!({}),
            at: self.stamp(),
        });
        if let Some(c) = self.calls.get_mut(&call) {
            c.vars.insert("agent".into(), agent.clone());
        }
        self.campaign_agent_answered(call);
        self.stop_queue_media(&q);
        self.acd_events();
        self.dirty_queues = true;
        if let Some((number, trunk)) = q.callback {
            // The agent is on the line: call the customer back.
            let dest = Destination::Outside { trunk, number: number.clone() };
            if let Err(e) = self.ring_destination(call, &dest, RingPurpose::Connect, LegRole::Callee) {
                self.journal(JournalOp::CallEvent {
                    call,
                    leg: None,
                    at: self.stamp(),
                    kind: "callback_failed".into(),
                    detail: serde_json::json!({"number": number, "error": e.to_string()}),
                });
                self.end_call(call, HangupCause::Failed, "the callback could not be dialled");
            }
        }
        true
    }

    pub(crate) fn stop_queue_media(&mut self, q: &Queued) {
        if q.callback.is_none() && self.chan(q.channel).is_some_and(|c| c.media != Media::None) {
            self.set_media(q.channel, Media::None);
        }
        if let Some(cfg) = self.config.queue(&q.queue)
            && cfg.callback_key.is_some()
            && !self.in_ivr_channel(q.channel)
        {
            self.engine_cmd(EngineCommand::SetDetectors { channel: q.channel, detectors: Detectors::NONE });
        }
    }

    fn in_ivr_channel(&self, ch: ChannelId) -> bool {
        self.ivr_runs.values().any(|r| r.channel == ch && r.session.state() != crate::ivr::interp::State::Handed)
    }

    /// A leg ended: an agent's queue call is over, or an offer's phone went
    /// away without answering.
    pub(crate) fn acd_leg_ended(&mut self, call: CallId, leg: LegId) {
        let now = self.now.as_ms();
        if let Some(agent) = self.agent_calls.iter().find(|(_, v)| **v == (call, leg)).map(|(a, _)| a.clone()) {
            self.agent_calls.remove(&agent);
            if let Err(e) = self.acd.call_ended(&agent, now) {
                tracing::debug!(agent, "ACD call end: {e}");
            }
            self.dirty_queues = true;
            return;
        }
        let offered = self.queued.get_mut(&call).and_then(|q| {
            let i = q.offers.iter().position(|(_, l)| *l == leg)?;
            Some(q.offers.remove(i).0)
        });
        if let Some(agent) = offered {
            let _ = self.acd.offer_failed(call, &agent, false, now);
        }
    }

    /// The call is over: a caller still waiting abandoned the queue.
    pub(crate) fn acd_call_gone(&mut self, call: CallId) {
        self.customers.remove(&call);
        self.card_pending.remove(&call);
        self.awaiting_card.remove(&call);
        let Some(q) = self.queued.remove(&call) else { return };
        let now = self.now.as_ms();
        if let Some((queue, wait)) = self.acd.leave(call, true, now) {
            self.journal(JournalOp::QueueEvent {
                call,
                queue,
                kind: crate::records::QueueEventKind::Abandon,
                agent: None,
                position: None,
                wait_ms: Some(wait as i64),
                detail: serde_json::json!({"callback": q.callback.is_some()}),
                at: self.stamp(),
            });
        }
        self.dirty_queues = true;
        self.acd_events();
    }

    /// Whether a queued call's caller left while agents still ring (the
    /// call should end: nobody is there to connect).
    pub(crate) fn queued_caller_gone(&self, call: CallId) -> bool {
        let Some(q) = self.queued.get(&call) else { return false };
        q.callback.is_none()
            && self.calls.get(&call).and_then(|c| c.leg(q.leg)).is_none_or(|l| l.status == LegStatus::Ended)
    }

    /// A key on a queued caller's line: the callback key takes the caller
    /// out of the line but keeps the place.
    pub(crate) fn acd_detected(&mut self, ch: ChannelId, event: &DetectorEvent) -> bool {
        let DetectorEvent::DtmfBegin { digit, .. } = event else { return false };
        let Some((call, _)) = self.chan(ch).and_then(|c| c.call) else { return false };
        if self.consult_in_queue(call) {
            return false;
        }
        let Some(q) = self.queued.get(&call) else { return false };
        if q.channel != ch || q.callback.is_some() || !q.offers.is_empty() {
            return false;
        }
        let Some(cfg) = self.config.queue(&q.queue) else { return false };
        if cfg.callback_key != Some(digit.as_char()) {
            return false;
        }
        let Some(c) = self.calls.get(&call) else { return false };
        let number = c.caller_number.clone();
        let trunk = match self.chan(ch).map(|c| c.role.clone()) {
            Some(ChanRole::Trunk(t)) => t,
            _ => String::new(),
        };
        if number.is_empty() || trunk.is_empty() {
            // No number to call back (no caller ID, or an extension).
            return true;
        }
        if self.acd.set_callback(call).is_err() {
            return true;
        }
        let queue = q.queue.clone();
        let lang = Lang::parse(&cfg.language).unwrap_or(Lang::En);
        let wait = self.acd.wait_of(call, self.now.as_ms());
        self.journal(JournalOp::QueueEvent {
            call,
            queue,
            kind: crate::records::QueueEventKind::Callback,
            agent: None,
            position: self.acd.position(call).map(|(p, _)| p as u32),
            wait_ms: wait.map(|w| w as i64),
            detail: serde_json::json!({"number": number}),
            at: self.stamp(),
        });
        // Confirm, then hang up the line; the call stays queued.
        let buf = self.prompt_audio(call, &[Spoken::Prompt { lang, name: "callback-confirmed".into() }]);
        self.play_queue_prompt(call, buf);
        if let Some(q) = self.queued.get_mut(&call) {
            q.callback = Some((number, trunk));
            q.next_announce = None;
            q.next_comfort = None;
        }
        self.dirty_queues = true;
        true
    }

    /// Play an announcement to a queued caller in place of the music.
    fn play_queue_prompt(&mut self, call: CallId, buffer: PlayBuffer) {
        let Some(q) = self.queued.get(&call) else { return };
        let ch = q.channel;
        self.media_ids = self.media_ids.wrapping_add(1);
        let id = self.media_ids;
        self.engine_cmd(EngineCommand::Play { channel: ch, id, buffer, repeat: false });
        if let Some(c) = self.chans.get_mut(ch.index()) {
            c.media = Media::Prompt;
        }
        if let Some(q) = self.queued.get_mut(&call) {
            q.announcing = Some(id);
        }
    }

    /// A buffer ended: an announcement is over (music again), or a
    /// callback confirmation (hang up the caller's line). True when it was
    /// the queue's.
    pub(crate) fn acd_media_done(&mut self, ch: ChannelId, id: u32) -> bool {
        let Some((call, _)) = self.chan(ch).and_then(|c| c.call) else { return false };
        let Some(q) = self.queued.get_mut(&call) else { return false };
        if q.announcing != Some(id) {
            return false;
        }
        q.announcing = None;
        let leg = q.leg;
        if q.callback.is_some() {
            self.end_leg(call, leg, HangupCause::Normal, "the caller chose a callback", false);
            return true;
        }
        if let Some(c) = self.chans.get_mut(ch.index()) {
            c.media = Media::None;
        }
        self.reconnect(call);
        true
    }

    /// Position, estimated wait and comfort prompts that are due.
    fn queue_announcements(&mut self) {
        let now = self.now;
        let due: Vec<(CallId, bool)> = self
            .queued
            .iter()
            .filter(|(_, q)| q.announcing.is_none() && q.offers.is_empty() && q.callback.is_none())
            .filter_map(|(c, q)| {
                if q.next_announce.is_some_and(|t| t <= now) {
                    Some((*c, true))
                } else if q.next_comfort.is_some_and(|t| t <= now) {
                    Some((*c, false))
                } else {
                    None
                }
            })
            .collect();
        for (call, position) in due {
            let Some(q) = self.queued.get(&call).cloned() else { continue };
            let Some(cfg) = self.config.queue(&q.queue).cloned() else { continue };
            // Only a caller who can hear us (the line is answered).
            if self.calls.get(&call).and_then(|c| c.leg(q.leg)).is_none_or(|l| l.status != LegStatus::Up) {
                continue;
            }
            let lang = Lang::parse(&cfg.language).unwrap_or(Lang::En);
            let items = if position {
                if let Some(q) = self.queued.get_mut(&call) {
                    q.next_announce = cfg.announce_ms.map(|ms| now + Duration::from_ms(ms));
                }
                let Some((pos, ewt)) = self.acd.position(call) else { continue };
                position_announcement(lang, pos, ewt, cfg.callback_key)
            } else {
                let name = cfg.comfort[q.comfort_ix % cfg.comfort.len()].clone();
                if let Some(q) = self.queued.get_mut(&call) {
                    q.comfort_ix += 1;
                    q.next_comfort = Some(now + Duration::from_ms(cfg.comfort_every_ms));
                }
                vec![Spoken::Prompt { lang, name }]
            };
            let buf = self.prompt_audio(call, &items);
            self.play_queue_prompt(call, buf);
        }
    }

    /// An extension's phone changed: its agent is busy while the phone is
    /// not free.
    pub(crate) fn acd_seat_changed(&mut self, ch: ChannelId) {
        let Some(c) = self.chan(ch) else { return };
        if let ChanRole::Extension(ext) = &c.role {
            let ext = ext.clone();
            let busy = !c.is_free() || self.previewing_at(&ext);
            self.acd.set_busy(&ext, busy);
        }
    }

    /// The music a channel's caller hears on hold: its queue's own, else
    /// the system's.
    pub(crate) fn music_for(&self, ch: ChannelId) -> PlayBuffer {
        self.chan(ch)
            .and_then(|c| c.call)
            .and_then(|(call, _)| self.queued.get(&call))
            .and_then(|q| self.ivr.queue_music.get(&q.queue))
            .unwrap_or(&self.moh)
            .clone()
    }

    /// After a login: take the seat's current state.
    pub(crate) fn acd_sync_seat(&mut self, extension: &str) {
        if let Some(ch) = self.config.extension(extension).map(|e| e.channel) {
            self.acd_seat_changed(ch);
        }
    }
}

/// The journal's name for an agent state.
fn state_kind(state: crate::acd::AgentState) -> crate::records::AgentStateKind {
    use crate::acd::AgentState as S;
    use crate::records::AgentStateKind as K;
    match state {
        S::LoggedOut => K::LoggedOut,
        S::Ready => K::Ready,
        S::NotReady => K::NotReady,
        S::Offered => K::Offered,
        S::OnCall => K::OnCall,
        S::WrapUp => K::WrapUp,
    }
}

/// "You are number N in the queue. Your estimated waiting time is M
/// minutes. (To be called back instead, press 1.)"
fn position_announcement(lang: Lang, pos: usize, ewt_ms: Option<u64>, callback: Option<char>) -> Vec<Spoken> {
    let p = |name: &str| Spoken::Prompt { lang, name: name.to_string() };
    let mut items = vec![
        p("you-are-number"),
        Spoken::Say { lang, kind: SayAs::Number, value: pos.to_string(), options: SayOptions::default() },
        p("in-queue"),
    ];
    if let Some(ms) = ewt_ms {
        // Whole minutes, at least one.
        let minutes = ms.div_ceil(60_000).max(1);
        items.push(p("estimated-wait"));
        items.push(Spoken::Say {
            lang,
            kind: SayAs::Duration,
            value: (minutes * 60).to_string(),
            options: SayOptions::default(),
        });
    }
    // The standard phrase says "press 1".
    if callback == Some('1') {
        items.push(p("callback-offer"));
    }
    items
}

/// What the API asks of the ACD.
impl Core {
    pub(crate) fn acd_request(&mut self, req: super::api::CoreRequest) -> super::CoreResult {
        use super::api::{CoreReply, CoreRequest};
        let now = self.now.as_ms();
        let err = |e: crate::acd::AcdError| CoreError::Acd(e.to_string());
        let reply = match req {
            CoreRequest::Acd => {
                return Ok(CoreReply::Acd { agents: self.acd.agents_view(), queues: self.acd.queues_view(now) });
            }
            CoreRequest::AgentLogin { agent, extension, queues } => {
                if let Some(ext) = &extension
                    && self.config.extension(ext).is_none()
                {
                    return Err(CoreError::NoSuchExtension(ext.clone()));
                }
                self.acd.login(&agent, extension.as_deref(), queues.as_deref(), now).map_err(err)?;
                if let Some(seat) = self.acd.agent_view(&agent).and_then(|a| a.extension) {
                    self.acd_sync_seat(&seat);
                }
                Ok(CoreReply::Ok { call: None })
            }
            CoreRequest::AgentLogout { agent } => {
                self.acd.logout(&agent, now).map_err(err).map(|()| CoreReply::Ok { call: None })
            }
            CoreRequest::AgentReady { agent } => {
                self.acd.ready(&agent, now).map_err(err).map(|()| CoreReply::Ok { call: None })
            }
            CoreRequest::AgentNotReady { agent, reason } => {
                self.acd.not_ready(&agent, &reason, now).map_err(err).map(|()| CoreReply::Ok { call: None })
            }
            CoreRequest::QueuePriority { call, priority } => {
                if priority > 9 {
                    return Err(CoreError::Acd(format!("priority {priority} is out of range 0-9")));
                }
                self.acd.set_priority(call, priority).map_err(err)?;
                let queue = self.queued.get(&call).map(|q| q.queue.clone()).unwrap_or_default();
                self.journal(JournalOp::QueueEvent {
                    call,
                    queue,
                    kind: crate::records::QueueEventKind::Priority,
                    agent: None,
                    position: self.acd.position(call).map(|(p, _)| p as u32),
                    wait_ms: self.acd.wait_of(call, now).map(|w| w as i64),
                    detail: serde_json::json!({"priority": priority}),
                    at: self.stamp(),
                });
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::QueuePick { call, agent } => {
                self.acd.reserve(call, &agent).map_err(err).map(|()| CoreReply::Ok { call: Some(call) })
            }
            _ => return Err(CoreError::InvalidState("not an ACD request".into())),
        };
        self.dirty_queues = true;
        self.acd_route();
        reply
    }

    /// Customer data for a call arrived: attach it, and let a queued
    /// caller's VIP level and personal manager count.
    pub(crate) fn acd_customer(&mut self, call: CallId, card: CallerCard) {
        let vip = card.vip;
        let agent = card.agent.clone();
        if let Some(c) = self.calls.get_mut(&call) {
            if let Some(cust) = &card.customer {
                if let Some(id) = cust.get("id").and_then(|v| v.as_i64()) {
                    c.vars.insert("customer_id".into(), id.to_string());
                }
                if let Some(name) = cust.get("name").and_then(|v| v.as_str()) {
                    c.vars.insert("customer_name".into(), name.to_string());
                }
                c.vars.insert("customer_vip".into(), vip.to_string());
            }
            if let Some(a) = &agent {
                c.vars.insert("customer_agent".into(), a.clone());
            }
            self.dirty_calls.insert(call);
        }
        self.customers.insert(call, card);
        self.card_pending.remove(&call);
        if self.awaiting_card.contains_key(&call) {
            self.enqueue_awaiting(call);
            return;
        }
        if self.acd.is_waiting(call) {
            let _ = self.acd.raise_priority(call, vip);
            if let Some(a) = agent {
                let _ = self.acd.set_sticky(call, &a);
            }
            self.dirty_queues = true;
        }
    }
}

/// What the records know about a caller, looked up off the core thread.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallerCard {
    /// The customer record as JSON; `None` for an unknown number.
    pub customer: Option<serde_json::Value>,
    pub vip: u8,
    /// The customer's personal manager, as an agent id of the config.
    pub agent: Option<String>,
    pub last_calls: Vec<serde_json::Value>,
}

impl Core {
    /// Look the caller up (customer record, personal manager, last calls)
    /// on a worker thread; the answer comes back as `IoDone::Caller`.
    pub(crate) fn lookup_caller(&mut self, call: CallId, number: &str) {
        if number.is_empty() {
            return;
        }
        self.card_pending.insert(call, self.now);
        self.ivr_io.submit(super::ivr_io::IoJob::Caller {
            call,
            number: number.to_string(),
            reader: self.reader.clone(),
        });
    }
}
