//! Calendar arithmetic for the NIK's "today", from a Unix time in milliseconds.

use dukcapil_core::date::CivilDate;

/// Indonesia's easternmost zone (WIT, UTC+9): the latest "today" anywhere in the country,
/// so a NIK issued today in Papua is never "born in the future".
pub const WIT_OFFSET_S: i64 = 9 * 3600;

/// The civil date `days` after 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> Option<CivilDate> {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    CivilDate::new(
        u16::try_from(year).ok()?,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
    )
}

/// Today's date in WIT for a Unix time in milliseconds.
pub fn today_in_indonesia(unix_ms: f64) -> Option<CivilDate> {
    if !unix_ms.is_finite() {
        return None;
    }
    let secs = (unix_ms / 1000.0).floor() as i64 + WIT_OFFSET_S;
    civil_from_days(secs.div_euclid(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn century_and_era_boundaries() {
        let d = |y, m, day| CivilDate::new(y, m, day);
        for (days, want) in [
            (-135_081, d(1600, 2, 29)),
            (-98_557, d(1700, 2, 28)),
            (-98_556, d(1700, 3, 1)),
            (-25_509, d(1900, 2, 28)),
            (-25_508, d(1900, 3, 1)),
            (47_540, d(2100, 2, 28)),
            (47_541, d(2100, 3, 1)),
            (84_065, d(2200, 3, 1)),
            (157_053, d(2399, 12, 31)),
            (157_113, d(2400, 2, 29)),
            (157_114, d(2400, 3, 1)),
            (2_932_896, d(9999, 12, 31)),
        ] {
            assert_eq!(civil_from_days(days), want, "{days}");
        }
    }

    #[test]
    fn known_dates() {
        let d = |y, m, day| CivilDate::new(y, m, day);
        assert_eq!(civil_from_days(0), d(1970, 1, 1));
        assert_eq!(civil_from_days(11_016), d(2000, 2, 29));
        assert_eq!(civil_from_days(20_418), d(2025, 11, 26));
        // 2026-11-25T15:00:00Z is already the 26th in Jayapura.
        assert_eq!(today_in_indonesia(1_795_618_800_000.0), d(2026, 11, 26));
        assert_eq!(today_in_indonesia(1_795_618_799_000.0), d(2026, 11, 25));
        assert_eq!(today_in_indonesia(f64::NAN), None);
    }
}
