//! The checks each fuzz target runs, as plain functions, so that the seed corpus and every
//! crash input found so far also run as ordinary `cargo test` regression tests.

use dukcapil_core::{
    contract::{
        envelope::read_envelope,
        request::{parse_verify_request_json, upstream_request_body, validate_request},
        upstream::parse_upstream_response,
    },
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
    // The one-pass reader's scan changes nothing: validating from strings agrees.
    let scanned = req
        .validate(today())
        .map(|v| (v.nik, v.image.base64.to_vec()))
        .map_err(|e| e.code());
    let id = req.id.as_deref().unwrap_or_default();
    let image = String::from_utf8(req.image.as_deref().unwrap_or_default().to_vec());
    let Ok(image) = image else {
        assert!(scanned.is_err(), "accepted an image that is not UTF-8");
        return;
    };
    let plain = validate_request(id, &image, today())
        .map(|v| (v.nik, v.image.base64.to_vec()))
        .map_err(|e| e.code());
    assert_eq!(scanned, plain);
    if let Ok(valid) = validate_request(id, &image, today()) {
        // What we would forward must decode to what we measured.
        let decoded = decode_base64(valid.image.base64).unwrap_or_default();
        assert_eq!(decoded.len(), valid.image.decoded_len);
        // The spliced upstream body is valid JSON carrying exactly these values.
        let sent = upstream_image(&upstream_request_body(&valid.nik, &valid.image));
        assert_eq!(sent, decoded);
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

/// Upstream answers: any status with any body gives a verdict or a typed failure whose code
/// the upstream can cause, and a verdict always has a finite score within 0–100. Our own
/// envelope reader never takes a verdict the vendor reader would refuse.
pub fn upstream_response(data: &[u8]) {
    let (status, body) = match data {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]) % 600, rest),
        _ => (200, data),
    };
    match parse_upstream_response(status, body) {
        Ok(verdict) => {
            assert_eq!(status, 200);
            assert!(verdict.score.is_finite() && (0.0..=100.0).contains(&verdict.score));
        }
        Err(f) => assert!(f.code.upstream(), "{}", f.code),
    }
    if let Ok(verdict) = read_envelope(status, body) {
        assert_eq!(status, 200);
        assert!(verdict.score.is_finite() && (0.0..=100.0).contains(&verdict.score));
        assert!(parse_upstream_response(status, body).is_ok());
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

/// The proxy's multipart reader and body checks. The input's first line (when there is one
/// within 200 bytes) is the content type's parameters, e.g. `; boundary=b`; the rest is the
/// body. A parsed form re-encodes to the same form, and an accepted body forwards exactly the
/// NIK and image it carried.
pub fn multipart(data: &[u8]) {
    use dukcapil_core::image::{check_image_bytes, MAX_IMAGE_BYTES};
    use dukcapil_proxy::logic::{
        body::{check_body, classify_content_type, BodyKind, UpstreamBody},
        multipart::parse_multipart,
    };
    let split = data.iter().take(200).position(|&b| b == b'\n');
    let (kind, body) = match split.map(|i| (&data[..i], &data[i + 1..])) {
        Some((params, body)) => {
            let Ok(params) = std::str::from_utf8(params) else {
                return;
            };
            let ct = format!("multipart/form-data{params}");
            match classify_content_type(Some(&ct)) {
                Ok(kind @ BodyKind::Multipart { .. }) => (kind, body),
                Ok(BodyKind::Json) => unreachable!("a multipart type classified as JSON"),
                Err(_) => return,
            }
        }
        None => (
            BodyKind::Multipart {
                boundary: "b".into(),
            },
            data,
        ),
    };
    let BodyKind::Multipart { boundary } = &kind else {
        return;
    };
    assert!((1..=70).contains(&boundary.len()));
    let parsed = parse_multipart(body, boundary);
    if let Ok(form) = &parsed {
        // What was read contains no delimiter, so a canonical re-encoding reads back the same.
        let mut again = Vec::new();
        if let Some(id) = form.id {
            again.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n{id}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some(image) = form.image {
            again.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x\"\r\n\r\n")
                    .as_bytes(),
            );
            again.extend_from_slice(image);
            again.extend_from_slice(b"\r\n");
        }
        again.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        assert_eq!(parse_multipart(&again, boundary).as_ref(), Ok(form));
    }
    match check_body(&kind, body, today()) {
        Ok(checked) => {
            let form =
                parsed.unwrap_or_else(|e| panic!("accepted a body the reader refuses: {e:?}"));
            assert_eq!(checked.nik.len(), 16);
            assert!(checked.nik.bytes().all(|b| b.is_ascii_digit()));
            assert!(!checked.nik_masked.contains(&checked.nik[4..14]));
            let UpstreamBody::Built(sent) = &checked.upstream else {
                panic!("a multipart body is always built anew");
            };
            let image = upstream_image(sent);
            assert_eq!(Some(&image[..]), form.image);
            assert!(image.len() <= MAX_IMAGE_BYTES);
            assert!(check_image_bytes(&image).is_ok());
        }
        Err(refusal) => {
            assert!(refusal.reason.codes().contains(&refusal.code));
            // A malformed body is a request problem, never a server one.
            assert!(refusal.code.http_status() < 500, "{:?}", refusal.code);
        }
    }
}

