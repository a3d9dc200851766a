//! The NIK (Nomor Induk Kependudukan): `PP RR DD DDMMYY SSSS`.
//!
//! Province, regency, district (Kemendagri codes), birth date with 40 added to the day for
//! women, and a serial. The parser takes a string, never a number: 16 digits exceed the
//! integers a JS `Number` holds exactly.

use crate::{
    date::CivilDate,
    regions::{self, RegencyName},
    ErrorCode, Lang,
};
use std::fmt;

/// The number of digits in a NIK.
pub const NIK_LEN: usize = 16;

/// Sex as encoded in the NIK's birth day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub const fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
}

/// A region named by a NIK: its dotted Kemendagri code and its name when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// `32`, `32.01` or `32.01.05`.
    pub code: String,
    /// `None` for codes our tables don't name (retired ones, or names compiled out).
    pub name: Option<&'static str>,
    /// The current code, when this one was retired after a province split.
    pub moved_to: Option<String>,
}

/// A valid, parsed NIK.
///
/// `Debug` masks the number so that a stray `{:?}` in a log never leaks it.
#[derive(Clone, PartialEq, Eq)]
pub struct Nik {
    digits: [u8; NIK_LEN],
    birth_date: CivilDate,
    sex: Sex,
}

/// Which part of the birth date is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirthDateProblem {
    /// Not 01–31 nor 41–71.
    Day(u8),
    /// Not 01–12.
    Month(u8),
    /// Day and month exist separately but not together in that year (31 April, 29 Feb 2001).
    NotInCalendar,
    /// After the reference date in both centuries.
    InFuture,
}

/// Why a NIK is invalid. Each variant maps to one stable [`ErrorCode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NikError {
    Empty,
    /// Not 16 digits once separators are removed.
    Length {
        found: usize,
    },
    /// A character that is neither an ASCII digit nor a separator; `position` is 1-based.
    NotDigits {
        position: usize,
        found: char,
    },
    Province {
        code: u8,
    },
    Regency,
    /// Strict regions only ([`parse_nik_strict`]): a regency code, dotted (`32.99`), that is
    /// not in the bundled tables (never issued, or too new for them).
    RegencyNotIssued {
        code: u16,
    },
    District,
    BirthDate(BirthDateProblem),
    Serial,
}

impl NikError {
    /// Every code a `NikError` can have, in catalogue order (the npm package's `NikErrorCode`
    /// is generated from it).
    pub const CODES: &'static [ErrorCode] = &[
        ErrorCode::NikEmpty,
        ErrorCode::NikLength,
        ErrorCode::NikNotDigits,
        ErrorCode::NikProvince,
        ErrorCode::NikRegency,
        ErrorCode::NikDistrict,
        ErrorCode::NikBirthDate,
        ErrorCode::NikSerial,
    ];

    pub const fn code(&self) -> ErrorCode {
        match self {
            NikError::Empty => ErrorCode::NikEmpty,
            NikError::Length { .. } => ErrorCode::NikLength,
            NikError::NotDigits { .. } => ErrorCode::NikNotDigits,
            NikError::Province { .. } => ErrorCode::NikProvince,
            NikError::Regency | NikError::RegencyNotIssued { .. } => ErrorCode::NikRegency,
            NikError::District => ErrorCode::NikDistrict,
            NikError::BirthDate(_) => ErrorCode::NikBirthDate,
            NikError::Serial => ErrorCode::NikSerial,
        }
    }

    /// A message naming what is wrong, for the person who typed the NIK.
    pub fn message(&self, lang: Lang) -> String {
        use BirthDateProblem as B;
        let en = lang == Lang::En;
        match *self {
            NikError::Empty => lang.pick("NIK wajib diisi.", "NIK is required.").into(),
            NikError::Length { found } if en => {
                format!("NIK must have 16 digits; it has {found}.")
            }
            NikError::Length { found } => format!("NIK harus 16 digit; terisi {found} digit."),
            NikError::NotDigits { position, found } => {
                let shown = printable(found);
                if en {
                    format!("NIK may contain only digits 0–9: character {position} is {shown}.")
                } else {
                    format!("NIK hanya boleh berisi angka 0–9: karakter ke-{position} adalah {shown}.")
                }
            }
            NikError::Province { code } if en => {
                format!("Province code {code:02} (digits 1–2) does not exist.")
            }
            NikError::Province { code } => {
                format!("Kode provinsi {code:02} (digit 1–2) tidak ada.")
            }
            NikError::Regency => lang
                .pick(
                    "Kode kabupaten/kota (digit 3–4) tidak boleh 00.",
                    "The regency/city code (digits 3–4) cannot be 00.",
                )
                .into(),
            NikError::RegencyNotIssued { code } if en => format!(
                "The regency/city code {:02}.{:02} (digits 1–4) is not a known regency or city.",
                code / 100,
                code % 100
            ),
            NikError::RegencyNotIssued { code } => format!(
                "Kode kabupaten/kota {:02}.{:02} (digit 1–4) tidak dikenal.",
                code / 100,
                code % 100
            ),
            NikError::District => lang
                .pick(
                    "Kode kecamatan (digit 5–6) tidak boleh 00.",
                    "The district code (digits 5–6) cannot be 00.",
                )
                .into(),
            NikError::BirthDate(B::Day(d)) if en => format!(
                "The birth day (digits 7–8) must be 01–31, or 41–71 for women; it is {d:02}."
            ),
            NikError::BirthDate(B::Day(d)) => format!(
                "Tanggal lahir (digit 7–8) harus 01–31, atau 41–71 untuk perempuan; tertulis {d:02}."
            ),
            NikError::BirthDate(B::Month(m)) if en => {
                format!("The birth month (digits 9–10) must be 01–12; it is {m:02}.")
            }
            NikError::BirthDate(B::Month(m)) => {
                format!("Bulan lahir (digit 9–10) harus 01–12; tertulis {m:02}.")
            }
            NikError::BirthDate(B::NotInCalendar) => lang
                .pick(
                    "Tanggal lahir (digit 7–12) tidak ada di kalender.",
                    "The birth date (digits 7–12) does not exist in the calendar.",
                )
                .into(),
            NikError::BirthDate(B::InFuture) => lang
                .pick(
                    "Tanggal lahir (digit 7–12) ada di masa depan.",
                    "The birth date (digits 7–12) lies in the future.",
                )
                .into(),
            NikError::Serial => lang
                .pick(
                    "Nomor urut (digit 13–16) tidak boleh 0000.",
                    "The serial number (digits 13–16) cannot be 0000.",
                )
                .into(),
        }
    }
}

