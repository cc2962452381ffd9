//! Tests of `say`: per language, prompt names turned back into words with
//! the text table `prompts/text/<lang>.toml` and compared with hand-written
//! text (`zh.rs`, `en.rs`, `ru.rs`); the vocabulary against what `say`
//! returns and the text table (here); the prompt files (`wav.rs`).

mod en;
mod ru;
mod wav;
mod zh;

use super::*;
use crate::ivr::flow::Gender;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

/// `prompts/` at the top of the workspace.
fn prompts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("prompts")
}

/// Name → text from `prompts/text/<lang>.toml`.
fn text_table(lang: Lang) -> &'static BTreeMap<String, String> {
    static TABLES: OnceLock<Vec<(Lang, BTreeMap<String, String>)>> = OnceLock::new();
    let tables = TABLES.get_or_init(|| Lang::ALL.iter().map(|&l| (l, load_text_table(l))).collect());
    &tables.iter().find(|(l, _)| *l == lang).expect("every language loaded").1
}

fn load_text_table(lang: Lang) -> BTreeMap<String, String> {
    let path = prompts_dir().join("text").join(format!("{}.toml", lang.code()));
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let table: toml::Table = src.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    table
        .into_iter()
        .map(|(name, v)| {
            let text = match &v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Table(t) => match t.get("text") {
                    Some(toml::Value::String(s)) => s.clone(),
                    _ => panic!("{}: `{name}` has no `text` string", path.display()),
                },
                _ => panic!("{}: `{name}` is neither a string nor a table", path.display()),
            };
            (name, text)
        })
        .collect()
}

/// The words that prompt names stand for: Chinese without spaces, others
/// with a space between words, none after a Russian compound prefix
/// (`ordstem/`).
fn spoken(lang: Lang, names: &[String]) -> String {
    let table = text_table(lang);
    let mut out = String::new();
    let mut glue = true;
    for name in names {
        let text = table.get(name).unwrap_or_else(|| panic!("{lang:?}: `{name}` has no text in the text table"));
        if !glue && lang != Lang::Zh {
            out.push(' ');
        }
        out.push_str(text);
        glue = name.starts_with("ordstem/");
    }
    out
}

/// Lowercase, punctuation and hyphens as spaces, spaces collapsed (none in
/// Chinese): "twenty-first, twenty" and "twenty first twenty" are equal.
fn normalize(lang: Lang, s: &str) -> String {
    let s = s.to_lowercase().replace(['-', ',', '，', '—', ':', '：'], " ");
    let words: Vec<&str> = s.split_whitespace().collect();
    if lang == Lang::Zh { words.concat() } else { words.join(" ") }
}

fn options(gender: Option<Gender>, currency: Option<&str>) -> SayOptions {
    SayOptions { gender, currency: currency.map(String::from) }
}

/// Says every `(value, expected text)` and returns the mismatches (all of
/// them, so one run shows every wrong case).
fn mismatches(lang: Lang, kind: SayAs, opts: &SayOptions, cases: &[(&str, &str)]) -> Vec<String> {
    let vocabulary: BTreeSet<String> = vocabulary(lang).into_iter().collect();
    let mut bad = Vec::new();
    for &(value, expected) in cases {
        let names = match say(lang, kind, value, opts) {
            Ok(n) => n,
            Err(e) => {
                bad.push(format!("{kind:?} `{value}` {opts:?}: error {e}, expected \"{expected}\""));
                continue;
            }
        };
        if let Some(n) = names.iter().find(|n| !vocabulary.contains(*n)) {
            bad.push(format!("{kind:?} `{value}`: `{n}` is not in the vocabulary"));
            continue;
        }
        let got = spoken(lang, &names);
        if normalize(lang, &got) != normalize(lang, expected) {
            bad.push(format!("{kind:?} `{value}` {opts:?}: got \"{got}\" {names:?}, expected \"{expected}\""));
        }
    }
    bad
}

/// Asserts all cases, listing every mismatch.
fn check(lang: Lang, kind: SayAs, opts: &SayOptions, cases: &[(&str, &str)]) {
    let bad = mismatches(lang, kind, opts, cases);
    assert!(bad.is_empty(), "{} of {} {lang:?} cases wrong:\n{}", bad.len(), cases.len(), bad.join("\n"));
}

