//! `prepareSelfie`: turns any image source the browser has into pixels or file bytes, then
//! hands them to `dukcapil_selfie`. Only the browser's decoders and canvas are used here;
//! sizing, orientation, encoding and the byte limit are the selfie crate's.

use crate::js::{self, Kind};
use dukcapil_core::{image::ImageKind, Lang};
use dukcapil_selfie::{
    fit_within, prepare_from_file, prepare_from_rgba, PreparedSelfie, SelfieError, SelfieOptions,
};
use js_sys::{Array, ArrayBuffer, Object, Promise, Uint8Array};
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
}

/// A `SelfieError` with the JS exception that caused it, if any.
fn to_js(e: SelfieError, cause: &JsValue) -> JsValue {
    let details = Object::new();
    if !cause.is_undefined() {
        js::set(&details, "cause", cause.clone());
    }
    js::error(
        Kind::Selfie,
        e.code(),
        e.message(Lang::En),
        e.message(Lang::Id),
        &details,
    )
}

type Res<T> = Result<T, (SelfieError, JsValue)>;

fn fail<T>(e: SelfieError) -> Res<T> {
    Err((e, JsValue::UNDEFINED))
}

/// A whole number in `0..=max`, or `InvalidOptions`.
fn whole(v: &JsValue, max: f64) -> Res<Option<f64>> {
    if v.is_undefined() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && (0.0..=max).contains(&n) => Ok(Some(n)),
        _ => fail(SelfieError::InvalidOptions),
    }
}

fn read_options(options: &JsValue) -> Res<SelfieOptions> {
    let mut opts = SelfieOptions::default();
    if options.is_undefined() || options.is_null() {
        return Ok(opts);
    }
    if !options.is_object() {
        return fail(SelfieError::InvalidOptions);
    }
    if let Some(n) = whole(&js::get(options, "maxDimension"), f64::from(u32::MAX))? {
        opts.max_dimension = n as u32;
    }
    if let Some(n) = whole(&js::get(options, "maxBytes"), u32::MAX as f64)? {
        opts.max_bytes = n as usize;
    }
    if let Some(n) = whole(&js::get(options, "maxPixels"), 2f64.powi(53))? {
        opts.max_pixels = n as u64;
    }
    let quality = js::get(options, "quality");
    if !quality.is_undefined() {
        opts.quality = quality
            .as_f64()
            .ok_or((SelfieError::InvalidOptions, JsValue::UNDEFINED))?
            as f32;
    }
    // Range checks are the selfie crate's; run them before any decoding work.
    opts.validate().map_err(|e| (e, JsValue::UNDEFINED))?;
    Ok(opts)
}

