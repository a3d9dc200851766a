//! Fitting and encoding: RGBA → YCbCr planes → resized to fit → measured and checked →
//! JPEG, lowering the quality and then the size until the file fits `max_bytes`.

use crate::jpeg::Coefficients;
use crate::planes::{PixelLayout, Plane, Ycc420};
use crate::quality::{measure, QualityMetrics};
use crate::{PreparedSelfie, SelfieError, SelfieOptions, MIN_MAX_DIMENSION};
use dukcapil_core::image::ImageKind;

/// The lowest JPEG quality (1–100) the size search goes down to before downscaling.
pub const FLOOR_QUALITY: u8 = 40;
/// How many times the size search may shrink the image before giving up.
const MAX_SHRINK_STEPS: u32 = 8;

/// A stage of the pipeline, reported to a [`Probe`] as it begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// RGBA to YCbCr planes (with 4:2:0 chroma averaging), at the source size.
    Convert,
    /// Resizing the planes.
    Resize,
    /// The quality gate's measures.
    Measure,
    /// The forward DCT of every block (once per size).
    Transform,
    /// Quantization and Huffman coding at one quality (once per attempt of the size search).
    Encode,
    /// Finished.
    Done,
}

/// Receives the stage boundaries, for profiling; `()` ignores them. A stage done in parts
/// (the resize, the encodes of the size search) is reported at the start of each part.
pub trait Probe {
    fn stage(&mut self, stage: Stage);
}

impl Probe for () {
    fn stage(&mut self, _: Stage) {}
}

/// `width × height` scaled so the long side is at most `long_side`, never upscaled; the short
/// side is rounded and at least 1. The output size of [`prepare_from_rgba`](crate::prepare_from_rgba)
/// and [`prepare_from_file`](crate::prepare_from_file) for `long_side` =
/// [`SelfieOptions::max_dimension`].
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

/// A picture to prepare: `width × height` 4-byte pixels in `layout`, row-major without
/// padding, standing for a `full.0 × full.1` image (larger than the pixels when a decoder
/// already scaled it down, DCT scaling): the output's size and exact aspect ratio come from
/// `full`, and the limits apply to it.
#[derive(Clone, Copy, Debug)]
pub struct Pixels<'a> {
    pub data: &'a [u8],
    pub layout: PixelLayout,
    pub width: u32,
    pub height: u32,
    pub full: (u32, u32),
}

impl<'a> Pixels<'a> {
    /// An RGBA frame at its own size.
    pub fn rgba(width: u32, height: u32, data: &'a [u8]) -> Pixels<'a> {
        Pixels {
            data,
            layout: PixelLayout::Rgba,
            width,
            height,
            full: (width, height),
        }
    }
}

/// A selfie converted to planes at its source size, not yet resized: see
/// [`Selfie::convert`].
pub struct Converted {
    source: Ycc420,
    full: (u32, u32),
    opts: SelfieOptions,
    /// The luma plane at the output size, once [`resize_luma`](Converted::resize_luma) ran.
    luma: Option<Plane>,
}

impl Converted {
    /// The output size, and whether it differs from the source's (then it is resized).
    fn target(&self) -> Option<(usize, usize)> {
        let (tw, th) = fit_within(self.full.0, self.full.1, self.opts.max_dimension);
        let t = (tw as usize, th as usize);
        (t != (self.source.width(), self.source.height())).then_some(t)
    }

    /// Resizes the luma plane, about two thirds of the resize: a host that must not hold its
    /// thread for long may run other work between this and [`resize`](Converted::resize).
    pub fn resize_luma(&mut self, probe: &mut dyn Probe) {
        if let (Some((tw, th)), None) = (self.target(), &self.luma) {
            probe.stage(Stage::Resize);
            self.luma = Some(self.source.resized_luma(tw, th));
        }
    }

    /// Resizes to the output size (what [`resize_luma`](Converted::resize_luma) did not
    /// already) and measures: the [`Selfie`].
    pub fn resize(mut self, probe: &mut dyn Probe) -> Selfie {
        self.resize_luma(probe);
        let resized = self.luma.take().map(|y| {
            probe.stage(Stage::Resize);
            self.source.resized_chroma(y)
        });
        let Converted {
            source, full, opts, ..
        } = self;
        probe.stage(Stage::Measure);
        let metrics = measure(&resized.as_ref().unwrap_or(&source).y);
        Selfie {
            source,
            resized,
            full,
            metrics,
            opts,
        }
    }
}

/// A selfie converted, resized and measured, ready for the gate's verdicts and the encoder.
///
/// [`prepare_from_rgba`](crate::prepare_from_rgba) is `Selfie::from_rgba`, then
/// [`check`](Selfie::check), then [`encode`](Selfie::encode). A host with a face detector
/// asks it before encoding and reports the count to [`check_faces`](Selfie::check_faces);
/// the metrics stay readable when a check fails, for live guidance.
pub struct Selfie {
    /// The planes at the source size, kept in case the size search must shrink.
    source: Ycc420,
    /// The planes at the output size, when that differs from the source's.
    resized: Option<Ycc420>,
    /// The size the source stands for (larger, when a decoder already scaled it down).
    full: (u32, u32),
    metrics: QualityMetrics,
    opts: SelfieOptions,
}

impl Selfie {
    /// Converts and resizes an opaque or transparent RGBA8 frame (`rgba.len() == width *
    /// height * 4`, row-major, no padding; transparency is composited on white), and
    /// measures it.
    pub fn from_rgba(
        width: u32,
        height: u32,
        rgba: &[u8],
        opts: &SelfieOptions,
        probe: &mut dyn Probe,
    ) -> Result<Selfie, SelfieError> {
        Selfie::from_pixels(Pixels::rgba(width, height, rgba), opts, probe)
    }

