//! In headless Chromium (`cargo xtask test`, or `cargo test --target wasm32-unknown-unknown
//! -p dukcapil-web` with the pinned wasm-bindgen-test-runner on PATH and CHROMEDRIVER set).
//! The `<video>` test needs Chromium's fake camera: `webdriver.json` (this crate's) turns on
//! the built-in one; the xtask points WASM_BINDGEN_TEST_WEBDRIVER_JSON at one fed by
//! tests/fixtures/astronaut.png (1280×720).
#![cfg(target_arch = "wasm32")]

use dukcapil_web::{
    check_verify_request, is_valid_nik, parse_nik, prepare_selfie, read_verify_response,
};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{
    Blob, CanvasRenderingContext2d, HtmlCanvasElement, HtmlVideoElement, ImageData,
    ImageEncodeOptions, MediaStream, MediaStreamConstraints, OffscreenCanvas,
    OffscreenCanvasRenderingContext2d,
};

wasm_bindgen_test_configure!(run_in_browser);

const ASTRONAUT_PNG: &[u8] = include_bytes!("../../../tests/fixtures/astronaut.png");

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap()
}

fn num(v: &JsValue, key: &str) -> f64 {
    get(v, key)
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number"))
}

fn text(v: &JsValue, key: &str) -> String {
    get(v, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

fn opts(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o.into()
}

/// Asserts a real `Error` of class `name` with `code` and both messages.
fn assert_error(err: &JsValue, name: &str, code: &str) {
    assert!(
        err.is_instance_of::<js_sys::Error>(),
        "not an Error: {err:?}"
    );
    assert_eq!(text(err, "name"), name);
    assert_eq!(text(err, "code"), code);
    let (en, id) = (text(err, "message"), text(err, "messageId"));
    assert!(!en.is_empty() && !id.is_empty() && en != id, "{en} / {id}");
}

/// Asserts a JPEG within the limits.
fn assert_jpeg(out: &JsValue, width: f64, height: f64, max_bytes: f64) {
    assert_eq!(text(out, "mimeType"), "image/jpeg");
    let b64 = text(out, "base64");
    assert!(b64.starts_with("/9j/"), "not a JPEG");
    assert!(
        num(out, "bytes") <= max_bytes,
        "{} > {max_bytes}",
        num(out, "bytes")
    );
    assert_eq!(
        num(out, "bytes"),
        (b64.len() / 4 * 3 - b64.matches('=').count()) as f64
    );
    assert_eq!((num(out, "width"), num(out, "height")), (width, height));
    let q = num(out, "quality");
    assert!(q > 0.0 && q <= 1.0);
}

/// A noisy gradient: compresses like a photo, not like a flat colour.
fn pattern(w: u32, h: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 4) as usize);
    let mut seed = 12345u32;
    for y in 0..h {
        for x in 0..w {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let n = (seed >> 24) as u8 / 4;
            v.extend_from_slice(&[
                (x * 255 / w) as u8 ^ n,
                (y * 255 / h) as u8,
                ((x + y) % 256) as u8 ^ n,
                255,
            ]);
        }
    }
    v
}

/// An `ImageData` holding its own copy of `rgba`. (`new ImageData(array)` keeps the array it
/// is given, and a view into wasm memory would change under it once the Vec is freed.)
fn own_image_data(rgba: &[u8], w: u32, h: u32) -> ImageData {
    let copy = js_sys::Uint8ClampedArray::from(rgba);
    ImageData::new_with_js_u8_clamped_array_and_sh(&copy, w, h).unwrap()
}

fn image_data(w: u32, h: u32) -> ImageData {
    own_image_data(&pattern(w, h), w, h)
}

fn canvas(w: u32, h: u32) -> HtmlCanvasElement {
    let doc = web_sys::window().unwrap().document().unwrap();
    let c: HtmlCanvasElement = doc.create_element("canvas").unwrap().unchecked_into();
    c.set_width(w);
    c.set_height(h);
    let ctx: CanvasRenderingContext2d = c.get_context("2d").unwrap().unwrap().unchecked_into();
    ctx.put_image_data(&image_data(w, h), 0.0, 0.0).unwrap();
    c
}

fn offscreen(w: u32, h: u32) -> OffscreenCanvas {
    let c = OffscreenCanvas::new(w, h).unwrap();
    let ctx: OffscreenCanvasRenderingContext2d =
        c.get_context("2d").unwrap().unwrap().unchecked_into();
    ctx.put_image_data(&image_data(w, h), 0.0, 0.0).unwrap();
    c
}

