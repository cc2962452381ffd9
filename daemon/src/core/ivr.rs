//! The core's side of the IVR: a call in a flow has an [`IvrRun`] holding
//! the interpreter's [`Session`]; the core carries out its actions (play
//! prompts, look up, call webhooks, record, queue, transfer, hang up) and
//! feeds it what happens (digits, prompt ends, timers, results).
//!
//! Audio: prompt items become one buffer (prompts converted at load, `say`
//! expanded into prompt names, pauses as silence) played on the caller's
//! channel; the DTMF detector runs on that channel while the call is in the
//! flow (a key press is taken at its start, so a prompt with barge-in stops
//! within the tick the key is recognised in), and voice activity while a
//! recording runs.

use std::path::PathBuf;

use ctibox_driver::engine::EngineCommand;
use ctibox_driver::hal::{ChannelId, ChannelKind};
use ctibox_driver::media::detectors::DetectorEvent;
use ctibox_driver::media::player::PlayBuffer;
use ctibox_driver::media::recorder::RecordWhat;
use ctibox_driver::signaling::analog::{Detectors, LineCommand};

use super::Core;
use super::api::{CallId, LegId, LegStatus};
use super::flows::Destination;
use super::ivr_io::{IoDone, IoJob, RecJob};
use super::model::{Media, RingPurpose};
use crate::ivr::interp::{Action, Input, LocalTime, RecordPurpose, Session, Spoken, State, Step};
use crate::records::{HangupCause, JournalOp, LegRole};

/// A call in a flow.
#[derive(Debug)]
pub(crate) struct IvrRun {
    pub session: Session,
    /// The caller's channel and leg (prompts, digits).
    pub channel: ChannelId,
    pub leg: LegId,
    /// Media id of the prompt playing.
    pub play_id: Option<u32>,
    /// Engine recording id in progress.
    pub record_id: Option<u32>,
    /// Number of the lookup/webhook being waited for.
    pub job: u64,
    /// The session has been started (an inbound line waits for our answer).
    pub started: bool,
}

/// A recording whose file is being written, by engine recording id.
#[derive(Debug, Clone)]
pub(crate) struct PendingRecording {
    pub call: CallId,
    pub purpose: RecordPurpose,
    pub caller: String,
}

/// Local wall-clock time for schedules.
pub(crate) fn local_now() -> LocalTime {
    LocalTime::from_datetime(&chrono::Local::now().naive_local())
}

impl Core {
    /// Put a call into a flow. The caller's leg must exist; an inbound line
    /// that is not answered yet is answered and the flow starts when the
    /// answer completes.
    pub(crate) fn enter_ivr(&mut self, call: CallId, flow_name: &str) -> Result<(), String> {
        let Some(flow) = self.ivr.flows.get(flow_name).cloned() else {
            return Err(format!("there is no IVR flow `{flow_name}`"));
        };
        let Some(c) = self.calls.get(&call) else { return Err("the call has ended".into()) };
        let Some(caller) = c.legs.iter().find(|l| l.role == LegRole::Caller && l.is_live()).cloned() else {
            return Err("the call has no caller".into());
        };
        let mut vars = c.vars.clone();
        vars.insert("caller".into(), c.caller_number.clone());
        vars.insert("caller_name".into(), c.caller_name.clone());
        vars.insert("called".into(), c.called_number.clone());
        vars.insert("call_id".into(), call.0.to_string());
        vars.entry("lang".into()).or_insert_with(|| flow.lang.code().to_string());
        vars.insert("flow".into(), flow.name.clone());
        let run = IvrRun {
            session: Session::new(flow, vars),
            channel: caller.channel,
            leg: caller.id,
            play_id: None,
            record_id: None,
            job: 0,
            started: false,
        };
        self.ivr_runs.insert(call, run);
        self.journal(JournalOp::CallEvent {
            call,
            leg: Some(caller.id),
            at: self.stamp(),
            kind: "ivr.enter".into(),
            detail: serde_json::json!({"flow": flow_name}),
        });
        self.engine_cmd(EngineCommand::SetDetectors {
            channel: caller.channel,
            detectors: Detectors { dtmf: true, ..Detectors::NONE },
        });
        let is_line = self.chan(caller.channel).is_some_and(|ch| ch.kind == ChannelKind::Fxo);
        if caller.status == LegStatus::Up {
            self.start_ivr(call);
        } else if is_line {
            self.line(caller.channel, LineCommand::Answer);
        }
        Ok(())
    }

