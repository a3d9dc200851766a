//! Table-driven checks of every input kind, with inputs generated here.

mod common;

use common::*;
use dukcapil_core::Lang;
use dukcapil_selfie::{
    prepare_from_file, prepare_from_rgba, SelfieError, SelfieLimits, SelfieOptions,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, noting per thread the largest single block asked for: a bomb must
/// be refused before any pixel buffer exists, which the clock cannot tell.
struct LargestBlock;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: the thread's slot may already be gone while the thread ends.
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every call is passed to `System` unchanged; only the sizes are read.
unsafe impl GlobalAlloc for LargestBlock {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestBlock = LargestBlock;

/// `f`'s result, and the largest block allocated on this thread while it ran.
fn largest_block_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let out = f();
    (out, LARGEST.with(Cell::get))
}

/// The formats, not the photos, are under test here: the quality gate is off (its own tests
/// are in `gate.rs`).
fn opts() -> SelfieOptions {
    SelfieOptions {
        checks: None,
        ..Default::default()
    }
}

/// Corner colours (TL, TR, BL, BR) of the quadrant image once each orientation is applied.
const ORIENTED_CORNERS: [(u16, [[u8; 3]; 4]); 8] = [
    (1, [RED, GREEN, BLUE, YELLOW]),
    (2, [GREEN, RED, YELLOW, BLUE]),
    (3, [YELLOW, BLUE, GREEN, RED]),
    (4, [BLUE, YELLOW, RED, GREEN]),
    (5, [RED, BLUE, GREEN, YELLOW]),
    (6, [BLUE, RED, YELLOW, GREEN]),
    (7, [YELLOW, GREEN, BLUE, RED]),
    (8, [GREEN, YELLOW, RED, BLUE]),
];

fn assert_corners(img: &Rgb, want: [[u8; 3]; 4], what: &str) {
    let (w, h) = (img.width, img.height);
    let inset = (w.min(h) / 8).max(2);
    let got = [
        img.mean(inset, inset, inset),
        img.mean(w - 1 - inset, inset, inset),
        img.mean(inset, h - 1 - inset, inset),
        img.mean(w - 1 - inset, h - 1 - inset, inset),
    ];
    for (i, (g, e)) in got.iter().zip(want).enumerate() {
        assert!(close(*g, e, 24), "{what}: corner {i} is {g:?}, want {e:?}");
    }
}

#[test]
fn exif_orientations_1_to_8_in_both_byte_orders() {
    let (w, h) = (96, 48);
    let base = jpeg(&quadrants_rgb(w, h), w, h, jpeg_encoder::ColorType::Rgb);
    for (orientation, corners) in ORIENTED_CORNERS {
        for big_endian in [false, true] {
            let file = with_exif(&base, &exif_tiff(orientation, big_endian));
            let out = prepare_from_file(&file, &opts()).unwrap();
            let want = if orientation >= 5 { (h, w) } else { (w, h) };
            assert_eq!((out.width, out.height), want, "orientation {orientation}");
            let img = decode_output(&out);
            assert_corners(
                &img,
                corners,
                &format!("orientation {orientation} be={big_endian}"),
            );
        }
    }
}

#[test]
fn orientation_applies_after_dct_scaled_decode() {
    // 2560×1280 decodes at 1/2 scale; orientation 6 then makes it 640×1280.
    let (w, h) = (2560, 1280);
    let base = jpeg(&quadrants_rgb(w, h), w, h, jpeg_encoder::ColorType::Rgb);
    for (orientation, want) in [(6u16, (640, 1280)), (3, (1280, 640)), (8, (640, 1280))] {
        let file = with_exif(&base, &exif_tiff(orientation, true));
        let out = prepare_from_file(&file, &opts()).unwrap();
        assert_eq!((out.width, out.height), want);
        let corners = ORIENTED_CORNERS[usize::from(orientation) - 1].1;
        assert_corners(
            &decode_output(&out),
            corners,
            &format!("orientation {orientation}"),
        );
    }
}

/// A decoder's DCT scaling rounds each side up (1000×13 at 1/8 is 125×2); the output's size
/// must come from the file's own size, or the aspect ratio drifts (100×2 instead of 100×1).
#[test]
fn output_size_comes_from_the_files_size_not_the_scaled_decode() {
    for ((w, h), orientation, want) in [
        ((1000, 13), 1u16, (100, 1)),
        ((1000, 13), 6, (1, 100)),
        ((997, 333), 1, (100, 33)),
    ] {
        let file = with_exif(
            &jpeg(&quadrants_rgb(w, h), w, h, jpeg_encoder::ColorType::Rgb),
            &exif_tiff(orientation, false),
        );
        let small = SelfieOptions {
            max_dimension: 100,
            max_bytes: 10_000,
            ..opts()
        };
        let out = prepare_from_file(&file, &small).unwrap();
        assert_eq!(
            (out.width, out.height),
            want,
            "{w}×{h} orientation {orientation}"
        );
        assert!(!out.is_pdf());
    }
    let pdf = prepare_from_file(b"%PDF-1.7\n", &opts()).unwrap();
    assert!(pdf.is_pdf());
}

#[test]
fn hostile_exif_is_ignored_not_fatal() {
    let (w, h) = (32, 16);
    let base = jpeg(&quadrants_rgb(w, h), w, h, jpeg_encoder::ColorType::Rgb);
    let mut huge_ifd = exif_tiff(6, false);
    huge_ifd[8..10].copy_from_slice(&0xFFFFu16.to_le_bytes()); // 65535 entries claimed,
    huge_ifd[10..12].copy_from_slice(&0xABABu16.to_le_bytes()); // none of them orientation
    huge_ifd.resize(65_000, 0xAB);
    let mut bad_offset = exif_tiff(6, true);
    bad_offset[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    let payloads: Vec<(&str, Vec<u8>)> = vec![
        (
            "huge block of junk",
            [b"Exif\0\0".as_slice(), &[0xFF; 65_000]].concat(),
        ),
        ("huge IFD", [b"Exif\0\0".as_slice(), &huge_ifd].concat()),
        (
            "IFD offset past the end",
            [b"Exif\0\0".as_slice(), &bad_offset].concat(),
        ),
        ("header only", b"Exif\0\0".to_vec()),
        (
            "cut TIFF",
            [b"Exif\0\0".as_slice(), &exif_tiff(6, false)[..19]].concat(),
        ),
        (
            "orientation 9",
            [b"Exif\0\0".as_slice(), &exif_tiff(9, false)].concat(),
        ),
        ("not EXIF", b"http://ns.adobe.com/xap/1.0/\0<x/>".to_vec()),
    ];
    for (what, payload) in payloads {
        let out = prepare_from_file(&with_app1(&base, &payload), &opts())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!((out.width, out.height), (w, h), "{what}");
        assert_corners(&decode_output(&out), ORIENTED_CORNERS[0].1, what);
    }
    // The first EXIF block counts, as in browsers.
    let two = with_exif(
        &with_exif(&base, &exif_tiff(1, false)),
        &exif_tiff(6, false),
    );
    let out = prepare_from_file(&two, &opts()).unwrap();
    assert_eq!((out.width, out.height), (h, w));
}

#[test]
fn cmyk_jpegs_plain_and_ycck_give_correct_colours() {
    // CMYK (0 = no ink) quadrants and the RGB they should come out as.
    let cmyk_quads: [([u8; 4], [u8; 3]); 4] = [
        ([0, 255, 255, 0], [255, 0, 0]),   // red
        ([255, 0, 0, 0], [0, 255, 255]),   // cyan
        ([0, 0, 0, 128], [127, 127, 127]), // 50% black
        ([0, 0, 0, 0], [255, 255, 255]),   // paper
    ];
    let (w, h) = (64, 64);
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let q = usize::from(x >= w / 2) + 2 * usize::from(y >= h / 2);
            data.extend_from_slice(&cmyk_quads[q].0);
        }
    }
    for color in [
        jpeg_encoder::ColorType::Cmyk,
        jpeg_encoder::ColorType::CmykAsYcck,
    ] {
        let file = jpeg(&data, w, h, color);
        // jpeg-encoder writes Adobe APP14 with inverted samples, as Photoshop does.
        assert!(file.windows(5).any(|s| s == b"Adobe"));
        let out = prepare_from_file(&file, &opts()).unwrap();
        let img = decode_output(&out);
        let want = cmyk_quads.map(|q| q.1);
        assert_corners(&img, want, &format!("{color:?}"));
    }
}

