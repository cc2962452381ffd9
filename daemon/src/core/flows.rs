//! What the core does when a line reports something: calls coming in,
//! numbers dialled, phones answering and hanging up, outbound progress,
//! flash, and ring timeouts.

use ctibox_driver::dsp::cid::{CallerId, CidText};
use ctibox_driver::hal::{BoardTime, ChannelId, ChannelKind, Duration};
use ctibox_driver::signaling::analog::{DigitString, DisconnectCause, LineCommand, LineEvent, ProgressResult};

use super::api::{CallId, ChannelStatus, CoreError, CtiEventKind, LegId, LegStatus};
use super::model::{Call, ChanRole, Consult, Leg, Media, RingPurpose, Ringing};
use super::{Core, extension_caller};
use crate::config::{RingStrategy, Target};
use crate::records::{Direction, HangupCause, JournalOp, LegRole, TransferKind};

/// Ring time of a single extension when nothing else says.
pub(crate) const DEFAULT_RING_MS: u64 = 30_000;

/// Where a number leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    Extension(String),
    Group(String),
    Outside {
        trunk: String,
        number: String,
    },
    /// An IVR flow, by name.
    Ivr(String),
    /// An ACD queue, by name.
    Queue(String),
}

fn cid_text(c: &Option<CallerId>) -> (String, String) {
    let Some(c) = c else { return (String::new(), String::new()) };
    let num = c.number.as_ref().and_then(|n| n.as_str()).unwrap_or("").to_string();
    let name = c.name.as_ref().and_then(|n| n.as_str()).unwrap_or("").to_string();
    (num, name)
}

impl Core {
    pub(crate) fn on_line(&mut self, ch: ChannelId, ev: LineEvent) {
        tracing::debug!(channel = ch.0, event = ?ev, at_ms = self.now.as_ms(), "line event");
        let stamp = self.stamp();
        match ev {
            LineEvent::Incoming { caller_id } => self.on_incoming(ch, caller_id),
            LineEvent::RingCount { count } => {
                if let Some((call, leg)) = self.chan(ch).and_then(|c| c.call) {
                    self.journal(JournalOp::CallEvent {
                        call,
                        leg: Some(leg),
                        at: stamp,
                        kind: "ring".into(),
                        detail: serde_json::json!({"count": count}),
                    });
                }
            }
            LineEvent::RingingStopped => self.on_ringing_stopped(ch),
            LineEvent::Answered => self.on_answered(ch),
            LineEvent::Progress { result } => self.on_progress(ch, result),
            LineEvent::Disconnected { cause } => self.on_far_end_gone(ch, cause),
            LineEvent::Dialed { number, .. } => self.on_dialed(ch, number.as_str()),
            LineEvent::DialFailed { digits, why } => {
                self.journal(JournalOp::ChannelEvent {
                    channel: ch.0 as u32,
                    at: stamp,
                    kind: "dial_failed".into(),
                    detail: serde_json::json!({"digits": digits.as_str(), "why": format!("{why:?}")}),
                });
                if self.chan(ch).and_then(|c| c.call).is_none() {
                    self.set_status(ch, ChannelStatus::Releasing);
                }
            }
            LineEvent::Digit { digit } => {
                let call = self.chan(ch).and_then(|c| c.call);
                if let Some((c, l)) = call {
                    self.journal(JournalOp::CallEvent {
                        call: c,
                        leg: Some(l),
                        at: stamp,
                        kind: "dtmf".into(),
                        detail: serde_json::json!({"digit": digit.as_char().to_string()}),
                    });
                }
                self.emit(CtiEventKind::Dtmf { channel: ch, digit: digit.as_char(), call: call.map(|c| c.0) });
            }
            LineEvent::FaxTone { tone } => {
                if let Some((c, l)) = self.chan(ch).and_then(|c| c.call) {
                    self.journal(JournalOp::CallEvent {
                        call: c,
                        leg: Some(l),
                        at: stamp,
                        kind: "fax_tone".into(),
                        detail: serde_json::json!({"tone": tone.to_string()}),
                    });
                }
            }
            LineEvent::OffHook => self.on_phone_off_hook(ch),
            LineEvent::OnHook => self.on_phone_on_hook(ch),
            LineEvent::Flash => self.on_flash(ch),
            LineEvent::FlashDone => {}
            LineEvent::Idle => {
                if self.chan(ch).is_some_and(|c| c.call.is_none()) {
                    self.set_status(ch, ChannelStatus::Idle);
                }
            }
            LineEvent::Refused { command, state } => {
                tracing::warn!(channel = ch.0, command, state, "line refused a command");
            }
        }
    }

    // --- creating and ending calls and legs ------------------------------

    /// A new call, journalled with the channel it came in on or goes out
    /// from (`channel`: the line rung, the phone that dialled, the trunk
    /// line seized; `None` when not known yet).
    pub(crate) fn new_call(
        &mut self,
        direction: Direction,
        caller: (String, String),
        called: String,
        channel: Option<ChannelId>,
    ) -> CallId {
        let id = self.records.next_call_id();
        let call = Call {
            id,
            direction,
            caller_number: caller.0,
            caller_name: caller.1,
            called_number: called,
            legs: Vec::new(),
            started: self.now,
            answered: None,
            ended: None,
            cause: None,
            ringing: None,
            consult: None,
            vars: Default::default(),
            notes: Vec::new(),
        };
        self.journal(JournalOp::CallStarted {
            call: id,
            direction,
            caller_number: call.caller_number.clone(),
            caller_name: call.caller_name.clone(),
            called_number: call.called_number.clone(),
            channel: channel.map(|c| u32::from(c.0)),
            at: self.stamp(),
        });
        self.calls.insert(id, call);
        self.dirty_calls.insert(id);
        id
    }

