//! Transfers that name an agent or a queue, and what travels with a
//! transferred call (issue #6, "screen pop and data").
//!
//! A transfer target (`POST /calls/{id}/transfer {to}`) is
//!
//! - `agent:ID`: the agent's seat is rung, if the agent is logged in and
//!   free: not offered or on a queue call, and its phone not in use
//!   ([`agent_seat`]; an agent not ready or in wrap-up is still rung: a
//!   person transferring to a colleague by name means it);
//! - `queue:NAME`, blind: the moved party waits in the queue again (a
//!   queue `transfer` event names the queue and the agent who moved it,
//!   then the usual `enter`), the transferring agent's leg ends, so the
//!   ACD sees that agent's call end (wrap-up);
//! - `queue:NAME`, attended ([`Core::consult_queue`]): the moved party is
//!   held and the transferring party waits in the queue in its place
//!   (music, announcements). The agent the queue gives it to is offered
//!   the call with the held party's screen pop and talks to the
//!   transferring party first; completing connects the held party to that
//!   agent. Completed (or hung up on) before an agent answers, the held
//!   party takes the place in the queue: a blind transfer after all.
//!   Cancelled, timed out (`max_wait`), or the held party gone: the
//!   consultation leaves the queue (a `leave` event) and the held party is
//!   back. A queue that refuses it (full, nobody logged in) is an error to
//!   the agent, never an overflow;
//! - anything else: an extension, ring group or number, through the dial
//!   plan ([`Core::resolve`]), which may itself lead to a queue.
//!
//! The call keeps its id, so its variables (`vars`) and notes go with it.
//! `transferred_by` (a call variable) names the agent who made the last
//! blind transfer; the next agent's screen pop (the queue's offer) carries
//! the variables, the notes and `transferred_by`. An agent whose phone
//! starts ringing for a transfer (blind, a consultation from the API or a
//! phone's flash) gets a screen pop then, with `transferred_by` the agent
//! transferring.
//!
//! `agent:ID` works the same from a dial-plan route and an IVR transfer
//! node ([`Core::agent_destination`]): the agent's extension when the agent
//! is logged in and neither offered nor on a queue call and the phone is
//! free; otherwise the reason (the dialling phone hears busy, the IVR
//! follows its `on_failure`).

use std::collections::BTreeSet;

use super::Core;
use super::api::{AgentUnavailable, AgentView, CallId, CoreError, CoreReply, CtiEventKind, LegId, LegStatus};
use super::flows::Destination;
use super::model::{Consult, Leg, Media, RingPurpose};
use crate::acd::AgentState;
use crate::records::{HangupCause, JournalOp, LegRole, QueueEventKind, TransferKind};

/// What a transfer's `to` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferTarget<'a> {
    /// `agent:ID`.
    Agent(&'a str),
    /// `queue:NAME`.
    Queue(&'a str),
    /// An extension, ring group or number as dialled.
    Number(&'a str),
}

/// Read a transfer target; `agent:` or `queue:` with nothing after is an
/// error naming the field `to`.
pub fn parse_target(to: &str) -> Result<TransferTarget<'_>, CoreError> {
    if let Some(id) = named(to, "agent:", "agent") {
        return id.map(TransferTarget::Agent);
    }
    if let Some(name) = named(to, "queue:", "queue") {
        return name.map(TransferTarget::Queue);
    }
    Ok(TransferTarget::Number(to))
}

/// What follows `prefix` in `to`, if `to` starts with it.
fn named<'a>(to: &'a str, prefix: &str, what: &str) -> Option<Result<&'a str, CoreError>> {
    let rest = to.strip_prefix(prefix)?.trim();
    Some(if rest.is_empty() {
        Err(CoreError::BadData { field: "to".into(), problem: format!("`{to}` names no {what}") })
    } else {
        Ok(rest)
    })
}

