//! What the core does for API requests.

use ctibox_driver::hal::{ChannelKind, Duration};
use ctibox_driver::signaling::analog::LineCommand;

use super::api::{CallId, ChannelStatus, CoreError, CoreReply, CoreRequest, LegId, LegStatus, TransferMode};
use super::flows::{DEFAULT_RING_MS, Destination};
use super::model::{RingPurpose, Ringing};
use super::{Core, CoreResult, extension_caller};
use crate::records::{Direction, HangupCause, JournalOp, LegRole};

impl Core {
    pub(crate) fn on_request(&mut self, req: CoreRequest) -> CoreResult {
        match req {
            CoreRequest::Snapshot => Ok(CoreReply::Snapshot(self.snapshot())),
            CoreRequest::Originate { from, to } => self.originate(&from, &to),
            CoreRequest::Answer { call } => self.api_answer(call),
            CoreRequest::Hangup { call, leg } => self.api_hangup(call, leg),
            CoreRequest::Hold { call, leg } => self.api_hold(call, leg, true),
            CoreRequest::Unhold { call, leg } => self.api_hold(call, leg, false),
            CoreRequest::Transfer { call, leg, to, mode } => self.api_transfer(call, leg, &to, mode),
            CoreRequest::CompleteTransfer { call } => {
                self.call_ref(call)?;
                if self.calls.get(&call).and_then(|c| c.consult).is_none() {
                    return Err(CoreError::InvalidState(format!("call {call} has no transfer in progress")));
                }
                self.complete_transfer(call);
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::CancelTransfer { call } => {
                self.call_ref(call)?;
                let Some(cons) = self.calls.get(&call).and_then(|c| c.consult) else {
                    return Err(CoreError::InvalidState(format!("call {call} has no transfer in progress")));
                };
                self.cancel_consult(call, cons.by, cons.held);
                Ok(CoreReply::Ok { call: Some(call) })
            }
            CoreRequest::Conference { call, to } => self.api_conference(call, &to),
            CoreRequest::AddNote { call, author, text } => self.add_note(call, &author, &text),
            CoreRequest::SetCallData { call, author, key, value } => self.set_call_data(call, &author, &key, &value),
            CoreRequest::Acd
            | CoreRequest::AgentLogin { .. }
            | CoreRequest::AgentLogout { .. }
            | CoreRequest::AgentReady { .. }
            | CoreRequest::AgentNotReady { .. }
            | CoreRequest::QueuePriority { .. }
            | CoreRequest::QueuePick { .. } => self.acd_request(req),
            CoreRequest::Monitor { supervisor, agent, mode } => self.supervise(&supervisor, &agent, mode),
            CoreRequest::ForceRelease { agent, by } => self.force_release(&agent, &by),
            CoreRequest::Campaigns
            | CoreRequest::CampaignPause { .. }
            | CoreRequest::CampaignNumbersAdded { .. }
            | CoreRequest::Preview { .. }
            | CoreRequest::DoNotCall { .. } => self.campaign_request(req),
        }
    }

    fn call_ref(&self, call: CallId) -> Result<&super::model::Call, CoreError> {
        self.calls.get(&call).ok_or(CoreError::NoSuchCall(call))
    }

    fn leg_ref(&self, call: CallId, leg: LegId) -> Result<&super::model::Leg, CoreError> {
        self.call_ref(call)?.leg(leg).filter(|l| l.is_live()).ok_or(CoreError::NoSuchLeg { call, leg })
    }

    /// Click-to-dial: ring extension `from`; when it answers, call `to`.
    fn originate(&mut self, from: &str, to: &str) -> CoreResult {
        let ext = self.config.extension(from).ok_or_else(|| CoreError::NoSuchExtension(from.to_string()))?.clone();
        let dest = self.resolve(to)?;
        if !self.chan(ext.channel).is_some_and(|c| c.is_free()) {
            return Err(CoreError::Busy(from.to_string()));
        }
        let direction = match dest {
            Destination::Outside { .. } => Direction::Outbound,
            _ => Direction::Internal,
        };
        let call = self.new_call(direction, extension_caller(&self.config, from), to.to_string(), Some(ext.channel));
        // The extension's phone shows who it will be connected to.
        if let Some(c) = self.calls.get_mut(&call) {
            c.caller_number = to.to_string();
            c.caller_name = "click to dial".into();
        }
        let r = self.ring_destination(
            call,
            &Destination::Extension(from.to_string()),
            RingPurpose::Originate { to: to.to_string() },
            LegRole::Caller,
        );
        // Back to the real caller for the record.
        if let Some(c) = self.calls.get_mut(&call) {
            let (n, name) = extension_caller(&self.config, from);
            c.caller_number = n;
            c.caller_name = name;
        }
        if let Err(e) = r {
            self.end_call(call, HangupCause::Failed, &e.to_string());
            return Err(e);
        }
        self.journal(JournalOp::CallEvent {
            call,
            leg: None,
            at: self.stamp(),
            kind: "originate".into(),
            detail: serde_json::json!({"from": from, "to": to}),
        });
        Ok(CoreReply::Ok { call: Some(call) })
    }

    /// Answer a ringing inbound line and hold the caller.
    fn api_answer(&mut self, call: CallId) -> CoreResult {
        let c = self.call_ref(call)?;
        let trunk = c
            .live_legs()
            .find(|l| l.role == LegRole::Caller && l.status == LegStatus::Ringing)
            .filter(|l| self.chan(l.channel).is_some_and(|c| c.kind == ChannelKind::Fxo))
            .map(|l| (l.id, l.channel));
        let Some((leg, ch)) = trunk else {
            return Err(CoreError::InvalidState(format!("call {call} is not an inbound call ringing")));
        };
        let rung: Vec<LegId> =
            c.live_legs().filter(|l| l.id != leg && l.status == LegStatus::Ringing).map(|l| l.id).collect();
        for l in rung {
            self.end_leg(call, l, HangupCause::Normal, "answered by the API", false);
        }
        if let Some(c) = self.calls.get_mut(&call) {
            c.ringing = None;
            if let Some(l) = c.leg_mut(leg) {
                l.held = true;
            }
        }
        self.line(ch, LineCommand::Answer);
        self.journal(JournalOp::CallEvent {
            call,
            leg: Some(leg),
            at: self.stamp(),
            kind: "answered_by_api".into(),
            detail: serde_json::json!({}),
        });
        Ok(CoreReply::Ok { call: Some(call) })
    }

    fn api_hangup(&mut self, call: CallId, leg: Option<LegId>) -> CoreResult {
        self.call_ref(call)?;
        match leg {
            None => self.end_call(call, HangupCause::Normal, "hung up by the API"),
            Some(l) => {
                self.leg_ref(call, l)?;
                self.end_leg(call, l, HangupCause::Normal, "hung up by the API", false);
                self.settle(call, HangupCause::Normal, "hung up by the API");
            }
        }
        Ok(CoreReply::Ok { call: Some(call) })
    }

    fn api_hold(&mut self, call: CallId, leg: LegId, hold: bool) -> CoreResult {
        let l = self.leg_ref(call, leg)?;
        if l.status != LegStatus::Up {
            return Err(CoreError::InvalidState(format!("leg {leg} of call {call} is not connected")));
        }
        if let Some(c) = self.calls.get_mut(&call)
            && let Some(l) = c.leg_mut(leg)
        {
            l.held = hold;
            let ch = l.channel;
            self.set_status(ch, if hold { ChannelStatus::Held } else { ChannelStatus::Talking });
        }
        self.journal(JournalOp::CallEvent {
            call,
            leg: Some(leg),
            at: self.stamp(),
            kind: if hold { "hold" } else { "unhold" }.into(),
            detail: serde_json::json!({}),
        });
        self.dirty_calls.insert(call);
        self.reconnect(call);
        Ok(CoreReply::Ok { call: Some(call) })
    }

    /// Transfer the party on `leg` to `to` (see `transfer.rs` for the
    /// targets).
    fn api_transfer(&mut self, call: CallId, leg: LegId, to: &str, mode: TransferMode) -> CoreResult {
        let moved = self.leg_ref(call, leg)?.clone();
        if moved.status != LegStatus::Up {
            return Err(CoreError::InvalidState(format!("leg {leg} of call {call} is not connected")));
        }
        let dest = self.transfer_destination(to)?;
        let c = self.call_ref(call)?;
        if c.consult.is_some() {
            return Err(CoreError::InvalidState(format!("call {call} already has a transfer in progress")));
        }
        let others: Vec<super::model::Leg> = c.live_legs().filter(|l| l.id != leg).cloned().collect();
        let transferer = others.iter().find(|l| l.status == LegStatus::Up && !self.is_monitor(l.id)).cloned();
        if let Destination::Queue(queue) = &dest {
            if mode == TransferMode::Attended {
                let Some(by) = transferer else {
                    return Err(CoreError::InvalidState(format!("call {call} has nobody to consult with")));
                };
                return self.consult_queue(call, by.id, leg, queue);
            }
            return self.transfer_to_queue(call, &moved, transferer.as_ref().map(|t| t.id), queue);
        }
        match mode {
            TransferMode::Blind => {
                // The moved party waits with music while the target rings.
                if let Some(c) = self.calls.get_mut(&call)
                    && let Some(l) = c.leg_mut(leg)
                {
                    l.held = true;
                }
                let recall =
                    transferer.as_ref().map(|t| t.party.clone()).filter(|p| self.config.extension(p).is_some());
                let by = transferer.as_ref().map(|t| t.id);
                let by_agent = self.agent_on_leg(call, by);
                self.ring_for_transfer(call, &dest, RingPurpose::Transfer { moved: leg, recall }, LegRole::Callee, by)?;
                self.set_transferred_by(call, by_agent);
                // The transferring parties leave now.
                for o in &others {
                    self.end_leg(call, o.id, HangupCause::Normal, "transferred", false);
                }
                // Take the moved party off hold once the target answers: it
                // hears ringback meanwhile.
                if let Some(c) = self.calls.get_mut(&call)
                    && let Some(l) = c.leg_mut(leg)
                {
                    l.held = false;
                }
                self.dirty_calls.insert(call);
                self.reconnect(call);
            }
            TransferMode::Attended => {
                let Some(by) = transferer else {
                    return Err(CoreError::InvalidState(format!("call {call} has nobody to consult with")));
                };
                self.start_consult(call, by.id, leg);
                if let Err(e) = self.ring_for_transfer(
                    call,
                    &dest,
                    RingPurpose::Consult { by: by.id, held: leg },
                    LegRole::Consult,
                    Some(by.id),
                ) {
                    self.cancel_consult(call, by.id, leg);
                    return Err(e);
                }
            }
        }
        Ok(CoreReply::Ok { call: Some(call) })
    }

    /// Add a third party to a connected call.
    fn api_conference(&mut self, call: CallId, to: &str) -> CoreResult {
        let c = self.call_ref(call)?;
        if c.live_legs().filter(|l| l.status == LegStatus::Up).count() < 2 {
            return Err(CoreError::InvalidState(format!("call {call} is not connected")));
        }
        if c.ringing.is_some() {
            return Err(CoreError::InvalidState(format!("call {call} is already ringing someone")));
        }
        let dest = self.resolve(to)?;
        self.ring_destination(call, &dest, RingPurpose::Conference, LegRole::Conference)?;
        let now = self.now;
        if let Some(c) = self.calls.get_mut(&call)
            && let Some(r) = c.ringing.as_mut()
            && r.deadline.samples() == u64::MAX
        {
            // Outside numbers: the exchange says when nobody answers.
            *r = Ringing { deadline: now + Duration::from_ms(DEFAULT_RING_MS * 4), ..r.clone() };
        }
        self.journal(JournalOp::CallEvent {
            call,
            leg: None,
            at: self.stamp(),
            kind: "conference_add".into(),
            detail: serde_json::json!({"to": to}),
        });
        Ok(CoreReply::Ok { call: Some(call) })
    }
}