    pub(crate) fn add_leg(
        &mut self,
        call: CallId,
        ch: ChannelId,
        role: LegRole,
        party: String,
        status: LegStatus,
        outbound_trunk: bool,
    ) -> LegId {
        let id = self.records.next_leg_id();
        let extension = match self.chan(ch).map(|c| &c.role) {
            Some(ChanRole::Extension(e)) => Some(e.clone()),
            _ => None,
        };
        let party_name = extension.as_ref().and_then(|e| self.config.extension(e)).map(|e| e.name.clone());
        self.journal(JournalOp::LegAdded {
            leg: id,
            call,
            role: role.clone(),
            channel: Some(ch.0 as u32),
            party_number: party.clone(),
            party_name: party_name.unwrap_or_default(),
            extension,
            at: self.stamp(),
        });
        let answered = (status == LegStatus::Up).then_some(self.now);
        if let Some(c) = self.calls.get_mut(&call) {
            c.legs.push(Leg { id, channel: ch, role, party, status, held: false, outbound_trunk, answered });
        }
        if status == LegStatus::Up {
            self.journal(JournalOp::LegAnswered { leg: id, at: self.stamp() });
        }
        self.set_chan_call(ch, Some((call, id)));
        self.dirty_calls.insert(call);
        id
    }

    /// A leg answered: journal it, and the call if it is the first answer.
    pub(crate) fn leg_up(&mut self, call: CallId, leg: LegId) {
        let now = self.now;
        let Some(c) = self.calls.get_mut(&call) else { return };
        let Some(l) = c.leg_mut(leg) else { return };
        if l.status == LegStatus::Up {
            return;
        }
        l.status = LegStatus::Up;
        l.answered = Some(now);
        let ch = l.channel;
        let first = c.answered.is_none();
        if first {
            c.answered = Some(now);
        }
        self.journal(JournalOp::LegAnswered { leg, at: self.stamp() });
        if first {
            self.journal(JournalOp::CallAnswered { call, at: self.stamp() });
        }
        self.set_status(ch, ChannelStatus::Talking);
        self.dirty_calls.insert(call);
    }

    /// An inbound line answered only to hear a tone: the leg is up (the
    /// line is off-hook), the call is not answered.
    fn tone_leg_up(&mut self, call: CallId, leg: LegId) {
        let now = self.now;
        let Some(l) = self.calls.get_mut(&call).and_then(|c| c.leg_mut(leg)) else { return };
        l.status = LegStatus::Up;
        l.answered = Some(now);
        let ch = l.channel;
        self.journal(JournalOp::LegAnswered { leg, at: self.stamp() });
        self.set_status(ch, ChannelStatus::Talking);
        self.dirty_calls.insert(call);
    }

