//! Caller ID against an independent implementation: spandsp's ADSI module
//! (libspandsp-dev) decodes what our generators send, and our receivers
//! decode what spandsp's generators send, for Bell 202 (CLASS SDMF, MDMF,
//! message waiting), ETSI V.23 (CLIP call set-up, message waiting, with and
//! without DT-AS) and every DTMF variant.
//!
//! The witness is `tests/witness/spandsp_adsi.c`, compiled on first use; a
//! missing spandsp fails the test, naming the package.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use ctibox_driver::dsp::cid::{
    Absence, CallType, CallerId, CallerIdGenerator, CallerIdReceiver, CidEvent, CidMessage, CidStandard, CidText,
    CidTxConfig, DateTime, MessageWaiting,
};
use ctibox_driver::dsp::cid_dtmf::{DtmfCidEvent, DtmfCidFormat, DtmfCidGenerator, DtmfCidReceiver, DtmfCidRxConfig};
use ctibox_driver::dsp::dtmf::DtmfTxConfig;
use support::Scorecard;

fn witness() -> PathBuf {
    // Built once per test binary: `build_c_witness` names its temporary file
    // by process id only, so parallel tests must not build at the same time.
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| support::build_c_witness("spandsp_adsi.c", &["spandsp", "m"], "libspandsp-dev")).clone()
}

fn std_name(s: CidStandard) -> &'static str {
    match s {
        CidStandard::Bell202 => "class",
        CidStandard::V23 => "clip",
    }
}

/// Messages spandsp's adsi_rx finds in `samples` (FSK: without checksum).
fn spandsp_rx(standard: &str, samples: &[i16]) -> Vec<Vec<u8>> {
    let dir = support::tempfile_dir();
    let f = dir.join("in.raw");
    support::write_raw_s16(&f, samples);
    let out = support::run(Command::new(witness()).args(["rx", standard]).arg(&f));
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("MSG"))
        .map(|hex| hex.split_whitespace().map(|h| u8::from_str_radix(h, 16).expect("hex octet")).collect())
        .collect()
}

/// Audio from spandsp's adsi_tx for a message built with adsi_add_field.
fn spandsp_tx(standard: &str, msg_type: u8, fields: &[(u8, &[u8])]) -> Vec<i16> {
    let dir = support::tempfile_dir();
    let f = dir.join("out.raw");
    let mut cmd = Command::new(witness());
    cmd.args(["tx", standard]).arg(&f).arg(format!("{msg_type:x}"));
    for (t, body) in fields {
        let hex: String = body.iter().map(|b| format!("{b:02x}")).collect();
        cmd.arg(format!("{t:x}:{hex}"));
    }
    support::run(&mut cmd);
    let s = support::read_raw_s16(&f);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(s.len() > 3200, "spandsp produced only {} samples", s.len());
    s
}

fn ours_tx(config: &CidTxConfig, message: &CidMessage) -> (Vec<i16>, Vec<u8>) {
    let mut g = CallerIdGenerator::new(config, message).unwrap();
    let mut sig = vec![0i16; 1600];
    let mut buf = vec![0i16; g.total_samples() as usize];
    assert_eq!(g.tx(&mut buf), buf.len());
    sig.extend(buf);
    sig.extend(vec![0i16; 1600]);
    (sig, message.to_raw().unwrap().as_bytes().to_vec())
}

fn ours_rx(standard: CidStandard, samples: &[i16]) -> Vec<CidEvent> {
    let mut rx = CallerIdReceiver::new(standard);
    let mut ev = Vec::new();
    for c in samples.chunks(160) {
        rx.rx(c, &mut ev);
    }
    ev
}

fn dt(month: u8, day: u8, hour: u8, minute: u8) -> Option<DateTime> {
    Some(DateTime { month, day, hour, minute })
}

fn text<const N: usize>(s: &str) -> Option<CidText<N>> {
    Some(CidText::new(s.as_bytes()).unwrap())
}

