//! `prepareSelfie`: turns any image source the browser has into pixels or file bytes, asks
//! the browser's face detector where there is one, and hands everything else to
//! `dukcapil_selfie`: what a file is (`inspect`), sizing, the quality gate, encoding and the
//! byte limit are decided there.

use crate::js::{self, Kind};
use crate::stages::Stopwatch;
use dukcapil_core::Lang;
use dukcapil_selfie::{
    fit_within, inspect, jpeg_decode_size, option_rule, prepare_from_file, BadOption,
    EndMarkerSearch, FilePlan, OptionRule, PixelLayout, Pixels, PreparedSelfie, QualityChecks,
    QualityMetrics, Selfie, SelfieError, SelfieLimits, SelfieOptions,
};
use js_sys::{Array, ArrayBuffer, Function, Object, Promise, Reflect, Uint8Array};
use std::ops::Range;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, HtmlCanvasElement, HtmlImageElement, HtmlVideoElement, ImageBitmap, ImageData,
    OffscreenCanvas,
};

#[wasm_bindgen]
extern "C" {
    /// `CanvasRenderingContext2D` or `OffscreenCanvasRenderingContext2D`: same methods.
    type Context2d;
    #[wasm_bindgen(method, catch, js_name = drawImage)]
    fn draw_image(
        this: &Context2d,
        src: &JsValue,
        dx: f64,
        dy: f64,
        dw: f64,
        dh: f64,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = getImageData)]
    fn get_image_data(
        this: &Context2d,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
    ) -> Result<ImageData, JsValue>;
    #[wasm_bindgen(method, setter = imageSmoothingQuality)]
    fn set_image_smoothing_quality(this: &Context2d, q: &str);

    /// `HTMLCanvasElement` or `OffscreenCanvas`.
    type AnyCanvas;
    #[wasm_bindgen(method, catch, js_name = getContext)]
    fn get_context(this: &AnyCanvas, kind: &str, opts: &JsValue) -> Result<JsValue, JsValue>;

    // A global in windows and workers alike.
    #[wasm_bindgen(catch, js_name = createImageBitmap)]
    fn create_image_bitmap(src: &JsValue) -> Result<Promise, JsValue>;

    /// WebCodecs' `ImageDecoder` (Chrome, Edge, Firefox; not Safari yet): decodes off the
    /// main thread, and at a reduced DCT scale when asked for a smaller size.
    type ImageDecoder;
    #[wasm_bindgen(constructor, catch)]
    fn new(init: &Object) -> Result<ImageDecoder, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn decode(this: &ImageDecoder) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method)]
    fn close(this: &ImageDecoder);
    #[wasm_bindgen(static_method_of = ImageDecoder, catch, js_name = isTypeSupported)]
    fn is_type_supported(mime: &str) -> Result<Promise, JsValue>;

    /// The `VideoFrame` an `ImageDecoder` gives.
    type VideoFrame;
    #[wasm_bindgen(method, getter, js_name = displayWidth)]
    fn display_width(this: &VideoFrame) -> u32;
    #[wasm_bindgen(method, getter, js_name = displayHeight)]
    fn display_height(this: &VideoFrame) -> u32;
    /// Degrees clockwise from the file's orientation; `undefined` where the browser does not
    /// apply EXIF orientation to decoded frames.
    #[wasm_bindgen(method, getter)]
    fn rotation(this: &VideoFrame) -> JsValue;
    /// Mirrored (EXIF orientations 2, 4, 5, 7); `undefined` as `rotation`.
    #[wasm_bindgen(method, getter)]
    fn flip(this: &VideoFrame) -> JsValue;
    /// `"BGRX"`, `"RGBA"`, `"I420"`…, or null.
    #[wasm_bindgen(method, getter)]
    fn format(this: &VideoFrame) -> Option<String>;
    #[wasm_bindgen(method, catch, js_name = allocationSize)]
    fn allocation_size(this: &VideoFrame, options: &Object) -> Result<f64, JsValue>;
    #[wasm_bindgen(method, catch, js_name = copyTo)]
    fn copy_to(this: &VideoFrame, dest: &Uint8Array, options: &Object) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, js_name = close)]
    fn close_frame(this: &VideoFrame);
}

