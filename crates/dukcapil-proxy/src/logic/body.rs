//! The request body: content type, size caps (declared and read) and parsing into one shape.

use crate::logic::multipart::{boundary_from_params, parse_multipart};
use dukcapil_core::{
    contract::{parse_verify_request_json, upstream_request_body, validate_request},
    date::CivilDate,
    image::{check_image_bytes, encode_base64, MAX_IMAGE_BASE64_LEN, MAX_IMAGE_BYTES},
    nik::parse_nik,
    ErrorCode, Lang,
};

/// JSON: the base64 of the largest image plus 1/16 slack for escaped slashes (`\/`, as PHP
/// writes them), whitespace, a `data:` prefix and the NIK.
pub const MAX_JSON_BODY: usize = MAX_IMAGE_BASE64_LEN + MAX_IMAGE_BASE64_LEN / 16;
/// Multipart: the raw image plus room for the boundaries, part headers and the NIK.
pub const MAX_MULTIPART_BODY: usize = MAX_IMAGE_BYTES + 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Multipart { boundary: String },
}

impl BodyKind {
    /// The most bytes read from the client for this kind.
    pub fn cap(&self) -> usize {
        match self {
            BodyKind::Json => MAX_JSON_BODY,
            BodyKind::Multipart { .. } => MAX_MULTIPART_BODY,
        }
    }

    pub fn log_name(&self) -> &'static str {
        match self {
            BodyKind::Json => "json",
            BodyKind::Multipart { .. } => "multipart",
        }
    }
}

/// `application/json` (any `charset` must be UTF-8) or `multipart/form-data` with a
/// boundary; everything else is `UNSUPPORTED_MEDIA_TYPE`.
pub fn classify_content_type(content_type: Option<&str>) -> Result<BodyKind, ErrorCode> {
    let unsupported = ErrorCode::UnsupportedMediaType;
    let ct = content_type.ok_or(unsupported)?;
    let (essence, params) = ct.split_once(';').unwrap_or((ct, ""));
    let essence = essence.trim();
    if essence.eq_ignore_ascii_case("application/json") {
        let charset_ok = params.split(';').all(|p| match p.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
                v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            }
            _ => true,
        });
        return if charset_ok {
            Ok(BodyKind::Json)
        } else {
            Err(unsupported)
        };
    }
    if essence.eq_ignore_ascii_case("multipart/form-data") {
        let boundary = boundary_from_params(params).ok_or(ErrorCode::RequestInvalid)?;
        return Ok(BodyKind::Multipart { boundary });
    }
    Err(unsupported)
}

/// Refuses a declared length above `cap` before reading anything. The bytes actually read
/// are capped separately ([`BodyLimit`]), since the header can lie or be absent.
pub fn check_content_length(content_length: Option<&str>, cap: usize) -> Result<(), ErrorCode> {
    match content_length {
        None => Ok(()),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n <= cap as u64 => Ok(()),
            Ok(_) => Err(ErrorCode::PayloadTooLarge),
            Err(_) => Err(ErrorCode::RequestInvalid),
        },
    }
}

/// Accumulates body chunks up to a cap.
#[derive(Debug)]
pub struct BodyLimit {
    cap: usize,
    buf: Vec<u8>,
}

impl BodyLimit {
    pub fn new(cap: usize, declared: Option<&str>) -> BodyLimit {
        // Trust the declared length only as a capacity hint, never above the cap.
        let hint = declared
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0)
            .min(cap);
        BodyLimit {
            cap,
            buf: Vec::with_capacity(hint),
        }
    }

    /// `PAYLOAD_TOO_LARGE` as soon as the bytes read exceed the cap.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), ErrorCode> {
        if self.buf.len() + chunk.len() > self.cap {
            return Err(ErrorCode::PayloadTooLarge);
        }
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// A request that passed every check: what goes upstream (or to the sandbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRequest {
    /// The 16 digits, separators removed.
    pub nik: String,
    pub nik_masked: String,
    /// The JSON body for the upstream, built by the core from the checked NIK and image.
    pub upstream_body: Vec<u8>,
}

/// A refused request: the code, and a precise English message for the caller (never logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl From<ErrorCode> for Refusal {
    fn from(code: ErrorCode) -> Refusal {
        Refusal {
            code,
            message: code.message(Lang::En).to_string(),
        }
    }
}

