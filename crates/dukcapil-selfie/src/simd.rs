//! WebAssembly SIMD (`simd128`) versions of the pixel kernels, for the browser build. Each
//! computes exactly what its portable twin computes (integer arithmetic throughout, the same
//! formulas), and the tests at the bottom check that, in wasm, on random inputs.
//!
//! The portable kernels are in `planes.rs`, `resample.rs` and `jpeg.rs`; the compiler does
//! not vectorize them well enough (measured in Chromium: colour conversion 14.2 ms and
//! resizing 26.5 ms for a 1080p frame, against 3–5 ms each here).
//!
//! The only `unsafe` in the crate is here: loads and stores of whole vectors, each from a
//! slice whose length is checked first.
#![allow(unsafe_code)]

use core::arch::wasm32::*;

/// 16 bytes from `s[at..]` (panics if fewer: a bug, never input).
#[inline(always)]
fn load(s: &[u8], at: usize) -> v128 {
    let s = &s[at..at + 16];
    // SAFETY: `s` has 16 readable bytes; wasm loads need no alignment.
    unsafe { v128_load(s.as_ptr().cast()) }
}

/// 8 bytes from `s[at..]`, each widened to 16 bits.
#[inline(always)]
fn load8_u16(s: &[u8], at: usize) -> v128 {
    let s = &s[at..at + 8];
    // SAFETY: `s` has 8 readable bytes.
    unsafe { u16x8_load_extend_u8x8(s.as_ptr()) }
}

#[inline(always)]
fn load_i16x8(s: &[i16], at: usize) -> v128 {
    let s = &s[at..at + 8];
    // SAFETY: `s` has 16 readable bytes.
    unsafe { v128_load(s.as_ptr().cast()) }
}

#[inline(always)]
fn load_f32x4(s: &[f32], at: usize) -> v128 {
    let s = &s[at..at + 4];
    // SAFETY: `s` has 16 readable bytes.
    unsafe { v128_load(s.as_ptr().cast()) }
}

#[inline(always)]
fn store(d: &mut [u8], at: usize, v: v128) {
    let d = &mut d[at..at + 16];
    // SAFETY: `d` has 16 writable bytes.
    unsafe { v128_store(d.as_mut_ptr().cast(), v) }
}

#[inline(always)]
fn store8(d: &mut [u8], at: usize, v: v128) {
    let d = &mut d[at..at + 8];
    // SAFETY: `d` has 8 writable bytes.
    unsafe { v128_store64_lane::<0>(v, d.as_mut_ptr().cast()) }
}

#[inline(always)]
fn store_i16x8(d: &mut [i16], at: usize, v: v128) {
    let d = &mut d[at..at + 8];
    // SAFETY: `d` has 16 writable bytes.
    unsafe { v128_store(d.as_mut_ptr().cast(), v) }
}

// ---------------------------------------------------------------------------------------------
// Colour conversion: `planes::convert_group`.

use crate::planes::{Plane, CB_K, CR_K, GROUP, Y_K};

/// Luma weights for a pixel's bytes 0, 1 and 2: r, g, b, or b, g, r if `BGR`.
const fn luma_k<const BGR: bool>() -> [i16; 3] {
    if BGR {
        [Y_K[2], Y_K[1], Y_K[0]]
    } else {
        [Y_K[0], Y_K[1], Y_K[2]]
    }
}

/// Luma of the four RGBX (or BGRX) pixels in `px`, as i32 lanes.
#[inline(always)]
fn luma4<const BGR: bool>(px: v128) -> v128 {
    const Z: v128 = i16x8(0, 0, 0, 0, 0, 0, 0, 0);
    // (r, g) pairs and (b, 1) pairs as i16 lanes.
    let rg = i8x16_shuffle::<0, 16, 1, 16, 4, 16, 5, 16, 8, 16, 9, 16, 12, 16, 13, 16>(px, Z);
    const ONE: v128 = i16x8(1, 1, 1, 1, 1, 1, 1, 1);
    let b1 = i8x16_shuffle::<2, 17, 16, 17, 6, 17, 16, 17, 10, 17, 16, 17, 14, 17, 16, 17>(px, ONE);
    let k = luma_k::<BGR>();
    let k_rg = i16x8(k[0], k[1], k[0], k[1], k[0], k[1], k[0], k[1]);
    let k_b1 = i16x8(k[2], Y_K[3], k[2], Y_K[3], k[2], Y_K[3], k[2], Y_K[3]);
    i32x4_shr(
        i32x4_add(i32x4_dot_i16x8(rg, k_rg), i32x4_dot_i16x8(b1, k_b1)),
        15,
    )
}

