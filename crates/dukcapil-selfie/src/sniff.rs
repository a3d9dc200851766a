//! What a file is and what to do with it, decided from its first bytes and its length
//! before anything is decoded: [`inspect`] for the native decoders and the browser alike.

use crate::header::{scan_jpeg, JpegHeader};
use crate::orient::exif_orientation;
use crate::{fit_within, SelfieError, SelfieOptions};
use dukcapil_core::image::{detect_image_kind, ImageKind};
use std::ops::Range;

/// Recognises a file type from its first bytes: JPEG, PNG and PDF (which this crate takes),
/// and WebP, AVIF, HEIC/HEIF, GIF, BMP, TIFF and JPEG XL (which only a browser decodes).
/// `None` for anything else.
///
/// ```
/// use dukcapil_selfie::sniff_mime;
/// assert_eq!(sniff_mime(b"\0\0\0\x18ftypheic\0\0\0\0"), Some("image/heic"));
/// assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
/// assert_eq!(sniff_mime(b"hello"), None);
/// ```
pub fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    if let Some(kind) = detect_image_kind(bytes) {
        return Some(kind.mime_type());
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return match &bytes[8..12] {
            b"avif" | b"avis" => Some("image/avif"),
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" => Some("image/heic"),
            b"mif1" | b"msf1" => Some("image/heif"),
            _ => None,
        };
    }
    let signatures: [(&[u8], &str); 7] = [
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"II*\0", "image/tiff"),
        (b"MM\0*", "image/tiff"),
        (b"\xFF\x0A", "image/jxl"),
        (b"\0\0\0\x0cJXL \r\n\x87\n", "image/jxl"),
        (b"BM", "image/bmp"),
    ];
    signatures
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|&(_, mime)| mime)
}

/// What to do with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilePlan {
    /// A PDF of at most `max_bytes`: passed through unchanged.
    Pdf,
    /// A JPEG this pipeline (and a browser) can show, of the declared size (before EXIF
    /// orientation, 1–8, from its first EXIF block as browsers read it). It is complete only
    /// if an end marker follows its first scan, which starts at `scan_start`: see
    /// [`EndMarkerSearch`].
    Jpeg {
        width: u32,
        height: u32,
        orientation: u8,
        scan_start: u64,
    },
    /// A PNG of the declared size.
    Png { width: u32, height: u32 },
    /// A format only a browser decodes (WebP, AVIF, HEIC, GIF, BMP, TIFF, JPEG XL).
    BrowserOnly(&'static str),
    /// The JPEG's markers run past `head`: call again with at least this many first bytes.
    ReadMore(u64),
}

/// Decides what to do with a file of `len` bytes from `head`, its first bytes (all of them,
/// or at least the first 64 KiB). Refuses, before anything is decoded: empty files, PDFs
/// above `max_bytes`, declared sizes above the limits, JPEG kinds no browser shows
/// (lossless, arithmetic, 12-bit), files cut inside their signature or headers, and
/// anything unrecognised.
///
/// ```
/// use dukcapil_selfie::{inspect, FilePlan, SelfieError, SelfieOptions};
/// let opts = SelfieOptions::default();
/// let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
/// png.extend_from_slice(&640u32.to_be_bytes());
/// png.extend_from_slice(&480u32.to_be_bytes());
/// assert_eq!(inspect(&png, 5000, &opts), Ok(FilePlan::Png { width: 640, height: 480 }));
/// png[16..20].copy_from_slice(&30000u32.to_be_bytes());
/// png[20..24].copy_from_slice(&30000u32.to_be_bytes());
/// assert_eq!(inspect(&png, 5000, &opts), Err(SelfieError::TooManyPixels));
/// assert_eq!(inspect(b"%PDF-1.7", 3_000_000, &opts), Err(SelfieError::PdfTooLarge));
/// ```
pub fn inspect(head: &[u8], len: u64, opts: &SelfieOptions) -> Result<FilePlan, SelfieError> {
    if len == 0 || head.is_empty() {
        return Err(SelfieError::Empty);
    }
    let whole = head.len() as u64 >= len;
    match detect_image_kind(head) {
        Some(ImageKind::Pdf) if len > opts.max_bytes as u64 => Err(SelfieError::PdfTooLarge),
        Some(ImageKind::Pdf) => Ok(FilePlan::Pdf),
        Some(ImageKind::Png) => {
            // IHDR must come first.
            let Some(ihdr) = head.get(8..24) else {
                return Err(SelfieError::Truncated);
            };
            if &ihdr[4..8] != b"IHDR" {
                return Err(SelfieError::Corrupt);
            }
            let be =
                |i: usize| u32::from_be_bytes([ihdr[i], ihdr[i + 1], ihdr[i + 2], ihdr[i + 3]]);
            let (width, height) = (be(8), be(12));
            if width == 0 || height == 0 {
                return Err(SelfieError::Corrupt);
            }
            opts.limits.check_dimensions(width, height)?;
            Ok(FilePlan::Png { width, height })
        }
        Some(ImageKind::Jpeg) => match scan_jpeg(head) {
            Ok(h) => jpeg_plan(&h, opts),
            Err(SelfieError::Truncated) if !whole => {
                Ok(FilePlan::ReadMore(len.min(head.len() as u64 * 4)))
            }
            Err(e) => Err(e),
        },
        None => {
            if let Some(mime) = sniff_mime(head) {
                return Ok(FilePlan::BrowserOnly(mime));
            }
            // The start of a JPEG or PNG signature, cut short.
            let starts: [&[u8]; 2] = [b"\xFF\xD8\xFF", b"\x89PNG\r\n\x1a\n"];
            if whole && starts.iter().any(|s| s.starts_with(head)) {
                return Err(SelfieError::Truncated);
            }
            Err(SelfieError::UnsupportedFormat)
        }
    }
}

