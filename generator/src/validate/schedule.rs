//! EventBridge schedule expressions: `rate(...)` and six-field `cron(...)`.

use crate::diag::did_you_mean;

/// One field of an EventBridge cron expression: its values and the wildcards it admits.
struct CronField {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for min, min + 1, ... (months, weekdays).
    names: &'static [&'static str],
    /// Admits `/` (increments).
    slash: bool,
    /// Day-of-month / day-of-week extras: `?`, `L`, `W` (day-of-month), `#` (day-of-week).
    day: Option<Day>,
}

#[derive(Clone, Copy, PartialEq)]
enum Day {
    OfMonth,
    OfWeek,
}

const CRON_FIELDS: [CronField; 6] = [
    CronField { name: "minutes", min: 0, max: 59, names: &[], slash: true, day: None },
    CronField { name: "hours", min: 0, max: 23, names: &[], slash: true, day: None },
    CronField { name: "day-of-month", min: 1, max: 31, names: &[], slash: true, day: Some(Day::OfMonth) },
    CronField {
        name: "month",
        min: 1,
        max: 12,
        names: &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
        slash: true,
        day: None,
    },
    CronField {
        name: "day-of-week",
        min: 1,
        max: 7,
        names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
        slash: false,
        day: Some(Day::OfWeek),
    },
    CronField { name: "year", min: 1970, max: 2199, names: &[], slash: true, day: None },
];

const SCHEDULE_HELP: &str = "write `rate(<N> <unit>)` (minute, hour or day; plural when N > 1) or `cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)` in UTC, e.g. `rate(5 minutes)`, `cron(0 3 * * ? *)`";

/// Checks an EventBridge schedule expression (the `ScheduleExpression` of an
/// `AWS::Events::Rule`): `rate(N unit)` or a six-field `cron(...)`. On error returns what is
/// wrong and a help line.
pub fn schedule_expression(s: &str) -> Result<(), (String, String)> {
    let fail = |problem: String, help: &str| Err((problem, help.to_string()));
    if let Some(inner) = s.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        return rate(inner);
    }
    let Some(inner) = s.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) else {
        if (s.starts_with("cron(") || s.starts_with("rate(")) && !s.ends_with(')') {
            return fail(
                format!("`{s}` has no closing `)`"),
                "close the parenthesis; inside `{ ... }` a `,` ends the value, so quote an expression that has one: `\"cron(0 8,20 * * ? *)\"`",
            );
        }
        return fail(format!("`{s}` is neither `rate(...)` nor `cron(...)`"), SCHEDULE_HELP);
    };
    cron(inner)
}

/// The inside of `rate(...)`: a whole number >= 1 and a unit, singular for 1.
fn rate(inner: &str) -> Result<(), (String, String)> {
    let fail = |problem: String, help: &str| Err((problem, help.to_string()));
    let parts: Vec<&str> = inner.split(' ').collect();
    let [value, unit] = parts.as_slice() else {
        return fail(
            format!("`rate(...)` takes a number and a unit separated by one space, found `{inner}`"),
            "e.g. `rate(1 minute)`, `rate(5 minutes)`, `rate(12 hours)`",
        );
    };
    let n = match value.parse::<u64>() {
        Ok(n) if n > 0 && value.chars().all(|c| c.is_ascii_digit()) => n,
        _ => {
            return fail(
                format!("`{value}` is not a positive whole number"),
                "the rate is a whole number of minutes, hours or days, at least 1: e.g. `rate(5 minutes)`",
            )
        }
    };
    let singular = match *unit {
        "minute" | "minutes" => "minute",
        "hour" | "hours" => "hour",
        "day" | "days" => "day",
        other => {
            let units = ["minute", "minutes", "hour", "hours", "day", "days"];
            let best = did_you_mean(other, units);
            let close = units.iter().find(|u| best.as_deref() == Some(format!("did you mean `{u}`?").as_str()));
            let help = match close {
                Some(u) => {
                    let one = u.trim_end_matches('s');
                    format!("did you mean `rate({n} {one}{})`?", if n == 1 { "" } else { "s" })
                }
                None => "units are `minute`, `hour` and `day` (plural for more than 1)".into(),
            };
            return Err((format!("unknown unit `{other}`"), help));
        }
    };
    let want = if n == 1 { singular.to_string() } else { format!("{singular}s") };
    if *unit != want {
        let number = if n == 1 { "singular" } else { "plural" };
        return Err((
            format!("a rate of {n} takes the {number} `{want}`"),
            format!("write `rate({n} {want})` (EventBridge rejects `rate({n} {unit})`)"),
        ));
    }
    Ok(())
}