/// Lets the browser run other tasks (input, rendering) before going on, so that no step of
/// ours holds the main thread for long: `scheduler.yield()` where there is one (it keeps our
/// place in the queue), else a message to ourselves (never clamped to 4 ms, unlike
/// `setTimeout`).
async fn yield_to_event_loop() {
    let scheduler = js::get(&js_sys::global(), "scheduler");
    if let Ok(f) = js::get(&scheduler, "yield").dyn_into::<Function>() {
        if let Ok(p) = f.call0(&scheduler).and_then(|p| p.dyn_into::<Promise>()) {
            let _ = JsFuture::from(p).await;
            return;
        }
    }
    let Ok(channel) = web_sys::MessageChannel::new() else {
        return;
    };
    let wait = Promise::new(&mut |resolve, _| {
        channel.port1().set_onmessage(Some(&resolve));
        let _ = channel.port2().post_message(&JsValue::UNDEFINED);
    });
    let _ = JsFuture::from(wait).await;
    channel.port1().set_onmessage(None);
}

/// Why `prepareSelfie` failed: the error, the JS exception behind it (if any), and the
/// gate's measures when the gate refused the photo.
struct Failure {
    error: SelfieError,
    cause: JsValue,
    metrics: Option<QualityMetrics>,
    /// For `SELFIE_INVALID_OPTIONS`: the option at fault, named in the message.
    option: Option<BadOption>,
}

impl From<SelfieError> for Failure {
    fn from(error: SelfieError) -> Self {
        Failure {
            error,
            cause: JsValue::UNDEFINED,
            metrics: None,
            option: None,
        }
    }
}

impl From<BadOption> for Failure {
    fn from(bad: BadOption) -> Self {
        Failure {
            option: Some(bad),
            ..SelfieError::InvalidOptions.into()
        }
    }
}

type Res<T> = Result<T, Failure>;

/// A failed browser call, reported as `error` with the exception as its cause.
trait FailsAs<T> {
    fn fails_as(self, error: SelfieError) -> Res<T>;
}

impl<T> FailsAs<T> for Result<T, JsValue> {
    fn fails_as(self, error: SelfieError) -> Res<T> {
        self.map_err(|cause| Failure {
            cause,
            ..error.into()
        })
    }
}

impl Failure {
    fn into_js(self) -> JsValue {
        let details = Object::new();
        if !self.cause.is_undefined() {
            js::set(&details, "cause", self.cause);
        }
        if let Some(m) = &self.metrics {
            js::set(&details, "metrics", metrics_to_js(m));
        }
        let e = self.error;
        let (en, id) = match &self.option {
            // "…settings are not valid." + what to change.
            Some(bad) => (
                format!("{} {}", e.message(Lang::En), bad.explain(Lang::En)),
                format!("{} {}", e.message(Lang::Id), bad.explain(Lang::Id)),
            ),
            None => (e.message(Lang::En).into(), e.message(Lang::Id).into()),
        };
        js::error(Kind::Selfie, e.code(), &en, &id, &details)
    }
}

/// Option `name` (`"maxBytes"`, `"checks.minSharpness"`) of `obj` as a number, `None` when
/// absent; not a number, or outside its rule, names the option.
fn number(obj: &JsValue, name: &'static str) -> Res<Option<f64>> {
    let key = name.strip_prefix("checks.").unwrap_or(name);
    let v = js::get(obj, key);
    if v.is_undefined() {
        return Ok(None);
    }
    match (v.as_f64(), option_rule(name)) {
        (Some(n), Some(rule)) if rule.allows(n) => Ok(Some(n)),
        _ => Err(BadOption::Rule(name).into()),
    }
}

/// Every own key of `obj` must be an option (`prefix` is `""` or `"checks."`): a typo must
/// not be silently ignored.
fn known_keys(obj: &JsValue, prefix: &str) -> Res<()> {
    for key in Object::keys(obj.unchecked_ref::<Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        let name = format!("{prefix}{key}");
        if option_rule(&name).is_none() {
            return Err(BadOption::Unknown(name).into());
        }
    }
    Ok(())
}