/// The FSK cases: standard, message, and the same message as spandsp
/// fields (type 0 = raw SDMF body).
/// Fields the witness must report: (parameter type, value).
type Fields = Vec<(u8, &'static [u8])>;

fn fsk_cases() -> Vec<(&'static str, CidStandard, CidMessage, u8, Fields)> {
    let bell_mdmf = CallerId {
        date_time: dt(3, 24, 9, 30),
        number: text("5551212345"),
        name: text("JOHN DOE"),
        ..Default::default()
    };
    let bell_private = CallerId {
        date_time: dt(11, 28, 15, 30),
        number_absence: Some(Absence::Private),
        name_absence: Some(Absence::Unavailable),
        ..Default::default()
    };
    let etsi = CallerId {
        date_time: dt(12, 31, 23, 59),
        number: text("4930123456789"),
        name: text("Max Mustermann"),
        redirecting_number: text("493099999"),
        call_type: Some(CallType::Voice),
        ..Default::default()
    };
    vec![
        (
            "Bell 202 SDMF",
            CidStandard::Bell202,
            CidMessage::SdmfCallerId(CallerId {
                date_time: dt(9, 30, 12, 24),
                number: text("6095551212"),
                ..Default::default()
            }),
            0x04,
            vec![(0, b"093012246095551212")],
        ),
        (
            "Bell 202 SDMF private",
            CidStandard::Bell202,
            CidMessage::SdmfCallerId(CallerId {
                date_time: dt(1, 2, 3, 4),
                number_absence: Some(Absence::Private),
                ..Default::default()
            }),
            0x04,
            vec![(0, b"01020304P")],
        ),
        (
            "Bell 202 MDMF",
            CidStandard::Bell202,
            CidMessage::MdmfCallerId(bell_mdmf),
            0x80,
            vec![(1, b"03240930"), (2, b"5551212345"), (7, b"JOHN DOE")],
        ),
        (
            "Bell 202 MDMF withheld",
            CidStandard::Bell202,
            CidMessage::MdmfCallerId(bell_private),
            0x80,
            vec![(1, b"11281530"), (4, b"P"), (8, b"O")],
        ),
        (
            "Bell 202 SDMF message waiting",
            CidStandard::Bell202,
            CidMessage::SdmfMessageWaiting(MessageWaiting { active: true, ..Default::default() }),
            0x06,
            vec![(0, b"BBB")],
        ),
        (
            "V.23 call set-up",
            CidStandard::V23,
            CidMessage::MdmfCallerId(etsi),
            0x80,
            vec![
                (1, b"12312359"),
                (2, b"4930123456789"),
                (7, b"Max Mustermann"),
                (0x1A, b"493099999"),
                (0x11, b"\x01"),
            ],
        ),
        (
            "V.23 message waiting",
            CidStandard::V23,
            CidMessage::MdmfMessageWaiting(MessageWaiting { active: false, count: None, date_time: dt(6, 1, 8, 0) }),
            0x82,
            vec![(1, b"06010800"), (0x0B, b"\x00")],
        ),
    ]
}

#[test]
fn spandsp_decodes_our_fsk_caller_id() {
    let mut card = Scorecard::new("our FSK caller-ID generator -> spandsp adsi_rx");
    for (name, standard, message, _, _) in fsk_cases() {
        let mut configs = vec![(name.to_string(), CidTxConfig::new(standard))];
        if standard == CidStandard::V23 {
            configs.push((format!("{name} + DT-AS"), CidTxConfig::etsi_dtas()));
        }
        configs.push((
            format!("{name}, 80 marks, -20 dBm0"),
            CidTxConfig { mark_bits: 80, level_dbm0: -20.0, ..CidTxConfig::new(standard) },
        ));
        for (label, config) in configs {
            let (sig, wire) = ours_tx(&config, &message);
            let got = spandsp_rx(std_name(standard), &sig);
            let ok = got.len() == 1 && got[0] == wire[..wire.len() - 1];
            if !ok {
                println!("{label}: sent {wire:02X?}, spandsp got {got:02X?}");
            }
            card.row(label, ok as usize, 1);
        }
    }
    assert!(card.print(), "spandsp did not decode every message we sent");
}

#[test]
fn we_decode_spandsp_fsk_caller_id() {
    let mut card = Scorecard::new("spandsp adsi_tx -> our FSK caller-ID receiver");
    for (name, standard, message, msg_type, fields) in fsk_cases() {
        let sig = spandsp_tx(std_name(standard), msg_type, &fields);
        let ev = ours_rx(standard, &sig);
        let want = message.to_raw().unwrap();
        let ok = match &ev[..] {
            [CidEvent::Message { message: got, raw, .. }] => {
                // Same meaning and, as the fields are in our order, the same octets.
                *got == message && raw.as_bytes() == want.as_bytes()
            }
            _ => false,
        };
        if !ok {
            println!("{name}: want {message:?}\n got {ev:?}");
        }
        card.row(name, ok as usize, 1);
    }
    assert!(card.print(), "we did not decode every spandsp message");
}

fn dtmf_cases() -> Vec<(&'static str, DtmfCidFormat, CallerId, u8, Fields)> {
    let num = |n: &str| CallerId::with_number(n).unwrap();
    let absent = |a| CallerId { number_absence: Some(a), ..Default::default() };
    vec![
        ("variant 1 A<n>C", DtmfCidFormat::StartAEndC, num("0123456789"), b'C', vec![(b'A', b"0123456789")]),
        (
            "variant 1 A<n>D<r>C",
            DtmfCidFormat::StartAEndC,
            CallerId { redirecting_number: text("5556677"), ..num("0201234567") },
            b'C',
            vec![(b'A', b"0201234567"), (b'D', b"5556677")],
        ),
        ("variant 1 B10C restricted", DtmfCidFormat::StartAEndC, absent(Absence::Private), b'C', vec![(b'B', b"10")]),
        (
            "variant 1 B00C unavailable",
            DtmfCidFormat::StartAEndC,
            absent(Absence::Unavailable),
            b'C',
            vec![(b'B', b"00")],
        ),
        ("variant 2 A<n>#", DtmfCidFormat::StartAEndHash, num("4512345678"), b'#', vec![(b'A', b"4512345678")]),
        ("variant 2 D1# restricted", DtmfCidFormat::StartAEndHash, absent(Absence::Private), b'#', vec![(b'D', b"1")]),
        (
            "variant 2 D2# international",
            DtmfCidFormat::StartAEndHash,
            absent(Absence::International),
            b'#',
            vec![(b'D', b"2")],
        ),
        (
            "variant 2 D3# unavailable",
            DtmfCidFormat::StartAEndHash,
            absent(Absence::Unavailable),
            b'#',
            vec![(b'D', b"3")],
        ),
        ("variant 3 D<n>C", DtmfCidFormat::StartDEndC, num("886223456789"), b'C', vec![(b'D', b"886223456789")]),
        ("variant 4 <n>#", DtmfCidFormat::EndHash, num("33221100"), b'#', vec![(0, b"33221100")]),
    ]
}

fn dtmf_rx(format: DtmfCidFormat, sig: &[i16]) -> Vec<DtmfCidEvent> {
    let mut rx = DtmfCidReceiver::new(DtmfCidRxConfig { format: Some(format), ..Default::default() });
    let mut ev = Vec::new();
    for c in sig.chunks(160) {
        rx.rx(c, &mut ev);
    }
    rx.flush(&mut |e| ev.push(e));
    ev
}

#[test]
fn dtmf_caller_id_both_ways() {
    let mut card = Scorecard::new("DTMF caller ID: ours <-> spandsp (ADSI_STANDARD_CLIP_DTMF)");
    for (name, format, cid, term, fields) in dtmf_cases() {
        // Ours -> spandsp.
        let mut g = DtmfCidGenerator::new(&cid, format, DtmfTxConfig::default()).unwrap();
        let mut sig = vec![0i16; 1600];
        let mut buf = vec![0i16; g.total_samples() as usize];
        g.tx(&mut buf);
        sig.extend(buf);
        sig.extend(vec![0i16; 1600]);
        let got = spandsp_rx("clip-dtmf", &sig);
        let ok = got.len() == 1 && got[0] == g.digits().as_bytes();
        if !ok {
            println!("{name}: sent {}, spandsp got {got:?}", g.digits());
        }
        card.row(format!("ours -> spandsp: {name}"), ok as usize, 1);
        // Spandsp -> ours.
        let sig = spandsp_tx("clip-dtmf", term, &fields);
        let ev = dtmf_rx(format, &sig);
        let ok = matches!(&ev[..], [DtmfCidEvent::CallerId { caller_id, .. }] if *caller_id == cid);
        if !ok {
            println!("{name}: want {cid:?}\n got {ev:?}");
        }
        card.row(format!("spandsp -> ours: {name}"), ok as usize, 1);
    }
    assert!(card.print(), "a DTMF caller-ID format did not pass between spandsp and us");
}

#[test]
fn witness_rejects_what_it_should() {
    // The witness itself must be able to fail: a corrupted message is not
    // delivered by spandsp (its checksum check), so a passing row above is
    // a real decode.
    let message = CidMessage::SdmfCallerId(CallerId {
        date_time: dt(9, 30, 12, 24),
        number: text("6095551212"),
        ..Default::default()
    });
    let mut wire = message.to_raw().unwrap().as_bytes().to_vec();
    wire[5] ^= 0x01;
    let mut g = CallerIdGenerator::from_wire(&CidTxConfig::new(CidStandard::Bell202), &wire).unwrap();
    let mut sig = vec![0i16; g.total_samples() as usize];
    g.tx(&mut sig);
    assert!(spandsp_rx("class", &sig).is_empty());
}