/// Asserts that every value is refused with the expected message.
fn check_errors(lang: Lang, kind: SayAs, opts: &SayOptions, cases: &[(&str, &str)]) {
    for &(value, message) in cases {
        match say(lang, kind, value, opts) {
            Ok(names) => panic!("{lang:?} {kind:?} `{value}`: expected an error, got {names:?}"),
            Err(e) => assert_eq!(e.to_string(), message, "{lang:?} {kind:?} `{value}`"),
        }
    }
}

#[test]
fn errors_name_the_value_and_the_reason() {
    let none = SayOptions::default();
    for lang in Lang::ALL {
        check_errors(
            lang,
            SayAs::Number,
            &none,
            &[
                ("12x", "`12x` is not a number"),
                ("1,000", "`1,000` is not a number"),
                (".5", "`.5` is not a number"),
                ("5.", "`5.` is not a number"),
                ("--5", "`--5` is not a number"),
                ("1000000000000", "`1000000000000` is too large: at most 999 999 999 999"),
                ("99999999999999999999999", "`99999999999999999999999` is too large: at most 999 999 999 999"),
                ("1.1234567", "`1.1234567`: at most 6 digits after the point"),
                ("  ", "nothing to say: the number value is empty"),
            ],
        );
        check_errors(
            lang,
            SayAs::Money,
            &none,
            &[
                ("1.234", "`1.234`: at most 2 digits after the point"),
                ("12 yuan", "`12 yuan` is not a number"),
                ("1000000000000", "`1000000000000` is too large: at most 999 999 999 999"),
            ],
        );
        check_errors(
            lang,
            SayAs::Money,
            &options(None, Some("EUR")),
            &[("1", "unknown currency `EUR`: expected CNY, USD or RUB")],
        );
        check_errors(
            lang,
            SayAs::Date,
            &none,
            &[
                ("2026-13-01", "`2026-13-01`: month 13 does not exist"),
                ("2026-00-10", "`2026-00-10`: month 0 does not exist"),
                ("2025-02-29", "`2025-02-29`: day 29 does not exist in month 2 of 2025"),
                ("1900-02-29", "`1900-02-29`: day 29 does not exist in month 2 of 1900"),
                ("2026-04-31", "`2026-04-31`: day 31 does not exist in month 4 of 2026"),
                ("2026-04-00", "`2026-04-00`: day 0 does not exist in month 4 of 2026"),
                ("0000-01-01", "`0000-01-01`: year 0 does not exist (years 1-9999)"),
                ("2026-1-01", "`2026-1-01` is not a date: expected YYYY-MM-DD"),
                ("21.11.2026", "`21.11.2026` is not a date: expected YYYY-MM-DD"),
                ("2026-11-21-1", "`2026-11-21-1` is not a date: expected YYYY-MM-DD"),
            ],
        );
        check_errors(
            lang,
            SayAs::Time,
            &none,
            &[
                ("24:00", "`24:00`: hour 24 is out of range 0-23"),
                ("12:60", "`12:60`: minute 60 is out of range 0-59"),
                ("12:00:61", "`12:00:61`: second 61 is out of range 0-59"),
                ("12:5", "`12:5` is not a time of day: expected HH:MM or HH:MM:SS (24-hour)"),
                ("1205", "`1205` is not a time of day: expected HH:MM or HH:MM:SS (24-hour)"),
                ("12:05 pm", "`12:05 pm` is not a time of day: expected HH:MM or HH:MM:SS (24-hour)"),
            ],
        );
        let not_duration = |v: &str| {
            format!("`{v}` is not a duration: expected seconds (`125`) or hours, minutes, seconds (`1h2m5s`)")
        };
        for v in ["-5", "5m1h", "1h1h", "h", "1x", "1.5h", "1h 2m"] {
            check_errors(lang, SayAs::Duration, &none, &[(v, &not_duration(v))]);
        }
        check_errors(
            lang,
            SayAs::Duration,
            &none,
            &[("99999999999999999999s", "`99999999999999999999s` is too large: at most 999 999 999 999")],
        );
        check_errors(
            lang,
            SayAs::Ordinal,
            &none,
            &[
                ("-1", "`-1` is not a whole number (0 or more) for an ordinal"),
                ("1.5", "`1.5` is not a whole number (0 or more) for an ordinal"),
                ("first", "`first` is not a whole number (0 or more) for an ordinal"),
                ("1000000000000", "`1000000000000` is too large: at most 999 999 999 999"),
            ],
        );
        check_errors(
            lang,
            SayAs::Digits,
            &none,
            &[
                ("12a4", "`12a4` is not digits: `a` at character 3"),
                ("+7 495", "`+7 495` is not digits: `+` at character 1"),
                ("- -", "nothing to say: the digits value is empty"),
            ],
        );
    }
}