/// Sixteen luma bytes from 64 RGBX (or BGRX) bytes.
#[inline(always)]
fn luma16<const BGR: bool>(p: &[u8; GROUP * 4]) -> v128 {
    let y0 = luma4::<BGR>(load(p, 0));
    let y1 = luma4::<BGR>(load(p, 16));
    let y2 = luma4::<BGR>(load(p, 32));
    let y3 = luma4::<BGR>(load(p, 48));
    u8x16_narrow_i16x8(i16x8_narrow_i32x4(y0, y1), i16x8_narrow_i32x4(y2, y3))
}

/// For 4 pixels of the top row and the 4 below them: the sums of each 2×2 block's bytes, as
/// u16 lanes `[r, g, b, a, r, g, b, a]` (two chroma samples; b, g, r, x for BGRX).
#[inline(always)]
fn quad_sums(top: v128, bottom: v128) -> v128 {
    let lo = i16x8_add(u16x8_extend_low_u8x16(top), u16x8_extend_low_u8x16(bottom));
    let hi = i16x8_add(
        u16x8_extend_high_u8x16(top),
        u16x8_extend_high_u8x16(bottom),
    );
    // lo = [px0, px1], hi = [px2, px3] (four lanes each): add the pixels of each pair.
    i16x8_add(i64x2_shuffle::<0, 2>(lo, hi), i64x2_shuffle::<1, 3>(lo, hi))
}

/// One chroma component for 4 samples from two `quad_sums` vectors, with weights `k` for
/// r, g and b.
#[inline(always)]
fn chroma4<const BGR: bool>(s01: v128, s23: v128, k: &[i16; 3]) -> v128 {
    let k = if BGR { [k[2], k[1], k[0]] } else { *k };
    let kv = i16x8(k[0], k[1], k[2], 0, k[0], k[1], k[2], 0);
    let d01 = i32x4_dot_i16x8(s01, kv);
    let d23 = i32x4_dot_i16x8(s23, kv);
    let sum = i32x4_add(
        i32x4_shuffle::<0, 2, 4, 6>(d01, d23),
        i32x4_shuffle::<1, 3, 5, 7>(d01, d23),
    );
    i32x4_shr(i32x4_add(sum, i32x4_splat((512 << 15) + (1 << 16))), 17)
}

/// `planes::convert_group`, vectorized. Both rows are opaque.
#[inline(always)]
pub(crate) fn convert_group<const BGR: bool>(
    top: &[u8; GROUP * 4],
    bottom: &[u8; GROUP * 4],
    ytop: &mut [u8; GROUP],
    ybot: &mut [u8; GROUP],
    cb: &mut [u8; GROUP / 2],
    cr: &mut [u8; GROUP / 2],
) {
    store(ytop, 0, luma16::<BGR>(top));
    store(ybot, 0, luma16::<BGR>(bottom));
    let s0 = quad_sums(load(top, 0), load(bottom, 0));
    let s1 = quad_sums(load(top, 16), load(bottom, 16));
    let s2 = quad_sums(load(top, 32), load(bottom, 32));
    let s3 = quad_sums(load(top, 48), load(bottom, 48));
    let narrow = |a: v128, b: v128| u8x16_narrow_i16x8(i16x8_narrow_i32x4(a, b), a);
    store8(
        cb,
        0,
        narrow(chroma4::<BGR>(s0, s1, &CB_K), chroma4::<BGR>(s2, s3, &CB_K)),
    );
    store8(
        cr,
        0,
        narrow(chroma4::<BGR>(s0, s1, &CR_K), chroma4::<BGR>(s2, s3, &CR_K)),
    );
}

/// Whether all 16 pixels of the group are opaque.
#[inline(always)]
pub(crate) fn opaque(p: &[u8; GROUP * 4]) -> bool {
    let all = v128_and(
        v128_and(load(p, 0), load(p, 16)),
        v128_and(load(p, 32), load(p, 48)),
    );
    let alpha = u32x4_splat(0xFF00_0000);
    i32x4_all_true(i32x4_eq(v128_and(all, alpha), alpha))
}

// ---------------------------------------------------------------------------------------------
// Resizing: `resample::vertical_row` and `resample::horizontal_row`.

