//! Table-driven vectors for every NIK rule and edge.

use dukcapil_core::{
    date::CivilDate,
    nik::{mask_nik, parse_nik, BirthDateProblem, NikError},
    ErrorCode, Lang, Sex,
};

fn today() -> CivilDate {
    CivilDate::new(2026, 11, 26).unwrap()
}

#[test]
fn valid_niks_parse_to_the_right_parts() {
    // (input, normalized, birth date, sex, serial)
    let cases = [
        (
            "3273010101900001",
            "3273010101900001",
            "1990-01-01",
            Sex::Male,
            1,
        ),
        (
            "3273014101900001",
            "3273014101900001",
            "1990-01-01",
            Sex::Female,
            1,
        ),
        (
            "3273017112259999",
            "3273017112259999",
            "2025-12-31",
            Sex::Female,
            9999,
        ),
        (
            "  3273 0101 0190 0001\t",
            "3273010101900001",
            "1990-01-01",
            Sex::Male,
            1,
        ),
        (
            "32.73.01.010190.0001",
            "3273010101900001",
            "1990-01-01",
            Sex::Male,
            1,
        ),
        (
            "3273-01-010190-0001",
            "3273010101900001",
            "1990-01-01",
            Sex::Male,
            1,
        ),
        // Leap day in 2000 (a leap year) is valid.
        (
            "3273012902000001",
            "3273012902000001",
            "2000-02-29",
            Sex::Male,
            1,
        ),
        (
            "3273016902000001",
            "3273016902000001",
            "2000-02-29",
            Sex::Female,
            1,
        ),
        // Century from the reference date: 26-11-26 is today, so 2026; 27-11-26 would be
        // tomorrow, so 1926.
        (
            "3273012611260001",
            "3273012611260001",
            "2026-11-26",
            Sex::Male,
            1,
        ),
        (
            "3273012711260001",
            "3273012711260001",
            "1926-11-27",
            Sex::Male,
            1,
        ),
        (
            "3273010101270001",
            "3273010101270001",
            "1927-01-01",
            Sex::Male,
            1,
        ),
        (
            "3273010101000001",
            "3273010101000001",
            "2000-01-01",
            Sex::Male,
            1,
        ),
        (
            "3273013112990001",
            "3273013112990001",
            "1999-12-31",
            Sex::Male,
            1,
        ),
        // Every 2022 Papua province, and old 91xx/92xx codes that NIKs keep for life.
        (
            "9301010101900001",
            "9301010101900001",
            "1990-01-01",
            Sex::Male,
            1,
        ),
        (
            "9401010101900001",
            "9401010101900001",
            "1990-01-01",
            Sex::Male,
            1,
        ),
        (
            "9501010101900001",
            "9501010101900001",
            "1990-01-01",
            Sex::Male,
            1,
        ),
        (
            "9671010101900001",
            "9671010101900001",
            "1990-01-01",
            Sex::Male,
            1,
        ),
        (
            "9101010101900001",
            "9101010101900001",
            "1990-01-01",
            Sex::Male,
            1,
        ),
        (
            "9171022512990011",
            "9171022512990011",
            "1999-12-25",
            Sex::Male,
            11,
        ),
    ];
    for (input, normalized, date, sex, serial) in cases {
        let nik = parse_nik(input, today()).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(nik.normalized(), normalized, "{input}");
        assert_eq!(nik.birth_date().to_string(), date, "{input}");
        assert_eq!(nik.sex(), sex, "{input}");
        assert_eq!(nik.serial(), serial, "{input}");
    }
}