/// The extension to ring for a transfer to agent `id`, from the agent as
/// the ACD sees it (`None`: no such agent) and whether a phone is free.
pub fn agent_seat(
    id: &str,
    view: Option<&AgentView>,
    phone_free: impl Fn(&str) -> bool,
) -> Result<String, AgentUnavailable> {
    let agent = || id.to_string();
    let view = view.ok_or_else(|| AgentUnavailable::NoSuchAgent { agent: agent() })?;
    let seat = match (view.state, &view.extension) {
        (AgentState::LoggedOut, _) | (_, None) => return Err(AgentUnavailable::LoggedOut { agent: agent() }),
        (AgentState::Offered, _) => {
            return Err(AgentUnavailable::Busy { agent: agent(), what: "offered a queue call".into() });
        }
        (AgentState::OnCall, _) => {
            return Err(AgentUnavailable::Busy { agent: agent(), what: "on a queue call".into() });
        }
        (AgentState::Ready | AgentState::NotReady | AgentState::WrapUp, Some(seat)) => seat,
    };
    if !phone_free(seat) {
        return Err(AgentUnavailable::Busy { agent: agent(), what: format!("extension {seat} is in use") });
    }
    Ok(seat.clone())
}

impl Core {
    /// The extension to ring for agent `id`, or why the agent cannot take
    /// a call now.
    pub(crate) fn agent_destination(&self, id: &str) -> Result<Destination, CoreError> {
        let view = self.acd.agent_view(id);
        let free =
            |ext: &str| self.config.extension(ext).and_then(|e| self.chan(e.channel)).is_some_and(|c| c.is_free());
        agent_seat(id, view.as_ref(), free).map(Destination::Extension).map_err(CoreError::AgentUnavailable)
    }

    /// Where a transfer's `to` leads.
    pub(crate) fn transfer_destination(&self, to: &str) -> Result<Destination, CoreError> {
        match parse_target(to)? {
            TransferTarget::Agent(id) => self.agent_destination(id),
            TransferTarget::Queue(name) => {
                if self.config.queue(name).is_none() {
                    return Err(CoreError::Acd(format!("there is no queue `{name}`")));
                }
                Ok(Destination::Queue(name.to_string()))
            }
            TransferTarget::Number(n) => self.resolve(n),
        }
    }

    /// The logged-in agent on `leg` of a call (the party transferring).
    pub(crate) fn agent_on_leg(&self, call: CallId, leg: Option<LegId>) -> Option<String> {
        let party = self.calls.get(&call)?.leg(leg?)?.party.clone();
        self.acd.agent_at(&party).map(str::to_string)
    }

    /// Send the party on `moved` back into a queue (a blind transfer to
    /// `queue:NAME`, or to a number the dial plan routes to a queue); the
    /// other parties leave.
    pub(crate) fn transfer_to_queue(
        &mut self,
        call: CallId,
        moved: &Leg,
        by: Option<LegId>,
        queue: &str,
    ) -> Result<CoreReply, CoreError> {
        self.taken(call)?;
        let by_agent = self.agent_on_leg(call, by);
        let others: Vec<LegId> = self
            .calls
            .get(&call)
            .map(|c| c.live_legs().filter(|l| l.id != moved.id).map(|l| l.id).collect())
            .unwrap_or_default();
        self.journal_queue_transfer(call, queue, by_agent.clone(), moved.id, &moved.party, "blind");
        let was = self.set_transferred_by(call, by_agent);
        if let Some(l) = self.calls.get_mut(&call).and_then(|c| c.leg_mut(moved.id)) {
            l.held = false;
        }
        // Queued while the transferring agent is still on the call, so the
        // router does not offer the caller straight back to that agent.
        if let Err(e) = self.enqueue_leg(call, queue, Some(moved.id)) {
            self.set_transferred_by(call, was);
            return Err(e);
        }
        self.journal(JournalOp::Transfer {
            call,
            kind: TransferKind::Blind,
            from_leg: Some(moved.id),
            to_leg: None,
            target: format!("queue:{queue}"),
            at: self.stamp(),
        });
        for o in others {
            self.end_leg(call, o, HangupCause::Normal, &format!("transferred to queue {queue}"), false);
        }
        self.dirty_calls.insert(call);
        self.reconnect(call);
        Ok(CoreReply::Ok { call: Some(call) })
    }