/// `checks`: `false` turns the gate off; `true` or absent keeps the calibrated thresholds;
/// an object overrides some of them.
fn read_checks(v: &JsValue) -> Res<Option<QualityChecks>> {
    let mut c = QualityChecks::default();
    if v.is_undefined() || *v == JsValue::TRUE {
        return Ok(Some(c));
    }
    if *v == JsValue::FALSE {
        return Ok(None);
    }
    if !v.is_object() {
        return Err(BadOption::Rule("checks").into());
    }
    known_keys(v, "checks.")?;
    let fields: [(&str, &mut f32); 5] = [
        ("checks.minBrightness", &mut c.min_brightness),
        ("checks.maxBrightness", &mut c.max_brightness),
        ("checks.maxDarkClipped", &mut c.max_dark_clipped),
        ("checks.maxBrightClipped", &mut c.max_bright_clipped),
        ("checks.minSharpness", &mut c.min_sharpness),
    ];
    for (name, field) in fields {
        if let Some(n) = number(v, name)? {
            *field = n as f32;
        }
    }
    let faces = js::get(v, "faces");
    if !faces.is_undefined() {
        debug_assert_eq!(option_rule("checks.faces"), Some(OptionRule::Bool));
        c.faces = faces
            .as_bool()
            .ok_or(Failure::from(BadOption::Rule("checks.faces")))?;
    }
    Ok(Some(c))
}

fn read_options(options: &JsValue) -> Res<SelfieOptions> {
    let mut opts = SelfieOptions::default();
    if options.is_undefined() || options.is_null() {
        return Ok(opts);
    }
    if !options.is_object() {
        return Err(SelfieError::InvalidOptions.into());
    }
    known_keys(options, "")?;
    if let Some(n) = number(options, "maxDimension")? {
        opts.max_dimension = n as u32;
    }
    if let Some(n) = number(options, "maxBytes")? {
        opts.max_bytes = n as usize;
    }
    if let Some(n) = number(options, "maxPixels")? {
        opts.limits = SelfieLimits {
            max_pixels: n as u64,
        };
    }
    if let Some(q) = number(options, "quality")? {
        opts.quality = q as f32;
    }
    opts.checks = read_checks(&js::get(options, "checks"))?;
    // The selfie crate decides (ranges, their order); run it before any decoding work.
    opts.check()?;
    Ok(opts)
}

/// A scratch canvas of `w × h` and its 2D context: `OffscreenCanvas` where there is one (also
/// in workers), else a `<canvas>`. `willReadFrequently` keeps it in CPU memory, which makes
/// `getImageData` cheap.
fn scratch(w: u32, h: u32) -> Res<Context2d> {
    let has_offscreen = has_global("OffscreenCanvas");
    let canvas: JsValue = if has_offscreen {
        OffscreenCanvas::new(w, h)
            .fails_as(SelfieError::Internal)?
            .into()
    } else {
        let doc = web_sys::window()
            .and_then(|w| w.document())
            .ok_or(SelfieError::Internal)?;
        let c: HtmlCanvasElement = doc
            .create_element("canvas")
            .fails_as(SelfieError::Internal)?
            .unchecked_into();
        c.set_width(w);
        c.set_height(h);
        c.into()
    };
    let settings = Object::new();
    js::set(&settings, "willReadFrequently", true);
    let ctx = canvas
        .unchecked_into::<AnyCanvas>()
        .get_context("2d", &settings)
        .fails_as(SelfieError::Internal)?;
    if ctx.is_null() || ctx.is_undefined() {
        return Err(SelfieError::Internal.into());
    }
    Ok(ctx.unchecked_into())
}

/// Draws `src` at `w × h` on a scratch canvas and reads the pixels back. `broken` is the
/// error when drawing fails (a tainted, cross-origin source makes `getImageData` throw).
fn draw(src: &JsValue, w: u32, h: u32, smoothing: &str, broken: SelfieError) -> Res<ImageData> {
    let ctx = scratch(w, h)?;
    ctx.set_image_smoothing_quality(smoothing);
    let (fw, fh) = (f64::from(w), f64::from(h));
    ctx.draw_image(src, 0.0, 0.0, fw, fh).fails_as(broken)?;
    ctx.get_image_data(0.0, 0.0, fw, fh).map_err(|cause| {
        // A cross-origin source taints the canvas: reading it is a SecurityError.
        let tainted = js::get(&cause, "name").as_string().as_deref() == Some("SecurityError");
        Failure {
            cause,
            ..(if tainted {
                SelfieError::CrossOrigin
            } else {
                broken
            })
            .into()
        }
    })
}

/// A frame (video, canvas, bitmap, `<img>`) at its own size: resizing is ours.
fn grab(src: &JsValue, w: u32, h: u32, opts: &SelfieOptions) -> Res<ImageData> {
    if w == 0 || h == 0 {
        return Err(SelfieError::NoFrame.into());
    }
    opts.limits.check_dimensions(w, h)?;
    draw(src, w, h, "low", SelfieError::InvalidFrame)
}