/// An image file encoded by the browser (`image/jpeg`, `image/webp`, `image/png`).
async fn encoded(w: u32, h: u32, mime: &str) -> Blob {
    let o = ImageEncodeOptions::new();
    o.set_type(mime);
    o.set_quality(0.9);
    let p = offscreen(w, h).convert_to_blob_with_options(&o).unwrap();
    JsFuture::from(p).await.unwrap().unchecked_into()
}

async fn bytes_of(blob: &Blob) -> Vec<u8> {
    let buf = JsFuture::from(blob.array_buffer()).await.unwrap();
    Uint8Array::new(&buf).to_vec()
}

fn blob_of(bytes: &[u8]) -> Blob {
    Blob::new_with_u8_array_sequence(&Array::of1(&Uint8Array::from(bytes))).unwrap()
}

/// Inserts an EXIF APP1 segment with the given orientation right after SOI.
fn with_orientation(jpeg: &[u8], orientation: u8) -> Vec<u8> {
    #[rustfmt::skip]
    let tiff: &[u8] = &[
        b'M', b'M', 0, 42, 0, 0, 0, 8, // big-endian TIFF header, IFD0 at 8
        0, 1,                          // one entry
        0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, // Orientation, SHORT, 1
        0, 0, 0, 0,                    // no next IFD
    ];
    let len = (2 + 6 + tiff.len()) as u16;
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

async fn prepare(source: impl Into<JsValue>, options: JsValue) -> Result<JsValue, JsValue> {
    prepare_selfie(source.into(), options).await
}

#[wasm_bindgen_test]
async fn image_data_is_resized_to_1280() {
    let out = prepare(image_data(1920, 1080), JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_jpeg(&out, 1280.0, 720.0, 2_000_000.0);
    assert_eq!(num(&out, "quality"), 0.85);
    // The gate's measures come with every result.
    let m = get(&out, "metrics");
    let brightness = num(&m, "brightness");
    assert!((60.0..200.0).contains(&brightness), "{brightness}");
    for key in ["darkClipped", "brightClipped", "sharpness"] {
        assert!((0.0..=1.0).contains(&num(&m, key)), "{key}");
    }
    assert!(num(&m, "sharpness") > 0.55);
    // Headless Chromium has no FaceDetector.
    assert!(get(&m, "faces").is_null());
}

/// A frame from `pattern`, with every colour sample passed through `f`.
fn image_data_with(w: u32, h: u32, f: impl Fn(u8) -> u8) -> ImageData {
    let px: Vec<u8> = pattern(w, h)
        .chunks_exact(4)
        .flat_map(|p| [f(p[0]), f(p[1]), f(p[2]), 255])
        .collect();
    own_image_data(&px, w, h)
}

/// A smooth gradient, which has no detail at all: what a lens out of focus gives.
fn smooth(w: u32, h: u32) -> ImageData {
    let px: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            [(x * 200 / w + 30) as u8, (y * 200 / h + 30) as u8, 120, 255]
        })
        .collect();
    own_image_data(&px, w, h)
}

#[wasm_bindgen_test]
async fn the_gate_refuses_dark_bright_and_blurred_photos_with_its_measures() {
    let cases: [(ImageData, &str); 3] = [
        (image_data_with(800, 600, |c| c / 8), "SELFIE_TOO_DARK"),
        (
            image_data_with(800, 600, |c| 230 + c / 10),
            "SELFIE_TOO_BRIGHT",
        ),
        (smooth(800, 600), "SELFIE_BLURRY"),
    ];
    for (frame, code) in cases {
        let err = prepare(frame.clone(), JsValue::UNDEFINED)
            .await
            .unwrap_err();
        assert_error(&err, "SelfieError", code);
        let m = get(&err, "metrics");
        assert!(num(&m, "brightness") >= 0.0, "{code}: metrics on the error");
        // Off, the same frame goes through, measured all the same.
        let out = prepare(frame.clone(), opts(&[("checks", JsValue::FALSE)]))
            .await
            .unwrap();
        assert_jpeg(&out, 800.0, 600.0, 2_000_000.0);
        assert_eq!(
            num(&get(&out, "metrics"), "brightness"),
            num(&m, "brightness")
        );
    }
    // A threshold moved: the blurred frame passes, a sharp one is held to a stricter bar.
    let lax = opts(&[("checks", opts(&[("minSharpness", 0.0.into())]))]);
    assert!(prepare(smooth(800, 600), lax).await.is_ok());
    let strict = opts(&[("checks", opts(&[("minSharpness", 0.999.into())]))]);
    let err = prepare(image_data(800, 600), strict).await.unwrap_err();
    assert_error(&err, "SelfieError", "SELFIE_BLURRY");
    // Other errors carry no measures.
    let err = prepare(JsValue::NULL, JsValue::UNDEFINED)
        .await
        .unwrap_err();
    assert!(get(&err, "metrics").is_null());
}