    /// An attended transfer to `queue`: the party on `held` waits on hold
    /// while the consulting party on `by` waits in the queue (see the
    /// module doc).
    pub(crate) fn consult_queue(
        &mut self,
        call: CallId,
        by: LegId,
        held: LegId,
        queue: &str,
    ) -> Result<CoreReply, CoreError> {
        self.taken(call)?;
        self.start_consult(call, by, held);
        if let Err(e) = self.consult_enqueue(call, by, held, queue) {
            self.cancel_consult(call, by, held);
            return Err(e);
        }
        Ok(CoreReply::Ok { call: Some(call) })
    }

    /// A consultation already started (the held party on hold) goes to
    /// wait in `queue`: from the API, or a phone that flashed and dialled
    /// a number the dial plan sends to a queue. On an error nothing is
    /// queued and the consultation is as it was.
    pub(crate) fn consult_enqueue(
        &mut self,
        call: CallId,
        by: LegId,
        held: LegId,
        queue: &str,
    ) -> Result<(), CoreError> {
        if self.config.queue(queue).is_none() {
            return Err(CoreError::Acd(format!("there is no queue `{queue}`")));
        }
        let by_agent = self.agent_on_leg(call, Some(by));
        let party = self.calls.get(&call).and_then(|c| c.leg(held)).map(|l| l.party.clone()).unwrap_or_default();
        self.journal_queue_transfer(call, queue, by_agent.clone(), held, &party, "consult");
        let was = self.set_transferred_by(call, by_agent);
        if let Err(e) = self.enqueue_leg(call, queue, Some(by)) {
            self.set_transferred_by(call, was);
            return Err(e);
        }
        self.consult_was.insert(call, was);
        Ok(())
    }

    /// The queue's `transfer` event: `agent` moves the party on `leg` into
    /// `queue`, `mode` blind or consult.
    fn journal_queue_transfer(
        &mut self,
        call: CallId,
        queue: &str,
        agent: Option<String>,
        leg: LegId,
        party: &str,
        mode: &str,
    ) {
        self.journal(JournalOp::QueueEvent {
            call,
            queue: queue.to_string(),
            kind: QueueEventKind::Transfer,
            agent,
            position: None,
            wait_ms: None,
            detail: serde_json::json!({"leg": leg.0, "party": party, "mode": mode}),
            at: self.stamp(),
        });
    }

    /// Only a call someone took can be transferred to a queue: an error
    /// when it is still waiting in one.
    fn taken(&self, call: CallId) -> Result<(), CoreError> {
        match self.queued.get(&call) {
            Some(q) => Err(CoreError::InvalidState(format!(
                "call {call} is still waiting in queue `{}`: only a call someone took can be transferred to a queue",
                q.queue
            ))),
            None => Ok(()),
        }
    }

    /// Whether the call's consultation is waiting in a queue.
    pub(crate) fn consult_in_queue(&self, call: CallId) -> bool {
        let by = self.calls.get(&call).and_then(|c| c.consult).map(|c| c.by);
        by.is_some_and(|by| self.queued.get(&call).is_some_and(|q| q.leg == by))
    }

