//! Say: numbers, digits, money, dates, times, durations and ordinals as
//! lists of prompt names, per language. Pure: no I/O, no clock.
//!
//! [`say`] parses the value once (the same rules in every language), then
//! the language's module (`zh.rs`, `en.rs`, `ru.rs`) turns it into words.
//! The words are prompt names: the caller plays
//! `prompts/<lang>/<name>.wav` one after the other. [`vocabulary`] lists
//! every name `say` can return for a language; [`PHRASES`] lists the
//! standard phrases every language has. The text each name stands for is in
//! `prompts/text/<lang>.toml`, the one table that `scripts/make-prompts`
//! speaks and the tests read back.
//!
//! # Prompt names
//!
//! Relative paths without extension, lowercase ASCII:
//!
//! - `num/<n>`: the cardinal word for the integer `n` (`num/0`, `num/20`,
//!   `num/900` in Russian); `num/<scale>` for scale words: English
//!   `hundred`, `thousand`, `million`, `billion`; Chinese `bai` 百, `qian` 千,
//!   `wan` 万, `yi` 亿 (亿, not 一, which is `num/1`) and `liang` 两; Russian
//!   `thousand-1|2|5`, `million-1|2|5`, `billion-1|2|5`.
//! - A suffix `-1`, `-2`, `-5` is the Russian form that goes with a count
//!   ending in 1, in 2–4, in 5–20/0 (`unit/rub-2` рубля); `-n` is the one
//!   plural form where there are only two (`word/whole-n` целых); `-f`, `-n`
//!   after a number are its feminine and neuter (`num/1-f` одна, `num/1-n`
//!   одно, `num/2-f` две).
//! - `digit/0`: Chinese 〇, the zero of digit strings and years.
//! - `ord/<n>` (English: `ord/21` does not exist, twenty-first is `num/20`
//!   `ord/1`; `ord/hundred`, `ord/thousand`, …); Russian
//!   `ord/<form>/<n>` with form `m`, `f`, `n` (nominative masculine,
//!   feminine, neuter) or `g` (genitive masculine, for years), and
//!   `ordstem/<n>` for the number prefix of compound ordinals (`ordstem/2`
//!   двух + `ord/m/1000` тысячный = двухтысячный).
//! - `frac/<10^k>-1|n`: Russian fraction names (`frac/100-n` сотых).
//! - `unit/<name>`: currencies and time units (`unit/yuan`, `unit/dollars`,
//!   `unit/minute-2`, `unit/xiaoshi` 小时).
//! - `word/<name>`: the small words (`word/and`, `word/minus`, `word/point`,
//!   `word/oh`, `word/am`, `word/pm`; Chinese `word/fu` 负, `word/dian` 点,
//!   `word/di` 第, `word/zheng` 整).
//! - `month/1` … `month/12` (Russian in the genitive: ноября; Chinese with
//!   月: 十一月), `day/mon` … `day/sun`.
//!
//! # Readings
//!
//! - Number: integers and decimals, `-` or `+` sign, at most
//!   [`MAX_SAYABLE`] and [`MAX_FRACTION_DIGITS`] digits after the point.
//!   Digits after the point are read one by one in Chinese (三点二五) and
//!   English (three point two five); Russian reads a fraction (три целых
//!   двадцать пять сотых). Chinese 两 stands for a 2 right before 百, 千,
//!   万 or 亿 (两百, 两千, 两万, 一亿零两万), 二 elsewhere (二, 二十, 十二);
//!   counted things (money, durations, the hour) say 两 for a lone 2
//!   (两元, 两分钟, 两点). English puts "and" before the tens in the British
//!   way (one hundred and one, one thousand and ten). Russian agrees a
//!   final 1 or 2 with `options.gender` (одна, две).
//! - Digits: one prompt per digit; spaces and `-` between digits are skipped.
//!   Chinese zero is 〇, one is 一 (not 幺).
//! - Money: at most 2 digits after the point. zh 十二元五角, 三元零五分;
//!   en "twelve dollars and fifty cents"; ru "двенадцать рублей пятьдесят
//!   копеек". Zero main units are left out when there are minor ones
//!   (0.50 → 五角, "fifty cents").
//! - Date `YYYY-MM-DD` (years 1–9999), with the weekday: zh
//!   二〇二六年十一月二十一日星期六; en "Saturday, November twenty-first,
//!   twenty twenty-six" (years read in pairs: nineteen oh five, nineteen
//!   hundred; but two thousand, two thousand and five); ru "суббота,
//!   двадцать первое ноября две тысячи двадцать шестого года".
//! - Time `HH:MM[:SS]`, 24-hour: zh 十四点零五分, 十四点整; en 12-hour
//!   "two oh five p m", "two p m", midnight "twelve a m"; ru "четырнадцать
//!   часов пять минут". A full hour leaves the minutes out (ru, en) or says
//!   整 (zh); zero seconds are left out, others come last ("… p m and thirty
//!   seconds").
//! - Duration: seconds (`125`) or `1h2m5s` (any of the three parts, in that
//!   order), said as hours, minutes and seconds, zero parts left out (`90s`
//!   → one minute thirty seconds; `0` → zero seconds).
//! - Ordinal: whole numbers from 0. zh 第 + number; en "one hundredth",
//!   "twenty-first"; ru by `options.gender` (первый, первая, первое).
//!
//! Not done: other currencies than CNY, USD and RUB; Russian cases other
//! than the nominative (and the genitive of years); Chinese 幺 for 1 in
//! phone numbers.