/// One output row of the vertical pass: `out[x] = Σ w[k]·rows[k][x]` over 16 columns at a
/// time. `src` holds the rows, `stride` apart, from row `start`; `weights` has an even length.
pub(crate) fn vertical_row(
    src: &[u8],
    stride: usize,
    start: usize,
    weights: &[i16],
    width: usize,
    out: &mut [u8],
) {
    let round = i32x4_splat(1 << (crate::resample::PRECISION - 1));
    // Pairs of rows with anything to add. A row with no weight may lie past the plane's
    // last row, so it is never read: its partner stands in (times zero). On the stack for
    // the usual few taps (this runs once per output row).
    let mut few = [(0usize, 0usize, i16x8_splat(0)); 16];
    let mut many = Vec::new();
    let mut n = 0;
    for (i, w) in weights.chunks_exact(2).enumerate() {
        let (a, b) = (start + 2 * i, start + 2 * i + 1);
        let (a, b) = match (w[0], w[1]) {
            (0, 0) => continue,
            (0, _) => (b, b),
            (_, 0) => (a, a),
            _ => (a, b),
        };
        let pair = (a, b, i16x8(w[0], w[1], w[0], w[1], w[0], w[1], w[0], w[1]));
        if n < few.len() {
            few[n] = pair;
        } else {
            many.push(pair);
        }
        n += 1;
    }
    let pairs: &[(usize, usize, v128)] = if many.is_empty() {
        &few[..n]
    } else {
        many.splice(0..0, few.iter().copied());
        &many
    };
    let mut x = 0;
    while x < width {
        let (mut a0, mut a1, mut a2, mut a3) = (round, round, round, round);
        for &(a, b, w) in pairs {
            let r0 = load(src, a * stride + x);
            let r1 = load(src, b * stride + x);
            // Interleave the two rows' bytes: (r0[i], r1[i]) pairs, widened to i16.
            let lo =
                i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(r0, r1);
            let hi = i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(
                r0, r1,
            );
            a0 = i32x4_add(a0, i32x4_dot_i16x8(u16x8_extend_low_u8x16(lo), w));
            a1 = i32x4_add(a1, i32x4_dot_i16x8(u16x8_extend_high_u8x16(lo), w));
            a2 = i32x4_add(a2, i32x4_dot_i16x8(u16x8_extend_low_u8x16(hi), w));
            a3 = i32x4_add(a3, i32x4_dot_i16x8(u16x8_extend_high_u8x16(hi), w));
        }
        let p = crate::resample::PRECISION;
        let v = u8x16_narrow_i16x8(
            i16x8_narrow_i32x4(i32x4_shr(a0, p), i32x4_shr(a1, p)),
            i16x8_narrow_i32x4(i32x4_shr(a2, p), i32x4_shr(a3, p)),
        );
        store(out, x, v);
        x += 16;
    }
}

/// `resample::transpose_portable`, in tiles of 8 rows × 16 columns: three rounds of
/// interleaving row `k` with row `k + 4` turn (row, column) bits into each other, after which
/// each vector holds two columns of 8 bytes (two rows of the result). Eight rows at a time
/// keep every value in a register (sixteen rows would not).
pub(crate) fn transpose(src: &Plane) -> Plane {
    let mut dst = Plane::padded(src.height, src.width, 16);
    for by in (0..src.padded_height).step_by(8) {
        for bx in (0..src.padded_width).step_by(16) {
            let mut r = [i8x16_splat(0); 8];
            for (k, row) in r.iter_mut().enumerate() {
                *row = load(&src.data, (by + k) * src.stride + bx);
            }
            for _ in 0..3 {
                let x = r;
                for k in 0..4 {
                    r[2 * k] =
                        i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(
                            x[k],
                            x[k + 4],
                        );
                    r[2 * k + 1] = i8x16_shuffle::<
                        8,
                        24,
                        9,
                        25,
                        10,
                        26,
                        11,
                        27,
                        12,
                        28,
                        13,
                        29,
                        14,
                        30,
                        15,
                        31,
                    >(x[k], x[k + 4]);
                }
            }
            // Vector j holds result rows (columns of the tile) 2j and 2j + 1.
            for (j, v) in r.iter().enumerate() {
                store8(&mut dst.data, (bx + 2 * j) * dst.stride + by, *v);
                store8(
                    &mut dst.data,
                    (bx + 2 * j + 1) * dst.stride + by,
                    i64x2_shuffle::<1, 1>(*v, *v),
                );
            }
        }
    }
    dst
}

