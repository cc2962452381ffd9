//! ACD feature codes dialled on an agent's phone (`[acd]` codes):
//!
//! | dialled                 | does                                         |
//! |-------------------------|----------------------------------------------|
//! | `*51 AGENT * PIN #`     | log AGENT in at this phone (PIN if it has one) |
//! | `*51 AGENT #`, `*51 #`  | the same for an agent without a PIN (alone: the agent whose seat this phone is) |
//! | `*52`                   | log out the agent seated here                |
//! | `*53`                   | ready                                        |
//! | `*54 [REASON] #`        | not ready, with an optional reason code       |
//!
//! The phone hears a short spoken confirmation ("agent logged in", or "the
//! agent number or the PIN is wrong"), then the release tone. The agent's
//! state changes are journaled like any other (agent history); the PIN is
//! never logged nor journaled.

use ctibox_driver::engine::EngineCommand;
use ctibox_driver::hal::ChannelId;
use ctibox_driver::media::player::PlayBuffer;
use ctibox_driver::signaling::analog::LineCommand;

use super::Core;
use super::api::ChannelStatus;
use super::model::Media;
use crate::ivr::flow::Lang;
use crate::ivr::interp::Spoken;

/// Which code was dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feature {
    Login,
    Logout,
    Ready,
    NotReady,
}

impl Core {
    /// If `number` dialled on extension `ext` (channel `ch`) is an ACD
    /// feature code, do it and tell the phone; `false` when it is not one.
    pub(crate) fn feature_code(&mut self, ch: ChannelId, ext: &str, number: &str) -> bool {
        let a = &self.config.acd;
        let codes = [
            (Feature::Login, a.login_code.clone()),
            (Feature::Logout, a.logout_code.clone()),
            (Feature::Ready, a.ready_code.clone()),
            (Feature::NotReady, a.not_ready_code.clone()),
        ];
        let Some((feature, rest)) =
            codes.iter().find_map(|(f, code)| number.strip_prefix(code.as_str()).map(|rest| (*f, rest.to_string())))
        else {
            return false;
        };
        if self.config.agents.is_empty() {
            return false;
        }
        let now = self.now.as_ms();
        let seated = self.acd.agent_at(ext).map(str::to_string);
        let outcome: Result<(String, &str), String> = match feature {
            Feature::Login => self.feature_login(ext, &rest).map(|agent| (agent, "agent-logged-in")),
            Feature::Logout | Feature::Ready | Feature::NotReady => match seated {
                None => Err(format!("no agent is logged in at extension {ext}")),
                Some(agent) => {
                    let r = match feature {
                        Feature::Logout => self.acd.logout(&agent, now).map(|()| "agent-logged-out"),
                        Feature::Ready => self.acd.ready(&agent, now).map(|()| "agent-ready"),
                        _ => self.acd.not_ready(&agent, rest.trim_matches('*'), now).map(|()| "agent-not-ready"),
                    };
                    r.map(|p| (agent, p)).map_err(|e| e.to_string())
                }
            },
        };
        let (agent, prompt) = match outcome {
            Ok((agent, prompt)) => {
                tracing::info!(extension = ext, agent, ?feature, "agent feature code");
                (Some(agent), prompt)
            }
            Err(why) => {
                tracing::warn!(extension = ext, ?feature, "agent feature code refused: {why}");
                (None, if feature == Feature::Login { "agent-login-failed" } else { "sorry-error" })
            }
        };
        self.dirty_queues = true;
        self.acd_events();
        self.acd_route();
        let lang = self.agent_language(agent.as_deref());
        let (audio, missing) = self.ivr.prompts.render(&[Spoken::Prompt { lang, name: prompt.to_string() }]);
        if !missing.is_empty() {
            tracing::warn!(?missing, "feature code: prompts not found");
        }
        let buffer = PlayBuffer::new(audio);
        self.media_ids = self.media_ids.wrapping_add(1);
        let id = self.media_ids;
        self.set_status(ch, ChannelStatus::Talking);
        self.engine_cmd(EngineCommand::Play { channel: ch, id, buffer, repeat: false });
        if let Some(c) = self.chans.get_mut(ch.index()) {
            c.media = Media::Prompt;
        }
        self.feature_plays.insert(ch, id);
        true
    }

    /// `AGENT * PIN`, `AGENT`, or nothing (the agent whose seat this is):
    /// check and log in at `ext`.
    fn feature_login(&mut self, ext: &str, rest: &str) -> Result<String, String> {
        let (id, pin) = match rest.split_once('*') {
            Some((id, pin)) => (id.to_string(), Some(pin)),
            None if rest.is_empty() => {
                let own = self.config.agents.iter().find(|a| a.spec.extension.as_deref() == Some(ext));
                (own.map(|a| a.spec.id.clone()).ok_or_else(|| format!("extension {ext} is no agent's seat"))?, None)
            }
            None => (rest.to_string(), None),
        };
        let spec = self.config.agent(&id).ok_or_else(|| format!("there is no agent `{id}`"))?.spec.clone();
        if let Some(want) = &spec.pin
            && pin != Some(want.as_str())
        {
            return Err(format!("wrong or missing PIN for agent {id}"));
        }
        self.acd.login(&id, Some(ext), None, self.now.as_ms()).map_err(|e| e.to_string())?;
        self.acd_sync_seat(ext);
        Ok(id)
    }

    /// The language an agent is spoken to in: its first queue's, else the
    /// country's.
    fn agent_language(&self, agent: Option<&str>) -> Lang {
        let queue = agent.and_then(|a| {
            self.config.queues.iter().find(|q| q.spec.members.iter().any(|m| m.agent == a)).map(|q| q.language.clone())
        });
        queue.and_then(|l| Lang::parse(&l)).unwrap_or(Lang::of_country(self.config.country))
    }

    /// A feature code's confirmation ended: release the phone (it hears
    /// the release tone until it hangs up).
    pub(crate) fn feature_media_done(&mut self, ch: ChannelId, id: u32) -> bool {
        if self.feature_plays.get(&ch) != Some(&id) {
            return false;
        }
        self.feature_plays.remove(&ch);
        if let Some(c) = self.chans.get_mut(ch.index()) {
            c.media = Media::None;
        }
        if self.chan(ch).is_some_and(|c| c.call.is_none() && c.status == ChannelStatus::Talking) {
            self.line(ch, LineCommand::Hangup);
            self.set_status(ch, ChannelStatus::Releasing);
        }
        true
    }
}
