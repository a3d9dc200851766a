//! Property tests: the parser never panics, and parsing is stable under normalisation.

use dukcapil_core::{date::CivilDate, nik::parse_nik};
use proptest::prelude::*;

fn today() -> CivilDate {
    CivilDate::new(2026, 11, 26).unwrap()
}

proptest! {
    #[test]
    fn never_panics_on_any_string(s in any::<String>()) {
        let _ = parse_nik(&s, today());
    }

    #[test]
    fn never_panics_on_digit_soup(s in "[0-9 .\\-]{0,40}") {
        let _ = parse_nik(&s, today());
    }

    #[test]
    fn normalised_form_parses_to_the_same_nik(
        pp in prop::sample::select(dukcapil_core::regions::NIK_PROVINCES.to_vec()),
        rr in 1u8..=99, dd in 1u8..=99, day in 1u8..=31, female in any::<bool>(),
        month in 1u8..=12, yy in 0u8..=99, serial in 1u16..=9999,
        sep in prop::sample::select(vec!["", " ", ".", "-"]),
    ) {
        let day_code = if female { day + 40 } else { day };
        let raw = format!("{pp:02}{sep}{rr:02}{sep}{dd:02}{sep}{day_code:02}{month:02}{yy:02}{sep}{serial:04}");
        if let Ok(nik) = parse_nik(&raw, today()) {
            let again = parse_nik(&nik.normalized(), today()).unwrap();
            prop_assert_eq!(&again, &nik);
            prop_assert_eq!(nik.normalized().len(), 16);
            prop_assert!(nik.birth_date() <= today());
            prop_assert_eq!(nik.serial(), serial);
        } else {
            // Only a date that does not exist may fail here.
            prop_assert_eq!(parse_nik(&raw, today()).unwrap_err().code(), dukcapil_core::ErrorCode::NikBirthDate);
        }
    }
}