// ---------------------------------------------------------------------------------------------
// Forward DCT: `jpeg::fdct_portable`, on eight rows of eight i16.
//
// Every product of the LL&M algorithm is rewritten as a two-term dot product, which
// `i32x4_dot_i16x8` computes on interleaved lanes in i32 (as libjpeg-turbo's SSE2 `jfdctint`
// does): e.g. `out2 = tmp12·c541 + tmp13·(c541 + c765)` for `z1 = (tmp12 + tmp13)·c541;
// out2 = z1 + tmp13·c765`. The integers, and so the coefficients, are exactly the portable
// version's. The sums stay within i16: 8-bit samples give at most ±4096 after pass 1 and
// 8 × that in pass 2's largest sum, which is exactly −32768 at worst.

use crate::jpeg::consts::*;

/// Lanes 0–3 and 4–7 of `a` and `b`, interleaved: pairs for `i32x4_dot_i16x8`.
#[inline(always)]
fn pairs(a: v128, b: v128) -> (v128, v128) {
    (
        i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(a, b),
        i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(a, b),
    )
}

/// `a·ka + b·kb` per lane, in i32 (low and high four lanes), from `pairs(a, b)`.
#[inline(always)]
fn dot((lo, hi): (v128, v128), ka: i32, kb: i32) -> (v128, v128) {
    let (ka, kb) = (ka as i16, kb as i16);
    let k = i16x8(ka, kb, ka, kb, ka, kb, ka, kb);
    (i32x4_dot_i16x8(lo, k), i32x4_dot_i16x8(hi, k))
}

#[inline(always)]
fn add32((a, b): (v128, v128), (c, d): (v128, v128)) -> (v128, v128) {
    (i32x4_add(a, c), i32x4_add(b, d))
}

/// Right shift by `n` with rounding, back to eight i16.
#[inline(always)]
fn descale_pack((lo, hi): (v128, v128), n: u32) -> v128 {
    let r = i32x4_splat(1 << (n - 1));
    i16x8_narrow_i32x4(
        i32x4_shr(i32x4_add(lo, r), n),
        i32x4_shr(i32x4_add(hi, r), n),
    )
}

#[inline(always)]
fn dct_1d(d: [v128; 8], first_pass: bool) -> [v128; 8] {
    let tmp0 = i16x8_add(d[0], d[7]);
    let tmp7 = i16x8_sub(d[0], d[7]);
    let tmp1 = i16x8_add(d[1], d[6]);
    let tmp6 = i16x8_sub(d[1], d[6]);
    let tmp2 = i16x8_add(d[2], d[5]);
    let tmp5 = i16x8_sub(d[2], d[5]);
    let tmp3 = i16x8_add(d[3], d[4]);
    let tmp4 = i16x8_sub(d[3], d[4]);

    // Even part.
    let tmp10 = i16x8_add(tmp0, tmp3);
    let tmp13 = i16x8_sub(tmp0, tmp3);
    let tmp11 = i16x8_add(tmp1, tmp2);
    let tmp12 = i16x8_sub(tmp1, tmp2);
    let (out0, out4) = if first_pass {
        (
            i16x8_shl(i16x8_add(tmp10, tmp11), PASS1_BITS),
            i16x8_shl(i16x8_sub(tmp10, tmp11), PASS1_BITS),
        )
    } else {
        let r = i16x8_splat(1 << (PASS1_BITS - 1));
        (
            i16x8_shr(i16x8_add(i16x8_add(tmp10, tmp11), r), PASS1_BITS),
            i16x8_shr(i16x8_add(i16x8_sub(tmp10, tmp11), r), PASS1_BITS),
        )
    };
    let shift = if first_pass {
        CONST_BITS - PASS1_BITS
    } else {
        CONST_BITS + PASS1_BITS
    };
    let p = pairs(tmp12, tmp13);
    let out2 = descale_pack(
        dot(p, FIX_0_541196100, FIX_0_541196100 + FIX_0_765366865),
        shift,
    );
    let out6 = descale_pack(
        dot(p, FIX_0_541196100 - FIX_1_847759065, FIX_0_541196100),
        shift,
    );

    // Odd part.
    let z = pairs(i16x8_add(tmp4, tmp6), i16x8_add(tmp5, tmp7));
    let z3 = dot(z, FIX_1_175875602 - FIX_1_961570560, FIX_1_175875602);
    let z4 = dot(z, FIX_1_175875602, FIX_1_175875602 - FIX_0_390180644);
    let p47 = pairs(tmp4, tmp7);
    let p56 = pairs(tmp5, tmp6);
    let out7 = dot(p47, FIX_0_298631336 - FIX_0_899976223, -FIX_0_899976223);
    let out1 = dot(p47, -FIX_0_899976223, FIX_1_501321110 - FIX_0_899976223);
    let out5 = dot(p56, FIX_2_053119869 - FIX_2_562915447, -FIX_2_562915447);
    let out3 = dot(p56, -FIX_2_562915447, FIX_3_072711026 - FIX_2_562915447);
    [
        out0,
        descale_pack(add32(out1, z4), shift),
        out2,
        descale_pack(add32(out3, z3), shift),
        out4,
        descale_pack(add32(out5, z4), shift),
        out6,
        descale_pack(add32(out7, z3), shift),
    ]
}

