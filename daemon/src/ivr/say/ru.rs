//! Russian.
//!
//! A noun after a number takes the form its last two digits ask for
//! ([`Plural`]): 1, 21, 101 → рубль; 2–4, 22–24 → рубля; 0, 5–20, 25–30,
//! 111–114 → рублей. The last 1 or 2 of a number agrees with the noun's
//! gender (одна копейка, две минуты, одно): the thousands are feminine
//! (одна тысяча, две тысячи), millions and billions masculine. Decimals are
//! read as fractions (три целых двадцать пять сотых). Ordinals are
//! nominative by gender, plus the genitive for years (две тысячи двадцать
//! шестого года); a round ordinal of thousands, millions or billions is one
//! compound word made of `ordstem/` prefixes (двух|тысячный,
//! двадцати|одно|тысячный).
//!
//! Names: `num/0`–`num/19`, `num/20`–`num/90`, `num/100`–`num/900`,
//! `num/1-f` одна, `num/1-n` одно, `num/2-f` две, `num/thousand-1|2|5`,
//! `num/million-1|2|5`, `num/billion-1|2|5`, `word/minus`,
//! `word/whole-1|n` целая, целых, `frac/<10^k>-1|n` (десятая, десятых …
//! миллионных), `ord/<m|f|n|g>/<n>` for 0–19, tens, hundreds, 1000,
//! 1000000, 1000000000, `ordstem/<n>` (одно, двух, …, девятисот),
//! `unit/<rub|kop|usd|cent|cny|fen|hour|minute|second>-1|2|5`,
//! `unit/year-gen` года, `month/<m>` in the genitive (ноября), `day/<d>`.

use super::{Amount, Currency, Date, Decimal, Span, TimeOfDay};
use crate::ivr::flow::Gender;

/// The noun form a count asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plural {
    /// Ends in 1 but not 11: рубль, минута.
    One,
    /// Ends in 2–4 but not 12–14: рубля, минуты.
    Few,
    /// Anything else: рублей, минут.
    Many,
}

impl Plural {
    fn of(n: u64) -> Plural {
        match (n % 10, n % 100) {
            (_, 11..=14) => Plural::Many,
            (1, _) => Plural::One,
            (2..=4, _) => Plural::Few,
            _ => Plural::Many,
        }
    }

    /// The name suffix: `-1`, `-2`, `-5`.
    fn suffix(self) -> &'static str {
        match self {
            Plural::One => "1",
            Plural::Few => "2",
            Plural::Many => "5",
        }
    }
}

/// `unit/<stem>-1|2|5` for `n`.
fn noun(stem: &str, n: u64) -> String {
    format!("{stem}-{}", Plural::of(n).suffix())
}

/// 1–999 with the last 1 or 2 in `gender`.
fn below_thousand(n: u64, gender: Gender, out: &mut Vec<String>) {
    let (hundreds, rest) = (n / 100, n % 100);
    if hundreds > 0 {
        out.push(format!("num/{}", hundreds * 100));
    }
    if (10..20).contains(&rest) {
        out.push(format!("num/{rest}"));
        return;
    }
    if rest >= 20 {
        out.push(format!("num/{}", rest / 10 * 10));
    }
    let units = rest % 10;
    let name = match (units, gender) {
        (0, _) => return,
        (1, Gender::Feminine) => "num/1-f".to_string(),
        (1, Gender::Neuter) => "num/1-n".to_string(),
        (2, Gender::Feminine) => "num/2-f".to_string(),
        (u, _) => format!("num/{u}"),
    };
    out.push(name);
}

/// The groups above the units: value, name stem, gender.
const SCALES: [(u64, &str, Gender); 3] = [
    (1_000_000_000, "billion", Gender::Masculine),
    (1_000_000, "million", Gender::Masculine),
    (1_000, "thousand", Gender::Feminine),
];

/// Cardinal words for the groups of `n` at or above `lowest_scale`
/// (1 for all of them), the units group agreeing with `gender`.
fn groups_from(n: u64, lowest_scale: u64, gender: Gender, out: &mut Vec<String>) {
    for (scale, name, g) in SCALES {
        let group = n / scale % 1000;
        if scale >= lowest_scale && group > 0 {
            below_thousand(group, g, out);
            out.push(format!("num/{}", noun(name, group)));
        }
    }
    if lowest_scale == 1 && n % 1000 > 0 {
        below_thousand(n % 1000, gender, out);
    }
}

