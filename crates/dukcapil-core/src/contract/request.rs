//! The request: what a caller sends (`{"id", "image"}` and a `transactionId`), the checks that
//! decide whether it may cost an upstream call, and the body forwarded upstream.

use crate::{
    date::CivilDate,
    image::{alphabet_run, check_image_base64_scanned, Base64Scan, CheckedImage},
    nik::{parse_nik, Nik, NikError},
    ErrorCode, Lang,
};
use serde::Deserialize;
use std::borrow::Cow;

/// The request body `{ "id": "<NIK>", "image": "<base64>" }`, borrowed from the body where it
/// had no escapes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyRequest<'a> {
    pub id: Option<Cow<'a, str>>,
    /// The image text as bytes. When the body was read by the fast path these are ASCII and
    /// were never copied.
    pub image: Option<Cow<'a, [u8]>>,
    /// How the image text ends, when the reader scanned it anyway (see [`Base64Scan`]).
    pub image_scan: Option<Base64Scan>,
}

/// A string that borrows from the body when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

// By hand, because derived struct impls also accept a JSON array (`["id", "image"]`).
impl<'de> Deserialize<'de> for VerifyRequest<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = VerifyRequest<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object with `id` and `image` strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let mut id: Option<Option<Text<'de>>> = None;
                let mut image: Option<Option<Text<'de>>> = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    let slot = match key.as_ref() {
                        "id" => &mut id,
                        "image" => &mut image,
                        other => return Err(A::Error::unknown_field(other, &["id", "image"])),
                    };
                    if slot.is_some() {
                        return Err(A::Error::custom("duplicate field"));
                    }
                    *slot = Some(map.next_value()?);
                }
                Ok(VerifyRequest {
                    id: id.flatten().map(|t| t.0),
                    image: image.flatten().map(|t| match t.0 {
                        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
                    }),
                    image_scan: None,
                })
            }
        }
        d.deserialize_map(Fields)
    }
}

/// Reads a JSON request body. Unknown fields, duplicate keys, wrong types and trailing data
/// are `REQUEST_INVALID`; absent fields are reported by [`validate_request`].
///
/// A body in the plain form every client sends (an object of unescaped ASCII strings) is read
/// in one pass that also checks the image's base64; anything else goes to serde_json, which
/// decides. Both read the same JSON the same way (a property test holds them to it).
pub fn parse_verify_request_json(body: &[u8]) -> Result<VerifyRequest<'_>, ErrorCode> {
    if let Some(req) = read_plain(body) {
        return Ok(req);
    }
    serde_json::from_slice(body).map_err(|_| ErrorCode::RequestInvalid)
}

