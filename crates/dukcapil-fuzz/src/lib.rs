//! The checks each fuzz target runs, as plain functions, so that the seed corpus and every
//! crash input found so far also run as ordinary `cargo test` regression tests.

use dukcapil_core::{
    contract::{parse_upstream_response, parse_verify_request_json, validate_request},
    date::CivilDate,
    image::{base64_decoded_len, check_image_base64, decode_base64},
    nik::{mask_nik, parse_nik},
};

fn today() -> CivilDate {
    CivilDate::new(2026, 11, 26).unwrap_or_else(|| unreachable!("a real date"))
}

/// NIK parsing: never panics, and whatever parses is stable under normalisation and never
/// leaks more than 6 digits when masked.
pub fn nik(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(nik) = parse_nik(text, today()) {
        let normalized = nik.normalized();
        assert_eq!(normalized.len(), 16);
        assert_eq!(parse_nik(&normalized, today()).ok(), Some(nik.clone()));
        assert!(nik.birth_date() <= today());
    }
    // Masking reveals the region prefix and two trailing digits, or nothing.
    let shown = mask_nik(text).bytes().filter(u8::is_ascii_digit).count();
    assert!(shown == 0 || shown == 6, "mask shows {shown} digits");
}

/// Request parsing and validation, as the proxy runs it on a body.
pub fn request_json(data: &[u8]) {
    let Ok(req) = parse_verify_request_json(data) else {
        return;
    };
    let (id, image) = (req.id.unwrap_or_default(), req.image.unwrap_or_default());
    if let Ok(valid) = validate_request(&id, &image, today()) {
        // What we would forward must decode to what we measured.
        let decoded = decode_base64(valid.image.base64).unwrap_or_default();
        assert_eq!(decoded.len(), valid.image.decoded_len);
        assert!(decoded.len() <= dukcapil_core::image::MAX_IMAGE_BYTES);
    }
    // The allocation-free length check agrees with the real decoder.
    let stripped = image.as_str();
    assert_eq!(
        base64_decoded_len(stripped).ok(),
        decode_base64(stripped).ok().map(|v| v.len())
    );
    let _ = check_image_base64(stripped);
}

/// Upstream answers: any status with any body gives a verdict or a typed failure, and a
/// verdict always has a finite score within 0–100.
pub fn upstream_response(data: &[u8]) {
    let (status, body) = match data {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]) % 600, rest),
        _ => (200, data),
    };
    if let Ok(verdict) = parse_upstream_response(status, body) {
        assert_eq!(status, 200);
        assert!(verdict.score.is_finite() && (0.0..=100.0).contains(&verdict.score));
    }
}

/// Image decoding in the selfie pipeline: a JPEG within budget, the PDF unchanged, or a typed
/// error. Small limits keep each execution fast enough to explore.
pub fn selfie_decode(data: &[u8]) {
    use dukcapil_selfie::{prepare_from_file, SelfieOptions};
    let opts = SelfieOptions {
        max_dimension: 256,
        max_bytes: 20_000,
        quality: 0.8,
        max_pixels: 4_000_000,
    };
    match prepare_from_file(data, &opts) {
        Ok(out) if out.is_pdf() => assert_eq!(out.bytes, data),
        Ok(out) => {
            assert!(out.bytes.len() <= opts.max_bytes);
            assert!(out.bytes.starts_with(&[0xFF, 0xD8, 0xFF]));
            assert!(out.width.max(out.height) <= opts.max_dimension);
        }
        Err(e) => assert!(e.code().starts_with("SELFIE_")),
    }
}
