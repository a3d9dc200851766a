//! A JPEG's markers up to its first scan, read without decoding: its size (checked against
//! the limits before anything allocates pixels), its EXIF block, and where its first scan
//! starts. [`inspect`](crate::inspect) and the decoder use it.

use crate::SelfieError;

/// What the marker walk finds before the first scan.
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
                // Its length is 8 + 3 per component (B.2.2); libjpeg calls any other corrupt.
                // (Noise behind a JPEG signature is corrupt, not an unsupported JPEG.)
                if components == 0 || seg.len() != 6 + 3 * usize::from(components) {
                    return Err(SelfieError::Corrupt);
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_walk_finds_size_scan_and_first_exif() {
        let mut j = vec![0xFF, 0xD8];
        j.extend_from_slice(&[0xFF, 0xE1, 0, 10]);
        j.extend_from_slice(b"Exif\0\0AB");
        j.extend_from_slice(&[0xFF, 0xE1, 0, 10]);
        j.extend_from_slice(b"Exif\0\0CD");
        // A DHT (0xC4, in the SOFn range) before the frame is not a frame.
        j.extend_from_slice(&[0xFF, 0xC4, 0, 4, 0, 0]);
        j.extend_from_slice(&[0xFF, 0xFF, 0xC2, 0, 11, 8, 0, 3, 0, 5, 1, 1, 0x11, 0]);
        // Only the first frame header counts.
        j.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0, 9, 0, 9, 1, 1, 0x11, 0]);
        j.extend_from_slice(&[0xFF, 0xDA, 0, 2]);
        let h = scan_jpeg(&j).unwrap();
        assert_eq!((h.sof, h.width, h.height, h.components), (0xC2, 5, 3, 1));
        assert_eq!(h.exif, Some(&b"AB"[..]));
        assert_eq!(h.scan_start, j.len());
        for cut in 2..j.len() {
            assert!(scan_jpeg(&j[..cut]).is_err(), "cut {cut}");
        }
        // Stray bytes before a marker are skipped, as libjpeg (and so browsers) skip them, and
        // so are the markers that have no length (TEM, RSTn).
        let sos = j.len() - 4;
        j.splice(sos..sos, [0x00, 0x12, 0x34, 0xFF, 0x01, 0xFF, 0xD3]);
        let h = scan_jpeg(&j).unwrap();
        assert_eq!((h.width, h.height, h.scan_start), (5, 3, j.len()));
    }
}