/// Transposes 8×8 i16: three rounds of interleaving row `k` with row `k + 4`.
#[inline(always)]
fn transpose_block(mut r: [v128; 8]) -> [v128; 8] {
    for _ in 0..3 {
        let x = r;
        for k in 0..4 {
            (r[2 * k], r[2 * k + 1]) = pairs(x[k], x[k + 4]);
        }
    }
    r
}

/// `jpeg::fdct_portable`, vectorized: the 8×8 samples at `at` (rows `stride` apart).
pub(crate) fn fdct(data: &[u8], at: usize, stride: usize, out: &mut [i16; 64]) {
    let centre = i16x8_splat(128);
    let mut rows = [i16x8_splat(0); 8];
    for (r, row) in rows.iter_mut().enumerate() {
        *row = i16x8_sub(load8_u16(data, at + r * stride), centre);
    }
    let pass1 = dct_1d(rows, true);
    let pass2 = dct_1d(transpose_block(pass1), false);
    for (r, row) in transpose_block(pass2).iter().enumerate() {
        store_i16x8(out, r * 8, *row);
    }
}

// ---------------------------------------------------------------------------------------------
// Quantization: `jpeg::QuantTable::quantize_masked`.

/// The block quantized, in natural order, as eight rows of eight i16.
#[inline(always)]
fn quantize_rows(block: &[i16; 64], inverse: &[f32; 64]) -> [v128; 8] {
    use crate::jpeg::ROUNDER;
    // `jpeg::quantize_one`, four lanes at a time.
    let half = |c: v128, at: usize| {
        let f = f32x4_convert_i32x4(c);
        let sign = v128_and(f, u32x4_splat(0x8000_0000));
        let v = f32x4_mul(
            f32x4_add(f, v128_or(f32x4_splat(0.5), sign)),
            load_f32x4(inverse, at),
        );
        i32x4_sub(
            f32x4_add(v, f32x4_splat(ROUNDER)),
            u32x4_splat(ROUNDER.to_bits()),
        )
    };
    let mut rows = [i16x8_splat(0); 8];
    for (r, row) in rows.iter_mut().enumerate() {
        let c = load_i16x8(block, r * 8);
        let lo = half(i32x4_extend_low_i16x8(c), r * 8);
        let hi = half(i32x4_extend_high_i16x8(c), r * 8 + 4);
        *row = i16x8_narrow_i32x4(lo, hi);
    }
    rows
}

/// `jpeg::QuantTable::quantize_masked_portable`: the block quantized (natural order), and
/// which coefficients are not zero, in zigzag order.
pub(crate) fn quantize_masked(block: &[i16; 64], inverse: &[f32; 64]) -> ([i16; 64], u64) {
    let mut q = [0i16; 64];
    let zero = i16x8_splat(0);
    let mut natural = 0u64;
    for (r, row) in quantize_rows(block, inverse).iter().enumerate() {
        store_i16x8(&mut q, r * 8, *row);
        natural |= u64::from(i16x8_bitmask(i16x8_ne(*row, zero))) << (r * 8);
    }
    (q, crate::jpeg::zigzag_mask(natural))
}

#[cfg(test)]
mod tests {
    //! SIMD against portable, in wasm (`cargo xtask test` runs these in Node).
    use super::*;
    use crate::planes::convert_group_portable;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn noise(n: usize, seed: &mut u32) -> Vec<u8> {
        (0..n)
            .map(|_| {
                *seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (*seed >> 23) as u8
            })
            .collect()
    }