/// Quotes a printable character; names invisible or control ones by code point.
fn printable(c: char) -> String {
    if c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
    {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("“{c}”")
    }
}

impl fmt::Display for NikError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for NikError {}

const fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '.' | '-')
}

fn pair(d: &[u8; NIK_LEN], at: usize) -> u8 {
    d[at] * 10 + d[at + 1]
}

/// Parses a NIK typed by a person. `today` is the reference date for the century of the
/// birth year: 20YY unless that would be after `today`, then 19YY.
///
/// ```
/// use dukcapil_core::{nik::parse_nik, date::CivilDate, ErrorCode};
/// let today = CivilDate::new(2026, 11, 26).unwrap();
/// let nik = parse_nik(" 3273-01-010190-0001 ", today).unwrap();
/// assert_eq!(nik.normalized(), "3273010101900001");
/// assert_eq!(nik.regency().name, Some("Kota Bandung"));
/// let err = parse_nik("327301010190000", today).unwrap_err();
/// assert_eq!(err.code(), ErrorCode::NikLength);
/// ```
pub fn parse_nik(input: &str, today: CivilDate) -> Result<Nik, NikError> {
    let trimmed = input.trim();
    let mut digits = [0u8; NIK_LEN];
    let mut count = 0usize;
    for (i, c) in trimmed.chars().enumerate() {
        if c.is_ascii_digit() {
            if let Some(slot) = digits.get_mut(count) {
                *slot = c as u8 - b'0';
            }
            count += 1;
        } else if !is_separator(c) {
            return Err(NikError::NotDigits {
                position: i + 1,
                found: c,
            });
        }
    }
    if count == 0 {
        return Err(NikError::Empty);
    }
    if count != NIK_LEN {
        return Err(NikError::Length { found: count });
    }
    let province = pair(&digits, 0);
    if !regions::is_nik_province(province) {
        return Err(NikError::Province { code: province });
    }
    if pair(&digits, 2) == 0 {
        return Err(NikError::Regency);
    }
    if pair(&digits, 4) == 0 {
        return Err(NikError::District);
    }
    let (birth_date, sex) = birth_date(&digits, today)?;
    if digits[12..].iter().all(|&d| d == 0) {
        return Err(NikError::Serial);
    }
    Ok(Nik {
        digits,
        birth_date,
        sex,
    })
}

fn birth_date(d: &[u8; NIK_LEN], today: CivilDate) -> Result<(CivilDate, Sex), NikError> {
    let raw_day = pair(d, 6);
    let (day, sex) = match raw_day {
        1..=31 => (raw_day, Sex::Male),
        41..=71 => (raw_day - 40, Sex::Female),
        _ => return Err(NikError::BirthDate(BirthDateProblem::Day(raw_day))),
    };
    let month = pair(d, 8);
    if !(1..=12).contains(&month) {
        return Err(NikError::BirthDate(BirthDateProblem::Month(month)));
    }
    let yy = u16::from(pair(d, 10));
    // 2000 is a leap year and 1900 is not, so each century is checked on its own.
    let recent = CivilDate::new(2000 + yy, month, day);
    let older = CivilDate::new(1900 + yy, month, day);
    match (recent, older) {
        (Some(date), _) if date <= today => Ok((date, sex)),
        (_, Some(date)) if date <= today => Ok((date, sex)),
        (None, None) => Err(NikError::BirthDate(BirthDateProblem::NotInCalendar)),
        _ => Err(NikError::BirthDate(BirthDateProblem::InFuture)),
    }
}

