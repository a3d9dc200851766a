//! Turns a selfie into a JPEG the upstream accepts: at most `max_dimension` on the long side,
//! baseline 4:2:0, checked for exposure and sharpness, and **never more than `max_bytes`** (at
//! most [`MAX_IMAGE_BYTES`](dukcapil_core::image::MAX_IMAGE_BYTES)).
//!
//! Inputs are an RGBA frame (a canvas `ImageData`) or the bytes of a JPEG, PNG or PDF file.
//! WebP, AVIF, HEIC and the like are refused with [`SelfieError::UnsupportedFormat`]: the
//! browser decodes those and hands over an RGBA frame instead (see [`inspect`]).
//!
//! - [`sniff`](sniff_mime) and [`inspect`]: what a file is and what to do with it;
//! - [`Selfie`]: conversion, resizing, the quality gate and the size-searching encoder;
//! - [`prepare_from_rgba`] and [`prepare_from_file`]: the two together.
//!
//! No I/O, no threads, no panics on any input; builds for `wasm32-unknown-unknown`.
//!
//! ```
//! use dukcapil_selfie::{prepare_from_rgba, SelfieOptions};
//!
//! // A 2000×1000 frame of fine grain, as from a canvas.
//! let rgba: Vec<u8> = (0..2000 * 1000 * 4u32)
//!     .map(|i| if i % 4 == 3 { 255 } else { (i.wrapping_mul(2654435761) >> 25) as u8 + 64 })
//!     .collect();
//! let out = prepare_from_rgba(2000, 1000, &rgba, &SelfieOptions::default()).unwrap();
//! assert_eq!((out.width, out.height), (1280, 640));
//! assert_eq!(out.mime_type, "image/jpeg");
//! assert!(out.bytes.len() <= dukcapil_core::image::MAX_IMAGE_BYTES);
//! ```
// `unsafe` only in `simd` (whole-vector loads and stores), which says why it is sound.
#![deny(unsafe_code)]

#[cfg(feature = "decoders")]
pub mod calibration;
#[cfg(feature = "decoders")]
mod decode;
mod error;
mod fit;
mod header;
mod jpeg;
mod limits;
mod options;
mod orient;
mod planes;
mod quality;
mod resample;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;
mod sniff;

pub use error::SelfieError;
pub use fit::{fit_within, Converted, Pixels, Probe, Selfie, Stage, FLOOR_QUALITY};
pub use limits::{SelfieLimits, MAX_MAX_PIXELS};
pub use options::{option_rule, BadOption, OptionRule, OPTIONS};
pub use planes::PixelLayout;
pub use quality::{QualityChecks, QualityMetrics};
pub use sniff::{inspect, jpeg_decode_size, sniff_mime, EndMarkerSearch, FilePlan};

use dukcapil_core::image::{encode_base64, ImageKind, MAX_IMAGE_BYTES};

/// Smallest allowed [`SelfieOptions::max_dimension`].
pub const MIN_MAX_DIMENSION: u32 = 64;
/// Largest allowed [`SelfieOptions::max_dimension`].
pub const MAX_MAX_DIMENSION: u32 = 8192;
/// Smallest allowed [`SelfieOptions::max_bytes`].
pub const MIN_MAX_BYTES: usize = 10_000;

/// How to prepare a selfie. [`Default`] gives the upstream's limits and the calibrated gate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfieOptions {
    /// Longest side of the output in pixels (64..=8192, default 1280). Never upscales.
    pub max_dimension: u32,
    /// Output size limit in bytes (10,000..=2,000,000, default 2,000,000). A hard guarantee.
    pub max_bytes: usize,
    /// Preferred JPEG quality in (0, 1], default 0.85. Lowered (to 0.40 at least) to fit.
    pub quality: f32,
    /// What an input may claim before any pixel buffer exists.
    pub limits: SelfieLimits,
    /// The quality gate's thresholds, or `None` for no gate.
    pub checks: Option<QualityChecks>,
}

