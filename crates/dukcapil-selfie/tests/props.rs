//! Properties: the byte budget always holds, and no input makes the crate panic.
// proptest needs an OS random source: native only.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use dukcapil_selfie::{
    fit_within, prepare_from_file, prepare_from_rgba, SelfieError, SelfieLimits, SelfieOptions,
};
use proptest::prelude::*;

/// `PROPTEST_CASES` overrides the per-test default, for longer fuzzing runs.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An upper bound on the size of any baseline 4:2:0 JPEG of `width × height` from our encoder,
/// whatever the pixels and the quality: headers (about 620 bytes: JFIF, two quantization
/// tables, four standard Huffman tables, frame and scan) under 1,024, and per 8×8 block at
/// most a DC code and value (11 + 11 bits) and 63 AC codes and values (16 + 10 bits each; a
/// run of 16 zeros costs 11 bits, less than the values it skips), 1,670 bits ≤ 209 bytes,
/// doubled for the zero byte stuffed after each `FF`. A 16×16 MCU holds six blocks.
fn worst_case_jpeg_bytes(width: u32, height: u32) -> usize {
    let mcus = width.div_ceil(16) as usize * height.div_ceil(16) as usize;
    1024 + mcus * 6 * 2 * 209
}

/// The quality a first encode uses: the preferred one, on the encoder's 1–100 scale.
fn first_quality(quality: f32) -> f32 {
    (quality * 100.0).round().clamp(1.0, 100.0) / 100.0
}

/// A noise frame's width, height and seed, and the preferred quality and longest side.
fn frames() -> impl Strategy<Value = (u32, u32, u64, f32, u32)> {
    (
        1u32..400,
        1u32..400,
        any::<u64>(),
        0.01f32..=1.0,
        64u32..=512,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(24)))]

    /// A budget above the worst case for the output size fits at once: no `CannotFit`, no
    /// lowered quality, no shrinking.
    #[test]
    fn a_budget_that_provably_fits_is_met_at_the_first_try(
        (width, height, seed, quality, max_dimension) in frames(),
        spare in 0usize..=200_000,
    ) {
        let (w, h) = fit_within(width, height, max_dimension);
        let max_bytes = (worst_case_jpeg_bytes(w, h) + spare).clamp(10_000, 2_000_000);
        prop_assume!(max_bytes >= worst_case_jpeg_bytes(w, h));
        let rgba = noise((width * height * 4) as usize, seed);
        let opts = SelfieOptions { max_dimension, max_bytes, quality, checks: None, ..Default::default() };
        let out = prepare_from_rgba(width, height, &rgba, &opts);
        let out = out.map_err(|e| TestCaseError::fail(format!(
            "{width}×{height} to {w}×{h} in {max_bytes} bytes: {e:?}")))?;
        prop_assert_eq!((out.width, out.height), (w, h));
        prop_assert_eq!(out.quality, first_quality(quality));
        prop_assert!(out.bytes.len() <= worst_case_jpeg_bytes(w, h));
    }

    #[test]
    fn output_fits_the_budget_and_keeps_the_aspect(
        (width, height, seed, quality, max_dimension) in frames(),
        max_bytes in 10_000usize..=2_000_000,
    ) {
        let rgba = noise((width * height * 4) as usize, seed);
        let opts = SelfieOptions { max_dimension, max_bytes, quality, checks: None, ..Default::default() };
        match prepare_from_rgba(width, height, &rgba, &opts) {
            Ok(out) => {
                prop_assert!(out.bytes.len() <= max_bytes, "{} > {max_bytes}", out.bytes.len());
                prop_assert!(out.width.max(out.height) <= max_dimension);
                prop_assert!(out.width <= width && out.height <= height, "upscaled");
                prop_assert!(out.quality > 0.0 && out.quality <= quality.max(0.01) + 0.005);
                // The long side sets the scale; the short side is within 1 px of exact.
                let (long, short, olong, oshort) = if width >= height {
                    (width, height, out.width, out.height)
                } else {
                    (height, width, out.height, out.width)
                };
                prop_assert!(olong >= oshort, "{width}×{height} -> {}×{}", out.width, out.height);
                let exact = f64::from(olong) * f64::from(short) / f64::from(long);
                prop_assert!((f64::from(oshort) - exact).abs() <= 1.0,
                    "{width}×{height} -> {}×{}", out.width, out.height);
                let img = decode_output(&out);
                prop_assert_eq!(img.data.len(), (out.width * out.height * 3) as usize);
            }
            Err(e) => {
                prop_assert_eq!(e, SelfieError::CannotFit);
                // Only a budget below the worst case for the output size may be missed.
                let (w, h) = fit_within(width, height, max_dimension);
                prop_assert!(max_bytes < worst_case_jpeg_bytes(w, h),
                    "{width}×{height} to {w}×{h} in {max_bytes} bytes: CannotFit");
            }
        }
    }
}