    /// The consulting party completes (or hangs up) while its consultation
    /// still waits in a queue: the held party takes its place there, as in
    /// a blind transfer, and the consulting party leaves. False when the
    /// consultation is not waiting in a queue.
    pub(crate) fn consult_queue_handover(&mut self, call: CallId, cons: Consult) -> bool {
        if !self.consult_in_queue(call) {
            return false;
        }
        let Some(held_ch) =
            self.calls.get(&call).and_then(|c| c.leg(cons.held)).filter(|l| l.is_live()).map(|l| l.channel)
        else {
            return false;
        };
        let Some(q) = self.queued.get_mut(&call) else { return false };
        let (queue, old_ch) = (q.queue.clone(), q.channel);
        q.leg = cons.held;
        q.channel = held_ch;
        q.announcing = None;
        if self.chan(old_ch).is_some_and(|c| c.media != Media::None) {
            self.set_media(old_ch, Media::None);
        }
        if let Some(c) = self.calls.get_mut(&call) {
            c.consult = None;
            if let Some(h) = c.leg_mut(cons.held) {
                h.held = false;
            }
        }
        self.consult_was.remove(&call);
        self.journal(JournalOp::Transfer {
            call,
            kind: TransferKind::Blind,
            from_leg: Some(cons.held),
            to_leg: None,
            target: format!("queue:{queue}"),
            at: self.stamp(),
        });
        let released = self.calls.get(&call).and_then(|c| c.leg(cons.by)).is_none_or(|l| !l.is_live());
        self.end_leg(call, cons.by, HangupCause::Normal, &format!("transferred to queue {queue}"), released);
        self.dirty_calls.insert(call);
        self.dirty_queues = true;
        self.reconnect(call);
        true
    }

    /// A consultation waiting in a queue is given up (`why`): it leaves the
    /// queue and the phones rung for it stop. False when it was not
    /// waiting in a queue.
    pub(crate) fn consult_queue_leave(&mut self, call: CallId, why: &str) -> bool {
        if !self.consult_in_queue(call) {
            return false;
        }
        let Some(q) = self.queued.remove(&call) else { return false };
        if let Some((queue, wait)) = self.acd.leave(call, false, self.now.as_ms()) {
            self.journal(JournalOp::QueueEvent {
                call,
                queue,
                kind: QueueEventKind::Leave,
                agent: None,
                position: None,
                wait_ms: Some(wait as i64),
                detail: serde_json::json!({"why": why}),
                at: self.stamp(),
            });
        }
        self.stop_queue_media(&q);
        for (_, leg) in &q.offers {
            self.end_leg(call, *leg, HangupCause::Cancelled, why, false);
        }
        self.dirty_queues = true;
        self.acd_events();
        true
    }

    /// The consultation is over (completed or cancelled): what it set
    /// aside is settled; `cancelled` puts `transferred_by` back.
    pub(crate) fn consult_over(&mut self, call: CallId, cancelled: bool) {
        if let Some(was) = self.consult_was.remove(&call)
            && cancelled
        {
            self.set_transferred_by(call, was);
        }
    }

    /// Set (or clear) the `transferred_by` variable of a call; its value
    /// before.
    pub(crate) fn set_transferred_by(&mut self, call: CallId, agent: Option<String>) -> Option<String> {
        let c = self.calls.get_mut(&call)?;
        self.dirty_calls.insert(call);
        match agent {
            Some(a) => c.vars.insert("transferred_by".into(), a),
            None => c.vars.remove("transferred_by"),
        }
    }

    /// Ring `dest` for a transfer or consultation of `call` started by the
    /// party on `by`, and pop the call on the screen of every agent whose
    /// phone starts ringing for it.
    pub(crate) fn ring_for_transfer(
        &mut self,
        call: CallId,
        dest: &Destination,
        purpose: RingPurpose,
        role: LegRole,
        by: Option<LegId>,
    ) -> Result<(), CoreError> {
        let before: BTreeSet<LegId> =
            self.calls.get(&call).map(|c| c.legs.iter().map(|l| l.id).collect()).unwrap_or_default();
        self.ring_destination(call, dest, purpose, role)?;
        let by_agent = self.agent_on_leg(call, by);
        let rung: Vec<String> = self
            .calls
            .get(&call)
            .map(|c| {
                c.live_legs()
                    .filter(|l| !before.contains(&l.id) && l.status == LegStatus::Ringing)
                    .map(|l| l.party.clone())
                    .collect()
            })
            .unwrap_or_default();
        for ext in rung {
            let Some(agent) = self.agent_of_extension(&ext) else { continue };
            let queue = self.calls.get(&call).and_then(|c| c.vars.get("queue").cloned()).unwrap_or_default();
            if let Some(mut pop) = self.screen_pop(call, &queue, &agent, 0) {
                pop.transferred_by = by_agent.clone();
                self.emit(CtiEventKind::ScreenPop { pop: Box::new(pop) });
            }
        }
        Ok(())
    }