/// A scratch canvas of `w × h` and its 2D context: `OffscreenCanvas` where there is one (also
/// in workers), else a `<canvas>`. `willReadFrequently` keeps it in CPU memory, which makes
/// `getImageData` cheap.
fn scratch(w: u32, h: u32) -> Res<Context2d> {
    let has_offscreen =
        js_sys::Reflect::has(&js_sys::global(), &"OffscreenCanvas".into()).unwrap_or(false);
    let canvas: JsValue = if has_offscreen {
        OffscreenCanvas::new(w, h)
            .map_err(|e| (SelfieError::Internal, e))?
            .into()
    } else {
        let doc = web_sys::window()
            .and_then(|w| w.document())
            .ok_or((SelfieError::Internal, JsValue::UNDEFINED))?;
        let c: HtmlCanvasElement = doc
            .create_element("canvas")
            .map_err(|e| (SelfieError::Internal, e))?
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
        .map_err(|e| (SelfieError::Internal, e))?;
    if ctx.is_null() || ctx.is_undefined() {
        return fail(SelfieError::Internal);
    }
    Ok(ctx.unchecked_into())
}

/// Draws `src` at `w × h` on a scratch canvas and reads the pixels back.
fn draw_to_rgba(src: &JsValue, w: u32, h: u32, opts: &SelfieOptions) -> Res<ImageData> {
    if w == 0 || h == 0 {
        return fail(SelfieError::NoFrame);
    }
    if u64::from(w) * u64::from(h) > opts.max_pixels {
        return fail(SelfieError::TooManyPixels);
    }
    let ctx = scratch(w, h)?;
    let (fw, fh) = (f64::from(w), f64::from(h));
    // A tainted (cross-origin) source makes getImageData throw a SecurityError.
    ctx.draw_image(src, 0.0, 0.0, fw, fh)
        .map_err(|e| (SelfieError::InvalidFrame, e))?;
    ctx.get_image_data(0.0, 0.0, fw, fh)
        .map_err(|e| (SelfieError::InvalidFrame, e))
}

fn from_image_data(img: &ImageData, opts: &SelfieOptions) -> Res<PreparedSelfie> {
    let data = img.data();
    prepare_from_rgba(img.width(), img.height(), &data, opts).map_err(|e| (e, JsValue::UNDEFINED))
}

fn from_drawable(src: &JsValue, w: u32, h: u32, opts: &SelfieOptions) -> Res<PreparedSelfie> {
    from_image_data(&draw_to_rgba(src, w, h, opts)?, opts)
}

/// Loads a blob into an `<img>`. `onload` fires once the header is read; the pixels are
/// decoded later, when drawn. `None` outside a window (workers).
async fn load_image(blob: &Blob) -> Option<Result<HtmlImageElement, JsValue>> {
    let doc = web_sys::window()?.document()?;
    let img: HtmlImageElement = doc.create_element("img").ok()?.unchecked_into();
    let url = web_sys::Url::create_object_url_with_blob(blob).ok()?;
    let loaded = Promise::new(&mut |resolve, reject| {
        img.set_onload(Some(&resolve));
        img.set_onerror(Some(&reject));
    });
    img.set_src(&url);
    let r = JsFuture::from(loaded).await;
    img.set_onload(None);
    img.set_onerror(None);
    let _ = web_sys::Url::revoke_object_url(&url);
    Some(r.map(|_| img))
}

/// Draws `src` (natural size `w × h`) scaled to fit `max_dimension` and encodes it with the
/// selfie crate. Drawing a JPEG smaller lets Chrome decode it at a reduced DCT scale.
/// `medium` smoothing uses mipmaps: no aliasing on a 3× downscale (`low` aliases).
fn draw_scaled(src: &JsValue, w: u32, h: u32, opts: &SelfieOptions) -> Res<PreparedSelfie> {
    if u64::from(w) * u64::from(h) > opts.max_pixels {
        return fail(SelfieError::TooManyPixels);
    }
    let (tw, th) = fit_within(w, h, opts.max_dimension);
    if tw == 0 || th == 0 {
        return fail(SelfieError::Corrupt);
    }
    let ctx = scratch(tw, th)?;
    ctx.set_image_smoothing_quality("medium");
    let (fw, fh) = (f64::from(tw), f64::from(th));
    ctx.draw_image(src, 0.0, 0.0, fw, fh)
        .map_err(|e| (SelfieError::Corrupt, e))?;
    let data = ctx
        .get_image_data(0.0, 0.0, fw, fh)
        .map_err(|e| (SelfieError::Internal, e))?;
    from_image_data(&data, opts)
}

/// Decodes an image file with the browser: JPEG and PNG as well as WebP, AVIF, GIF, BMP and
/// HEIC where the browser has a decoder. EXIF orientation is applied by both `<img>`
/// (`image-orientation: from-image`; `naturalWidth/Height` are the oriented size) and
/// `createImageBitmap` (`imageOrientation: "from-image"` by default).
///
/// Measured (crate README): `<img>` + scaled draw + wasm encode beats decoding in wasm
/// (jpeg-decoder at ½ scale) on a 12 MP photo, and leaves the decoders out of the bundle.
async fn browser_decode(
    blob: &Blob,
    known_image: bool,
    opts: &SelfieOptions,
) -> Res<PreparedSelfie> {
    let broken = if known_image {
        SelfieError::Corrupt
    } else {
        SelfieError::UnsupportedFormat
    };
    if let Some(loaded) = load_image(blob).await {
        let img = loaded.map_err(|e| (broken, e))?;
        return draw_scaled(&img, img.natural_width(), img.natural_height(), opts);
    }
    // Workers: no <img>, so a full-size decode.
    let bitmap = match create_image_bitmap(blob) {
        Ok(p) => JsFuture::from(p).await,
        Err(e) => Err(e),
    };
    let b: ImageBitmap = bitmap.map_err(|e| (broken, e))?.unchecked_into();
    let out = draw_scaled(&b, b.width(), b.height(), opts);
    b.close();
    out
}

/// How much of a file is read up front: the type, and a JPEG's markers up to its first scan
/// (EXIF blocks included) or a PNG's IHDR, so the size is known before the browser decodes.
const HEAD_BYTES: f64 = 256.0 * 1024.0;
/// A JPEG's tail is searched in pieces of this size (bounded memory for any file size).
const TAIL_PIECE: f64 = 1024.0 * 1024.0;

async fn blob_range(blob: &Blob, start: f64, end: f64) -> Res<Vec<u8>> {
    let part = blob
        .slice_with_f64_and_f64(start, end)
        .map_err(|e| (SelfieError::Internal, e))?;
    blob_bytes(&part).await
}

/// Whether a JPEG whose first scan starts at `scan_start` has its end marker: browsers
/// draw a cut-off JPEG with a grey remainder rather than fail.
async fn jpeg_has_end(blob: &Blob, scan_start: usize) -> Res<bool> {
    let mut search = dukcapil_selfie::JpegEndSearch::default();
    let mut at = scan_start as f64;
    while at < blob.size() {
        let end = (at + TAIL_PIECE).min(blob.size());
        if search.feed(&blob_range(blob, at, end).await?) {
            return Ok(true);
        }
        at = end;
    }
    Ok(false)
}

async fn blob_bytes(blob: &Blob) -> Res<Vec<u8>> {
    let buf = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|e| (SelfieError::Truncated, e))?;
    Ok(Uint8Array::new(&buf).to_vec())
}

