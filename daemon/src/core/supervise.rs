//! Supervisor actions on an agent's call: listen (silent monitor), whisper
//! (only the agent hears the supervisor), barge-in (a three-party call),
//! take over (the supervisor replaces the agent) and force release.
//!
//! The supervisor's phone is rung as a `monitor` leg of the agent's call;
//! once it answers, [`Core::reconnect`] wires the switch by the leg's mode:
//!
//! | mode    | supervisor hears | agent hears supervisor | caller hears supervisor |
//! |---------|------------------|------------------------|-------------------------|
//! | listen  | both             | no                     | no                      |
//! | whisper | both             | yes                    | no                      |
//! | barge   | both             | yes                    | yes                     |
//!
//! A monitor leg is not a party: when the parties' call ends, so does the
//! monitoring. Take over turns the monitor leg into a party and releases
//! the agent's leg (the agent goes to wrap-up as after any call).

use ctibox_driver::engine::EngineCommand;
use ctibox_driver::hal::{BoardTime, ChannelId, Duration};

use super::Core;
use super::api::{CallId, CoreError, CoreReply, LegId, LegStatus, MonitorMode};
use super::flows::DEFAULT_RING_MS;
use crate::records::{HangupCause, JournalOp, LegRole};

/// A supervisor's leg on a call.
#[derive(Debug, Clone)]
pub(crate) struct Monitor {
    pub call: CallId,
    pub mode: MonitorMode,
    /// The monitored party's leg (the agent's).
    pub target: LegId,
    /// The supervisor's extension.
    pub supervisor: String,
    /// Ringing the supervisor's phone gives up at this time.
    pub ring_deadline: Option<BoardTime>,
}

impl Core {
    /// Start monitoring `agent` (an agent id or an extension) from the
    /// phone at extension `supervisor`, or change the mode of a monitoring
    /// already under way.
    pub(crate) fn supervise(&mut self, supervisor: &str, agent: &str, mode: MonitorMode) -> super::CoreResult {
        let (call, target) = self.monitored_leg(agent)?;
        let sup = self
            .config
            .extension(supervisor)
            .ok_or_else(|| CoreError::NoSuchExtension(supervisor.to_string()))?
            .clone();
        if self.calls.get(&call).and_then(|c| c.leg(target)).is_some_and(|l| l.channel == sup.channel) {
            return Err(CoreError::InvalidState(format!("extension {supervisor} cannot monitor its own call")));
        }
        // Already monitoring this call: change the mode.
        if let Some((&leg, _)) = self.monitors.iter().find(|(_, m)| m.call == call && m.supervisor == supervisor) {
            self.set_monitor_mode(call, leg, mode);
            return Ok(CoreReply::Ok { call: Some(call) });
        }
        if !self.chan(sup.channel).is_some_and(|c| c.is_free()) {
            return Err(CoreError::Busy(supervisor.to_string()));
        }
        let leg = self.ring_extension(call, supervisor, LegRole::Monitor)?;
        self.monitors.insert(
            leg,
            Monitor {
                call,
                mode,
                target,
                supervisor: supervisor.to_string(),
                ring_deadline: Some(self.now + Duration::from_ms(DEFAULT_RING_MS)),
            },
        );
        self.journal(JournalOp::CallEvent {
            call,
            leg: Some(leg),
            at: self.stamp(),
            kind: "monitor".into(),
            detail: serde_json::json!({"supervisor": supervisor, "target_leg": target.0, "mode": mode.as_str()}),
        });
        Ok(CoreReply::Ok { call: Some(call) })
    }

    /// Drop the call of `agent` (an agent id or an extension) on a
    /// supervisor's order.
    pub(crate) fn force_release(&mut self, agent: &str, by: &str) -> super::CoreResult {
        let (call, target) = self.monitored_leg(agent)?;
        self.journal(JournalOp::CallEvent {
            call,
            leg: Some(target),
            at: self.stamp(),
            kind: "force_release".into(),
            detail: serde_json::json!({"agent": agent, "by": by}),
        });
        self.end_call(call, HangupCause::ForceReleased, &format!("released by supervisor {by}"));
        Ok(CoreReply::Ok { call: Some(call) })
    }

    /// The call and leg of whoever `who` names: an agent on a queue call,
    /// or an extension on any call.
    fn monitored_leg(&self, who: &str) -> Result<(CallId, LegId), CoreError> {
        if let Some(&(call, leg)) = self.agent_calls.get(who) {
            return Ok((call, leg));
        }
        let extension = match self.acd.agent_view(who) {
            Some(a) => a.extension.ok_or_else(|| CoreError::Acd(format!("agent {who} is not logged in")))?,
            None if self.config.extension(who).is_some() => who.to_string(),
            None => return Err(CoreError::Acd(format!("there is no agent or extension `{who}`"))),
        };
        let ch = self.config.extension(&extension).map(|e| e.channel).ok_or(CoreError::NoSuchExtension(extension))?;
        let (call, leg) = self
            .chan(ch)
            .and_then(|c| c.call)
            .ok_or_else(|| CoreError::InvalidState(format!("`{who}` is not on a call")))?;
        let up = self.calls.get(&call).and_then(|c| c.leg(leg)).is_some_and(|l| l.status == LegStatus::Up);
        if !up || self.monitors.contains_key(&leg) {
            return Err(CoreError::InvalidState(format!("`{who}` is not talking on a call")));
        }
        Ok((call, leg))
    }