/// [`parse_nik`], and also refuses a regency code that is not in the bundled tables
/// ([`NikError::RegencyNotIssued`], code `NIK_REGENCY`), for forms that want to refuse codes
/// never issued. Codes are for life, and the tables list names, not validity: a code issued
/// after the tables were generated is refused too. Districts are not checked (their table is
/// too big for the browser).
///
/// ```
/// use dukcapil_core::{date::CivilDate, nik::{parse_nik, parse_nik_strict, NikError}};
/// let today = CivilDate::new(2026, 1, 1).unwrap();
/// assert!(parse_nik("3299010101900001", today).is_ok());
/// let err = parse_nik_strict("3299010101900001", today).unwrap_err();
/// assert_eq!(err, NikError::RegencyNotIssued { code: 3299 });
/// assert!(parse_nik_strict("9101010101900001", today).is_ok()); // retired, still valid
/// ```
#[cfg(feature = "region-names")]
pub fn parse_nik_strict(input: &str, today: CivilDate) -> Result<Nik, NikError> {
    let nik = parse_nik(input, today)?;
    let code = u16::from(pair(&nik.digits, 0)) * 100 + u16::from(pair(&nik.digits, 2));
    if regions::regency_name(code).is_none() {
        return Err(NikError::RegencyNotIssued { code });
    }
    Ok(nik)
}

/// Whether `input` is a valid NIK relative to `today`.
pub fn is_valid_nik(input: &str, today: CivilDate) -> bool {
    parse_nik(input, today).is_ok()
}

impl Nik {
    /// The 16 digits with separators removed.
    pub fn normalized(&self) -> String {
        self.digits.iter().map(|&d| char::from(b'0' + d)).collect()
    }

    fn code(&self, len: usize) -> String {
        let mut s = String::with_capacity(len + len / 2);
        for (i, &d) in self.digits[..len].iter().enumerate() {
            if i > 0 && i % 2 == 0 {
                s.push('.');
            }
            s.push(char::from(b'0' + d));
        }
        s
    }

    pub fn province(&self) -> Region {
        Region {
            code: self.code(2),
            name: regions::province_name(pair(&self.digits, 0)),
            moved_to: None,
        }
    }

    pub fn regency(&self) -> Region {
        let code = u16::from(pair(&self.digits, 0)) * 100 + u16::from(pair(&self.digits, 2));
        let found: Option<RegencyName> = regions::regency_name(code);
        Region {
            code: self.code(4),
            name: found.map(|r| r.name),
            moved_to: found
                .and_then(|r| r.moved_to)
                .map(|c| format!("{:02}.{:02}", c / 100, c % 100)),
        }
    }

    pub fn district(&self) -> Region {
        let code = self.digits[..6]
            .iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d));
        Region {
            code: self.code(6),
            name: regions::district_name(code),
            moved_to: None,
        }
    }

    pub fn birth_date(&self) -> CivilDate {
        self.birth_date
    }

    pub fn sex(&self) -> Sex {
        self.sex
    }

    /// The serial, 1–9999.
    pub fn serial(&self) -> u16 {
        self.digits[12..]
            .iter()
            .fold(0u16, |acc, &d| acc * 10 + u16::from(d))
    }

    /// The masked form for logs: see [`mask_nik`].
    pub fn masked(&self) -> String {
        mask_nik(&self.normalized())
    }
}

impl fmt::Debug for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nik")
            .field("masked", &self.masked())
            .finish_non_exhaustive()
    }
}

/// Masks a NIK for logs: the 4-digit region prefix and the last 2 digits, e.g.
/// `3201**********01`. Anything that is not 16 digits after removing separators reveals
/// nothing.
///
/// ```
/// assert_eq!(dukcapil_core::nik::mask_nik("3201-0101-9000-0101"), "3201**********01");
/// assert_eq!(dukcapil_core::nik::mask_nik("12345"), "****************");
/// ```
pub fn mask_nik(input: &str) -> String {
    let digits: Vec<char> = input.trim().chars().filter(|c| !is_separator(*c)).collect();
    if digits.len() != NIK_LEN || !digits.iter().all(char::is_ascii_digit) {
        return "*".repeat(NIK_LEN);
    }
    let mut out: String = digits[..4].iter().collect();
    out.push_str(&"*".repeat(NIK_LEN - 6));
    out.extend(&digits[NIK_LEN - 2..]);
    out
}
