//! English (US voice; British "and" for IVR clarity: one hundred and one,
//! one thousand and ten, one million and five).
//!
//! Names: `num/0`–`num/19`, `num/20`–`num/90` (tens), `num/hundred`,
//! `num/thousand`, `num/million`, `num/billion`; ordinals the same under
//! `ord/` (twenty-first = `num/20` `ord/1`); `word/and`, `word/minus`,
//! `word/point`, `word/oh` (2:05 "two oh five", 1905 "nineteen oh five"),
//! `word/am`, `word/pm`; units singular and plural (`unit/dollar`,
//! `unit/dollars`); yuan and fen have one form.

use super::{Amount, Currency, Date, Decimal, Span, TimeOfDay};

const SCALES: [(u64, &str); 3] = [(1_000_000_000, "billion"), (1_000_000, "million"), (1_000, "thousand")];

/// 1–99.
fn below_hundred(n: u64, out: &mut Vec<String>) {
    if n < 20 {
        out.push(format!("num/{n}"));
    } else {
        out.push(format!("num/{}", n / 10 * 10));
        if n % 10 != 0 {
            out.push(format!("num/{}", n % 10));
        }
    }
}

/// 1–999.
fn below_thousand(n: u64, out: &mut Vec<String>) {
    let (hundreds, rest) = (n / 100, n % 100);
    if hundreds > 0 {
        out.push(format!("num/{hundreds}"));
        out.push("num/hundred".into());
        if rest > 0 {
            out.push("word/and".into());
        }
    }
    if rest > 0 {
        below_hundred(rest, out);
    }
}

/// 0 – 999 999 999 999.
fn cardinal(n: u64, out: &mut Vec<String>) {
    if n == 0 {
        out.push("num/0".into());
        return;
    }
    let mut said_higher = false;
    for (scale, name) in SCALES {
        let group = n / scale % 1000;
        if group > 0 {
            below_thousand(group, out);
            out.push(format!("num/{name}"));
            said_higher = true;
        }
    }
    let units = n % 1000;
    if units > 0 {
        if said_higher && units < 100 {
            out.push("word/and".into());
        }
        below_thousand(units, out);
    }
}

pub(super) fn number(d: &Decimal) -> Vec<String> {
    let mut out = Vec::new();
    if d.negative {
        out.push("word/minus".into());
    }
    cardinal(d.whole, &mut out);
    if !d.fraction.is_empty() {
        out.push("word/point".into());
        out.extend(d.fraction.iter().map(|x| format!("num/{x}")));
    }
    out
}

pub(super) fn digits(d: &[u8]) -> Vec<String> {
    d.iter().map(|x| format!("num/{x}")).collect()
}

/// A count with its unit, singular for exactly one.
fn counted(n: u64, singular: &str, plural: &str, out: &mut Vec<String>) {
    cardinal(n, out);
    out.push(format!("unit/{}", if n == 1 { singular } else { plural }));
}

pub(super) fn money(a: &Amount, currency: Currency) -> Vec<String> {
    let (major, majors, minor, minors) = match currency {
        Currency::Usd => ("dollar", "dollars", "cent", "cents"),
        Currency::Cny => ("yuan", "yuan", "fen", "fen"),
        Currency::Rub => ("ruble", "rubles", "kopeck", "kopecks"),
    };
    let mut out = Vec::new();
    if a.negative {
        out.push("word/minus".into());
    }
    if a.major > 0 || a.minor == 0 {
        counted(a.major, major, majors, &mut out);
        if a.minor > 0 {
            out.push("word/and".into());
        }
    }
    if a.minor > 0 {
        counted(a.minor, minor, minors, &mut out);
    }
    out
}

/// Years in pairs (nineteen ninety-nine, twenty twenty-six, nineteen oh
/// five, nineteen hundred), except the first ten of a millennium and years
/// before 1000, said as numbers (two thousand, two thousand and five).
fn year(y: u64, out: &mut Vec<String>) {
    if y < 1000 || y % 1000 < 10 {
        cardinal(y, out);
        return;
    }
    let (high, low) = (y / 100, y % 100);
    below_hundred(high, out);
    match low {
        0 => out.push("num/hundred".into()),
        1..=9 => {
            out.push("word/oh".into());
            out.push(format!("num/{low}"));
        }
        _ => below_hundred(low, out),
    }
}

pub(super) fn date(d: &Date) -> Vec<String> {
    let mut out = vec![format!("day/{}", d.weekday.name()), format!("month/{}", d.month)];
    out.extend(ordinal(u64::from(d.day)));
    year(u64::from(d.year), &mut out);
    out
}

pub(super) fn time(t: &TimeOfDay) -> Vec<String> {
    let mut out = Vec::new();
    let hour12 = match t.hour % 12 {
        0 => 12,
        h => h,
    };
    cardinal(u64::from(hour12), &mut out);
    match t.minute {
        0 => {}
        1..=9 => {
            out.push("word/oh".into());
            out.push(format!("num/{}", t.minute));
        }
        m => below_hundred(u64::from(m), &mut out),
    }
    out.push(if t.hour < 12 { "word/am" } else { "word/pm" }.into());
    if t.second > 0 {
        out.push("word/and".into());
        counted(u64::from(t.second), "second", "seconds", &mut out);
    }
    out
}

pub(super) fn duration(s: &Span) -> Vec<String> {
    let mut out = Vec::new();
    if s.hours > 0 {
        counted(s.hours, "hour", "hours", &mut out);
    }
    if s.minutes > 0 {
        counted(s.minutes, "minute", "minutes", &mut out);
    }
    if s.seconds > 0 || out.is_empty() {
        counted(s.seconds, "second", "seconds", &mut out);
    }
    out
}

/// The cardinal with its last word made ordinal (one hundred and first,
/// one thousandth, zeroth).
pub(super) fn ordinal(n: u64) -> Vec<String> {
    let mut out = Vec::new();
    cardinal(n, &mut out);
    if let Some(last) = out.last_mut() {
        *last = last.replacen("num/", "ord/", 1);
    }
    out
}

pub(super) fn vocabulary() -> Vec<String> {
    let mut v = Vec::new();
    let words: Vec<String> = (0..20)
        .chain((20..100).step_by(10))
        .map(|n| n.to_string())
        .chain(["hundred", "thousand", "million", "billion"].map(String::from))
        .collect();
    for w in &words {
        v.push(format!("num/{w}"));
        v.push(format!("ord/{w}"));
    }
    v.extend(["and", "minus", "point", "oh", "am", "pm"].map(|w| format!("word/{w}")));
    v.extend(
        [
            "dollar", "dollars", "cent", "cents", "yuan", "fen", "ruble", "rubles", "kopeck", "kopecks", "hour",
            "hours", "minute", "minutes", "second", "seconds",
        ]
        .map(|w| format!("unit/{w}")),
    );
    v
}