    /// Like [`from_rgba`](Selfie::from_rgba), for any [`Pixels`]: another layout, or a picture
    /// a decoder already scaled down. It is [`convert`](Selfie::convert), then
    /// [`Converted::resize`].
    pub fn from_pixels(
        pixels: Pixels<'_>,
        opts: &SelfieOptions,
        probe: &mut dyn Probe,
    ) -> Result<Selfie, SelfieError> {
        Ok(Selfie::convert(pixels, opts, probe)?.resize(probe))
    }

    /// The first half of [`from_pixels`](Selfie::from_pixels): the checks and the colour
    /// conversion. A host that must not hold its thread for long runs other work before
    /// [`Converted::resize`].
    pub fn convert(
        pixels: Pixels<'_>,
        opts: &SelfieOptions,
        probe: &mut dyn Probe,
    ) -> Result<Converted, SelfieError> {
        let Pixels {
            data,
            layout,
            width,
            height,
            full,
        } = pixels;
        opts.validate()?;
        if width == 0 || height == 0 || full.0 < width || full.1 < height {
            return Err(SelfieError::InvalidFrame);
        }
        opts.limits.check_dimensions(full.0, full.1)?;
        let count = u64::from(width) * u64::from(height);
        if Some(data.len() as u64) != count.checked_mul(4) {
            return Err(SelfieError::InvalidFrame);
        }
        probe.stage(Stage::Convert);
        Ok(Converted {
            source: Ycc420::from_pixels(data, layout, width as usize, height as usize),
            full,
            opts: *opts,
            luma: None,
        })
    }

    /// What the gate measured.
    pub fn metrics(&self) -> &QualityMetrics {
        &self.metrics
    }

    /// The gate's verdict on exposure and sharpness (always `Ok` when the gate is off).
    pub fn check(&self) -> Result<(), SelfieError> {
        match &self.opts.checks {
            Some(checks) => checks.judge(&self.metrics),
            None => Ok(()),
        }
    }

    /// The output-size picture in grey, as RGBA: for a host's face detector when it has no
    /// pixels of its own at hand.
    pub fn grey_rgba(&self) -> (Vec<u8>, u32, u32) {
        let y = &self.resized.as_ref().unwrap_or(&self.source).y;
        let mut out = Vec::with_capacity(y.width * y.height * 4);
        for r in 0..y.height {
            for &v in &y.data[r * y.stride..r * y.stride + y.width] {
                out.extend_from_slice(&[v, v, v, 255]);
            }
        }
        (out, y.width as u32, y.height as u32)
    }

    /// Whether the options ask for a face detector to be consulted.
    pub fn wants_faces(&self) -> bool {
        self.opts.checks.is_some_and(|c| c.faces)
    }

    /// Records how many faces the host's detector found, and judges the count.
    pub fn check_faces(&mut self, faces: u32) -> Result<(), SelfieError> {
        self.metrics.faces = Some(faces);
        match &self.opts.checks {
            Some(checks) => checks.judge_faces(faces),
            None => Ok(()),
        }
    }

