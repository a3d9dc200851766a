//! A strict `multipart/form-data` reader (RFC 7578) for exactly two parts: a text `id` and an
//! `image` file. Anything else is `REQUEST_INVALID`. The parts are borrowed from the body.

use crate::logic::params::{param, parse_params};
use dukcapil_core::ErrorCode;

/// The two fields of a multipart verification request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultipartForm<'a> {
    pub id: Option<&'a str>,
    /// The raw file bytes (not base64).
    pub image: Option<&'a [u8]>,
}

/// Headers of one part larger than this are refused.
const MAX_PART_HEADERS: usize = 4096;

/// The boundary from a `multipart/form-data` content type's parsed parameters (RFC 2046:
/// 1–70 characters, no trailing space).
pub fn boundary(params: &[(String, String)]) -> Option<String> {
    let value = param(params, "boundary")?;
    let ok = (1..=70).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b))
        && !value.ends_with(' ');
    ok.then(|| value.to_string())
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let mut at = from;
    // Skip to candidate first bytes: a 2 MB image must scan in well under the CPU budget.
    while at < haystack.len() {
        at += haystack[at..].iter().position(|&b| b == first)?;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// Parses the body. Duplicate or unknown field names, a missing closing delimiter, or a
/// non-UTF-8 `id` are all `REQUEST_INVALID`.
pub fn parse_multipart<'a>(body: &'a [u8], boundary: &str) -> Result<MultipartForm<'a>, ErrorCode> {
    let invalid = ErrorCode::RequestInvalid;
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    // The first delimiter may follow a preamble; later ones always follow CRLF.
    let mut pos = if body.starts_with(delimiter) {
        0
    } else {
        find(body, &[b"\r\n", delimiter].concat(), 0).ok_or(invalid)? + 2
    };
    let next_delim = [b"\r\n", delimiter].concat();
    let mut form = MultipartForm::default();
    loop {
        pos += delimiter.len();
        let rest = body.get(pos..).ok_or(invalid)?;
        if rest.starts_with(b"--") {
            return Ok(form); // close delimiter; the epilogue is ignored
        }
        // Transport padding (spaces/tabs) then CRLF.
        let pad = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        if !rest[pad..].starts_with(b"\r\n") {
            return Err(invalid);
        }
        let headers_start = pos + pad + 2;
        let headers_end = find(body, b"\r\n\r\n", headers_start).ok_or(invalid)?;
        if headers_end - headers_start > MAX_PART_HEADERS {
            return Err(invalid);
        }
        let headers =
            core::str::from_utf8(&body[headers_start..headers_end]).map_err(|_| invalid)?;
        let content_start = headers_end + 4;
        let content_end = find(body, &next_delim, content_start).ok_or(invalid)?;
        let content = &body[content_start..content_end];

        let mut name: Option<String> = None;
        for line in headers.split("\r\n") {
            let (key, value) = line.split_once(':').ok_or(invalid)?;
            if key.trim().eq_ignore_ascii_case("content-disposition") {
                // Quotes respected: `filename="x; name=id"` names no part `id`.
                let value = value.trim();
                let kind_len = value.find(';').unwrap_or(value.len());
                let params = parse_params(&value[kind_len..]).ok_or(invalid)?;
                if !value[..kind_len].trim().eq_ignore_ascii_case("form-data") || name.is_some() {
                    return Err(invalid);
                }
                name = Some(param(&params, "name").ok_or(invalid)?.to_string());
            } else if key.trim().eq_ignore_ascii_case("content-transfer-encoding") {
                // Deprecated by RFC 7578 and never sent by browsers.
                return Err(invalid);
            }
        }
        match name.ok_or(invalid)?.as_str() {
            "id" if form.id.is_none() => {
                form.id = Some(core::str::from_utf8(content).map_err(|_| invalid)?);
            }
            "image" if form.image.is_none() => form.image = Some(content),
            _ => return Err(invalid),
        }
        pos = content_end + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[(&str, Option<&str>, &[u8])], boundary: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for (name, filename, content) in parts {
            b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match filename {
                Some(f) => b.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
                ),
                None => b.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
            }
            b.extend_from_slice(content);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        b
    }

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, b'\r', b'\n', b'-', b'-', 0];

    #[test]
    fn reads_id_and_image() {
        let b = body(
            &[
                ("id", None, b"3273010101900001"),
                ("image", Some("s.jpg"), JPEG),
            ],
            "XyZ",
        );
        let form = parse_multipart(&b, "XyZ").unwrap();
        assert_eq!(form.id, Some("3273010101900001"));
        assert_eq!(form.image, Some(JPEG));
        // Preamble and missing fields.
        let mut pre = b"preamble\r\n".to_vec();
        pre.extend(body(&[("image", Some("blob"), JPEG)], "b"));
        let form = parse_multipart(&pre, "b").unwrap();
        assert_eq!((form.id, form.image), (None, Some(JPEG)));
        // A quoted filename that holds `; name=…` names nothing.
        let tricky = b"--b\r\nContent-Disposition: form-data; filename=\"x; name=id; y\"; name=\"image\"\r\n\r\nIMG\r\n--b--".to_vec();
        let form = parse_multipart(&tricky, "b").unwrap();
        assert_eq!((form.id, form.image), (None, Some(&b"IMG"[..])));
    }

    #[test]
    fn refuses_anything_else() {
        let dup = body(&[("id", None, b"1"), ("id", None, b"2")], "b");
        let unknown = body(&[("id", None, b"1"), ("extra", None, b"x")], "b");
        let bad_utf8 = body(&[("id", None, &[0xff, 0xfe])], "b");
        let mut unterminated = body(&[("id", None, b"1")], "b");
        unterminated.truncate(unterminated.len() - 8);
        let no_name = b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--".to_vec();
        let cte = b"--b\r\nContent-Disposition: form-data; name=\"id\"\r\nContent-Transfer-Encoding: base64\r\n\r\nx\r\n--b--".to_vec();
        let twice =
            b"--b\r\nContent-Disposition: form-data; name=\"id\"; name=\"image\"\r\n\r\nx\r\n--b--"
                .to_vec();
        let dup_image = body(&[("image", None, JPEG), ("image", None, JPEG)], "b");
        let two_dispositions = b"--b\r\nContent-Disposition: form-data; name=\"id\"\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\nx\r\n--b--".to_vec();
        let attachment =
            b"--b\r\nContent-Disposition: attachment; name=\"id\"\r\n\r\nx\r\n--b--".to_vec();
        let cases: [(&str, Vec<u8>); 12] = [
            ("image twice", dup_image),
            ("two dispositions", two_dispositions),
            ("not form-data", attachment),
            ("a parameter twice", twice),
            ("dup", dup),
            ("unknown", unknown),
            ("utf8", bad_utf8),
            ("unterminated", unterminated),
            ("no name", no_name),
            ("cte", cte),
            ("empty", Vec::new()),
            ("other boundary", body(&[("id", None, b"1")], "c")),
        ];
        for (what, b) in cases {
            assert_eq!(
                parse_multipart(&b, "b"),
                Err(ErrorCode::RequestInvalid),
                "{what}"
            );
        }
    }

    #[test]
    fn a_preamble_is_skipped_and_part_headers_are_capped() {
        let mut b = b"a preamble the browser never sends\r\n".to_vec();
        b.extend(body(&[("id", None, b"3273010101900001")], "b"));
        assert_eq!(
            parse_multipart(&b, "b").unwrap().id,
            Some("3273010101900001")
        );
        // Transport padding after a delimiter (RFC 2046) is skipped.
        let padded = b"--b \t \r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n7\r\n--b--";
        assert_eq!(parse_multipart(padded, "b").unwrap().id, Some("7"));
        // Headers of exactly MAX_PART_HEADERS bytes are read; one byte more is refused.
        let with_headers = |len: usize| {
            let disposition = "Content-Disposition: form-data; name=\"id\"\r\nX-Pad: ";
            let pad = "p".repeat(len - disposition.len());
            format!("--b\r\n{disposition}{pad}\r\n\r\n1\r\n--b--").into_bytes()
        };
        assert_eq!(
            parse_multipart(&with_headers(MAX_PART_HEADERS), "b")
                .unwrap()
                .id,
            Some("1")
        );
        assert_eq!(
            parse_multipart(&with_headers(MAX_PART_HEADERS + 1), "b"),
            Err(ErrorCode::RequestInvalid)
        );
    }

    #[test]
    fn never_panics_on_truncated_or_mangled_input() {
        let b = body(
            &[
                ("id", None, b"3273010101900001"),
                ("image", Some("s.jpg"), JPEG),
            ],
            "b",
        );
        for end in 0..=b.len() {
            let _ = parse_multipart(&b[..end], "b");
            let _ = parse_multipart(&b[end..], "b");
        }
        let mut seed = 0x2545_f491_u32;
        for _ in 0..2000 {
            let mut m = b.clone();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let i = seed as usize % m.len();
                m[i] = [b'-', b'\r', b'\n', b'"', b';', 0xff][(seed >> 8) as usize % 6];
            }
            let _ = parse_multipart(&m, "b");
        }
    }

    #[test]
    fn boundaries() {
        let cases = [
            ("; boundary=abc", Some("abc")),
            ("; charset=utf-8; Boundary=\"a b:c\"", Some("a b:c")),
            (
                "; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
                Some("----WebKitFormBoundary7MA4YWxkTrZu0gW"),
            ),
            ("", None),
            ("; boundary=", None),
            ("; boundary=\"\"", None),
            ("; boundary=\"a \"", None),
        ];
        for (params, want) in cases {
            let got = parse_params(params).and_then(|p| boundary(&p));
            assert_eq!(got.as_deref(), want, "{params}");
        }
        let long = format!("; boundary={}", "a".repeat(71));
        assert_eq!(parse_params(&long).and_then(|p| boundary(&p)), None);
    }
}
