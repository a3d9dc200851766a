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

/// Luma of the four RGBA pixels in `px`, as i32 lanes.
#[inline(always)]
fn luma4(px: v128) -> v128 {
    const Z: v128 = i16x8(0, 0, 0, 0, 0, 0, 0, 0);
    // (r, g) pairs and (b, 1) pairs as i16 lanes.
    let rg = i8x16_shuffle::<0, 16, 1, 16, 4, 16, 5, 16, 8, 16, 9, 16, 12, 16, 13, 16>(px, Z);
    const ONE: v128 = i16x8(1, 1, 1, 1, 1, 1, 1, 1);
    let b1 = i8x16_shuffle::<2, 17, 16, 17, 6, 17, 16, 17, 10, 17, 16, 17, 14, 17, 16, 17>(px, ONE);
    let k_rg = i16x8(
        Y_K[0], Y_K[1], Y_K[0], Y_K[1], Y_K[0], Y_K[1], Y_K[0], Y_K[1],
    );
    let k_b1 = i16x8(
        Y_K[2], Y_K[3], Y_K[2], Y_K[3], Y_K[2], Y_K[3], Y_K[2], Y_K[3],
    );
    i32x4_shr(
        i32x4_add(i32x4_dot_i16x8(rg, k_rg), i32x4_dot_i16x8(b1, k_b1)),
        15,
    )
}

/// Sixteen luma bytes from 64 RGBA bytes.
#[inline(always)]
fn luma16(p: &[u8; GROUP * 4]) -> v128 {
    let y0 = luma4(load(p, 0));
    let y1 = luma4(load(p, 16));
    let y2 = luma4(load(p, 32));
    let y3 = luma4(load(p, 48));
    u8x16_narrow_i16x8(i16x8_narrow_i32x4(y0, y1), i16x8_narrow_i32x4(y2, y3))
}

/// For 4 pixels of the top row and the 4 below them: the sums of each 2×2 block's r, g, b
/// and a, as u16 lanes `[r, g, b, a, r, g, b, a]` (two chroma samples).
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

