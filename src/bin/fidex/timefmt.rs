//! Durations (`3y`, `90d`) and UTC dates (`2026-01-31`, RFC 3339 `...T12:00:00Z`) without a
//! date crate.

const DAY: i64 = 86_400;

/// Parses `N[s|m|h|d|w|y]` (a plain number is seconds; `y` is 365 days).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration such as 3y, 90d, 12h or 3600"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => DAY,
        "w" => 7 * DAY,
        "y" => 365 * DAY,
        _ => {
            return Err(format!(
                "unknown unit '{unit}' in '{s}' (use s, m, h, d, w or y)"
            ))
        }
    };
    n.checked_mul(mult)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("duration '{s}' is out of range"))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses unix seconds, `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    let bad = || {
        format!("'{s}' is not a time: use unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)")
    };
    let (date, time) = match t.split_once(['T', ' ']) {
        Some((d, tm)) => (
            d,
            Some(
                tm.strip_suffix('Z')
                    .or_else(|| tm.strip_suffix("+00:00"))
                    .ok_or_else(bad)?,
            ),
        ),
        None => (t, None),
    };
    let num = |x: &str, len: usize| -> Result<i64, String> {
        if x.len() != len || !x.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        x.parse().map_err(|_| bad())
    };
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let (y, m, d) = (num(y, 4)?, num(m, 2)?, num(d, 2)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(bad());
    }
    let mut secs = days_from_civil(y, m, d) * DAY;
    if let Some(tm) = time {
        let parts: Vec<&str> = tm.split(':').collect();
        let [h, mi, se] = parts.as_slice() else {
            return Err(bad());
        };
        let (h, mi, se) = (num(h, 2)?, num(mi, 2)?, num(se, 2)?);
        if h > 23 || mi > 59 || se > 59 {
            return Err(bad());
        }
        secs += h * 3600 + mi * 60 + se;
    }
    Ok(secs)
}

/// RFC 3339 UTC, e.g. `2026-01-31T12:00:00Z`.
pub fn format_time(t: i64) -> String {
    let (days, secs) = (t.div_euclid(DAY), t.rem_euclid(DAY));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `3y`, `90d`, `1h 30m`-style rendering of a duration.
pub fn format_duration(secs: i64) -> String {
    if secs % (365 * DAY) == 0 {
        format!("{} years ({}d)", secs / (365 * DAY), secs / DAY)
    } else if secs % DAY == 0 {
        format!("{} days", secs / DAY)
    } else {
        format!("{secs} seconds")
    }
}

/// Current unix time.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3y").unwrap(), 3 * 365 * DAY);
        assert_eq!(parse_duration("90d").unwrap(), 90 * DAY);
        assert_eq!(parse_duration("3600").unwrap(), 3600);
        assert!(parse_duration("3x").is_err());
        assert!(parse_duration("y").is_err());
        assert!(parse_duration("0d").is_err());
        assert!(parse_duration("99999999999999999y").is_err());
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_time("1970-01-01").unwrap(), 0);
        assert_eq!(parse_time("2000-03-01T00:00:00Z").unwrap(), 951_868_800);
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000);
        for t in [0i64, 951_868_800, 1_700_000_000, 4_102_444_799, -86_401] {
            assert_eq!(
                parse_time(&format_time(t)).unwrap(),
                t,
                "{}",
                format_time(t)
            );
        }
        assert_eq!(format_time(1_700_000_000), "2023-11-14T22:13:20Z");
        for bad in [
            "2023-02-29",
            "2023-13-01",
            "2023-1-01",
            "2023-01-01T25:00:00Z",
            "2023-01-01T10:00:00",
            "yesterday",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert!(parse_time("2024-02-29").is_ok());
    }
}
