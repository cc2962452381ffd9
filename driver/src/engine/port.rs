//! One channel's media port in the engine: what it plays (and for whom),
//! its recorder tap, echo flag, line state machine and detectors.

use crate::dsp::cid::CallerIdGenerator;
use crate::dsp::cid_dtmf::DtmfCidGenerator;
use crate::dsp::dtmf::DtmfGenerator;
use crate::dsp::tonegen::ToneGenerator;
use crate::hal::Law;
use crate::media::detectors::Detectors;
use crate::media::player::{PlayStatus, Player};
use crate::media::recorder::RecordTap;
use crate::signaling::analog::MediaToken;

use super::api::{ChannelSetup, MediaKind};

/// Who started what a channel plays: its end is reported to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The slow side, with its id.
    Daemon(u32),
    /// The channel's line state machine, with its token.
    Line(MediaToken),
}

/// What the channel plays itself.
#[derive(Debug)]
pub(crate) enum Source {
    Idle,
    Play(Player),
    Tone(ToneGenerator),
    Dtmf(DtmfGenerator),
    CidFsk(CallerIdGenerator),
    CidDtmf(DtmfCidGenerator),
}

impl Source {
    pub(crate) fn kind(&self) -> MediaKind {
        match self {
            Source::Idle | Source::Play(_) => MediaKind::Play,
            Source::Tone(_) => MediaKind::Tone,
            Source::Dtmf(_) => MediaKind::Dtmf,
            Source::CidFsk(_) | Source::CidDtmf(_) => MediaKind::CallerId,
        }
    }

    /// Fill `out` (silence after the end); returns whether the source has
    /// ended.
    pub(crate) fn fill(&mut self, out: &mut [i16]) -> bool {
        let (written, done) = match self {
            Source::Idle => (0, false),
            Source::Play(p) => {
                return matches!(p.fill(out), PlayStatus::Finished { .. });
            }
            Source::Tone(t) => {
                let w = t.tx(out);
                (w, t.is_done())
            }
            Source::Dtmf(d) => {
                let w = d.tx(out);
                (w, d.is_idle())
            }
            Source::CidFsk(g) => {
                let w = g.tx(out);
                (w, g.is_done())
            }
            Source::CidDtmf(g) => {
                let w = g.tx(out);
                (w, g.is_done())
            }
        };
        out[written..].fill(0);
        done
    }
}

/// Per-channel media state.
#[derive(Debug)]
pub(crate) struct Port {
    pub law: Law,
    pub audio: bool,
    pub source: Source,
    pub owner: Owner,
    pub record: Option<RecordTap>,
    pub echo: bool,
    pub setup: Box<ChannelSetup>,
    /// Detectors the slow side asked for.
    pub daemon_detectors: Detectors,
    /// Detectors the line asked for.
    pub line_detectors: Detectors,
}

/// Either set's detectors.
pub(crate) fn union(a: Detectors, b: Detectors) -> Detectors {
    Detectors {
        dtmf: a.dtmf || b.dtmf,
        tones: a.tones || b.tones,
        cid_fsk: a.cid_fsk || b.cid_fsk,
        cid_dtmf: a.cid_dtmf || b.cid_dtmf,
        fax: a.fax || b.fax,
        vad: a.vad || b.vad,
    }
}

/// Whether any detector is on.
pub(crate) fn any(d: Detectors) -> bool {
    d.dtmf || d.tones || d.cid_fsk || d.cid_dtmf || d.fax || d.vad
}