#[wasm_bindgen(module = "/js/image.js")]
extern "C" {
    /// `{ img }`, `{ error, blocked }` or `null` (no window): see `js/image.js`.
    #[wasm_bindgen(js_name = loadImage)]
    fn load_image_js(blob: &Blob) -> JsValue;
}

/// How loading a blob into an `<img>` ended.
enum Loaded {
    /// Loaded: `onload` fires once the header is read; the pixels are decoded when drawn.
    Image(HtmlImageElement),
    /// The browser could not read the file (the error event as cause).
    Failed(JsValue),
    /// The page's Content Security Policy blocks `blob:` images: not the file's fault.
    Blocked(JsValue),
}

/// Loads a blob into an `<img>`; `None` outside a window (workers).
async fn load_image(blob: &Blob) -> Option<Loaded> {
    let loading = load_image_js(blob).dyn_into::<Promise>().ok()?;
    let r = JsFuture::from(loading).await.ok()?;
    let img = js::get(&r, "img");
    if !img.is_undefined() {
        return Some(Loaded::Image(img.unchecked_into()));
    }
    let error = js::get(&r, "error");
    Some(if js::get(&r, "blocked") == JsValue::TRUE {
        Loaded::Blocked(error)
    } else {
        Loaded::Failed(error)
    })
}

fn has_global(name: &str) -> bool {
    Reflect::has(&js_sys::global(), &name.into()).unwrap_or(false)
}

/// How a decoded photo is drawn at the output size: `medium` adds mipmaps, so a large
/// downscale does not alias (docs/browser-module.md, "Build choices", for the measurements).
const FILE_SMOOTHING: &str = "medium";

/// What is known about a file before the browser decodes it.
struct FileFacts {
    /// Its type, as sniffed from its bytes.
    mime: &'static str,
    /// JPEG or PNG: a decoding failure means the file is damaged, not unsupported.
    known: bool,
    /// For a JPEG: its declared (unrotated) size and EXIF orientation.
    jpeg: Option<(u32, u32, u8)>,
}

impl FileFacts {
    /// The error when the browser cannot decode the file.
    fn broken(&self) -> SelfieError {
        if self.known {
            SelfieError::Corrupt
        } else {
            SelfieError::UnsupportedFormat
        }
    }
}

/// Decodes an image file with the browser, drawn at the output size: JPEG and PNG as well as
/// WebP, AVIF, GIF, BMP and HEIC where the browser has a decoder.
///
/// First choice, `ImageDecoder`: it decodes off the main thread, and a JPEG at the smallest
/// DCT scale that covers the output (`jpeg_decode_size`: 3/8 for a 12 MP photo at 1280),
/// which measured faster than `<img>` and never blocks the page (docs/browser-module.md). It applies
/// EXIF orientation through the frame's `rotation`, which `drawImage` honours. Otherwise an
/// `<img>` (windows) or `createImageBitmap` (workers), which both apply EXIF orientation
/// themselves.
async fn browser_decode(blob: &Blob, facts: &FileFacts, opts: &SelfieOptions) -> Res<Decoded> {
    let broken = facts.broken();
    if let Some(started) = Started::new(blob, facts, opts).await {
        if let Some(decoded) = started.finish(facts, opts).await? {
            return Ok(decoded);
        }
    }
    let scaled = |src: &JsValue, w: u32, h: u32| -> Res<ImageData> {
        opts.limits.check_dimensions(w, h)?;
        let (tw, th) = fit_within(w, h, opts.max_dimension);
        if tw == 0 || th == 0 {
            return Err(SelfieError::Corrupt.into());
        }
        draw(src, tw, th, FILE_SMOOTHING, broken)
    };
    match load_image(blob).await {
        Some(Loaded::Image(img)) => {
            return scaled(&img, img.natural_width(), img.natural_height()).map(Decoded::Drawn)
        }
        Some(Loaded::Failed(cause)) => return Err(cause).fails_as(broken),
        // `createImageBitmap` reads the blob itself, which no CSP directive governs.
        Some(Loaded::Blocked(cause)) if !has_global("createImageBitmap") => {
            return Err(cause).fails_as(SelfieError::Blocked)
        }
        Some(Loaded::Blocked(_)) | None => {}
    }
    // Workers without ImageDecoder (no <img>), or a page whose CSP blocks `blob:` images: a
    // full-size decode.
    let bitmap = match create_image_bitmap(blob) {
        Ok(p) => JsFuture::from(p).await,
        Err(e) => Err(e),
    };
    let b: ImageBitmap = bitmap.fails_as(broken)?.unchecked_into();
    let out = scaled(&b, b.width(), b.height());
    b.close();
    out.map(Decoded::Drawn)
}

