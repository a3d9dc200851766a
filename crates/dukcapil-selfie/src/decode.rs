//! JPEG and PNG decoding to opaque RGBA8, for files [`inspect`](crate::inspect) accepted
//! (so the declared size is within the limits before any pixel buffer exists).

use crate::header::scan_jpeg;
use crate::orient::exif_orientation;
use crate::planes::over_white;
use crate::{fit_within, SelfieError};
use std::io;

/// A decoded image: opaque RGBA8, possibly decoded at a reduced (DCT) scale.
pub(crate) struct Decoded {
    pub rgba: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// The size stated in the file, before DCT scaling (used to keep the aspect ratio exact).
    pub full_width: u32,
    pub full_height: u32,
    /// EXIF orientation, 1–8.
    pub orientation: u8,
}

/// Width × height as a pixel count (already within the limits).
fn pixel_count(width: u32, height: u32) -> Result<usize, SelfieError> {
    usize::try_from(u64::from(width) * u64::from(height)).map_err(|_| SelfieError::TooManyPixels)
}

/// A zeroed buffer of `pixels * 4` bytes, or an error instead of an abort when memory is short.
fn rgba_buffer(pixels: usize) -> Result<Vec<u8>, SelfieError> {
    let len = pixels.checked_mul(4).ok_or(SelfieError::TooManyPixels)?;
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| SelfieError::TooManyPixels)?;
    v.resize(len, 0);
    Ok(v)
}

/// Widens `pixels` samples of `channels` (1–4) bytes at the start of `buf` to RGBA in place,
/// compositing alpha on white. `buf` must hold `pixels * 4` bytes.
fn expand_to_rgba(buf: &mut [u8], pixels: usize, channels: usize) {
    // Back to front, so no sample is overwritten before it is read (4 ≥ channels).
    for i in (0..pixels).rev() {
        let s = i * channels;
        let (r, g, b, a) = match channels {
            1 => (buf[s], buf[s], buf[s], 255),
            2 => (buf[s], buf[s], buf[s], buf[s + 1]),
            3 => (buf[s], buf[s + 1], buf[s + 2], 255),
            _ => (buf[s], buf[s + 1], buf[s + 2], buf[s + 3]),
        };
        let d = i * 4;
        buf[d] = over_white(r, a);
        buf[d + 1] = over_white(g, a);
        buf[d + 2] = over_white(b, a);
        buf[d + 3] = 255;
    }
}

// ---------------------------------------------------------------------------------------------
// JPEG

fn map_jpeg_error(e: jpeg_decoder::Error) -> SelfieError {
    match e {
        jpeg_decoder::Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            SelfieError::Truncated
        }
        jpeg_decoder::Error::Unsupported(_) => SelfieError::UnsupportedFormat,
        _ => SelfieError::Corrupt,
    }
}

/// Decodes a JPEG that `inspect` planned as `full_w × full_h`, at a reduced (DCT) scale when
/// `max_dimension` is that much smaller.
pub(crate) fn decode_jpeg(
    bytes: &[u8],
    full_w: u32,
    full_h: u32,
    max_dimension: u32,
) -> Result<Decoded, SelfieError> {
    let hdr = scan_jpeg(bytes)?;
    let pixels = pixel_count(full_w, full_h)?;
    let orientation = hdr.exif.map_or(1, exif_orientation);

    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    // Second line of defence if its idea of the frame ever differs from ours.
    decoder.set_max_decoding_buffer_size(pixels.saturating_mul(4));
    decoder.read_info().map_err(map_jpeg_error)?;
    let info = decoder.info().ok_or(SelfieError::Corrupt)?;
    if (u32::from(info.width), u32::from(info.height)) != (full_w, full_h) {
        return Err(SelfieError::Corrupt);
    }
    // Decode at 1/2, 1/4 or 1/8 scale when the output is that much smaller: far less work.
    let (mut width, mut height) = (full_w, full_h);
    let (tw, th) = fit_within(full_w, full_h, max_dimension);
    if (tw, th) != (full_w, full_h) {
        let tw = u16::try_from(tw).unwrap_or(u16::MAX);
        let th = u16::try_from(th).unwrap_or(u16::MAX);
        let (sw, sh) = decoder.scale(tw, th).map_err(map_jpeg_error)?;
        (width, height) = (u32::from(sw), u32::from(sh));
    }
    let mut data = decoder.decode().map_err(map_jpeg_error)?;

    let n = width as usize * height as usize;
    let channels = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => 1,
        jpeg_decoder::PixelFormat::RGB24 => 3,
        jpeg_decoder::PixelFormat::CMYK32 => 4,
        jpeg_decoder::PixelFormat::L16 => return Err(SelfieError::UnsupportedFormat),
    };
    if data.len() != n * channels {
        return Err(SelfieError::Corrupt);
    }
    if channels == 4 {
        cmyk_to_rgba(&mut data);
    } else {
        data.try_reserve_exact(n * 4 - data.len())
            .map_err(|_| SelfieError::TooManyPixels)?;
        data.resize(n * 4, 0);
        expand_to_rgba(&mut data, n, channels);
    }
    Ok(Decoded {
        rgba: data,
        width,
        height,
        full_width: full_w,
        full_height: full_h,
        orientation,
    })
}