#[test]
fn weekdays_of_known_dates() {
    // Checked against a printed calendar.
    for (y, m, d, w) in [
        (2026, 11, 21, Weekday::Sat),
        (2000, 1, 1, Weekday::Sat),
        (1999, 12, 31, Weekday::Fri),
        (2024, 2, 29, Weekday::Thu),
        (1900, 3, 1, Weekday::Thu),
        (2100, 1, 1, Weekday::Fri),
        (1, 1, 1, Weekday::Mon),
        (9999, 12, 31, Weekday::Fri),
        (1969, 7, 20, Weekday::Sun),
    ] {
        assert_eq!(Weekday::of(y, m, d), w, "{y}-{m}-{d}");
    }
}

#[test]
fn parsed_values() {
    assert_eq!(Decimal::parse("-0.00", 6).unwrap(), Decimal { negative: false, whole: 0, fraction: vec![0, 0] });
    assert_eq!(
        Decimal::parse("+0012.050", 6).unwrap(),
        Decimal { negative: false, whole: 12, fraction: vec![0, 5, 0] }
    );
    assert_eq!(Decimal::parse("000999999999999", 6).unwrap().whole, MAX_SAYABLE);
    assert_eq!(Amount::parse("-3.5").unwrap(), Amount { negative: true, major: 3, minor: 50 });
    assert_eq!(Amount::parse("0.07").unwrap(), Amount { negative: false, major: 0, minor: 7 });
    assert_eq!(Span::parse("3725").unwrap(), Span { hours: 1, minutes: 2, seconds: 5 });
    assert_eq!(Span::parse("1h90m").unwrap(), Span { hours: 2, minutes: 30, seconds: 0 });
    assert_eq!(Span::parse("2m").unwrap(), Span { hours: 0, minutes: 2, seconds: 0 });
    assert_eq!(TimeOfDay::parse("9:05").unwrap(), TimeOfDay { hour: 9, minute: 5, second: 0 });
    assert_eq!(parse_digits("138 0013-8000").unwrap(), vec![1, 3, 8, 0, 0, 1, 3, 8, 0, 0, 0]);
    assert!(is_leap_year(2000) && is_leap_year(2024) && !is_leap_year(1900) && !is_leap_year(2026));
}

