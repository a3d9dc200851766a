//! Builders for test inputs (all generated at test time) and checks on outputs.
#![allow(dead_code)]

use dukcapil_selfie::PreparedSelfie;

pub const RED: [u8; 3] = [230, 20, 20];
pub const GREEN: [u8; 3] = [20, 200, 40];
pub const BLUE: [u8; 3] = [20, 40, 220];
pub const YELLOW: [u8; 3] = [240, 230, 30];

/// An RGB image with four coloured quadrants: red top-left, green top-right, blue
/// bottom-left, yellow bottom-right.
pub fn quadrants_rgb(width: u32, height: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let c = match (x < width / 2, y < height / 2) {
                (true, true) => RED,
                (false, true) => GREEN,
                (true, false) => BLUE,
                (false, false) => YELLOW,
            };
            v.extend_from_slice(&c);
        }
    }
    v
}

pub fn rgb_to_rgba(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect()
}

/// Deterministic noise (xorshift), which JPEG compresses badly.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

pub fn jpeg(data: &[u8], width: u32, height: u32, color: jpeg_encoder::ColorType) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 95);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
    enc.encode(data, width as u16, height as u16, color)
        .unwrap();
    out
}

/// A TIFF block (the APP1 payload after `Exif\0\0`) holding only the orientation tag.
pub fn exif_tiff(orientation: u16, big_endian: bool) -> Vec<u8> {
    let p16 = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let p32 = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut t = Vec::new();
    t.extend_from_slice(if big_endian { b"MM" } else { b"II" });
    t.extend_from_slice(&p16(42));
    t.extend_from_slice(&p32(8));
    t.extend_from_slice(&p16(1));
    t.extend_from_slice(&p16(0x0112));
    t.extend_from_slice(&p16(3));
    t.extend_from_slice(&p32(1));
    t.extend_from_slice(&p16(orientation));
    t.extend_from_slice(&p16(0));
    t.extend_from_slice(&p32(0));
    t
}

/// Inserts an APP1 segment with `payload` right after SOI.
pub fn with_app1(jpeg: &[u8], payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() + 2 <= 0xFFFF);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

pub fn with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(tiff);
    with_app1(jpeg, &payload)
}

pub fn png(
    data: &[u8],
    width: u32,
    height: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    setup: impl FnOnce(&mut png::Encoder<'_, &mut Vec<u8>>),
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(color);
        enc.set_depth(depth);
        setup(&mut enc);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(data).unwrap();
    }
    out
}

/// A decoded RGB image.
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Rgb {
    pub fn at(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// The mean colour of a `r × r` box around (x, y), clamped to the image.
    pub fn mean(&self, x: u32, y: u32, r: u32) -> [u8; 3] {
        let (x0, y0) = (x.saturating_sub(r / 2), y.saturating_sub(r / 2));
        let (x1, y1) = ((x0 + r).min(self.width), (y0 + r).min(self.height));
        let mut sum = [0u64; 3];
        for yy in y0..y1 {
            for xx in x0..x1 {
                let p = self.at(xx, yy);
                for c in 0..3 {
                    sum[c] += u64::from(p[c]);
                }
            }
        }
        let n = u64::from((x1 - x0) * (y1 - y0));
        sum.map(|s| (s / n) as u8)
    }
}

/// Decodes our output JPEG, checking it is baseline 4:2:0 with 3 components.
pub fn decode_output(out: &PreparedSelfie) -> Rgb {
    assert_eq!(out.mime_type, "image/jpeg");
    assert_eq!(&out.bytes[..3], &[0xFF, 0xD8, 0xFF]);
    let mut d = jpeg_decoder::Decoder::new(&out.bytes[..]);
    let data = d.decode().expect("our output decodes");
    let info = d.info().unwrap();
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
    assert_eq!(
        info.coding_process,
        jpeg_decoder::CodingProcess::DctSequential
    );
    assert_eq!(
        (u32::from(info.width), u32::from(info.height)),
        (out.width, out.height)
    );
    assert!(is_baseline_420(&out.bytes), "not baseline 4:2:0");
    Rgb {
        width: out.width,
        height: out.height,
        data,
    }
}

/// Finds SOF0 and checks luma is sampled 2×2 and both chroma planes 1×1.
pub fn is_baseline_420(jpeg: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= jpeg.len() {
        if jpeg[i] != 0xFF {
            return false;
        }
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if (0xC1..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            return false;
        }
        if marker == 0xC0 {
            let seg = &jpeg[i + 4..i + 2 + len];
            return seg[5] == 3 && seg[7] == 0x22 && seg[10] == 0x11 && seg[13] == 0x11;
        }
        i += 2 + len;
    }
    false
}

pub fn close(a: [u8; 3], b: [u8; 3], tolerance: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tolerance)
}

pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored (uncompressed) deflate blocks.
pub fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// An Adam7-interlaced 8-bit PNG (the png crate's encoder cannot write one).
pub fn png_interlaced(
    samples: &[u8],
    width: u32,
    height: u32,
    color_type: u8,
    channels: usize,
) -> Vec<u8> {
    const PASSES: [(u32, u32, u32, u32); 7] = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ];
    let mut raw = Vec::new();
    for (x0, y0, dx, dy) in PASSES {
        if x0 >= width || y0 >= height {
            continue;
        }
        for y in (y0..height).step_by(dy as usize) {
            raw.push(0); // filter: none
            for x in (x0..width).step_by(dx as usize) {
                let i = (y * width + x) as usize * channels;
                raw.extend_from_slice(&samples[i..i + channels]);
            }
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, color_type, 0, 0, 1]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    png_chunk(&mut out, b"IEND", &[]);
    out
}
