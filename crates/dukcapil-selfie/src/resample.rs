//! Resizing of one 8-bit plane with a Catmull-Rom filter (a cubic with B = 0, C = ½: close
//! to Lanczos, cheaper), separable: a vertical pass, then a horizontal one, in 14-bit fixed
//! point. Written over fixed-size groups so the compiler vectorizes it (see `jpeg.rs`).

use crate::planes::{Plane, Ycc420};

/// Fixed-point precision of the weights: they sum to `1 << PRECISION`.
pub(crate) const PRECISION: u32 = 14;
/// Taps are processed in groups of this many (the weights are padded with zeros).
const TAP_GROUP: usize = 8;
/// Output samples per step of the vertical pass.
pub(crate) const LANES: usize = 16;

fn catmull_rom(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        (1.5 * x - 2.5) * x * x + 1.0
    } else if x < 2.0 {
        ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    } else {
        0.0
    }
}

/// For each output sample: the first source sample and `taps` fixed-point weights.
pub(crate) struct Weights {
    pub starts: Vec<usize>,
    pub taps: usize,
    pub values: Vec<i16>,
}

impl Weights {
    /// Output sample `i` is centred on source position `(i + ½)·scale − ½`; the filter is
    /// widened by `scale` when shrinking, so it also low-passes (no aliasing).
    pub fn new(src_len: usize, dst_len: usize, scale: f64) -> Weights {
        let stretch = scale.max(1.0);
        let support = 2.0 * stretch;
        let window = (support * 2.0).ceil() as usize + 1;
        let taps = window.div_ceil(TAP_GROUP) * TAP_GROUP;
        let mut starts = Vec::with_capacity(dst_len);
        let mut values = vec![0i16; dst_len * taps];
        let mut w = vec![0f64; taps];
        let last = src_len.saturating_sub(1) as f64;
        let one = f64::from(1u32 << PRECISION);
        for (i, out) in values.chunks_exact_mut(taps).enumerate() {
            let centre = (i as f64 + 0.5) * scale - 0.5;
            let lo = (centre - support).floor().max(0.0).min(last) as usize;
            let hi = ((centre + support).ceil().max(0.0).min(last) as usize).max(lo);
            // The window always fits `taps`; a too-close right edge moves it left.
            let start = lo.min(src_len.saturating_sub(taps.min(src_len)));
            w.fill(0.0);
            for s in lo..=hi {
                if s - start < taps {
                    w[s - start] = catmull_rom((s as f64 - centre) / stretch);
                }
            }
            let sum: f64 = w.iter().sum();
            let mut total = 0i32;
            for (o, v) in out.iter_mut().zip(&w) {
                *o = (v / sum * one).round() as i16;
                total += i32::from(*o);
            }
            // Rounding must not change the sum (flat areas stay flat): fix the largest weight.
            if let Some(big) = (0..taps).max_by_key(|&k| out[k]) {
                out[big] += ((1 << PRECISION) - total) as i16;
            }
            starts.push(start);
        }
        Weights {
            starts,
            taps,
            values,
        }
    }

    pub fn of(&self, i: usize) -> (usize, &[i16]) {
        (
            self.starts[i],
            &self.values[i * self.taps..(i + 1) * self.taps],
        )
    }
}

/// One output row of the vertical pass: `out[x] = Σ w[k]·src[start + k][x]` for `x` in
/// `0..width` (rounded up to 16; `out` and the rows must have room).
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
pub(crate) fn vertical_row_portable(
    src: &[u8],
    stride: usize,
    start: usize,
    weights: &[i16],
    width: usize,
    out: &mut [u8],
) {
    let mut x = 0;
    while x < width {
        let mut acc = [1i32 << (PRECISION - 1); LANES];
        for (k, &w) in weights.iter().enumerate() {
            if w == 0 {
                continue;
            }
            let at = (start + k) * stride + x;
            let row = &src[at..at + LANES];
            for j in 0..LANES {
                acc[j] += i32::from(w) * i32::from(row[j]);
            }
        }
        for j in 0..LANES {
            out[x + j] = (acc[j] >> PRECISION).clamp(0, 255) as u8;
        }
        x += LANES;
    }
}

