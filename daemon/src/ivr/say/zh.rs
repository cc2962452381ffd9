//! Mandarin Chinese (zh-CN).
//!
//! Numbers are grouped by four digits (个, 万, 亿). 零 stands once for a run
//! of zeros between two spoken digits (一千零一, 一万零一十, 一亿零一千)
//! and never at the end (一亿). A leading 1 before 十 is not said (十, 十二,
//! 十万) but is inside a number (一百一十, 一万零一十). 2 is 两 right
//! before 百, 千, 万 and 亿, 二 elsewhere; counted things say 两 for a lone
//! 2 ([`count`]).
//!
//! Names: `num/0`–`num/10` (零 … 十), `num/liang` 两, `num/bai` 百,
//! `num/qian` 千, `num/wan` 万, `num/yi` 亿, `digit/0` 〇 (digit strings and
//! years), `word/fu` 负, `word/dian` 点 (decimal point and o'clock),
//! `word/di` 第, `word/zheng` 整, `unit/yuan` 元, `unit/jiao` 角, `unit/fen`
//! 分 (money and minutes), `unit/meiyuan` 美元, `unit/meifen` 美分,
//! `unit/lubu` 卢布, `unit/gebi` 戈比, `unit/nian` 年, `unit/ri` 日,
//! `unit/xiaoshi` 小时, `unit/fenzhong` 分钟, `unit/miao` 秒, `month/<m>`
//! (一月 … 十二月), `day/<d>` (星期一 … 星期日).

use super::{Amount, Currency, Date, Decimal, Span, TimeOfDay};

/// 1–9999, one group of four digits. `first`: nothing was said before it
/// (so 一十 becomes 十). `before_scale`: 万 or 亿 follows (so 2 is 两).
fn group(n: u64, first: bool, before_scale: bool, out: &mut Vec<String>) {
    if n == 2 && before_scale {
        out.push("num/liang".into());
        return;
    }
    let places =
        [(n / 1000, Some("num/qian")), (n / 100 % 10, Some("num/bai")), (n / 10 % 10, Some("num/10")), (n % 10, None)];
    let mut said = false;
    let mut zero_pending = false;
    for (digit, place) in places {
        if digit == 0 {
            zero_pending |= said;
            continue;
        }
        if zero_pending {
            out.push("num/0".into());
            zero_pending = false;
        }
        let leading_ten = digit == 1 && place == Some("num/10") && first && !said;
        let liang = digit == 2 && matches!(place, Some("num/qian" | "num/bai"));
        if liang {
            out.push("num/liang".into());
        } else if !leading_ten {
            out.push(format!("num/{digit}"));
        }
        if let Some(p) = place {
            out.push(p.into());
        }
        said = true;
    }
}

/// 0 – 999 999 999 999.
fn cardinal(n: u64, out: &mut Vec<String>) {
    if n == 0 {
        out.push("num/0".into());
        return;
    }
    let groups = [(n / 100_000_000, Some("num/yi")), (n / 10_000 % 10_000, Some("num/wan")), (n % 10_000, None)];
    let mut said = false;
    let mut zero_pending = false;
    for (g, scale) in groups {
        if g == 0 {
            zero_pending |= said;
            continue;
        }
        if said && (zero_pending || g < 1000) {
            out.push("num/0".into());
        }
        group(g, !said, scale.is_some(), out);
        if let Some(s) = scale {
            out.push(s.into());
        }
        said = true;
        zero_pending = false;
    }
}

/// A count of things: 两 for a lone 2 (两元, 两分钟, 两点).
fn count(n: u64, out: &mut Vec<String>) {
    if n == 2 {
        out.push("num/liang".into());
    } else {
        cardinal(n, out);
    }
}

pub(super) fn number(d: &Decimal) -> Vec<String> {
    let mut out = Vec::new();
    if d.negative {
        out.push("word/fu".into());
    }
    cardinal(d.whole, &mut out);
    if !d.fraction.is_empty() {
        out.push("word/dian".into());
        out.extend(d.fraction.iter().map(|x| format!("num/{x}")));
    }
    out
}