/// Every name `say` returns over a sweep that reaches every word.
fn names_said(lang: Lang) -> BTreeSet<String> {
    let mut said = BTreeSet::new();
    let genders = [None, Some(Gender::Masculine), Some(Gender::Feminine), Some(Gender::Neuter)];
    let mut add = |kind: SayAs, value: &str, opts: &SayOptions| {
        let names = say(lang, kind, value, opts).unwrap_or_else(|e| panic!("{lang:?} {kind:?} `{value}`: {e}"));
        said.extend(names);
    };
    let mut numbers: Vec<u64> = (0..=2000).collect();
    for scale in [1_000u64, 1_000_000, 1_000_000_000] {
        numbers.extend((1..=999).map(|k| k * scale));
        numbers.extend([21, 101, 1001].map(|k| k * scale + 1));
    }
    numbers.push(MAX_SAYABLE);
    numbers.retain(|&n| n <= MAX_SAYABLE);
    for &g in &genders {
        let opts = options(g, None);
        for n in &numbers {
            add(SayAs::Number, &n.to_string(), &opts);
            add(SayAs::Ordinal, &n.to_string(), &opts);
        }
        add(SayAs::Number, "-1", &opts);
    }
    let none = SayOptions::default();
    for digits in 1..=MAX_FRACTION_DIGITS {
        for last in ["1", "2"] {
            add(SayAs::Number, &format!("1.{}{last}", "0".repeat(digits - 1)), &none);
        }
    }
    add(SayAs::Number, "-3.0", &none);
    add(SayAs::Digits, "0123456789", &none);
    for currency in ["CNY", "USD", "RUB"] {
        for amount in ["0", "1", "2", "5", "0.01", "0.02", "0.05", "0.1", "0.2", "1.05", "-21.21", "12.5"] {
            add(SayAs::Money, amount, &options(None, Some(currency)));
        }
    }
    for year in 1..=9999 {
        add(SayAs::Date, &format!("{year:04}-01-01"), &none);
    }
    for month in 1..=12 {
        for day in 1..=28 {
            add(SayAs::Date, &format!("2026-{month:02}-{day:02}"), &none);
        }
    }
    for hour in 0..24 {
        for minute in 0..60 {
            add(SayAs::Time, &format!("{hour:02}:{minute:02}"), &none);
            add(SayAs::Time, &format!("{hour:02}:00:{minute:02}"), &none);
        }
    }
    for seconds in (0..=7300).chain([86_400, 90_061]) {
        add(SayAs::Duration, &seconds.to_string(), &none);
    }
    said
}

/// `vocabulary` is exactly what `say` returns: nothing missing (the sweep
/// would fail in `add` or here), nothing that `say` never says.
#[test]
fn vocabulary_is_what_say_returns() {
    for lang in Lang::ALL {
        let vocabulary: BTreeSet<String> = vocabulary(lang).into_iter().collect();
        let said = names_said(lang);
        let unknown: Vec<&String> = said.difference(&vocabulary).collect();
        let never: Vec<&String> = vocabulary.difference(&said).collect();
        assert!(unknown.is_empty(), "{lang:?}: say returns names outside the vocabulary: {unknown:?}");
        assert!(never.is_empty(), "{lang:?}: vocabulary names say never returns: {never:?}");
        let listed = super::vocabulary(lang);
        let mut sorted = listed.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(listed, sorted, "{lang:?}: vocabulary is sorted and deduplicated");
    }
}

/// The text table has exactly the vocabulary and the phrases.
#[test]
fn text_table_covers_vocabulary_and_phrases() {
    for lang in Lang::ALL {
        let table: BTreeSet<&String> = text_table(lang).keys().collect();
        let wanted: BTreeSet<String> =
            vocabulary(lang).into_iter().chain(PHRASES.iter().map(|p| p.to_string())).collect();
        let wanted: BTreeSet<&String> = wanted.iter().collect();
        let missing: Vec<&&String> = wanted.difference(&table).collect();
        let extra: Vec<&&String> = table.difference(&wanted).collect();
        assert!(missing.is_empty(), "prompts/text/{}.toml lacks {missing:?}", lang.code());
        assert!(extra.is_empty(), "prompts/text/{}.toml has names nothing uses: {extra:?}", lang.code());
        for (name, text) in text_table(lang) {
            assert!(!text.trim().is_empty(), "prompts/text/{}.toml: `{name}` has empty text", lang.code());
        }
    }
}

/// The checker itself: a wrong expectation is reported.
#[test]
fn a_wrong_expectation_is_reported() {
    let bad = mismatches(Lang::En, SayAs::Number, &SayOptions::default(), &[("101", "one hundred one")]);
    assert_eq!(bad.len(), 1, "{bad:?}");
    let bad = mismatches(Lang::Zh, SayAs::Number, &SayOptions::default(), &[("10010", "一万零十")]);
    assert_eq!(bad.len(), 1, "{bad:?}");
    let bad = mismatches(Lang::Ru, SayAs::Number, &SayOptions::default(), &[("12x", "двенадцать")]);
    assert_eq!(bad.len(), 1, "{bad:?}");
}