mod en;
mod ru;
mod zh;

#[cfg(test)]
mod tests;

use super::flow::{Lang, SayAs, SayOptions};

/// The largest whole number (and whole part) `say` speaks.
pub const MAX_SAYABLE: u64 = 999_999_999_999;

/// The most digits after the point a number may have.
pub const MAX_FRACTION_DIGITS: usize = 6;

/// Names of the standard phrases every language has (`prompts/<lang>/`).
pub const PHRASES: &[&str] = &[
    "welcome",
    "please-hold",
    "invalid-choice",
    "no-input",
    "goodbye",
    "transferring",
    "sorry-error",
    "all-busy",
    "you-are-number",
    "in-queue",
    "estimated-wait",
    "thank-you-waiting",
    "callback-offer",
    "callback-confirmed",
    "agent-logged-in",
    "agent-logged-out",
    "agent-ready",
    "agent-not-ready",
    "agent-login-failed",
    "campaign-sorry",
    "leave-message",
    "message-saved",
    "enter-digits",
    "closed",
    "demo/welcome",
    "demo/main-menu",
    "demo/enter-order",
    "demo/order",
    "demo/status-processing",
    "demo/status-shipped",
    "demo/status-delivered",
    "demo/status-cancelled",
    "demo/delivery-date",
    "demo/no-such-order",
    "demo/to-sales",
    "demo/to-support",
    "demo/to-operator",
];