    /// The caller's line is up: run the flow from its start.
    pub(crate) fn start_ivr(&mut self, call: CallId) {
        let Some(run) = self.ivr_runs.get_mut(&call) else { return };
        if run.started {
            return;
        }
        run.started = true;
        let ch = run.channel;
        // The caller hears the flow, nothing else.
        self.engine_cmd(EngineCommand::Isolate { channel: ch });
        self.set_media(ch, Media::None);
        let now = self.now.as_ms();
        let actions = match self.ivr_runs.get_mut(&call) {
            Some(r) => r.session.start(now, local_now()),
            None => return,
        };
        self.ivr_actions(call, actions);
    }

    /// Feed the session an input and carry out what it answers.
    pub(crate) fn ivr_input(&mut self, call: CallId, input: Input) {
        let now = self.now.as_ms();
        let Some(run) = self.ivr_runs.get_mut(&call) else { return };
        if !run.started {
            return;
        }
        let actions = run.session.handle(input, now, local_now());
        self.ivr_actions(call, actions);
    }

    fn ivr_actions(&mut self, call: CallId, actions: Vec<Action>) {
        for a in actions {
            if !self.ivr_runs.contains_key(&call) {
                return;
            }
            self.ivr_action(call, a);
        }
    }

    fn ivr_action(&mut self, call: CallId, action: Action) {
        let Some(run) = self.ivr_runs.get(&call) else { return };
        let ch = run.channel;
        let leg = run.leg;
        match action {
            Action::Play { items, barge_in: _ } => {
                let buffer = self.prompt_audio(call, &items);
                self.media_ids = self.media_ids.wrapping_add(1);
                let id = self.media_ids;
                if let Some(r) = self.ivr_runs.get_mut(&call) {
                    r.play_id = Some(id);
                }
                if buffer.is_empty() {
                    // Nothing could be played: it is over at once.
                    if let Some(r) = self.ivr_runs.get_mut(&call) {
                        r.play_id = None;
                    }
                    self.ivr_deferred.push((call, Input::PlayDone));
                    return;
                }
                self.engine_cmd(EngineCommand::Play { channel: ch, id, buffer, repeat: false });
                if let Some(c) = self.chans.get_mut(ch.index()) {
                    c.media = Media::Prompt;
                }
            }
            Action::StopPlay => {
                if run.play_id.is_some() {
                    self.engine_cmd(EngineCommand::StopMedia { channel: ch });
                }
            }
            Action::Lookup { database, sql, params } => {
                let job = self.next_ivr_job(call);
                let records_db = self.records_db.clone();
                self.ivr_io.submit(IoJob::Lookup { call, job, database, records_db, sql, params });
            }
            Action::Webhook { method, url, body, timeout_ms } => {
                let job = self.next_ivr_job(call);
                match self.ivr.webhook_url(&url) {
                    Ok(url) => self.ivr_io.submit(IoJob::Webhook { call, job, method, url, body, timeout_ms }),
                    Err(e) => self.ivr_deferred.push((call, Input::WebhookDone(Err(e)))),
                }
            }
            Action::StartRecord { purpose, max_ms: _ } => {
                self.media_ids = self.media_ids.wrapping_add(1);
                let id = self.media_ids;
                let caller = self.calls.get(&call).map(|c| c.caller_number.clone()).unwrap_or_default();
                let path = self.recording_path(call, id, &purpose);
                self.ivr_io.record(RecJob::Open { id, path });
                self.pending_recordings.insert(id, PendingRecording { call, purpose, caller });
                if let Some(r) = self.ivr_runs.get_mut(&call) {
                    r.record_id = Some(id);
                }
                self.engine_cmd(EngineCommand::SetDetectors {
                    channel: ch,
                    detectors: Detectors { dtmf: true, vad: true, ..Detectors::NONE },
                });
                self.engine_cmd(EngineCommand::RecordStart { channel: ch, id, what: RecordWhat::Rx });
            }
            Action::StopRecord => {
                if run.record_id.is_some() {
                    self.engine_cmd(EngineCommand::RecordStop { channel: ch });
                }
            }
            Action::Queue { queue, priority, skills } => {
                self.ivr_attach_vars(call);
                if let Some(c) = self.calls.get_mut(&call) {
                    c.vars.insert("queue".into(), queue.clone());
                    c.vars.insert("priority".into(), priority.to_string());
                    if !skills.is_empty() {
                        c.vars.insert("skills".into(), skills.join(","));
                    }
                }
                // An ACD queue by name, else a ring group by number or name.
                let result = if self.config.queue(&queue).is_some() {
                    self.enqueue_call(call, &queue).map_err(|e| e.to_string())
                } else {
                    let group = self
                        .config
                        .ring_groups
                        .iter()
                        .find(|g| g.number == queue || g.name.eq_ignore_ascii_case(&queue))
                        .map(|g| g.number.clone());
                    match group {
                        Some(g) => self
                            .ring_destination(call, &Destination::Group(g), RingPurpose::Connect, LegRole::Callee)
                            .map_err(|e| e.to_string()),
                        None => Err(format!("there is no queue or ring group `{queue}`")),
                    }
                };
                if let Err(e) = result {
                    self.ivr_deferred.push((call, Input::Failed(e)));
                }
            }
            Action::Transfer { to } => {
                self.ivr_attach_vars(call);
                // A number as dialled, or `agent:ID` / `queue:NAME` as in
                // the API's transfers.
                let result = self.transfer_destination(&to).map_err(|e| e.to_string()).and_then(|d| {
                    self.ring_destination(call, &d, RingPurpose::Connect, LegRole::Callee).map_err(|e| e.to_string())
                });
                if let Err(e) = result {
                    self.ivr_deferred.push((call, Input::Failed(e)));
                }
            }
            Action::Hangup => {
                self.ivr_attach_vars(call);
                self.leave_ivr(call);
                self.end_call(call, HangupCause::Normal, "the IVR flow hung up");
            }
            Action::Journal(step) => {
                let (kind, detail) = match step {
                    Step::Node { node, kind } => {
                        if let Some(c) = self.calls.get_mut(&call) {
                            let path = c.vars.entry("ivr_path".into()).or_default();
                            if !path.is_empty() {
                                path.push(',');
                            }
                            path.push_str(&node);
                        }
                        ("ivr.node", serde_json::json!({"node": node, "type": kind}))
                    }
                    Step::Digits { node, digits } => {
                        ("ivr.digits", serde_json::json!({"node": node, "digits": digits}))
                    }
                    Step::Result { node, result } => {
                        ("ivr.result", serde_json::json!({"node": node, "result": result}))
                    }
                };
                self.journal(JournalOp::CallEvent {
                    call,
                    leg: Some(leg),
                    at: self.stamp(),
                    kind: kind.into(),
                    detail,
                });
            }
        }
    }