/// Installs a `FaceDetector` that finds `faces` faces (or throws, for -1), prepares a frame
/// with it, and removes it again.
async fn with_face_detector(faces: i32, options: JsValue) -> Result<JsValue, JsValue> {
    with_face_detector_on(image_data(640, 480).into(), faces, options).await
}

async fn with_face_detector_on(
    source: JsValue,
    faces: i32,
    options: JsValue,
) -> Result<JsValue, JsValue> {
    let install = js_sys::Function::new_with_args(
        "n",
        "globalThis.__detections = 0;
         globalThis.FaceDetector = class {
           constructor(o) { this.o = o; }
           async detect(img) {
             globalThis.__detections += 1;
             if (!(img instanceof ImageData)) throw new TypeError('not ImageData');
             if (n < 0) throw new DOMException('no backend', 'NotSupportedError');
             return Array.from({ length: n }, () => ({ boundingBox: {} }));
           }
         };",
    );
    install.call1(&JsValue::NULL, &faces.into()).unwrap();
    let out = prepare(source, options).await;
    Reflect::delete_property(&js_sys::global(), &"FaceDetector".into()).unwrap();
    out
}

fn detections() -> f64 {
    get(js_sys::global().as_ref(), "__detections")
        .as_f64()
        .unwrap()
}

#[wasm_bindgen_test]
async fn a_face_detector_is_asked_where_there_is_one() {
    let out = with_face_detector(1, JsValue::UNDEFINED).await.unwrap();
    assert_eq!(num(&get(&out, "metrics"), "faces"), 1.0);
    assert_eq!(detections(), 1.0);
    for (faces, code) in [(0, "SELFIE_NO_FACE"), (2, "SELFIE_MULTIPLE_FACES")] {
        let err = with_face_detector(faces, JsValue::UNDEFINED)
            .await
            .unwrap_err();
        assert_error(&err, "SelfieError", code);
        assert_eq!(num(&get(&err, "metrics"), "faces"), f64::from(faces));
    }
    // A photo file, whose decoded pixels go straight into wasm: asked all the same.
    let jpeg = encoded(800, 600, "image/jpeg").await;
    let err = with_face_detector_on(jpeg.into(), 2, JsValue::UNDEFINED)
        .await
        .unwrap_err();
    assert_error(&err, "SelfieError", "SELFIE_MULTIPLE_FACES");
    assert_eq!(detections(), 1.0);
    // A detector that fails is no detector: never required.
    let out = with_face_detector(-1, JsValue::UNDEFINED).await.unwrap();
    assert!(get(&get(&out, "metrics"), "faces").is_null());
    // Switched off, it is not even asked.
    let off = opts(&[("checks", opts(&[("faces", JsValue::FALSE)]))]);
    let out = with_face_detector(0, off).await.unwrap();
    assert!(get(&get(&out, "metrics"), "faces").is_null());
    assert_eq!(detections(), 0.0);
    let out = with_face_detector(0, opts(&[("checks", JsValue::FALSE)]))
        .await
        .unwrap();
    assert_eq!(detections(), 0.0);
    assert!(get(&get(&out, "metrics"), "faces").is_null());
}

#[wasm_bindgen_test]
async fn canvas_offscreen_canvas_and_bitmap() {
    let o = opts(&[("maxDimension", 640.into())]);
    let out = prepare(canvas(800, 600), o.clone()).await.unwrap();
    assert_jpeg(&out, 640.0, 480.0, 2_000_000.0);
    let out = prepare(offscreen(600, 800), o.clone()).await.unwrap();
    assert_jpeg(&out, 480.0, 640.0, 2_000_000.0);
    let window = web_sys::window().unwrap();
    let bitmap = JsFuture::from(
        window
            .create_image_bitmap_with_html_canvas_element(&canvas(300, 200))
            .unwrap(),
    )
    .await
    .unwrap();
    let out = prepare(bitmap, o).await.unwrap();
    assert_jpeg(&out, 300.0, 200.0, 2_000_000.0);
}