#[test]
fn grey_jpeg_and_grey_pngs() {
    let (w, h) = (40u32, 40u32);
    let levels = [30u8, 90, 160, 230];
    let grey: Vec<u8> = (0..h)
        .flat_map(|y| {
            (0..w).map(move |x| levels[usize::from(x >= w / 2) + 2 * usize::from(y >= h / 2)])
        })
        .collect();
    let want = levels.map(|l| [l, l, l]);
    let grey16: Vec<u8> = grey
        .iter()
        .flat_map(|&g| (u16::from(g) * 257).to_be_bytes())
        .collect();
    let files = [
        (
            "grey JPEG",
            jpeg(&grey, w, h, jpeg_encoder::ColorType::Luma),
        ),
        (
            "grey PNG",
            png(
                &grey,
                w,
                h,
                png::ColorType::Grayscale,
                png::BitDepth::Eight,
                |_| {},
            ),
        ),
        (
            "grey 16-bit PNG",
            png(
                &grey16,
                w,
                h,
                png::ColorType::Grayscale,
                png::BitDepth::Sixteen,
                |_| {},
            ),
        ),
        ("grey interlaced PNG", png_interlaced(&grey, w, h, 0, 1)),
    ];
    for (what, file) in files {
        let out = prepare_from_file(&file, &opts()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!((out.width, out.height), (w, h), "{what}");
        assert_corners(&decode_output(&out), want, what);
    }
}

#[test]
fn png_colour_types_and_depths() {
    let (w, h) = (48u32, 32u32);
    let rgb = quadrants_rgb(w, h);
    let want = [RED, GREEN, BLUE, YELLOW];
    let rgb16: Vec<u8> = rgb
        .iter()
        .flat_map(|&c| (u16::from(c) * 257).to_be_bytes())
        .collect();
    let rgba16: Vec<u8> = rgb16
        .chunks(6)
        .flat_map(|p| [p[0], p[1], p[2], p[3], p[4], p[5], 0xFF, 0xFF])
        .collect();
    // Palette at 8 and 2 bits per index.
    let palette: Vec<u8> = want.iter().flatten().copied().collect();
    let index = |x: u32, y: u32| u8::from(x >= w / 2) + 2 * u8::from(y >= h / 2);
    let idx8: Vec<u8> = (0..h)
        .flat_map(|y| (0..w).map(move |x| index(x, y)))
        .collect();
    let idx2: Vec<u8> = (0..h)
        .flat_map(|y| {
            (0..w / 4).map(move |b| (0..4).fold(0u8, |acc, i| (acc << 2) | index(b * 4 + i, y)))
        })
        .collect();
    let pal = palette.clone();
    let pal2 = palette.clone();
    let files = [
        (
            "RGB 8",
            png(
                &rgb,
                w,
                h,
                png::ColorType::Rgb,
                png::BitDepth::Eight,
                |_| {},
            ),
        ),
        ("RGB 8 interlaced", png_interlaced(&rgb, w, h, 2, 3)),
        (
            "RGB 16",
            png(
                &rgb16,
                w,
                h,
                png::ColorType::Rgb,
                png::BitDepth::Sixteen,
                |_| {},
            ),
        ),
        (
            "RGBA 16",
            png(
                &rgba16,
                w,
                h,
                png::ColorType::Rgba,
                png::BitDepth::Sixteen,
                |_| {},
            ),
        ),
        (
            "palette 8",
            png(
                &idx8,
                w,
                h,
                png::ColorType::Indexed,
                png::BitDepth::Eight,
                move |e| e.set_palette(pal),
            ),
        ),
        (
            "palette 2",
            png(
                &idx2,
                w,
                h,
                png::ColorType::Indexed,
                png::BitDepth::Two,
                move |e| e.set_palette(pal2),
            ),
        ),
    ];
    for (what, file) in files {
        let out = prepare_from_file(&file, &opts()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!((out.width, out.height), (w, h), "{what}");
        assert_corners(&decode_output(&out), want, what);
    }
}

#[test]
fn alpha_is_composited_on_white() {
    let (w, h) = (32u32, 32u32);
    // Quadrants: transparent black, opaque red, half-transparent black, transparent green.
    let quad = |x: u32, y: u32| -> [u8; 4] {
        match (x < w / 2, y < h / 2) {
            (true, true) => [0, 0, 0, 0],
            (false, true) => [255, 0, 0, 255],
            (true, false) => [0, 0, 0, 128],
            (false, false) => [0, 255, 0, 0],
        }
    };
    let rgba: Vec<u8> = (0..h)
        .flat_map(|y| (0..w).flat_map(move |x| quad(x, y)))
        .collect();
    let want = [
        [255, 255, 255],
        [255, 0, 0],
        [127, 127, 127],
        [255, 255, 255],
    ];
    let ga: Vec<u8> = rgba.chunks(4).flat_map(|p| [p[0], p[3]]).collect();
    // Palette with tRNS: index 0 fully transparent.
    let idx: Vec<u8> = (0..h)
        .flat_map(|y| (0..w).map(move |x| u8::from(x >= w / 2 || y >= h / 2)))
        .collect();
    let files = [
        (
            "RGBA PNG",
            png(
                &rgba,
                w,
                h,
                png::ColorType::Rgba,
                png::BitDepth::Eight,
                |_| {},
            ),
        ),
        (
            "grey+alpha PNG",
            png(
                &ga,
                w,
                h,
                png::ColorType::GrayscaleAlpha,
                png::BitDepth::Eight,
                |_| {},
            ),
        ),
        (
            "palette tRNS PNG",
            png(
                &idx,
                w,
                h,
                png::ColorType::Indexed,
                png::BitDepth::Eight,
                |e| {
                    e.set_palette(vec![0, 0, 0, 255, 0, 0]);
                    e.set_trns(vec![0]);
                },
            ),
        ),
    ];
    let wants = [
        want,
        [
            [255, 255, 255],
            [255, 255, 255],
            [127, 127, 127],
            [255, 255, 255],
        ],
        [[255, 255, 255], [255, 0, 0], [255, 0, 0], [255, 0, 0]],
    ];
    for ((what, file), want) in files.into_iter().zip(wants) {
        let out = prepare_from_file(&file, &opts()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_corners(&decode_output(&out), want, what);
    }
    // The same RGBA as a canvas frame.
    let out = prepare_from_rgba(w, h, &rgba, &opts()).unwrap();
    assert_corners(&decode_output(&out), want, "RGBA frame");
}

/// A PNG that declares `width × height` RGBA but holds almost no data.
fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    // One scanline's worth of data, then the image ends.
    png_chunk(
        &mut out,
        b"IDAT",
        &zlib_stored(&vec![0; 1 + width as usize * 4]),
    );
    png_chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn pixel_bombs_are_refused_from_the_header() {
    let mut jpeg_bomb = jpeg(&[0; 8 * 8 * 3], 8, 8, jpeg_encoder::ColorType::Rgb);
    let sof = jpeg_bomb
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .unwrap();
    jpeg_bomb[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]); // 65535×65535
    let cases = [
        ("PNG 30000×30000", png_bomb(30_000, 30_000)),
        ("JPEG 65535×65535", jpeg_bomb),
    ];
    // The decoders' own buffers are far below this; the smallest pixel buffer for these
    // sizes (a JPEG decoded at 1/8 scale) is 268 MB.
    const NO_PIXEL_BUFFER: usize = 4 << 20;
    for (what, file) in cases {
        let (result, largest) = largest_block_during(|| prepare_from_file(&file, &opts()));
        assert_eq!(result, Err(SelfieError::TooManyPixels), "{what}");
        assert!(
            largest < NO_PIXEL_BUFFER,
            "{what}: a {largest}-byte block was allocated before the refusal"
        );
    }
    // A frame that claims more than it holds is refused before anything is copied.
    let (result, largest) =
        largest_block_during(|| prepare_from_rgba(65_535, 65_535, &[0; 16], &opts()));
    assert_eq!(
        result,
        Err(SelfieError::TooManyPixels),
        "RGBA frame 65535×65535"
    );
    assert!(
        largest < NO_PIXEL_BUFFER,
        "RGBA frame: a {largest}-byte block"
    );
    // The limit is configurable and inclusive.
    let small = png(
        &quadrants_rgb(100, 100),
        100,
        100,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        |_| {},
    );
    let limit = |max_pixels| SelfieOptions {
        limits: SelfieLimits { max_pixels },
        ..opts()
    };
    assert_eq!(
        prepare_from_file(&small, &limit(9_999)),
        Err(SelfieError::TooManyPixels)
    );
    assert!(prepare_from_file(&small, &limit(10_000)).is_ok());
    assert_eq!(
        prepare_from_rgba(100, 100, &[255; 40_000], &limit(9_999)),
        Err(SelfieError::TooManyPixels)
    );
    // Within the pixel limit, a complete file whose image data stops early is corrupt.
    assert_eq!(
        prepare_from_file(&png_bomb(2000, 2000), &opts()),
        Err(SelfieError::Corrupt)
    );
}

#[test]
fn truncated_files() {
    let (w, h) = (64, 64);
    let noisy = noise((w * h * 3) as usize, 7);
    let files = [
        (
            "baseline JPEG",
            jpeg(&noisy, w, h, jpeg_encoder::ColorType::Rgb),
        ),
        (
            "PNG",
            png(
                &noisy,
                w,
                h,
                png::ColorType::Rgb,
                png::BitDepth::Eight,
                |_| {},
            ),
        ),
    ];
    for (what, file) in files {
        assert!(prepare_from_file(&file, &opts()).is_ok(), "{what} intact");
        for percent in [1, 5, 20, 50, 90, 99] {
            let cut = &file[..file.len() * percent / 100];
            assert_eq!(
                prepare_from_file(cut, &opts()),
                Err(SelfieError::Truncated),
                "{what} cut to {percent}% ({} bytes)",
                cut.len()
            );
        }
    }
    // A signature cut short is truncated too, not "unsupported".
    for cut in [
        &b"\xFF"[..],
        b"\xFF\xD8",
        b"\xFF\xD8\xFF",
        b"\x89PN",
        b"\x89PNG\r\n\x1a\n\0\0",
    ] {
        assert_eq!(
            prepare_from_file(cut, &opts()),
            Err(SelfieError::Truncated),
            "{cut:?}"
        );
    }
}

#[test]
fn empty_unsupported_and_garbage() {
    let cases: Vec<(&str, Vec<u8>, SelfieError)> = vec![
        ("empty", vec![], SelfieError::Empty),
        (
            "HEIC",
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0".to_vec(),
            SelfieError::UnsupportedFormat,
        ),
        (
            "HEIF",
            b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic\0\0\0\0".to_vec(),
            SelfieError::UnsupportedFormat,
        ),
        (
            "AVIF",
            b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf".to_vec(),
            SelfieError::UnsupportedFormat,
        ),
        (
            "WebP",
            b"RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0".to_vec(),
            SelfieError::UnsupportedFormat,
        ),
        (
            "GIF",
            b"GIF89a\x01\0\x01\0\0\0\0;".to_vec(),
            SelfieError::UnsupportedFormat,
        ),
        (
            "BMP",
            b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0".to_vec(),
            SelfieError::UnsupportedFormat,
        ),
        (
            "TIFF",
            b"II*\0\x08\0\0\0".to_vec(),
            SelfieError::UnsupportedFormat,
        ),
        (
            "SVG",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
            SelfieError::UnsupportedFormat,
        ),
        (
            "text",
            b"hello, world".to_vec(),
            SelfieError::UnsupportedFormat,
        ),
        ("garbage", noise(10_000, 99), SelfieError::UnsupportedFormat),
        (
            "JPEG magic then EOI",
            vec![0xFF, 0xD8, 0xFF, 0xD9],
            SelfieError::Corrupt,
        ),
        (
            "PNG magic then garbage",
            [&b"\x89PNG\r\n\x1a\n"[..], &noise(5_000, 4)].concat(),
            SelfieError::Corrupt,
        ),
    ];
    for (what, bytes, want) in cases {
        assert_eq!(prepare_from_file(&bytes, &opts()), Err(want), "{what}");
    }
    // Whatever the noise after a JPEG signature holds, it is a typed decode error.
    for seed in 0..20 {
        let bytes = [
            &[0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0][..],
            &noise(5_000, seed),
        ]
        .concat();
        let got = prepare_from_file(&bytes, &opts());
        assert!(
            matches!(
                got,
                Err(SelfieError::Truncated | SelfieError::Corrupt | SelfieError::UnsupportedFormat)
            ),
            "seed {seed}: {got:?}"
        );
    }
    assert_eq!(
        dukcapil_selfie::sniff_mime(b"\0\0\0\x1cftypavif"),
        Some("image/avif")
    );
    assert_eq!(
        dukcapil_selfie::sniff_mime(b"RIFF\0\0\0\0WEBP"),
        Some("image/webp")
    );
}

#[test]
fn jpeg_variants_browsers_do_not_show_are_unsupported() {
    let base = jpeg(&quadrants_rgb(16, 16), 16, 16, jpeg_encoder::ColorType::Rgb);
    let sof = base.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    for (what, at, value) in [
        ("lossless", sof + 1, 0xC3),
        ("arithmetic", sof + 1, 0xC9),
        ("hierarchical", sof + 1, 0xC5),
        ("12-bit", sof + 4, 12),
    ] {
        let mut file = base.clone();
        file[at] = value;
        assert_eq!(
            prepare_from_file(&file, &opts()),
            Err(SelfieError::UnsupportedFormat),
            "{what}"
        );
    }
}

#[test]
fn progressive_jpeg_decodes_at_reduced_scale() {
    let (w, h) = (2048, 1536);
    let mut file = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut file, 90);
    enc.set_progressive(true);
    enc.encode(
        &quadrants_rgb(w, h),
        w as u16,
        h as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .unwrap();
    let out = prepare_from_file(&file, &opts()).unwrap();
    assert_eq!((out.width, out.height, out.quality), (1280, 960, 0.85));
    assert_corners(&decode_output(&out), ORIENTED_CORNERS[0].1, "progressive");
}

#[test]
fn small_images_are_never_upscaled() {
    let out = prepare_from_rgba(100, 50, &rgb_to_rgba(&quadrants_rgb(100, 50)), &opts()).unwrap();
    assert_eq!((out.width, out.height), (100, 50));
    let out = prepare_from_rgba(1, 1, &[9, 9, 9, 255], &opts()).unwrap();
    assert_eq!((out.width, out.height), (1, 1));
    let tall = SelfieOptions {
        max_dimension: 64,
        ..opts()
    };
    let out = prepare_from_rgba(10, 1000, &vec![200; 10 * 1000 * 4], &tall).unwrap();
    assert_eq!((out.width, out.height), (1, 64));
}

#[test]
fn rgba_frames_are_checked() {
    let cases: [(u32, u32, usize); 5] = [(0, 10, 0), (10, 0, 0), (2, 2, 15), (2, 2, 17), (2, 2, 0)];
    for (w, h, len) in cases {
        assert_eq!(
            prepare_from_rgba(w, h, &vec![0; len], &opts()),
            Err(SelfieError::InvalidFrame),
            "{w}×{h} with {len} bytes"
        );
    }
}

#[test]
fn pdfs_pass_through_up_to_max_bytes() {
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(dukcapil_core::image::MAX_IMAGE_BYTES, b' ');
    let out = prepare_from_file(&pdf, &opts()).unwrap();
    assert!(out.is_pdf());
    assert_eq!(
        (out.mime_type, out.width, out.height),
        ("application/pdf", 0, 0)
    );
    assert_eq!(out.bytes, pdf);
    pdf.push(b'\n');
    assert_eq!(
        prepare_from_file(&pdf, &opts()),
        Err(SelfieError::PdfTooLarge)
    );
    let lowered = SelfieOptions {
        max_bytes: 10_000,
        ..opts()
    };
    assert_eq!(
        prepare_from_file(&pdf[..10_000], &lowered).map(|o| o.bytes.len()),
        Ok(10_000)
    );
    assert_eq!(
        prepare_from_file(&pdf[..10_001], &lowered),
        Err(SelfieError::PdfTooLarge)
    );
}

#[test]
fn output_base64_round_trips() {
    let out = prepare_from_rgba(8, 8, &[128; 256], &opts()).unwrap();
    let b64 = out.to_base64();
    assert_eq!(
        dukcapil_core::image::decode_base64(&b64).unwrap(),
        out.bytes
    );
    assert_eq!(
        dukcapil_core::image::check_image_base64(&b64).unwrap().kind,
        dukcapil_core::image::ImageKind::Jpeg
    );
}

#[test]
fn readme_lists_every_code_with_its_messages() {
    let readme = include_str!("../README.md");
    for e in SelfieError::ALL {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", e.code())))
            .unwrap_or_else(|| panic!("README has no row for {}", e.code()));
        assert!(
            row.contains(e.message(Lang::En)),
            "{}: English message differs",
            e.code()
        );
        assert!(
            row.contains(e.message(Lang::Id)),
            "{}: Indonesian message differs",
            e.code()
        );
    }
    let rows = readme
        .lines()
        .filter(|l| l.starts_with("| `SELFIE_"))
        .count();
    assert_eq!(
        rows,
        SelfieError::ALL_CODES.len(),
        "README lists codes that do not exist"
    );
}
