//! A baseline JPEG encoder for 4:2:0 YCbCr planes: forward DCT, quantization and Huffman
//! coding with the standard (Annex K) tables, split so that the DCT runs once per image and
//! only quantization and entropy coding run again for each quality the size search tries.
//!
//! Ours rather than `jpeg-encoder`'s because of measurement (README, "Architecture"): that
//! crate has no wasm SIMD path, and its per-row buffers, block gathers and scalar DCT took
//! 34.6 ms of a 1280×720 encode in Chromium; its public `ImageBuffer` hook only covers the
//! colour conversion, which was not where the time went. The kernels here are plain Rust
//! written over fixed 8-lane rows, which LLVM turns into `simd128` code for the browser
//! build and SSE/AVX code natively, so one source is tested natively and runs in wasm.
//!
//! The forward DCT is the Loeffler–Ligtenberg–Moschytz algorithm as used by the Independent
//! JPEG Group's `jfdctint.c` (this software is based in part on the work of the Independent
//! JPEG Group); the quantization tables are those of Annex K with the IJG quality scaling.

use crate::planes::{Plane, Ycc420};

/// Coefficients of one 8×8 block, natural (row-major) order, scaled by 8 as `jfdctint`.
pub(crate) type Block = [i16; 64];

/// The DCT of every block of an image, in the order the scan writes them: for each MCU
/// (16×16 pixels), four luma blocks then one Cb and one Cr block.
pub(crate) struct Coefficients {
    blocks: Vec<Block>,
    width: u16,
    height: u16,
}

/// The DCT's fixed-point constants: `FIX_x` is `x · 2^CONST_BITS`, rounded.
pub(crate) mod consts {
    pub const CONST_BITS: u32 = 13;
    pub const PASS1_BITS: u32 = 2;
    pub const FIX_0_298631336: i32 = 2446;
    pub const FIX_0_390180644: i32 = 3196;
    pub const FIX_0_541196100: i32 = 4433;
    pub const FIX_0_765366865: i32 = 6270;
    pub const FIX_0_899976223: i32 = 7373;
    pub const FIX_1_175875602: i32 = 9633;
    pub const FIX_1_501321110: i32 = 12299;
    pub const FIX_1_847759065: i32 = 15137;
    pub const FIX_1_961570560: i32 = 16069;
    pub const FIX_2_053119869: i32 = 16819;
    pub const FIX_2_562915447: i32 = 20995;
    pub const FIX_3_072711026: i32 = 25172;
}

/// The portable DCT, for native builds; the browser build uses `simd::fdct`, which computes
/// the same, eight lanes at a time.
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
mod portable {
    use super::consts::*;
    use super::Block;

    /// Eight lanes: one row of a block, processed column-parallel (as the SIMD version does).
    type Lanes = [i32; 8];

    #[inline(always)]
    fn map2(a: &Lanes, b: &Lanes, f: impl Fn(i32, i32) -> i32) -> Lanes {
        let mut out = [0; 8];
        for i in 0..8 {
            out[i] = f(a[i], b[i]);
        }
        out
    }

    #[inline(always)]
    fn add(a: &Lanes, b: &Lanes) -> Lanes {
        map2(a, b, |x, y| x + y)
    }

    #[inline(always)]
    fn sub(a: &Lanes, b: &Lanes) -> Lanes {
        map2(a, b, |x, y| x - y)
    }

    #[inline(always)]
    fn mul(a: &Lanes, k: i32) -> Lanes {
        let mut out = [0; 8];
        for i in 0..8 {
            out[i] = a[i] * k;
        }
        out
    }

    /// Right shift by `n` with rounding.
    #[inline(always)]
    fn descale(a: &Lanes, n: u32) -> Lanes {
        let mut out = [0; 8];
        for i in 0..8 {
            out[i] = (a[i] + (1 << (n - 1))) >> n;
        }
        out
    }

    #[inline(always)]
    fn shl(a: &Lanes, n: u32) -> Lanes {
        let mut out = [0; 8];
        for i in 0..8 {
            out[i] = a[i] << n;
        }
        out
    }