/// Why a value cannot be said. Every message quotes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SayError {
    #[error("nothing to say: the {kind} value is empty")]
    Empty { kind: &'static str },
    #[error("`{value}` is not a number")]
    NotANumber { value: String },
    #[error("`{value}` is too large: at most 999 999 999 999")]
    TooLarge { value: String },
    #[error("`{value}`: at most {max} digits after the point")]
    TooManyDecimals { value: String, max: usize },
    #[error("`{value}` is not a whole number (0 or more) for an ordinal")]
    NotAnOrdinal { value: String },
    #[error("`{value}` is not digits: `{ch}` at character {pos}")]
    NotDigits { value: String, ch: char, pos: usize },
    #[error("`{value}` is not a date: expected YYYY-MM-DD")]
    NotADate { value: String },
    #[error("`{value}`: year 0 does not exist (years 1-9999)")]
    NoSuchYear { value: String },
    #[error("`{value}`: month {month} does not exist")]
    NoSuchMonth { value: String, month: u32 },
    #[error("`{value}`: day {day} does not exist in month {month} of {year}")]
    NoSuchDay { value: String, year: u32, month: u32, day: u32 },
    #[error("`{value}` is not a time of day: expected HH:MM or HH:MM:SS (24-hour)")]
    NotATime { value: String },
    #[error("`{value}`: {field} {got} is out of range 0-{max}")]
    TimeOutOfRange { value: String, field: &'static str, got: u32, max: u32 },
    #[error("`{value}` is not a duration: expected seconds (`125`) or hours, minutes, seconds (`1h2m5s`)")]
    NotADuration { value: String },
    #[error("unknown currency `{code}`: expected CNY, USD or RUB")]
    UnknownCurrency { code: String },
}

/// Say `value` as `kind` in `lang`: the prompt names to play, in order.
pub fn say(lang: Lang, kind: SayAs, value: &str, options: &SayOptions) -> Result<Vec<String>, SayError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(SayError::Empty { kind: kind.name() });
    }
    let gender = options.gender.unwrap_or_default();
    Ok(match kind {
        SayAs::Number => {
            let n = Decimal::parse(value, MAX_FRACTION_DIGITS)?;
            match lang {
                Lang::Zh => zh::number(&n),
                Lang::En => en::number(&n),
                Lang::Ru => ru::number(&n, gender),
            }
        }
        SayAs::Digits => {
            let d = parse_digits(value)?;
            match lang {
                Lang::Zh => zh::digits(&d),
                Lang::En => en::digits(&d),
                Lang::Ru => ru::digits(&d),
            }
        }
        SayAs::Money => {
            let currency = match &options.currency {
                Some(code) => Currency::parse(code)?,
                None => Currency::of(lang),
            };
            let a = Amount::parse(value)?;
            match lang {
                Lang::Zh => zh::money(&a, currency),
                Lang::En => en::money(&a, currency),
                Lang::Ru => ru::money(&a, currency),
            }
        }
        SayAs::Date => {
            let d = Date::parse(value)?;
            match lang {
                Lang::Zh => zh::date(&d),
                Lang::En => en::date(&d),
                Lang::Ru => ru::date(&d),
            }
        }
        SayAs::Time => {
            let t = TimeOfDay::parse(value)?;
            match lang {
                Lang::Zh => zh::time(&t),
                Lang::En => en::time(&t),
                Lang::Ru => ru::time(&t),
            }
        }
        SayAs::Duration => {
            let s = Span::parse(value)?;
            match lang {
                Lang::Zh => zh::duration(&s),
                Lang::En => en::duration(&s),
                Lang::Ru => ru::duration(&s),
            }
        }
        SayAs::Ordinal => {
            let n = parse_ordinal(value)?;
            match lang {
                Lang::Zh => zh::ordinal(n),
                Lang::En => en::ordinal(n),
                Lang::Ru => ru::ordinal(n, gender),
            }
        }
    })
}

/// Every prompt name `say` can return for `lang` (sorted, deduplicated).
pub fn vocabulary(lang: Lang) -> Vec<String> {
    let mut v = match lang {
        Lang::Zh => zh::vocabulary(),
        Lang::En => en::vocabulary(),
        Lang::Ru => ru::vocabulary(),
    };
    v.extend((1..=12).map(|m| format!("month/{m}")));
    v.extend(Weekday::ALL.iter().map(|d| format!("day/{}", d.name())));
    v.sort();
    v.dedup();
    v
}

/// A number as written: sign, whole part, the digits after the point.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decimal {
    /// Below zero (never set for a value equal to zero).
    negative: bool,
    whole: u64,
    /// Digits after the point, 0–9 each, as written (trailing zeros kept).
    fraction: Vec<u8>,
}

impl Decimal {
    fn parse(value: &str, max_fraction: usize) -> Result<Decimal, SayError> {
        let not_a_number = || SayError::NotANumber { value: value.to_string() };
        let (negative, rest) = match value.as_bytes().first() {
            Some(b'-') => (true, &value[1..]),
            Some(b'+') => (false, &value[1..]),
            _ => (false, value),
        };
        let (whole_s, fraction_s) = match rest.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (rest, None),
        };
        if whole_s.is_empty() || !whole_s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_number());
        }
        let fraction: Vec<u8> = match fraction_s {
            None => Vec::new(),
            Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => f.bytes().map(|b| b - b'0').collect(),
            Some(_) => return Err(not_a_number()),
        };
        let significant = whole_s.trim_start_matches('0');
        if significant.len() > 12 {
            return Err(SayError::TooLarge { value: value.to_string() });
        }
        let whole: u64 = if significant.is_empty() { 0 } else { significant.parse().map_err(|_| not_a_number())? };
        if whole > MAX_SAYABLE {
            return Err(SayError::TooLarge { value: value.to_string() });
        }
        if fraction.len() > max_fraction {
            return Err(SayError::TooManyDecimals { value: value.to_string(), max: max_fraction });
        }
        let zero = whole == 0 && fraction.iter().all(|&d| d == 0);
        Ok(Decimal { negative: negative && !zero, whole, fraction })
    }

    /// The digits after the point as one number (`05` → 5).
    fn fraction_value(&self) -> u64 {
        self.fraction.iter().fold(0, |acc, &d| acc * 10 + u64::from(d))
    }
}