/// CMYK pixels, as jpeg-decoder gives them, to opaque RGBA in place. It un-inverts Adobe
/// CMYK, so 0 means no ink here.
fn cmyk_to_rgba(data: &mut [u8]) {
    for px in data.chunks_exact_mut(4) {
        let k = 255 - u32::from(px[3]);
        for c in &mut px[..3] {
            *c = ((255 - u32::from(*c)) * k / 255) as u8;
        }
        px[3] = 255;
    }
}

// ---------------------------------------------------------------------------------------------
// PNG

fn map_png_error(e: png::DecodingError) -> SelfieError {
    match e {
        png::DecodingError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            SelfieError::Truncated
        }
        png::DecodingError::LimitsExceeded => SelfieError::TooManyPixels,
        _ => SelfieError::Corrupt,
    }
}

/// Decodes a PNG that `inspect` planned as `width × height`.
pub(crate) fn decode_png(bytes: &[u8], width: u32, height: u32) -> Result<Decoded, SelfieError> {
    let n = pixel_count(width, height)?;

    let mut decoder = png::Decoder::new(io::Cursor::new(bytes));
    // Palette and low bit depths to 8-bit, tRNS to alpha, 16-bit to 8-bit.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(map_png_error)?;
    if reader.info().size() != (width, height) {
        return Err(SelfieError::Corrupt);
    }
    let (color, depth) = reader.output_color_type();
    let channels = match color {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(SelfieError::Corrupt),
    };
    if depth != png::BitDepth::Eight {
        return Err(SelfieError::Corrupt);
    }
    let mut buf = rgba_buffer(n)?;
    if reader.output_buffer_size() != Some(n * channels) {
        return Err(SelfieError::Corrupt);
    }
    reader.next_frame(&mut buf).map_err(map_png_error)?;
    expand_to_rgba(&mut buf, n, channels);
    Ok(Decoded {
        rgba: buf,
        width,
        height,
        full_width: width,
        full_height: height,
        orientation: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_every_channel_count() {
        let mut g = vec![10, 200, 0, 0, 0, 0, 0, 0];
        expand_to_rgba(&mut g, 2, 1);
        assert_eq!(g, [10, 10, 10, 255, 200, 200, 200, 255]);
        let mut ga = vec![0, 0, 0, 255, 0, 0, 0, 0];
        expand_to_rgba(&mut ga, 2, 2);
        assert_eq!(ga, [255, 255, 255, 255, 0, 0, 0, 255]);
        let mut rgb = vec![1, 2, 3, 4, 5, 6, 0, 0];
        expand_to_rgba(&mut rgb, 2, 3);
        assert_eq!(rgb, [1, 2, 3, 255, 4, 5, 6, 255]);
        let mut rgba = vec![0, 0, 0, 128, 255, 0, 0, 255];
        expand_to_rgba(&mut rgba, 2, 4);
        assert_eq!(rgba, [127, 127, 127, 255, 255, 0, 0, 255]);
    }

    #[test]
    fn cmyk_becomes_rgb_with_the_key_applied() {
        // No ink; full key; full cyan; half key over half magenta.
        let mut px = vec![0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0, 0, 128, 0, 128];
        cmyk_to_rgba(&mut px);
        assert_eq!(
            px,
            [255, 255, 255, 255, 0, 0, 0, 255, 0, 255, 255, 255, 127, 63, 127, 255]
        );
    }

    #[test]
    fn decoder_errors_map_to_the_codes_that_name_them() {
        use jpeg_decoder::{Error as J, UnsupportedFeature};
        use png::DecodingError as P;
        let eof = || io::Error::from(io::ErrorKind::UnexpectedEof);
        let other = || io::Error::from(io::ErrorKind::InvalidData);
        let jpeg = [
            (J::Io(eof()), SelfieError::Truncated),
            (J::Io(other()), SelfieError::Corrupt),
            (
                J::Unsupported(UnsupportedFeature::ArithmeticEntropyCoding),
                SelfieError::UnsupportedFormat,
            ),
            (J::Format("bad marker".into()), SelfieError::Corrupt),
        ];
        for (e, want) in jpeg {
            let shown = format!("{e:?}");
            assert_eq!(map_jpeg_error(e), want, "{shown}");
        }
        let png = [
            (P::IoError(eof()), SelfieError::Truncated),
            (P::IoError(other()), SelfieError::Corrupt),
            (P::LimitsExceeded, SelfieError::TooManyPixels),
        ];
        for (e, want) in png {
            let shown = format!("{e:?}");
            assert_eq!(map_png_error(e), want, "{shown}");
        }
    }

    #[test]
    fn a_large_jpeg_is_decoded_at_the_smallest_dct_scale_that_covers_the_output() {
        let photo = include_bytes!("../../../tests/fixtures/photo_12mp.jpg");
        let d = decode_jpeg(photo, 4032, 3024, 1280).unwrap();
        // 1/2: 1/4 would give 1008 px, less than the 1280 asked for.
        assert_eq!((d.width, d.height), (2016, 1512));
        assert_eq!((d.full_width, d.full_height), (4032, 3024));
        assert_eq!(d.rgba.len(), 2016 * 1512 * 4);
    }
}