    /// One 1-D DCT over the eight rows `d`, for all eight columns at once. Pass 1 keeps
    /// `PASS1_BITS` of extra precision; pass 2 removes it, leaving the output scaled by 8.
    #[inline(always)]
    fn dct_1d(d: &[Lanes; 8], first_pass: bool) -> [Lanes; 8] {
        let tmp0 = add(&d[0], &d[7]);
        let tmp7 = sub(&d[0], &d[7]);
        let tmp1 = add(&d[1], &d[6]);
        let tmp6 = sub(&d[1], &d[6]);
        let tmp2 = add(&d[2], &d[5]);
        let tmp5 = sub(&d[2], &d[5]);
        let tmp3 = add(&d[3], &d[4]);
        let tmp4 = sub(&d[3], &d[4]);

        // Even part.
        let tmp10 = add(&tmp0, &tmp3);
        let tmp13 = sub(&tmp0, &tmp3);
        let tmp11 = add(&tmp1, &tmp2);
        let tmp12 = sub(&tmp1, &tmp2);
        let (out0, out4) = if first_pass {
            (
                shl(&add(&tmp10, &tmp11), PASS1_BITS),
                shl(&sub(&tmp10, &tmp11), PASS1_BITS),
            )
        } else {
            (
                descale(&add(&tmp10, &tmp11), PASS1_BITS),
                descale(&sub(&tmp10, &tmp11), PASS1_BITS),
            )
        };
        let shift = if first_pass {
            CONST_BITS - PASS1_BITS
        } else {
            CONST_BITS + PASS1_BITS
        };
        let z1 = mul(&add(&tmp12, &tmp13), FIX_0_541196100);
        let out2 = descale(&add(&z1, &mul(&tmp13, FIX_0_765366865)), shift);
        let out6 = descale(&sub(&z1, &mul(&tmp12, FIX_1_847759065)), shift);

        // Odd part.
        let z1 = add(&tmp4, &tmp7);
        let z2 = add(&tmp5, &tmp6);
        let z3 = add(&tmp4, &tmp6);
        let z4 = add(&tmp5, &tmp7);
        let z5 = mul(&add(&z3, &z4), FIX_1_175875602);
        let tmp4 = mul(&tmp4, FIX_0_298631336);
        let tmp5 = mul(&tmp5, FIX_2_053119869);
        let tmp6 = mul(&tmp6, FIX_3_072711026);
        let tmp7 = mul(&tmp7, FIX_1_501321110);
        let z1 = mul(&z1, -FIX_0_899976223);
        let z2 = mul(&z2, -FIX_2_562915447);
        let z3 = add(&mul(&z3, -FIX_1_961570560), &z5);
        let z4 = add(&mul(&z4, -FIX_0_390180644), &z5);
        let out7 = descale(&add(&add(&tmp4, &z1), &z3), shift);
        let out5 = descale(&add(&add(&tmp5, &z2), &z4), shift);
        let out3 = descale(&add(&add(&tmp6, &z2), &z3), shift);
        let out1 = descale(&add(&add(&tmp7, &z1), &z4), shift);
        [out0, out1, out2, out3, out4, out5, out6, out7]
    }

    #[inline(always)]
    fn transpose(m: &[Lanes; 8]) -> [Lanes; 8] {
        let mut t = [[0; 8]; 8];
        for (r, row) in m.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                t[c][r] = v;
            }
        }
        t
    }

    /// The forward DCT of the 8×8 samples at `data[at..]`, rows `stride` apart.
    pub(crate) fn fdct_portable(data: &[u8], at: usize, stride: usize) -> Block {
        let mut rows = [[0i32; 8]; 8];
        for (r, row) in rows.iter_mut().enumerate() {
            let at = at + r * stride;
            let src = &data[at..at + 8];
            for (d, &s) in row.iter_mut().zip(src) {
                *d = i32::from(s) - 128;
            }
        }
        // Columns first (each row is a vector), then the rows of the transposed result.
        let pass1 = dct_1d(&rows, true);
        let pass2 = dct_1d(&transpose(&pass1), false);
        // pass2[v][u] is frequency (u vertical, v horizontal): transpose back to row-major.
        let out = transpose(&pass2);
        let mut block = [0i16; 64];
        for (r, row) in out.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                // |v| ≤ 8 × 1024 for 8-bit samples: always fits.
                block[r * 8 + c] = v as i16;
            }
        }
        block
    }
}
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(unused_imports)
)]
pub(crate) use portable::fdct_portable;