fn small_inputs() -> Vec<Vec<u8>> {
    let (w, h) = (24u32, 16u32);
    let rgb = quadrants_rgb(w, h);
    let mut progressive = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut progressive, 80);
    enc.set_progressive(true);
    enc.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let mut restart = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut restart, 80);
    enc.set_restart_interval(1);
    enc.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    vec![
        with_exif(
            &jpeg(&rgb, w, h, jpeg_encoder::ColorType::Rgb),
            &exif_tiff(6, false),
        ),
        progressive,
        restart,
        jpeg(
            &rgb_to_rgba(&rgb)
                .chunks(4)
                .flat_map(|p| [p[0], p[1], p[2], 0])
                .collect::<Vec<_>>(),
            w,
            h,
            jpeg_encoder::ColorType::Cmyk,
        ),
        png(
            &rgb,
            w,
            h,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            |_| {},
        ),
        png_interlaced(&rgb, w, h, 2, 3),
        png(
            &rgb_to_rgba(&rgb),
            w,
            h,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            |_| {},
        ),
    ]
}

/// Small limits keep each case fast when a mutation inflates the declared size.
fn fuzz_opts() -> SelfieOptions {
    SelfieOptions {
        limits: SelfieLimits {
            max_pixels: 1_000_000,
        },
        max_bytes: 10_000,
        checks: None,
        ..Default::default()
    }
}

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(out) = prepare_from_file(bytes, &fuzz_opts()) {
        prop_assert!(out.bytes.len() <= 10_000);
        if !out.is_pdf() {
            decode_output(&out);
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Xor(usize, u8),
    Cut(usize),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        4 => (any::<usize>(), 1u8..).prop_map(|(i, v)| Mutation::Xor(i, v)),
        1 => any::<usize>().prop_map(Mutation::Cut),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..64)).prop_map(|(i, v)| Mutation::Insert(i, v)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Remove(i, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Set(i, v) => {
                if let Some(b) = bytes.get_mut(i % len) {
                    *b = *v
                }
            }
            Mutation::Xor(i, v) => {
                if let Some(b) = bytes.get_mut(i % len) {
                    *b ^= *v
                }
            }
            Mutation::Cut(i) => bytes.truncate(i % len),
            Mutation::Insert(i, v) => {
                let at = (i % len).min(bytes.len());
                bytes.splice(at..at, v.iter().copied());
            }
            Mutation::Remove(i, n) => {
                let at = (i % len).min(bytes.len());
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(400)))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_after_a_signature_never_panic(
        magic in prop_oneof![Just(&b"\xFF\xD8\xFF"[..]), Just(&b"\x89PNG\r\n\x1a\n"[..]), Just(&b"%PDF-"[..])],
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        check(&[magic, &tail].concat())?;
    }

    #[test]
    fn mutated_jpegs_and_pngs_never_panic(
        which in 0usize..7,
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let input = small_inputs().swap_remove(which);
        check(&apply(input, &mutations))?;
    }
}
