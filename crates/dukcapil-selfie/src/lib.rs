//! Turns a selfie into a JPEG the upstream accepts: at most `max_dimension` on the long side,
//! baseline 4:2:0, and **never more than `max_bytes`** (at most
//! [`MAX_IMAGE_BYTES`](dukcapil_core::image::MAX_IMAGE_BYTES)).
//!
//! Inputs are an RGBA frame (a canvas `ImageData`) or the bytes of a JPEG, PNG or PDF file.
//! WebP, AVIF, HEIC and the like are refused with [`SelfieError::UnsupportedFormat`]: the
//! browser decodes those and hands over an RGBA frame instead (see [`sniff_mime`]).
//!
//! No I/O, no threads, no panics on any input; builds for `wasm32-unknown-unknown`.
//!
//! ```
//! use dukcapil_selfie::{prepare_from_rgba, SelfieOptions};
//!
//! // A 2000×1000 grey frame, as from a canvas.
//! let rgba = vec![128u8; 2000 * 1000 * 4];
//! let out = prepare_from_rgba(2000, 1000, &rgba, &SelfieOptions::default()).unwrap();
//! assert_eq!((out.width, out.height), (1280, 640));
//! assert_eq!(out.mime_type, "image/jpeg");
//! assert!(out.bytes.len() <= dukcapil_core::image::MAX_IMAGE_BYTES);
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "decoders")]
mod decode;
mod error;
mod header;
mod orient;

pub use error::SelfieError;
pub use header::{declared_size, jpeg_scan_start, JpegEndSearch};

use dukcapil_core::image::{detect_image_kind, encode_base64, ImageKind, MAX_IMAGE_BYTES};
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use std::borrow::Cow;

/// Smallest allowed [`SelfieOptions::max_dimension`].
pub const MIN_MAX_DIMENSION: u32 = 64;
/// Largest allowed [`SelfieOptions::max_dimension`].
pub const MAX_MAX_DIMENSION: u32 = 8192;
/// Smallest allowed [`SelfieOptions::max_bytes`].
pub const MIN_MAX_BYTES: usize = 10_000;
/// Largest allowed [`SelfieOptions::max_pixels`] (about 128 MP; 512 MB as RGBA).
pub const MAX_MAX_PIXELS: u64 = 128_000_000;
/// The lowest JPEG quality (1–100) the size search goes down to before downscaling.
pub const FLOOR_QUALITY: u8 = 40;
/// How many times the size search may shrink the image before giving up.
const MAX_SHRINK_STEPS: u32 = 8;

/// How to prepare a selfie. [`Default`] gives the upstream's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfieOptions {
    /// Longest side of the output in pixels (64..=8192, default 1280). Never upscales.
    pub max_dimension: u32,
    /// Output size limit in bytes (10,000..=2,000,000, default 2,000,000). A hard guarantee.
    pub max_bytes: usize,
    /// Preferred JPEG quality in (0, 1], default 0.85. Lowered (to 0.40 at least) to fit.
    pub quality: f32,
    /// Largest accepted width × height, checked from the file header before decoding
    /// (1..=128,000,000, default 50,000,000).
    pub max_pixels: u64,
}

impl Default for SelfieOptions {
    fn default() -> Self {
        SelfieOptions {
            max_dimension: 1280,
            max_bytes: MAX_IMAGE_BYTES,
            quality: 0.85,
            max_pixels: 50_000_000,
        }
    }
}

impl SelfieOptions {
    /// Checks every field's range; [`SelfieError::InvalidOptions`] otherwise.
    ///
    /// ```
    /// use dukcapil_selfie::{SelfieError, SelfieOptions};
    /// assert!(SelfieOptions::default().validate().is_ok());
    /// let too_big = SelfieOptions { max_bytes: 3_000_000, ..Default::default() };
    /// assert_eq!(too_big.validate(), Err(SelfieError::InvalidOptions));
    /// ```
    pub fn validate(&self) -> Result<(), SelfieError> {
        let ok = (MIN_MAX_DIMENSION..=MAX_MAX_DIMENSION).contains(&self.max_dimension)
            && (MIN_MAX_BYTES..=MAX_IMAGE_BYTES).contains(&self.max_bytes)
            && self.quality.is_finite()
            && self.quality > 0.0
            && self.quality <= 1.0
            && (1..=MAX_MAX_PIXELS).contains(&self.max_pixels);
        if ok {
            Ok(())
        } else {
            Err(SelfieError::InvalidOptions)
        }
    }

