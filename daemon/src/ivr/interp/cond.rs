//! `branch` conditions, schedules and holiday lists, evaluated against the
//! call's variables and the local time the core passes in. Pure.
//!
//! - Comparisons (`==` `!=` `<` `<=` `>` `>=`) are numeric when both sides
//!   parse as finite `f64` (after trimming spaces: `"2"` equals `"2.0"`),
//!   else a plain text comparison (byte order). A missing variable is "".
//! - `matches` is a regex on the WHOLE value (`^(?:re)$`); `caller` is a
//!   regex SEARCH in the `caller` variable (anchor it yourself: `^138`).
//! - A schedule rule with `from < to` holds on its listed weekdays for
//!   minutes `[from, to)`. A rule with `to < from` runs past midnight: the
//!   evening part `[from, 24:00)` holds on a listed weekday, and the part
//!   after midnight `[00:00, to)` holds on the day AFTER a listed weekday
//!   (a shift belongs to the day it starts: `mon 22:00-06:00` is open from
//!   Monday 22:00 to Tuesday 06:00, and not on Monday 00:00-06:00).
//!   `from == to` is an empty range (never open); a whole day is
//!   `00:00-24:00` (`to_min` 1440).
//! - A holiday list holds when the local date is inside one of its ranges,
//!   both ends included.
//!
//! A regex that does not compile, or a schedule or holiday list that does
//! not exist, is an error (the checks reject such flows before they run).

use regex::Regex;

use super::{LocalTime, Vars};
use crate::ivr::flow::{CompareOp, Condition, Flow, Holidays, Schedule, ScheduleRule};

/// Minutes in a day.
const DAY_MIN: u16 = 24 * 60;

/// What a condition is evaluated against.
#[derive(Debug, Clone, Copy)]
pub(super) struct Env<'a> {
    pub vars: &'a Vars,
    pub flow: &'a Flow,
    pub local: LocalTime,
}