/// One chroma component for 4 samples from two `quad_sums` vectors.
#[inline(always)]
fn chroma4(s01: v128, s23: v128, k: &[i16; 3]) -> v128 {
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
pub(crate) fn convert_group(
    top: &[u8; GROUP * 4],
    bottom: &[u8; GROUP * 4],
    ytop: &mut [u8; GROUP],
    ybot: &mut [u8; GROUP],
    cb: &mut [u8; GROUP / 2],
    cr: &mut [u8; GROUP / 2],
) {
    store(ytop, 0, luma16(top));
    store(ybot, 0, luma16(bottom));
    let s0 = quad_sums(load(top, 0), load(bottom, 0));
    let s1 = quad_sums(load(top, 16), load(bottom, 16));
    let s2 = quad_sums(load(top, 32), load(bottom, 32));
    let s3 = quad_sums(load(top, 48), load(bottom, 48));
    let narrow = |a: v128, b: v128| u8x16_narrow_i16x8(i16x8_narrow_i32x4(a, b), a);
    store8(
        cb,
        0,
        narrow(chroma4(s0, s1, &CB_K), chroma4(s2, s3, &CB_K)),
    );
    store8(
        cr,
        0,
        narrow(chroma4(s0, s1, &CR_K), chroma4(s2, s3, &CR_K)),
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
    // Pairs of weights with anything to add.
    // Pairs of rows with anything to add. A row with no weight may lie past the plane's
    // last row, so it is never read: its partner stands in (times zero).
    let pairs: Vec<(usize, usize, v128)> = weights
        .chunks_exact(2)
        .enumerate()
        .filter(|(_, w)| w[0] != 0 || w[1] != 0)
        .map(|(i, w)| {
            let (a, b) = (start + 2 * i, start + 2 * i + 1);
            let (a, b) = match (w[0], w[1]) {
                (0, _) => (b, b),
                (_, 0) => (a, a),
                _ => (a, b),
            };
            (a, b, i16x8(w[0], w[1], w[0], w[1], w[0], w[1], w[0], w[1]))
        })
        .collect();
    let mut x = 0;
    while x < width {
        let (mut a0, mut a1, mut a2, mut a3) = (round, round, round, round);
        for &(a, b, w) in &pairs {
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
// Forward DCT: `jpeg::fdct`, on eight rows of two i32x4 halves.

use crate::jpeg::consts::*;

#[derive(Clone, Copy)]
struct Row(v128, v128);

#[inline(always)]
fn add(a: Row, b: Row) -> Row {
    Row(i32x4_add(a.0, b.0), i32x4_add(a.1, b.1))
}

#[inline(always)]
fn sub(a: Row, b: Row) -> Row {
    Row(i32x4_sub(a.0, b.0), i32x4_sub(a.1, b.1))
}

#[inline(always)]
fn mul(a: Row, k: i32) -> Row {
    let k = i32x4_splat(k);
    Row(i32x4_mul(a.0, k), i32x4_mul(a.1, k))
}

#[inline(always)]
fn descale(a: Row, n: u32) -> Row {
    let r = i32x4_splat(1 << (n - 1));
    Row(
        i32x4_shr(i32x4_add(a.0, r), n),
        i32x4_shr(i32x4_add(a.1, r), n),
    )
}

#[inline(always)]
fn shl(a: Row, n: u32) -> Row {
    Row(i32x4_shl(a.0, n), i32x4_shl(a.1, n))
}

#[inline(always)]
fn dct_1d(d: [Row; 8], first_pass: bool) -> [Row; 8] {
    let tmp0 = add(d[0], d[7]);
    let tmp7 = sub(d[0], d[7]);
    let tmp1 = add(d[1], d[6]);
    let tmp6 = sub(d[1], d[6]);
    let tmp2 = add(d[2], d[5]);
    let tmp5 = sub(d[2], d[5]);
    let tmp3 = add(d[3], d[4]);
    let tmp4 = sub(d[3], d[4]);
    let tmp10 = add(tmp0, tmp3);
    let tmp13 = sub(tmp0, tmp3);
    let tmp11 = add(tmp1, tmp2);
    let tmp12 = sub(tmp1, tmp2);
    let (out0, out4) = if first_pass {
        (
            shl(add(tmp10, tmp11), PASS1_BITS),
            shl(sub(tmp10, tmp11), PASS1_BITS),
        )
    } else {
        (
            descale(add(tmp10, tmp11), PASS1_BITS),
            descale(sub(tmp10, tmp11), PASS1_BITS),
        )
    };
    let shift = if first_pass {
        CONST_BITS - PASS1_BITS
    } else {
        CONST_BITS + PASS1_BITS
    };
    let z1 = mul(add(tmp12, tmp13), FIX_0_541196100);
    let out2 = descale(add(z1, mul(tmp13, FIX_0_765366865)), shift);
    let out6 = descale(sub(z1, mul(tmp12, FIX_1_847759065)), shift);
    let z1 = add(tmp4, tmp7);
    let z2 = add(tmp5, tmp6);
    let z3 = add(tmp4, tmp6);
    let z4 = add(tmp5, tmp7);
    let z5 = mul(add(z3, z4), FIX_1_175875602);
    let tmp4 = mul(tmp4, FIX_0_298631336);
    let tmp5 = mul(tmp5, FIX_2_053119869);
    let tmp6 = mul(tmp6, FIX_3_072711026);
    let tmp7 = mul(tmp7, FIX_1_501321110);
    let z1 = mul(z1, -FIX_0_899976223);
    let z2 = mul(z2, -FIX_2_562915447);
    let z3 = add(mul(z3, -FIX_1_961570560), z5);
    let z4 = add(mul(z4, -FIX_0_390180644), z5);
    let out7 = descale(add(add(tmp4, z1), z3), shift);
    let out5 = descale(add(add(tmp5, z2), z4), shift);
    let out3 = descale(add(add(tmp6, z2), z3), shift);
    let out1 = descale(add(add(tmp7, z1), z4), shift);
    [out0, out1, out2, out3, out4, out5, out6, out7]
}

/// Transposes a 4×4 block of i32 lanes.
#[inline(always)]
fn transpose4(a: v128, b: v128, c: v128, d: v128) -> [v128; 4] {
    let ab_lo = i32x4_shuffle::<0, 4, 1, 5>(a, b);
    let ab_hi = i32x4_shuffle::<2, 6, 3, 7>(a, b);
    let cd_lo = i32x4_shuffle::<0, 4, 1, 5>(c, d);
    let cd_hi = i32x4_shuffle::<2, 6, 3, 7>(c, d);
    [
        i64x2_shuffle::<0, 2>(ab_lo, cd_lo),
        i64x2_shuffle::<1, 3>(ab_lo, cd_lo),
        i64x2_shuffle::<0, 2>(ab_hi, cd_hi),
        i64x2_shuffle::<1, 3>(ab_hi, cd_hi),
    ]
}

#[inline(always)]
fn transpose_block(m: [Row; 8]) -> [Row; 8] {
    let tl = transpose4(m[0].0, m[1].0, m[2].0, m[3].0);
    let tr = transpose4(m[0].1, m[1].1, m[2].1, m[3].1);
    let bl = transpose4(m[4].0, m[5].0, m[6].0, m[7].0);
    let br = transpose4(m[4].1, m[5].1, m[6].1, m[7].1);
    [
        Row(tl[0], bl[0]),
        Row(tl[1], bl[1]),
        Row(tl[2], bl[2]),
        Row(tl[3], bl[3]),
        Row(tr[0], br[0]),
        Row(tr[1], br[1]),
        Row(tr[2], br[2]),
        Row(tr[3], br[3]),
    ]
}

/// `jpeg::fdct`, vectorized: the 8×8 samples at `at` (rows `stride` apart) → coefficients.
pub(crate) fn fdct(data: &[u8], at: usize, stride: usize, out: &mut [i16; 64]) {
    let centre = i16x8_splat(128);
    let mut rows = [Row(i32x4_splat(0), i32x4_splat(0)); 8];
    for (r, row) in rows.iter_mut().enumerate() {
        let v = i16x8_sub(load8_u16(data, at + r * stride), centre);
        *row = Row(i32x4_extend_low_i16x8(v), i32x4_extend_high_i16x8(v));
    }
    let pass1 = dct_1d(rows, true);
    let pass2 = dct_1d(transpose_block(pass1), false);
    let result = transpose_block(pass2);
    for (r, row) in result.iter().enumerate() {
        store_i16x8(out, r * 8, i16x8_narrow_i32x4(row.0, row.1));
    }
}

// ---------------------------------------------------------------------------------------------
// Quantization: `jpeg::QuantTable::quantize_zigzag`.

/// The block quantized, in natural order, as eight rows of eight i16.
#[inline(always)]
fn quantize_rows(block: &[i16; 64], bias: &[f32; 64], inverse: &[f32; 64]) -> [v128; 8] {
    let half = |c: v128, at: usize| {
        let a = i32x4_abs(c);
        let f = f32x4_mul(
            f32x4_add(f32x4_convert_i32x4(a), load_f32x4(bias, at)),
            load_f32x4(inverse, at),
        );
        let v = i32x4_trunc_sat_f32x4(f);
        // Back to the coefficient's sign.
        v128_bitselect(i32x4_neg(v), v, i32x4_lt(c, i32x4_splat(0)))
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

/// For each 8 coefficients of the zigzag order, and each row of the natural order: which
/// bytes of the row go where (`0x80`: none), for `i8x16_swizzle`; and which rows contribute.
struct ZigzagMasks {
    masks: [[[u8; 16]; 8]; 8],
    rows: [u8; 8],
}

const ZIGZAG_MASKS: ZigzagMasks = {
    let mut z = ZigzagMasks {
        masks: [[[0x80; 16]; 8]; 8],
        rows: [0; 8],
    };
    let mut k = 0;
    while k < 64 {
        let n = crate::jpeg::ZIGZAG[k] as usize;
        let (out, lane, row, col) = (k / 8, k % 8, n / 8, n % 8);
        z.masks[out][row][2 * lane] = (2 * col) as u8;
        z.masks[out][row][2 * lane + 1] = (2 * col + 1) as u8;
        z.rows[out] |= 1 << row;
        k += 1;
    }
    z
};

/// `jpeg::QuantTable::zigzag_portable`: quantized, in zigzag order (each output vector
/// gathered from the rows it draws on with byte shuffles), and which coefficients are not
/// zero.
pub(crate) fn quantize_zigzag(
    block: &[i16; 64],
    bias: &[f32; 64],
    inverse: &[f32; 64],
) -> ([i16; 64], u64) {
    let rows = quantize_rows(block, bias, inverse);
    let mut z = [0i16; 64];
    let mut mask = 0u64;
    let zero = i16x8_splat(0);
    for out in 0..8 {
        let mut v = zero;
        for (row, src) in rows.iter().enumerate() {
            if ZIGZAG_MASKS.rows[out] & (1 << row) != 0 {
                let m = &ZIGZAG_MASKS.masks[out][row];
                v = v128_or(v, i8x16_swizzle(*src, load(m, 0)));
            }
        }
        store_i16x8(&mut z, out * 8, v);
        mask |= u64::from(i16x8_bitmask(i16x8_ne(v, zero))) << (out * 8);
    }
    (z, mask)
}

/// Quantizes the block in natural order into `q`.
#[cfg(test)]
pub(crate) fn quantize(
    block: &[i16; 64],
    bias: &[f32; 64],
    inverse: &[f32; 64],
    q: &mut [i16; 64],
) {
    for (r, row) in quantize_rows(block, bias, inverse).iter().enumerate() {
        store_i16x8(q, r * 8, *row);
    }
}

/// Which of the 64 coefficients are not zero, one bit each.
#[cfg(test)]
pub(crate) fn nonzero_mask(z: &[i16; 64]) -> u64 {
    let zero = i16x8_splat(0);
    let mut mask = 0u64;
    for i in 0..8 {
        let ne = i16x8_ne(load_i16x8(z, i * 8), zero);
        mask |= u64::from(i16x8_bitmask(ne)) << (i * 8);
    }
    mask
}

#[cfg(test)]
mod tests {
    //! SIMD against portable, in wasm (`cargo xtask test` runs these in Node).
    use super::*;
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
            crate::planes::convert_group_portable(
                &t,
                &b,
                &mut want.0,
                &mut want.1,
                &mut want.2,
                &mut want.3,
            );
            let mut got = ([0u8; 16], [0u8; 16], [0u8; 8], [0u8; 8]);
            convert_group(&t, &b, &mut got.0, &mut got.1, &mut got.2, &mut got.3);
            assert_eq!(got, want, "round {round}");
        }
    }

    #[wasm_bindgen_test]
    fn resize_rows_match() {
        let mut seed = 2;
        for (src_len, dst_len) in [(1920, 1280), (300, 100), (50, 49), (40, 7)] {
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
            let data = noise(stride * 8 + 16, &mut seed);
            let at = round % 17;
            let mut got = [0i16; 64];
            fdct(&data, at, stride, &mut got);
            let want = crate::jpeg::fdct_portable(&data, at, stride);
            assert_eq!(got, want, "dct round {round}");
            for quality in [10u8, 85, 100] {
                let t = crate::jpeg::QuantTable::new(&crate::jpeg::LUMA_QUANT, quality);
                let mut q = [0i16; 64];
                quantize(&got, &t.bias, &t.inverse, &mut q);
                assert_eq!(q, t.quantize_portable(&got), "quantize q{quality}");
                let expected: u64 = q
                    .iter()
                    .enumerate()
                    .fold(0, |m, (i, &v)| m | (u64::from(v != 0) << i));
                assert_eq!(nonzero_mask(&q), expected);
                let (z, mask) = quantize_zigzag(&got, &t.bias, &t.inverse);
                assert_eq!((z, mask), t.zigzag_portable(&got), "zigzag q{quality}");
            }
        }
    }
}