    fn next_ivr_job(&mut self, call: CallId) -> u64 {
        self.ivr_jobs += 1;
        let job = self.ivr_jobs;
        if let Some(r) = self.ivr_runs.get_mut(&call) {
            r.job = job;
        }
        job
    }

    /// The session's variables travel with the call (to the agent who takes
    /// it, in the call's view).
    fn ivr_attach_vars(&mut self, call: CallId) {
        let Some(mut vars) = self.ivr_runs.get(&call).map(|r| r.session.vars().clone()) else { return };
        if let Some(c) = self.calls.get_mut(&call) {
            // What the core keeps beside the flow's variables.
            for key in ["ivr_path", "customer_id", "customer_name", "customer_vip", "customer_agent"] {
                if let Some(v) = c.vars.get(key) {
                    vars.entry(key.to_string()).or_insert_with(|| v.clone());
                }
            }
            c.vars = vars;
            self.dirty_calls.insert(call);
        }
    }

    /// One buffer of everything to play: prompts, spoken values, pauses.
    pub(crate) fn prompt_audio(&self, call: CallId, items: &[Spoken]) -> PlayBuffer {
        let (out, missing) = self.ivr.prompts.render(items);
        if !missing.is_empty() {
            tracing::warn!(call = call.0, ?missing, "IVR: prompts not found");
            self.journal(JournalOp::CallEvent {
                call,
                leg: None,
                at: self.stamp(),
                kind: "ivr.missing_prompt".into(),
                detail: serde_json::json!({"prompts": missing}),
            });
        }
        PlayBuffer::new(out)
    }