    /// Encodes at the preferred quality; if the file is above `max_bytes`, searches down to
    /// [`FLOOR_QUALITY`], then shrinks the image (at most 8 times) until it fits.
    pub fn encode(self, probe: &mut dyn Probe) -> Result<PreparedSelfie, SelfieError> {
        let opts = &self.opts;
        let q_max = opts.quality_percent();
        let q_min = FLOOR_QUALITY.min(q_max);
        let fits = |jpeg: &Vec<u8>| jpeg.len() <= opts.max_bytes;
        let mut image = self.resized.as_ref().unwrap_or(&self.source);
        let mut shrunk: Ycc420;
        let mut long_side = image.width().max(image.height()) as u32;
        // Shrinking stops here (or at the input's own size, if smaller).
        let min_long = MIN_MAX_DIMENSION.min(long_side);

        for _ in 0..=MAX_SHRINK_STEPS {
            probe.stage(Stage::Transform);
            let coefficients = Coefficients::new(image);
            let (w, h) = (image.width() as u32, image.height() as u32);
            let done = |jpeg: Vec<u8>, q: u8, probe: &mut dyn Probe| {
                probe.stage(Stage::Done);
                PreparedSelfie {
                    bytes: jpeg,
                    mime_type: ImageKind::Jpeg.mime_type(),
                    width: w,
                    height: h,
                    quality: f32::from(q) / 100.0,
                    metrics: Some(self.metrics),
                }
            };
            probe.stage(Stage::Encode);
            let first = coefficients.encode(q_max);
            if fits(&first) {
                return Ok(done(first, q_max, probe));
            }
            let mut smallest = first.len();
            if q_min < q_max {
                probe.stage(Stage::Encode);
                let low = coefficients.encode(q_min);
                if fits(&low) {
                    // Binary search for the highest quality that fits: at most 6 more encodes.
                    let (mut good, mut good_q, mut bad_q) = (low, q_min, q_max);
                    while bad_q - good_q > 1 {
                        let mid = good_q + (bad_q - good_q) / 2;
                        probe.stage(Stage::Encode);
                        let jpeg = coefficients.encode(mid);
                        if fits(&jpeg) {
                            (good, good_q) = (jpeg, mid);
                        } else {
                            bad_q = mid;
                        }
                    }
                    return Ok(done(good, good_q, probe));
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
            let (tw, th) = fit_within(self.full.0, self.full.1, long_side);
            probe.stage(Stage::Resize);
            shrunk = self.source.resized(tw as usize, th as usize);
            image = &shrunk;
        }
        probe.stage(Stage::Done);
        Err(SelfieError::CannotFit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QualityChecks;

    #[test]
    fn fit_keeps_aspect_and_never_upscales() {
        assert_eq!(fit_within(4032, 3024, 1280), (1280, 960));
        assert_eq!(fit_within(3024, 4032, 1280), (960, 1280));
        assert_eq!(fit_within(1920, 1080, 1280), (1280, 720));
        assert_eq!(fit_within(100, 50, 1280), (100, 50));
        assert_eq!(fit_within(10_000, 1, 1280), (1280, 1));
        assert_eq!(fit_within(65_535, 65_535, 64), (64, 64));
    }

    fn noisy(w: u32, h: u32) -> Vec<u8> {
        (0..w * h * 4)
            .map(|i| {
                if i % 4 == 3 {
                    255
                } else {
                    (i * 7919 % 251) as u8
                }
            })
            .collect()
    }

    #[test]
    fn cannot_fit_after_bounded_tries() {
        let rgba = noisy(300, 200);
        let unchecked = SelfieOptions {
            checks: None,
            ..Default::default()
        };
        // Below the public minimum budget (validation bypassed): not even headers fit.
        let s = Selfie::from_rgba(300, 200, &rgba, &unchecked, &mut ()).unwrap();
        let mut tight = s;
        tight.opts.max_bytes = 500;
        assert_eq!(
            tight.encode(&mut ()).map(|o| o.bytes.len()),
            Err(SelfieError::CannotFit)
        );
        // A budget reachable only by shrinking towards the 64 px floor. The shrink is aimed
        // at it (bytes grow with the pixel count), not a fixed step: one shrink, further than
        // the largest fixed step (75%) would go.
        let mut r = Recorder(Vec::new());
        let mut s = Selfie::from_rgba(300, 200, &rgba, &unchecked, &mut ()).unwrap();
        s.opts.max_bytes = 4_000;
        let out = s.encode(&mut r).unwrap();
        assert!(out.bytes.len() <= 4_000);
        assert!(out.width.max(out.height) < 225 && out.width.max(out.height) >= 64);
        use Stage::*;
        assert_eq!(
            r.0,
            [Transform, Encode, Encode, Resize, Transform, Encode, Done]
        );
    }

    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// The same file natively and in wasm, where the simd128 kernels run instead of the
    /// portable ones (`cargo xtask test` runs this in both): an awkward size, resized, with
    /// transparency, through the size search.
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn output_is_the_same_on_every_target() {
        let (w, h) = (333, 217);
        let mut rgba = noisy(w, h);
        for (i, a) in rgba.iter_mut().skip(3).step_by(4).enumerate() {
            *a = if i % 7 == 0 { (i % 256) as u8 } else { 255 };
        }
        let opts = SelfieOptions {
            max_dimension: 150,
            max_bytes: 10_000,
            quality: 1.0,
            checks: None,
            ..Default::default()
        };
        let s = Selfie::from_rgba(w, h, &rgba, &opts, &mut ()).unwrap();
        let m = *s.metrics();
        let out = s.encode(&mut ()).unwrap();
        assert_eq!((out.width, out.height), (150, 98));
        assert_eq!(
            (
                fnv1a(&out.bytes),
                out.bytes.len(),
                (m.sharpness * 1e6) as i64
            ),
            (11_827_402_698_693_003_562, 9021, 857_029)
        );
    }

    /// Records the stages in order.
    struct Recorder(Vec<Stage>);
    impl Probe for Recorder {
        fn stage(&mut self, stage: Stage) {
            self.0.push(stage);
        }
    }

    #[test]
    fn stages_are_reported_in_order() {
        let rgba = noisy(200, 100);
        let opts = SelfieOptions {
            max_dimension: 100,
            checks: None,
            ..Default::default()
        };
        let mut r = Recorder(Vec::new());
        let s = Selfie::from_rgba(200, 100, &rgba, &opts, &mut r).unwrap();
        s.encode(&mut r).unwrap();
        use Stage::*;
        // The resize reports itself per part (luma, then chroma), as a host may run other
        // work in between.
        assert_eq!(
            r.0,
            [Convert, Resize, Resize, Measure, Transform, Encode, Done]
        );
    }

    #[test]
    fn a_resize_in_two_parts_is_the_same_resize() {
        let rgba = noisy(300, 200);
        let opts = SelfieOptions {
            max_dimension: 150,
            checks: None,
            ..Default::default()
        };
        let whole = Selfie::from_rgba(300, 200, &rgba, &opts, &mut ()).unwrap();
        let mut parts = Selfie::convert(Pixels::rgba(300, 200, &rgba), &opts, &mut ()).unwrap();
        parts.resize_luma(&mut ());
        let parts = parts.resize(&mut ());
        assert_eq!(whole.metrics(), parts.metrics());
        assert_eq!(whole.encode(&mut ()), parts.encode(&mut ()));
    }

    #[test]
    fn grey_rgba_is_the_luma_at_the_output_size() {
        let unchecked = SelfieOptions {
            checks: None,
            ..Default::default()
        };
        let grey_frame = [90u8, 90, 90, 255].repeat(6 * 4);
        let s = Selfie::from_rgba(6, 4, &grey_frame, &unchecked, &mut ()).unwrap();
        assert_eq!(s.grey_rgba(), (grey_frame, 6, 4));
        let smaller = SelfieOptions {
            max_dimension: 150,
            ..unchecked
        };
        let s = Selfie::from_rgba(300, 200, &noisy(300, 200), &smaller, &mut ()).unwrap();
        let (grey, w, h) = s.grey_rgba();
        assert_eq!((w, h, grey.len()), (150, 100, 150 * 100 * 4));
        assert!(grey
            .chunks_exact(4)
            .all(|p| p[0] == p[1] && p[1] == p[2] && p[3] == 255));
    }

    #[test]
    fn faces_are_asked_for_and_judged_only_when_the_options_say_so() {
        let frame = noisy(40, 30);
        let with = |checks: Option<QualityChecks>| {
            let opts = SelfieOptions {
                checks,
                ..Default::default()
            };
            Selfie::from_rgba(40, 30, &frame, &opts, &mut ()).unwrap()
        };
        let all = QualityChecks {
            min_sharpness: 0.0,
            ..Default::default()
        };
        let mut s = with(Some(all));
        assert!(s.wants_faces());
        assert_eq!(s.check_faces(0), Err(SelfieError::NoFace));
        assert_eq!(s.check_faces(2), Err(SelfieError::MultipleFaces));
        assert_eq!(s.check_faces(1), Ok(()));
        assert_eq!(s.metrics().faces, Some(1));
        for mut s in [
            with(Some(QualityChecks {
                faces: false,
                ..all
            })),
            with(None),
        ] {
            assert!(!s.wants_faces());
            assert_eq!(s.check_faces(0), Ok(()));
            // Recorded all the same: the host reports what its detector saw.
            assert_eq!(s.metrics().faces, Some(0));
        }
    }

    /// A frame decoded at a reduced scale is never larger than the file it came from.
    #[test]
    fn a_frame_larger_than_its_full_size_is_refused() {
        let rgba = noisy(4, 3);
        for full in [(3, 3), (4, 2), (3, 2)] {
            let pixels = Pixels {
                full,
                ..Pixels::rgba(4, 3, &rgba)
            };
            assert!(
                matches!(
                    Selfie::convert(pixels, &SelfieOptions::default(), &mut ()),
                    Err(SelfieError::InvalidFrame)
                ),
                "full {full:?}"
            );
        }
        let pixels = Pixels {
            full: (8, 6),
            ..Pixels::rgba(4, 3, &rgba)
        };
        assert!(Selfie::convert(pixels, &SelfieOptions::default(), &mut ()).is_ok());
    }
}
