//! The quality gate's calibration set, built deterministically from the three committed
//! fixture photos (`tests/fixtures/`): originals at several sizes and JPEG qualities, and
//! variants that are usable (dimmed, slightly brightened, slightly soft) or degraded (dark,
//! overexposed, Gaussian-blurred, motion-blurred). [`evaluate`] runs the gate on every
//! sample as `prepare_from_rgba` would, and [`confusion_table`] is the README's table.
//!
//! What counts as usable is a judgement made here, once, and stated: a photo a person would
//! accept as a clear selfie. The degradations are strong enough that a face detector is
//! likely to fail, and no stronger than phones produce in a dark room or a shaking hand.

use crate::planes::{PixelLayout, Ycc420};
use crate::quality::QualityMetrics;
use crate::{QualityChecks, Selfie, SelfieError, SelfieOptions};

/// The fixture files' bytes (read by the caller: this crate does no I/O).
pub struct Fixtures<'a> {
    /// `astronaut.png`: a 512×512 portrait.
    pub astronaut_png: &'a [u8],
    /// `frame_1080.png`: a 1920×1080 camera frame.
    pub frame_png: &'a [u8],
    /// `photo_12mp.jpg`: a 4032×3024 phone photo.
    pub photo_jpg: &'a [u8],
}

/// One image of the set.
pub struct Sample {
    /// What it is, e.g. `frame 960px q60` or `portrait 1280px motion 32px 45°`.
    pub name: String,
    /// The kind of variant, for the table's rows.
    pub kind: Kind,
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// The kinds of sample, usable first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Original,
    Dimmed,
    Brightened,
    Soft,
    Dark,
    Overexposed,
    GaussianBlur,
    MotionBlur,
}

impl Kind {
    /// Whether a photo of this kind must pass the gate.
    pub fn usable(self) -> bool {
        self <= Kind::Soft
    }

    /// The table's description of the kind.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Original => "originals: 4 framings × 3 sizes × JPEG q90/q60/q35",
            Kind::Dimmed => "dimmed −1 and −1.5 EV, with sensor noise",
            Kind::Brightened => "brightened +0.5 EV",
            Kind::Soft => "slightly soft (Gaussian σ 1 px at 1280)",
            Kind::Dark => "dark: −3 and −4 EV, with sensor noise",
            Kind::Overexposed => "overexposed: +2 and +3 EV",
            Kind::GaussianBlur => "out of focus: Gaussian σ 4 and 7 px at 1280",
            Kind::MotionBlur => "shaken: motion blur 20 and 36 px at 1280, 0°/45°/90°",
        }
    }

    /// The error the gate should give a degraded sample of this kind.
    pub fn expected(self) -> Option<SelfieError> {
        match self {
            Kind::Dark => Some(SelfieError::TooDark),
            Kind::Overexposed => Some(SelfieError::TooBright),
            Kind::GaussianBlur | Kind::MotionBlur => Some(SelfieError::Blurry),
            _ => None,
        }
    }
}

/// An RGB image in linear-light floats would be exact but slow; 8-bit sRGB with exposure
/// applied through linear light is what a camera's output looks like.
#[derive(Clone)]
struct Rgb {
    w: usize,
    h: usize,
    data: Vec<u8>,
}

impl Rgb {
    fn from_rgba(w: usize, h: usize, rgba: &[u8]) -> Rgb {
        let data = rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        Rgb { w, h, data }
    }

    fn to_rgba(&self) -> Vec<u8> {
        self.data
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect()
    }

    fn crop(&self, x0: usize, y0: usize, w: usize, h: usize) -> Rgb {
        let mut data = Vec::with_capacity(w * h * 3);
        for y in y0..y0 + h {
            data.extend_from_slice(&self.data[(y * self.w + x0) * 3..(y * self.w + x0 + w) * 3]);
        }
        Rgb { w, h, data }
    }

