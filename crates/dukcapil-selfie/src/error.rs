//! Typed errors with stable codes and end-user messages in both languages.

use core::fmt;
use dukcapil_core::Lang;

macro_rules! selfie_errors {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, id: $id:literal, en: $en:literal;)+) => {
        /// Why a selfie could not be prepared. The [`code`](SelfieError::code) never changes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum SelfieError { $($(#[$doc])* $variant,)+ }

        impl SelfieError {
            /// Every error, in catalogue order.
            pub const ALL: &'static [SelfieError] = &[$(SelfieError::$variant,)+];

            /// Every code string, in catalogue order (the README's table lists exactly these).
            pub const ALL_CODES: &'static [&'static str] = &[$($code,)+];

            /// The stable machine-readable code, e.g. `SELFIE_TOO_MANY_PIXELS`.
            pub const fn code(self) -> &'static str {
                match self { $(SelfieError::$variant => $code,)+ }
            }

            /// Reads an error back from its code.
            pub fn from_code(code: &str) -> Option<SelfieError> {
                match code { $($code => Some(SelfieError::$variant),)+ _ => None }
            }

            /// A message fit to show an end user.
            pub const fn message(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((SelfieError::$variant, Lang::Id) => $id,
                      (SelfieError::$variant, Lang::En) => $en,)+
                }
            }
        }
    };
}

selfie_errors! {
    /// The input has no bytes.
    Empty = "SELFIE_EMPTY",
        id: "File foto kosong. Pilih atau ambil foto lagi.",
        en: "The photo file is empty. Choose or take a photo again.";
    /// The file ends before the image is complete.
    Truncated = "SELFIE_TRUNCATED",
        id: "File foto tidak lengkap. Coba unggah ulang.",
        en: "The photo file is incomplete. Try uploading it again.";
    /// The file claims to be a JPEG or PNG but cannot be decoded.
    Corrupt = "SELFIE_CORRUPT",
        id: "File foto rusak dan tidak dapat dibaca.",
        en: "The photo file is damaged and cannot be read.";
    /// Not a JPEG, PNG or PDF (e.g. HEIC, WebP, AVIF, GIF), or a JPEG variant we do not decode.
    UnsupportedFormat = "SELFIE_UNSUPPORTED_FORMAT",
        id: "Format foto tidak didukung. Gunakan foto JPEG atau PNG.",
        en: "This photo format is not supported. Use a JPEG or PNG photo.";
    /// Width × height is above `max_pixels` (checked before decoding).
    TooManyPixels = "SELFIE_TOO_MANY_PIXELS",
        id: "Resolusi foto terlalu besar. Gunakan foto yang lebih kecil.",
        en: "The photo's resolution is too high. Use a smaller photo.";
    /// Even at the lowest quality and after downscaling, the JPEG stays above `max_bytes`.
    CannotFit = "SELFIE_CANNOT_FIT",
        id: "Foto tidak dapat diperkecil sampai batas ukuran. Coba foto lain.",
        en: "The photo could not be made small enough. Try another photo.";
    /// A PDF larger than `max_bytes` (PDFs are passed through, never recompressed).
    PdfTooLarge = "SELFIE_PDF_TOO_LARGE",
        id: "File PDF terlalu besar. Gunakan foto JPEG atau PNG.",
        en: "The PDF file is too large. Use a JPEG or PNG photo.";
    /// [`SelfieOptions`](crate::SelfieOptions) out of range: a programming error.
    InvalidOptions = "SELFIE_INVALID_OPTIONS",
        id: "Pengaturan pemrosesan foto tidak valid.",
        en: "The photo processing settings are not valid.";
    /// An RGBA frame whose size is zero or whose buffer length is not width × height × 4.
    InvalidFrame = "SELFIE_INVALID_FRAME",
        id: "Gambar dari kamera tidak valid. Coba ambil foto lagi.",
        en: "The camera image is not valid. Try taking the photo again.";
    /// The browser refused to load the file although nothing says it is damaged: the page's
    /// Content Security Policy blocks `blob:` images, and no other decoder was available.
    Blocked = "SELFIE_BLOCKED",
        id: "Kebijakan keamanan halaman ini memblokir pemuatan gambar, jadi foto tidak dapat dibaca.",
        en: "The page's security policy blocks image loading, so the photo cannot be read.";
    /// A cross-origin image, video or canvas (tainted): the browser forbids reading its pixels.
    CrossOrigin = "SELFIE_CROSS_ORIGIN",
        id: "Gambar berasal dari situs lain (cross-origin) sehingga pikselnya tidak dapat dibaca.",
        en: "The image comes from another origin (cross-origin, tainted), so its pixels cannot be read.";
    /// A resize or encode step failed although its inputs were checked: a bug.
    Internal = "SELFIE_INTERNAL",
        id: "Terjadi kesalahan saat memproses foto. Coba lagi.",
        en: "Something went wrong while processing the photo. Try again.";
    /// The source has no picture yet: a video not playing, or an image not loaded.
    NoFrame = "SELFIE_NO_FRAME",
        id: "Kamera belum menampilkan gambar. Tunggu sebentar lalu coba lagi.",
        en: "The camera has no picture yet. Wait a moment and try again.";
    /// The caller passed a kind of image source it does not handle (browser module: a JS
    /// value that is not a frame, canvas, image or file).
    SourceType = "SELFIE_SOURCE_TYPE",
        id: "Jenis sumber gambar ini tidak didukung.",
        en: "This kind of image source is not supported.";
    /// The quality gate: the centre of the photo is too dark (or mostly black).
    TooDark = "SELFIE_TOO_DARK",
        id: "Foto terlalu gelap. Pindah ke tempat yang lebih terang atau hadapkan wajah ke arah cahaya, lalu coba lagi.",
        en: "The photo is too dark. Move somewhere brighter or face the light, then try again.";
    /// The quality gate: the centre of the photo is too bright, or too much of it is blown
    /// out (a face in strong light, or a bright window behind it).
    TooBright = "SELFIE_TOO_BRIGHT",
        id: "Foto terlalu terang. Hindari cahaya kuat di wajah atau di belakang Anda (jendela, lampu), lalu coba lagi.",
        en: "The photo is too bright. Avoid strong light on your face or behind you (a window, a lamp), then try again.";
    /// The quality gate: the photo is out of focus or shaken.
    Blurry = "SELFIE_BLURRY",
        id: "Foto buram. Pegang kamera dengan stabil dan pastikan wajah Anda terlihat tajam.",
        en: "The photo is blurry. Hold the camera still and make sure your face is in focus.";
    /// The browser's face detector (where it has one) found no face.
    NoFace = "SELFIE_NO_FACE",
        id: "Wajah tidak ditemukan di foto. Pastikan seluruh wajah Anda ada di dalam bingkai.",
        en: "No face was found in the photo. Make sure your whole face is in the frame.";
    /// The browser's face detector (where it has one) found more than one face.
    MultipleFaces = "SELFIE_MULTIPLE_FACES",
        id: "Ada lebih dari satu wajah di foto. Pastikan hanya Anda yang ada di foto.",
        en: "There is more than one face in the photo. Make sure only you are in it.";
}