#[test]
fn invalid_niks_give_one_code_per_rule() {
    use BirthDateProblem as B;
    let cases: &[(&str, NikError)] = &[
        ("", NikError::Empty),
        ("   ", NikError::Empty),
        (" - . ", NikError::Empty),
        ("327301010190000", NikError::Length { found: 15 }),
        ("32730101019000011", NikError::Length { found: 17 }),
        ("3273010101900001 1", NikError::Length { found: 17 }),
        (
            "32730101019O0001",
            NikError::NotDigits {
                position: 12,
                found: 'O',
            },
        ),
        // Full-width and Arabic-Indic digits are not ASCII digits.
        (
            "３２73010101900001",
            NikError::NotDigits {
                position: 1,
                found: '３',
            },
        ),
        (
            "٣٢73010101900001",
            NikError::NotDigits {
                position: 1,
                found: '٣',
            },
        ),
        (
            "3273\u{200F}010101900001",
            NikError::NotDigits {
                position: 5,
                found: '\u{200F}',
            },
        ),
        (
            "3273\u{0}010101900001",
            NikError::NotDigits {
                position: 5,
                found: '\0',
            },
        ),
        (
            "3273/01/010190/0001",
            NikError::NotDigits {
                position: 5,
                found: '/',
            },
        ),
        (
            "+3273010101900001",
            NikError::NotDigits {
                position: 1,
                found: '+',
            },
        ),
        ("5473010101900001", NikError::Province { code: 54 }),
        ("2073010101900001", NikError::Province { code: 20 }),
        ("9973010101900001", NikError::Province { code: 99 }),
        ("0073010101900001", NikError::Province { code: 0 }),
        ("3200010101900001", NikError::Regency),
        ("3273000101900001", NikError::District),
        ("3273010001900001", NikError::BirthDate(B::Day(0))),
        ("3273013901900001", NikError::BirthDate(B::Day(39))),
        ("3273013201900001", NikError::BirthDate(B::Day(32))),
        ("3273014001900001", NikError::BirthDate(B::Day(40))),
        ("3273017201900001", NikError::BirthDate(B::Day(72))),
        ("3273010113900001", NikError::BirthDate(B::Month(13))),
        ("3273010100900001", NikError::BirthDate(B::Month(0))),
        ("3273013102900001", NikError::BirthDate(B::NotInCalendar)),
        ("3273013104900001", NikError::BirthDate(B::NotInCalendar)),
        ("3273017104900001", NikError::BirthDate(B::NotInCalendar)),
        // 29 Feb '01 exists in neither 1901 nor 2001.
        ("3273012902010001", NikError::BirthDate(B::NotInCalendar)),
        ("3273012902990001", NikError::BirthDate(B::NotInCalendar)),
        ("3273010101900000", NikError::Serial),
    ];
    for (input, want) in cases {
        assert_eq!(parse_nik(input, today()).err(), Some(*want), "{input:?}");
    }
    // The cases reach every code `NikError::CODES` lists (the npm package's `NikErrorCode`),
    // and no other.
    let mut reached: Vec<ErrorCode> = cases.iter().map(|(_, e)| e.code()).collect();
    reached.dedup();
    assert_eq!(reached, NikError::CODES);
}

#[test]
fn birth_dates_are_never_in_the_future() {
    // With a reference date in 1999, 29-02-00 is 2000 (future), and 1900-02-29 never was.
    let ref_1999 = CivilDate::new(1999, 6, 1).unwrap();
    assert_eq!(
        parse_nik("3273012902000001", ref_1999).err(),
        Some(NikError::BirthDate(BirthDateProblem::InFuture))
    );
    // 1 March '00 falls back to 1900, which exists.
    let nik = parse_nik("3273010103000001", ref_1999).unwrap();
    assert_eq!(nik.birth_date().to_string(), "1900-03-01");
    let early = CivilDate::new(1950, 1, 1).unwrap();
    assert_eq!(
        parse_nik("3273010101600001", early).err(),
        Some(NikError::BirthDate(BirthDateProblem::InFuture))
    );
    // The 1900s fallback is taken when 20YY is tomorrow.
    let nik = parse_nik("3273012711260001", today()).unwrap();
    assert!(nik.birth_date() <= today());
}

#[test]
fn messages_name_the_part_in_both_languages() {
    let cases: &[(&str, ErrorCode, &str, &str)] = &[
        ("123", ErrorCode::NikLength, "it has 3", "terisi 3 digit"),
        (
            "3273a",
            ErrorCode::NikNotDigits,
            "character 5 is “a”",
            "karakter ke-5 adalah “a”",
        ),
        ("3273\u{200F}", ErrorCode::NikNotDigits, "U+200F", "U+200F"),
        (
            "5473010101900001",
            ErrorCode::NikProvince,
            "Province code 54",
            "Kode provinsi 54",
        ),
        (
            "3200010101900001",
            ErrorCode::NikRegency,
            "digits 3–4",
            "digit 3–4",
        ),
        (
            "3273000101900001",
            ErrorCode::NikDistrict,
            "digits 5–6",
            "digit 5–6",
        ),
        (
            "3273013901900001",
            ErrorCode::NikBirthDate,
            "it is 39",
            "tertulis 39",
        ),
        (
            "3273010113900001",
            ErrorCode::NikBirthDate,
            "digits 9–10",
            "digit 9–10",
        ),
        ("3273010101900000", ErrorCode::NikSerial, "0000", "0000"),
    ];
    for (input, code, en, id) in cases {
        let err = parse_nik(input, today()).unwrap_err();
        assert_eq!(err.code(), *code, "{input:?}");
        assert!(
            err.message(Lang::En).contains(en),
            "{}",
            err.message(Lang::En)
        );
        assert!(
            err.message(Lang::Id).contains(id),
            "{}",
            err.message(Lang::Id)
        );
    }
    // parse_nik_strict's refusal (with the region tables), in each language.
    let err = NikError::RegencyNotIssued { code: 3299 };
    assert_eq!(
        err.message(Lang::En),
        "The regency/city code 32.99 (digits 1–4) is not a known regency or city."
    );
    assert_eq!(
        err.message(Lang::Id),
        "Kode kabupaten/kota 32.99 (digit 1–4) tidak dikenal."
    );
}