/// The forward DCT of the 8×8 samples at `(x, y)` of `plane` (which is padded, so the block
/// is always inside it).
fn fdct(plane: &Plane, x: usize, y: usize) -> Block {
    let at = y * plane.stride + x;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let mut out = [0i16; 64];
        crate::simd::fdct(&plane.data, at, plane.stride, &mut out);
        out
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    fdct_portable(&plane.data, at, plane.stride)
}

impl Coefficients {
    /// The DCT of every block of `img`, whose planes are padded to whole MCUs.
    pub(crate) fn new(img: &Ycc420) -> Coefficients {
        let mcus_x = img.y.padded_width / 16;
        let mcus_y = img.y.padded_height / 16;
        let mut blocks = Vec::with_capacity(mcus_x * mcus_y * 6);
        for my in 0..mcus_y {
            for mx in 0..mcus_x {
                let (x, y) = (mx * 16, my * 16);
                blocks.push(fdct(&img.y, x, y));
                blocks.push(fdct(&img.y, x + 8, y));
                blocks.push(fdct(&img.y, x, y + 8));
                blocks.push(fdct(&img.y, x + 8, y + 8));
                blocks.push(fdct(&img.cb, mx * 8, my * 8));
                blocks.push(fdct(&img.cr, mx * 8, my * 8));
            }
        }
        Coefficients {
            blocks,
            // Planes are never larger than 8192 (SelfieOptions::max_dimension).
            width: img.y.width as u16,
            height: img.y.height as u16,
        }
    }

    /// The JPEG file at `quality` (1–100).
    pub(crate) fn encode(&self, quality: u8) -> Vec<u8> {
        let tables = [
            QuantTable::new(&LUMA_QUANT, quality),
            QuantTable::new(&CHROMA_QUANT, quality),
        ];
        let mut out = Vec::with_capacity(self.blocks.len() * 24 + 1024);
        write_headers(&mut out, self.width, self.height, &tables);
        let mut bits = BitWriter::new(out);
        let mut prev_dc = [0i32; 3];
        for mcu in self.blocks.chunks_exact(6) {
            for (i, block) in mcu.iter().enumerate() {
                let (component, table) = match i {
                    0..=3 => (0, &tables[0]),
                    4 => (1, &tables[1]),
                    _ => (2, &tables[1]),
                };
                let (q, mask) = table.quantize_masked(block);
                let codes = if component == 0 {
                    &LUMA_CODES
                } else {
                    &CHROMA_CODES
                };
                encode_block(&mut bits, &q, mask, prev_dc[component], codes);
                prev_dc[component] = i32::from(q[0]);
            }
        }
        let mut out = bits.finish();
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Quantization

/// Annex K.1, luminance.
pub(crate) const LUMA_QUANT: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// Annex K.2, chrominance.
const CHROMA_QUANT: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/// Natural index of the k-th coefficient in zigzag order (Figure A.6).
pub(crate) const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

pub(crate) struct QuantTable {
    /// The table as written in the file (1–255), natural order.
    values: [u8; 64],
    /// `1 / (8q)` for each entry `q`: the DCT's output is 8 times the true coefficient.
    pub inverse: [f32; 64],
}

/// `1.5 · 2^23`: adding it to an f32 of magnitude below `2^22` rounds that to an integer (to
/// nearest, ties to even), which the low bits of the sum then hold.
pub(crate) const ROUNDER: f32 = 12_582_912.0;

/// `c / d` rounded to nearest with halves away from zero, as libjpeg does, for an
/// even divisor `d` (`inverse` is `1/d`).
///
/// That rounding of `c / d` is `⌊(|c| + d/2) / d⌋`, and with `d` even it equals the
/// round-to-nearest of `(|c| + ½) / d`, whose fractional part is always at least `½/d` from
/// ½: the rounding errors of the f32 product (below `|c|/d · 2^-23`) cannot move it across.
/// The sign goes on before rounding, which is symmetric. The test
/// `quantization_is_exact_for_every_divisor_and_value` checks all of it exhaustively.
#[inline(always)]
pub(crate) fn quantize_one(c: i16, inverse: f32) -> i16 {
    let c = f32::from(c);
    let v = (c + 0.5f32.copysign(c)) * inverse;
    // As the SIMD kernel rounds (`round_ties_even` would give the same).
    ((v + ROUNDER).to_bits() as i32 - ROUNDER.to_bits() as i32) as i16
}

impl QuantTable {
    /// `base` scaled to `quality` as libjpeg's `jpeg_quality_scaling` does.
    pub fn new(base: &[u16; 64], quality: u8) -> QuantTable {
        let q = u32::from(quality.clamp(1, 100));
        let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
        let mut t = QuantTable {
            values: [0; 64],
            inverse: [0.0; 64],
        };
        for (i, &b) in base.iter().enumerate() {
            let v = ((u32::from(b) * scale + 50) / 100).clamp(1, 255);
            t.values[i] = v as u8;
            t.inverse[i] = 1.0 / (v * 8) as f32;
        }
        t
    }

    /// Quantizes a block in natural order (see [`quantize_one`]).
    #[cfg_attr(
        all(target_arch = "wasm32", target_feature = "simd128"),
        allow(dead_code)
    )]
    pub fn quantize_portable(&self, block: &Block) -> Block {
        let mut q = [0i16; 64];
        for ((o, &c), &inv) in q.iter_mut().zip(block).zip(&self.inverse) {
            *o = quantize_one(c, inv);
        }
        q
    }

