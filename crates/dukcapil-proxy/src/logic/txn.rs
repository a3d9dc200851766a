//! The caller's `transactionId`, validated before it goes into headers, logs and upstream.

use dukcapil_core::{contract, ErrorCode};

/// `Ok(Some(id))` for a valid header, `Ok(None)` when absent (the proxy generates one),
/// `TRANSACTION_ID_INVALID` otherwise, by the core's rule (the browser applies the same).
pub fn validate_transaction_id(header: Option<&str>) -> Result<Option<&str>, ErrorCode> {
    header
        .map(|id| contract::validate_transaction_id(id).map(|()| id))
        .transpose()
}

/// Formats 16 random bytes as a UUID version 4 (RFC 9562), lower case.
pub fn uuid_v4_from_bytes(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{byte:02x}"));
    }
    s
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
    fn uuid_shape() {
        let u = uuid_v4_from_bytes([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(validate_transaction_id(Some(&u)), Ok(Some(u.as_str())));
    }
}
