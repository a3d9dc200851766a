//! YCbCr 4:2:0 planes: what the JPEG encoder takes and what the quality checks read. The
//! colour conversion happens once, at the source size; resizing then works on one byte per
//! sample (luma) and a quarter of the samples (chroma), instead of four bytes per pixel.

/// One 8-bit plane, padded to whole blocks by repeating its last row and column, with spare
/// bytes at the end of each row so that kernels may read a little past the padding.
#[derive(Clone)]
pub(crate) struct Plane {
    pub data: Vec<u8>,
    pub width: usize,
    pub height: usize,
    pub padded_width: usize,
    pub padded_height: usize,
    pub stride: usize,
}

/// Bytes after `padded_width` in each row, for kernels that read whole 8- or 16-byte groups.
pub(crate) const ROW_SLACK: usize = 32;

impl Plane {
    /// A zeroed plane whose padded size is a multiple of `block` (8 or 16).
    pub fn padded(width: usize, height: usize, block: usize) -> Plane {
        Plane::with_slack(width, height, block, ROW_SLACK)
    }

    /// Like `padded`, with at least `slack` spare bytes after each row's padding.
    pub fn with_slack(width: usize, height: usize, block: usize, slack: usize) -> Plane {
        let padded_width = width.div_ceil(block).max(1) * block;
        let padded_height = height.div_ceil(block).max(1) * block;
        let stride = padded_width + slack.max(ROW_SLACK);
        Plane {
            data: vec![0; stride * padded_height],
            width,
            height,
            padded_width,
            padded_height,
            stride,
        }
    }

    /// A plane with sample `f(x, y)` at each position, edges padded (for tests).
    #[cfg(test)]
    pub fn from_fn(width: usize, height: usize, f: impl Fn(usize, usize) -> u8) -> Plane {
        let mut p = Plane::padded(width, height, 16);
        for y in 0..height {
            for x in 0..width {
                p.data[y * p.stride + x] = f(x, y);
            }
        }
        p.pad_edges();
        p
    }

    #[cfg(test)]
    pub fn new(width: usize, height: usize) -> Plane {
        Plane::padded(width, height, 8)
    }

    #[cfg(test)]
    pub fn row(&self, y: usize) -> &[u8] {
        &self.data[y * self.stride..y * self.stride + self.width]
    }

    pub fn row_mut(&mut self, y: usize) -> &mut [u8] {
        let s = self.stride;
        &mut self.data[y * s..y * s + s]
    }

    /// Fills the padding with copies of the last column and the last row.
    pub fn pad_edges(&mut self) {
        let (w, pw, s) = (self.width, self.padded_width, self.stride);
        if w == 0 || self.height == 0 {
            return;
        }
        for y in 0..self.height {
            let row = &mut self.data[y * s..y * s + pw];
            let last = row[w - 1];
            row[w..].fill(last);
        }
        let last_row = (self.height - 1) * s;
        for y in self.height..self.padded_height {
            self.data.copy_within(last_row..last_row + pw, y * s);
        }
    }
}

/// An image as JPEG stores it: full-resolution luma, chroma at half width and height.
#[derive(Clone)]
pub(crate) struct Ycc420 {
    pub y: Plane,
    pub cb: Plane,
    pub cr: Plane,
}

impl Ycc420 {
    /// Planes for a `width × height` image: luma padded to 16 (one MCU), chroma to 8.
    pub fn new(width: usize, height: usize) -> Ycc420 {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        Ycc420 {
            y: Plane::padded(width, height, 16),
            cb: Plane::padded(cw, ch, 8),
            cr: Plane::padded(cw, ch, 8),
        }
    }

    pub fn width(&self) -> usize {
        self.y.width
    }

    pub fn height(&self) -> usize {
        self.y.height
    }