fn bytes_blob(bytes: &Uint8Array) -> Res<Blob> {
    Blob::new_with_u8_array_sequence(&Array::of1(bytes)).map_err(|e| (SelfieError::Internal, e))
}

/// An image file, as a Blob. Only its head is read (and a JPEG's tail, in pieces, for its end
/// marker); the browser decodes it. A PDF is read whole.
async fn from_file(blob: &Blob, opts: &SelfieOptions) -> Res<PreparedSelfie> {
    if blob.size() == 0.0 {
        return fail(SelfieError::Empty);
    }
    let head = blob_range(blob, 0.0, HEAD_BYTES.min(blob.size())).await?;
    let mime = dukcapil_selfie::sniff_mime(&head);
    if mime == Some(ImageKind::Pdf.mime_type()) {
        // Refused before reading a large file; the selfie crate checks again.
        if blob.size() > opts.max_bytes as f64 {
            return fail(SelfieError::PdfTooLarge);
        }
        return prepare_from_file(&blob_bytes(blob).await?, opts)
            .map_err(|e| (e, JsValue::UNDEFINED));
    }
    let known =
        mime == Some(ImageKind::Jpeg.mime_type()) || mime == Some(ImageKind::Png.mime_type());
    // The header's size is checked before the browser sees the file: a 30000×30000 PNG is
    // TOO_MANY_PIXELS, not whatever the browser's decoder makes of it.
    if let Some((w, h)) = dukcapil_selfie::declared_size(&head) {
        if u64::from(w) * u64::from(h) > opts.max_pixels {
            return fail(SelfieError::TooManyPixels);
        }
    }
    if let Some(scan_start) = dukcapil_selfie::jpeg_scan_start(&head) {
        if !jpeg_has_end(blob, scan_start).await? {
            return fail(SelfieError::Truncated);
        }
    }
    browser_decode(blob, known, opts).await
}

async fn prepare(source: JsValue, options: JsValue) -> Res<PreparedSelfie> {
    let opts = read_options(&options)?;
    if let Some(img) = source.dyn_ref::<ImageData>() {
        return from_image_data(img, &opts);
    }
    if let Some(v) = source.dyn_ref::<HtmlVideoElement>() {
        // HAVE_CURRENT_DATA (2): a frame can be drawn.
        if v.ready_state() < 2 {
            return fail(SelfieError::NoFrame);
        }
        return from_drawable(&source, v.video_width(), v.video_height(), &opts);
    }
    if let Some(c) = source.dyn_ref::<HtmlCanvasElement>() {
        return from_drawable(&source, c.width(), c.height(), &opts);
    }
    if let Some(c) = source.dyn_ref::<OffscreenCanvas>() {
        return from_drawable(&source, c.width(), c.height(), &opts);
    }
    if let Some(b) = source.dyn_ref::<ImageBitmap>() {
        return from_drawable(&source, b.width(), b.height(), &opts);
    }
    if let Some(img) = source.dyn_ref::<HtmlImageElement>() {
        if !img.complete() {
            return fail(SelfieError::NoFrame);
        }
        return from_drawable(&source, img.natural_width(), img.natural_height(), &opts);
    }
    if let Some(blob) = source.dyn_ref::<Blob>() {
        return from_file(blob, &opts).await;
    }
    if let Some(buf) = source.dyn_ref::<ArrayBuffer>() {
        return from_file(&bytes_blob(&Uint8Array::new(buf))?, &opts).await;
    }
    if let Some(arr) = source.dyn_ref::<Uint8Array>() {
        return from_file(&bytes_blob(arr)?, &opts).await;
    }
    fail(SelfieError::SourceType)
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
    o.into()
}

/// Prepares a selfie for upload; rejects with a `SelfieError`.
#[wasm_bindgen(js_name = prepareSelfie, unchecked_return_type = "PreparedSelfie")]
pub async fn prepare_selfie(
    #[wasm_bindgen(unchecked_param_type = "SelfieSource")] source: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PrepareSelfieOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsValue> {
    match prepare(source, options).await {
        Ok(p) => Ok(prepared_to_js(&p)),
        Err((e, cause)) => Err(to_js(e, &cause)),
    }
}