/// The inside of `cron(...)`: six fields, each valid, exactly one day field `?`.
fn cron(inner: &str) -> Result<(), (String, String)> {
    let fail = |problem: String, help: &str| Err((problem, help.to_string()));
    let fields: Vec<&str> = if inner.is_empty() { Vec::new() } else { inner.split(' ').collect() };
    let six = "six fields separated by one space: minutes hours day-of-month month day-of-week year, e.g. `cron(0 3 * * ? *)`";
    if fields.iter().any(|f| f.is_empty()) {
        return fail("`cron(...)` fields must be separated by single spaces".into(), six);
    }
    if fields.len() != 6 {
        let help = if fields.len() == 5 {
            "EventBridge cron has a sixth field, the year, and takes `?` in day-of-month or day-of-week: e.g. `cron(0 3 * * ? *)` rather than `cron(0 3 * * *)`"
        } else {
            six
        };
        return fail(format!("`cron(...)` needs 6 fields, found {}", fields.len()), help);
    }
    for (field, value) in CRON_FIELDS.iter().zip(&fields) {
        if let Err(why) = cron_field(field, value) {
            return Err((
                format!("{} `{value}` {why}", field.name),
                format!("{}: {}", field.name, cron_field_rule(field)),
            ));
        }
    }
    let (dom, dow) = (fields[2], fields[4]);
    if (dom == "?") == (dow == "?") {
        return fail(
            format!("day-of-month `{dom}` and day-of-week `{dow}`: exactly one of them must be `?`"),
            "EventBridge cannot match both day fields: write `?` in the one you do not use, e.g. `cron(0 3 * * ? *)` (every day) or `cron(0 3 ? * MON *)` (Mondays)",
        );
    }
    Ok(())
}

fn cron_field_rule(f: &CronField) -> String {
    let names =
        if f.names.is_empty() { String::new() } else { format!(" or {}-{}", f.names[0], f.names[f.names.len() - 1]) };
    let mut wild = vec![",", "-", "*"];
    if f.slash {
        wild.push("/");
    }
    match f.day {
        Some(Day::OfMonth) => wild.extend(["?", "L", "W"]),
        Some(Day::OfWeek) => wild.extend(["?", "L", "#"]),
        None => {}
    }
    format!("{}-{}{names}, with {}", f.min, f.max, wild.join(" "))
}

