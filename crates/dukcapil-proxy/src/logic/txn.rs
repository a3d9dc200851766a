//! The caller's `transactionId`: validated before it goes into headers, logs and upstream, and
//! masked in logs where it holds a NIK.

use dukcapil_core::{contract::request, date::CivilDate, nik::parse_nik, ErrorCode};

/// `Ok(Some(id))` for a valid header, `Ok(None)` when absent (the proxy generates one),
/// `TRANSACTION_ID_INVALID` otherwise, by the core's rule (the browser applies the same).
pub fn validate_transaction_id(header: Option<&str>) -> Result<Option<&str>, ErrorCode> {
    header
        .map(|id| request::validate_transaction_id(id).map(|()| id))
        .transpose()
}

/// The id as the log line shows it. A caller may put a NIK in its own transaction ids
/// (`kyc-3273010101900001`), so every 16-digit stretch that parses as a NIK (separators
/// `.` and `-` allowed, as in a NIK typed by hand) is masked like the log's `nik`.
pub fn log_form(id: &str, today: CivilDate) -> String {
    let b = id.as_bytes();
    let mut out = b.to_vec();
    let mut at = 0;
    while at < b.len() {
        if !b[at].is_ascii_digit() {
            at += 1;
            continue;
        }
        // A stretch of digits and NIK separators, starting at a digit.
        let end = at
            + b[at..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-'))
                .count();
        let digits: Vec<usize> = (at..end).filter(|&i| b[i].is_ascii_digit()).collect();
        for window in digits.windows(16) {
            let (first, last) = (window[0], window[15]);
            if parse_nik(&id[first..=last], today).is_ok() {
                for &i in &window[4..14] {
                    out[i] = b'*';
                }
            }
        }
        at = end;
    }
    // Only ASCII digits were replaced by ASCII, so this is the same valid UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids() {
        let long = "a".repeat(128);
        let too_long = "a".repeat(129);
        let ok: &[&str] = &[
            "a",
            "txn-123",
            "A.b_c:d-E",
            &long,
            "550e8400-e29b-41d4-a716-446655440000",
        ];
        for id in ok {
            assert_eq!(validate_transaction_id(Some(id)), Ok(Some(*id)));
        }
        let bad: &[&str] = &[
            "", " ", "a b", "a/b", "a\nb", "ä", "a\"b", "<x>", &too_long, "a,b",
        ];
        for id in bad {
            assert_eq!(
                validate_transaction_id(Some(id)),
                Err(ErrorCode::TransactionIdInvalid),
                "{id:?}"
            );
        }
        assert_eq!(validate_transaction_id(None), Ok(None));
    }

    #[test]
    fn niks_in_transaction_ids_are_masked_in_logs() {
        let today = CivilDate::new(2026, 11, 26).unwrap();
        let cases = [
            ("kyc-3273010101900001", "kyc-3273**********01"),
            ("3273010101900001", "3273**********01"),
            ("a3273010101900001:retry.2", "a3273**********01:retry.2"),
            ("3273-0101-0190-0001", "3273-****-****-**01"),
            ("32730101019000019", "3273**********019"),
            // Not a NIK: an impossible birth date, too few digits, a UUID.
            ("order-1234567890123456", "order-1234567890123456"),
            ("327301010190001", "327301010190001"),
            (
                "550e8400-e29b-41d4-a716-446655440000",
                "550e8400-e29b-41d4-a716-446655440000",
            ),
        ];
        for (id, want) in cases {
            assert_eq!(log_form(id, today), want, "{id}");
        }
    }
}
