//! The allocation-free base64 check agrees with the real decoder on any input.

use dukcapil_core::image::{base64_decoded_len, decode_base64, encode_base64};
use proptest::prelude::*;

proptest! {
    #[test]
    fn length_check_agrees_with_the_decoder(s in "[A-Za-z0-9+/=_\\- \\n]{0,64}") {
        prop_assert_eq!(base64_decoded_len(&s).ok(), decode_base64(&s).ok().map(|v| v.len()));
    }

    #[test]
    fn every_encoding_is_accepted_at_its_length(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let text = encode_base64(&bytes);
        prop_assert_eq!(base64_decoded_len(&text), Ok(bytes.len()));
    }
}
