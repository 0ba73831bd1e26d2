//! Calendar dates (`YYYY-MM-DD`, no time zone): the run date, release and end-of-life dates,
//! and suppression expiry dates all use this one type, a `jiff` civil date.

use std::fmt;

use jiff::civil;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(civil::Date);

/// The environment variable that overrides the run date (tests, reproducible reports).
pub const TODAY_VAR: &str = "ISTIO_PREFLIGHT_TODAY";

impl Date {
    /// Parses `2026-07-01` (exactly four, two and two digits); a day the month does not have
    /// (`2026-02-30`) is an error that says so.
    pub fn parse(text: &str) -> Result<Date, String> {
        let shape = || format!("{text:?} is not a date like 2026-07-01");
        let mut parts = text.trim().splitn(3, '-');
        let (y, m, d) = match (parts.next(), parts.next(), parts.next()) {
            (Some(y), Some(m), Some(d)) => (y, m, d),
            _ => return Err(shape()),
        };
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
            return Err(shape());
        }
        let number = |s: &str| s.parse::<i8>().unwrap_or(0);
        let year = y.parse::<i16>().map_err(|_| shape())?;
        civil::Date::new(year, number(m), number(d))
            .map(Date)
            .map_err(|e| format!("{text:?} is not a date: {e}"))
    }

    /// Today in UTC from the system clock.
    pub fn today_utc() -> Date {
        Date(
            jiff::Timestamp::now()
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date(),
        )
    }

    /// The run date: `ISTIO_PREFLIGHT_TODAY` when set, else today (UTC).
    pub fn run_date() -> Result<Date, String> {
        match std::env::var(TODAY_VAR) {
            Ok(text) => Date::parse(&text).map_err(|e| format!("{TODAY_VAR}: {e}")),
            Err(_) => Ok(Date::today_utc()),
        }
    }

    /// Days from `self` to `other` (positive when `other` is later).
    pub fn days_until(&self, other: &Date) -> i64 {
        self.0
            .until(other.0)
            .map_or(0, |span| i64::from(span.get_days()))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let d = Date::parse("2026-07-01").unwrap();
        assert_eq!(d.to_string(), "2026-07-01");
        assert!(Date::parse("2024-02-29").is_ok());
        assert!(Date::parse(" 2026-07-01\n").is_ok());
        for text in [
            "2026-13-01",
            "2026-00-10",
            "2026-7-1",
            "26-07-01",
            "tomorrow",
            "+026-07-01",
            "2026-07-01T00:00",
            "2026-07",
        ] {
            assert!(Date::parse(text).is_err(), "{text}");
        }
        let e = Date::parse("2999-02-30").unwrap_err();
        assert!(e.starts_with("\"2999-02-30\" is not a date: "), "{e}");
        assert!(e.contains("day"), "{e}");
        assert!(Date::parse("2026-02-29").is_err());
        assert!(Date::parse("2026-04-31").is_err());
    }

    #[test]
    fn days_between_dates() {
        let a = Date::parse("2026-06-24").unwrap();
        let b = Date::parse("2026-07-01").unwrap();
        assert_eq!(a.days_until(&b), 7);
        assert_eq!(b.days_until(&a), -7);
        let leap = Date::parse("2024-02-28").unwrap();
        assert_eq!(leap.days_until(&Date::parse("2024-03-01").unwrap()), 2);
        assert_eq!(
            Date::parse("1970-01-01")
                .unwrap()
                .days_until(&Date::parse("2026-01-01").unwrap()),
            20_454
        );
        assert!(a < b);
    }

    #[test]
    fn the_clock_gives_a_plausible_date() {
        let today = Date::today_utc();
        assert!(Date::parse("2025-01-01").unwrap() < today, "{today}");
    }
}