impl Env<'_> {
    fn var(&self, name: &str) -> &str {
        self.vars.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Whether `cond` holds; `Err` names what in the flow is broken.
pub(super) fn holds(cond: &Condition, env: &Env<'_>) -> Result<bool, String> {
    match cond {
        Condition::Compare { var, op, value } => {
            let left = env.var(var);
            let right = value.expand(|k| env.vars.get(k).cloned());
            compare(left, *op, &right)
        }
        Condition::Caller { pattern } => {
            let re = Regex::new(pattern).map_err(|e| format!("bad caller regex `{pattern}`: {e}"))?;
            Ok(re.is_match(env.var("caller")))
        }
        Condition::Schedule { name } => match env.flow.schedules.iter().find(|s| &s.name == name) {
            Some(s) => Ok(schedule_open(s, &env.local)),
            None => Err(format!("no schedule named `{name}`")),
        },
        Condition::Holiday { name } => match env.flow.holidays.iter().find(|h| &h.name == name) {
            Some(h) => Ok(is_holiday(h, &env.local)),
            None => Err(format!("no holiday list named `{name}`")),
        },
        Condition::All(conds) => {
            for c in conds {
                if !holds(c, env)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Condition::Any(conds) => {
            for c in conds {
                if holds(c, env)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Condition::Not(c) => Ok(!holds(c, env)?),
    }
}

/// A number for comparisons: finite `f64` only (`"nan"` and `"inf"` compare
/// as text).
fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

fn compare(left: &str, op: CompareOp, right: &str) -> Result<bool, String> {
    use std::cmp::Ordering;
    let order = || match (number(left), number(right)) {
        (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        _ => left.cmp(right),
    };
    Ok(match op {
        CompareOp::Eq => order() == Ordering::Equal,
        CompareOp::Ne => order() != Ordering::Equal,
        CompareOp::Lt => order() == Ordering::Less,
        CompareOp::Le => order() != Ordering::Greater,
        CompareOp::Gt => order() == Ordering::Greater,
        CompareOp::Ge => order() != Ordering::Less,
        CompareOp::Matches => whole_match(right, left)?,
        CompareOp::Empty => left.is_empty(),
        CompareOp::NotEmpty => !left.is_empty(),
    })
}

/// Whether `pattern` matches all of `value`.
pub(super) fn whole_match(pattern: &str, value: &str) -> Result<bool, String> {
    let re = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| format!("bad regex `{pattern}`: {e}"))?;
    Ok(re.is_match(value))
}

/// Whether the schedule is open at `local` (any rule holds).
pub(super) fn schedule_open(s: &Schedule, local: &LocalTime) -> bool {
    s.rules.iter().any(|r| rule_holds(r, local.weekday, local.minute))
}

/// Whether one rule holds on `weekday` (Monday = 0) at `minute` of the day.
fn rule_holds(r: &ScheduleRule, weekday: u8, minute: u16) -> bool {
    let today = usize::from(weekday % 7);
    let yesterday = (today + 6) % 7;
    if r.from_min < r.to_min {
        r.days[today] && r.from_min <= minute && minute < r.to_min
    } else if r.to_min < r.from_min {
        (r.days[today] && minute >= r.from_min && minute < DAY_MIN) || (r.days[yesterday] && minute < r.to_min)
    } else {
        false
    }
}

/// Whether the local date is in one of the list's ranges.
pub(super) fn is_holiday(h: &Holidays, local: &LocalTime) -> bool {
    let today = (local.year, local.month, local.day);
    h.ranges.iter().any(|(from, to)| *from <= today && today <= *to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(days: &[usize], from: u16, to: u16) -> ScheduleRule {
        let mut d = [false; 7];
        for &i in days {
            d[i] = true;
        }
        ScheduleRule { days: d, from_min: from, to_min: to }
    }

    #[test]
    fn compare_numeric_when_both_are_numbers() {
        assert!(compare("10", CompareOp::Gt, "9").unwrap());
        assert!(compare("2", CompareOp::Eq, "2.0").unwrap());
        assert!(compare(" 3 ", CompareOp::Le, "3").unwrap());
        assert!(compare("-1", CompareOp::Lt, "0").unwrap());
        // As text "10" < "9".
        assert!(compare("10", CompareOp::Lt, "9x").unwrap());
        assert!(compare("abc", CompareOp::Lt, "abd").unwrap());
        assert!(compare("abc", CompareOp::Ne, "ABC").unwrap());
        assert!(!compare("nan", CompareOp::Ne, "nan").unwrap());
        assert!(compare("", CompareOp::Lt, "0").unwrap());
        assert!(compare("b", CompareOp::Ge, "a").unwrap());
        assert!(compare("1e3", CompareOp::Eq, "1000").unwrap());
    }

    #[test]
    fn matches_is_whole_value() {
        assert!(compare("12345", CompareOp::Matches, r"\d+").unwrap());
        assert!(!compare("12345x", CompareOp::Matches, r"\d+").unwrap());
        assert!(!compare("x12", CompareOp::Matches, "1|x12x").unwrap());
        assert!(compare("x12", CompareOp::Matches, "1|x12").unwrap());
        let e = compare("1", CompareOp::Matches, "(").unwrap_err();
        assert!(e.starts_with("bad regex `(`"), "{e}");
    }

    #[test]
    fn empty_and_not_empty() {
        assert!(compare("", CompareOp::Empty, "").unwrap());
        assert!(!compare(" ", CompareOp::Empty, "").unwrap());
        assert!(compare("x", CompareOp::NotEmpty, "").unwrap());
    }

    #[test]
    fn rule_within_a_day() {
        let r = rule(&[0, 1, 2, 3, 4], 9 * 60, 18 * 60);
        assert!(rule_holds(&r, 0, 9 * 60));
        assert!(rule_holds(&r, 4, 18 * 60 - 1));
        assert!(!rule_holds(&r, 4, 18 * 60));
        assert!(!rule_holds(&r, 0, 9 * 60 - 1));
        assert!(!rule_holds(&r, 5, 12 * 60));
        assert!(!rule_holds(&r, 6, 12 * 60));
    }

    #[test]
    fn rule_past_midnight_belongs_to_its_start_day() {
        // Friday 22:00 to Saturday 02:00.
        let r = rule(&[4], 22 * 60, 2 * 60);
        assert!(rule_holds(&r, 4, 22 * 60));
        assert!(rule_holds(&r, 4, 23 * 60 + 59));
        assert!(rule_holds(&r, 5, 0));
        assert!(rule_holds(&r, 5, 2 * 60 - 1));
        assert!(!rule_holds(&r, 5, 2 * 60));
        assert!(!rule_holds(&r, 5, 22 * 60), "Saturday evening is not listed");
        assert!(!rule_holds(&r, 4, 60), "Friday early morning belongs to Thursday's shift");
        assert!(!rule_holds(&r, 4, 21 * 60 + 59));
        // Sunday night into Monday wraps the week.
        let r = rule(&[6], 23 * 60, 60);
        assert!(rule_holds(&r, 0, 30));
        assert!(!rule_holds(&r, 6, 30));
    }

    #[test]
    fn rule_whole_day_and_empty() {
        let r = rule(&[2], 0, DAY_MIN);
        assert!(rule_holds(&r, 2, 0));
        assert!(rule_holds(&r, 2, DAY_MIN - 1));
        assert!(!rule_holds(&r, 3, 0));
        let r = rule(&[2], 600, 600);
        assert!(!rule_holds(&r, 2, 600));
    }

    #[test]
    fn holiday_ranges_inclusive() {
        let h = Holidays {
            name: "cn".into(),
            ranges: vec![((2026, 1, 1), (2026, 1, 1)), ((2026, 10, 1), (2026, 10, 7)), ((2026, 12, 31), (2027, 1, 2))],
            line: 1,
        };
        let at = |year, month, day| LocalTime { year, month, day, weekday: 0, minute: 0 };
        assert!(is_holiday(&h, &at(2026, 1, 1)));
        assert!(!is_holiday(&h, &at(2026, 1, 2)));
        assert!(is_holiday(&h, &at(2026, 10, 1)));
        assert!(is_holiday(&h, &at(2026, 10, 7)));
        assert!(!is_holiday(&h, &at(2026, 10, 8)));
        assert!(!is_holiday(&h, &at(2026, 9, 30)));
        assert!(is_holiday(&h, &at(2027, 1, 1)));
        assert!(!is_holiday(&h, &at(2027, 1, 3)));
        assert!(!is_holiday(&h, &at(2025, 10, 3)));
    }
}