/// An amount of money: main units and hundredths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Amount {
    negative: bool,
    major: u64,
    /// 0–99.
    minor: u64,
}

impl Amount {
    fn parse(value: &str) -> Result<Amount, SayError> {
        let d = Decimal::parse(value, MAX_FRACTION_DIGITS).map_err(|e| match e {
            SayError::TooManyDecimals { value, .. } => SayError::TooManyDecimals { value, max: 2 },
            e => e,
        })?;
        if d.fraction.len() > 2 {
            return Err(SayError::TooManyDecimals { value: value.to_string(), max: 2 });
        }
        let minor = match d.fraction.as_slice() {
            [] => 0,
            [a] => u64::from(*a) * 10,
            [a, b] => u64::from(*a) * 10 + u64::from(*b),
            _ => unreachable!("checked above: at most 2 digits"),
        };
        Ok(Amount { negative: d.negative, major: d.whole, minor })
    }
}

/// The currencies `say` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Currency {
    /// Yuan: 元, 角 (tenths), 分 (hundredths).
    Cny,
    /// Dollars and cents.
    Usd,
    /// Roubles and kopecks.
    Rub,
}

impl Currency {
    fn parse(code: &str) -> Result<Currency, SayError> {
        match code.trim().to_ascii_uppercase().as_str() {
            "CNY" | "RMB" => Ok(Currency::Cny),
            "USD" => Ok(Currency::Usd),
            "RUB" => Ok(Currency::Rub),
            _ => Err(SayError::UnknownCurrency { code: code.to_string() }),
        }
    }

