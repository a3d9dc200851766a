//! Image limits and checks shared by the browser pipeline and the proxy.
//!
//! The vendor's limit ("larger than 2M") is ambiguous, so we stay under the stricter reading:
//! at most 2,000,000 *decoded* bytes.

use crate::ErrorCode;

use base64::Engine as _;

/// The largest image, in decoded bytes, that is ever sent upstream.
pub const MAX_IMAGE_BYTES: usize = 2_000_000;

/// The longest base64 text that can hold [`MAX_IMAGE_BYTES`].
pub const MAX_IMAGE_BASE64_LEN: usize = MAX_IMAGE_BYTES.div_ceil(3) * 4;

/// File types the upstream accepts, recognised by their magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    Jpeg,
    Png,
    Pdf,
}

impl ImageKind {
    pub const fn mime_type(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
            ImageKind::Pdf => "application/pdf",
        }
    }
}

/// Bytes needed by [`detect_image_kind`] to decide.
pub const MAGIC_LEN: usize = 8;

/// Recognises JPEG, PNG and PDF from the start of a file.
pub fn detect_image_kind(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageKind::Png)
    } else if bytes.starts_with(b"%PDF-") {
        Some(ImageKind::Pdf)
    } else {
        None
    }
}

/// Strips a `data:<mime>;base64,` prefix if there is one. Any other `data:` form is an error,
/// since the upstream takes raw base64 only.
pub fn strip_data_url(text: &[u8]) -> Result<&[u8], ErrorCode> {
    let Some(rest) = text.strip_prefix(b"data:") else {
        return Ok(text);
    };
    let comma = rest
        .iter()
        .position(|&c| c == b',')
        .ok_or(ErrorCode::ImageBase64)?;
    let (header, payload) = (&rest[..comma], &rest[comma + 1..]);
    let mime = header
        .strip_suffix(b";base64")
        .ok_or(ErrorCode::ImageBase64)?;
    let mime_ok = mime.eq_ignore_ascii_case(b"application/pdf")
        || (mime.len() > 6 && mime[..6].eq_ignore_ascii_case(b"image/"));
    if !mime_ok {
        return Err(ErrorCode::ImageType);
    }
    Ok(payload)
}

/// Whether `c` is in the standard base64 alphabet (`A–Z a–z 0–9 + /`), without a branch or a
/// table, so that loops over it vectorise.
#[inline(always)]
const fn in_alphabet(c: u8) -> bool {
    // `| 0x20` folds A–Z onto a–z and maps no other byte into a–z.
    ((c | 0x20).wrapping_sub(b'a') < 26) | (c.wrapping_sub(b'0') < 10) | (c == b'+') | (c == b'/')
}

/// The length of the run of standard-alphabet bytes at the start of `bytes`.
///
/// This is the proxy's hot loop (up to 2.7 MB per request): 64-byte blocks are checked with
/// no early exit inside, which the compiler turns into SIMD (wasm `simd128`, SSE2).
pub fn alphabet_run(bytes: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let mut at = 0;
    for block in bytes.chunks_exact(BLOCK) {
        let all = block.iter().fold(true, |ok, &c| ok & in_alphabet(c));
        if !all {
            break;
        }
        at += BLOCK;
    }
    at + bytes[at..].iter().take_while(|&&c| in_alphabet(c)).count()
}

/// The sextet value of an alphabet byte.
const fn sextet(c: u8) -> u8 {
    match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    }
}

/// How a text ends, found in one forward scan: from `start`, `alphabet` bytes of the standard
/// alphabet, then `pad` `=` bytes, then the end of the text. A JSON reader that scans the image
/// string anyway records this, so the image check need not scan it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Base64Scan {
    pub start: usize,
    pub alphabet: usize,
    pub pad: usize,
}

impl Base64Scan {
    /// Scans `b` from its start; `None` when it is not alphabet bytes then padding.
    pub fn of(b: &[u8]) -> Option<Base64Scan> {
        let alphabet = alphabet_run(b);
        let pad = b[alphabet..].iter().take_while(|&&c| c == b'=').count();
        (alphabet + pad == b.len()).then_some(Base64Scan {
            start: 0,
            alphabet,
            pad,
        })
    }

    /// The decoded length of canonical, padded base64 whose alphabet part is `alphabet` (the
    /// last `self.alphabet` bytes before the padding).
    fn decoded_len(self, alphabet: &[u8]) -> Result<usize, ErrorCode> {
        let total = self.alphabet + self.pad;
        // (Padding after fewer than 2 symbols cannot make a multiple of 4 with `pad <= 2`.)
        if !total.is_multiple_of(4) || self.pad > 2 {
            return Err(ErrorCode::ImageBase64);
        }
        // Canonical encodings leave the unused low bits of the last symbol zero.
        let unused_mask = match self.pad {
            1 => 0b0000_0011,
            2 => 0b0000_1111,
            _ => 0,
        };
        let last = alphabet.last().map_or(0, |&c| sextet(c));
        if last & unused_mask != 0 {
            return Err(ErrorCode::ImageBase64);
        }
        Ok(total / 4 * 3 - self.pad)
    }
}