#[wasm_bindgen_test]
async fn files_as_blob_array_buffer_and_uint8array() {
    // PNG (the fixture photo), decoded by the browser.
    let out = prepare(Uint8Array::from(ASTRONAUT_PNG), JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_jpeg(&out, 512.0, 512.0, 2_000_000.0);
    let o = opts(&[("maxDimension", 256.into())]);
    let out = prepare(Uint8Array::from(ASTRONAUT_PNG).buffer(), o)
        .await
        .unwrap();
    assert_jpeg(&out, 256.0, 256.0, 2_000_000.0);

    // JPEG as a Blob, and a File.
    let jpeg = encoded(2000, 1500, "image/jpeg").await;
    let out = prepare(jpeg.clone(), JsValue::UNDEFINED).await.unwrap();
    assert_jpeg(&out, 1280.0, 960.0, 2_000_000.0);
    let file = web_sys::File::new_with_blob_sequence(&Array::of1(&jpeg), "selfie.jpg").unwrap();
    let out = prepare(file, JsValue::UNDEFINED).await.unwrap();
    assert_jpeg(&out, 1280.0, 960.0, 2_000_000.0);

    // A view into a larger buffer: only the view's bytes count.
    let mut padded = vec![0u8; 7];
    padded.extend_from_slice(ASTRONAUT_PNG);
    let whole = Uint8Array::from(&padded[..]);
    let view = whole.subarray(7, whole.length());
    let out = prepare(view, JsValue::UNDEFINED).await.unwrap();
    assert_jpeg(&out, 512.0, 512.0, 2_000_000.0);
}

#[wasm_bindgen_test]
async fn formats_only_the_browser_decodes() {
    let webp = encoded(900, 300, "image/webp").await;
    let head = bytes_of(&webp).await;
    assert_eq!(&head[8..12], b"WEBP", "Chromium encoded no WebP");
    let out = prepare(webp, JsValue::UNDEFINED).await.unwrap();
    assert_jpeg(&out, 900.0, 300.0, 2_000_000.0);
}

/// The output decoded back to RGBA by the browser, and its width.
async fn decoded_output(out: &JsValue) -> (Vec<u8>, usize) {
    let window = web_sys::window().unwrap();
    let bytes: Vec<u8> = window
        .atob(&text(out, "base64"))
        .unwrap()
        .chars()
        .map(|c| c as u8)
        .collect();
    let p = window
        .create_image_bitmap_with_blob(&blob_of(&bytes))
        .unwrap();
    let bitmap: web_sys::ImageBitmap = JsFuture::from(p).await.unwrap().unchecked_into();
    let (w, h) = (bitmap.width(), bitmap.height());
    let c = OffscreenCanvas::new(w, h).unwrap();
    let ctx: OffscreenCanvasRenderingContext2d =
        c.get_context("2d").unwrap().unwrap().unchecked_into();
    ctx.draw_image_with_image_bitmap(&bitmap, 0.0, 0.0).unwrap();
    let data = ctx
        .get_image_data(0.0, 0.0, f64::from(w), f64::from(h))
        .unwrap();
    (data.data().0, w as usize)
}

/// Colours come through both decoding paths unchanged: the decoder's own pixel order (BGRX
/// in Chromium, for a JPEG decoded at a reduced scale) is read as such, and `<img>`'s canvas
/// pixels as RGBA.
#[wasm_bindgen_test]
async fn colours_survive_both_file_paths() {
    let quads = [
        [220u8, 30, 30],
        [30, 200, 40],
        [40, 50, 220],
        [240, 240, 240],
    ];
    // Wider than 2 × 1280, so that the decoder works at ½ scale.
    let (w, h) = (2600u32, 200u32);
    let px: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let q = quads[((i / w) / (h / 2) * 2 + (i % w) / (w / 2)) as usize];
            [q[0], q[1], q[2], 255]
        })
        .collect();
    let c = OffscreenCanvas::new(w, h).unwrap();
    let ctx: OffscreenCanvasRenderingContext2d =
        c.get_context("2d").unwrap().unwrap().unchecked_into();
    ctx.put_image_data(&own_image_data(&px, w, h), 0.0, 0.0)
        .unwrap();
    let o = ImageEncodeOptions::new();
    o.set_type("image/jpeg");
    o.set_quality(0.95);
    let jpeg: Blob = JsFuture::from(c.convert_to_blob_with_options(&o).unwrap())
        .await
        .unwrap()
        .unchecked_into();
    // Flat quadrants are not a photo: the gate would call them blurred.
    let unchecked = opts(&[("checks", false.into())]);
    let global = js_sys::global();
    let saved = get(global.as_ref(), "ImageDecoder");
    assert!(!saved.is_undefined(), "Chromium has ImageDecoder");
    for path in ["ImageDecoder", "<img>"] {
        if path == "<img>" {
            Reflect::delete_property(&global, &"ImageDecoder".into()).unwrap();
        }
        let out = prepare(jpeg.clone(), unchecked.clone()).await.unwrap();
        assert_jpeg(&out, 1280.0, 98.0, 2_000_000.0);
        let (rgba, ow) = decoded_output(&out).await;
        for (k, q) in quads.iter().enumerate() {
            let (x, y) = (320 + 640 * (k % 2), 24 + 49 * (k / 2));
            let p = &rgba[(y * ow + x) * 4..][..3];
            let off = p
                .iter()
                .zip(q)
                .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs());
            assert!(
                off.max().unwrap() <= 24,
                "{path}: quadrant {k} is {p:?}, not {q:?}"
            );
        }
    }
    Reflect::set(global.as_ref(), &"ImageDecoder".into(), &saved).unwrap();
}

