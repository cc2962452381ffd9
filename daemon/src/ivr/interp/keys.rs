//! `menu` and `collect`: keys, digits, retries and fallbacks. See the
//! module doc in `mod.rs` for the behaviour.

use std::sync::Arc;

use super::{Miss, Phase, Session, Step, cond, kind_in};
use crate::ivr::flow::{Goto, NodeKind};

impl Session {
    /// After the prompt: a type-ahead key at once, else wait for one.
    pub(super) fn menu_wait(&mut self) {
        if let Some(d) = self.take_typeahead() {
            self.menu_key(d);
            return;
        }
        let flow = Arc::clone(&self.flow);
        let Some(NodeKind::Menu { timeout_ms, .. }) = kind_in(&flow, &self.node) else { return };
        self.phase = Phase::MenuKey;
        self.deadline = Some(self.now_ms.saturating_add(*timeout_ms));
    }

    pub(super) fn menu_key(&mut self, d: char) {
        let flow = Arc::clone(&self.flow);
        let Some(NodeKind::Menu { choices, .. }) = kind_in(&flow, &self.node) else { return };
        match choices.get(&d) {
            Some(g) => {
                self.result(format!("choice {d}"));
                self.goto(g);
            }
            None => {
                self.result(format!("invalid {d}"));
                self.typeahead.clear();
                self.menu_failed(Miss::Invalid);
            }
        }
    }

    pub(super) fn menu_failed(&mut self, miss: Miss) {
        let flow = Arc::clone(&self.flow);
        let Some(NodeKind::Menu { prompt, invalid, no_input, retries, fallback, .. }) = kind_in(&flow, &self.node)
        else {
            return;
        };
        self.failures += 1;
        if self.failures >= (*retries).max(1) {
            self.give_up(fallback.as_ref());
            return;
        }
        let retry = if miss == Miss::Invalid { invalid } else { no_input };
        if self.play(retry, true) {
            self.phase = Phase::MenuRetry;
        } else if self.play(prompt, true) {
            self.phase = Phase::MenuPrompt;
        } else {
            self.menu_wait();
        }
    }

    /// Out of retries: the fallback, or hang up when there is none.
    pub(super) fn give_up(&mut self, fallback: Option<&Goto>) {
        match fallback {
            Some(g) => self.goto(g),
            None => self.broken("no fallback"),
        }
    }

    /// After the prompt: type-ahead digits first, then the timers.
    pub(super) fn collect_begin(&mut self) {
        self.phase = Phase::CollectDigits;
        self.digits.clear();
        while let Some(d) = self.take_typeahead() {
            if self.collect_digit(d) {
                return;
            }
        }
        let flow = Arc::clone(&self.flow);
        let Some(NodeKind::Collect { first_digit_timeout_ms, .. }) = kind_in(&flow, &self.node) else { return };
        if self.digits.is_empty() {
            self.deadline = Some(self.now_ms.saturating_add(*first_digit_timeout_ms));
        }
    }

    /// One digit; true when it ended the collect.
    pub(super) fn collect_digit(&mut self, d: char) -> bool {
        let flow = Arc::clone(&self.flow);
        let Some(NodeKind::Collect { max, terminator, inter_digit_timeout_ms, .. }) = kind_in(&flow, &self.node) else {
            return true;
        };
        if *terminator == Some(d) {
            self.collect_end();
            return true;
        }
        self.digits.push(d);
        if *max > 0 && self.digits.chars().count() >= *max as usize {
            self.collect_end();
            return true;
        }
        self.deadline = Some(self.now_ms.saturating_add(*inter_digit_timeout_ms));
        false
    }

    /// Terminator, max or inter-digit timeout: check and go on or retry.
    pub(super) fn collect_end(&mut self) {
        self.deadline = None;
        let flow = Arc::clone(&self.flow);
        let Some(NodeKind::Collect { var, min, pattern, next, .. }) = kind_in(&flow, &self.node) else { return };
        let mut ok = self.digits.chars().count() >= *min as usize;
        if ok && let Some(p) = pattern {
            match cond::whole_match(p, &self.digits) {
                Ok(m) => ok = m,
                Err(e) => {
                    self.broken(&format!("pattern: {e}"));
                    return;
                }
            }
        }
        let digits = std::mem::take(&mut self.digits);
        if ok {
            self.journal(Step::Digits { node: self.node.clone(), digits: digits.clone() });
            self.vars.insert(var.clone(), digits);
            self.result("collected");
            self.goto(next);
        } else {
            if digits.is_empty() {
                self.result("invalid");
            } else {
                self.result(format!("invalid {digits}"));
            }
            self.typeahead.clear();
            self.collect_failed(Miss::Invalid);
        }
    }

    pub(super) fn collect_failed(&mut self, miss: Miss) {
        let flow = Arc::clone(&self.flow);
        let Some(NodeKind::Collect { prompt, invalid, no_input, retries, fallback, .. }) = kind_in(&flow, &self.node)
        else {
            return;
        };
        self.deadline = None;
        self.digits.clear();
        self.failures += 1;
        if self.failures >= (*retries).max(1) {
            self.give_up(fallback.as_ref());
            return;
        }
        let retry = if miss == Miss::Invalid { invalid } else { no_input };
        if self.play(retry, true) {
            self.phase = Phase::CollectRetry;
        } else if self.play(prompt, true) {
            self.phase = Phase::CollectPrompt;
        } else {
            self.collect_begin();
        }
    }
}