/// 0 – 999 999 999 999.
fn cardinal(n: u64, gender: Gender, out: &mut Vec<String>) {
    if n == 0 {
        out.push("num/0".into());
    } else {
        groups_from(n, 1, gender, out);
    }
}

/// An integer (in `gender`), or a fraction: три целых двадцать пять сотых.
pub(super) fn number(d: &Decimal, gender: Gender) -> Vec<String> {
    let mut out = Vec::new();
    if d.negative {
        out.push("word/minus".into());
    }
    if d.fraction.is_empty() {
        cardinal(d.whole, gender, &mut out);
        return out;
    }
    let one_or_n = |n: u64| if Plural::of(n) == Plural::One { "1" } else { "n" };
    cardinal(d.whole, Gender::Feminine, &mut out);
    out.push(format!("word/whole-{}", one_or_n(d.whole)));
    let numerator = d.fraction_value();
    cardinal(numerator, Gender::Feminine, &mut out);
    out.push(format!("frac/{}-{}", 10u64.pow(d.fraction.len() as u32), one_or_n(numerator)));
    out
}

pub(super) fn digits(d: &[u8]) -> Vec<String> {
    d.iter().map(|x| format!("num/{x}")).collect()
}

/// A count and its noun: `stem` is the `unit/` name without the suffix.
fn counted(n: u64, gender: Gender, stem: &str, out: &mut Vec<String>) {
    cardinal(n, gender, out);
    out.push(format!("unit/{}", noun(stem, n)));
}

pub(super) fn money(a: &Amount, currency: Currency) -> Vec<String> {
    let (major, minor, minor_gender) = match currency {
        Currency::Rub => ("rub", "kop", Gender::Feminine),
        Currency::Usd => ("usd", "cent", Gender::Masculine),
        Currency::Cny => ("cny", "fen", Gender::Masculine),
    };
    let mut out = Vec::new();
    if a.negative {
        out.push("word/minus".into());
    }
    if a.major > 0 || a.minor == 0 {
        counted(a.major, Gender::Masculine, major, &mut out);
    }
    if a.minor > 0 {
        counted(a.minor, minor_gender, minor, &mut out);
    }
    out
}

/// The form of an ordinal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrdForm {
    Masculine,
    Feminine,
    Neuter,
    /// Genitive masculine/neuter (года, числа).
    Genitive,
}

impl OrdForm {
    fn dir(self) -> &'static str {
        match self {
            OrdForm::Masculine => "m",
            OrdForm::Feminine => "f",
            OrdForm::Neuter => "n",
            OrdForm::Genitive => "g",
        }
    }
}

/// The compound prefix of 1–999 (двадцати|одно, двух|сот … as in
/// двадцатиоднотысячный).
fn stems(n: u64, out: &mut Vec<String>) {
    let (hundreds, rest) = (n / 100, n % 100);
    if hundreds > 0 {
        out.push(format!("ordstem/{}", hundreds * 100));
    }
    if (10..20).contains(&rest) {
        out.push(format!("ordstem/{rest}"));
        return;
    }
    if rest >= 20 {
        out.push(format!("ordstem/{}", rest / 10 * 10));
    }
    if rest % 10 > 0 {
        out.push(format!("ordstem/{}", rest % 10));
    }
}

/// Cardinal words up to the last spoken part, which is ordinal (сто
/// двадцать первый, две тысячи сотый, двухтысячный, нулевой).
fn ordinal_words(n: u64, form: OrdForm, out: &mut Vec<String>) {
    let f = form.dir();
    if n == 0 {
        out.push(format!("ord/{f}/0"));
        return;
    }
    let units = n % 1000;
    if units == 0 {
        // Ends in a round thousand, million or billion: one compound word.
        // The lowest non-zero group (there is one: n > 0).
        for &(scale, _, _) in SCALES.iter().rev() {
            let group = n / scale % 1000;
            if group > 0 {
                groups_from(n, scale * 1000, Gender::Masculine, out);
                if group > 1 {
                    stems(group, out);
                }
                out.push(format!("ord/{f}/{scale}"));
                return;
            }
        }
    }
    groups_from(n, 1000, Gender::Masculine, out);
    let (hundreds, rest) = (units / 100, units % 100);
    if rest == 0 {
        out.push(format!("ord/{f}/{}", hundreds * 100));
        return;
    }
    if hundreds > 0 {
        out.push(format!("num/{}", hundreds * 100));
    }
    if (10..20).contains(&rest) || rest % 10 == 0 {
        out.push(format!("ord/{f}/{rest}"));
        return;
    }
    if rest >= 20 {
        out.push(format!("num/{}", rest / 10 * 10));
    }
    out.push(format!("ord/{f}/{}", rest % 10));
}