/// An `ImageDecoder` at work (off the main thread) on a file.
struct Started {
    decoder: ImageDecoder,
    decoding: Promise,
}

impl Started {
    /// Starts decoding `blob`, where the browser has an `ImageDecoder` that takes its type;
    /// a JPEG at the smallest DCT scale that covers the output.
    async fn new(blob: &Blob, facts: &FileFacts, opts: &SelfieOptions) -> Option<Started> {
        if !has_global("ImageDecoder") {
            return None;
        }
        let supported = JsFuture::from(ImageDecoder::is_type_supported(facts.mime).ok()?).await;
        if supported.ok()? != JsValue::TRUE {
            return None;
        }
        let init = Object::new();
        js::set(&init, "data", blob.stream());
        js::set(&init, "type", facts.mime);
        if let Some((w, h, _)) = facts.jpeg {
            let (dw, dh) = jpeg_decode_size(w, h, opts.max_dimension);
            js::set(&init, "desiredWidth", dw);
            js::set(&init, "desiredHeight", dh);
        }
        let decoder = ImageDecoder::new(&init).ok()?;
        match decoder.decode() {
            Ok(decoding) => Some(Started { decoder, decoding }),
            Err(_) => {
                decoder.close();
                None
            }
        }
    }

    /// The decoded picture: its pixels copied as they are (the resize is ours), or, when it
    /// must be turned, drawn turned at the output size; `Ok(None)` where the browser would not
    /// orient it (then `<img>` must).
    async fn finish(self, facts: &FileFacts, opts: &SelfieOptions) -> Res<Option<Decoded>> {
        let decoded = JsFuture::from(self.decoding).await;
        self.decoder.close();
        let frame: VideoFrame =
            js::get(&decoded.fails_as(facts.broken())?, "image").unchecked_into();
        let upright = frame.rotation().as_f64() == Some(0.0) && frame.flip() != JsValue::TRUE;
        let out = match facts.jpeg {
            Some((w, h, orientation)) if upright || orientation == 1 => {
                copy_frame(&frame, (w, h), facts).await
            }
            _ => draw_frame(&frame, facts, opts).map(|d| d.map(Decoded::Drawn)),
        };
        frame.close_frame();
        out
    }
}

/// The pixels of an upright decoded JPEG in wasm memory: `copyTo` measured faster than
/// drawing the frame and reading the canvas back, and copying the frame's own 4-byte format
/// (Chromium's is BGRX) faster than asking for RGBA (docs/browser-module.md).
async fn copy_frame(
    frame: &VideoFrame,
    full: (u32, u32),
    facts: &FileFacts,
) -> Res<Option<Decoded>> {
    let (width, height) = (frame.display_width(), frame.display_height());
    // As the decoder left them when our converter reads that order (a plain copy), else
    // converted by the browser.
    let options = Object::new();
    let layout = match frame.format().as_deref() {
        Some("BGRX") => PixelLayout::Bgrx,
        Some("BGRA") => PixelLayout::Bgra,
        Some("RGBX") => PixelLayout::Rgbx,
        Some("RGBA") => PixelLayout::Rgba,
        _ => {
            js::set(&options, "format", "RGBA");
            PixelLayout::Rgba
        }
    };
    let size = frame.allocation_size(&options).fails_as(facts.broken())?;
    if size != f64::from(width) * f64::from(height) * 4.0 {
        return Ok(None);
    }
    let buffer = Uint8Array::new_with_length(size as u32);
    let copied = frame.copy_to(&buffer, &options).fails_as(facts.broken())?;
    JsFuture::from(copied).await.fails_as(facts.broken())?;
    Ok(Some(Decoded::Copied {
        pixels: buffer.to_vec(),
        layout,
        width,
        height,
        full,
    }))
}