/// The transpose of a plane whose padded size is a multiple of 16 in both directions.
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
pub(crate) fn transpose_portable(src: &Plane) -> Plane {
    let mut dst = Plane::padded(src.height, src.width, 16);
    for y in 0..src.padded_height {
        for x in 0..src.padded_width {
            dst.data[x * dst.stride + y] = src.data[y * src.stride + x];
        }
    }
    dst
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use crate::simd::{transpose, vertical_row};
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use {transpose_portable as transpose, vertical_row_portable as vertical_row};

/// `src`'s columns resampled with `rows` (one output row per weight set).
fn vertical_pass(src: &Plane, rows: &Weights) -> Plane {
    let mut out = Plane::padded(src.width, rows.starts.len(), 16);
    for y in 0..rows.starts.len() {
        let (start, weights) = rows.of(y);
        let row = out.row_mut(y);
        vertical_row(&src.data, src.stride, start, weights, src.width, row);
    }
    out
}

/// `src` resized with the weights of its columns and rows (`cols` gives the output's width,
/// `rows` its height), padded to 16.
///
/// Both passes are vertical, which vectorizes without horizontal sums: rows, then a
/// transpose, the former columns as rows, and a transpose back (measured in Chromium: the
/// horizontal pass took twice the vertical one's time per sample).
fn resize_plane(src: &Plane, cols: &Weights, rows: &Weights) -> Plane {
    let tall = vertical_pass(src, rows);
    let narrow = vertical_pass(&transpose(&tall), cols);
    let mut dst = transpose(&narrow);
    dst.pad_edges();
    dst
}

impl Ycc420 {
    /// This image resized to `width × height`. Chroma keeps its siting: chroma sample `i`
    /// covers luma `2i..2i+2` in both images, so both planes use the luma scale.
    pub fn resized(&self, width: usize, height: usize) -> Ycc420 {
        let y = self.resized_luma(width, height);
        self.resized_chroma(y)
    }

    /// The first part of `resized`, about two thirds of its work: the luma plane.
    pub fn resized_luma(&self, width: usize, height: usize) -> Plane {
        let (sx, sy) = self.scales(width, height);
        let cols = Weights::new(self.y.width, width, sx);
        resize_plane(&self.y, &cols, &Weights::new(self.y.height, height, sy))
    }

    /// The rest of `resized`: the chroma planes, for the luma plane `y` already resized.
    pub fn resized_chroma(&self, y: Plane) -> Ycc420 {
        let (width, height) = (y.width, y.height);
        let (sx, sy) = self.scales(width, height);
        let (c, r) = (&self.cb, &self.cr);
        // Both chroma planes have the same size: one set of weights.
        let cols = Weights::new(c.width, width.div_ceil(2), sx);
        let rows = Weights::new(c.height, height.div_ceil(2), sy);
        debug_assert_eq!((c.width, c.height), (r.width, r.height));
        Ycc420 {
            y,
            cb: resize_plane(c, &cols, &rows),
            cr: resize_plane(r, &cols, &rows),
        }
    }

    fn scales(&self, width: usize, height: usize) -> (f64, f64) {
        (
            self.width() as f64 / width as f64,
            self.height() as f64 / height as f64,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `src` resized to `width × height` with the given scales.
    fn resized(src: &Plane, width: usize, height: usize, sx: f64, sy: f64) -> Plane {
        let cols = Weights::new(src.width, width, sx);
        resize_plane(src, &cols, &Weights::new(src.height, height, sy))
    }

    /// The vertical pass writes `width` rounded up to 16 samples, and not one more.
    #[test]
    fn vertical_pass_writes_the_rounded_width_only() {
        let (stride, rows) = (64, 4);
        let src = vec![100u8; stride * rows];
        for (width, written) in [(32, 32), (20, 32), (16, 16)] {
            let mut out = vec![0xAA; stride];
            vertical_row_portable(&src, stride, 1, &[1 << PRECISION], width, &mut out);
            assert!(out[..written].iter().all(|&v| v == 100), "{width}: {out:?}");
            assert!(
                out[written..].iter().all(|&v| v == 0xAA),
                "{width}: {out:?}"
            );
        }
    }

    #[test]
    fn weights_sum_to_one_and_cover_the_window() {
        for (src, dst) in [
            (1920, 1280),
            (1080, 720),
            (4032, 1280),
            (100, 99),
            (7, 3),
            (1, 1),
        ] {
            let scale = src as f64 / dst as f64;
            let w = Weights::new(src, dst, scale);
            for i in 0..dst {
                let (start, v) = w.of(i);
                assert_eq!(v.iter().map(|&x| i32::from(x)).sum::<i32>(), 1 << PRECISION);
                assert!(start + v.iter().rposition(|&x| x != 0).unwrap_or(0) < src);
            }
        }
    }

    #[test]
    fn flat_stays_flat_and_gradients_stay_monotone() {
        let flat = Plane::from_fn(300, 200, |_, _| 77);
        let out = resized(&flat, 200, 133, 1.5, 200.0 / 133.0);
        assert!((0..133).all(|y| out.row(y).iter().all(|&v| v == 77)));

        let ramp = Plane::from_fn(256, 64, |x, _| x as u8);
        let out = resized(&ramp, 128, 32, 2.0, 2.0);
        let row = out.row(10);
        assert!(row.windows(2).all(|p| p[0] <= p[1]), "{row:?}");
        // Output sample i is centred on source 2i + 0.5.
        assert!((i32::from(row[64]) - 128).abs() <= 1, "{}", row[64]);
    }

    #[test]
    fn transpose_twice_is_the_identity() {
        let p = Plane::from_fn(37, 21, |x, y| (x * 7 + y * 13) as u8);
        let t = transpose_portable(&p);
        assert_eq!((t.width, t.height), (21, 37));
        assert_eq!(t.data[5 * t.stride + 3], p.data[3 * p.stride + 5]);
        let back = transpose_portable(&t);
        for y in 0..21 {
            assert_eq!(back.row(y), p.row(y));
        }
    }

    #[test]
    fn no_aliasing_when_shrinking_a_fine_pattern() {
        // One-pixel stripes average out to grey at a third of the size.
        let stripes = Plane::from_fn(300, 30, |x, _| if x % 2 == 0 { 0 } else { 255 });
        let out = resized(&stripes, 100, 10, 3.0, 3.0);
        for x in 2..98 {
            let v = out.row(5)[x];
            assert!((115..=140).contains(&v), "x {x}: {v}");
        }
    }
}
