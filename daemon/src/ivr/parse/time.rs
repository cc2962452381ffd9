//! The text forms of schedules and holidays: weekday lists (`mon-fri,sun`),
//! hour ranges (`09:00-18:00`) and dates (`2026-10-01..2026-10-07`).
//! Pure functions; each error says what is wrong with the text.

use crate::ivr::flow::Date;

/// Weekday names, Monday first (as [`crate::ivr::flow::ScheduleRule::days`]).
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_FULL_NAMES: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

fn day_index(s: &str) -> Result<usize, String> {
    let t = s.trim().to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| *d == t)
        .or_else(|| DAY_FULL_NAMES.iter().position(|d| *d == t))
        .ok_or_else(|| format!("`{}` is not a weekday (mon, tue, wed, thu, fri, sat, sun)", s.trim()))
}

/// `mon-fri`, `sat`, `mon,wed,fri`, `fri-mon` (a range may wrap past
/// Sunday), `daily`.
pub fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    if text.trim().eq_ignore_ascii_case("daily") {
        return Ok([true; 7]);
    }
    for part in text.split(',') {
        if part.trim().is_empty() {
            return Err(format!("`{text}`: an empty item in the list of days"));
        }
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day_index(a)?, day_index(b)?);
                let mut d = a;
                loop {
                    days[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[day_index(part)?] = true,
        }
    }
    Ok(days)
}

/// `HH:MM` as minutes after midnight; `24:00` only when `end`.
fn parse_clock(s: &str, end: bool) -> Result<u16, String> {
    let t = s.trim();
    let bad = || format!("`{t}` is not a time of day (write HH:MM, 00:00 to 24:00)");
    let (h, m) = t.split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && (m != 0 || !end)) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// `09:00-18:00` as (from, to) minutes after midnight, the end exclusive;
/// an end before the start runs past midnight (`22:00-06:00`).
pub fn parse_hours(text: &str) -> Result<(u16, u16), String> {
    let (a, b) =
        text.split_once('-').ok_or_else(|| format!("`{text}` is not a range of hours (write e.g. 09:00-18:00)"))?;
    let from = parse_clock(a, false)?;
    let to = parse_clock(b, true)?;
    if from == to || (from == 0 && to == 0) {
        return Err(format!("`{text}` is an empty range (for the whole day write 00:00-24:00)"));
    }
    Ok((from, to))
}

/// `YYYY-MM-DD`, checked against the calendar.
pub fn parse_date(text: &str) -> Result<Date, String> {
    let t = text.trim();
    let b = t.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err(format!("`{t}` is not a date (write YYYY-MM-DD)"));
    }
    let y: i32 = t[0..4].parse().map_err(|_| format!("`{t}`: bad year"))?;
    let m: u32 = t[5..7].parse().map_err(|_| format!("`{t}`: bad month"))?;
    let d: u32 = t[8..10].parse().map_err(|_| format!("`{t}`: bad day"))?;
    if !(1..=12).contains(&m) {
        return Err(format!("`{t}`: month {m} does not exist"));
    }
    if chrono::NaiveDate::from_ymd_opt(y, m, d).is_none() {
        return Err(format!("`{t}`: day {d} does not exist in {y}-{m:02}"));
    }
    Ok((y, m as u8, d as u8))
}

/// `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD` (inclusive, not backwards).
pub fn parse_date_range(text: &str) -> Result<(Date, Date), String> {
    match text.split_once("..") {
        None => {
            let d = parse_date(text)?;
            Ok((d, d))
        }
        Some((a, b)) => {
            let (a, b) = (parse_date(a)?, parse_date(b)?);
            if b < a {
                return Err(format!("`{text}` runs backwards"));
            }
            Ok((a, b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        assert_eq!(parse_days("mon-fri"), Ok([true, true, true, true, true, false, false]));
        assert_eq!(parse_days("sat"), Ok([false, false, false, false, false, true, false]));
        assert_eq!(parse_days("Mon, wed,FRIDAY"), Ok([true, false, true, false, true, false, false]));
        assert_eq!(parse_days("fri-mon"), Ok([true, false, false, false, true, true, true]));
        assert_eq!(parse_days("daily"), Ok([true; 7]));
        assert_eq!(parse_days("sun-sun"), Ok([false, false, false, false, false, false, true]));
        assert!(parse_days("mon-fry").unwrap_err().contains("`fry` is not a weekday"));
        assert!(parse_days("mon,,tue").unwrap_err().contains("empty item"));
        assert!(parse_days("").unwrap_err().contains("empty item"));
    }

    #[test]
    fn hours() {
        assert_eq!(parse_hours("09:00-18:00"), Ok((540, 1080)));
        assert_eq!(parse_hours("9:30 - 12:15"), Ok((570, 735)));
        assert_eq!(parse_hours("22:00-06:00"), Ok((1320, 360)));
        assert_eq!(parse_hours("00:00-24:00"), Ok((0, 1440)));
        assert!(parse_hours("09:00").unwrap_err().contains("not a range of hours"));
        assert!(parse_hours("09:00-25:00").unwrap_err().contains("`25:00` is not a time of day"));
        assert!(parse_hours("09:60-10:00").unwrap_err().contains("`09:60`"));
        assert!(parse_hours("24:00-10:00").unwrap_err().contains("`24:00`"));
        assert!(parse_hours("10:00-10:00").unwrap_err().contains("empty range"));
        assert!(parse_hours("9h-10h").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2026-01-01"), Ok((2026, 1, 1)));
        assert_eq!(parse_date("2024-02-29"), Ok((2024, 2, 29)));
        assert!(parse_date("2026-02-29").unwrap_err().contains("day 29 does not exist in 2026-02"));
        assert!(parse_date("2026-13-01").unwrap_err().contains("month 13 does not exist"));
        assert!(parse_date("2026-04-31").is_err());
        assert!(parse_date("2026-00-10").is_err());
        assert!(parse_date("26-1-1").unwrap_err().contains("YYYY-MM-DD"));
        assert!(parse_date("2026/01/01").is_err());
        assert_eq!(parse_date_range("2026-10-01..2026-10-07"), Ok(((2026, 10, 1), (2026, 10, 7))));
        assert_eq!(parse_date_range("2026-10-01"), Ok(((2026, 10, 1), (2026, 10, 1))));
        assert!(parse_date_range("2026-10-07..2026-10-01").unwrap_err().contains("runs backwards"));
        assert!(parse_date_range("2026-10-07..").is_err());
    }
}