    /// Area-average downscale so the long side is `long` (never up).
    fn scaled(&self, long: usize) -> Rgb {
        let (w, h) = crate::fit_within(self.w as u32, self.h as u32, long as u32);
        let (w, h) = (w as usize, h as usize);
        if (w, h) == (self.w, self.h) {
            return self.clone();
        }
        let weights = |src: usize, dst: usize| -> Vec<Vec<(usize, f32)>> {
            let s = src as f32 / dst as f32;
            (0..dst)
                .map(|i| {
                    let (a, b) = (i as f32 * s, (i + 1) as f32 * s);
                    let mut v = Vec::new();
                    let mut k = a.floor() as usize;
                    while (k as f32) < b && k < src {
                        let cover = (b.min(k as f32 + 1.0) - a.max(k as f32)) / s;
                        v.push((k, cover));
                        k += 1;
                    }
                    v
                })
                .collect()
        };
        let (wx, wy) = (weights(self.w, w), weights(self.h, h));
        let mut rows = vec![0f32; self.h * w * 3];
        for y in 0..self.h {
            for (x, taps) in wx.iter().enumerate() {
                for c in 0..3 {
                    rows[(y * w + x) * 3 + c] = taps
                        .iter()
                        .map(|&(k, f)| f * f32::from(self.data[(y * self.w + k) * 3 + c]))
                        .sum();
                }
            }
        }
        let mut data = vec![0u8; w * h * 3];
        for (y, taps) in wy.iter().enumerate() {
            for x in 0..w {
                for c in 0..3 {
                    let v: f32 = taps
                        .iter()
                        .map(|&(k, f)| f * rows[(k * w + x) * 3 + c])
                        .sum();
                    data[(y * w + x) * 3 + c] = v.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        Rgb { w, h, data }
    }

    /// Exposure changed by `ev` stops in linear light, clipped as a sensor clips.
    fn exposed(&self, ev: f32) -> Rgb {
        let gain = 2f32.powf(ev);
        let lut: Vec<u8> = (0..=255u8)
            .map(|v| (to_srgb((to_linear(v) * gain).min(1.0)) * 255.0).round() as u8)
            .collect();
        let data = self.data.iter().map(|&v| lut[usize::from(v)]).collect();
        Rgb { data, ..*self }
    }

    /// Gaussian sensor noise of `sigma` levels, from a fixed seed.
    fn noisy(&self, sigma: f32, seed: u64) -> Rgb {
        let mut rng = seed | 1;
        let mut uniform = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng >> 40) as f32 / (1u64 << 24) as f32
        };
        let data = self
            .data
            .iter()
            .map(|&v| {
                // Irwin–Hall: the sum of 12 uniforms is close to a standard normal.
                let n: f32 = (0..12).map(|_| uniform()).sum::<f32>() - 6.0;
                (f32::from(v) + n * sigma).round().clamp(0.0, 255.0) as u8
            })
            .collect();
        Rgb { data, ..*self }
    }

    /// A separable Gaussian blur of `sigma` pixels (kernel ±3σ, edges clamped).
    fn gaussian(&self, sigma: f32) -> Rgb {
        let r = (3.0 * sigma).ceil() as isize;
        let k: Vec<f32> = (-r..=r)
            .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
            .collect();
        let sum: f32 = k.iter().sum();
        let k: Vec<f32> = k.iter().map(|v| v / sum).collect();
        let taps: Vec<(isize, isize, f32)> = (-r..=r).zip(&k).map(|(d, &f)| (d, 0, f)).collect();
        let once = self.convolve(&taps);
        let taps: Vec<(isize, isize, f32)> = taps.iter().map(|&(d, _, f)| (0, d, f)).collect();
        once.convolve(&taps)
    }

    /// Motion blur: the average along a straight line of `len` pixels at `degrees`.
    fn motion(&self, len: f32, degrees: f32) -> Rgb {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let n = len.round().max(1.0) as isize;
        let taps: Vec<(isize, isize, f32)> = (0..n)
            .map(|i| {
                let t = i as f32 - (n - 1) as f32 / 2.0;
                (
                    (t * cos).round() as isize,
                    (t * sin).round() as isize,
                    1.0 / n as f32,
                )
            })
            .collect();
        self.convolve(&taps)
    }

    /// Σ f · pixel(x + dx, y + dy) over `taps`, with edges clamped.
    fn convolve(&self, taps: &[(isize, isize, f32)]) -> Rgb {
        let (w, h) = (self.w as isize, self.h as isize);
        let mut data = vec![0u8; self.data.len()];
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0f32; 3];
                for &(dx, dy, f) in taps {
                    let sx = (x + dx).clamp(0, w - 1);
                    let sy = (y + dy).clamp(0, h - 1);
                    let at = ((sy * w + sx) * 3) as usize;
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a += f * f32::from(self.data[at + c]);
                    }
                }
                let at = ((y * w + x) * 3) as usize;
                for (c, a) in acc.iter().enumerate() {
                    data[at + c] = a.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        Rgb { data, ..*self }
    }

