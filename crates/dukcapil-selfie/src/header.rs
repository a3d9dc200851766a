//! What a JPEG or PNG file declares in its first bytes, read without decoding: its size,
//! checked against `max_pixels` before anything allocates pixels, and where a JPEG's first
//! scan starts. The browser module, which decodes with the browser, uses these too.

use crate::SelfieError;
use dukcapil_core::image::{detect_image_kind, ImageKind};

/// What the marker walk finds before the first scan.
#[cfg_attr(not(feature = "decoders"), allow(dead_code))]
pub(crate) struct JpegHeader<'a> {
    /// Offset of the first scan's entropy-coded data (just after its SOS header).
    pub scan_start: usize,
    pub sof: u8,
    pub precision: u8,
    pub width: u16,
    pub height: u16,
    pub components: u8,
    pub exif: Option<&'a [u8]>,
}

/// Walks the JPEG markers up to the first SOS without decoding anything: the size is known
/// before jpeg-decoder allocates, and lossless/arithmetic/12-bit files (which browsers do not
/// show either) are refused up front.
pub(crate) fn scan_jpeg(bytes: &[u8]) -> Result<JpegHeader<'_>, SelfieError> {
    let mut pos = 2; // after SOI
    let mut header: Option<JpegHeader<'_>> = None;
    let mut exif = None;
    loop {
        // Like libjpeg, skip stray bytes before a marker, then fill bytes.
        while bytes.get(pos).is_some_and(|&b| b != 0xFF) {
            pos += 1;
        }
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *bytes.get(pos).ok_or(SelfieError::Truncated)?;
        pos += 1;
        match marker {
            0x00 | 0x01 | 0xD0..=0xD7 => continue, // no length field
            0xD8 | 0xD9 => return Err(SelfieError::Corrupt), // SOI/EOI before any scan
            _ => {}
        }
        let len_bytes = bytes.get(pos..pos + 2).ok_or(SelfieError::Truncated)?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            return Err(SelfieError::Corrupt);
        }
        let seg = bytes
            .get(pos + 2..pos + len)
            .ok_or(SelfieError::Truncated)?;
        match marker {
            0xDA => {
                return match header {
                    Some(h) => Ok(JpegHeader {
                        exif,
                        scan_start: pos + len,
                        ..h
                    }),
                    None => Err(SelfieError::Corrupt),
                }
            }
            // SOFn (C4 = DHT, C8 = reserved, CC = DAC are not frames).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) && header.is_none() => {
                let &[precision, h0, h1, w0, w1, components, ..] = seg else {
                    return Err(SelfieError::Corrupt);
                };
                header = Some(JpegHeader {
                    sof: marker,
                    precision,
                    width: u16::from_be_bytes([w0, w1]),
                    height: u16::from_be_bytes([h0, h1]),
                    components,
                    exif: None,
                    scan_start: 0,
                });
            }
            // The first APP1 with an EXIF header wins, as in browsers.
            0xE1 if exif.is_none() => {
                if let Some(tiff) = seg.strip_prefix(b"Exif\0") {
                    exif = Some(tiff.get(1..).unwrap_or_default());
                }
            }
            _ => {}
        }
        pos += len;
    }
}

/// The width and height a JPEG or PNG declares, from its first bytes: a PNG's IHDR, or a
/// JPEG's frame header when `head` reaches the first scan. `None` when `head` does not say.
///
/// ```
/// use dukcapil_selfie::declared_size;
/// let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
/// png.extend_from_slice(&30000u32.to_be_bytes());
/// png.extend_from_slice(&20000u32.to_be_bytes());
/// assert_eq!(declared_size(&png), Some((30000, 20000)));
/// assert_eq!(declared_size(&png[..20]), None);
/// ```
pub fn declared_size(head: &[u8]) -> Option<(u32, u32)> {
    match detect_image_kind(head)? {
        ImageKind::Png => {
            let ihdr = head.get(8..24)?;
            let be =
                |i: usize| u32::from_be_bytes([ihdr[i], ihdr[i + 1], ihdr[i + 2], ihdr[i + 3]]);
            (&ihdr[4..8] == b"IHDR").then(|| (be(8), be(12)))
        }
        ImageKind::Jpeg => scan_jpeg(head)
            .ok()
            .map(|h| (u32::from(h.width), u32::from(h.height))),
        ImageKind::Pdf => None,
    }
}

/// Where a JPEG's first scan (its entropy-coded data) starts, when `head` reaches it.
pub fn jpeg_scan_start(head: &[u8]) -> Option<usize> {
    match detect_image_kind(head)? {
        ImageKind::Jpeg => scan_jpeg(head).ok().map(|h| h.scan_start),
        _ => None,
    }
}

/// Looks for a JPEG's end (the EOI marker `FF D9`) in the bytes after its first scan starts,
/// fed in pieces of any size. Inside entropy-coded data `FF` is only ever followed by `00` or
/// a restart marker, so no `FF D9` there means the file was cut short. Browsers draw such a
/// file with a grey remainder; this lets the caller say [`SelfieError::Truncated`] instead.
///
/// ```
/// use dukcapil_selfie::JpegEndSearch;
/// let mut s = JpegEndSearch::default();
/// assert!(!s.feed(&[0x12, 0xFF, 0x00, 0xFF]));
/// assert!(s.feed(&[0xD9]));
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct JpegEndSearch {
    after_ff: bool,
    found: bool,
}

impl JpegEndSearch {
    /// Feeds the next bytes; true once `FF D9` has been seen.
    pub fn feed(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            if self.found {
                break;
            }
            self.found = self.after_ff && b == 0xD9;
            self.after_ff = b == 0xFF;
        }
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_sizes() {
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0];
        j.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0x75, 0x30, 0x75, 0x30, 1, 1, 0x11, 0]);
        j.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0x12, 0x34]);
        assert_eq!(declared_size(&j), Some((30000, 30000)));
        assert_eq!(jpeg_scan_start(&j), Some(j.len() - 2));
        // A head cut before the first scan says nothing.
        assert_eq!(declared_size(&j[..12]), None);
        assert_eq!(jpeg_scan_start(&j[..12]), None);
        assert_eq!(declared_size(b"%PDF-1.7"), None);
        assert_eq!(declared_size(b"GIF89a"), None);
    }

    #[test]
    fn finds_the_end_across_pieces() {
        let mut s = JpegEndSearch::default();
        assert!(!s.feed(&[0xFF, 0x00, 0xFF, 0xD0, 0xD9]));
        assert!(!s.feed(&[0xFF]));
        assert!(s.feed(&[0xD9, 0x00]));
        assert!(s.feed(&[]));
        assert!(!JpegEndSearch::default().feed(&[0xD9, 0xFF]));
    }
}