/// The one-pass reader: `None` means "not plain, ask serde_json", never "invalid".
fn read_plain(body: &[u8]) -> Option<VerifyRequest<'_>> {
    let mut p = Plain { b: body, at: 0 };
    p.skip_ws();
    p.eat(b'{')?;
    p.skip_ws();
    let mut req = VerifyRequest::default();
    if p.eat(b'}').is_none() {
        loop {
            let (key, _) = p.string()?;
            p.skip_ws();
            p.eat(b':')?;
            p.skip_ws();
            let (value, scan) = p.string()?;
            match key {
                b"id" if req.id.is_none() => {
                    req.id = Some(Cow::Borrowed(core::str::from_utf8(value).ok()?));
                }
                b"image" if req.image.is_none() => {
                    req.image = Some(Cow::Borrowed(value));
                    req.image_scan = Some(scan);
                }
                _ => return None,
            }
            p.skip_ws();
            match p.next()? {
                b',' => p.skip_ws(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    p.skip_ws();
    (p.at == body.len()).then_some(req)
}

struct Plain<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Plain<'a> {
    fn skip_ws(&mut self) {
        while matches!(self.b.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn next(&mut self) -> Option<u8> {
        let c = *self.b.get(self.at)?;
        self.at += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.at) == Some(&c)).then(|| self.at += 1)
    }

    /// A string of printable ASCII with no escapes, and how it ends as base64. Base64 runs
    /// are skipped a block at a time, so this is also the image's base64 check.
    fn string(&mut self) -> Option<(&'a [u8], Base64Scan)> {
        self.eat(b'"')?;
        let start = self.at;
        // Where the current run of alphabet bytes began.
        let mut segment = start;
        loop {
            self.at += alphabet_run(&self.b[self.at..]);
            let alphabet_end = self.at;
            let pad = self.b[self.at..].iter().take_while(|&&c| c == b'=').count();
            self.at += pad;
            match *self.b.get(self.at)? {
                b'"' => {
                    let text = &self.b[start..self.at];
                    self.at += 1;
                    let scan = Base64Scan {
                        start: segment - start,
                        alphabet: alphabet_end - segment,
                        pad,
                    };
                    return Some((text, scan));
                }
                // Padding in the middle: the run starts over after it.
                _ if pad > 0 => segment = self.at,
                b'\\' => return None,
                c if (0x20..0x7f).contains(&c) => {
                    self.at += 1;
                    segment = self.at;
                }
                _ => return None,
            }
        }
    }
}

/// Why a request is refused before anything is sent upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    Nik(NikError),
    Image(ErrorCode),
}

impl RequestError {
    pub const fn code(&self) -> ErrorCode {
        match self {
            RequestError::Nik(e) => e.code(),
            RequestError::Image(code) => *code,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            RequestError::Nik(e) => e.message(lang),
            RequestError::Image(code) => code.message(lang).into(),
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for RequestError {}

/// A request that passed every check and may be forwarded.
#[derive(Debug, Clone)]
pub struct ValidRequest<'a> {
    pub nik: Nik,
    pub image: CheckedImage<'a>,
}

/// Checks a NIK and a base64 image (a `data:` URL is accepted) with the same rules the
/// browser applies, so nothing the upstream would refuse costs a call. NIK problems are
/// reported before image problems.
pub fn validate_request<'a>(
    id: &str,
    image: &'a str,
    today: CivilDate,
) -> Result<ValidRequest<'a>, RequestError> {
    validate_request_scanned(id, image.as_bytes(), None, today)
}

/// [`validate_request`] for an image given as bytes, with the reader's scan of it if any.
pub fn validate_request_scanned<'a>(
    id: &str,
    image: &'a [u8],
    scan: Option<Base64Scan>,
    today: CivilDate,
) -> Result<ValidRequest<'a>, RequestError> {
    let nik = parse_nik(id, today).map_err(RequestError::Nik)?;
    let image = check_image_base64_scanned(image, scan).map_err(RequestError::Image)?;
    Ok(ValidRequest { nik, image })
}

impl<'a> VerifyRequest<'a> {
    /// Validates what was read (absent fields count as empty).
    pub fn validate(&self, today: CivilDate) -> Result<ValidRequest<'_>, RequestError> {
        let id = self.id.as_deref().unwrap_or_default();
        let image = self.image.as_deref().unwrap_or_default();
        validate_request_scanned(id, image, self.image_scan, today)
    }
}

/// Longest accepted `transactionId`.
pub const MAX_TRANSACTION_ID_LEN: usize = 128;