fn digit(d: u8) -> String {
    if d == 0 { "digit/0".into() } else { format!("num/{d}") }
}

pub(super) fn digits(d: &[u8]) -> Vec<String> {
    d.iter().map(|&x| digit(x)).collect()
}

pub(super) fn money(a: &Amount, currency: Currency) -> Vec<String> {
    let mut out = Vec::new();
    if a.negative {
        out.push("word/fu".into());
    }
    match currency {
        Currency::Cny => {
            let (jiao, fen) = (a.minor / 10, a.minor % 10);
            if a.major > 0 || a.minor == 0 {
                count(a.major, &mut out);
                out.push("unit/yuan".into());
            }
            if jiao > 0 {
                count(jiao, &mut out);
                out.push("unit/jiao".into());
            } else if fen > 0 && a.major > 0 {
                out.push("num/0".into());
            }
            if fen > 0 {
                count(fen, &mut out);
                out.push("unit/fen".into());
            }
        }
        Currency::Usd | Currency::Rub => {
            let (major, minor) =
                if currency == Currency::Usd { ("unit/meiyuan", "unit/meifen") } else { ("unit/lubu", "unit/gebi") };
            if a.major > 0 || a.minor == 0 {
                count(a.major, &mut out);
                out.push(major.into());
            }
            if a.minor > 0 {
                count(a.minor, &mut out);
                out.push(minor.into());
            }
        }
    }
    out
}

/// Year digit by digit (二〇二六年), month (十一月), day (二十一日),
/// weekday (星期六).
pub(super) fn date(d: &Date) -> Vec<String> {
    let mut out: Vec<String> = d.year.to_string().bytes().map(|b| digit(b - b'0')).collect();
    out.push("unit/nian".into());
    out.push(format!("month/{}", d.month));
    cardinal(u64::from(d.day), &mut out);
    out.push("unit/ri".into());
    out.push(format!("day/{}", d.weekday.name()));
    out
}

/// Minutes and seconds below ten get a 零 (零五分).
fn two_digit(n: u32, out: &mut Vec<String>) {
    if n < 10 {
        out.push("num/0".into());
    }
    cardinal(u64::from(n), out);
}

/// 十四点零五分, 十四点整, 两点三十分十秒.
pub(super) fn time(t: &TimeOfDay) -> Vec<String> {
    let mut out = Vec::new();
    count(u64::from(t.hour), &mut out);
    out.push("word/dian".into());
    if t.minute == 0 && t.second == 0 {
        out.push("word/zheng".into());
        return out;
    }
    if t.minute == 0 {
        out.push("num/0".into());
    } else {
        two_digit(t.minute, &mut out);
    }
    out.push("unit/fen".into());
    if t.second > 0 {
        two_digit(t.second, &mut out);
        out.push("unit/miao".into());
    }
    out
}

pub(super) fn duration(s: &Span) -> Vec<String> {
    let mut out = Vec::new();
    if s.hours > 0 {
        count(s.hours, &mut out);
        out.push("unit/xiaoshi".into());
    }
    if s.minutes > 0 {
        count(s.minutes, &mut out);
        out.push("unit/fenzhong".into());
    }
    if s.seconds > 0 || out.is_empty() {
        count(s.seconds, &mut out);
        out.push("unit/miao".into());
    }
    out
}

pub(super) fn ordinal(n: u64) -> Vec<String> {
    let mut out = vec!["word/di".to_string()];
    cardinal(n, &mut out);
    out
}

pub(super) fn vocabulary() -> Vec<String> {
    let mut v: Vec<String> = (0..=10).map(|n| format!("num/{n}")).collect();
    v.extend(["liang", "bai", "qian", "wan", "yi"].map(|w| format!("num/{w}")));
    v.push("digit/0".into());
    v.extend(["fu", "dian", "di", "zheng"].map(|w| format!("word/{w}")));
    v.extend(
        ["yuan", "jiao", "fen", "meiyuan", "meifen", "lubu", "gebi", "nian", "ri", "xiaoshi", "fenzhong", "miao"]
            .map(|w| format!("unit/{w}")),
    );
    v
}