    /// The quality on the encoder's 1–100 scale.
    fn quality_percent(&self) -> u8 {
        (self.quality * 100.0).round().clamp(1.0, 100.0) as u8
    }
}

/// A file ready to send upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedSelfie {
    /// The file: a JPEG, or a PDF passed through unchanged. Never more than `max_bytes`.
    pub bytes: Vec<u8>,
    /// `image/jpeg`, or `application/pdf` for a passed-through PDF.
    pub mime_type: &'static str,
    /// Output width in pixels, as displayed (EXIF orientation applied); 0 for a PDF.
    pub width: u32,
    /// Output height in pixels; 0 for a PDF.
    pub height: u32,
    /// The JPEG quality actually used, in (0, 1]; 0 for a PDF.
    pub quality: f32,
}

impl PreparedSelfie {
    /// The bytes as standard padded base64, as the upstream expects.
    ///
    /// ```
    /// # use dukcapil_selfie::{prepare_from_file, SelfieOptions};
    /// let pdf = prepare_from_file(b"%PDF-1.4\n%%EOF\n", &SelfieOptions::default()).unwrap();
    /// assert_eq!(pdf.to_base64(), "JVBERi0xLjQKJSVFT0YK");
    /// ```
    pub fn to_base64(&self) -> String {
        encode_base64(&self.bytes)
    }

    /// Whether this is a PDF passed through as it was.
    pub fn is_pdf(&self) -> bool {
        self.mime_type == ImageKind::Pdf.mime_type()
    }
}

/// Recognises a file type from its first bytes: JPEG, PNG and PDF (which this crate takes),
/// and WebP, AVIF, HEIC/HEIF, GIF, BMP, TIFF and JPEG XL (which it does not: decode those in
/// the browser and call [`prepare_from_rgba`]). `None` for anything else.
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

/// Prepares a selfie from an RGBA8 frame (`rgba.len() == width * height * 4`, row-major, no
/// padding), such as a canvas `ImageData`. Transparent pixels are composited on white.
///
/// ```
/// use dukcapil_selfie::{prepare_from_rgba, SelfieError, SelfieOptions};
/// let opts = SelfieOptions::default();
/// let out = prepare_from_rgba(2, 2, &[255; 16], &opts).unwrap();
/// assert_eq!((out.width, out.height, out.quality), (2, 2, 0.85));
/// assert_eq!(prepare_from_rgba(2, 2, &[0; 15], &opts), Err(SelfieError::InvalidFrame));
/// ```
pub fn prepare_from_rgba(
    width: u32,
    height: u32,
    rgba: &[u8],
    opts: &SelfieOptions,
) -> Result<PreparedSelfie, SelfieError> {
    opts.validate()?;
    if width == 0 || height == 0 {
        return Err(SelfieError::InvalidFrame);
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > opts.max_pixels {
        return Err(SelfieError::TooManyPixels);
    }
    if Some(rgba.len() as u64) != pixels.checked_mul(4) {
        return Err(SelfieError::InvalidFrame);
    }
    // Camera frames are opaque: then use them as they are, without a copy.
    let frame: Cow<'_, [u8]> = if rgba.chunks_exact(4).all(|p| p[3] == 255) {
        Cow::Borrowed(rgba)
    } else {
        let mut owned = rgba.to_vec();
        for p in owned.chunks_exact_mut(4) {
            let a = p[3];
            for c in &mut p[..3] {
                *c = over_white(*c, a);
            }
            p[3] = 255;
        }
        Cow::Owned(owned)
    };
    let src = Source {
        rgba: &frame,
        width,
        height,
        full_width: width,
        full_height: height,
        orientation: 1,
    };
    fit_and_encode(&src, opts)
}