#[wasm_bindgen_test]
async fn exif_orientation_is_applied() {
    let jpeg = bytes_of(&encoded(400, 200, "image/jpeg").await).await;
    let cases = [(1, 400.0, 200.0), (6, 200.0, 400.0), (8, 200.0, 400.0)];
    for (orientation, w, h) in cases {
        let rotated = with_orientation(&jpeg, orientation);
        let out = prepare(blob_of(&rotated), JsValue::UNDEFINED)
            .await
            .unwrap();
        assert_jpeg(&out, w, h, 2_000_000.0);
    }
    // The same through `<img>`, the path of browsers without ImageDecoder.
    let global = js_sys::global();
    let saved = get(global.as_ref(), "ImageDecoder");
    assert!(!saved.is_undefined(), "Chromium has ImageDecoder");
    Reflect::delete_property(&global, &"ImageDecoder".into()).unwrap();
    for (orientation, w, h) in cases {
        let rotated = with_orientation(&jpeg, orientation);
        let out = prepare(blob_of(&rotated), JsValue::UNDEFINED).await;
        assert_jpeg(&out.unwrap(), w, h, 2_000_000.0);
    }
    Reflect::set(global.as_ref(), &"ImageDecoder".into(), &saved).unwrap();
}

/// A 12 MP photo (the committed fixture) is decoded at a reduced scale and resized to 1280:
/// the result has the exact aspect of the declared size.
#[wasm_bindgen_test]
async fn a_phone_photo_through_image_decoder() {
    let photo: &[u8] = include_bytes!("../../../tests/fixtures/photo_12mp.jpg");
    let out = prepare(Uint8Array::from(photo), JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_jpeg(&out, 1280.0, 960.0, 2_000_000.0);
    let m = get(&out, "metrics");
    assert!(num(&m, "sharpness") > 0.55 && num(&m, "brightness") > 52.0);
    // The end marker is looked for in the last 64 KiB (read with the head), then from the
    // first scan on: found before 100 KB of appended data, missing from half the file.
    let appended = [photo, &[0u8; 100_000][..]].concat();
    let out = prepare(blob_of(&appended), JsValue::UNDEFINED).await;
    assert_jpeg(&out.unwrap(), 1280.0, 960.0, 2_000_000.0);
    let half = blob_of(&photo[..photo.len() / 2]);
    let err = prepare(half, JsValue::UNDEFINED).await.unwrap_err();
    assert_error(&err, "SelfieError", "SELFIE_TRUNCATED");
}

#[wasm_bindgen_test]
async fn max_bytes_is_a_hard_limit() {
    let o = opts(&[("maxBytes", 20_000.into()), ("quality", 1.0.into())]);
    let out = prepare(image_data(1920, 1080), o).await.unwrap();
    assert!(num(&out, "bytes") <= 20_000.0);
    assert!(num(&out, "quality") < 1.0);
    assert!(text(&out, "base64").starts_with("/9j/"));
}

#[wasm_bindgen_test]
async fn pdf_is_passed_through() {
    let pdf = b"%PDF-1.4\n%%EOF\n";
    let out = prepare(Uint8Array::from(&pdf[..]), JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(text(&out, "mimeType"), "application/pdf");
    assert_eq!(text(&out, "base64"), "JVBERi0xLjQKJSVFT0YK");
    let mut big = pdf.to_vec();
    big.resize(20_001, b' ');
    let o = opts(&[("maxBytes", 20_000.into())]);
    let err = prepare(Uint8Array::from(&big[..]), o).await.unwrap_err();
    assert_error(&err, "SelfieError", "SELFIE_PDF_TOO_LARGE");
}

/// A JPEG whose headers are whole and whose entropy-coded data is noise, with an end marker.
fn corrupt_jpeg() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    // SOF0 64×64, 3 components, no tables at all (DQT/DHT missing).
    j.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8, 0, 64, 0, 64, 3]);
    j.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    j.extend_from_slice(&[0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
    j.extend((0..500u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 & 0x7F));
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

#[wasm_bindgen_test]
async fn selfie_errors_are_typed() {
    let doc = web_sys::window().unwrap().document().unwrap();
    let cases: Vec<(JsValue, JsValue, &str)> = vec![
        (blob_of(&[]).into(), JsValue::UNDEFINED, "SELFIE_EMPTY"),
        (
            Uint8Array::from(&b"hello, not an image"[..]).into(),
            JsValue::UNDEFINED,
            "SELFIE_UNSUPPORTED_FORMAT",
        ),
        // Cut inside its first header segment.
        (
            Uint8Array::from(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5][..]).into(),
            JsValue::UNDEFINED,
            "SELFIE_TRUNCATED",
        ),
        // Complete headers, then garbage: the browser's decoder refuses it.
        (
            Uint8Array::from(&corrupt_jpeg()[..]).into(),
            JsValue::UNDEFINED,
            "SELFIE_CORRUPT",
        ),
        (
            JsValue::from_str("data:image/png;base64,xyz"),
            JsValue::UNDEFINED,
            "SELFIE_SOURCE_TYPE",
        ),
        (
            JsValue::from_f64(42.0),
            JsValue::UNDEFINED,
            "SELFIE_SOURCE_TYPE",
        ),
        (JsValue::NULL, JsValue::UNDEFINED, "SELFIE_SOURCE_TYPE"),
        (
            image_data(10, 10).into(),
            opts(&[("maxDimension", 1.5.into())]),
            "SELFIE_INVALID_OPTIONS",
        ),
        (
            image_data(10, 10).into(),
            opts(&[("quality", "high".into())]),
            "SELFIE_INVALID_OPTIONS",
        ),
        (
            image_data(10, 10).into(),
            opts(&[("maxBytes", 3_000_000.into())]),
            "SELFIE_INVALID_OPTIONS",
        ),
        (
            image_data(10, 10).into(),
            JsValue::from_str("fast"),
            "SELFIE_INVALID_OPTIONS",
        ),
        (
            image_data(10, 10).into(),
            opts(&[("checks", "yes".into())]),
            "SELFIE_INVALID_OPTIONS",
        ),
        (
            image_data(10, 10).into(),
            opts(&[("checks", opts(&[("minSharpness", 2.into())]))]),
            "SELFIE_INVALID_OPTIONS",
        ),
        (
            image_data(10, 10).into(),
            opts(&[("checks", opts(&[("faces", 1.into())]))]),
            "SELFIE_INVALID_OPTIONS",
        ),
        (
            image_data(10, 10).into(),
            opts(&[(
                "checks",
                opts(&[("minBrightness", 200.into()), ("maxBrightness", 100.into())]),
            )]),
            "SELFIE_INVALID_OPTIONS",
        ),
        (
            image_data(100, 100).into(),
            opts(&[("maxPixels", 9_999.into())]),
            "SELFIE_TOO_MANY_PIXELS",
        ),
        (
            Uint8Array::from(ASTRONAUT_PNG).into(),
            opts(&[("maxPixels", 1000.into())]),
            "SELFIE_TOO_MANY_PIXELS",
        ),
        // A <video> with nothing to show yet.
        (
            doc.create_element("video").unwrap().into(),
            JsValue::UNDEFINED,
            "SELFIE_NO_FRAME",
        ),
    ];
    for (source, options, code) in cases {
        let err = prepare(source, options).await.unwrap_err();
        assert_error(&err, "SelfieError", code);
    }
}

/// Whether Chromium was started with the fake camera (the xtask's webdriver.json).
async fn fake_camera() -> Option<MediaStream> {
    let devices = web_sys::window()?.navigator().media_devices().ok()?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_video(&JsValue::TRUE);
    let p = devices.get_user_media_with_constraints(&constraints).ok()?;
    JsFuture::from(p).await.ok().map(JsCast::unchecked_into)
}

async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    JsFuture::from(p).await.unwrap();
}