/// The one rule for identifiers that go into headers and logs (our `transactionId`, the
/// upstream's request id): 1–128 characters of `A–Z a–z 0–9 . _ : -`.
pub fn is_safe_id(id: &str) -> bool {
    (1..=MAX_TRANSACTION_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Checks a caller's `transactionId` (sent as a header upstream) by [`is_safe_id`], else
/// [`ErrorCode::TransactionIdInvalid`].
///
/// ```
/// use dukcapil_core::{contract::request::validate_transaction_id, ErrorCode};
/// assert_eq!(validate_transaction_id("order-42:retry.1"), Ok(()));
/// assert_eq!(validate_transaction_id("a b"), Err(ErrorCode::TransactionIdInvalid));
/// ```
pub fn validate_transaction_id(id: &str) -> Result<(), ErrorCode> {
    if is_safe_id(id) {
        Ok(())
    } else {
        Err(ErrorCode::TransactionIdInvalid)
    }
}

/// The upstream body is `{"id":"<16 digits>","image":"` + the base64 + this.
pub const UPSTREAM_BODY_TAIL: &[u8] = br#""}"#;

/// The upstream body up to the image: `{"id":"<16 digits>","image":"`.
///
/// A NIK is 16 ASCII digits and a checked image is standard base64, so neither needs
/// escaping and the proxy can splice the image's bytes in where they lie.
pub fn upstream_body_head(nik: &Nik) -> Vec<u8> {
    let mut head = Vec::with_capacity(32);
    head.extend_from_slice(br#"{"id":""#);
    head.extend_from_slice(nik.normalized().as_bytes());
    head.extend_from_slice(br#"","image":""#);
    head
}

/// The JSON body sent upstream, `{"id":"<16 digits>","image":"<base64>"}`, as bytes.
pub fn upstream_request_body(nik: &Nik, image: &CheckedImage<'_>) -> Vec<u8> {
    let head = upstream_body_head(nik);
    let mut body = Vec::with_capacity(head.len() + image.base64.len() + UPSTREAM_BODY_TAIL.len());
    body.extend_from_slice(&head);
    body.extend_from_slice(image.base64);
    body.extend_from_slice(UPSTREAM_BODY_TAIL);
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn transaction_ids() {
        let long = "x".repeat(MAX_TRANSACTION_ID_LEN);
        let too_long = "x".repeat(MAX_TRANSACTION_ID_LEN + 1);
        let cases: &[(&str, bool)] = &[
            ("a", true),
            ("A1b2.C3_d4:E5-f6", true),
            ("550e8400-e29b-41d4-a716-446655440000", true),
            ("...", true),
            (&long, true),
            ("", false),
            (&too_long, false),
            ("a b", false),
            (" a", false),
            ("a\n", false),
            ("a/b", false),
            ("a+b", false),
            ("a=b", false),
            ("é", false),
            ("a\u{0}", false),
            ("ａ", false),
        ];
        for &(id, ok) in cases {
            let want = if ok {
                Ok(())
            } else {
                Err(ErrorCode::TransactionIdInvalid)
            };
            assert_eq!(validate_transaction_id(id), want, "{id:?}");
            assert_eq!(is_safe_id(id), ok);
        }
    }

    fn serde_only(body: &[u8]) -> Result<(Option<String>, Option<Vec<u8>>), ErrorCode> {
        serde_json::from_slice::<VerifyRequest>(body)
            .map(|r| (r.id.map(Cow::into_owned), r.image.map(Cow::into_owned)))
            .map_err(|_| ErrorCode::RequestInvalid)
    }

    #[test]
    fn the_plain_reader_borrows_and_scans() {
        let body =
            br#" { "image" : "data:image/jpeg;base64,/9j/4AAQ==" ,"id":"3273 0101 0190 0001"} "#;
        let req = read_plain(body).unwrap();
        assert!(matches!(req.image, Some(Cow::Borrowed(_))));
        assert_eq!(req.id.as_deref(), Some("3273 0101 0190 0001"));
        let image = req.image.as_deref().unwrap();
        assert_eq!(image, b"data:image/jpeg;base64,/9j/4AAQ==");
        assert_eq!(
            req.image_scan,
            Some(Base64Scan {
                start: 23,
                alphabet: 8,
                pad: 2
            })
        );
        // Not plain: left to serde_json, which reads escapes, nulls and the rest.
        for body in [
            &br#"{"id":"1","image":"a\/b"}"#[..],
            br#"{"id":null}"#,
            br#"{"id":"1","id":"2"}"#,
            br#"{"image":"QQ==","image":"QUJD"}"#,
            br#"{"id":"1","extra":"x"}"#,
            br#"{"id":"caf\u00e9"}"#,
            "{\"id\":\"café\"}".as_bytes(),
            b"{\"id\":\"a\tb\"}",
            br#"{"id":"1",}"#,
            br#"{"id":"1"} x"#,
            br#"["id","image"]"#,
            b"",
        ] {
            assert_eq!(read_plain(body), None, "{}", String::from_utf8_lossy(body));
        }
        assert_eq!(read_plain(b"{}"), Some(VerifyRequest::default()));
        // Padding in the middle: the scan starts again right after it.
        for (image, start, alphabet, pad) in [
            ("QQ==QUJD", 4, 4, 0),
            ("QQ==QQ==", 4, 2, 2),
            ("QQ=:QUJD", 4, 4, 0),
        ] {
            let body = format!(r#"{{"image":"{image}"}}"#);
            let req = read_plain(body.as_bytes()).unwrap();
            let want = Base64Scan {
                start,
                alphabet,
                pad,
            };
            assert_eq!(req.image_scan, Some(want), "{image}");
        }
    }

    #[test]
    fn request_errors_say_what_their_code_says() {
        let nik = parse_nik("12", CivilDate::new(2026, 1, 1).unwrap()).unwrap_err();
        for (err, code) in [
            (RequestError::Nik(nik), ErrorCode::NikLength),
            (
                RequestError::Image(ErrorCode::ImageType),
                ErrorCode::ImageType,
            ),
        ] {
            assert_eq!(err.code(), code);
            assert_eq!(err.to_string(), err.message(Lang::En));
            assert!(!err.message(Lang::Id).is_empty());
            assert_ne!(err.message(Lang::Id), err.message(Lang::En));
        }
        assert_eq!(
            RequestError::Image(ErrorCode::ImageType).message(Lang::Id),
            ErrorCode::ImageType.message(Lang::Id)
        );
        assert_eq!(
            RequestError::Nik(nik).message(Lang::En),
            nik.message(Lang::En)
        );
    }

    /// Objects whose string values mix base64, padding, escapes, `data:` prefixes, control
    /// and non-ASCII characters, with stray whitespace, keys and punctuation: plain for the
    /// fast reader or not, valid JSON or not.
    fn body_text() -> impl Strategy<Value = String> {
        let inner = prop::sample::select(vec![
            "QUJD",
            "QQ==",
            "=",
            "A",
            "+/",
            "\\/",
            "\\u0041",
            "\\\"",
            "data:image/png;base64,",
            "é",
            "\t",
            " ",
            "-",
            ":",
            ",",
            "3273010101900001",
        ]);
        let string = prop::collection::vec(inner, 0..6).prop_map(|v| format!("\"{}\"", v.concat()));
        let value =
            prop_oneof![4 => string, 1 => Just("null".to_string()), 1 => Just("1".to_string())];
        let key = prop::sample::select(vec!["\"id\"", "\"image\"", "\"x\"", "\"i\\u0064\""]);
        let ws = prop::sample::select(vec!["", " ", "\n", "\t", "\r\n"]);
        let member = (key, ws.clone(), value, ws.clone())
            .prop_map(|(k, w1, v, w2)| format!("{k}{w1}:{w2}{v}"));
        let tail = prop::sample::select(vec!["", "", "", " ", "x", ",", "}"]);
        (ws, prop::collection::vec(member, 0..4), tail)
            .prop_map(|(w, members, tail)| format!("{w}{{{}}}{w}{tail}", members.join(",")))
    }

    proptest! {
        #[test]
        fn the_plain_reader_agrees_with_serde(text in body_text()) {
            if let Some(req) = read_plain(text.as_bytes()) {
                let want = serde_only(text.as_bytes());
                let got = (
                    req.id.map(Cow::into_owned),
                    req.image.map(Cow::into_owned),
                );
                prop_assert_eq!(Ok(got), want);
                if let (Some(scan), Some(image)) = (req.image_scan, read_plain(text.as_bytes()).and_then(|r| r.image)) {
                    // The scan describes the text exactly.
                    let tail = &image[scan.start..];
                    prop_assert_eq!(tail.len(), scan.alphabet + scan.pad);
                    prop_assert_eq!(alphabet_run(tail), scan.alphabet);
                    prop_assert!(tail[scan.alphabet..].iter().all(|&c| c == b'='));
                }
            }
        }

        #[test]
        fn wrapped_bodies_take_the_plain_path(id in "[0-9 .-]{0,20}", image in "[A-Za-z0-9+/]{0,80}={0,2}") {
            let body = format!(r#"{{"id":"{id}","image":"{image}"}}"#);
            let req = parse_verify_request_json(body.as_bytes()).unwrap();
            prop_assert!(req.image_scan.is_some());
            prop_assert_eq!(req.id.as_deref(), Some(id.as_str()));
            prop_assert_eq!(req.image.as_deref(), Some(image.as_bytes()));
        }
    }
}