impl SelfieError {
    /// Whether this is a verdict of the quality gate (the photo was readable, but is unlikely
    /// to pass the upstream's face detection), rather than a problem with the input.
    pub const fn is_quality(self) -> bool {
        matches!(
            self,
            SelfieError::TooDark
                | SelfieError::TooBright
                | SelfieError::Blurry
                | SelfieError::NoFace
                | SelfieError::MultipleFaces
        )
    }
}

impl fmt::Display for SelfieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message(Lang::En))
    }
}

impl std::error::Error for SelfieError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_prefixed_and_translated() {
        assert_eq!(SelfieError::ALL.len(), SelfieError::ALL_CODES.len());
        for (i, e) in SelfieError::ALL.iter().enumerate() {
            let code = e.code();
            assert_eq!(SelfieError::ALL_CODES[i], code);
            assert!(code.starts_with("SELFIE_"), "{code}");
            assert!(code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
            assert_eq!(SelfieError::from_code(code), Some(*e));
            assert!(SelfieError::ALL_CODES[..i].iter().all(|c| *c != code));
            assert_ne!(e.message(Lang::Id), e.message(Lang::En), "{code}");
            assert!(e.to_string().starts_with(code));
        }
        assert_eq!(SelfieError::from_code("selfie_empty"), None);
    }

    #[test]
    fn quality_verdicts_are_told_from_input_problems() {
        use SelfieError as E;
        let quality = [
            E::TooDark,
            E::TooBright,
            E::Blurry,
            E::NoFace,
            E::MultipleFaces,
        ];
        for e in SelfieError::ALL {
            assert_eq!(e.is_quality(), quality.contains(e), "{}", e.code());
        }
    }
}