fn jpeg_plan(h: &JpegHeader<'_>, opts: &SelfieOptions) -> Result<FilePlan, SelfieError> {
    // Baseline, extended sequential and progressive Huffman only, 8-bit, grey/YCbCr/CMYK.
    if !matches!(h.sof, 0xC0..=0xC2) || h.precision != 8 || !matches!(h.components, 1 | 3 | 4) {
        return Err(SelfieError::UnsupportedFormat);
    }
    if h.width == 0 || h.height == 0 {
        return Err(SelfieError::Corrupt);
    }
    let (width, height) = (u32::from(h.width), u32::from(h.height));
    opts.limits.check_dimensions(width, height)?;
    Ok(FilePlan::Jpeg {
        width,
        height,
        orientation: h.exif.map_or(1, exif_orientation),
        scan_start: h.scan_start as u64,
    })
}

/// The size to decode a `width × height` JPEG at: the smallest that a decoder scaling by
/// M/8 (libjpeg's DCT scaling, M = 1…8, as browsers' decoders do) can produce and that still
/// covers the output for `max_dimension`. Decoding at a reduced scale skips most of the
/// inverse DCT and all of the full-size pixels; the output is resized from it.
///
/// ```
/// use dukcapil_selfie::jpeg_decode_size;
/// assert_eq!(jpeg_decode_size(4032, 3024, 1280), (1512, 1134)); // 3/8
/// assert_eq!(jpeg_decode_size(4000, 3000, 1000), (1000, 750)); // 2/8
/// assert_eq!(jpeg_decode_size(1920, 1080, 1280), (1440, 810)); // 6/8
/// assert_eq!(jpeg_decode_size(800, 600, 1280), (800, 600));
/// ```
pub fn jpeg_decode_size(width: u32, height: u32, max_dimension: u32) -> (u32, u32) {
    let (tw, th) = fit_within(width, height, max_dimension);
    let scaled = |side: u32, m: u32| (u64::from(side) * u64::from(m)).div_ceil(8) as u32;
    (1..=8)
        .map(|m| (scaled(width, m), scaled(height, m)))
        .find(|&(w, h)| w >= tw && h >= th)
        .unwrap_or((width, height))
}

/// How much of a file's end is searched first for a JPEG's end marker.
const TAIL: u64 = 64 * 1024;
/// Pieces in which the rest is searched, if the tail has no end marker.
const PIECE: u64 = 1024 * 1024;