/// Draws a decoded frame at the output size, oriented.
fn draw_frame(
    frame: &VideoFrame,
    facts: &FileFacts,
    opts: &SelfieOptions,
) -> Res<Option<ImageData>> {
    let broken = facts.broken();
    let rotation = frame.rotation();
    let (w, h) = match facts.jpeg {
        // A browser whose frames ignore EXIF orientation: let `<img>` do it instead.
        Some((_, _, orientation)) if rotation.is_undefined() && orientation != 1 => {
            return Ok(None)
        }
        // The output's size from the declared one (exact aspect), turned as displayed.
        Some((w, h, _)) => match rotation.as_f64() {
            Some(r) if r == 90.0 || r == 270.0 => (h, w),
            _ => (w, h),
        },
        None => (frame.display_width(), frame.display_height()),
    };
    opts.limits.check_dimensions(w, h)?;
    let (tw, th) = fit_within(w, h, opts.max_dimension);
    if tw == 0 || th == 0 {
        return Err(SelfieError::Corrupt.into());
    }
    draw(frame, tw, th, FILE_SMOOTHING, broken).map(Some)
}

/// How much of a file is read first: enough for a JPEG's markers up to its first scan (EXIF
/// included) in most files, or a PNG's IHDR; `inspect` asks for more when a JPEG needs it.
const HEAD_BYTES: u64 = 64 * 1024;
/// A JPEG whose markers need more than this before the first scan is refused.
const MAX_HEAD_BYTES: u64 = 16 * 1024 * 1024;

fn slice(blob: &Blob, range: Range<u64>) -> Res<Blob> {
    blob.slice_with_f64_and_f64(range.start as f64, range.end as f64)
        .fails_as(SelfieError::Internal)
}

async fn blob_range(blob: &Blob, start: u64, end: u64) -> Res<Vec<u8>> {
    blob_bytes(&slice(blob, start..end)?).await
}

async fn blob_bytes(blob: &Blob) -> Res<Vec<u8>> {
    let buf = JsFuture::from(blob.array_buffer())
        .await
        .fails_as(SelfieError::Truncated)?;
    Ok(Uint8Array::new(&buf).to_vec())
}

fn bytes_blob(bytes: &Uint8Array) -> Res<Blob> {
    Blob::new_with_u8_array_sequence(&Array::of1(bytes)).fails_as(SelfieError::Internal)
}

/// What a source turned into.
enum Decoded {
    /// A PDF, passed through.
    Pdf(PreparedSelfie),
    /// The caller's own `ImageData`: read at once, before anything else runs, since the
    /// caller may reuse its buffer.
    Given(ImageData),
    /// Pixels the browser drew for us (a decoded file, a video frame, a canvas): decoding
    /// and drawing took a task of their own, so the work on them starts another.
    Drawn(ImageData),
    /// A decoded JPEG's pixels as they came from the decoder, at its reduced DCT scale, and
    /// the file's declared size (which the output's size comes from).
    Copied {
        pixels: Vec<u8>,
        layout: PixelLayout,
        width: u32,
        height: u32,
        full: (u32, u32),
    },
}

/// An image file, as a Blob. Only its head is read (and a JPEG's end marker looked for);
/// the browser decodes it. A PDF is read whole.
async fn from_file(blob: &Blob, opts: &SelfieOptions, watch: &mut Stopwatch) -> Res<Decoded> {
    watch.lap("inspect");
    let len = blob.size() as u64;
    // A long file's head and the tail a JPEG's end marker is looked for in first, in one read.
    let tail_range = EndMarkerSearch::first_read(len);
    let (mut head, mut tail) = if len >= 2 * HEAD_BYTES && tail_range.start >= HEAD_BYTES {
        let (first, last) = (
            slice(blob, 0..HEAD_BYTES)?,
            slice(blob, tail_range.clone())?,
        );
        let parts = Array::of2(&first, &last);
        let both = Blob::new_with_blob_sequence(&parts).fails_as(SelfieError::Internal)?;
        let mut head = blob_bytes(&both).await?;
        let tail = head.split_off(HEAD_BYTES as usize);
        (head, Some(tail))
    } else {
        (blob_range(blob, 0, HEAD_BYTES.min(len)).await?, None)
    };
    let plan = loop {
        match inspect(&head, len, opts)? {
            FilePlan::ReadMore(n) if n <= MAX_HEAD_BYTES => head = blob_range(blob, 0, n).await?,
            FilePlan::ReadMore(_) => return Err(SelfieError::Corrupt.into()),
            plan => break plan,
        }
    };
    let facts = match plan {
        FilePlan::Pdf => {
            let bytes = blob_bytes(blob).await?;
            return Ok(Decoded::Pdf(prepare_from_file(&bytes, opts)?));
        }
        FilePlan::Jpeg {
            width,
            height,
            orientation,
            scan_start,
        } => {
            // Before the decoder starts: its reading of the file slows ours (measured).
            let mut end = EndMarkerSearch::new(scan_start, len);
            while let Some(r) = end.next_read() {
                match tail.take() {
                    Some(t) if r == tail_range => end.feed(&t),
                    _ => end.feed(&blob_range(blob, r.start, r.end).await?),
                }
            }
            if !end.found() {
                return Err(SelfieError::Truncated.into());
            }
            FileFacts {
                mime: "image/jpeg",
                known: true,
                jpeg: Some((width, height, orientation)),
            }
        }
        FilePlan::Png { .. } => FileFacts {
            mime: "image/png",
            known: true,
            jpeg: None,
        },
        FilePlan::BrowserOnly(mime) => FileFacts {
            mime,
            known: false,
            jpeg: None,
        },
        FilePlan::ReadMore(_) => return Err(SelfieError::Corrupt.into()),
    };
    watch.lap("decode");
    browser_decode(blob, &facts, opts).await
}