    /// The quantized block (natural order), and which of its coefficients are not zero, in
    /// zigzag order: bit `k` for the `k`-th coefficient the Huffman coder writes.
    #[cfg_attr(
        all(target_arch = "wasm32", target_feature = "simd128"),
        allow(dead_code)
    )]
    pub fn quantize_masked_portable(&self, block: &Block) -> (Block, u64) {
        let q = self.quantize_portable(block);
        let natural = q
            .iter()
            .enumerate()
            .fold(0u64, |m, (n, &v)| m | (u64::from(v != 0) << n));
        (q, zigzag_mask(natural))
    }

    #[inline]
    fn quantize_masked(&self, block: &Block) -> (Block, u64) {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return crate::simd::quantize_masked(block, &self.inverse);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        self.quantize_masked_portable(block)
    }
}

/// Zigzag position of each natural index (the inverse of [`ZIGZAG`]).
const ZIGZAG_POSITION: [u8; 64] = {
    let mut p = [0u8; 64];
    let mut k = 0;
    while k < 64 {
        p[ZIGZAG[k] as usize] = k as u8;
        k += 1;
    }
    p
};

/// For each nibble `i` of a natural-order bit mask and each of its 16 values: the same bits
/// at their zigzag positions. Sixteen lookups reorder a whole mask (2 KB of table).
const ZIGZAG_NIBBLES: [[u64; 16]; 16] = {
    let mut t = [[0u64; 16]; 16];
    let mut i = 0;
    while i < 16 {
        let mut v = 0;
        while v < 16 {
            let mut bit = 0;
            while bit < 4 {
                if v & (1 << bit) != 0 {
                    t[i][v] |= 1 << ZIGZAG_POSITION[i * 4 + bit];
                }
                bit += 1;
            }
            v += 1;
        }
        i += 1;
    }
    t
};