/// Whether a JPEG has its end marker (`FF D9`) after its first scan. Browsers draw a JPEG
/// that was cut short with a grey remainder instead of failing; this lets the caller say
/// [`SelfieError::Truncated`]. Inside entropy-coded data `FF` is only ever followed by `00`
/// or a restart marker, so an `FF D9` anywhere after the first scan starts means the file
/// was not cut.
///
/// The caller reads the ranges this asks for and feeds them in. Files end with the marker,
/// or have it shortly before appended data, so the last 64 KiB come first; only if the
/// marker is not there is the rest searched, in 1 MiB pieces (bounded memory for any size).
///
/// ```
/// use dukcapil_selfie::EndMarkerSearch;
/// let file = [&[0xFFu8, 0xD8][..], &[0u8; 100_000], &[0xFF, 0xD9]].concat();
/// let mut search = EndMarkerSearch::new(20, file.len() as u64);
/// let first = search.next_read().unwrap();
/// assert_eq!(first, file.len() as u64 - 65_536..file.len() as u64);
/// assert_eq!(first, EndMarkerSearch::first_read(file.len() as u64));
/// search.feed(&file[first.start as usize..first.end as usize]);
/// assert_eq!((search.found(), search.next_read()), (true, None));
/// ```
#[derive(Debug, Clone)]
pub struct EndMarkerSearch {
    scan_start: u64,
    tail_start: u64,
    len: u64,
    /// Where the next read starts; `None` once decided.
    next: Option<u64>,
    in_tail: bool,
    bytes: ByteSearch,
}

impl EndMarkerSearch {
    /// For a file of `len` bytes whose first scan starts at `scan_start`.
    pub fn new(scan_start: u64, len: u64) -> EndMarkerSearch {
        let scan_start = scan_start.min(len);
        let tail_start = len.saturating_sub(TAIL).max(scan_start);
        EndMarkerSearch {
            scan_start,
            tail_start,
            len,
            next: (scan_start < len).then_some(tail_start),
            in_tail: true,
            bytes: ByteSearch::default(),
        }
    }

    /// The range a search of a `len`-byte file asks for first, when its first scan starts
    /// before it (as it does in any file longer than twice this range): a caller may read it
    /// together with the file's head.
    pub fn first_read(len: u64) -> Range<u64> {
        len.saturating_sub(TAIL)..len
    }

    /// Where the forward search stops: one byte into the tail, so that an `FF` just before
    /// the tail meets its `D9`.
    fn forward_end(&self) -> u64 {
        (self.tail_start + 1).min(self.len)
    }

    /// The byte range to read next, or `None` when the answer is known.
    pub fn next_read(&self) -> Option<Range<u64>> {
        let at = self.next?;
        let end = if self.in_tail {
            self.len
        } else {
            (at + PIECE).min(self.forward_end())
        };
        Some(at..end)
    }

    /// Feeds the bytes of the range [`next_read`](Self::next_read) returned.
    pub fn feed(&mut self, bytes: &[u8]) {
        let Some(at) = self.next else {
            return;
        };
        if self.bytes.feed(bytes) {
            self.next = None;
        } else if self.in_tail {
            // Not in the tail: search from the first scan, if the tail did not cover it.
            self.in_tail = false;
            self.bytes = ByteSearch::default();
            self.next = (self.scan_start < self.tail_start).then_some(self.scan_start);
        } else {
            let end = at + bytes.len() as u64;
            self.next = (!bytes.is_empty() && end < self.forward_end()).then_some(end);
        }
    }

    /// Whether the end marker was found (meaningful once `next_read` is `None`).
    pub fn found(&self) -> bool {
        self.bytes.found
    }
}

/// `FF D9` in bytes fed in pieces of any size.
#[derive(Debug, Default, Clone, Copy)]
struct ByteSearch {
    after_ff: bool,
    found: bool,
}