    fn recording_path(&self, call: CallId, id: u32, purpose: &RecordPurpose) -> PathBuf {
        let clean = |s: &str| -> String {
            let t: String =
                s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
            if t.is_empty() { "default".into() } else { t }
        };
        let stamp = crate::records::now_wall_ms();
        match purpose {
            RecordPurpose::Voicemail { mailbox, .. } => self
                .config
                .data_dir
                .join("voicemail")
                .join(clean(mailbox))
                .join(format!("{stamp}-call{}-{id}.wav", call.0)),
            RecordPurpose::Caller { .. } => {
                self.config.data_dir.join("recordings").join(format!("{stamp}-call{}-{id}.wav", call.0))
            }
        }
    }

    /// The call leaves the flow (answered by someone, hung up, ended): the
    /// detectors go back to the line's own, a recording in progress is
    /// stopped (it is still saved: a caller who hangs up after the message
    /// is the usual end of a voicemail).
    pub(crate) fn leave_ivr(&mut self, call: CallId) {
        let Some(run) = self.ivr_runs.remove(&call) else { return };
        if run.record_id.is_some() {
            self.engine_cmd(EngineCommand::RecordStop { channel: run.channel });
        }
        if run.play_id.is_some() && self.chan(run.channel).is_some_and(|c| c.media == Media::Prompt) {
            self.set_media(run.channel, Media::None);
        }
        self.engine_cmd(EngineCommand::SetDetectors { channel: run.channel, detectors: Detectors::NONE });
        self.journal(JournalOp::CallEvent {
            call,
            leg: Some(run.leg),
            at: self.stamp(),
            kind: "ivr.leave".into(),
            detail: serde_json::json!({"node": run.session.node(), "state": format!("{:?}", run.session.state())}),
        });
    }

    /// Detector events on a channel of a call in a flow.
    pub(crate) fn ivr_detected(&mut self, ch: ChannelId, event: &DetectorEvent) {
        let Some((call, _)) = self.chan(ch).and_then(|c| c.call) else { return };
        if self.ivr_runs.get(&call).is_none_or(|r| r.channel != ch) {
            return;
        }
        match event {
            DetectorEvent::DtmfBegin { digit, .. } => self.ivr_input(call, Input::Digit(digit.as_char())),
            DetectorEvent::VoiceStart { .. } => self.ivr_input(call, Input::Voice(true)),
            DetectorEvent::VoiceStop { .. } => self.ivr_input(call, Input::Voice(false)),
            _ => {}
        }
    }

    /// A buffer ended on a channel.
    pub(crate) fn ivr_media_done(&mut self, ch: ChannelId, id: u32) {
        let Some((call, _)) = self.chan(ch).and_then(|c| c.call) else { return };
        let Some(run) = self.ivr_runs.get_mut(&call) else { return };
        if run.play_id != Some(id) {
            return;
        }
        run.play_id = None;
        if let Some(c) = self.chans.get_mut(ch.index())
            && c.media == Media::Prompt
        {
            c.media = Media::None;
        }
        self.ivr_input(call, Input::PlayDone);
    }

    /// The engine finished a recording: have its file closed.
    pub(crate) fn ivr_record_done(&mut self, id: u32) {
        if self.pending_recordings.contains_key(&id) {
            self.ivr_io.record(RecJob::Finish { id });
        }
    }