    /// The agent an extension belongs to: the one logged in there, else
    /// the one whose configured seat it is.
    fn agent_of_extension(&self, ext: &str) -> Option<String> {
        if let Some(a) = self.acd.agent_at(ext) {
            return Some(a.to_string());
        }
        self.config.agents.iter().find(|a| a.spec.extension.as_deref() == Some(ext)).map(|a| a.spec.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(state: AgentState, extension: Option<&str>) -> AgentView {
        AgentView {
            id: "1002".into(),
            name: "Bob".into(),
            state,
            reason: String::new(),
            since_ms: 0,
            extension: extension.map(str::to_string),
            queues: vec!["sales".into()],
            busy: false,
            call: None,
            answered: 0,
            talk_ms: 0,
            skills: Default::default(),
        }
    }

    #[test]
    fn targets_name_an_agent_a_queue_or_a_number() {
        assert_eq!(parse_target("agent:1002"), Ok(TransferTarget::Agent("1002")));
        assert_eq!(parse_target("queue:sales"), Ok(TransferTarget::Queue("sales")));
        assert_eq!(parse_target("802"), Ok(TransferTarget::Number("802")));
        assert_eq!(parse_target("913800138000"), Ok(TransferTarget::Number("913800138000")));
        assert_eq!(
            parse_target("agent:"),
            Err(CoreError::BadData { field: "to".into(), problem: "`agent:` names no agent".into() })
        );
        let e = parse_target("queue: ").unwrap_err();
        assert_eq!(e.to_string(), "to: `queue: ` names no queue");
    }

    #[test]
    fn an_agent_is_rung_at_the_seat_when_logged_in_and_free() {
        let free = |_: &str| true;
        for state in [AgentState::Ready, AgentState::NotReady, AgentState::WrapUp] {
            assert_eq!(agent_seat("1002", Some(&view(state, Some("802"))), free), Ok("802".into()), "{state:?}");
        }
        assert_eq!(agent_seat("1002", None, free), Err(AgentUnavailable::NoSuchAgent { agent: "1002".into() }));
        let out = agent_seat("1002", Some(&view(AgentState::LoggedOut, None)), free).unwrap_err();
        assert_eq!(out, AgentUnavailable::LoggedOut { agent: "1002".into() });
        assert_eq!(out.to_string(), "agent 1002 is logged out");
        let offered = agent_seat("1002", Some(&view(AgentState::Offered, Some("802"))), free).unwrap_err();
        assert_eq!(offered.to_string(), "agent 1002 is busy (offered a queue call)");
        let on_call = agent_seat("1002", Some(&view(AgentState::OnCall, Some("802"))), free).unwrap_err();
        assert_eq!(on_call.to_string(), "agent 1002 is busy (on a queue call)");
        // Ready, but the phone is in a personal call.
        let in_use = agent_seat("1002", Some(&view(AgentState::Ready, Some("802"))), |e| e != "802").unwrap_err();
        assert_eq!(in_use, AgentUnavailable::Busy { agent: "1002".into(), what: "extension 802 is in use".into() });
        assert_eq!(
            CoreError::AgentUnavailable(in_use).to_string(),
            "transfer to agent:1002: agent 1002 is busy (extension 802 is in use)"
        );
    }
}