#[wasm_bindgen_test]
async fn video_frame_from_the_fake_camera() {
    let stream = fake_camera()
        .await
        .expect("no camera: Chromium needs --use-fake-device-for-media-stream (webdriver.json)");
    let doc = web_sys::window().unwrap().document().unwrap();
    let video: HtmlVideoElement = doc.create_element("video").unwrap().unchecked_into();
    video.set_muted(true);
    video.set_src_object(Some(&stream));
    let _ = JsFuture::from(video.play().unwrap()).await;
    for _ in 0..100 {
        if video.ready_state() >= 2 && video.video_width() > 0 {
            break;
        }
        sleep(50).await;
    }
    // 1280×720 from the xtask's astronaut feed; 640×480 from the built-in fake camera.
    let (w, h) = (
        f64::from(video.video_width()),
        f64::from(video.video_height()),
    );
    assert!(w >= 640.0 && h >= 480.0, "{w}×{h}");
    let out = prepare(video.clone(), JsValue::UNDEFINED).await.unwrap();
    assert_jpeg(&out, w, h, 2_000_000.0);
    let out = prepare(video, opts(&[("maxDimension", 320.into())]))
        .await
        .unwrap();
    assert_jpeg(&out, 320.0, (h * 320.0 / w).round(), 2_000_000.0);
    for track in stream.get_tracks() {
        track.unchecked_into::<web_sys::MediaStreamTrack>().stop();
    }
}

