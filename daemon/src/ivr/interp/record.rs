//! `voicemail` and `record`: greeting, beep, recording and its stop
//! conditions. See the module doc in `mod.rs` for the behaviour.

use std::sync::Arc;

use super::{Action, BEEP_PROMPT, Phase, RecordPurpose, Session, Spoken, kind_in};
use crate::ivr::flow::NodeKind;

impl Session {
    pub(super) fn on_voice(&mut self, talking: bool) {
        let Phase::Recording { max_at, .. } = self.phase else { return };
        let silence_at = if talking {
            None
        } else {
            let flow = Arc::clone(&self.flow);
            match kind_in(&flow, &self.node) {
                Some(NodeKind::Voicemail { silence_ms, .. } | NodeKind::Record { silence_ms, .. }) => {
                    (*silence_ms > 0).then(|| self.now_ms.saturating_add(*silence_ms))
                }
                _ => None,
            }
        };
        self.set_recording(silence_at, max_at);
    }

    pub(super) fn on_record_done(&mut self, path: String, ms: u64) {
        if !matches!(self.phase, Phase::Recording { .. } | Phase::RecordStopping) {
            return;
        }
        self.result(format!("recorded {}.{}s", ms / 1000, ms % 1000 / 100));
        let flow = Arc::clone(&self.flow);
        match kind_in(&flow, &self.node) {
            Some(NodeKind::Voicemail { next, .. }) => self.goto(next),
            Some(NodeKind::Record { var, next, .. }) => {
                self.vars.insert(var.clone(), path);
                self.goto(next);
            }
            _ => {}
        }
    }

    pub(super) fn record_beep(&mut self) {
        let flow = Arc::clone(&self.flow);
        let beep = match kind_in(&flow, &self.node) {
            Some(NodeKind::Voicemail { beep, .. } | NodeKind::Record { beep, .. }) => *beep,
            _ => return,
        };
        if beep {
            let lang = self.lang();
            self.play_spoken(vec![Spoken::Prompt { lang, name: BEEP_PROMPT.to_string() }], false);
            self.phase = Phase::RecordBeep;
        } else {
            self.record_start();
        }
    }

    pub(super) fn record_start(&mut self) {
        let flow = Arc::clone(&self.flow);
        let (purpose, max_ms, silence_ms) = match kind_in(&flow, &self.node) {
            Some(NodeKind::Voicemail { mailbox, max_ms, silence_ms, notify, .. }) => (
                RecordPurpose::Voicemail {
                    mailbox: self.expand(mailbox),
                    notify: notify.as_ref().map(|n| self.expand(n)),
                },
                *max_ms,
                *silence_ms,
            ),
            Some(NodeKind::Record { var, max_ms, silence_ms, .. }) => {
                (RecordPurpose::Caller { var: var.clone() }, *max_ms, *silence_ms)
            }
            _ => return,
        };
        self.out.push(Action::StartRecord { purpose, max_ms });
        let silence_at = (silence_ms > 0).then(|| self.now_ms.saturating_add(silence_ms));
        let max_at = (max_ms > 0).then(|| self.now_ms.saturating_add(max_ms));
        self.set_recording(silence_at, max_at);
    }

    pub(super) fn set_recording(&mut self, silence_at: Option<u64>, max_at: Option<u64>) {
        self.phase = Phase::Recording { silence_at, max_at };
        self.deadline = match (silence_at, max_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    pub(super) fn record_stop(&mut self) {
        self.out.push(Action::StopRecord);
        self.phase = Phase::RecordStopping;
        self.deadline = None;
    }
}