    /// Results from the workers.
    pub(crate) fn ivr_io_done(&mut self, done: IoDone) {
        match done {
            IoDone::Caller { call, customer, assigned, last_calls } => {
                if !self.calls.contains_key(&call) {
                    return;
                }
                let vip = customer.as_ref().and_then(|c| c.get("vip")).and_then(|v| v.as_u64()).unwrap_or(0) as u8;
                // The personal manager: a user linked to an agent, or an
                // agent's id or name written on the record.
                let agent = assigned.and_then(|a| {
                    self.config
                        .agent_of_user(&a)
                        .or_else(|| {
                            self.config.agents.iter().find(|g| g.spec.id == a || g.spec.name.eq_ignore_ascii_case(&a))
                        })
                        .map(|g| g.spec.id.clone())
                });
                self.acd_customer(call, super::acd::CallerCard { customer, vip, agent, last_calls });
            }
            IoDone::Campaign(load) => self.campaign_loaded(load),
            IoDone::Lookup { call, job, result } => {
                if self.ivr_runs.get(&call).is_some_and(|r| r.job == job) {
                    self.ivr_input(call, Input::LookupDone(result));
                }
            }
            IoDone::Webhook { call, job, result } => {
                if self.ivr_runs.get(&call).is_some_and(|r| r.job == job) {
                    self.ivr_input(call, Input::WebhookDone(result));
                }
            }
            IoDone::Recorded { id, path, samples, error } => {
                let Some(p) = self.pending_recordings.remove(&id) else { return };
                if let Some(e) = &error {
                    tracing::error!(call = p.call.0, "recording: {e}");
                }
                let ms = samples / 8;
                if let RecordPurpose::Voicemail { mailbox, notify } = &p.purpose
                    && error.is_none()
                {
                    let path_s = path.display().to_string();
                    self.journal(JournalOp::Voicemail {
                        call: p.call,
                        mailbox: mailbox.clone(),
                        caller: p.caller.clone(),
                        path: path_s.clone(),
                        duration_ms: ms as i64,
                        at: self.stamp(),
                    });
                    if let Some(url) = notify {
                        match self.ivr.webhook_url(url) {
                            Ok(url) => self.ivr_io.submit(IoJob::Notify {
                                url,
                                body: serde_json::json!({
                                    "event": "voicemail", "call": p.call.0, "mailbox": mailbox,
                                    "caller": p.caller, "path": path_s, "duration_ms": ms,
                                }),
                            }),
                            Err(e) => tracing::warn!("voicemail notification: {e}"),
                        }
                    }
                }
                if let Some(run) = self.ivr_runs.get_mut(&p.call)
                    && run.record_id == Some(id)
                {
                    run.record_id = None;
                    let ch = run.channel;
                    self.engine_cmd(EngineCommand::SetDetectors {
                        channel: ch,
                        detectors: Detectors { dtmf: true, ..Detectors::NONE },
                    });
                    let path = if error.is_none() { path.display().to_string() } else { String::new() };
                    self.ivr_input(p.call, Input::RecordDone { path, ms });
                }
            }
        }
    }

    /// Inputs that arose while carrying out a session's actions (nothing to
    /// play, a queue with nobody free): handled at the next tick, never
    /// inside the action, so a flow that loops through such nodes runs at
    /// most one step per tick instead of recursing.
    pub(crate) fn ivr_run_deferred(&mut self) {
        if self.ivr_deferred.is_empty() {
            return;
        }
        for (call, input) in std::mem::take(&mut self.ivr_deferred) {
            self.ivr_input(call, input);
        }
    }

    /// Timers of sessions that are due.
    pub(crate) fn ivr_timers(&mut self) {
        let now = self.now.as_ms();
        let due: Vec<CallId> = self
            .ivr_runs
            .iter()
            .filter(|(_, r)| r.started && r.session.deadline().is_some_and(|d| d <= now))
            .map(|(c, _)| *c)
            .collect();
        for call in due {
            self.ivr_input(call, Input::Timer);
        }
    }

    /// Whether a call is being served by a flow (not handed on).
    pub(crate) fn in_ivr(&self, call: CallId) -> bool {
        self.ivr_runs.get(&call).is_some_and(|r| r.session.state() == State::Running)
    }

    /// A call handed to a queue or transfer by its flow was answered: the
    /// flow is done with it.
    pub(crate) fn ivr_answered(&mut self, call: CallId) {
        if self.ivr_runs.get(&call).is_some_and(|r| r.session.state() == State::Handed) {
            self.ivr_attach_vars(call);
            self.leave_ivr(call);
        }
    }

    /// A queue or transfer of a flow found nobody: back to the flow, which
    /// takes its failure branch. False when the call is not handed by a
    /// flow.
    pub(crate) fn ivr_handed_failed(&mut self, call: CallId, why: &str) -> bool {
        if !self.ivr_runs.get(&call).is_some_and(|r| r.session.state() == State::Handed) {
            return false;
        }
        if let Some(c) = self.calls.get_mut(&call) {
            c.ringing = None;
        }
        let ch = self.ivr_runs.get(&call).map(|r| r.channel);
        if let Some(ch) = ch {
            self.set_media(ch, Media::None);
        }
        self.ivr_input(call, Input::Failed(why.to_string()));
        true
    }

    /// Keep the session count bounded by calls: drop sessions of calls that
    /// are gone (called after a call ends).
    pub(crate) fn ivr_call_gone(&mut self, call: CallId) {
        if self.ivr_runs.contains_key(&call) {
            self.leave_ivr(call);
        }
    }
}