    /// The language's own currency.
    fn of(lang: Lang) -> Currency {
        match lang {
            Lang::Zh => Currency::Cny,
            Lang::En => Currency::Usd,
            Lang::Ru => Currency::Rub,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    const ALL: [Weekday; 7] =
        [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

    /// The name in `day/<name>`.
    fn name(self) -> &'static str {
        match self {
            Weekday::Mon => "mon",
            Weekday::Tue => "tue",
            Weekday::Wed => "wed",
            Weekday::Thu => "thu",
            Weekday::Fri => "fri",
            Weekday::Sat => "sat",
            Weekday::Sun => "sun",
        }
    }

    /// The weekday of a valid date in the proleptic Gregorian calendar
    /// (Sakamoto's method).
    fn of(year: u32, month: u32, day: u32) -> Weekday {
        const MONTH_OFFSET: [u32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
        let y = if month < 3 { year - 1 } else { year };
        let sunday_is_0 = (y + y / 4 - y / 100 + y / 400 + MONTH_OFFSET[(month - 1) as usize] + day) % 7;
        Weekday::ALL[((sunday_is_0 + 6) % 7) as usize]
    }
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Date {
    /// 1–9999.
    year: u32,
    /// 1–12.
    month: u32,
    /// 1–31.
    day: u32,
    weekday: Weekday,
}

fn is_leap_year(year: u32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `s` as a number when it is exactly `len` ASCII digits.
fn fixed_digits(s: &str, len: usize) -> Option<u32> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

impl Date {
    fn parse(value: &str) -> Result<Date, SayError> {
        let not_a_date = || SayError::NotADate { value: value.to_string() };
        let mut parts = value.split('-');
        let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(not_a_date());
        };
        let (Some(year), Some(month), Some(day)) = (fixed_digits(y, 4), fixed_digits(m, 2), fixed_digits(d, 2)) else {
            return Err(not_a_date());
        };
        if year == 0 {
            return Err(SayError::NoSuchYear { value: value.to_string() });
        }
        if !(1..=12).contains(&month) {
            return Err(SayError::NoSuchMonth { value: value.to_string(), month });
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(SayError::NoSuchDay { value: value.to_string(), year, month, day });
        }
        Ok(Date { year, month, day, weekday: Weekday::of(year, month, day) })
    }
}

/// A time of day, 24-hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TimeOfDay {
    hour: u32,
    minute: u32,
    /// 0 when not given.
    second: u32,
}

impl TimeOfDay {
    fn parse(value: &str) -> Result<TimeOfDay, SayError> {
        let not_a_time = || SayError::NotATime { value: value.to_string() };
        let parts: Vec<&str> = value.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(not_a_time());
        }
        let hour = fixed_digits(parts[0], 2).or_else(|| fixed_digits(parts[0], 1)).ok_or_else(not_a_time)?;
        let minute = fixed_digits(parts[1], 2).ok_or_else(not_a_time)?;
        let second = match parts.get(2) {
            Some(s) => fixed_digits(s, 2).ok_or_else(not_a_time)?,
            None => 0,
        };
        for (field, got, max) in [("hour", hour, 23), ("minute", minute, 59), ("second", second, 59)] {
            if got > max {
                return Err(SayError::TimeOutOfRange { value: value.to_string(), field, got, max });
            }
        }
        Ok(TimeOfDay { hour, minute, second })
    }
}

/// A duration split into hours, minutes and seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    hours: u64,
    /// 0–59.
    minutes: u64,
    /// 0–59.
    seconds: u64,
}

impl Span {
    fn parse(value: &str) -> Result<Span, SayError> {
        let not_a_duration = || SayError::NotADuration { value: value.to_string() };
        let too_large = || SayError::TooLarge { value: value.to_string() };
        let total: u64 = if value.bytes().all(|b| b.is_ascii_digit()) {
            value.parse().map_err(|_| too_large())?
        } else {
            // Parts `<digits><unit>`, units h, m, s in that order, each once.
            let mut total: u64 = 0;
            let mut rest = value;
            let mut next_units = "hms";
            while !rest.is_empty() {
                let digits_len = rest.bytes().take_while(u8::is_ascii_digit).count();
                let unit = rest[digits_len..].chars().next().ok_or_else(not_a_duration)?;
                let pos = next_units.find(unit).filter(|_| digits_len > 0).ok_or_else(not_a_duration)?;
                next_units = &next_units[pos + 1..];
                let n: u64 = rest[..digits_len].parse().map_err(|_| too_large())?;
                let scale = match unit {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                total = n.checked_mul(scale).and_then(|x| x.checked_add(total)).ok_or_else(too_large)?;
                rest = &rest[digits_len + 1..];
            }
            total
        };
        let span = Span { hours: total / 3600, minutes: total / 60 % 60, seconds: total % 60 };
        if span.hours > MAX_SAYABLE {
            return Err(too_large());
        }
        Ok(span)
    }
}

/// Digits 0–9, skipping spaces and `-`.
fn parse_digits(value: &str) -> Result<Vec<u8>, SayError> {
    let mut out = Vec::with_capacity(value.len());
    for (pos, ch) in value.chars().enumerate() {
        match ch {
            '0'..='9' => out.push(ch as u8 - b'0'),
            ' ' | '-' => {}
            _ => return Err(SayError::NotDigits { value: value.to_string(), ch, pos: pos + 1 }),
        }
    }
    if out.is_empty() {
        return Err(SayError::Empty { kind: SayAs::Digits.name() });
    }
    Ok(out)
}

fn parse_ordinal(value: &str) -> Result<u64, SayError> {
    let d = Decimal::parse(value, MAX_FRACTION_DIGITS).map_err(|e| match e {
        SayError::TooLarge { .. } => e,
        _ => SayError::NotAnOrdinal { value: value.to_string() },
    })?;
    if d.negative || !d.fraction.is_empty() || value.starts_with('-') {
        return Err(SayError::NotAnOrdinal { value: value.to_string() });
    }
    Ok(d.whole)
}
