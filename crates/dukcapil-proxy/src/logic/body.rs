//! The request body: content type, size caps (declared and read), the checks, and how the
//! upstream body is made from it without copying the image where it can be avoided.

use crate::logic::{
    multipart::{boundary, parse_multipart},
    params::{param, parse_params},
    refusal::{Reason, Refusal},
};
use dukcapil_core::{
    contract::request::{
        parse_verify_request_json, upstream_body_head, upstream_request_body, RequestError,
        ValidRequest, UPSTREAM_BODY_TAIL,
    },
    date::CivilDate,
    image::{
        check_image_bytes, encode_base64, CheckedImage, MAX_IMAGE_BASE64_LEN, MAX_IMAGE_BYTES,
    },
    nik::parse_nik,
};
use std::{borrow::Cow, ops::Range};

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
/// boundary. Parameters are read with quotes respected, and each may appear once.
pub fn classify_content_type(content_type: Option<&str>) -> Result<BodyKind, Refusal> {
    let ct = content_type.ok_or(Reason::ContentTypeUnsupported)?;
    let (essence, params) = ct.split_at(ct.find(';').unwrap_or(ct.len()));
    let essence = essence.trim();
    let json = essence.eq_ignore_ascii_case("application/json");
    let multipart = essence.eq_ignore_ascii_case("multipart/form-data");
    if !json && !multipart {
        return Err(Reason::ContentTypeUnsupported.into());
    }
    let params = parse_params(params).ok_or(Reason::ContentTypeInvalid)?;
    if json {
        return match param(&params, "charset") {
            Some(c) if !c.eq_ignore_ascii_case("utf-8") => {
                Err(Reason::ContentTypeUnsupported.into())
            }
            _ => Ok(BodyKind::Json),
        };
    }
    let boundary = boundary(&params).ok_or(Reason::ContentTypeInvalid)?;
    Ok(BodyKind::Multipart { boundary })
}

/// The declared length, refused before reading anything when it is over `cap`. The bytes
/// actually read are capped separately ([`BodyLimit`]), since the header can lie or be absent.
pub fn check_content_length(
    content_length: Option<&str>,
    cap: usize,
) -> Result<Option<usize>, Refusal> {
    match content_length {
        None => Ok(None),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n <= cap as u64 => Ok(Some(n as usize)),
            Ok(_) => Err(Reason::DeclaredTooLarge.into()),
            Err(_) => Err(Reason::DeclaredLengthInvalid.into()),
        },
    }
}

/// Counts the bytes of a streamed body against its cap.
#[derive(Debug)]
pub struct BodyLimit {
    cap: usize,
    read: usize,
}

impl BodyLimit {
    pub fn new(cap: usize) -> BodyLimit {
        BodyLimit { cap, read: 0 }
    }

    /// The most bytes admitted.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// `body_too_large` as soon as the bytes read exceed the cap.
    pub fn admit(&mut self, chunk_len: usize) -> Result<(), Refusal> {
        self.read = self.read.saturating_add(chunk_len);
        if self.read > self.cap {
            return Err(Reason::BodyTooLarge.into());
        }
        Ok(())
    }
}

/// How the upstream body is made from the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamBody {
    /// The caller's body is already byte for byte what goes upstream (our browser module
    /// sends exactly this): forward it as it is.
    Original,
    /// `head`, then the caller's bytes in `image` (checked base64), then `tail`.
    Splice {
        head: Vec<u8>,
        image: Range<usize>,
        tail: &'static [u8],
    },
    /// A body built here: from a multipart file, or from an image string that had escapes.
    Built(Vec<u8>),
}

/// A request that passed every body check: what goes upstream (or to the sandbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRequest {
    /// The 16 digits, separators removed.
    pub nik: String,
    pub nik_masked: String,
    pub upstream: UpstreamBody,
}