#[wasm_bindgen_test]
fn nik_parsing() {
    let info = parse_nik("3171 0245 0399 0001".into(), JsValue::UNDEFINED).unwrap();
    assert_eq!(text(&info, "normalized"), "3171024503990001");
    assert_eq!(text(&info, "birthDate"), "1999-03-05");
    assert_eq!(text(&info, "sex"), "female");
    assert_eq!(num(&info, "serial"), 1.0);
    assert_eq!(text(&info, "masked"), "3171**********01");
    let province = get(&info, "province");
    assert_eq!(text(&province, "code"), "31");
    assert!(text(&province, "name").contains("Jakarta"));
    let regency = get(&info, "regency");
    assert_eq!(text(&regency, "code"), "31.71");
    assert!(get(&regency, "movedTo").is_null());
    let district = get(&info, "district");
    assert_eq!(text(&district, "code"), "31.71.02");
    assert!(
        get(&district, "name").is_null(),
        "district names are not bundled"
    );

    // Merauke's pre-2022 code.
    let old = parse_nik("9101011501900001".into(), JsValue::UNDEFINED).unwrap();
    assert_eq!(text(&get(&old, "regency"), "movedTo"), "93.01");

    for (input, code) in [
        ("", "NIK_EMPTY"),
        ("123", "NIK_LENGTH"),
        ("317102450399000x", "NIK_NOT_DIGITS"),
        ("9971024503990001", "NIK_PROVINCE"),
        ("3171023102990001", "NIK_BIRTH_DATE"),
        ("3171024503990000", "NIK_SERIAL"),
    ] {
        let err = parse_nik(input.into(), JsValue::UNDEFINED).unwrap_err();
        assert_error(&err, "NikError", code);
    }
    assert!(
        parse_nik(JsValue::from_f64(3171024503990001.0), JsValue::UNDEFINED)
            .unwrap_err()
            .is_instance_of::<js_sys::TypeError>()
    );
    assert!(is_valid_nik("3171024503990001".into()));
    assert!(!is_valid_nik("3171024503990000".into()));
    assert!(!is_valid_nik(JsValue::from_f64(1.0)));
}

#[wasm_bindgen_test]
fn client_checks_before_sending() {
    let jpeg_b64 = "/9j/4AAQSkZJRgABAQ==";
    let ok =
        check_verify_request("3171-0245-0399-0001".into(), jpeg_b64.into(), "tx-1".into()).unwrap();
    assert_eq!(text(&ok, "id"), "3171024503990001");
    assert_eq!(text(&ok, "image"), jpeg_b64);
    let url = format!("data:image/jpeg;base64,{jpeg_b64}");
    let ok =
        check_verify_request("3171024503990001".into(), url.into(), JsValue::UNDEFINED).unwrap();
    assert_eq!(text(&ok, "image"), jpeg_b64);

    let nik = "3171024503990001";
    for (n, image, tx, code) in [
        ("31710245", jpeg_b64, JsValue::UNDEFINED, "NIK_LENGTH"),
        (nik, "", JsValue::UNDEFINED, "IMAGE_MISSING"),
        (nik, "not base64!", JsValue::UNDEFINED, "IMAGE_BASE64"),
        (
            nik,
            "R0lGODlhAQABAAAAACw=",
            JsValue::UNDEFINED,
            "IMAGE_TYPE",
        ),
        (
            nik,
            jpeg_b64,
            JsValue::from_str("has space"),
            "TRANSACTION_ID_INVALID",
        ),
        (
            nik,
            jpeg_b64,
            JsValue::from_f64(7.0),
            "TRANSACTION_ID_INVALID",
        ),
    ] {
        let err = check_verify_request(n.into(), image.into(), tx).unwrap_err();
        assert_error(&err, "FaceMatchError", code);
        assert!(get(&err, "status").is_null());
        assert_eq!(get(&err, "retryable"), JsValue::FALSE);
    }
}

