//! A minimal proleptic Gregorian date: enough for birth dates, with no clock.

use core::fmt;

/// A calendar date. Always valid once constructed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CivilDate {
    year: u16,
    month: u8,
    day: u8,
}

/// Whether `year` is a Gregorian leap year.
pub const fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// Days in `month` (1–12) of `year`; 0 for a month outside 1–12.
pub const fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl CivilDate {
    /// A date, or `None` when it does not exist (31 April, 29 February 2001, month 13…).
    pub const fn new(year: u16, month: u8, day: u8) -> Option<CivilDate> {
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(CivilDate { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse_iso(s: &str) -> Option<CivilDate> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: core::ops::Range<usize>| -> Option<u16> {
            b[r].iter().try_fold(0u16, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u16::from(c - b'0'))
            })
        };
        let month = u8::try_from(num(5..7)?).ok()?;
        let day = u8::try_from(num(8..10)?).ok()?;
        CivilDate::new(num(0..4)?, month, day)
    }

    pub const fn year(self) -> u16 {
        self.year
    }
    pub const fn month(self) -> u8 {
        self.month
    }
    pub const fn day(self) -> u8 {
        self.day
    }
}

/// ISO 8601 `YYYY-MM-DD`.
impl fmt::Display for CivilDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_years_follow_the_gregorian_rule() {
        for (year, leap) in [
            (2000, true),
            (1900, false),
            (2024, true),
            (2023, false),
            (2100, false),
        ] {
            assert_eq!(is_leap_year(year), leap, "{year}");
        }
    }

    #[test]
    fn rejects_dates_that_do_not_exist() {
        assert!(CivilDate::new(2001, 2, 29).is_none());
        assert!(CivilDate::new(2000, 2, 29).is_some());
        assert!(CivilDate::new(2024, 4, 31).is_none());
        assert!(CivilDate::new(2024, 13, 1).is_none());
        assert!(CivilDate::new(2024, 1, 0).is_none());
    }

    #[test]
    fn days_in_each_month() {
        let common = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        for (month, &days) in (1..=12).zip(common.iter()) {
            assert_eq!(days_in_month(2023, month), days, "2023-{month}");
            let leap = if month == 2 { 29 } else { days };
            assert_eq!(days_in_month(2024, month), leap, "2024-{month}");
            // The last day exists, the one after it does not.
            assert!(CivilDate::new(2023, month, days).is_some());
            assert!(CivilDate::new(2023, month, days + 1).is_none());
        }
        assert_eq!(days_in_month(2024, 0), 0);
        assert_eq!(days_in_month(2024, 13), 0);
    }

    #[test]
    fn accessors_return_the_parts() {
        let d = CivilDate::new(1987, 11, 23).unwrap();
        assert_eq!((d.year(), d.month(), d.day()), (1987, 11, 23));
        let e = CivilDate::parse_iso("2004-02-29").unwrap();
        assert_eq!((e.year(), e.month(), e.day()), (2004, 2, 29));
    }

    #[test]
    fn iso_needs_exactly_the_shape() {
        for bad in [
            "1999-03-0",
            "1999-03-055",
            "1999x03-05",
            "1999-03x05",
            "1999x03x05",
            "19990-3-05",
            "1999-0a-05",
            "1999-03-0a",
            "199a-03-05",
            "",
        ] {
            assert_eq!(CivilDate::parse_iso(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn iso_round_trip() {
        let d = CivilDate::parse_iso("1999-03-05").unwrap();
        assert_eq!(d.to_string(), "1999-03-05");
        assert!(CivilDate::parse_iso("1999-3-05").is_none());
        assert!(CivilDate::parse_iso("1999-02-30").is_none());
        assert!(CivilDate::parse_iso("+999-02-01").is_none());
    }
}