/// A natural-order bit mask (bit `n` for coefficient `n`) in zigzag order.
#[inline(always)]
pub(crate) fn zigzag_mask(natural: u64) -> u64 {
    let mut m = 0;
    for (i, t) in ZIGZAG_NIBBLES.iter().enumerate() {
        m |= t[((natural >> (4 * i)) & 15) as usize];
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Huffman coding

/// A Huffman table in the file's form: code counts per length 1–16, then the symbols.
struct HuffSpec {
    bits: [u8; 16],
    values: &'static [u8],
}

/// Annex K.3: the typical tables.
const LUMA_DC: HuffSpec = HuffSpec {
    bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    values: &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
};
const CHROMA_DC: HuffSpec = HuffSpec {
    bits: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    values: &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
};
const LUMA_AC: HuffSpec = HuffSpec {
    bits: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
    values: &[
        0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
        0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52,
        0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
        0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45,
        0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
        0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
        0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
        0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
        0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3,
        0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
        0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
    ],
};
const CHROMA_AC: HuffSpec = HuffSpec {
    bits: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
    values: &[
        0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
        0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33,
        0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
        0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44,
        0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63,
        0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
        0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
        0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
        0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
        0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
        0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
    ],
};

/// Code and length for each symbol (Annex C), built at compile time.
/// Code and length for each symbol in one word (`code << 5 | length`): one load per symbol.
struct Codes([u32; 256]);

impl Codes {
    #[inline(always)]
    fn get(&self, symbol: u8) -> (u32, u32) {
        let e = self.0[usize::from(symbol)];
        (e >> 5, e & 31)
    }
}

const fn build_codes(spec: &HuffSpec) -> Codes {
    let mut c = Codes([0; 256]);
    let mut code: u16 = 0;
    let mut k = 0;
    let mut l = 0;
    while l < 16 {
        let mut n = 0;
        while n < spec.bits[l] {
            let symbol = spec.values[k] as usize;
            c.0[symbol] = (code as u32) << 5 | (l as u32 + 1);
            code += 1;
            k += 1;
            n += 1;
        }
        code <<= 1;
        l += 1;
    }
    c
}

struct ComponentCodes {
    dc: Codes,
    ac: Codes,
}

static LUMA_CODES: ComponentCodes = ComponentCodes {
    dc: build_codes(&LUMA_DC),
    ac: build_codes(&LUMA_AC),
};
static CHROMA_CODES: ComponentCodes = ComponentCodes {
    dc: build_codes(&CHROMA_DC),
    ac: build_codes(&CHROMA_AC),
};

/// Appends bits MSB first, stuffing a zero byte after every `FF` (F.1.2.3).
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    /// Bits in `acc` not yet written (at most 32 between calls).
    n: u32,
}

impl BitWriter {
    fn new(out: Vec<u8>) -> BitWriter {
        BitWriter { out, acc: 0, n: 0 }
    }

    /// Appends the low `len` (≤ 27) bits of `bits`.
    #[inline(always)]
    fn put(&mut self, bits: u32, len: u32) {
        self.acc = (self.acc << len) | u64::from(bits);
        self.n += len;
        if self.n >= 32 {
            self.n -= 32;
            let word = (self.acc >> self.n) as u32;
            self.write_word(word);
        }
    }

    #[inline(always)]
    fn write_word(&mut self, word: u32) {
        let bytes = word.to_be_bytes();
        // Any FF byte? (The classic "has a byte equal to" test, on the complement.)
        let inv = !word;
        if (inv.wrapping_sub(0x0101_0101) & !inv & 0x8080_8080) == 0 {
            self.out.extend_from_slice(&bytes);
        } else {
            for b in bytes {
                self.out.push(b);
                if b == 0xFF {
                    self.out.push(0);
                }
            }
        }
    }

    /// Pads the last byte with 1 bits and returns the output.
    fn finish(mut self) -> Vec<u8> {
        let pad = (8 - self.n % 8) % 8;
        self.acc = (self.acc << pad) | ((1 << pad) - 1);
        self.n += pad;
        while self.n >= 8 {
            self.n -= 8;
            let b = (self.acc >> self.n) as u8;
            self.out.push(b);
            if b == 0xFF {
                self.out.push(0);
            }
        }
        self.out
    }
}

/// The size category of `v` and its bits as written (one's complement for negatives).
#[inline(always)]
fn category(v: i32) -> (u32, u32) {
    let a = v.unsigned_abs();
    let size = 32 - a.leading_zeros();
    let bits = if v < 0 { (v - 1) as u32 } else { v as u32 };
    (size, bits & ((1u32 << size) - 1))
}

#[inline(always)]
fn put_symbol(w: &mut BitWriter, codes: &Codes, symbol: u8, extra: u32, extra_len: u32) {
    let (code, len) = codes.get(symbol);
    w.put((code << extra_len) | extra, len + extra_len);
}

/// Huffman-codes one quantized block (natural order) in zigzag order; `nonzero` has bit `k`
/// set when the `k`-th coefficient in zigzag order is not zero, so runs of zeros are skipped
/// in one step.
fn encode_block(w: &mut BitWriter, q: &Block, nonzero: u64, prev_dc: i32, codes: &ComponentCodes) {
    let (size, bits) = category(i32::from(q[0]) - prev_dc);
    put_symbol(w, &codes.dc, size as u8, bits, size);

    let mut mask = nonzero & !1;
    let mut last = 0u32;
    while mask != 0 {
        let k = mask.trailing_zeros();
        mask &= mask - 1;
        let mut run = k - last - 1;
        while run > 15 {
            put_symbol(w, &codes.ac, 0xF0, 0, 0);
            run -= 16;
        }
        // Baseline allows 10-bit AC values; rounding can reach 1024 only at quality 100.
        let n = ZIGZAG[(k & 63) as usize];
        let (size, bits) = category(i32::from(q[usize::from(n) & 63]).clamp(-1023, 1023));
        put_symbol(w, &codes.ac, ((run << 4) | size) as u8, bits, size);
        last = k;
    }
    if last != 63 {
        put_symbol(w, &codes.ac, 0x00, 0, 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Headers

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    // Every body here is far below 64 KB.
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(body);
}

fn write_headers(out: &mut Vec<u8>, width: u16, height: u16, tables: &[QuantTable; 2]) {
    out.extend_from_slice(&[0xFF, 0xD8]);
    // JFIF 1.01, no density (aspect ratio 1:1), no thumbnail.
    segment(out, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    for (id, t) in tables.iter().enumerate() {
        let mut body = vec![id as u8];
        body.extend(ZIGZAG.iter().map(|&n| t.values[usize::from(n)]));
        segment(out, 0xDB, &body);
    }
    let [h0, h1] = height.to_be_bytes();
    let [w0, w1] = width.to_be_bytes();
    // Baseline, 8-bit, 3 components: Y 2×2 with table 0, Cb and Cr 1×1 with table 1.
    segment(
        out,
        0xC0,
        &[8, h0, h1, w0, w1, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1],
    );
    for (class_id, spec) in [
        (0x00, &LUMA_DC),
        (0x10, &LUMA_AC),
        (0x01, &CHROMA_DC),
        (0x11, &CHROMA_AC),
    ] {
        let mut body = vec![class_id];
        body.extend_from_slice(&spec.bits);
        body.extend_from_slice(spec.values);
        segment(out, 0xC4, &body);
    }
    segment(out, 0xDA, &[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DCT against the definition, in f64.
    #[test]
    fn dct_matches_the_definition() {
        let mut seed = 7u32;
        let mut plane = Plane::new(8, 8);
        for v in plane.data.iter_mut() {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *v = (seed >> 23) as u8;
        }
        let got = fdct(&plane, 0, 0);
        let c = |k: usize| if k == 0 { (0.5f64).sqrt() } else { 1.0 };
        for u in 0..8 {
            for v in 0..8 {
                let mut s = 0.0;
                for y in 0..8 {
                    for x in 0..8 {
                        let p = f64::from(plane.data[y * plane.stride + x]) - 128.0;
                        s += p
                            * ((2 * x + 1) as f64 * v as f64 * std::f64::consts::PI / 16.0).cos()
                            * ((2 * y + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0).cos();
                    }
                }
                // Scaled by 8 like jfdctint: 8 × (1/4) c(u) c(v) Σ …
                let want = 2.0 * c(u) * c(v) * s;
                let diff = (f64::from(got[u * 8 + v]) - want).abs();
                assert!(diff <= 2.0, "({u},{v}): {} vs {want:.1}", got[u * 8 + v]);
            }
        }
    }

    #[test]
    fn quantization_rounds_like_integer_division() {
        for quality in [1u8, 40, 85, 100] {
            let t = QuantTable::new(&LUMA_QUANT, quality);
            // Every coefficient value a DCT of 8-bit samples can give, at every position.
            for c in -8200i32..=8200 {
                let (q, mask) = t.quantize_masked(&[c as i16; 64]);
                for (k, &n) in ZIGZAG.iter().enumerate() {
                    let n = usize::from(n);
                    let d = i32::from(t.values[n]) * 8;
                    let want = c.signum() * ((c.abs() + d / 2) / d);
                    assert_eq!(i32::from(q[n]), want, "q{quality} at {n}, c {c}");
                    assert_eq!(mask >> k & 1 == 1, want != 0);
                }
            }
        }
    }

    #[test]
    fn quantization_is_exact_for_every_divisor_and_value() {
        for q in 1..=255i32 {
            let d = q * 8;
            let inverse = 1.0 / d as f32;
            for c in i32::from(i16::MIN)..=i32::from(i16::MAX) {
                let want = c.signum() * ((c.abs() + d / 2) / d);
                assert_eq!(
                    i32::from(quantize_one(c as i16, inverse)),
                    want,
                    "{c} / {d}"
                );
            }
        }
    }

    #[test]
    fn masks_are_reordered_to_zigzag() {
        for n in 0..64 {
            let k = ZIGZAG.iter().position(|&z| usize::from(z) == n).unwrap();
            assert_eq!(zigzag_mask(1 << n), 1 << k);
        }
        assert_eq!(zigzag_mask(u64::MAX), u64::MAX);
    }

    #[test]
    fn categories_and_bits() {
        assert_eq!(category(0), (0, 0));
        assert_eq!(category(1), (1, 1));
        assert_eq!(category(-1), (1, 0));
        assert_eq!(category(5), (3, 5));
        assert_eq!(category(-5), (3, 2));
        assert_eq!(category(-1023), (10, 0));
        assert_eq!(category(2047), (11, 2047));
    }

    #[test]
    fn standard_codes_are_canonical() {
        // Spot checks from Annex K, Table K.3 and K.5.
        assert_eq!(LUMA_CODES.dc.get(0), (0b00, 2));
        assert_eq!(LUMA_CODES.dc.get(11), (0b1_1111_1110, 9));
        assert_eq!(LUMA_CODES.ac.get(0x00), (0b1010, 4));
        assert_eq!(LUMA_CODES.ac.get(0xF0), (0x7F9, 11));
        assert_eq!(LUMA_CODES.ac.get(0xFA), (0xFFFE, 16));
        assert_eq!(CHROMA_CODES.ac.get(0x00), (0b00, 2));
    }

    #[test]
    fn byte_stuffing() {
        let mut w = BitWriter::new(Vec::new());
        w.put(0xFF, 8);
        w.put(0x12, 8);
        w.put(0xFFFF, 16);
        w.put(0x3, 2);
        assert_eq!(w.finish(), [0xFF, 0, 0x12, 0xFF, 0, 0xFF, 0, 0xFF, 0]);
    }

    /// The whole-word shortcut (no 0xFF byte: copy four bytes) agrees with stuffing byte by
    /// byte, on words with 0xFF at every position and count, and on neighbours of 0xFF.
    #[test]
    fn word_stuffing_matches_byte_stuffing() {
        let mut words = vec![0, u32::MAX, 0xFEFE_FEFE, 0x7F80_8081, 0x0100_00FF];
        let mut seed = 0x2545_F491_u32;
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let mut w = seed;
            // Force 0xFF (or 0xFE, 0x7F) into the bytes a few seed bits pick.
            for byte in 0..4 {
                match (seed >> (byte * 2 + 3)) & 7 {
                    0 | 1 => w |= 0xFF << (byte * 8),
                    2 => w = (w & !(0xFF << (byte * 8))) | 0xFE << (byte * 8),
                    3 => w = (w & !(0xFF << (byte * 8))) | 0x7F << (byte * 8),
                    _ => {}
                }
            }
            words.push(w);
        }
        for word in words {
            let mut w = BitWriter::new(Vec::new());
            w.write_word(word);
            let mut want = Vec::new();
            for b in word.to_be_bytes() {
                want.push(b);
                if b == 0xFF {
                    want.push(0);
                }
            }
            assert_eq!(w.out, want, "{word:#010x}");
        }
    }
}