    /// End one leg: release its channel (hang up the line, stop ringing the
    /// phone, or give the phone its release tone) unless `released` says
    /// the line already went.
    pub(crate) fn end_leg(&mut self, call: CallId, leg: LegId, cause: HangupCause, detail: &str, released: bool) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        let Some(l) = c.leg_mut(leg) else { return };
        if l.status == LegStatus::Ended {
            return;
        }
        let was = l.status;
        l.status = LegStatus::Ended;
        let ch = l.channel;
        self.journal(JournalOp::LegEnded { leg, at: self.stamp(), cause, detail: detail.to_string() });
        self.dirty_calls.insert(call);
        self.acd_leg_ended(call, leg);
        self.monitor_leg_ended(leg);
        if self.chan(ch).and_then(|c| c.call) == Some((call, leg)) {
            self.set_chan_call(ch, None);
            self.set_media(ch, Media::None);
            self.engine_cmd(ctibox_driver::engine::EngineCommand::Isolate { channel: ch });
            let kind = self.chan(ch).map(|c| c.kind);
            if released {
                let st = if kind == Some(ChannelKind::Fxo) { ChannelStatus::Releasing } else { ChannelStatus::Idle };
                self.set_status(ch, st);
            } else {
                match (kind, was) {
                    (Some(ChannelKind::Fxs), LegStatus::Ringing) => {
                        self.line(ch, LineCommand::StopRing);
                        self.set_status(ch, ChannelStatus::Idle);
                    }
                    (Some(ChannelKind::Fxs), _) => {
                        // The phone is off-hook: release tone until it hangs up.
                        self.line(ch, LineCommand::Hangup);
                        self.set_status(ch, ChannelStatus::Releasing);
                    }
                    _ => {
                        self.line(ch, LineCommand::Hangup);
                        self.set_status(ch, ChannelStatus::Releasing);
                    }
                }
            }
        }
    }

    /// End a whole call with a cause.
    pub(crate) fn end_call(&mut self, call: CallId, cause: HangupCause, detail: &str) {
        let Some(c) = self.calls.get(&call) else { return };
        let legs: Vec<LegId> = c.live_legs().map(|l| l.id).collect();
        for leg in legs {
            self.end_leg(call, leg, cause.clone(), detail, false);
        }
        self.finish_call(call, cause, detail);
    }

    /// The call has no live legs left: write its end and forget it.
    fn finish_call(&mut self, call: CallId, cause: HangupCause, detail: &str) {
        let now = self.now;
        self.ivr_call_gone(call);
        self.acd_call_gone(call);
        self.consult_was.remove(&call);
        self.campaign_call_gone(call);
        let Some(mut c) = self.calls.remove(&call) else { return };
        // A caller who only got a tone (answer_and_tone) ends the call
        // with the reason for the tone, however it goes away.
        let (cause, detail) = match (&c.cause, c.answered) {
            (Some((preset, why)), None) => (preset.clone(), why.clone()),
            _ => (cause, detail.to_string()),
        };
        c.ended = Some(now);
        c.cause = Some((cause.clone(), detail.clone()));
        c.ringing = None;
        let seq = self.journal(JournalOp::CallEnded { call, at: self.stamp(), cause, detail });
        self.dirty_calls.remove(&call);
        // Tell the world once the journal has it (see flush_pending_ended).
        self.pending_ended.push((seq, CtiEventKind::Call { call: c.view() }));
    }

    /// After a leg ended: end the call if fewer than two parties remain and
    /// nobody is being rung for it, or reconnect the rest.
    pub(crate) fn settle(&mut self, call: CallId, cause: HangupCause, detail: &str) {
        if self.queued_caller_gone(call) {
            self.end_call(call, HangupCause::Cancelled, "the caller left the queue");
            return;
        }
        let Some(c) = self.calls.get(&call) else { return };
        // Supervisors' monitor legs are not parties.
        let live = c.live_legs().filter(|l| !self.is_monitor(l.id)).count();
        let ringing = c
            .live_legs()
            .any(|l| matches!(l.status, LegStatus::Ringing | LegStatus::Alerting) && !self.is_monitor(l.id));
        let consult = c.consult.is_some();
        let queued = self.is_queued(call);
        if live == 0 && queued {
            // A callback request: nobody on the line until an agent is free.
            return;
        }
        let kept = self.in_ivr(call) || queued;
        if live == 0 || (live == 1 && !ringing && !consult && !kept) {
            self.end_call(call, cause, detail);
        } else {
            self.reconnect(call);
        }
    }

    // --- where numbers go ------------------------------------------------

    /// Resolve a dialled number or an API target.
    pub(crate) fn resolve(&self, number: &str) -> Result<Destination, CoreError> {
        if self.config.extension(number).is_some() {
            return Ok(Destination::Extension(number.to_string()));
        }
        if self.config.ring_group(number).is_some() {
            return Ok(Destination::Group(number.to_string()));
        }
        let route = self.config.route(number).ok_or_else(|| CoreError::NoRoute(number.to_string()))?;
        match &route.to {
            Target::DialledExtension => {
                if self.config.extension(number).is_some() {
                    Ok(Destination::Extension(number.to_string()))
                } else {
                    Err(CoreError::NoSuchExtension(number.to_string()))
                }
            }
            Target::Extension(n) => Ok(Destination::Extension(n.clone())),
            Target::Group(g) => Ok(Destination::Group(g.clone())),
            Target::Trunk(t) => {
                let rest = number.get(route.strip.min(number.len())..).unwrap_or("");
                Ok(Destination::Outside { trunk: t.clone(), number: format!("{}{}", route.prefix, rest) })
            }
            Target::Hangup => Err(CoreError::NoRoute(number.to_string())),
            Target::Ivr(f) => Ok(Destination::Ivr(f.clone())),
            Target::Queue(q) => Ok(Destination::Queue(q.clone())),
            Target::Agent(id) => self.agent_destination(id),
        }
    }

    /// A free FXO line of a trunk group, by its hunt rule.
    pub(crate) fn hunt(&mut self, trunk: &str) -> Option<ChannelId> {
        let t = self.config.trunk(trunk)?.clone();
        let free: Vec<ChannelId> =
            t.channels.iter().copied().filter(|&c| self.chan(c).is_some_and(|c| c.is_free())).collect();
        if free.is_empty() {
            return None;
        }
        Some(match t.hunt {
            crate::config::Hunt::Ascending => free[0],
            crate::config::Hunt::Descending => free[free.len() - 1],
            crate::config::Hunt::RoundRobin => {
                let pos = self.hunt_pos.entry(trunk.to_string()).or_insert(0);
                let pick =
                    t.channels.iter().cycle().skip(*pos).take(t.channels.len()).find(|c| free.contains(c)).copied();
                let ch = pick.unwrap_or(free[0]);
                *pos = t.channels.iter().position(|&c| c == ch).map_or(0, |p| p + 1);
                ch
            }
        })
    }

    /// Caller ID to show a phone we ring for `call` in `role`: the call's
    /// caller, except for a consultation, where the consulting extension is
    /// the one calling.
    fn caller_id_for(&self, call: CallId, role: &LegRole) -> Option<CallerId> {
        let c = self.calls.get(&call)?;
        let consulting = match (role, c.consult) {
            (LegRole::Consult, Some(cons)) => c.leg(cons.by).map(|l| extension_caller(&self.config, &l.party)),
            _ => None,
        };
        // An agent rung for a campaign's call sees the party called.
        let called = (*role == LegRole::Agent && self.is_campaign_call(call))
            .then(|| (c.called_number.clone(), c.vars.get("customer_name").cloned().unwrap_or_default()));
        let (number, name) = consulting.or(called).unwrap_or_else(|| (c.caller_number.clone(), c.caller_name.clone()));
        let mut cid = CallerId::default();
        if !number.is_empty() {
            cid.number = CidText::try_from(number.as_str()).ok();
        }
        if !name.is_empty() {
            cid.name = CidText::try_from(name.as_str()).ok();
        }
        Some(cid)
    }

    /// Ring an extension's phone for a call; the new leg.
    pub(crate) fn ring_extension(&mut self, call: CallId, number: &str, role: LegRole) -> Result<LegId, CoreError> {
        let ext = self.config.extension(number).ok_or_else(|| CoreError::NoSuchExtension(number.to_string()))?;
        let ch = ext.channel;
        if !self.chan(ch).is_some_and(|c| c.is_free()) {
            return Err(CoreError::Busy(number.to_string()));
        }
        let caller_id = self.caller_id_for(call, &role);
        let leg = self.add_leg(call, ch, role, number.to_string(), LegStatus::Ringing, false);
        self.line(ch, LineCommand::Ring { caller_id });
        self.set_status(ch, ChannelStatus::Ringing);
        Ok(leg)
    }

    /// Start ringing (or dialling out to) a destination for a call.
    pub(crate) fn ring_destination(
        &mut self,
        call: CallId,
        dest: &Destination,
        purpose: RingPurpose,
        role: LegRole,
    ) -> Result<(), CoreError> {
        let now = self.now;
        match dest {
            Destination::Ivr(flow) => {
                let _ = (purpose, role);
                self.enter_ivr(call, flow).map_err(CoreError::InvalidState)?;
                return Ok(());
            }
            Destination::Queue(queue) => {
                return self.enqueue_call(call, queue);
            }
            Destination::Extension(n) => {
                self.ring_extension(call, n, role)?;
                self.set_ringing(
                    call,
                    purpose,
                    now + Duration::from_ms(DEFAULT_RING_MS),
                    Vec::new(),
                    DEFAULT_RING_MS,
                    Target::Hangup,
                );
            }
            Destination::Group(g) => {
                let grp = self.config.ring_group(g).ok_or_else(|| CoreError::NoSuchExtension(g.clone()))?.clone();
                let mut rung = 0;
                let mut rest = Vec::new();
                for m in &grp.members {
                    if grp.strategy == RingStrategy::Sequential && rung > 0 {
                        rest.push(m.clone());
                        continue;
                    }
                    if self.ring_extension(call, m, role.clone()).is_ok() {
                        rung += 1;
                    }
                }
                if rung == 0 {
                    return Err(CoreError::Busy(g.clone()));
                }
                let each = match grp.strategy {
                    RingStrategy::Sequential => grp.ring_ms / grp.members.len().max(1) as u64,
                    RingStrategy::Simultaneous => grp.ring_ms,
                };
                self.set_ringing(call, purpose, now + Duration::from_ms(each), rest, each, grp.no_answer.clone());
            }
            Destination::Outside { trunk, number } => {
                let digits =
                    DigitString::new(number).map_err(|e| CoreError::InvalidState(format!("number `{number}`: {e}")))?;
                let ch = self.hunt(trunk).ok_or_else(|| CoreError::NoFreeLine(trunk.clone()))?;
                self.add_leg(call, ch, role, number.clone(), LegStatus::Ringing, true);
                self.line(ch, LineCommand::Dial { number: digits });
                self.set_status(ch, ChannelStatus::Calling);
                if let Some(c) = self.calls.get_mut(&call)
                    && c.called_number.is_empty()
                {
                    c.called_number = number.clone();
                    self.journal(JournalOp::CallParties {
                        call,
                        caller_number: None,
                        caller_name: None,
                        called_number: Some(number.clone()),
                    });
                }
                // The exchange decides: no-answer comes from the line.
                self.set_ringing(call, purpose, BoardTime::from_samples(u64::MAX), Vec::new(), 0, Target::Hangup);
            }
        }
        self.reconnect(call);
        Ok(())
    }

    fn set_ringing(
        &mut self,
        call: CallId,
        purpose: RingPurpose,
        deadline: BoardTime,
        next: Vec<String>,
        each_ms: u64,
        no_answer: Target,
    ) {
        if let Some(c) = self.calls.get_mut(&call) {
            c.ringing = Some(Ringing { purpose, deadline, next_members: next, each_ms, no_answer });
        }
    }

    // --- inbound ----------------------------------------------------------

    fn on_incoming(&mut self, ch: ChannelId, caller_id: Option<CallerId>) {
        let Some(ChanRole::Trunk(trunk)) = self.chan(ch).map(|c| c.role.clone()) else { return };
        let Some(t) = self.config.trunk(&trunk).cloned() else { return };
        let (number, name) = cid_text(&caller_id);
        let call = self.new_call(
            Direction::Inbound,
            (number.clone(), name.clone()),
            t.number.clone().unwrap_or_default(),
            Some(ch),
        );
        self.add_leg(call, ch, LegRole::Caller, number.clone(), LegStatus::Ringing, false);
        self.set_status(ch, ChannelStatus::Ringing);
        self.lookup_caller(call, &number);
        if caller_id.is_some() {
            self.journal(JournalOp::CallEvent {
                call,
                leg: None,
                at: self.stamp(),
                kind: "caller_id".into(),
                detail: serde_json::json!({"number": number, "name": name}),
            });
        }
        self.emit(CtiEventKind::CallerId {
            channel: ch,
            number: (!number.is_empty()).then(|| number.clone()),
            name: (!name.is_empty()).then(|| name.clone()),
            call: Some(call),
        });
        let dest = match &t.inbound {
            Target::Extension(n) => Some(Destination::Extension(n.clone())),
            Target::Group(g) => Some(Destination::Group(g.clone())),
            Target::Ivr(f) => Some(Destination::Ivr(f.clone())),
            Target::Queue(q) => Some(Destination::Queue(q.clone())),
            _ => None,
        };
        // `hangup` (no destination): leave the call unanswered; it ends when
        // the caller gives up.
        if let Some(d) = dest
            && let Err(e) = self.ring_destination(call, &d, RingPurpose::Connect, LegRole::Callee)
        {
            // Nobody free: the caller hears busy.
            self.journal(JournalOp::CallEvent {
                call,
                leg: None,
                at: self.stamp(),
                kind: "route_failed".into(),
                detail: serde_json::json!({"error": e.to_string()}),
            });
            self.answer_and_tone(call, ch, Media::Busy, HangupCause::Busy);
        }
    }

    /// Answer an inbound line only to play a tone, then hang up after 10 s.
    fn answer_and_tone(&mut self, call: CallId, ch: ChannelId, media: Media, cause: HangupCause) {
        self.line(ch, LineCommand::Answer);
        self.set_media(ch, media);
        let now = self.now;
        if let Some(c) = self.calls.get_mut(&call) {
            c.cause = Some((cause, "tone played to the caller".into()));
            c.ringing = Some(Ringing {
                purpose: RingPurpose::Connect,
                deadline: now + Duration::from_secs(10),
                next_members: Vec::new(),
                each_ms: 0,
                no_answer: Target::Hangup,
            });
        }
    }

    fn on_ringing_stopped(&mut self, ch: ChannelId) {
        if let Some((call, _)) = self.chan(ch).and_then(|c| c.call) {
            self.end_call(call, HangupCause::Cancelled, "the caller gave up before the answer");
        }
        self.set_status(ch, ChannelStatus::Idle);
    }

    /// A line answered: a rung phone went off-hook, or our FXO answer is done.
    fn on_answered(&mut self, ch: ChannelId) {
        let Some((call, leg)) = self.chan(ch).and_then(|c| c.call) else {
            // A phone answered a ring we no longer want: send it away.
            if self.chan(ch).is_some_and(|c| c.kind == ChannelKind::Fxs) {
                self.line(ch, LineCommand::Hangup);
                self.set_status(ch, ChannelStatus::Releasing);
            }
            return;
        };
        let kind = self.chan(ch).map(|c| c.kind);
        if kind == Some(ChannelKind::Fxo) {
            if self.calls.get(&call).is_some_and(|c| c.cause.is_some() && c.answered.is_none()) {
                // Answered only to play a tone to a caller nobody can take
                // (answer_and_tone): the line is up, the call is not, and
                // the tone goes on until the call ends.
                self.tone_leg_up(call, leg);
                return;
            }
            // Our answer of an inbound line completed.
            self.leg_up(call, leg);
            self.reconnect(call);
            // A call for a flow starts it now.
            self.start_ivr(call);
            return;
        }
        self.leg_up(call, leg);
        if self.monitor_answered(call, leg) || self.preview_agent_up(call) {
            return;
        }
        self.acd_answered(call, leg);
        self.ivr_answered(call);
        let purpose = self.calls.get(&call).and_then(|c| c.ringing.as_ref().map(|r| r.purpose.clone()));
        // Stop ringing the other phones rung for the same thing.
        let others: Vec<LegId> = self
            .calls
            .get(&call)
            .map(|c| {
                c.live_legs()
                    .filter(|l| {
                        l.id != leg
                            && l.status == LegStatus::Ringing
                            && !l.outbound_trunk
                            && l.role != LegRole::Caller
                            && !self.is_monitor(l.id)
                    })
                    .map(|l| l.id)
                    .collect()
            })
            .unwrap_or_default();
        for o in others {
            self.end_leg(call, o, HangupCause::Normal, "answered elsewhere", false);
        }
        if let Some(c) = self.calls.get_mut(&call) {
            c.ringing = None;
        }
        match purpose {
            Some(RingPurpose::Originate { to }) => {
                // The extension answered click-to-dial: now call `to`.
                self.dial_from(call, leg, &to);
            }
            Some(RingPurpose::Transfer { moved, .. }) => {
                self.journal(JournalOp::Transfer {
                    call,
                    kind: TransferKind::Blind,
                    from_leg: Some(moved),
                    to_leg: Some(leg),
                    target: self.chan(ch).map(|c| c.view().name).unwrap_or_default(),
                    at: self.stamp(),
                });
            }
            _ => {}
        }
        // An inbound line not answered yet: answer it now.
        let unanswered_trunk: Vec<ChannelId> = self
            .calls
            .get(&call)
            .map(|c| {
                c.live_legs()
                    .filter(|l| l.status == LegStatus::Ringing && l.role == LegRole::Caller)
                    .filter(|l| self.chan(l.channel).is_some_and(|c| c.kind == ChannelKind::Fxo))
                    .map(|l| l.channel)
                    .collect()
            })
            .unwrap_or_default();
        for t in unanswered_trunk {
            self.line(t, LineCommand::Answer);
        }
        self.reconnect(call);
    }

    // --- outbound progress -----------------------------------------------

    fn on_progress(&mut self, ch: ChannelId, result: ProgressResult) {
        let Some((call, leg)) = self.chan(ch).and_then(|c| c.call) else { return };
        self.journal(JournalOp::CallEvent {
            call,
            leg: Some(leg),
            at: self.stamp(),
            kind: "progress".into(),
            detail: serde_json::json!({"result": result.name()}),
        });
        if self.campaign_progress(call, leg, result) {
            return;
        }
        match result {
            ProgressResult::Ringback => {
                if let Some(l) = self.calls.get_mut(&call).and_then(|c| c.leg_mut(leg)) {
                    l.status = LegStatus::Alerting;
                }
                self.dirty_calls.insert(call);
                self.reconnect(call);
            }
            ProgressResult::Answered { .. } | ProgressResult::Fax { .. } => {
                self.leg_up(call, leg);
                self.after_answer(call, leg);
                self.reconnect(call);
            }
            ProgressResult::Busy
            | ProgressResult::Congestion
            | ProgressResult::NoAnswer
            | ProgressResult::NoDialTone
            | ProgressResult::Sit => {
                let (cause, media) = match result {
                    ProgressResult::Busy => (HangupCause::Busy, Media::Busy),
                    ProgressResult::NoAnswer => (HangupCause::NoAnswer, Media::Congestion),
                    ProgressResult::NoDialTone => (HangupCause::Failed, Media::Congestion),
                    _ => (HangupCause::Congestion, Media::Congestion),
                };
                // The line releases itself on failure (a SIT keeps it for
                // us to release).
                let released = result != ProgressResult::Sit;
                self.end_leg(call, leg, cause.clone(), result.name(), released);
                self.failed_leg(call, cause, result.name(), media);
            }
        }
    }

    /// A leg reached its party: finish what it was rung for.
    fn after_answer(&mut self, call: CallId, leg: LegId) {
        let purpose = self.calls.get_mut(&call).and_then(|c| c.ringing.take()).map(|r| r.purpose);
        if let Some(RingPurpose::Transfer { moved, .. }) = purpose {
            self.journal(JournalOp::Transfer {
                call,
                kind: TransferKind::Blind,
                from_leg: Some(moved),
                to_leg: Some(leg),
                target: self.calls.get(&call).and_then(|c| c.leg(leg)).map(|l| l.party.clone()).unwrap_or_default(),
                at: self.stamp(),
            });
        }
    }

    /// A leg being rung failed (busy, no answer…): decide what the others
    /// hear or whether the call ends.
    fn failed_leg(&mut self, call: CallId, cause: HangupCause, detail: &str, media: Media) {
        let Some(c) = self.calls.get(&call) else { return };
        // Still ringing someone else: keep waiting. (An inbound caller's
        // own line still rings; that is not someone being rung.)
        if c.live_legs()
            .any(|l| matches!(l.status, LegStatus::Ringing | LegStatus::Alerting) && l.role != LegRole::Caller)
        {
            return;
        }
        let consult = c.consult;
        let purpose = c.ringing.as_ref().map(|r| r.purpose.clone());
        if let Some(c) = self.calls.get_mut(&call) {
            c.ringing = None;
        }
        // A flow's queue or transfer found nobody: the flow goes on.
        if self.ivr_handed_failed(call, detail) {
            return;
        }
        match purpose {
            Some(RingPurpose::Consult { by, held }) if consult.is_some() => {
                // Back to the waiting party.
                self.cancel_consult(call, by, held);
            }
            Some(RingPurpose::Transfer { recall: Some(ext), moved }) => {
                self.recall(call, moved, &ext);
            }
            _ => {
                let live: Vec<(LegId, ChannelId)> = self
                    .calls
                    .get(&call)
                    .map(|c| c.live_legs().map(|l| (l.id, l.channel)).collect())
                    .unwrap_or_default();
                if live.len() == 1 {
                    // The caller alone: tell them and end the call; a
                    // phone keeps the tone until it hangs up.
                    let (l, ch) = live[0];
                    if self.chan(ch).is_some_and(|c| c.kind == ChannelKind::Fxs) {
                        self.set_media(ch, media);
                        if let Some(c) = self.calls.get_mut(&call)
                            && let Some(leg) = c.leg_mut(l)
                        {
                            leg.status = LegStatus::Ended;
                        }
                        self.journal(JournalOp::LegEnded {
                            leg: l,
                            at: self.stamp(),
                            cause: cause.clone(),
                            detail: detail.into(),
                        });
                        self.set_chan_call(ch, None);
                        self.set_status(ch, ChannelStatus::Releasing);
                        // Keep the tone playing: the phone line is still up.
                        self.finish_call(call, cause, detail);
                        return;
                    }
                    self.end_call(call, cause, detail);
                } else {
                    self.settle(call, cause, detail);
                }
            }
        }
    }

    /// Ring `ext` again for the party on `moved` (a transfer nobody took).
    fn recall(&mut self, call: CallId, moved: LegId, ext: &str) {
        self.journal(JournalOp::CallEvent {
            call,
            leg: Some(moved),
            at: self.stamp(),
            kind: "transfer_recall".into(),
            detail: serde_json::json!({"extension": ext}),
        });
        let dest = Destination::Extension(ext.to_string());
        if self.ring_destination(call, &dest, RingPurpose::Connect, LegRole::Callee).is_err() {
            self.end_call(call, HangupCause::NoAnswer, "transfer not answered, recall failed");
        }
    }

    // --- the far end of a line went away ----------------------------------

    fn on_far_end_gone(&mut self, ch: ChannelId, cause: DisconnectCause) {
        let Some((call, leg)) = self.chan(ch).and_then(|c| c.call) else {
            self.set_status(ch, ChannelStatus::Releasing);
            return;
        };
        let detail = match cause {
            DisconnectCause::LoopCurrent => "loop current drop".to_string(),
            DisconnectCause::Polarity => "polarity reversal".to_string(),
            DisconnectCause::Tone(k) => format!("{k} tone"),
            DisconnectCause::Silence => "silence".to_string(),
        };
        self.end_leg(call, leg, HangupCause::FarEndDisconnect, &detail, true);
        self.leg_gone(call, leg, HangupCause::FarEndDisconnect, &detail);
    }

    /// Someone left; what the rest of the call does depends on consults.
    fn leg_gone(&mut self, call: CallId, leg: LegId, cause: HangupCause, detail: &str) {
        let Some(c) = self.calls.get(&call) else { return };
        if let Some(cons) = c.consult {
            if leg == cons.by {
                // The consulting extension hung up: complete the transfer.
                self.complete_transfer(call);
                return;
            }
            if leg == cons.held {
                // The waiting party left: the consultation is just a call
                // (one still waiting in a queue has nobody to hand over:
                // it leaves the queue).
                self.consult_queue_leave(call, "the held party hung up");
                self.consult_over(call, false);
                if let Some(c) = self.calls.get_mut(&call) {
                    c.consult = None;
                }
            } else if !self
                .calls
                .get(&call)
                .is_some_and(|c| c.live_legs().any(|l| l.id != cons.by && l.id != cons.held))
            {
                // The consulted party left: back to the waiting one.
                self.cancel_consult(call, cons.by, cons.held);
                return;
            }
        }
        self.settle(call, cause, detail);
    }

    // --- phones -------------------------------------------------------------

    fn on_phone_off_hook(&mut self, ch: ChannelId) {
        if self.chan(ch).and_then(|c| c.call).is_none() {
            self.set_status(ch, ChannelStatus::Dialing);
        }
    }

    fn on_phone_on_hook(&mut self, ch: ChannelId) {
        let call = self.chan(ch).and_then(|c| c.call);
        self.set_media(ch, Media::None);
        match call {
            Some((call, leg)) => {
                let who = self.chan(ch).map(|c| c.view().name).unwrap_or_default();
                let answered = self.calls.get(&call).is_some_and(|c| c.answered.is_some());
                let cause = if answered { HangupCause::Normal } else { HangupCause::Cancelled };
                let detail = format!("{who} hung up");
                self.end_leg(call, leg, cause.clone(), &detail, true);
                self.set_status(ch, ChannelStatus::Idle);
                self.leg_gone(call, leg, cause, &detail);
            }
            None => self.set_status(ch, ChannelStatus::Idle),
        }
    }

    /// An extension dialled a complete number.
    fn on_dialed(&mut self, ch: ChannelId, number: &str) {
        let Some(ChanRole::Extension(ext)) = self.chan(ch).map(|c| c.role.clone()) else { return };
        // A consultation: the extension flashed and dialled.
        if let Some((call, leg)) = self.chan(ch).and_then(|c| c.call) {
            let consult = self.calls.get(&call).and_then(|c| c.consult);
            if let Some(cons) = consult.filter(|c| c.by == leg) {
                self.consult_dialed(call, cons, number);
            }
            return;
        }
        if self.feature_code(ch, &ext, number) {
            return;
        }
        let dest = self.resolve(number);
        let direction = match &dest {
            Ok(Destination::Outside { .. }) => Direction::Outbound,
            _ => Direction::Internal,
        };
        let call = self.new_call(direction, extension_caller(&self.config, &ext), number.to_string(), Some(ch));
        let leg = self.add_leg(call, ch, LegRole::Caller, ext.clone(), LegStatus::Up, false);
        if let Some(c) = self.calls.get_mut(&call) {
            c.answered = None;
        }
        self.set_status(ch, ChannelStatus::Talking);
        match dest {
            Ok(d) => {
                if let Err(e) = self.ring_destination(call, &d, RingPurpose::Connect, LegRole::Callee) {
                    self.refused(call, leg, ch, &e);
                }
            }
            Err(e) => self.refused(call, leg, ch, &e),
        }
    }

    /// A call that cannot go anywhere: the extension hears busy or reorder.
    fn refused(&mut self, call: CallId, _leg: LegId, ch: ChannelId, e: &CoreError) {
        let (cause, media) = match e {
            // An agent away or on a call: busy, as a person would be.
            CoreError::Busy(_) | CoreError::AgentUnavailable(_) => (HangupCause::Busy, Media::Busy),
            CoreError::NoFreeLine(_) => (HangupCause::Congestion, Media::Congestion),
            _ => (HangupCause::Rejected, Media::Congestion),
        };
        let detail = e.to_string();
        self.failed_leg(call, cause, &detail, media);
        let _ = ch;
    }

    /// From a leg that is up, call `to` as the call's destination (after a
    /// click-to-dial answer).
    fn dial_from(&mut self, call: CallId, leg: LegId, to: &str) {
        let ch = self.calls.get(&call).and_then(|c| c.leg(leg)).map(|l| l.channel);
        match self.resolve(to) {
            Ok(d) => {
                if let Err(e) = self.ring_destination(call, &d, RingPurpose::Connect, LegRole::Callee)
                    && let Some(ch) = ch
                {
                    self.refused(call, leg, ch, &e);
                }
            }
            Err(e) => {
                if let Some(ch) = ch {
                    self.refused(call, leg, ch, &e);
                }
            }
        }
    }

    // --- flash: consultation, transfer, conference --------------------------

    fn on_flash(&mut self, ch: ChannelId) {
        let Some((call, leg)) = self.chan(ch).and_then(|c| c.call) else { return };
        let Some(c) = self.calls.get(&call) else { return };
        match c.consult {
            None => {
                // Hold the other party and give dial tone for a consultation.
                let others: Vec<LegId> =
                    c.live_legs().filter(|l| l.id != leg && l.status == LegStatus::Up).map(|l| l.id).collect();
                let [held] = others[..] else { return };
                self.start_consult(call, leg, held);
                self.line(ch, LineCommand::DialTone);
                self.set_status(ch, ChannelStatus::Dialing);
            }
            Some(cons) if cons.by == leg => {
                let target_up =
                    c.live_legs().any(|l| l.id != cons.by && l.id != cons.held && l.status == LegStatus::Up);
                if target_up {
                    // Flash again with the consulted party on: conference.
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.consult = None;
                        if let Some(h) = c.leg_mut(cons.held) {
                            h.held = false;
                        }
                    }
                    self.journal(JournalOp::CallEvent {
                        call,
                        leg: Some(leg),
                        at: self.stamp(),
                        kind: "conference".into(),
                        detail: serde_json::json!({}),
                    });
                    self.dirty_calls.insert(call);
                    self.reconnect(call);
                } else {
                    self.cancel_consult(call, cons.by, cons.held);
                }
            }
            Some(_) => {}
        }
    }

    pub(crate) fn start_consult(&mut self, call: CallId, by: LegId, held: LegId) {
        if let Some(c) = self.calls.get_mut(&call) {
            c.consult = Some(Consult { by, held });
            if let Some(h) = c.leg_mut(held) {
                h.held = true;
            }
        }
        self.journal(JournalOp::CallEvent {
            call,
            leg: Some(by),
            at: self.stamp(),
            kind: "hold".into(),
            detail: serde_json::json!({"held_leg": held.0, "for": "consultation"}),
        });
        self.dirty_calls.insert(call);
        self.reconnect(call);
    }

    fn consult_dialed(&mut self, call: CallId, cons: Consult, number: &str) {
        let ch = self.calls.get(&call).and_then(|c| c.leg(cons.by)).map(|l| l.channel);
        if let Some(ch) = ch {
            self.set_status(ch, ChannelStatus::Talking);
        }
        let r = self.resolve(number).and_then(|d| match d {
            // A number that leads to a queue: consult the queue's next agent.
            Destination::Queue(q) => self.consult_enqueue(call, cons.by, cons.held, &q),
            d => {
                let purpose = RingPurpose::Consult { by: cons.by, held: cons.held };
                self.ring_for_transfer(call, &d, purpose, LegRole::Consult, Some(cons.by))
            }
        });
        if let Err(e) = r {
            self.journal(JournalOp::CallEvent {
                call,
                leg: Some(cons.by),
                at: self.stamp(),
                kind: "consult_failed".into(),
                detail: serde_json::json!({"error": e.to_string(), "number": number}),
            });
            self.cancel_consult(call, cons.by, cons.held);
        }
    }

    /// Give up a consultation: end the consulted legs, take the waiting
    /// party off hold.
    pub(crate) fn cancel_consult(&mut self, call: CallId, by: LegId, held: LegId) {
        self.consult_queue_leave(call, "consultation cancelled");
        self.consult_over(call, true);
        let others: Vec<LegId> = self
            .calls
            .get(&call)
            .map(|c| c.live_legs().filter(|l| l.id != by && l.id != held).map(|l| l.id).collect())
            .unwrap_or_default();
        for o in others {
            self.end_leg(call, o, HangupCause::Normal, "consultation cancelled", false);
        }
        if let Some(c) = self.calls.get_mut(&call) {
            c.consult = None;
            c.ringing = None;
            if let Some(h) = c.leg_mut(held) {
                h.held = false;
            }
        }
        self.dirty_calls.insert(call);
        let by_live = self.calls.get(&call).and_then(|c| c.leg(by)).is_some_and(|l| l.is_live());
        if !by_live {
            // The consulting party is gone too: ring it back.
            let ext = self.calls.get(&call).and_then(|c| c.leg(by)).map(|l| l.party.clone());
            match ext {
                Some(e) if self.config.extension(&e).is_some() => self.recall(call, held, &e),
                _ => self.settle(call, HangupCause::Normal, "consultation cancelled"),
            }
            return;
        }
        self.reconnect(call);
    }

    /// Finish an attended transfer: the waiting party and the consulted one
    /// are connected; the consulting party leaves.
    pub(crate) fn complete_transfer(&mut self, call: CallId) {
        let Some(cons) = self.calls.get(&call).and_then(|c| c.consult) else { return };
        if self.consult_queue_handover(call, cons) {
            return;
        }
        let target: Option<(LegId, LegStatus, String)> = self.calls.get(&call).and_then(|c| {
            c.live_legs().find(|l| l.id != cons.by && l.id != cons.held).map(|l| (l.id, l.status, l.party.clone()))
        });
        let Some((tleg, tstatus, tparty)) = target else {
            // Nobody to hand over to: recall.
            self.cancel_consult(call, cons.by, cons.held);
            return;
        };
        self.consult_over(call, false);
        let by_ext = self.calls.get(&call).and_then(|c| c.leg(cons.by)).map(|l| l.party.clone());
        if let Some(c) = self.calls.get_mut(&call) {
            c.consult = None;
            if let Some(h) = c.leg_mut(cons.held) {
                h.held = false;
            }
            if tstatus != LegStatus::Up {
                // Transfer on ring: recall the consulting extension if the
                // target does not answer.
                let recall = by_ext.filter(|e| self.config.extension(e).is_some());
                if let Some(r) = c.ringing.as_mut() {
                    r.purpose = RingPurpose::Transfer { moved: cons.held, recall };
                }
            }
        }
        // A target still ringing: the transfer is journalled (as blind) when
        // it answers, like any transfer on ring.
        if tstatus == LegStatus::Up {
            self.journal(JournalOp::Transfer {
                call,
                kind: TransferKind::Attended,
                from_leg: Some(cons.held),
                to_leg: Some(tleg),
                target: tparty,
                at: self.stamp(),
            });
        }
        self.end_leg(call, cons.by, HangupCause::Normal, "transferred", self.leg_is_ended(call, cons.by));
        self.dirty_calls.insert(call);
        self.reconnect(call);
    }

    fn leg_is_ended(&self, call: CallId, leg: LegId) -> bool {
        self.calls.get(&call).and_then(|c| c.leg(leg)).is_none_or(|l| l.status == LegStatus::Ended)
    }

    // --- timers ---------------------------------------------------------------

    pub(crate) fn on_timers(&mut self) {
        let now = self.now;
        let due: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, c)| c.ringing.as_ref().is_some_and(|r| r.deadline <= now))
            .map(|(id, _)| *id)
            .collect();
        for call in due {
            self.ring_timeout(call);
        }
        self.ivr_timers();
    }

    fn ring_timeout(&mut self, call: CallId) {
        if self.campaign_ring_timeout(call) {
            return;
        }
        let Some(r) = self.calls.get_mut(&call).and_then(|c| c.ringing.take()) else { return };
        // A tone played to an unrouted caller: hang up now.
        let tone_only = self.calls.get(&call).is_some_and(|c| c.cause.is_some() && c.answered.is_none());
        if tone_only {
            let cause = self.calls.get(&call).and_then(|c| c.cause.clone()).map(|c| c.0).unwrap_or(HangupCause::Busy);
            self.end_call(call, cause, "tone played to the caller");
            return;
        }
        // Stop ringing the phones rung for this.
        let ringing: Vec<LegId> = self
            .calls
            .get(&call)
            .map(|c| {
                c.live_legs().filter(|l| l.status == LegStatus::Ringing && !l.outbound_trunk).map(|l| l.id).collect()
            })
            .unwrap_or_default();
        for l in ringing {
            self.end_leg(call, l, HangupCause::NoAnswer, "ring timeout", false);
        }
        // Sequential group: the next member.
        let mut rest = r.next_members.clone();
        while !rest.is_empty() {
            let m = rest.remove(0);
            if self.ring_extension(call, &m, LegRole::Callee).is_ok() {
                let deadline = self.now + Duration::from_ms(r.each_ms);
                if let Some(c) = self.calls.get_mut(&call) {
                    c.ringing = Some(Ringing { next_members: rest, deadline, ..r });
                }
                self.reconnect(call);
                return;
            }
        }
        match (&r.purpose, &r.no_answer) {
            (RingPurpose::Connect, Target::Extension(_) | Target::Group(_) | Target::Ivr(_) | Target::Queue(_)) => {
                let dest = match &r.no_answer {
                    Target::Extension(e) => Destination::Extension(e.clone()),
                    Target::Group(g) => Destination::Group(g.clone()),
                    Target::Ivr(f) => Destination::Ivr(f.clone()),
                    Target::Queue(q) => Destination::Queue(q.clone()),
                    _ => return,
                };
                if self.ring_destination(call, &dest, RingPurpose::Connect, LegRole::Callee).is_err() {
                    self.failed_leg(call, HangupCause::NoAnswer, "no answer", Media::Congestion);
                }
            }
            _ => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.ringing = Some(r);
                }
                self.failed_leg(call, HangupCause::NoAnswer, "no answer", Media::Congestion);
            }
        }
    }
}