impl Default for SelfieOptions {
    fn default() -> Self {
        SelfieOptions {
            max_dimension: 1280,
            max_bytes: MAX_IMAGE_BYTES,
            quality: 0.85,
            limits: SelfieLimits::default(),
            checks: Some(QualityChecks::default()),
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
        self.check().map_err(|_| SelfieError::InvalidOptions)
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
    /// What the quality gate measured (also when the gate is off); `None` for a PDF.
    pub metrics: Option<QualityMetrics>,
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

    /// A PDF, as it was.
    fn pdf(bytes: &[u8]) -> PreparedSelfie {
        PreparedSelfie {
            bytes: bytes.to_vec(),
            mime_type: ImageKind::Pdf.mime_type(),
            width: 0,
            height: 0,
            quality: 0.0,
            metrics: None,
        }
    }
}

/// Prepares a selfie from an RGBA8 frame (`rgba.len() == width * height * 4`, row-major, no
/// padding), such as a canvas `ImageData`. Transparent pixels are composited on white.
///
/// ```
/// use dukcapil_selfie::{prepare_from_rgba, SelfieError, SelfieOptions};
/// let opts = SelfieOptions { checks: None, ..Default::default() };
/// let out = prepare_from_rgba(2, 2, &[255; 16], &opts).unwrap();
/// assert_eq!((out.width, out.height, out.quality), (2, 2, 0.85));
/// assert_eq!(prepare_from_rgba(2, 2, &[0; 15], &opts), Err(SelfieError::InvalidFrame));
/// // With the gate on, a white frame is refused.
/// let gated = SelfieOptions::default();
/// assert_eq!(prepare_from_rgba(2, 2, &[255; 16], &gated), Err(SelfieError::TooBright));
/// ```
pub fn prepare_from_rgba(
    width: u32,
    height: u32,
    rgba: &[u8],
    opts: &SelfieOptions,
) -> Result<PreparedSelfie, SelfieError> {
    let selfie = Selfie::from_rgba(width, height, rgba, opts, &mut ())?;
    selfie.check()?;
    selfie.encode(&mut ())
}

/// Prepares a selfie from the bytes of a JPEG, PNG or PDF file: [`inspect`], then decoding.
///
/// JPEGs get their EXIF orientation applied and are decoded at 1/2, 1/4 or 1/8 scale when the
/// output is that much smaller. A PDF of at most `max_bytes` is returned unchanged (the gate
/// cannot see into it). Without the `decoders` feature, JPEG and PNG files are
/// [`SelfieError::UnsupportedFormat`] (decode them elsewhere and call [`prepare_from_rgba`]).
///
/// ```
/// use dukcapil_selfie::{prepare_from_file, SelfieError, SelfieOptions};
/// let opts = SelfieOptions::default();
/// assert_eq!(prepare_from_file(b"", &opts), Err(SelfieError::Empty));
/// let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
/// assert_eq!(prepare_from_file(heic, &opts), Err(SelfieError::UnsupportedFormat));
/// ```
pub fn prepare_from_file(
    bytes: &[u8],
    opts: &SelfieOptions,
) -> Result<PreparedSelfie, SelfieError> {
    opts.validate()?;
    match inspect(bytes, bytes.len() as u64, opts)? {
        FilePlan::Pdf => Ok(PreparedSelfie::pdf(bytes)),
        FilePlan::BrowserOnly(_) => Err(SelfieError::UnsupportedFormat),
        // `bytes` is the whole file, so the head always reaches the first scan.
        FilePlan::ReadMore(_) => Err(SelfieError::Truncated),
        #[cfg(feature = "decoders")]
        FilePlan::Jpeg {
            width,
            height,
            scan_start,
            ..
        } => {
            let mut end = EndMarkerSearch::new(scan_start, bytes.len() as u64);
            while let Some(r) = end.next_read() {
                end.feed(
                    bytes
                        .get(r.start as usize..r.end as usize)
                        .unwrap_or_default(),
                );
            }
            if !end.found() {
                return Err(SelfieError::Truncated);
            }
            from_decoded(
                decode::decode_jpeg(bytes, width, height, opts.max_dimension)?,
                opts,
            )
        }
        #[cfg(feature = "decoders")]
        FilePlan::Png { width, height } => {
            from_decoded(decode::decode_png(bytes, width, height)?, opts)
        }
        #[cfg(not(feature = "decoders"))]
        FilePlan::Jpeg { .. } | FilePlan::Png { .. } => Err(SelfieError::UnsupportedFormat),
    }
}

#[cfg(feature = "decoders")]
fn from_decoded(d: decode::Decoded, opts: &SelfieOptions) -> Result<PreparedSelfie, SelfieError> {
    let (w, h) = orient::oriented_size(d.width, d.height, d.orientation);
    let full = orient::oriented_size(d.full_width, d.full_height, d.orientation);
    let rgba = if d.orientation == 1 {
        d.rgba
    } else {
        orient::apply_orientation(&d.rgba, d.width, d.height, d.orientation)
    };
    let pixels = Pixels {
        full,
        ..Pixels::rgba(w, h, &rgba)
    };
    let selfie = Selfie::from_pixels(pixels, opts, &mut ())?;
    selfie.check()?;
    selfie.encode(&mut ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "decoders"))]
    #[test]
    fn without_decoders_only_pdf_passes() {
        let opts = SelfieOptions::default();
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 80)
            .encode(&[128; 8 * 8 * 3], 8, 8, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        // A well-formed JPEG and PNG header: the file is understood, only not decodable here.
        assert!(matches!(
            inspect(&jpeg, jpeg.len() as u64, &opts),
            Ok(FilePlan::Jpeg { .. })
        ));
        for file in [
            &jpeg[..],
            b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x08\0\0\0\x08",
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
    fn options_are_range_checked() {
        let d = SelfieOptions::default();
        let limits = |max_pixels| SelfieLimits { max_pixels };
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
            SelfieOptions {
                limits: limits(0),
                ..d
            },
            SelfieOptions {
                limits: limits(MAX_MAX_PIXELS + 1),
                ..d
            },
            SelfieOptions {
                checks: Some(QualityChecks {
                    min_sharpness: 2.0,
                    ..Default::default()
                }),
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
                limits: limits(1),
                checks: None,
            },
            SelfieOptions {
                max_dimension: 8192,
                quality: 1.0,
                limits: limits(MAX_MAX_PIXELS),
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