/// One cron field: `?` alone (day fields), or a list of `*`, values and ranges, each with an
/// optional `/step`, plus `L`, `LW`, `<n>W` (day-of-month) and `L`, `<n>L`, `<n>#<k>`
/// (day-of-week).
fn cron_field(f: &CronField, v: &str) -> Result<(), String> {
    let value = |x: &str| -> Result<u32, String> {
        let n = match x.parse::<u32>() {
            Ok(n) if x.chars().all(|c| c.is_ascii_digit()) => n,
            _ => match f.names.iter().position(|name| name.eq_ignore_ascii_case(x)) {
                Some(i) => f.min + i as u32,
                None => return Err(format!("has `{x}`, which is not a value")),
            },
        };
        if (f.min..=f.max).contains(&n) {
            Ok(n)
        } else {
            Err(format!("has `{x}`, outside {}-{}", f.min, f.max))
        }
    };
    if v == "?" {
        return if f.day.is_some() {
            Ok(())
        } else {
            Err("cannot be `?` (only day-of-month and day-of-week can)".into())
        };
    }
    for item in v.split(',') {
        if item.is_empty() {
            return Err("has an empty list entry".into());
        }
        match f.day {
            Some(Day::OfMonth) if item == "L" || item == "LW" => continue,
            Some(Day::OfMonth) if item.len() > 1 && item.ends_with('W') => {
                value(&item[..item.len() - 1])?;
                continue;
            }
            Some(Day::OfWeek) if item == "L" => continue,
            Some(Day::OfWeek) if item.len() > 1 && item.ends_with('L') => {
                value(&item[..item.len() - 1])?;
                continue;
            }
            Some(Day::OfWeek) if item.contains('#') => {
                let (day, nth) = item.split_once('#').unwrap_or_default();
                value(day)?;
                if !matches!(nth, "1" | "2" | "3" | "4" | "5") {
                    return Err(format!("has `{item}`: `#` takes the week of the month, 1 to 5"));
                }
                continue;
            }
            _ => {}
        }
        let (base, step) = match item.split_once('/') {
            Some((b, st)) => (b, Some(st)),
            None => (item, None),
        };
        if let Some(st) = step {
            if !f.slash {
                return Err("cannot use `/`".into());
            }
            if !(st.chars().all(|c| c.is_ascii_digit()) && st.parse::<u32>().is_ok_and(|n| n > 0)) {
                return Err(format!("has `{item}`: the increment after `/` must be a positive whole number"));
            }
        }
        if base == "*" {
            continue;
        }
        match base.split_once('-') {
            Some((a, b)) => {
                value(a)?;
                value(b)?;
            }
            None => {
                value(base)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::schedule_expression;

    #[test]
    fn schedule_expressions() {
        let ok = [
            "rate(1 minute)",
            "rate(5 minutes)",
            "rate(1 hour)",
            "rate(12 hours)",
            "rate(1 day)",
            "rate(7 days)",
            "cron(0 3 * * ? *)",
            "cron(0/15 * * * ? *)",
            "cron(0 8-18 ? * MON-FRI *)",
            "cron(30 12 L * ? 2030)",
            "cron(0 0 15W * ? *)",
            "cron(0 9 ? * 2#1 *)",
            "cron(0 9 ? * 6L *)",
            "cron(0 10 1,15 jan,jul ? 1970-2199)",
        ];
        for e in ok {
            assert_eq!(schedule_expression(e), Ok(()), "{e}");
        }
        // (expression, start of the problem)
        let bad = [
            ("rate(1 minutes)", "a rate of 1 takes the singular `minute`"),
            ("rate(5 minute)", "a rate of 5 takes the plural `minutes`"),
            ("rate(0 minutes)", "`0` is not a positive whole number"),
            ("rate(+5 minutes)", "`+5` is not a positive whole number"),
            ("rate(5 weeks)", "unknown unit `weeks`"),
            ("rate(10 mins)", "unknown unit `mins`"),
            ("rate(5  minutes)", "`rate(...)` takes a number and a unit"),
            ("rate(5minutes)", "`rate(...)` takes a number and a unit"),
            ("every 5 minutes", "`every 5 minutes` is neither"),
            ("rate(5 minutes", "`rate(5 minutes` has no closing `)`"),
            ("cron(0 8", "`cron(0 8` has no closing `)`"),
            ("at(2030-01-01T00:00:00)", "`at(2030-01-01T00:00:00)` is neither"),
            ("cron(0 3 * * *)", "`cron(...)` needs 6 fields, found 5"),
            ("cron(0 3 * * ? * *)", "`cron(...)` needs 6 fields, found 7"),
            ("cron(0  3 * * ? *)", "`cron(...)` fields must be separated by single spaces"),
            ("cron()", "`cron(...)` needs 6 fields, found 0"),
            ("cron(0 3 * * * *)", "day-of-month `*` and day-of-week `*`: exactly one"),
            ("cron(0 3 ? * ? *)", "day-of-month `?` and day-of-week `?`: exactly one"),
            ("cron(60 3 * * ? *)", "minutes `60` has `60`, outside 0-59"),
            ("cron(0 24 * * ? *)", "hours `24` has `24`, outside 0-23"),
            ("cron(0 3 0 * ? *)", "day-of-month `0` has `0`, outside 1-31"),
            ("cron(0 3 * 13 ? *)", "month `13` has `13`, outside 1-12"),
            ("cron(0 3 ? * MONDAY *)", "day-of-week `MONDAY` has `MONDAY`, which is not a value"),
            ("cron(0 3 ? * 1/2 *)", "day-of-week `1/2` cannot use `/`"),
            ("cron(0 3 * * ? 1969)", "year `1969` has `1969`, outside 1970-2199"),
            ("cron(? 3 * * ? *)", "minutes `?` cannot be `?`"),
            ("cron(*/0 3 * * ? *)", "minutes `*/0` has `*/0`: the increment"),
            ("cron(0 3 ? * 2#6 *)", "day-of-week `2#6` has `2#6`: `#` takes"),
            ("cron(0,,5 3 * * ? *)", "minutes `0,,5` has an empty list entry"),
        ];
        for (e, want) in bad {
            match schedule_expression(e) {
                Ok(()) => panic!("{e} was accepted"),
                Err((problem, help)) => {
                    assert!(problem.starts_with(want), "{e}: {problem}");
                    assert!(!help.is_empty(), "{e}: no help");
                }
            }
        }
    }
}
