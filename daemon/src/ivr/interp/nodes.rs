//! Entering a node, and the answers of lookups, webhooks, queues and
//! transfers. See the module doc in `mod.rs` for the behaviour.

use std::sync::Arc;

use super::{Action, MAX_HOPS, Phase, SORRY_PROMPT, Session, Spoken, State, Step, cond, kind_in, sql};
use crate::ivr::flow::{Case, Goto, NodeKind, PromptItem};

impl Session {
    pub(super) fn enter(&mut self, name: &str) {
        self.hops += 1;
        if self.hops > MAX_HOPS {
            self.node = name.to_string();
            self.broken(&format!("flow loops without input at {name}"));
            return;
        }
        let flow = Arc::clone(&self.flow);
        let Some(node) = flow.node(name) else {
            if self.node.is_empty() {
                self.node = name.to_string();
            }
            self.broken(&format!("no node named `{name}` in flow `{}`", flow.name));
            return;
        };
        self.node = node.name.clone();
        self.phase = Phase::Idle;
        self.deadline = None;
        self.failures = 0;
        self.digits.clear();
        self.journal(Step::Node { node: node.name.clone(), kind: node.kind.type_name() });
        match &node.kind {
            NodeKind::Play { prompts, barge_in, next } => self.enter_play(prompts, *barge_in, next),
            NodeKind::Say { before, item, after, barge_in, next } => {
                let items: Vec<PromptItem> =
                    before.iter().chain(std::iter::once(item)).chain(after.iter()).cloned().collect();
                self.enter_play(&items, *barge_in, next)
            }
            NodeKind::Menu { prompt, .. } => {
                if !self.typeahead.is_empty() {
                    self.menu_wait();
                } else if self.play(prompt, true) {
                    self.phase = Phase::MenuPrompt;
                } else {
                    self.menu_wait();
                }
            }
            NodeKind::Collect { prompt, .. } => {
                if !self.typeahead.is_empty() {
                    self.collect_begin();
                } else if self.play(prompt, true) {
                    self.phase = Phase::CollectPrompt;
                } else {
                    self.collect_begin();
                }
            }
            NodeKind::Lookup { database, sql, .. } => {
                let params = sql::named_params(sql)
                    .into_iter()
                    .map(|n| {
                        let v = self.vars.get(&n).cloned().unwrap_or_default();
                        (n, v)
                    })
                    .collect();
                self.out.push(Action::Lookup { database: database.clone(), sql: sql.clone(), params });
                self.phase = Phase::Lookup;
            }
            NodeKind::Branch { cases, default } => self.enter_branch(cases, default),
            NodeKind::Set { vars, next } => {
                for (name, value) in vars {
                    let v = self.expand(value);
                    self.vars.insert(name.clone(), v);
                }
                self.goto(next);
            }
            NodeKind::Webhook { method, url, body, timeout_ms, .. } => {
                let url = self.expand(url);
                let body = body.iter().map(|(k, v)| (k.clone(), self.expand(v))).collect();
                self.out.push(Action::Webhook { method: *method, url, body, timeout_ms: *timeout_ms });
                self.phase = Phase::Webhook;
            }
            NodeKind::Queue { queue, priority, skills, .. } => {
                let queue = self.expand(queue);
                let priority = priority.as_ref().and_then(|p| self.expand(p).trim().parse::<u32>().ok()).unwrap_or(0);
                let skills = skills.iter().map(|s| self.expand(s)).collect();
                self.result(format!("queued {queue}"));
                self.out.push(Action::Queue { queue, priority, skills });
                self.state = State::Handed;
            }
            NodeKind::Transfer { to, .. } => {
                let to = self.expand(to);
                self.result(format!("transfer {to}"));
                self.out.push(Action::Transfer { to });
                self.state = State::Handed;
            }
            NodeKind::Voicemail { greeting: prompts, .. } | NodeKind::Record { prompt: prompts, .. } => {
                self.typeahead.clear();
                if self.play(prompts, false) {
                    self.phase = Phase::RecordGreeting;
                } else {
                    self.record_beep();
                }
            }
            NodeKind::Hangup { prompts } => {
                if self.play(prompts, false) {
                    self.phase = Phase::Closing { journal: true };
                } else {
                    self.result("hangup");
                    self.hangup();
                }
            }
        }
    }

    pub(super) fn enter_play(&mut self, items: &[PromptItem], barge_in: bool, next: &Goto) {
        if self.play(items, barge_in) {
            self.phase = Phase::Playing { barge_in };
        } else {
            self.result("played");
            self.goto(next);
        }
    }

    pub(super) fn enter_branch(&mut self, cases: &[Case], default: &Goto) {
        let flow = Arc::clone(&self.flow);
        let env = cond::Env { vars: &self.vars, flow: &flow, local: self.local };
        let mut chosen = None;
        for (i, case) in cases.iter().enumerate() {
            match cond::holds(&case.when, &env) {
                Ok(true) => {
                    chosen = Some((i, &case.goto));
                    break;
                }
                Ok(false) => {}
                Err(e) => {
                    let what = format!("case {} (line {}): {e}", i + 1, case.line);
                    self.broken(&what);
                    return;
                }
            }
        }
        match chosen {
            Some((i, goto)) => {
                self.result(format!("case {}", i + 1));
                self.goto(goto);
            }
            None => {
                self.result("default");
                self.goto(default);
            }
        }
    }

    pub(super) fn on_lookup_done(&mut self, r: Result<Option<Vec<(String, String)>>, String>) {
        if self.phase != Phase::Lookup {
            return;
        }
        let flow = Arc::clone(&self.flow);
        let Some(NodeKind::Lookup { prefix, found, not_found, error, .. }) = kind_in(&flow, &self.node) else { return };
        match r {
            Ok(Some(row)) => {
                for (col, value) in row {
                    self.vars.insert(format!("{prefix}{col}"), value);
                }
                self.result("found");
                self.goto(found);
            }
            Ok(None) => {
                self.result("not_found");
                self.goto(not_found);
            }
            Err(e) => {
                self.result(format!("error: {e}"));
                self.goto(error);
            }
        }
    }

    pub(super) fn on_webhook_done(&mut self, r: Result<Vec<(String, String)>, String>) {
        if self.phase != Phase::Webhook {
            return;
        }
        let flow = Arc::clone(&self.flow);
        let Some(NodeKind::Webhook { prefix, next, error, .. }) = kind_in(&flow, &self.node) else { return };
        match r {
            Ok(fields) => {
                for (key, value) in fields {
                    self.vars.insert(format!("{prefix}{key}"), value);
                }
                self.result("ok");
                self.goto(next);
            }
            Err(e) => {
                self.result(format!("error: {e}"));
                self.goto(error);
            }
        }
    }

    pub(super) fn on_failed(&mut self, reason: String) {
        if self.state != State::Handed {
            return;
        }
        self.state = State::Running;
        self.result(format!("failed: {reason}"));
        let flow = Arc::clone(&self.flow);
        match kind_in(&flow, &self.node) {
            Some(NodeKind::Queue { on_failure: Some(g), .. } | NodeKind::Transfer { on_failure: Some(g), .. }) => {
                self.goto(g)
            }
            _ => {
                let lang = self.lang();
                self.play_spoken(vec![Spoken::Prompt { lang, name: SORRY_PROMPT.to_string() }], false);
                self.phase = Phase::Closing { journal: false };
            }
        }
    }
}