#[wasm_bindgen_test]
fn client_reads_answers() {
    let ok = br#"{"status":"success","statusCode":200,"result":{"message":"ok","details":{"match":true,"score":91.5}},"metaData":{"requestId":"r1","transactionId":"t1"},"receipt":"h.c.s"}"#;
    let r = read_verify_response(
        200,
        ok,
        Some("t1".into()),
        false,
        false,
        "https://proxy.test/v1/dukcapilWithFacematch",
    )
    .unwrap();
    assert_eq!(get(&r, "match"), JsValue::TRUE);
    assert_eq!(num(&r, "score"), 91.5);
    assert_eq!(text(&r, "requestId"), "r1");
    assert_eq!(text(&r, "transactionId"), "t1");
    assert_eq!(text(&r, "receipt"), "h.c.s");
    assert_eq!(get(&r, "sandbox"), JsValue::FALSE);

    let cases: [(u16, &[u8], &str, bool); 6] = [
        (422, br#"{"status":"failure","statusCode":422,"message":"x","error":{"code":"FACE_NOT_DETECTED","retryable":false},"metaData":{"requestId":"r2","transactionId":"t2"},"receipt":"h.c.s"}"#, "FACE_NOT_DETECTED", false),
        (401, b"{}", "UNAUTHORIZED", false),
        (429, b"", "RATE_LIMITED", true),
        (418, br#"{"message":"teapot"}"#, "BAD_REQUEST", false),
        (502, b"<html>bad gateway</html>", "UPSTREAM_ERROR", true),
        (200, br#"{"status":"success","result":{"details":{"match":"maybe","score":1}}}"#, "UPSTREAM_ERROR", true),
    ];
    for (status, body, code, retryable) in cases {
        let err = read_verify_response(
            status,
            body,
            None,
            false,
            false,
            "https://proxy.test/v1/dukcapilWithFacematch",
        )
        .unwrap_err();
        assert_error(&err, "FaceMatchError", code);
        assert_eq!(num(&err, "status"), f64::from(status));
        assert_eq!(
            get(&err, "retryable"),
            JsValue::from_bool(retryable),
            "{code}"
        );
    }
    let err = read_verify_response(
        422,
        cases[0].1,
        None,
        false,
        false,
        "https://proxy.test/v1/dukcapilWithFacematch",
    )
    .unwrap_err();
    assert_eq!(text(&err, "requestId"), "r2");
    assert_eq!(text(&err, "transactionId"), "t2");
    assert_eq!(text(&err, "receipt"), "h.c.s");
    // Another transaction's answer, a body over the cap, a sandbox answer not allowed.
    let other = read_verify_response(
        200,
        ok,
        Some("t9".into()),
        false,
        false,
        "https://proxy.test/v1/dukcapilWithFacematch",
    )
    .unwrap_err();
    assert_error(&other, "FaceMatchError", "UPSTREAM_ERROR");
    let big = read_verify_response(
        200,
        b"",
        None,
        false,
        true,
        "https://proxy.test/v1/dukcapilWithFacematch",
    )
    .unwrap_err();
    assert_error(&big, "FaceMatchError", "UPSTREAM_ERROR");
    let sandbox = br#"{"status":"success","statusCode":200,"result":{"details":{"match":true,"score":1}},"metaData":{"requestId":"r","transactionId":"t"},"receipt":"h.c.s","sandbox":true}"#;
    let refused = read_verify_response(
        200,
        sandbox,
        None,
        false,
        false,
        "https://proxy.test/v1/dukcapilWithFacematch",
    )
    .unwrap_err();
    assert_error(&refused, "FaceMatchError", "SANDBOX_NOT_ALLOWED");
    let allowed = read_verify_response(
        200,
        sandbox,
        None,
        true,
        false,
        "https://proxy.test/v1/dukcapilWithFacematch",
    )
    .unwrap();
    assert_eq!(get(&allowed, "sandbox"), JsValue::TRUE);
}
