//! Wall-clock times on the command line: the call journal keeps UTC
//! milliseconds since 1970 (`start_wall_ms`, the `/cdr` endpoint's
//! `from_ms`/`to_ms`); people type dates.
//!
//! Accepted: epoch milliseconds (digits only), a date `YYYY-MM-DD` (UTC
//! midnight; as an end bound, the end of that day), or an RFC 3339
//! date-time `YYYY-MM-DDTHH:MM[:SS[.fff]]` followed by `Z` or `±HH:MM`.
//! The civil-date arithmetic is Howard Hinnant's `days_from_civil`.
//!
//! Not implemented: the local time zone (dates without an offset are UTC).

const MS_PER_DAY: i64 = 86_400_000;

/// Which bound a time argument is: a bare date as an end bound means the
/// end of that day (the `/cdr` end bound is exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Start,
    End,
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn number(text: &str, digits: usize) -> Option<u32> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

/// `YYYY-MM-DD` → day number.
fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (y, m, d) = (number(parts.next()?, 4)?, number(parts.next()?, 2)?, number(parts.next()?, 2)?);
    if parts.next().is_some() || !(1..=12).contains(&m) || d == 0 || d > days_in_month(i64::from(y), m) {
        return None;
    }
    Some(days_from_civil(i64::from(y), m, d))
}

/// `HH:MM[:SS[.fff]]` → ms of the day.
fn parse_clock(text: &str) -> Option<i64> {
    let (hms, frac) = match text.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (text, None),
    };
    let mut parts = hms.split(':');
    let h = number(parts.next()?, 2)?;
    let mi = number(parts.next()?, 2)?;
    let s = match parts.next() {
        Some(s) => number(s, 2)?,
        None if frac.is_none() => 0,
        None => return None,
    };
    if parts.next().is_some() || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let ms = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            let f3: String = f.chars().chain(std::iter::repeat('0')).take(3).collect();
            i64::from(f3.parse::<u32>().ok()?)
        }
        Some(_) => return None,
    };
    Some(((i64::from(h) * 60 + i64::from(mi)) * 60 + i64::from(s.min(59))) * 1000 + ms)
}

/// `Z` or `±HH:MM` → offset east of UTC, ms.
fn parse_offset(text: &str) -> Option<i64> {
    if text.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = text[1..].split_once(':')?;
    let (h, m) = (number(h, 2)?, number(m, 2)?);
    (h <= 23 && m <= 59).then_some(sign * (i64::from(h) * 60 + i64::from(m)) * 60_000)
}

/// A time argument as UTC ms since 1970 (see the module doc).
pub fn parse_time_ms(text: &str, bound: Bound) -> Result<i64, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "{text:?} is not a time: give a date (2024-11-21), an RFC 3339 date-time \
             (2024-11-21T09:30:00+08:00 or …Z) or milliseconds since 1970"
        )
    };
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<i64>().map_err(|_| bad());
    }
    if t.len() == 10 {
        let day = parse_date(t).ok_or_else(bad)?;
        return Ok((day + i64::from(bound == Bound::End)) * MS_PER_DAY);
    }
    if t.len() < 11 || !matches!(t.as_bytes()[10], b'T' | b't' | b' ') || !t.is_char_boundary(10) {
        return Err(bad());
    }
    let day = parse_date(&t[..10]).ok_or_else(bad)?;
    let rest = &t[11..];
    let split = rest
        .find(['Z', 'z', '+', '-'])
        .ok_or_else(|| format!("{text:?}: add the time zone, e.g. {rest}Z for UTC or {rest}+08:00 (RFC 3339)"))?;
    let clock = parse_clock(&rest[..split]).ok_or_else(bad)?;
    let offset = parse_offset(&rest[split..]).ok_or_else(bad)?;
    Ok(day * MS_PER_DAY + clock - offset)
}

/// `2024-11-21 09:30:00` (UTC) of ms since 1970.
pub fn format_utc(ms: i64) -> String {
    let (day, rem) = (ms.div_euclid(MS_PER_DAY), ms.rem_euclid(MS_PER_DAY));
    let (y, m, d) = civil_from_days(day);
    let s = rem / 1000;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `2024-11-21T09:30:00.250Z` (RFC 3339, UTC) of ms since 1970.
pub fn format_rfc3339(ms: i64) -> String {
    let (day, rem) = (ms.div_euclid(MS_PER_DAY), ms.rem_euclid(MS_PER_DAY));
    let (y, m, d) = civil_from_days(day);
    let s = rem / 1000;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", s / 3600, s / 60 % 60, s % 60, rem % 1000)
}

/// `12.345s`: board time or a duration, as `ctibox board` prints it.
pub fn format_board_ms(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        // 1700000000000 ms = 2023-11-14T22:13:20Z.
        assert_eq!(parse_time_ms("1700000000000", Bound::Start), Ok(1_700_000_000_000));
        assert_eq!(parse_time_ms("2023-11-14T22:13:20Z", Bound::Start), Ok(1_700_000_000_000));
        assert_eq!(parse_time_ms("2023-11-15T06:13:20+08:00", Bound::Start), Ok(1_700_000_000_000));
        assert_eq!(parse_time_ms("2023-11-14 17:13:20.5-05:00", Bound::Start), Ok(1_700_000_000_500));
        assert_eq!(parse_time_ms("2023-11-14T22:13Z", Bound::Start), Ok(1_699_999_980_000));
        assert_eq!(parse_time_ms("1970-01-01", Bound::Start), Ok(0));
        assert_eq!(parse_time_ms("2024-02-29", Bound::Start), Ok(1_709_164_800_000));
        assert_eq!(parse_time_ms("2024-02-29", Bound::End), Ok(1_709_251_200_000));
        assert_eq!(format_utc(1_700_000_000_000), "2023-11-14 22:13:20");
        assert_eq!(format_rfc3339(1_700_000_000_250), "2023-11-14T22:13:20.250Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn round_trips_over_centuries() {
        for day in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn refuses_nonsense_and_asks_for_a_zone() {
        for bad in
            ["", "yesterday", "2023-13-01", "2023-02-29", "2023-11-14T25:00Z", "2023-11-14T10:00+0800", "2023-1-1"]
        {
            assert!(parse_time_ms(bad, Bound::Start).is_err(), "{bad}");
        }
        let e = parse_time_ms("2023-11-14T10:00:00", Bound::Start).unwrap_err();
        assert!(e.contains("time zone"), "{e}");
    }
}