    /// Converts an RGBA8 image (`rgba.len() == width * height * 4`), compositing any
    /// transparency on white, and averages each 2×2 block of chroma (as libjpeg's
    /// `h2v2_downsample`, with JFIF's centred siting).
    #[cfg(test)]
    pub fn from_rgba(rgba: &[u8], width: usize, height: usize) -> Ycc420 {
        Ycc420::from_pixels(rgba, PixelLayout::Rgba, width, height)
    }

    /// Like `from_rgba`, for 4-byte pixels in any [`PixelLayout`].
    pub fn from_pixels(pixels: &[u8], layout: PixelLayout, width: usize, height: usize) -> Ycc420 {
        if layout.blue_first() {
            Ycc420::convert::<true>(pixels, layout.has_alpha(), width, height)
        } else {
            Ycc420::convert::<false>(pixels, layout.has_alpha(), width, height)
        }
    }

    fn convert<const BGR: bool>(px: &[u8], alpha: bool, width: usize, height: usize) -> Ycc420 {
        let mut img = Ycc420::new(width, height);
        let row_bytes = width * 4;
        for cy in 0..height.div_ceil(2) {
            let y0 = cy * 2;
            let y1 = (y0 + 1).min(height - 1);
            let top = &px[y0 * row_bytes..(y0 + 1) * row_bytes];
            let bottom = &px[y1 * row_bytes..(y1 + 1) * row_bytes];
            convert_row_pair::<BGR>(top, bottom, alpha, (y0, y1, cy), &mut img);
        }
        img.pad_edges();
        img
    }

    pub fn pad_edges(&mut self) {
        self.y.pad_edges();
        self.cb.pad_edges();
        self.cr.pad_edges();
    }
}

/// The order of the bytes of 4-byte pixels. A browser hands over a canvas's pixels as RGBA,
/// and decoded pictures (a `VideoFrame`) often as BGRX, which is cheaper to copy as it is
/// than to have the browser reorder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelLayout {
    /// Red, green, blue, alpha (not premultiplied): transparency is composited on white.
    Rgba,
    /// Red, green, blue and a byte that is ignored (opaque).
    Rgbx,
    /// Blue, green, red, alpha (not premultiplied).
    Bgra,
    /// Blue, green, red and a byte that is ignored (opaque).
    Bgrx,
}

impl PixelLayout {
    fn blue_first(self) -> bool {
        matches!(self, PixelLayout::Bgra | PixelLayout::Bgrx)
    }

    fn has_alpha(self) -> bool {
        matches!(self, PixelLayout::Rgba | PixelLayout::Bgra)
    }
}

/// Pixels per group: 16 RGBA pixels are one 64-byte group (four 128-bit vectors).
pub(crate) const GROUP: usize = 16;

/// JFIF (full range) YCbCr in 15-bit fixed point, so that each weight fits an i16 (the SIMD
/// kernels multiply pairs of i16): luma weights for r, g, b, and ½ for rounding; chroma
/// weights for the sums of four pixels' r, g, b. Each chroma row sums to 0, so grey stays
/// exactly neutral.
pub(crate) const Y_K: [i16; 4] = [9798, 19235, 3736, 16384];
pub(crate) const CB_K: [i16; 3] = [-5529, -10855, 16384];
pub(crate) const CR_K: [i16; 3] = [16384, -13720, -2664];

/// `c` with alpha `a` composited on white, rounded.
#[inline]
pub(crate) fn over_white(c: u8, a: u8) -> u8 {
    let (c, a) = (u32::from(c), u32::from(a));
    ((c * a + 255 * (255 - a) + 127) / 255) as u8
}

#[inline(always)]
fn luma(r: i32, g: i32, b: i32) -> i32 {
    let k = Y_K.map(i32::from);
    (k[0] * r + k[1] * g + k[2] * b + k[3]) >> 15
}

/// Cb and Cr from the sums of four pixels' r, g and b.
#[inline(always)]
fn chroma4(r: i32, g: i32, b: i32) -> (i32, i32) {
    let (u, v) = (CB_K.map(i32::from), CR_K.map(i32::from));
    let offset = (512 << 15) + (1 << 16);
    // Saturated red or blue rounds to 256: clamp, as the SIMD narrowing does.
    let cb = ((u[0] * r + u[1] * g + u[2] * b + offset) >> 17).min(255);
    let cr = ((v[0] * r + v[1] * g + v[2] * b + offset) >> 17).min(255);
    (cb, cr)
}