/// Parses and validates a body with the core's rules (the same the browser applies).
pub fn check_body(
    kind: &BodyKind,
    body: &[u8],
    today: CivilDate,
) -> Result<CheckedRequest, Refusal> {
    let (id, image_base64) = match kind {
        BodyKind::Json => {
            let req = parse_verify_request_json(body)?;
            (req.id.unwrap_or_default(), req.image.unwrap_or_default())
        }
        BodyKind::Multipart { boundary } => {
            let form = parse_multipart(body, boundary)?;
            let id = form.id.unwrap_or_default();
            let image = form.image.unwrap_or_default();
            // NIK problems are reported first, as for JSON.
            if let Err(e) = parse_nik(&id, today) {
                return Err(Refusal {
                    code: e.code(),
                    message: e.message(Lang::En),
                });
            }
            check_image_bytes(&image)?;
            (id, encode_base64(&image))
        }
    };
    let valid = validate_request(&id, &image_base64, today).map_err(|e| Refusal {
        code: e.code(),
        message: e.message(Lang::En),
    })?;
    Ok(CheckedRequest {
        nik: valid.nik.normalized(),
        nik_masked: valid.nik.masked(),
        upstream_body: upstream_request_body(&valid.nik, &valid.image),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NIK: &str = "3273010101900001";

    fn today() -> CivilDate {
        CivilDate::new(2026, 11, 26).unwrap()
    }

    fn jpeg_b64() -> String {
        encode_base64(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5])
    }

    #[test]
    fn content_types() {
        let cases = [
            (Some("application/json"), Ok(BodyKind::Json)),
            (Some("Application/JSON; charset=UTF-8"), Ok(BodyKind::Json)),
            (
                Some("application/json; charset=latin1"),
                Err(ErrorCode::UnsupportedMediaType),
            ),
            (
                Some("multipart/form-data; boundary=abc"),
                Ok(BodyKind::Multipart {
                    boundary: "abc".into(),
                }),
            ),
            (Some("multipart/form-data"), Err(ErrorCode::RequestInvalid)),
            (Some("text/plain"), Err(ErrorCode::UnsupportedMediaType)),
            (
                Some("application/x-www-form-urlencoded"),
                Err(ErrorCode::UnsupportedMediaType),
            ),
            (
                Some("application/jsonx"),
                Err(ErrorCode::UnsupportedMediaType),
            ),
            (None, Err(ErrorCode::UnsupportedMediaType)),
        ];
        for (ct, want) in cases {
            assert_eq!(classify_content_type(ct), want, "{ct:?}");
        }
    }

    #[test]
    fn size_caps() {
        assert_eq!(check_content_length(Some("10"), 10), Ok(()));
        assert_eq!(
            check_content_length(Some("11"), 10),
            Err(ErrorCode::PayloadTooLarge)
        );
        assert_eq!(
            check_content_length(Some("99999999999999999999999"), 10),
            Err(ErrorCode::RequestInvalid)
        );
        assert_eq!(
            check_content_length(Some("-1"), 10),
            Err(ErrorCode::RequestInvalid)
        );
        assert_eq!(check_content_length(None, 10), Ok(()));
        // A lying content-length does not get past the reader.
        let mut limit = BodyLimit::new(10, Some("1"));
        assert_eq!(limit.push(&[0; 6]), Ok(()));
        assert_eq!(limit.push(&[0; 5]), Err(ErrorCode::PayloadTooLarge));
        const { assert!(MAX_JSON_BODY > MAX_IMAGE_BASE64_LEN && MAX_MULTIPART_BODY > MAX_IMAGE_BYTES) };
    }

    #[test]
    fn json_bodies() {
        let img = jpeg_b64();
        let ok = format!(r#"{{"id":"{NIK}","image":"{img}"}}"#);
        let checked = check_body(&BodyKind::Json, ok.as_bytes(), today()).unwrap();
        assert_eq!(checked.nik, NIK);
        assert_eq!(
            checked.upstream_body,
            format!(r#"{{"id":"{NIK}","image":"{img}"}}"#).into_bytes()
        );
        assert_eq!(checked.nik_masked, "3273**********01");
        let cases = [
            (
                r#"{"id":"3273010101900001"}"#.to_string(),
                ErrorCode::ImageMissing,
            ),
            (format!(r#"{{"image":"{img}"}}"#), ErrorCode::NikEmpty),
            (
                format!(r#"{{"id":"123","image":"{img}"}}"#),
                ErrorCode::NikLength,
            ),
            (
                format!(r#"{{"id":"{NIK}","image":"{img}","x":1}}"#),
                ErrorCode::RequestInvalid,
            ),
            (
                format!(r#"{{"id":{NIK},"image":"{img}"}}"#),
                ErrorCode::RequestInvalid,
            ),
            (
                format!(r#"{{"id":"{NIK}","id":"{NIK}","image":"{img}"}}"#),
                ErrorCode::RequestInvalid,
            ),
            (
                format!(r#"{{"id":"{NIK}","image":"@@@@"}}"#),
                ErrorCode::ImageBase64,
            ),
            (
                format!(r#"{{"id":"{NIK}","image":"R0lGODlh"}}"#),
                ErrorCode::ImageType,
            ),
            ("not json".to_string(), ErrorCode::RequestInvalid),
            ("[]".to_string(), ErrorCode::RequestInvalid),
        ];
        for (body, want) in cases {
            let got = check_body(&BodyKind::Json, body.as_bytes(), today()).map(|_| ());
            assert_eq!(
                got.map_err(|r| r.code),
                Err(want),
                "{}",
                &body[..body.len().min(60)]
            );
        }
    }

    #[test]
    fn multipart_bodies() {
        let kind = BodyKind::Multipart {
            boundary: "b".into(),
        };
        let mk = |id: &str, image: &[u8]| {
            let mut b = format!("--b\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n{id}\r\n--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x\"\r\n\r\n").into_bytes();
            b.extend_from_slice(image);
            b.extend_from_slice(b"\r\n--b--\r\n");
            b
        };
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 9, 9];
        let checked = check_body(&kind, &mk(NIK, &jpeg), today()).unwrap();
        let sent = format!(r#"{{"id":"{NIK}","image":"{}"}}"#, encode_base64(&jpeg));
        assert_eq!(checked.upstream_body, sent.into_bytes());
        let cases = [
            (mk("12", &jpeg), ErrorCode::NikLength),
            (mk(NIK, b""), ErrorCode::ImageMissing),
            (mk(NIK, b"GIF89a"), ErrorCode::ImageType),
            (mk("", b"GIF89a"), ErrorCode::NikEmpty),
        ];
        for (body, want) in cases {
            assert_eq!(
                check_body(&kind, &body, today()).map_err(|r| r.code),
                Err(want)
            );
        }
        let mut big = vec![0u8; MAX_IMAGE_BYTES + 1];
        big[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
        assert_eq!(
            check_body(&kind, &mk(NIK, &big), today()).map_err(|r| r.code),
            Err(ErrorCode::ImageTooLarge)
        );
    }
}