    /// Through a JPEG at `quality` and back, as a camera or an upload would deliver it.
    fn jpeg(&self, quality: u8) -> Result<Rgb, SelfieError> {
        let img = Ycc420::from_pixels(&self.to_rgba(), PixelLayout::Rgba, self.w, self.h);
        let file = crate::jpeg::Coefficients::new(&img).encode(quality);
        let mut d = jpeg_decoder::Decoder::new(&file[..]);
        let data = d.decode().map_err(|_| SelfieError::Internal)?;
        Ok(Rgb { data, ..*self })
    }
}

fn to_linear(v: u8) -> f32 {
    let c = f32::from(v) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn to_srgb(l: f32) -> f32 {
    if l <= 0.003_130_8 {
        l * 12.92
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    }
}

fn decode(bytes: &[u8]) -> Result<Rgb, SelfieError> {
    let opts = SelfieOptions::default();
    let d = match crate::inspect(bytes, bytes.len() as u64, &opts)? {
        crate::FilePlan::Png { width, height } => crate::decode::decode_png(bytes, width, height)?,
        // At full size: the framings below crop it.
        crate::FilePlan::Jpeg { width, height, .. } => {
            crate::decode::decode_jpeg(bytes, width, height, width.max(height))?
        }
        _ => return Err(SelfieError::UnsupportedFormat),
    };
    Ok(Rgb::from_rgba(d.width as usize, d.height as usize, &d.rgba))
}

/// The long sides the originals are taken at, as fractions of the framing's own (at most
/// 1280): a camera at full, ¾ and ½ resolution.
const SIZES: [(usize, usize); 3] = [(1, 1), (3, 4), (1, 2)];

/// The whole set, in a fixed order.
pub fn samples(f: &Fixtures<'_>) -> Result<Vec<Sample>, SelfieError> {
    let astronaut = decode(f.astronaut_png)?;
    let frame = decode(f.frame_png)?;
    let photo = decode(f.photo_jpg)?;
    // The photo's face is the 2016×2016 middle of the mosaic: a portrait 3:4 framing of it,
    // as a phone held upright takes a selfie.
    let portrait = photo.crop(1260, 504, 1512, 2016);
    let framings = [
        ("astronaut", astronaut),
        ("frame", frame),
        ("phone", photo),
        ("portrait", portrait),
    ];
    let mut out = Vec::new();
    let mut push = |name: String, kind: Kind, img: Rgb| {
        out.push(Sample {
            name,
            kind,
            width: img.w as u32,
            height: img.h as u32,
            rgba: img.to_rgba(),
        });
    };
    for (i, (name, base)) in framings.iter().enumerate() {
        let seed = i as u64 * 1000;
        let full = base.scaled(1280);
        // σ and lengths are given for a 1280 px long side and scale with the image.
        let at = |px: f32| px * full.w.max(full.h) as f32 / 1280.0;
        let top = full.w.max(full.h);
        for (k, &(num, den)) in SIZES.iter().enumerate() {
            let img = base.scaled(top * num / den);
            let long = img.w.max(img.h);
            for q in [90, 60, 35] {
                push(
                    format!("{name} {long}px q{q}"),
                    Kind::Original,
                    img.jpeg(q)?,
                );
            }
            if k == 0 {
                for ev in [-1.0, -1.5] {
                    let v = img.exposed(ev).noisy(2.0, seed + k as u64);
                    push(
                        format!("{name} {long}px {ev:+} EV"),
                        Kind::Dimmed,
                        v.jpeg(85)?,
                    );
                }
                let v = img.exposed(0.5);
                push(
                    format!("{name} {long}px +0.5 EV"),
                    Kind::Brightened,
                    v.jpeg(85)?,
                );
                let v = img.gaussian(at(1.0));
                push(format!("{name} {long}px soft σ1"), Kind::Soft, v.jpeg(85)?);
            }
        }
        for (ev, sigma) in [(-3.0, 3.0), (-4.0, 4.0)] {
            let v = full.exposed(ev).noisy(sigma, seed + 7);
            push(format!("{name} {ev:+} EV"), Kind::Dark, v.jpeg(85)?);
        }
        for ev in [2.0, 3.0] {
            let v = full.exposed(ev);
            push(format!("{name} {ev:+} EV"), Kind::Overexposed, v.jpeg(85)?);
        }
        for sigma in [4.0, 7.0] {
            let v = full.gaussian(at(sigma)).noisy(1.0, seed + 11);
            push(
                format!("{name} Gaussian σ{sigma}"),
                Kind::GaussianBlur,
                v.jpeg(85)?,
            );
        }
        for len in [20.0, 36.0] {
            for deg in [0.0, 45.0, 90.0] {
                let v = full.motion(at(len), deg).noisy(1.0, seed + 13);
                push(
                    format!("{name} motion {len}px {deg}°"),
                    Kind::MotionBlur,
                    v.jpeg(85)?,
                );
            }
        }
    }
    Ok(out)
}

/// What the gate made of one sample.
pub struct Outcome {
    pub name: String,
    pub kind: Kind,
    pub metrics: QualityMetrics,
    pub verdict: Result<(), SelfieError>,
}

impl Outcome {
    /// Whether the gate did what it should: pass a usable photo, refuse a degraded one with
    /// the code that names its fault.
    pub fn correct(&self) -> bool {
        match self.kind.expected() {
            None => self.verdict.is_ok(),
            Some(e) => self.verdict == Err(e),
        }
    }
}

/// Runs the gate with `checks` on every sample, as `prepare_from_rgba` does (default size).
pub fn evaluate(samples: &[Sample], checks: &QualityChecks) -> Result<Vec<Outcome>, SelfieError> {
    let opts = SelfieOptions {
        checks: Some(*checks),
        ..Default::default()
    };
    samples
        .iter()
        .map(|s| {
            let selfie = Selfie::from_rgba(s.width, s.height, &s.rgba, &opts, &mut ())?;
            Ok(Outcome {
                name: s.name.clone(),
                kind: s.kind,
                metrics: *selfie.metrics(),
                verdict: selfie.check(),
            })
        })
        .collect()
}

/// The README's table: for each kind, how many samples passed and how many were refused.
pub fn confusion_table(outcomes: &[Outcome]) -> String {
    use std::fmt::Write as _;
    let mut kinds: Vec<Kind> = outcomes.iter().map(|o| o.kind).collect();
    kinds.sort();
    kinds.dedup();
    let mut t = String::from(
        "| samples | should | passed | refused | as expected |\n|---|---|---:|---:|---:|\n",
    );
    let (mut usable, mut false_rejects, mut degraded, mut caught) = (0, 0, 0, 0);
    for kind in kinds {
        let of: Vec<&Outcome> = outcomes.iter().filter(|o| o.kind == kind).collect();
        let passed = of.iter().filter(|o| o.verdict.is_ok()).count();
        let refused = of.len() - passed;
        let right = of.iter().filter(|o| o.correct()).count();
        if kind.usable() {
            usable += of.len();
            false_rejects += refused;
        } else {
            degraded += of.len();
            caught += refused;
        }
        let should = if kind.usable() {
            "pass".to_string()
        } else {
            format!("`{}`", kind.expected().map_or("", |e| e.code()))
        };
        let _ = writeln!(
            t,
            "| {} | {should} | {passed} | {refused} | {right}/{} |",
            kind.describe(),
            of.len()
        );
    }
    let _ = writeln!(
        t,
        "| **all** | | | | usable refused: **{false_rejects}/{usable}**; degraded caught: **{caught}/{degraded}** ({:.1} %) |",
        100.0 * caught as f64 / degraded.max(1) as f64
    );
    t.push_str(&margins_table(outcomes));
    t
}

/// How far apart the usable and the degraded samples measured, for each threshold.
fn margins_table(outcomes: &[Outcome]) -> String {
    use std::fmt::Write as _;
    let d = QualityChecks::default();
    let values = |keep: &dyn Fn(&Outcome) -> bool, m: fn(&QualityMetrics) -> f32| -> Vec<f32> {
        outcomes
            .iter()
            .filter(|o| keep(o))
            .map(|o| m(&o.metrics))
            .collect()
    };
    let min = |v: Vec<f32>| v.into_iter().fold(f32::INFINITY, f32::min);
    let max = |v: Vec<f32>| v.into_iter().fold(f32::NEG_INFINITY, f32::max);
    let usable = |o: &Outcome| o.kind.usable();
    let of = |k: &'static [Kind]| move |o: &Outcome| k.contains(&o.kind);
    let rows = [
        (
            "brightness",
            format!("≥ {:.1}", min(values(&usable, |m| m.brightness))),
            format!(
                "dark ≤ {:.1}",
                max(values(&of(&[Kind::Dark]), |m| m.brightness))
            ),
            format!("below {}", d.min_brightness),
        ),
        (
            "brightClipped",
            format!("≤ {:.3}", max(values(&usable, |m| m.bright_clipped))),
            format!(
                "overexposed ≥ {:.3}",
                min(values(&of(&[Kind::Overexposed]), |m| m.bright_clipped))
            ),
            format!("above {}", d.max_bright_clipped),
        ),
        (
            "sharpness",
            format!("≥ {:.3}", min(values(&usable, |m| m.sharpness))),
            format!(
                "blurred ≤ {:.3}",
                max(values(&of(&[Kind::GaussianBlur, Kind::MotionBlur]), |m| m
                    .sharpness))
            ),
            format!("below {}", d.min_sharpness),
        ),
    ];
    let mut t = String::from(
        "\n| measure | usable photos measured | degraded photos measured | refused (default) |\n|---|---|---|---|\n",
    );
    for (name, u, g, th) in rows {
        let _ = writeln!(t, "| `{name}` | {u} | {g} | {th} |");
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(w: usize, h: usize, level: u8) -> Rgb {
        Rgb {
            w,
            h,
            data: vec![level; w * h * 3],
        }
    }

    /// An outcome whose metrics do not matter to what is tested.
    fn outcome(kind: Kind, verdict: Result<(), SelfieError>) -> Outcome {
        Outcome {
            name: String::new(),
            kind,
            metrics: QualityMetrics {
                brightness: 128.0,
                dark_clipped: 0.0,
                bright_clipped: 0.0,
                sharpness: 1.0,
                faces: None,
            },
            verdict,
        }
    }

    /// A usable photo is right only if it passed; a degraded one only if it was refused with
    /// the code that names its fault.
    #[test]
    fn an_outcome_is_correct_only_with_the_expected_verdict() {
        let cases = [
            (Kind::Original, Ok(()), true),
            (Kind::Soft, Err(SelfieError::Blurry), false),
            (Kind::Dimmed, Err(SelfieError::TooDark), false),
            (Kind::Dark, Err(SelfieError::TooDark), true),
            (Kind::Dark, Ok(()), false),
            (Kind::Dark, Err(SelfieError::Blurry), false),
            (Kind::Overexposed, Err(SelfieError::TooBright), true),
            (Kind::Overexposed, Err(SelfieError::TooDark), false),
            (Kind::GaussianBlur, Err(SelfieError::Blurry), true),
            (Kind::MotionBlur, Err(SelfieError::Blurry), true),
            (Kind::MotionBlur, Ok(()), false),
        ];
        for (kind, verdict, want) in cases {
            let correct = outcome(kind, verdict).correct();
            assert_eq!(correct, want, "{kind:?} {verdict:?}");
        }
    }

    /// The table counts what the gate did, not what it should have done: a usable photo
    /// refused and a degraded one passed both show.
    #[test]
    fn the_table_counts_wrong_verdicts() {
        let table = confusion_table(&[
            outcome(Kind::Original, Ok(())),
            outcome(Kind::Original, Err(SelfieError::Blurry)),
            outcome(Kind::Original, Err(SelfieError::TooDark)),
            outcome(Kind::Dark, Err(SelfieError::TooDark)),
            outcome(Kind::Dark, Ok(())),
        ]);
        assert!(table.contains("| pass | 1 | 2 | 1/3 |"), "{table}");
        assert!(
            table.contains("| `SELFIE_TOO_DARK` | 1 | 1 | 1/2 |"),
            "{table}"
        );
        assert!(
            table.contains("usable refused: **2/3**; degraded caught: **1/2** (50.0 %)"),
            "{table}"
        );
    }

    /// Sensor noise has the σ asked for, centred on the picture's own level, whatever the
    /// seed: seed 1 included, as the generator's state must never be zero.
    #[test]
    fn noise_has_the_asked_sigma_for_any_seed() {
        for seed in [0, 1, 2, 7, 1000, u64::MAX] {
            for sigma in [2.0f32, 4.0] {
                let out = flat(64, 64, 128).noisy(sigma, seed);
                let n = out.data.len() as f64;
                let mean = out.data.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
                let var = out
                    .data
                    .iter()
                    .map(|&v| (f64::from(v) - mean).powi(2))
                    .sum::<f64>()
                    / n;
                let ratio = var.sqrt() / f64::from(sigma);
                assert!(
                    (mean - 128.0).abs() < 0.3,
                    "seed {seed} σ {sigma}: mean {mean}"
                );
                assert!(
                    (ratio - 1.0).abs() < 0.06,
                    "seed {seed} σ {sigma}: σ × {ratio}"
                );
            }
        }
    }

    /// The Gaussian's kernel reaches ±3σ: a one-pixel line blurred with σ 2 still lights the
    /// pixels 6 away (a weight of 0.0022 × 255 rounds to 1), and nothing beyond them.
    #[test]
    fn gaussian_reaches_three_sigma() {
        let (w, h, centre) = (31, 5, 15);
        let mut line = flat(w, h, 0);
        for y in 0..h {
            line.data[(y * w + centre) * 3..][..3].fill(255);
        }
        let out = line.gaussian(2.0);
        let row: Vec<u8> = (0..w).map(|x| out.data[(2 * w + x) * 3]).collect();
        assert_eq!(&row[centre - 7..=centre - 5], &[0, 1, 2], "{row:?}");
        assert_eq!(&row[centre + 5..=centre + 7], &[2, 1, 0], "{row:?}");
    }

    /// In f32, 13 × (14 / 13) is above 14: the last output pixel's span ends past the source,
    /// and the box filter must stop at the source's edge (a flat picture stays flat).
    #[test]
    fn downscale_stops_at_the_source_edge() {
        for (src, long, want) in [(14, 13, (13, 13)), (22, 21, (21, 21)), (20, 10, (10, 10))] {
            let flat = Rgb {
                w: src,
                h: src,
                data: vec![100; src * src * 3],
            };
            let out = flat.scaled(long);
            assert_eq!((out.w, out.h), want);
            assert!(out.data.iter().all(|&v| v == 100), "{src} → {long}");
        }
    }
}