/// Pixels, or a PDF, from any source `prepareSelfie` takes.
async fn decode(source: &JsValue, opts: &SelfieOptions, watch: &mut Stopwatch) -> Res<Decoded> {
    let pixels = if let Some(img) = source.dyn_ref::<ImageData>() {
        return Ok(Decoded::Given(img.clone()));
    } else if let Some(v) = source.dyn_ref::<HtmlVideoElement>() {
        // HAVE_CURRENT_DATA (2): a frame can be drawn.
        if v.ready_state() < 2 {
            return Err(SelfieError::NoFrame.into());
        }
        grab(source, v.video_width(), v.video_height(), opts)?
    } else if let Some(c) = source.dyn_ref::<HtmlCanvasElement>() {
        grab(source, c.width(), c.height(), opts)?
    } else if let Some(c) = source.dyn_ref::<OffscreenCanvas>() {
        grab(source, c.width(), c.height(), opts)?
    } else if let Some(b) = source.dyn_ref::<ImageBitmap>() {
        grab(source, b.width(), b.height(), opts)?
    } else if let Some(img) = source.dyn_ref::<HtmlImageElement>() {
        if !img.complete() {
            return Err(SelfieError::NoFrame.into());
        }
        grab(source, img.natural_width(), img.natural_height(), opts)?
    } else if let Some(blob) = source.dyn_ref::<Blob>() {
        return from_file(blob, opts, watch).await;
    } else if let Some(buf) = source.dyn_ref::<ArrayBuffer>() {
        return from_file(&bytes_blob(&Uint8Array::new(buf))?, opts, watch).await;
    } else if let Some(arr) = source.dyn_ref::<Uint8Array>() {
        return from_file(&bytes_blob(arr)?, opts, watch).await;
    } else {
        return Err(SelfieError::SourceType.into());
    };
    Ok(Decoded::Drawn(pixels))
}

fn has_face_detector() -> bool {
    js::get(&js_sys::global(), "FaceDetector").is_function()
}