    fn set_monitor_mode(&mut self, call: CallId, leg: LegId, mode: MonitorMode) {
        let answered = self.calls.get(&call).and_then(|c| c.leg(leg)).is_some_and(|l| l.status == LegStatus::Up);
        let Some(m) = self.monitors.get_mut(&leg) else { return };
        m.mode = mode;
        self.journal(JournalOp::CallEvent {
            call,
            leg: Some(leg),
            at: self.stamp(),
            kind: "monitor_mode".into(),
            detail: serde_json::json!({"mode": mode.as_str()}),
        });
        if answered {
            self.monitor_up(call, leg);
        }
    }

    /// The supervisor's phone answered, or the mode changed while it is
    /// up: take over, or rewire the call.
    fn monitor_up(&mut self, call: CallId, leg: LegId) {
        let Some(m) = self.monitors.get_mut(&leg) else { return };
        m.ring_deadline = None;
        if m.mode == MonitorMode::TakeOver {
            let Some(m) = self.monitors.remove(&leg) else { return };
            let by = m.supervisor.clone();
            self.journal(JournalOp::CallEvent {
                call,
                leg: Some(m.target),
                at: self.stamp(),
                kind: "take_over".into(),
                detail: serde_json::json!({"by": by, "to_leg": leg.0}),
            });
            // The supervisor is a party now; the agent's leg goes.
            self.end_leg(call, m.target, HangupCause::Normal, &format!("taken over by {by}"), false);
        }
        self.reconnect(call);
    }

    /// For [`Core::on_answered`]: a monitor leg came up.
    pub(crate) fn monitor_answered(&mut self, call: CallId, leg: LegId) -> bool {
        if !self.monitors.contains_key(&leg) {
            return false;
        }
        self.monitor_up(call, leg);
        true
    }

    /// For [`Core::end_leg`]: a leg ended. A monitor leg is forgotten; a
    /// monitored agent's leg ending leaves its monitors on the call's
    /// remaining parties (their audio is rewired by the settle that follows).
    pub(crate) fn monitor_leg_ended(&mut self, leg: LegId) {
        self.monitors.remove(&leg);
    }

    /// Whether a leg is a supervisor's monitor (not a party of the call).
    pub(crate) fn is_monitor(&self, leg: LegId) -> bool {
        self.monitors.contains_key(&leg)
    }

    /// Unanswered supervisors' phones stop ringing after the ring time.
    pub(crate) fn monitor_tick(&mut self) {
        if self.monitors.is_empty() {
            return;
        }
        let now = self.now;
        let late: Vec<(CallId, LegId)> = self
            .monitors
            .iter()
            .filter(|(_, m)| m.ring_deadline.is_some_and(|d| now >= d))
            .map(|(&leg, m)| (m.call, leg))
            .collect();
        for (call, leg) in late {
            self.monitors.remove(&leg);
            self.end_leg(call, leg, HangupCause::NoAnswer, "the supervisor did not answer", false);
            self.reconnect(call);
        }
    }

    /// Switch connections of a call's answered monitor legs: who hears the
    /// supervisor (by mode); the supervisor hears every party. `parties`
    /// are the legs in the call's audio that are not monitors.
    pub(crate) fn wire_monitors(&mut self, call: CallId, parties: &[(LegId, ChannelId)]) {
        let Some(c) = self.calls.get(&call) else { return };
        let mut cmds = Vec::new();
        for l in c.live_legs().filter(|l| l.status == LegStatus::Up) {
            let Some(m) = self.monitors.get(&l.id) else { continue };
            for &(p, ch) in parties {
                cmds.push(EngineCommand::Connect { listener: l.channel, talker: ch });
                let hears_supervisor = match m.mode {
                    MonitorMode::Listen => false,
                    MonitorMode::Whisper => p == m.target,
                    MonitorMode::Barge | MonitorMode::TakeOver => true,
                };
                if hears_supervisor {
                    cmds.push(EngineCommand::Connect { listener: ch, talker: l.channel });
                }
            }
        }
        for cmd in cmds {
            self.engine_cmd(cmd);
        }
    }
}

impl MonitorMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorMode::Listen => "listen",
            MonitorMode::Whisper => "whisper",
            MonitorMode::Barge => "barge",
            MonitorMode::TakeOver => "take_over",
        }
    }
}