/// Rows `y0` and `y1` (the same row at an odd bottom edge) → two luma rows and chroma row `cy`.
/// `BGR`: blue comes first; `alpha`: the fourth byte is alpha (else it is ignored).
fn convert_row_pair<const BGR: bool>(
    top: &[u8],
    bottom: &[u8],
    alpha: bool,
    (y0, y1, cy): (usize, usize, usize),
    img: &mut Ycc420,
) {
    let width = top.len() / 4;
    let whole = width / GROUP * GROUP;
    // The rows written, each cut into groups (at an odd bottom edge the second luma row is
    // the first one again: its values go to a scratch row).
    let stride = img.y.stride;
    let mut scratch = Vec::new();
    let (ytop, ybot) = if y1 == y0 {
        scratch.resize(whole, 0);
        (&mut img.y.data[y0 * stride..][..whole], &mut scratch[..])
    } else {
        let (above, below) = img.y.data.split_at_mut(y1 * stride);
        (&mut above[y0 * stride..][..whole], &mut below[..whole])
    };
    let cb = &mut img.cb.row_mut(cy)[..whole / 2];
    let cr = &mut img.cr.row_mut(cy)[..whole / 2];
    let groups = top
        .chunks_exact(GROUP * 4)
        .zip(bottom.chunks_exact(GROUP * 4))
        .zip(
            ytop.chunks_exact_mut(GROUP)
                .zip(ybot.chunks_exact_mut(GROUP)),
        )
        .zip(
            cb.chunks_exact_mut(GROUP / 2)
                .zip(cr.chunks_exact_mut(GROUP / 2)),
        );
    for (((t, b), (yt, yb)), (u, v)) in groups {
        let (Some(t), Some(b)) = (t.first_chunk(), b.first_chunk()) else {
            continue;
        };
        let (Some(yt), Some(yb)) = (yt.first_chunk_mut(), yb.first_chunk_mut()) else {
            continue;
        };
        let (Some(u), Some(v)) = (u.first_chunk_mut(), v.first_chunk_mut()) else {
            continue;
        };
        // Frames are opaque: then no copy.
        let (ft, fb);
        let (t, b) = if !alpha || (opaque(t) && opaque(b)) {
            (t, b)
        } else {
            (ft, fb) = (flatten_alpha(t), flatten_alpha(b));
            (&ft, &fb)
        };
        convert_group::<BGR>(t, b, yt, yb, u, v);
    }
    // The rest, a pixel pair at a time. At an odd right or bottom edge the last column or
    // row stands in for the missing one (written twice with the same value).
    let px = |row: &[u8], x: usize| {
        let p = &row[x * 4..x * 4 + 4];
        let a = if alpha { p[3] } else { 255 };
        let rgb = if BGR {
            [p[2], p[1], p[0]]
        } else {
            [p[0], p[1], p[2]]
        };
        rgb.map(|c| i32::from(over_white(c, a)))
    };
    let mut x = width / GROUP * GROUP;
    while x < width {
        let x1 = (x + 1).min(width - 1);
        let quad = [px(top, x), px(top, x1), px(bottom, x), px(bottom, x1)];
        let l = |[r, g, b]: [i32; 3]| luma(r, g, b) as u8;
        img.y.row_mut(y0)[x] = l(quad[0]);
        img.y.row_mut(y0)[x1] = l(quad[1]);
        img.y.row_mut(y1)[x] = l(quad[2]);
        img.y.row_mut(y1)[x1] = l(quad[3]);
        let sum = |c: usize| quad.iter().map(|p| p[c]).sum::<i32>();
        let (u, v) = chroma4(sum(0), sum(1), sum(2));
        img.cb.row_mut(cy)[x / 2] = u as u8;
        img.cr.row_mut(cy)[x / 2] = v as u8;
        x += 2;
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn opaque(p: &[u8; GROUP * 4]) -> bool {
    p.chunks_exact(4).all(|px| px[3] == 255)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use crate::simd::opaque;

/// The group composited on white.
fn flatten_alpha(p: &[u8; GROUP * 4]) -> [u8; GROUP * 4] {
    let mut out = *p;
    for px in out.chunks_exact_mut(4) {
        let a = px[3];
        for c in &mut px[..3] {
            *c = over_white(*c, a);
        }
        px[3] = 255;
    }
    out
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use crate::simd::convert_group;

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use convert_group_portable as convert_group;

/// Two rows of 16 opaque pixels (RGBX, or BGRX if `BGR`) → 32 luma and 8 + 8 chroma samples.
#[inline(always)]
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
pub(crate) fn convert_group_portable<const BGR: bool>(
    top: &[u8; GROUP * 4],
    bottom: &[u8; GROUP * 4],
    ytop: &mut [u8; GROUP],
    ybot: &mut [u8; GROUP],
    cb: &mut [u8; GROUP / 2],
    cr: &mut [u8; GROUP / 2],
) {
    let split = |p: &[u8; GROUP * 4]| {
        let mut r = [0i32; GROUP];
        let mut g = [0i32; GROUP];
        let mut b = [0i32; GROUP];
        for i in 0..GROUP {
            let (ri, bi) = if BGR { (2, 0) } else { (0, 2) };
            r[i] = i32::from(p[i * 4 + ri]);
            g[i] = i32::from(p[i * 4 + 1]);
            b[i] = i32::from(p[i * 4 + bi]);
        }
        (r, g, b)
    };
    let (rt, gt, bt) = split(top);
    let (rb, gb, bb) = split(bottom);
    for i in 0..GROUP {
        ytop[i] = luma(rt[i], gt[i], bt[i]) as u8;
        ybot[i] = luma(rb[i], gb[i], bb[i]) as u8;
    }
    for i in 0..GROUP / 2 {
        let s =
            |t: &[i32; GROUP], b: &[i32; GROUP]| t[2 * i] + t[2 * i + 1] + b[2 * i] + b[2 * i + 1];
        let (u, v) = chroma4(s(&rt, &rb), s(&gt, &gb), s(&bt, &bb));
        cb[i] = u as u8;
        cr[i] = v as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_plane_has_no_edges_to_pad() {
        for (w, h) in [(0, 5), (5, 0), (0, 0)] {
            let mut p = Plane::padded(w, h, 8);
            p.pad_edges();
            assert!(p.data.iter().all(|&v| v == 0), "{w}×{h}");
        }
    }

    fn reference(rgba: &[u8], w: usize, h: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let px = |x: usize, y: usize| {
            let p = &rgba[(y * w + x) * 4..(y * w + x) * 4 + 4];
            [p[0], p[1], p[2]].map(|c| i32::from(over_white(c, p[3])))
        };
        let mut ys = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let [r, g, b] = px(x, y);
                ys.push(luma(r, g, b) as u8);
            }
        }
        let (mut cbs, mut crs) = (Vec::new(), Vec::new());
        for cy in 0..h.div_ceil(2) {
            for cx in 0..w.div_ceil(2) {
                let (x0, y0) = (cx * 2, cy * 2);
                let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
                let mut s = [0; 3];
                for (x, y) in [(x0, y0), (x1, y0), (x0, y1), (x1, y1)] {
                    let p = px(x, y);
                    for c in 0..3 {
                        s[c] += p[c];
                    }
                }
                let (u, v) = chroma4(s[0], s[1], s[2]);
                cbs.push(u as u8);
                crs.push(v as u8);
            }
        }
        (ys, cbs, crs)
    }

    fn plane_samples(p: &Plane) -> Vec<u8> {
        (0..p.height).flat_map(|y| p.row(y).to_vec()).collect()
    }

    #[test]
    fn groups_and_tails_agree_with_the_per_pixel_formula() {
        let mut seed = 99u32;
        let sizes = [(1, 1), (2, 3), (15, 2), (16, 16), (17, 5), (33, 7), (64, 9)];
        // Random alpha; all opaque (the fast path); every other row opaque, so that a row
        // pair is opaque above and translucent below (the fast path must not take it).
        for ((w, h), mode) in sizes.into_iter().flat_map(|s| [(s, 0), (s, 1), (s, 2)]) {
            let mut rgba: Vec<u8> = (0..w * h * 4)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 23) as u8
                })
                .collect();
            for (i, p) in rgba.chunks_exact_mut(4).enumerate() {
                if mode == 1 || (mode == 2 && (i / w) % 2 == 0) {
                    p[3] = 255;
                }
            }
            let img = Ycc420::from_rgba(&rgba, w, h);
            let (ys, cbs, crs) = reference(&rgba, w, h);
            assert_eq!(plane_samples(&img.y), ys, "{w}×{h} Y");
            assert_eq!(plane_samples(&img.cb), cbs, "{w}×{h} Cb");
            assert_eq!(plane_samples(&img.cr), crs, "{w}×{h} Cr");
            // Padding repeats the edges.
            let y = &img.y;
            assert_eq!(y.data[y.padded_width - 1], y.data[w - 1]);
            let last = (y.padded_height - 1) * y.stride;
            assert_eq!(y.data[last], y.data[(h - 1) * y.stride]);
        }
    }

    #[test]
    fn every_layout_gives_the_same_planes() {
        let (w, h) = (37, 9);
        let mut seed = 7u32;
        let rgba: Vec<u8> = (0..w * h * 4)
            .map(|i| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if i % 4 == 3 {
                    255
                } else {
                    (seed >> 23) as u8
                }
            })
            .collect();
        let want = Ycc420::from_rgba(&rgba, w, h);
        // The fourth byte of an X layout is noise, and ignored.
        let swap = |p: &[u8], x: Option<u8>| {
            let mut out = Vec::new();
            for (i, px) in p.chunks_exact(4).enumerate() {
                out.extend_from_slice(&[px[2], px[1], px[0], x.map_or(i as u8, |a| a)]);
            }
            out
        };
        let noisy_x: Vec<u8> = (0..rgba.len())
            .map(|i| if i % 4 == 3 { i as u8 } else { rgba[i] })
            .collect();
        for (pixels, layout) in [
            (swap(&rgba, Some(255)), PixelLayout::Bgra),
            (swap(&rgba, None), PixelLayout::Bgrx),
            (noisy_x, PixelLayout::Rgbx),
        ] {
            let got = Ycc420::from_pixels(&pixels, layout, w, h);
            for (g, e) in [(&got.y, &want.y), (&got.cb, &want.cb), (&got.cr, &want.cr)] {
                assert_eq!(plane_samples(g), plane_samples(e), "{layout:?}");
            }
        }
    }

    #[test]
    fn saturated_colours_do_not_wrap() {
        let red = [255, 0, 0, 255].repeat(4);
        let img = Ycc420::from_rgba(&red, 2, 2);
        assert_eq!(
            (plane_samples(&img.cb), plane_samples(&img.cr)),
            (vec![85], vec![255])
        );
        let blue = [0, 0, 255, 255].repeat(4);
        let img = Ycc420::from_rgba(&blue, 2, 2);
        assert_eq!(plane_samples(&img.cb), [255]);
    }

    #[test]
    fn grey_stays_neutral_and_white_is_255() {
        let rgba = [
            [200, 200, 200, 255],
            [255, 255, 255, 255],
            [0, 0, 0, 0],
            [0, 0, 0, 255],
        ]
        .concat();
        let img = Ycc420::from_rgba(&rgba, 2, 2);
        assert_eq!(plane_samples(&img.y), [200, 255, 255, 0]);
        assert_eq!(plane_samples(&img.cb), [128]);
        assert_eq!(plane_samples(&img.cr), [128]);
    }
}