/// How many faces the browser's `FaceDetector` (Shape Detection API) finds, or `None` where
/// there is none or it fails: the detector is a help, never a requirement.
async fn count_faces(pixels: &ImageData) -> Option<u32> {
    let ctor: Function = Reflect::get(&js_sys::global(), &"FaceDetector".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let settings = Object::new();
    // Two are enough to tell one face from several.
    js::set(&settings, "maxDetectedFaces", 2);
    js::set(&settings, "fastMode", true);
    let detector = Reflect::construct(&ctor, &Array::of1(&settings)).ok()?;
    let detect: Function = Reflect::get(&detector, &"detect".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let found = detect.call1(&detector, pixels).ok()?;
    let faces = JsFuture::from(found.dyn_into::<Promise>().ok()?)
        .await
        .ok()?;
    faces.dyn_ref::<Array>().map(|a| a.length())
}

/// The gate and the encoder, on decoded pixels (not a PDF).
async fn gate_and_encode(
    decoded: Decoded,
    opts: &SelfieOptions,
    watch: &mut Stopwatch,
) -> Res<PreparedSelfie> {
    // The caller's own ImageData is read at once; anything the browser decoded or drew
    // for us took a task of its own, so the work on it starts another.
    if !matches!(decoded, Decoded::Given(_)) {
        watch.lap("yield");
        yield_to_event_loop().await;
    }
    watch.lap("copy");
    let (mut converted, faces_from) = match decoded {
        Decoded::Given(pixels) | Decoded::Drawn(pixels) => {
            let rgba = pixels.data();
            let given = Pixels::rgba(pixels.width(), pixels.height(), &rgba);
            let c = Selfie::convert(given, opts, watch)?;
            (c, Some(pixels))
        }
        Decoded::Copied {
            pixels,
            layout,
            width,
            height,
            full,
        } => {
            let decoded = Pixels {
                data: &pixels,
                layout,
                width,
                height,
                full,
            };
            let c = Selfie::convert(decoded, opts, watch)?;
            (c, None)
        }
        Decoded::Pdf(_) => return Err(SelfieError::Internal.into()),
    };
    // Tasks of 10 ms at most on this project's machine, so that a loaded one stays under 50.
    watch.lap("yield");
    yield_to_event_loop().await;
    converted.resize_luma(watch);
    watch.lap("yield");
    yield_to_event_loop().await;
    let mut selfie = converted.resize(watch);
    let refused = |error: SelfieError, selfie: &Selfie| Failure {
        metrics: Some(*selfie.metrics()),
        ..error.into()
    };
    selfie.check().map_err(|e| refused(e, &selfie))?;
    if selfie.wants_faces() && has_face_detector() {
        watch.lap("faces");
        // A decoded file copied straight into wasm has no ImageData: the output in grey.
        let pixels = match faces_from {
            Some(p) => p,
            None => {
                let (grey, w, h) = selfie.grey_rgba();
                let copy = js_sys::Uint8ClampedArray::from(&grey[..]);
                ImageData::new_with_js_u8_clamped_array_and_sh(&copy, w, h)
                    .fails_as(SelfieError::Internal)?
            }
        };
        if let Some(n) = count_faces(&pixels).await {
            selfie.check_faces(n).map_err(|e| refused(e, &selfie))?;
        }
    }
    watch.lap("yield");
    yield_to_event_loop().await;
    Ok(selfie.encode(watch)?)
}

async fn prepare(source: JsValue, options: JsValue) -> Res<JsValue> {
    let opts = read_options(&options)?;
    let mut watch = Stopwatch::start();
    watch.lap("decode");
    let out = match decode(&source, &opts, &mut watch).await? {
        Decoded::Pdf(pdf) => pdf,
        decoded => gate_and_encode(decoded, &opts, &mut watch).await?,
    };
    watch.lap("base64");
    let result = prepared_to_js(&out);
    watch.stop(&result);
    Ok(result)
}

fn metrics_to_js(m: &QualityMetrics) -> JsValue {
    let o = Object::new();
    // Rounded: these are guidance, and f32 → f64 would show 0.5 as 0.5000000xx.
    let round = |v: f32, scale: f64| (f64::from(v) * scale).round() / scale;
    js::set(&o, "brightness", round(m.brightness, 10.0));
    js::set(&o, "darkClipped", round(m.dark_clipped, 1000.0));
    js::set(&o, "brightClipped", round(m.bright_clipped, 1000.0));
    js::set(&o, "sharpness", round(m.sharpness, 1000.0));
    js::set(&o, "faces", m.faces.map_or(JsValue::NULL, JsValue::from));
    o.into()
}

fn prepared_to_js(p: &PreparedSelfie) -> JsValue {
    let o = Object::new();
    js::set(&o, "base64", p.to_base64());
    js::set(&o, "bytes", p.bytes.len() as f64);
    js::set(&o, "width", p.width);
    js::set(&o, "height", p.height);
    // f32 → f64 shows 0.85 as 0.8500000238; round to the 1–100 scale the encoder used.
    js::set(
        &o,
        "quality",
        (f64::from(p.quality) * 100.0).round() / 100.0,
    );
    js::set(&o, "mimeType", p.mime_type);
    js::set(
        &o,
        "metrics",
        p.metrics.as_ref().map_or(JsValue::NULL, metrics_to_js),
    );
    o.into()
}

/// Prepares a selfie for upload; rejects with a `SelfieError`.
#[wasm_bindgen(js_name = prepareSelfie, unchecked_return_type = "PreparedSelfie")]
pub async fn prepare_selfie(
    #[wasm_bindgen(unchecked_param_type = "SelfieSource")] source: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PrepareSelfieOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsValue> {
    prepare(source, options).await.map_err(Failure::into_js)
}