/// Prepares a selfie from the bytes of a JPEG, PNG or PDF file.
///
/// JPEGs get their EXIF orientation applied and are decoded at 1/2, 1/4 or 1/8 scale when the
/// output is that much smaller. A PDF of at most `max_bytes` is returned unchanged. Without
/// the `decoders` feature, JPEG and PNG files are [`SelfieError::UnsupportedFormat`] (decode
/// them elsewhere and call [`prepare_from_rgba`]).
///
/// ```
/// use dukcapil_selfie::{prepare_from_file, SelfieError, SelfieOptions};
/// let opts = SelfieOptions::default();
///
/// // Any JPEG will do; here, one made by the encoder this crate uses.
/// let mut jpeg = Vec::new();
/// jpeg_encoder::Encoder::new(&mut jpeg, 90)
///     .encode(&[200u8; 3000 * 2000 * 3], 3000, 2000, jpeg_encoder::ColorType::Rgb)
///     .unwrap();
/// # if cfg!(feature = "decoders") {
/// let out = prepare_from_file(&jpeg, &opts).unwrap();
/// assert_eq!((out.width, out.height), (1280, 853));
/// # } else {
/// # assert_eq!(prepare_from_file(&jpeg, &opts), Err(SelfieError::UnsupportedFormat));
/// # }
///
/// assert_eq!(prepare_from_file(b"", &opts), Err(SelfieError::Empty));
/// let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
/// assert_eq!(prepare_from_file(heic, &opts), Err(SelfieError::UnsupportedFormat));
/// ```
pub fn prepare_from_file(
    bytes: &[u8],
    opts: &SelfieOptions,
) -> Result<PreparedSelfie, SelfieError> {
    opts.validate()?;
    if bytes.is_empty() {
        return Err(SelfieError::Empty);
    }
    match detect_image_kind(bytes) {
        Some(ImageKind::Pdf) => {
            if bytes.len() > opts.max_bytes {
                return Err(SelfieError::PdfTooLarge);
            }
            Ok(PreparedSelfie {
                bytes: bytes.to_vec(),
                mime_type: ImageKind::Pdf.mime_type(),
                width: 0,
                height: 0,
                quality: 0.0,
            })
        }
        #[cfg(feature = "decoders")]
        Some(ImageKind::Jpeg) => from_decoded(
            &decode::decode_jpeg(bytes, opts.max_pixels, opts.max_dimension)?,
            opts,
        ),
        #[cfg(feature = "decoders")]
        Some(ImageKind::Png) => from_decoded(&decode::decode_png(bytes, opts.max_pixels)?, opts),
        #[cfg(not(feature = "decoders"))]
        Some(ImageKind::Jpeg | ImageKind::Png) => Err(SelfieError::UnsupportedFormat),
        None => {
            // The start of a JPEG or PNG signature, cut short.
            let starts: [&[u8]; 2] = [b"\xFF\xD8\xFF", b"\x89PNG\r\n\x1a\n"];
            if starts.iter().any(|s| s.starts_with(bytes)) {
                return Err(SelfieError::Truncated);
            }
            Err(SelfieError::UnsupportedFormat)
        }
    }
}

#[cfg(feature = "decoders")]
fn from_decoded(
    decoded: &decode::Decoded,
    opts: &SelfieOptions,
) -> Result<PreparedSelfie, SelfieError> {
    let src = Source {
        rgba: &decoded.rgba,
        width: decoded.width,
        height: decoded.height,
        full_width: decoded.full_width,
        full_height: decoded.full_height,
        orientation: decoded.orientation,
    };
    fit_and_encode(&src, opts)
}

/// Opaque RGBA pixels plus what is needed to size the output.
struct Source<'a> {
    rgba: &'a [u8],
    width: u32,
    height: u32,
    /// Size before any DCT scaling, so the aspect ratio comes from the exact numbers.
    full_width: u32,
    full_height: u32,
    orientation: u8,
}

/// `c` with alpha `a` composited on white, rounded.
#[inline]
pub(crate) fn over_white(c: u8, a: u8) -> u8 {
    let (c, a) = (u32::from(c), u32::from(a));
    ((c * a + 255 * (255 - a) + 127) / 255) as u8
}

/// `width × height` scaled so the long side is at most `long_side`, never upscaled; the short
/// side is rounded and at least 1. The output size of [`prepare_from_rgba`] and
/// [`prepare_from_file`] for `long_side` = [`SelfieOptions::max_dimension`].
///
/// ```
/// use dukcapil_selfie::fit_within;
/// assert_eq!(fit_within(4032, 3024, 1280), (1280, 960));
/// assert_eq!(fit_within(640, 480, 1280), (640, 480));
/// ```
pub fn fit_within(width: u32, height: u32, long_side: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= long_side {
        return (width, height);
    }
    let scale = |side: u32| {
        let v = (u64::from(side) * u64::from(long_side) + u64::from(long) / 2) / u64::from(long);
        (v as u32).max(1)
    };
    (scale(width), scale(height))
}