/// Where `part` lies within `whole`, if it is a sub-slice of it (compared by address).
fn range_within(whole: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

fn checked(valid: &ValidRequest<'_>, upstream: UpstreamBody) -> CheckedRequest {
    CheckedRequest {
        nik: valid.nik.normalized(),
        nik_masked: valid.nik.masked(),
        upstream,
    }
}

/// Parses and validates a body with the core's rules (the same the browser applies).
pub fn check_body(
    kind: &BodyKind,
    body: &[u8],
    today: CivilDate,
) -> Result<CheckedRequest, Refusal> {
    let malformed = |_| Refusal::from(Reason::BodyMalformed);
    match kind {
        BodyKind::Json => {
            let req = parse_verify_request_json(body).map_err(malformed)?;
            let valid = req.validate(today)?;
            let upstream = match (&req.image, range_within(body, valid.image.base64)) {
                (Some(Cow::Borrowed(_)), Some(image)) => {
                    let head = upstream_body_head(&valid.nik);
                    let same =
                        body[..image.start] == head[..] && body[image.end..] == *UPSTREAM_BODY_TAIL;
                    if same {
                        UpstreamBody::Original
                    } else {
                        UpstreamBody::Splice {
                            head,
                            image,
                            tail: UPSTREAM_BODY_TAIL,
                        }
                    }
                }
                _ => UpstreamBody::Built(upstream_request_body(&valid.nik, &valid.image)),
            };
            Ok(checked(&valid, upstream))
        }
        BodyKind::Multipart { boundary } => {
            let form = parse_multipart(body, boundary).map_err(malformed)?;
            let id = form.id.unwrap_or_default();
            let image = form.image.unwrap_or_default();
            // NIK problems are reported first, as for JSON.
            let nik = parse_nik(id, today).map_err(RequestError::Nik)?;
            let kind = check_image_bytes(image).map_err(RequestError::Image)?;
            // Our own encoding of checked bytes: canonical base64 by construction.
            let base64 = encode_base64(image);
            let valid = ValidRequest {
                nik,
                image: CheckedImage {
                    base64: base64.as_bytes(),
                    kind,
                    decoded_len: image.len(),
                },
            };
            let upstream = UpstreamBody::Built(upstream_request_body(&valid.nik, &valid.image));
            Ok(checked(&valid, upstream))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dukcapil_core::ErrorCode;

    const NIK: &str = "3273010101900001";

    fn today() -> CivilDate {
        CivilDate::new(2026, 11, 26).unwrap()
    }

    fn jpeg_b64() -> String {
        encode_base64(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5])
    }

    /// The body a checked request sends upstream, made as the glue makes it.
    fn sent(body: &[u8], c: &CheckedRequest) -> Vec<u8> {
        match &c.upstream {
            UpstreamBody::Original => body.to_vec(),
            UpstreamBody::Splice { head, image, tail } => {
                [&head[..], &body[image.clone()], tail].concat()
            }
            UpstreamBody::Built(b) => b.clone(),
        }
    }

    #[test]
    fn caps_are_the_image_limit_plus_their_documented_room() {
        // 2,666,668 base64 characters and 1/16 of that again; 2,000,000 bytes and 16 KiB.
        assert_eq!(MAX_JSON_BODY, 2_666_668 + 166_666);
        assert_eq!(MAX_MULTIPART_BODY, 2_000_000 + 16_384);
        let mut limit = BodyLimit::new(10);
        assert_eq!(limit.cap(), 10);
        assert_eq!(limit.admit(4), Ok(()));
        assert_eq!(limit.admit(6), Ok(()), "exactly the cap is admitted");
        assert_eq!(limit.admit(1), Err(Reason::BodyTooLarge.into()));
        assert_eq!(BodyLimit::new(0).admit(1), Err(Reason::BodyTooLarge.into()));
    }

    #[test]
    fn content_types() {
        let m = |b: &str| Ok(BodyKind::Multipart { boundary: b.into() });
        let cases = [
            (Some("application/json"), Ok(BodyKind::Json)),
            (Some("Application/JSON; charset=UTF-8"), Ok(BodyKind::Json)),
            (
                Some("application/json; charset=\"utf-8\""),
                Ok(BodyKind::Json),
            ),
            (
                Some("application/json; charset=latin1"),
                Err(Reason::ContentTypeUnsupported),
            ),
            (
                Some("application/json; charset=utf-8; charset=latin1"),
                Err(Reason::ContentTypeInvalid),
            ),
            (Some("multipart/form-data; boundary=abc"), m("abc")),
            (Some("multipart/form-data; boundary=\"a:b=c\""), m("a:b=c")),
            (
                Some("multipart/form-data; boundary=a; boundary=b"),
                Err(Reason::ContentTypeInvalid),
            ),
            (Some("multipart/form-data"), Err(Reason::ContentTypeInvalid)),
            (Some("text/plain"), Err(Reason::ContentTypeUnsupported)),
            (
                Some("application/x-www-form-urlencoded"),
                Err(Reason::ContentTypeUnsupported),
            ),
            (
                Some("application/jsonx"),
                Err(Reason::ContentTypeUnsupported),
            ),
            (None, Err(Reason::ContentTypeUnsupported)),
        ];
        for (ct, want) in cases {
            let got = classify_content_type(ct).map_err(|r| r.reason);
            assert_eq!(got, want, "{ct:?}");
        }
        let invalid = classify_content_type(Some("multipart/form-data")).unwrap_err();
        assert_eq!(invalid.code, ErrorCode::RequestInvalid);
    }

    #[test]
    fn size_caps() {
        let cl = |v, cap| check_content_length(v, cap).map_err(|r| r.reason);
        assert_eq!(cl(Some("10"), 10), Ok(Some(10)));
        assert_eq!(cl(Some("11"), 10), Err(Reason::DeclaredTooLarge));
        assert_eq!(
            cl(Some("99999999999999999999999"), 10),
            Err(Reason::DeclaredLengthInvalid)
        );
        assert_eq!(cl(Some("-1"), 10), Err(Reason::DeclaredLengthInvalid));
        assert_eq!(cl(None, 10), Ok(None));
        // A lying content-length does not get past the reader.
        let mut limit = BodyLimit::new(10);
        assert_eq!(limit.admit(6), Ok(()));
        assert_eq!(
            limit.admit(5).map_err(|r| r.reason),
            Err(Reason::BodyTooLarge)
        );
        const { assert!(MAX_JSON_BODY > MAX_IMAGE_BASE64_LEN && MAX_MULTIPART_BODY > MAX_IMAGE_BYTES) };
    }

    #[test]
    fn json_bodies_and_how_they_go_upstream() {
        let img = jpeg_b64();
        let canonical = format!(r#"{{"id":"{NIK}","image":"{img}"}}"#);
        let cases = [
            (canonical.clone(), "original"),
            (format!(r#"{{"image":"{img}","id":"{NIK}"}}"#), "splice"),
            (
                format!(
                    r#"{{ "id": "3273 0101 0190 0001", "image": "data:image/jpeg;base64,{img}" }}"#
                ),
                "splice",
            ),
            (
                format!(r#"{{"id":"{NIK}","image":"{}"}}"#, img.replace('/', "\\/")),
                "built",
            ),
        ];
        for (body, how) in cases {
            let c = check_body(&BodyKind::Json, body.as_bytes(), today()).unwrap();
            let got = match c.upstream {
                UpstreamBody::Original => "original",
                UpstreamBody::Splice { .. } => "splice",
                UpstreamBody::Built(_) => "built",
            };
            assert_eq!(got, how, "{body}");
            assert_eq!(sent(body.as_bytes(), &c), canonical.as_bytes(), "{body}");
            assert_eq!(
                (c.nik.as_str(), c.nik_masked.as_str()),
                (NIK, "3273**********01")
            );
        }
        let cases = [
            (
                format!(r#"{{"id":"{NIK}"}}"#),
                ErrorCode::ImageMissing,
                Reason::ImageRefused,
            ),
            (
                format!(r#"{{"image":"{img}"}}"#),
                ErrorCode::NikEmpty,
                Reason::NikRefused,
            ),
            (
                format!(r#"{{"id":"123","image":"{img}"}}"#),
                ErrorCode::NikLength,
                Reason::NikRefused,
            ),
            (
                format!(r#"{{"id":"{NIK}","image":"{img}","x":1}}"#),
                ErrorCode::RequestInvalid,
                Reason::BodyMalformed,
            ),
            (
                format!(r#"{{"id":{NIK},"image":"{img}"}}"#),
                ErrorCode::RequestInvalid,
                Reason::BodyMalformed,
            ),
            (
                format!(r#"{{"id":"{NIK}","id":"{NIK}","image":"{img}"}}"#),
                ErrorCode::RequestInvalid,
                Reason::BodyMalformed,
            ),
            (
                format!(r#"{{"id":"{NIK}","image":"@@@@"}}"#),
                ErrorCode::ImageBase64,
                Reason::ImageRefused,
            ),
            (
                format!(r#"{{"id":"{NIK}","image":"R0lGODlh"}}"#),
                ErrorCode::ImageType,
                Reason::ImageRefused,
            ),
            (
                "not json".to_string(),
                ErrorCode::RequestInvalid,
                Reason::BodyMalformed,
            ),
            (
                "[]".to_string(),
                ErrorCode::RequestInvalid,
                Reason::BodyMalformed,
            ),
        ];
        for (body, code, reason) in cases {
            let got = check_body(&BodyKind::Json, body.as_bytes(), today()).map(|_| ());
            assert_eq!(
                got.map_err(|r| (r.code, r.reason)),
                Err((code, reason)),
                "{}",
                &body[..body.len().min(60)]
            );
        }
        // The precise message names the problem.
        let r = check_body(&BodyKind::Json, br#"{"id":"32a","image":""}"#, today()).unwrap_err();
        assert!(r.message.unwrap().contains("character"));
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
        let body = mk(NIK, &jpeg);
        let checked = check_body(&kind, &body, today()).unwrap();
        let want = format!(r#"{{"id":"{NIK}","image":"{}"}}"#, encode_base64(&jpeg));
        assert_eq!(sent(&body, &checked), want.into_bytes());
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