pub(super) fn ordinal(n: u64, gender: Gender) -> Vec<String> {
    let form = match gender {
        Gender::Masculine => OrdForm::Masculine,
        Gender::Feminine => OrdForm::Feminine,
        Gender::Neuter => OrdForm::Neuter,
    };
    let mut out = Vec::new();
    ordinal_words(n, form, &mut out);
    out
}

/// суббота, двадцать первое ноября две тысячи двадцать шестого года.
pub(super) fn date(d: &Date) -> Vec<String> {
    let mut out = vec![format!("day/{}", d.weekday.name())];
    ordinal_words(u64::from(d.day), OrdForm::Neuter, &mut out);
    out.push(format!("month/{}", d.month));
    ordinal_words(u64::from(d.year), OrdForm::Genitive, &mut out);
    out.push("unit/year-gen".into());
    out
}

/// четырнадцать часов пять минут; a full hour without minutes.
pub(super) fn time(t: &TimeOfDay) -> Vec<String> {
    let mut out = Vec::new();
    counted(u64::from(t.hour), Gender::Masculine, "hour", &mut out);
    if t.minute > 0 || t.second > 0 {
        counted(u64::from(t.minute), Gender::Feminine, "minute", &mut out);
    }
    if t.second > 0 {
        counted(u64::from(t.second), Gender::Feminine, "second", &mut out);
    }
    out
}

pub(super) fn duration(s: &Span) -> Vec<String> {
    let mut out = Vec::new();
    if s.hours > 0 {
        counted(s.hours, Gender::Masculine, "hour", &mut out);
    }
    if s.minutes > 0 {
        counted(s.minutes, Gender::Feminine, "minute", &mut out);
    }
    if s.seconds > 0 || out.is_empty() {
        counted(s.seconds, Gender::Feminine, "second", &mut out);
    }
    out
}

pub(super) fn vocabulary() -> Vec<String> {
    let mut v = Vec::new();
    let basic: Vec<u64> = (0..20).chain((20..100).step_by(10)).chain((100..1000).step_by(100)).collect();
    v.extend(basic.iter().map(|n| format!("num/{n}")));
    v.extend(["num/1-f", "num/1-n", "num/2-f"].map(String::from));
    for stem in ["thousand", "million", "billion"] {
        v.extend(["1", "2", "5"].map(|s| format!("num/{stem}-{s}")));
    }
    v.push("word/minus".into());
    v.extend(["word/whole-1", "word/whole-n"].map(String::from));
    for k in 1..=super::MAX_FRACTION_DIGITS as u32 {
        v.extend(["1", "n"].map(|s| format!("frac/{}-{s}", 10u64.pow(k))));
    }
    for form in [OrdForm::Masculine, OrdForm::Feminine, OrdForm::Neuter] {
        let f = form.dir();
        v.extend(basic.iter().map(|n| format!("ord/{f}/{n}")));
        v.extend([1_000u64, 1_000_000, 1_000_000_000].map(|n| format!("ord/{f}/{n}")));
    }
    // The genitive is for years (1–9999) only.
    v.extend(basic.iter().filter(|&&n| n > 0).map(|n| format!("ord/g/{n}")));
    v.push("ord/g/1000".into());
    v.extend(basic.iter().filter(|&&n| n > 0).map(|n| format!("ordstem/{n}")));
    for stem in ["rub", "kop", "usd", "cent", "cny", "fen", "hour", "minute", "second"] {
        v.extend(["1", "2", "5"].map(|s| format!("unit/{stem}-{s}")));
    }
    v.push("unit/year-gen".into());
    v
}
