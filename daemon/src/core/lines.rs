//! Line state machine settings for each configured channel, from the
//! config: FXO trunk lines and FXS extension phones.

use ctibox_driver::dsp::cid::CidStandard;
use ctibox_driver::engine::ChannelSetup;
use ctibox_driver::engine::{EngineConfig, channel_setup};
use ctibox_driver::signaling::analog::{AnalogLine, ConfigError as LineConfigError};
use ctibox_driver::signaling::fxo::{CidReceive, DialToneWait, FxoConfig};
use ctibox_driver::signaling::fxs::{CidSend, FxsConfig};

use crate::config::{CallerIdMode, Config, Extension, Trunk};

/// FXO settings for a trunk's lines. Inbound calls are answered by the core
/// when their destination answers (so the caller pays for no unanswered
/// call), not after a number of rings.
pub fn fxo_config(config: &Config, trunk: &Trunk) -> FxoConfig {
    let mut c = FxoConfig::for_country(config.country);
    c.caller_id = match trunk.caller_id {
        CallerIdMode::Auto => c.caller_id,
        CallerIdMode::Bell202 | CallerIdMode::V23 => CidReceive::FskAfterFirstRing,
        CallerIdMode::Dtmf => CidReceive::DtmfBeforeRing,
        CallerIdMode::None => CidReceive::None,
    };
    c.answer_rings = 0;
    c.answer_on_caller_id = false;
    c.disconnect.loop_current = trunk.disconnect.loop_drop;
    c.disconnect.busy_tone = trunk.disconnect.busy_tone;
    c.disconnect.congestion_tone = trunk.disconnect.busy_tone;
    c.disconnect.polarity = trunk.disconnect.polarity;
    c.disconnect.silence_ms = trunk.disconnect.silence_ms.map(|ms| ms.min(u32::MAX as u64) as u32);
    if let Some(ms) = trunk.blind_dial_ms {
        c.dial_tone = DialToneWait::Blind { delay_ms: ms.min(u32::MAX as u64) as u32 };
    }
    c
}

/// The FSK standard a trunk's caller ID arrives in.
pub fn trunk_cid_standard(config: &Config, trunk: &Trunk) -> CidStandard {
    match trunk.caller_id {
        CallerIdMode::Bell202 => CidStandard::Bell202,
        CallerIdMode::V23 => CidStandard::V23,
        _ => ctibox_driver::engine::default_cid_standard(config.country),
    }
}

/// FXS settings for an extension's phone: the dial plan's digit map and
/// timers, the country's ring cadence and caller ID (unless the extension
/// turns caller ID off).
pub fn fxs_config(config: &Config, ext: &Extension) -> FxsConfig {
    let mut c = FxsConfig::for_country(config.country);
    c.digit_map = config.dial_plan.digit_map.clone();
    c.first_digit_ms = config.dial_plan.first_digit_ms.min(u32::MAX as u64) as u32;
    c.inter_digit_ms = config.dial_plan.interdigit_ms.min(u32::MAX as u64) as u32;
    if !ext.caller_id {
        c.caller_id = CidSend::None;
    }
    c.release.loop_open_ms = ext.release_loop_open_ms;
    c
}

/// The engine setup of every configured channel (built off the real-time
/// path). Errors name the channel and the setting.
pub fn setups(
    config: &Config,
    engine: &EngineConfig,
) -> Result<Vec<(ctibox_driver::hal::ChannelId, Box<ChannelSetup>)>, String> {
    let mut out = Vec::new();
    for t in &config.trunks {
        for &ch in &t.channels {
            let line = AnalogLine::fxo(ch, fxo_config(config, t))
                .map_err(|e: LineConfigError| format!("trunk `{}` channel {ch}: {e}", t.name))?;
            let mut ec = engine.clone();
            ec.cid_standard = trunk_cid_standard(config, t);
            out.push((ch, channel_setup(&ec, Some(line))));
        }
    }
    for e in &config.extensions {
        let line = AnalogLine::fxs(e.channel, fxs_config(config, e))
            .map_err(|err: LineConfigError| format!("extension {} channel {}: {err}", e.number, e.channel))?;
        out.push((e.channel, channel_setup(engine, Some(line))));
    }
    Ok(out)
}