fn resize(src: &Source<'_>, width: u32, height: u32) -> Result<Vec<u8>, SelfieError> {
    let from = ImageRef::new(src.width, src.height, src.rgba, PixelType::U8x4)
        .map_err(|_| SelfieError::Internal)?;
    let mut to = Image::new(width, height, PixelType::U8x4);
    // CatmullRom: close to Lanczos in quality, cheaper. Alpha is already flattened.
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom))
        .use_alpha(false);
    Resizer::new()
        .resize(&from, &mut to, &options)
        .map_err(|_| SelfieError::Internal)?;
    Ok(to.into_vec())
}

fn encode(rgba: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, SelfieError> {
    let w = u16::try_from(width).map_err(|_| SelfieError::Internal)?;
    let h = u16::try_from(height).map_err(|_| SelfieError::Internal)?;
    let mut out = Vec::with_capacity(rgba.len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    // The encoder picks 4:4:4 from quality 90 up; the upstream contract is 4:2:0 always.
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    encoder.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    encoder
        .encode(rgba, w, h, jpeg_encoder::ColorType::Rgba)
        .map_err(|_| SelfieError::Internal)?;
    Ok(out)
}

/// Resizes, orients and encodes, lowering quality then size until the JPEG fits `max_bytes`.
fn fit_and_encode(src: &Source<'_>, opts: &SelfieOptions) -> Result<PreparedSelfie, SelfieError> {
    let q_max = opts.quality_percent();
    let q_min = FLOOR_QUALITY.min(q_max);
    let fits = |jpeg: &Vec<u8>| jpeg.len() <= opts.max_bytes;
    let full_long = src.full_width.max(src.full_height);
    let mut long_side = full_long.min(opts.max_dimension);
    // Shrinking stops here (or at the input's own size, if smaller).
    let min_long = MIN_MAX_DIMENSION.min(long_side);

    for _ in 0..=MAX_SHRINK_STEPS {
        let (w, h) = fit_within(src.full_width, src.full_height, long_side);
        let resized: Cow<'_, [u8]> = if (w, h) == (src.width, src.height) {
            Cow::Borrowed(src.rgba)
        } else {
            Cow::Owned(resize(src, w, h)?)
        };
        let (ow, oh) = orient::oriented_size(w, h, src.orientation);
        let pixels: Cow<'_, [u8]> = if src.orientation == 1 {
            resized
        } else {
            Cow::Owned(orient::apply_orientation(&resized, w, h, src.orientation))
        };
        let done = |jpeg: Vec<u8>, q: u8| PreparedSelfie {
            bytes: jpeg,
            mime_type: ImageKind::Jpeg.mime_type(),
            width: ow,
            height: oh,
            quality: f32::from(q) / 100.0,
        };

        let first = encode(&pixels, ow, oh, q_max)?;
        if fits(&first) {
            return Ok(done(first, q_max));
        }
        let mut smallest = first.len();
        if q_min < q_max {
            let low = encode(&pixels, ow, oh, q_min)?;
            if fits(&low) {
                // Binary search for the highest quality that fits: at most 6 more encodes.
                let (mut good, mut good_q, mut bad_q) = (low, q_min, q_max);
                while bad_q - good_q > 1 {
                    let mid = good_q + (bad_q - good_q) / 2;
                    let jpeg = encode(&pixels, ow, oh, mid)?;
                    if fits(&jpeg) {
                        (good, good_q) = (jpeg, mid);
                    } else {
                        bad_q = mid;
                    }
                }
                return Ok(done(good, good_q));
            }
            smallest = low.len();
        }
        // Bytes grow roughly with the pixel count: aim a little under, shrink 25–70% a step.
        let ratio = opts.max_bytes as f64 / smallest as f64;
        let factor = (ratio.sqrt() * 0.95).clamp(0.3, 0.75);
        // One last try at the floor size before giving up.
        let next = ((f64::from(long_side) * factor) as u32).max(min_long);
        if next >= long_side {
            break;
        }
        long_side = next;
    }
    Err(SelfieError::CannotFit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "decoders"))]
    #[test]
    fn without_decoders_only_pdf_passes() {
        let opts = SelfieOptions::default();
        for file in [
            &b"\xFF\xD8\xFF\xE0\0\x10JFIF\0"[..],
            b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR",
        ] {
            assert_eq!(
                prepare_from_file(file, &opts),
                Err(SelfieError::UnsupportedFormat)
            );
        }
        assert_eq!(
            prepare_from_file(b"\xFF\xD8", &opts),
            Err(SelfieError::Truncated)
        );
        assert!(prepare_from_file(b"%PDF-1.4\n", &opts).unwrap().is_pdf());
    }

    #[test]
    fn fit_keeps_aspect_and_never_upscales() {
        assert_eq!(fit_within(4032, 3024, 1280), (1280, 960));
        assert_eq!(fit_within(3024, 4032, 1280), (960, 1280));
        assert_eq!(fit_within(1920, 1080, 1280), (1280, 720));
        assert_eq!(fit_within(100, 50, 1280), (100, 50));
        assert_eq!(fit_within(10_000, 1, 1280), (1280, 1));
        assert_eq!(fit_within(65_535, 65_535, 64), (64, 64));
    }

    #[test]
    fn cannot_fit_after_bounded_tries() {
        // Below the public minimum budget (validation bypassed): not even headers fit.
        let rgba: Vec<u8> = (0..300 * 200 * 4).map(|i| (i * 7919 % 251) as u8).collect();
        let src = Source {
            rgba: &rgba,
            width: 300,
            height: 200,
            full_width: 300,
            full_height: 200,
            orientation: 6,
        };
        let tight = SelfieOptions {
            max_bytes: 500,
            ..Default::default()
        };
        assert_eq!(
            fit_and_encode(&src, &tight).map(|o| o.bytes.len()),
            Err(SelfieError::CannotFit)
        );
        // A budget reachable only by shrinking to the 64 px floor.
        let floor = SelfieOptions {
            max_bytes: 4_000,
            ..Default::default()
        };
        let out = fit_and_encode(&src, &floor).unwrap();
        assert!(out.bytes.len() <= 4_000);
        assert!(out.width.max(out.height) < 300 && out.width.max(out.height) >= 64);
        assert!(out.height > out.width, "orientation 6 swaps the sides");
    }

    #[test]
    fn options_are_range_checked() {
        let d = SelfieOptions::default();
        let bad = [
            SelfieOptions {
                max_dimension: 63,
                ..d
            },
            SelfieOptions {
                max_dimension: 8193,
                ..d
            },
            SelfieOptions {
                max_bytes: 9_999,
                ..d
            },
            SelfieOptions {
                max_bytes: MAX_IMAGE_BYTES + 1,
                ..d
            },
            SelfieOptions { quality: 0.0, ..d },
            SelfieOptions { quality: -0.5, ..d },
            SelfieOptions { quality: 1.01, ..d },
            SelfieOptions {
                quality: f32::NAN,
                ..d
            },
            SelfieOptions {
                quality: f32::INFINITY,
                ..d
            },
            SelfieOptions { max_pixels: 0, ..d },
            SelfieOptions {
                max_pixels: MAX_MAX_PIXELS + 1,
                ..d
            },
        ];
        for o in bad {
            assert_eq!(o.validate(), Err(SelfieError::InvalidOptions), "{o:?}");
            assert_eq!(
                prepare_from_rgba(1, 1, &[0; 4], &o),
                Err(SelfieError::InvalidOptions)
            );
            assert_eq!(
                prepare_from_file(b"%PDF-", &o),
                Err(SelfieError::InvalidOptions)
            );
        }
        let good = [
            SelfieOptions {
                max_dimension: 64,
                max_bytes: 10_000,
                quality: 0.001,
                max_pixels: 1,
            },
            SelfieOptions {
                max_dimension: 8192,
                quality: 1.0,
                max_pixels: MAX_MAX_PIXELS,
                ..d
            },
        ];
        for o in good {
            assert_eq!(o.validate(), Ok(()), "{o:?}");
        }
        assert_eq!(
            SelfieOptions {
                quality: 0.001,
                ..d
            }
            .quality_percent(),
            1
        );
        assert_eq!(d.quality_percent(), 85);
    }
}