impl ByteSearch {
    fn feed(&mut self, bytes: &[u8]) -> bool {
        if self.found {
            return true;
        }
        if self.after_ff && bytes.first() == Some(&0xD9) {
            self.found = true;
            return true;
        }
        // Only bytes after an FF matter: jump from one FF to the next.
        let mut rest = bytes;
        while let Some(i) = rest.iter().position(|&b| b == 0xFF) {
            match rest.get(i + 1) {
                Some(0xD9) => {
                    self.found = true;
                    return true;
                }
                Some(_) => rest = &rest[i + 1..],
                None => {
                    self.after_ff = true;
                    return false;
                }
            }
        }
        self.after_ff = false;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(file: &[u8], scan_start: u64) -> (bool, Vec<Range<u64>>) {
        let mut s = EndMarkerSearch::new(scan_start, file.len() as u64);
        let mut reads = Vec::new();
        while let Some(r) = s.next_read() {
            reads.push(r.clone());
            s.feed(&file[r.start as usize..r.end as usize]);
            assert!(reads.len() < 100, "does not end");
        }
        (s.found(), reads)
    }

    #[test]
    fn end_marker_at_the_end_costs_one_small_read() {
        let mut f = vec![0u8; 5_000_000];
        f[..2].copy_from_slice(&[0xFF, 0xD8]);
        let n = f.len();
        f[n - 2..].copy_from_slice(&[0xFF, 0xD9]);
        let (found, reads) = run(&f, 600);
        assert!(found);
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0], (n as u64 - TAIL)..n as u64);
    }

    #[test]
    fn marker_before_megabytes_of_appended_data_is_found_by_the_full_search() {
        // A "motion photo": the JPEG, then 3 MB of video.
        let mut f = vec![0x11u8; 4_000_000];
        f[999_999] = 0xFF; // an FF right before a piece boundary…
        f[1_000_000] = 0x00; // …that is stuffing, not a marker
        f[2_500_000] = 0xFF;
        f[2_500_001] = 0xD9;
        let (found, reads) = run(&f, 100);
        assert!(found);
        assert_eq!(reads[0].end, 4_000_000);
        assert_eq!(reads[1].start, 100);
        assert!(reads.iter().all(|r| r.end - r.start <= PIECE));
    }

    #[test]
    fn cut_files_are_not_complete_and_boundaries_are_seen() {
        let f = vec![0x22u8; 300_000];
        let (found, reads) = run(&f, 10);
        assert!(!found);
        let covered: u64 = reads.iter().map(|r| r.end - r.start).sum();
        assert!(covered >= 300_000 - 10);
        // FF at the last byte before the tail, D9 as the tail's first byte.
        let mut g = vec![0x22u8; 300_000];
        let tail_start = 300_000 - TAIL as usize;
        g[tail_start - 1] = 0xFF;
        g[tail_start] = 0xD9;
        assert!(run(&g, 10).0);
        // Split across two pieces of the forward search.
        let mut h = vec![0x22u8; 3_000_000];
        let boundary = 10 + PIECE as usize;
        h[boundary - 1] = 0xFF;
        h[boundary] = 0xD9;
        assert!(run(&h, 10).0);
        // Nothing after the first scan at all.
        assert_eq!(run(&[0xFF, 0xD8, 1, 2], 4), (false, vec![]));
        // A D9 with no FF before it is not the marker, at a read's start either.
        let mut d9 = vec![0x22u8; 300_000];
        d9[tail_start] = 0xD9;
        assert!(!run(&d9, 10).0);
    }

    /// The reads of a cut file, exactly: the tail, then the rest from the first scan up to
    /// one byte into the tail, and nothing more. A file whose tail reaches back to its first
    /// scan costs the one read.
    #[test]
    fn a_cut_file_is_read_once_through() {
        let tail_start = 300_000 - TAIL;
        assert_eq!(
            run(&vec![0x22u8; 300_000], 10),
            (false, vec![tail_start..300_000, 10..tail_start + 1])
        );
        let (found, reads) = run(&vec![0x22u8; 1000], 20);
        assert!(!found);
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0], 20..1000);
    }

    /// The decode size covers the target on both sides: at 7/8, 730 × 410 would give the
    /// height (359) but not the width (639 of 640), so only the full size does.
    #[test]
    fn the_decode_size_covers_both_sides() {
        assert_eq!(jpeg_decode_size(730, 410, 640), (730, 410));
        assert_eq!(jpeg_decode_size(548, 730, 640), (548, 730));
        assert_eq!(jpeg_decode_size(849, 254, 640), (743, 223));
    }

    /// Each ISOBMFF brand a browser may show is named by its own type; others are not images.
    #[test]
    fn heif_family_brands() {
        for (brand, want) in [
            (b"avif", Some("image/avif")),
            (b"avis", Some("image/avif")),
            (b"heic", Some("image/heic")),
            (b"hevx", Some("image/heic")),
            (b"mif1", Some("image/heif")),
            (b"msf1", Some("image/heif")),
            (b"isom", None),
        ] {
            let mut file = b"\0\0\0\x18ftyp".to_vec();
            file.extend_from_slice(brand);
            file.extend_from_slice(&[0; 4]);
            assert_eq!(
                sniff_mime(&file),
                want,
                "{}",
                String::from_utf8_lossy(brand)
            );
        }
    }

    /// A PNG's IHDR: a zero width or height is corrupt, and each size is read as all four of
    /// its big-endian bytes (65,536 is zero in its low half).
    #[test]
    fn png_sizes_are_read_whole() {
        let opts = SelfieOptions::default();
        let png = |width: u32, height: u32| {
            let mut p = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
            p.extend_from_slice(&width.to_be_bytes());
            p.extend_from_slice(&height.to_be_bytes());
            p
        };
        for ((width, height), want) in [
            ((0, 480), Err(SelfieError::Corrupt)),
            ((640, 0), Err(SelfieError::Corrupt)),
            (
                (65_536, 1),
                Ok(FilePlan::Png {
                    width: 65_536,
                    height: 1,
                }),
            ),
            (
                (1, 65_536),
                Ok(FilePlan::Png {
                    width: 1,
                    height: 65_536,
                }),
            ),
        ] {
            assert_eq!(
                inspect(&png(width, height), 1000, &opts),
                want,
                "{width}×{height}"
            );
        }
    }

    #[test]
    fn inspect_decides_before_decoding() {
        let opts = SelfieOptions::default();
        assert_eq!(inspect(b"", 0, &opts), Err(SelfieError::Empty));
        // Either says empty: a file of no length, or no bytes read from it.
        assert_eq!(inspect(b"", 100, &opts), Err(SelfieError::Empty));
        assert_eq!(inspect(b"%PDF-1.4", 0, &opts), Err(SelfieError::Empty));
        assert_eq!(inspect(b"%PDF-1.4", 100, &opts), Ok(FilePlan::Pdf));
        assert_eq!(inspect(b"\xFF\xD8", 2, &opts), Err(SelfieError::Truncated));
        assert_eq!(inspect(b"\x89PN", 3, &opts), Err(SelfieError::Truncated));
        assert_eq!(
            inspect(b"hello", 5, &opts),
            Err(SelfieError::UnsupportedFormat)
        );
        assert_eq!(
            inspect(b"RIFF\x10\0\0\0WEBPVP8 ", 1000, &opts),
            Ok(FilePlan::BrowserOnly("image/webp"))
        );
        // A JPEG header: SOF0 3000×2000, then SOS.
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0];
        j.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8, 0x07, 0xD0, 0x0B, 0xB8, 3]);
        j.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        j.extend_from_slice(&[0xFF, 0xDA, 0, 2]);
        let plan = inspect(&j, 1_000_000, &opts);
        assert_eq!(
            plan,
            Ok(FilePlan::Jpeg {
                width: 3000,
                height: 2000,
                orientation: 1,
                scan_start: j.len() as u64
            })
        );
        // Markers past the head of a longer file: read more; of the whole file: truncated.
        assert_eq!(
            inspect(&j[..12], 1_000_000, &opts),
            Ok(FilePlan::ReadMore(48))
        );
        assert_eq!(inspect(&j[..12], 12, &opts), Err(SelfieError::Truncated));
        // A frame header whose length does not match its components: noise, not a JPEG.
        let mut bogus = j.clone();
        bogus[11] = 14;
        assert_eq!(inspect(&bogus, 1000, &opts), Err(SelfieError::Corrupt));
        // A frame of no height or no width (bytes 13–14 and 15–16).
        for at in [13, 15] {
            let mut empty = j.clone();
            empty[at..at + 2].fill(0);
            assert_eq!(inspect(&empty, 1000, &opts), Err(SelfieError::Corrupt));
        }
        // Arithmetic coding (SOF9): no browser shows it.
        let mut arith = j.clone();
        arith[9] = 0xC9;
        assert_eq!(
            inspect(&arith, 1000, &opts),
            Err(SelfieError::UnsupportedFormat)
        );
        let tight = SelfieOptions {
            limits: crate::SelfieLimits {
                max_pixels: 5_999_999,
            },
            ..opts
        };
        assert_eq!(inspect(&j, 1000, &tight), Err(SelfieError::TooManyPixels));
    }
}