/// The fixed secret and clock of the `jwt` target.
pub const JWT_SECRET: &[u8] = b"fuzz-secret-0123456789abcdef-0123";
pub const JWT_NOW: i64 = 1_800_000_000;

/// HS256 over `input`, computed here independently of the proxy's verifier.
fn hs256(input: &[u8], secret: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

/// JWT verification with a fixed secret and clock. The first byte picks a mode:
/// - `0..=127`: the rest is a token from outside. It may only be accepted if its signature
///   is, recomputed here, the HS256 of its first two parts under the secret, with header
///   `alg` exactly `HS256`, and if its claims pass the time rules.
/// - `128..=191`: the rest is a claims text the target signs itself; then one byte of that
///   token, picked by the input, is changed. The original may be accepted (if its claims
///   pass); the changed token never.
/// - `192..=255`: the rest is claims signed with another secret: never accepted.
pub fn jwt(data: &[u8]) {
    use base64::Engine as _;
    use dukcapil_proxy::logic::{
        jwt::{
            bearer_token, check_nik, check_txn, sign_hs256, verify_hs256, LEEWAY_S, MAX_LIFETIME_S,
        },
        refusal::Reason,
    };
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let time_rules_hold = |c: &dukcapil_proxy::logic::jwt::Claims| {
        assert!(c.exp > c.iat && c.exp - c.iat <= MAX_LIFETIME_S);
        assert!(JWT_NOW <= c.exp + LEEWAY_S && c.iat <= JWT_NOW + LEEWAY_S);
        // Bindings never panic, and a binding to this very transaction holds.
        let _ = check_nik(c, "3273010101900001");
        if let Some(txn) = &c.txn {
            assert_eq!(check_txn(c, txn), Ok(()));
        }
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match mode {
        0..=127 => {
            let header = format!("Bearer {text}");
            let token = bearer_token(Some(&header)).unwrap_or(text);
            if let Ok(claims) = verify_hs256(token, JWT_SECRET, JWT_NOW) {
                let parts: Vec<&str> = token.split('.').collect();
                assert_eq!(parts.len(), 3);
                let signing_input = format!("{}.{}", parts[0], parts[1]);
                let signature = b64.decode(parts[2]).unwrap_or_default();
                assert_eq!(
                    signature,
                    hs256(signing_input.as_bytes(), JWT_SECRET),
                    "accepted a token not signed with the secret"
                );
                let header = b64.decode(parts[0]).unwrap_or_default();
                let header: serde_json::Value = serde_json::from_slice(&header).unwrap_or_default();
                assert_eq!(header.get("alg").and_then(|a| a.as_str()), Some("HS256"));
                time_rules_hold(&claims);
            }
        }
        128..=191 => {
            let token = sign_hs256(text, JWT_SECRET);
            if let Ok(claims) = verify_hs256(&token, JWT_SECRET, JWT_NOW) {
                time_rules_hold(&claims);
            }
            // Change one byte of the token to another printable one.
            let Some((&pick, _)) = rest.split_last() else {
                return;
            };
            let mut bytes = token.into_bytes();
            let at = usize::from(pick) * 7919 % bytes.len();
            let replacement = b"AQgw_-.=+/ "[usize::from(mode) % 11];
            if bytes[at] == replacement {
                return;
            }
            bytes[at] = replacement;
            let Ok(tampered) = String::from_utf8(bytes) else {
                return;
            };
            let got = verify_hs256(&tampered, JWT_SECRET, JWT_NOW);
            assert!(got.is_err(), "accepted a tampered token");
        }
        _ => {
            let other: Vec<u8> = rest.iter().take(8).map(|b| b ^ 0x5a).collect();
            if other == JWT_SECRET {
                return;
            }
            let token = sign_hs256(text, &other);
            let got = verify_hs256(&token, JWT_SECRET, JWT_NOW);
            assert!(
                matches!(got, Err(Reason::TokenSignature | Reason::TokenMalformed)),
                "another secret's token: {got:?}"
            );
        }
    }
}

/// The decoded image inside a body built for the upstream, which must be exactly
/// `{"id", "image"}` with valid base64.
fn upstream_image(body: &[u8]) -> Vec<u8> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sent {
        id: String,
        image: String,
    }
    let sent: Sent = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{e}"));
    assert!(sent.id.len() == 16 && sent.id.bytes().all(|b| b.is_ascii_digit()));
    decode_base64(&sent.image).unwrap_or_else(|e| panic!("{e:?}"))
}