/// The decoded length of canonical, padded, standard-alphabet base64, checked without
/// allocating. Whitespace, the URL-safe alphabet, missing padding and non-zero trailing bits
/// are all `IMAGE_BASE64`: exactly what [`decode_base64`] accepts.
pub fn base64_decoded_len(text: &str) -> Result<usize, ErrorCode> {
    let scan = Base64Scan::of(text.as_bytes()).ok_or(ErrorCode::ImageBase64)?;
    scan.decoded_len(&text.as_bytes()[..scan.alphabet])
}

/// Decodes canonical padded base64 (the same rules as [`base64_decoded_len`]).
pub fn decode_base64(text: impl AsRef<[u8]>) -> Result<Vec<u8>, ErrorCode> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| ErrorCode::ImageBase64)
}

/// Standard padded base64, as the upstream expects.
pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What [`check_image_base64`] found out about a valid image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedImage<'a> {
    /// The raw base64 (ASCII), without any `data:` prefix: what goes upstream. Bytes, so that
    /// the proxy need not prove 2.7 MB to be UTF-8 a second time.
    pub base64: &'a [u8],
    pub kind: ImageKind,
    pub decoded_len: usize,
}

impl<'a> CheckedImage<'a> {
    /// The base64 as text (a check that is cheap at browser sizes).
    pub fn base64_str(&self) -> &'a str {
        // Checked base64 is ASCII, so this never falls back.
        core::str::from_utf8(self.base64).unwrap_or_default()
    }
}

/// Checks an image given as base64 (optionally a `data:` URL) without decoding all of it:
/// present, valid base64, at most [`MAX_IMAGE_BYTES`] decoded, and a JPEG, PNG or PDF.
pub fn check_image_base64(text: &str) -> Result<CheckedImage<'_>, ErrorCode> {
    check_image_base64_scanned(text.as_bytes(), None)
}

/// [`check_image_base64`] on bytes, reusing what a reader already found out about `text` in
/// its own scan: then the base64 is not scanned a second time.
pub fn check_image_base64_scanned(
    text: &[u8],
    scan: Option<Base64Scan>,
) -> Result<CheckedImage<'_>, ErrorCode> {
    let base64 = strip_data_url(text)?;
    if base64.is_empty() {
        return Err(ErrorCode::ImageMissing);
    }
    // Refuse oversized text before scanning it.
    if base64.len() > MAX_IMAGE_BASE64_LEN {
        return Err(ErrorCode::ImageTooLarge);
    }
    let offset = text.len() - base64.len();
    let scan = match scan {
        // The reader's scan covers exactly the payload: reuse it.
        Some(s) if s.start == offset && s.alphabet + s.pad == base64.len() => s,
        _ => Base64Scan::of(base64).ok_or(ErrorCode::ImageBase64)?,
    };
    let decoded_len = scan.decoded_len(&base64[..scan.alphabet])?;
    if decoded_len > MAX_IMAGE_BYTES {
        return Err(ErrorCode::ImageTooLarge);
    }
    // 12 symbols decode to 9 bytes: enough for every magic number we know.
    let head_len = base64.len().min(12);
    let head = base64::engine::general_purpose::STANDARD
        .decode(&base64[..head_len])
        .map_err(|_| ErrorCode::ImageBase64)?;
    let kind = detect_image_kind(&head).ok_or(ErrorCode::ImageType)?;
    Ok(CheckedImage {
        base64,
        kind,
        decoded_len,
    })
}