#[test]
fn regions_are_named_or_reported_unknown_never_rejected() {
    let nik = parse_nik("3171010101900001", today()).unwrap();
    assert_eq!(nik.province().name, Some("Daerah Khusus Ibukota Jakarta"));
    assert_eq!(nik.regency().code, "31.71");
    assert_eq!(nik.regency().name, Some("Kota Administrasi Jakarta Pusat"));
    assert_eq!(nik.district().code, "31.71.01");

    // A regency code nobody has used still parses; its name is unknown.
    let unknown = parse_nik("3299990101900001", today()).unwrap();
    assert_eq!(unknown.province().name, Some("Jawa Barat"));
    assert_eq!(unknown.regency().name, None);
    assert_eq!(unknown.district().name, None);

    // Merauke kept 91.01 in NIKs issued before the 2022 split.
    let old = parse_nik("9101010101900001", today()).unwrap();
    assert_eq!(old.province().name, Some("Papua"));
    assert_eq!(old.regency().name, Some("Kabupaten Merauke"));
    assert_eq!(old.regency().moved_to.as_deref(), Some("93.01"));
}

#[cfg(feature = "district-names")]
#[test]
fn district_names_when_enabled() {
    let nik = parse_nik("1101010101900001", today()).unwrap();
    assert_eq!(nik.district().name, Some("Bakongan"));
}

#[test]
fn masking_shows_at_most_the_region_and_two_digits() {
    let cases = [
        ("3201010101900101", "3201**********01"),
        (" 3201 0101 0190 0101 ", "3201**********01"),
        ("320101010190010", "****************"),
        ("32010101019001011", "****************"),
        ("３２01010101900101", "****************"),
        ("", "****************"),
    ];
    for (input, want) in cases {
        assert_eq!(mask_nik(input), want, "{input:?}");
    }
    let nik = parse_nik("3201010101900101", today()).unwrap();
    let debug = format!("{nik:?}");
    assert!(
        !debug.contains("3201010101900101") && debug.contains("3201**********01"),
        "{debug}"
    );
}

#[test]
fn is_valid_nik_agrees_with_the_parser() {
    use dukcapil_core::nik::is_valid_nik;
    for (nik, valid) in [
        ("3273010101900001", true),
        ("3273-0101-0190-0001", true),
        ("3273010101900000", false),
        ("327301010190000", false),
        ("", false),
    ] {
        assert_eq!(is_valid_nik(nik, today()), valid, "{nik:?}");
        assert_eq!(parse_nik(nik, today()).is_ok(), valid, "{nik:?}");
    }
}

#[test]
fn sex_names_and_error_display() {
    assert_eq!(Sex::Male.as_str(), "male");
    assert_eq!(Sex::Female.as_str(), "female");
    let err = parse_nik("327301010190", today()).unwrap_err();
    assert_eq!(err.to_string(), err.message(Lang::En));
    assert_eq!(err.to_string(), "NIK must have 16 digits; it has 12.");
}

#[test]
fn a_wrong_character_is_quoted_or_named_by_code_point() {
    // Invisible characters are named, never printed: the person could not see them.
    let cases = [
        ("32730101019000a1", "“a”"),
        ("327301010190\u{0}001", "U+0000"),
        ("327301010190\t001", "U+0009"),
        ("3273010101900\u{3000}01", "U+3000"), // ideographic space: whitespace, not control
        ("3273010101900\u{200B}01", "U+200B"), // zero-width space: neither
        ("3273010101900\u{202E}01", "U+202E"),
        ("3273010101900\u{2067}01", "U+2067"),
        ("3273010101900\u{FEFF}01", "U+FEFF"),
        ("3273010101900é01", "“é”"),
    ];
    for (input, shown) in cases {
        let msg = parse_nik(input, today()).unwrap_err().message(Lang::En);
        assert!(msg.ends_with(&format!("is {shown}.")), "{input:?}: {msg}");
    }
}