    #[wasm_bindgen_test]
    fn colour_conversion_matches() {
        let mut seed = 1;
        for round in 0..200 {
            let mut t: [u8; 64] = noise(64, &mut seed).try_into().unwrap();
            let mut b: [u8; 64] = noise(64, &mut seed).try_into().unwrap();
            // Saturated colours, where rounding reaches the ends of the range.
            if round % 10 == 0 {
                let colour = [
                    [255, 0, 0],
                    [0, 0, 255],
                    [255, 255, 255],
                    [0, 0, 0],
                    [0, 255, 0],
                ];
                for (i, p) in t
                    .chunks_exact_mut(4)
                    .chain(b.chunks_exact_mut(4))
                    .enumerate()
                {
                    p[..3].copy_from_slice(&colour[(round / 10 + i / 8) % 5]);
                }
            }
            if round % 2 == 0 {
                for p in t.chunks_exact_mut(4).chain(b.chunks_exact_mut(4)) {
                    p[3] = 255;
                }
                assert!(opaque(&t) && opaque(&b));
            } else {
                assert!(!opaque(&t) || !opaque(&b));
                for p in t.chunks_exact_mut(4).chain(b.chunks_exact_mut(4)) {
                    p[3] = 255;
                }
            }
            let mut want = ([0u8; 16], [0u8; 16], [0u8; 8], [0u8; 8]);
            let mut got = want;
            if round % 3 == 0 {
                let (w, g) = (&mut want, &mut got);
                convert_group_portable::<true>(&t, &b, &mut w.0, &mut w.1, &mut w.2, &mut w.3);
                convert_group::<true>(&t, &b, &mut g.0, &mut g.1, &mut g.2, &mut g.3);
            } else {
                let (w, g) = (&mut want, &mut got);
                convert_group_portable::<false>(&t, &b, &mut w.0, &mut w.1, &mut w.2, &mut w.3);
                convert_group::<false>(&t, &b, &mut g.0, &mut g.1, &mut g.2, &mut g.3);
            }
            assert_eq!(got, want, "round {round}");
        }
    }

    #[wasm_bindgen_test]
    fn resize_rows_match() {
        let mut seed = 2;
        for (src_len, dst_len) in [(1920, 1280), (300, 100), (50, 49), (40, 7), (300, 7)] {
            let w =
                crate::resample::Weights::new(src_len, dst_len, src_len as f64 / dst_len as f64);
            let stride = src_len + 64;
            let src = noise(stride * (src_len + 16), &mut seed);
            // Vertical: output rows from columns of `src`.
            for y in [0, dst_len / 2, dst_len - 1] {
                let (start, weights) = w.of(y);
                let width = 48;
                let mut got = vec![0u8; width + 16];
                let mut want = vec![0u8; width + 16];
                vertical_row(&src, stride, start, weights, width, &mut got);
                crate::resample::vertical_row_portable(
                    &src, stride, start, weights, width, &mut want,
                );
                assert_eq!(
                    got[..width],
                    want[..width],
                    "vertical {src_len}→{dst_len} row {y}"
                );
            }
        }
        // Transposes, of planes of every padding.
        for (w, h) in [(16, 16), (33, 17), (1280, 720), (5, 40)] {
            let mut p = Plane::padded(w, h, 16);
            p.data = noise(p.data.len(), &mut seed);
            let (a, b) = (transpose(&p), crate::resample::transpose_portable(&p));
            assert_eq!((a.width, a.height, a.stride), (b.width, b.height, b.stride));
            for y in 0..a.padded_height {
                let row = y * a.stride;
                assert_eq!(
                    a.data[row..row + a.padded_width],
                    b.data[row..row + b.padded_width]
                );
            }
        }
    }

    #[wasm_bindgen_test]
    fn dct_and_quantization_match() {
        let mut seed = 3;
        let stride = 40;
        for round in 0..300 {
            let mut data = noise(stride * 8 + 16, &mut seed);
            // The extremes, where the i16 sums are closest to overflowing.
            match round {
                0 => data.fill(0),
                1 => data.fill(255),
                2 | 3 => {
                    for (i, v) in data.iter_mut().enumerate() {
                        *v = if (i % stride + i / stride + round) % 2 == 0 {
                            0
                        } else {
                            255
                        };
                    }
                }
                _ => {}
            }
            let at = round % 17;
            let mut got = [0i16; 64];
            fdct(&data, at, stride, &mut got);
            let want = crate::jpeg::fdct_portable(&data, at, stride);
            assert_eq!(got, want, "dct round {round}");
            for quality in [10u8, 85, 100] {
                let t = crate::jpeg::QuantTable::new(&crate::jpeg::LUMA_QUANT, quality);
                let masked = quantize_masked(&got, &t.inverse);
                assert_eq!(
                    masked,
                    t.quantize_masked_portable(&got),
                    "masked q{quality}"
                );
            }
        }
    }
}