/// Checks decoded image bytes: present, within the limit and of an accepted type.
pub fn check_image_bytes(bytes: &[u8]) -> Result<ImageKind, ErrorCode> {
    if bytes.is_empty() {
        return Err(ErrorCode::ImageMissing);
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ErrorCode::ImageTooLarge);
    }
    detect_image_kind(bytes).ok_or(ErrorCode::ImageType)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        let cases: &[(&[u8], Option<ImageKind>)] = &[
            (&[0xFF, 0xD8, 0xFF, 0xE0], Some(ImageKind::Jpeg)),
            (b"\x89PNG\r\n\x1a\n\0\0", Some(ImageKind::Png)),
            (b"%PDF-1.7", Some(ImageKind::Pdf)),
            (b"GIF89a", None),
            (b"<svg xmlns", None),
            (b"PK\x03\x04", None),
            (b"MZ\x90\0", None),
            (&[0xFF, 0xD8], None),
            (b"", None),
        ];
        for (bytes, want) in cases {
            assert_eq!(detect_image_kind(bytes), *want, "{bytes:?}");
        }
    }

    #[test]
    fn base64_length_agrees_with_the_decoder() {
        let cases = [
            ("", Ok(0)),
            ("QQ==", Ok(1)),
            ("QUI=", Ok(2)),
            ("QUJD", Ok(3)),
            ("QR==", Err(ErrorCode::ImageBase64)), // non-zero trailing bits
            ("QUJ=", Err(ErrorCode::ImageBase64)), // the same, with one pad
            ("====", Err(ErrorCode::ImageBase64)),
            ("QUJDQQ==", Ok(4)),
            ("QUJD====", Err(ErrorCode::ImageBase64)), // whole groups of padding
            ("QUJ=====", Err(ErrorCode::ImageBase64)),
            ("QQ", Err(ErrorCode::ImageBase64)),   // no padding
            ("QQ=A", Err(ErrorCode::ImageBase64)), // padding inside
            ("Q===", Err(ErrorCode::ImageBase64)),
            ("QU J", Err(ErrorCode::ImageBase64)),
            ("-_-_", Err(ErrorCode::ImageBase64)), // URL-safe alphabet
            ("QUJD\n", Err(ErrorCode::ImageBase64)),
        ];
        for (text, want) in cases {
            assert_eq!(base64_decoded_len(text), want, "{text:?}");
            assert_eq!(decode_base64(text).map(|v| v.len()), want, "{text:?}");
        }
    }

    #[test]
    fn a_readers_scan_is_used_only_when_it_covers_the_payload() {
        let jpeg = encode_base64(&[0xFF, 0xD8, 0xFF, 0xDB, 0, 1, 2, 3, 4, 5]);
        let texts = [
            jpeg.clone(),
            format!("data:image/jpeg;base64,{jpeg}"),
            format!("{jpeg}AB=="),
            "QUJD".to_string(),
            "QUJD!".to_string(),
            String::new(),
        ];
        for text in &texts {
            let bytes = text.as_bytes();
            let alone = check_image_base64_scanned(bytes, None);
            assert_eq!(alone, check_image_base64(text), "{text}");
            let Ok(payload) = strip_data_url(bytes) else {
                continue;
            };
            let offset = bytes.len() - payload.len();
            // The right scan changes nothing; a scan of anything else is never trusted.
            let mut scans = Vec::new();
            if let Some(right) = Base64Scan::of(payload) {
                scans.push(Base64Scan {
                    start: offset,
                    ..right
                });
            }
            // Scans of anything else: another start, or another length. (A scan at the
            // payload's start whose parts add up to its length is the caller's word: trusted.)
            let len = payload.len();
            let starts = [0, offset + 1, bytes.len() + len, bytes.len() / len.max(1)];
            let splits = [(1, 0), (len, 1), (len + 1, 0), (len + 1, 1), (len / 2, 2)];
            for start in starts {
                for (alphabet, pad) in splits.into_iter().chain([(1, len.saturating_sub(1))]) {
                    if start == offset && alphabet + pad == len {
                        continue;
                    }
                    scans.push(Base64Scan {
                        start,
                        alphabet,
                        pad,
                    });
                }
            }
            for scan in scans {
                let got =
                    std::panic::catch_unwind(|| check_image_base64_scanned(bytes, Some(scan)));
                assert_eq!(got.ok(), Some(alone), "{text} with {scan:?}");
            }
        }
    }

    #[test]
    fn alphabet_runs_at_every_offset() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let text: Vec<u8> = alphabet.iter().cycle().take(300).copied().collect();
        assert_eq!(alphabet_run(&text), 300);
        for at in 0..text.len() {
            for stop in [
                b'=', b'"', b'-', b'_', b' ', b'\\', 0x80, 0xff, 0, b'@', b'[', b'`', b'{',
            ] {
                let mut t = text.clone();
                t[at] = stop;
                assert_eq!(alphabet_run(&t), at, "{stop} at {at}");
            }
        }
        for c in 0..=255u8 {
            assert_eq!(in_alphabet(c), alphabet.contains(&c), "{c}");
        }
    }

    #[test]
    fn a_readers_scan_is_reused_only_when_it_covers_the_payload() {
        let jpeg = encode_base64(&[0xFF, 0xD8, 0xFF, 0xDB, 0, 1, 2, 3, 4, 5]);
        let url = format!("data:image/jpeg;base64,{jpeg}");
        let scan = Base64Scan {
            start: url.len() - jpeg.len(),
            ..Base64Scan::of(jpeg.as_bytes()).unwrap()
        };
        let checked = check_image_base64_scanned(url.as_bytes(), Some(scan)).unwrap();
        assert_eq!(checked.decoded_len, 10);
        // A scan that does not line up with the payload is ignored, never trusted.
        let wrong = Base64Scan {
            start: 0,
            alphabet: 4,
            pad: 0,
        };
        let checked = check_image_base64_scanned(url.as_bytes(), Some(wrong)).unwrap();
        assert_eq!(checked.decoded_len, 10);
        let bad = format!("data:image/jpeg;base64,{jpeg}!");
        assert_eq!(
            check_image_base64_scanned(bad.as_bytes(), Some(wrong)),
            Err(ErrorCode::ImageBase64)
        );
    }

    #[test]
    fn checks_images_in_order() {
        let jpeg = encode_base64(&[0xFF, 0xD8, 0xFF, 0xDB, 0, 1, 2, 3, 4, 5]);
        let ok = check_image_base64(&jpeg).unwrap();
        assert_eq!((ok.kind, ok.decoded_len), (ImageKind::Jpeg, 10));
        let url = format!("data:image/jpeg;base64,{jpeg}");
        assert_eq!(check_image_base64(&url).unwrap().base64_str(), jpeg);

        let svg = encode_base64(b"<svg xmlns='http://www.w3.org/2000/svg'/>");
        let too_big = encode_base64(&vec![0xFF; MAX_IMAGE_BYTES + 1]);
        let exactly = {
            let mut v = vec![0u8; MAX_IMAGE_BYTES];
            v[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
            encode_base64(&v)
        };
        let cases: &[(&str, Result<ImageKind, ErrorCode>)] = &[
            ("", Err(ErrorCode::ImageMissing)),
            ("data:image/png;base64,", Err(ErrorCode::ImageMissing)),
            ("data:text/html;base64,QUJD", Err(ErrorCode::ImageType)),
            ("data:mmage\u{215}eg;base64,/gA=", Err(ErrorCode::ImageType)),
            ("data:image/png,QUJD", Err(ErrorCode::ImageBase64)),
            ("not base64!", Err(ErrorCode::ImageBase64)),
            (&svg, Err(ErrorCode::ImageType)),
            (&too_big, Err(ErrorCode::ImageTooLarge)),
            (&exactly, Ok(ImageKind::Jpeg)),
        ];
        for (text, want) in cases {
            let got = check_image_base64(text).map(|c| c.kind);
            assert_eq!(got, *want, "{}", &text[..text.len().min(40)]);
        }
    }

    #[test]
    fn mime_types() {
        assert_eq!(ImageKind::Jpeg.mime_type(), "image/jpeg");
        assert_eq!(ImageKind::Png.mime_type(), "image/png");
        assert_eq!(ImageKind::Pdf.mime_type(), "application/pdf");
    }

    #[test]
    fn data_urls_need_an_image_or_pdf_type() {
        let cases: &[(&str, Result<&str, ErrorCode>)] = &[
            ("QUJD", Ok("QUJD")),
            ("data:image/png;base64,QUJD", Ok("QUJD")),
            ("data:IMAGE/JPEG;base64,QUJD", Ok("QUJD")),
            ("data:image/x;base64,QUJD", Ok("QUJD")),
            ("data:application/pdf;base64,QUJD", Ok("QUJD")),
            ("data:image/;base64,QUJD", Err(ErrorCode::ImageType)),
            ("data:imag;base64,QUJD", Err(ErrorCode::ImageType)),
            ("data:text/html;base64,QUJD", Err(ErrorCode::ImageType)),
            ("data:images/png;base64,QUJD", Err(ErrorCode::ImageType)),
            ("data:image/png,QUJD", Err(ErrorCode::ImageBase64)),
            ("data:image/png;base64", Err(ErrorCode::ImageBase64)),
        ];
        for (text, want) in cases {
            let want = want.map(str::as_bytes);
            assert_eq!(strip_data_url(text.as_bytes()), want, "{text}");
        }
    }

    #[test]
    fn checks_bytes() {
        let mut exactly = vec![0u8; MAX_IMAGE_BYTES];
        exactly[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
        assert_eq!(check_image_bytes(&exactly), Ok(ImageKind::Jpeg));
        exactly.push(0);
        assert_eq!(check_image_bytes(&exactly), Err(ErrorCode::ImageTooLarge));
        exactly.resize(MAX_IMAGE_BYTES - 1, 0);
        assert_eq!(check_image_bytes(&exactly), Ok(ImageKind::Jpeg));
        assert_eq!(check_image_bytes(&[]), Err(ErrorCode::ImageMissing));
        assert_eq!(check_image_bytes(b"%PDF-1.4 ..."), Ok(ImageKind::Pdf));
        assert_eq!(
            check_image_bytes(b"RIFF....WEBP"),
            Err(ErrorCode::ImageType)
        );
    }
}
