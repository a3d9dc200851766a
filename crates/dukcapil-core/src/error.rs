//! One catalogue of every error code that crosses a boundary: the browser module, the proxy
//! and the upstream all speak these codes, so each has one meaning and one pair of messages.

use crate::Lang;
use core::fmt;

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $http:literal, $retry:literal, $upstream:literal,
        id: $id:literal, en: $en:literal;)+) => {
        /// A stable, machine-readable error code. The string form never changes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode { $($variant,)+ }

        impl ErrorCode {
            /// Every code, in catalogue order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The stable string, e.g. `NIK_LENGTH`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)+ }
            }

            /// Reads a code from its stable string.
            pub fn from_code(code: &str) -> Option<ErrorCode> {
                match code { $($code => Some(ErrorCode::$variant),)+ _ => None }
            }

            /// The HTTP status the proxy answers with for this code.
            pub const fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $http,)+ }
            }

            /// Whether sending the same request again later may succeed.
            pub const fn retryable(self) -> bool {
                match self { $(ErrorCode::$variant => $retry,)+ }
            }

            /// Whether an answer (or the silence) of the upstream can cause this code. The
            /// proxy passes on no other code from the upstream.
            pub const fn upstream(self) -> bool {
                match self { $(ErrorCode::$variant => $upstream,)+ }
            }

            /// A message fit to show an end user, with no personal data in it.
            pub const fn message(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((ErrorCode::$variant, Lang::Id) => $id,
                      (ErrorCode::$variant, Lang::En) => $en,)+
                }
            }
        }
    };
}

// code, HTTP status, retry helps, the upstream can cause it, messages.
error_codes! {
    NikEmpty = "NIK_EMPTY", 400, false, false,
        id: "NIK wajib diisi.", en: "NIK is required.";
    NikLength = "NIK_LENGTH", 400, false, false,
        id: "NIK harus 16 digit.", en: "NIK must have 16 digits.";
    NikNotDigits = "NIK_NOT_DIGITS", 400, false, false,
        id: "NIK hanya boleh berisi angka 0–9.", en: "NIK may contain only the digits 0–9.";
    NikProvince = "NIK_PROVINCE", 400, false, false,
        id: "Kode provinsi pada NIK tidak dikenal.", en: "The province code in the NIK does not exist.";
    NikRegency = "NIK_REGENCY", 400, false, false,
        id: "Kode kabupaten/kota pada NIK tidak valid.", en: "The regency/city code in the NIK is not valid.";
    NikDistrict = "NIK_DISTRICT", 400, false, false,
        id: "Kode kecamatan pada NIK tidak valid.", en: "The district code in the NIK is not valid.";
    NikBirthDate = "NIK_BIRTH_DATE", 400, false, false,
        id: "Tanggal lahir pada NIK tidak valid.", en: "The birth date in the NIK is not valid.";
    NikSerial = "NIK_SERIAL", 400, false, false,
        id: "Nomor urut pada NIK tidak boleh 0000.", en: "The serial number in the NIK cannot be 0000.";
    ImageMissing = "IMAGE_MISSING", 400, false, true,
        id: "Foto selfie belum ada.", en: "The selfie is missing.";
    ImageBase64 = "IMAGE_BASE64", 400, false, false,
        id: "Data foto rusak (base64 tidak valid).", en: "The photo data is corrupt (invalid base64).";
    ImageTooLarge = "IMAGE_TOO_LARGE", 413, false, true,
        id: "Ukuran foto melebihi 2 MB.", en: "The photo is larger than 2 MB.";
    ImageType = "IMAGE_TYPE", 415, false, true,
        id: "Format foto harus JPEG, PNG, atau PDF.", en: "The photo must be a JPEG, PNG or PDF.";
    RequestInvalid = "REQUEST_INVALID", 400, false, false,
        id: "Permintaan tidak valid.", en: "The request is not valid.";
    TransactionIdInvalid = "TRANSACTION_ID_INVALID", 400, false, false,
        id: "ID transaksi tidak valid.", en: "The transaction ID is not valid.";
    TransactionInProgress = "TRANSACTION_IN_PROGRESS", 409, true, false,
        id: "Verifikasi untuk transaksi ini sedang berjalan. Tunggu sebentar lalu coba lagi.", en: "A verification for this transaction is in progress. Wait a moment and try again.";
    TransactionAttemptsExhausted = "TRANSACTION_ATTEMPTS_EXHAUSTED", 409, false, false,
        id: "Batas percobaan untuk transaksi ini sudah habis. Mulai transaksi baru.", en: "This transaction has used all its attempts. Start a new transaction.";
    TransactionForbidden = "TRANSACTION_FORBIDDEN", 403, false, false,
        id: "Transaksi ini milik sesi lain.", en: "This transaction belongs to another session.";
    TransactionNotFound = "TRANSACTION_NOT_FOUND", 404, false, false,
        id: "Transaksi tidak ditemukan (tidak pernah ada atau sudah dihapus).", en: "The transaction is unknown (it never existed or was deleted).";
    LedgerUnavailable = "LEDGER_UNAVAILABLE", 503, true, false,
        id: "Layanan verifikasi sementara tidak tersedia. Coba lagi sebentar lagi.", en: "The verification service is temporarily unavailable. Try again shortly.";
    Forbidden = "FORBIDDEN", 403, false, false,
        id: "Token ini tidak diizinkan untuk permintaan ini.", en: "This token is not allowed to make this request.";
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", 413, false, false,
        id: "Permintaan terlalu besar.", en: "The request is too large.";
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", 415, false, false,
        id: "Jenis konten permintaan tidak didukung.", en: "The request content type is not supported.";
    MethodNotAllowed = "METHOD_NOT_ALLOWED", 405, false, false,
        id: "Metode tidak diizinkan.", en: "Method not allowed.";
    NotFound = "NOT_FOUND", 404, false, false,
        id: "Alamat tidak ditemukan.", en: "Not found.";
    OriginNotAllowed = "ORIGIN_NOT_ALLOWED", 403, false, false,
        id: "Situs ini tidak diizinkan memakai layanan verifikasi.", en: "This site is not allowed to use the verification service.";
    Unauthorized = "UNAUTHORIZED", 401, false, false,
        id: "Sesi verifikasi tidak sah atau sudah kedaluwarsa. Muat ulang halaman.", en: "The verification session is invalid or has expired. Reload the page.";
    RateLimited = "RATE_LIMITED", 429, true, false,
        id: "Terlalu banyak percobaan. Tunggu sebentar lalu coba lagi.", en: "Too many attempts. Wait a moment and try again.";
    NikInvalid = "NIK_INVALID", 422, false, true,
        id: "NIK ditolak oleh Dukcapil.", en: "Dukcapil rejected the NIK.";
    FaceNotDetected = "FACE_NOT_DETECTED", 422, false, true,
        id: "Wajah tidak terdeteksi. Ambil foto lagi dengan wajah terlihat jelas.", en: "No face was detected. Take another photo with your face clearly visible.";
    MultipleFaces = "MULTIPLE_FACES", 422, false, true,
        id: "Terdeteksi lebih dari satu wajah. Pastikan hanya Anda di dalam foto.", en: "More than one face was detected. Make sure only you are in the photo.";
    ProxyUpstreamCredentials = "PROXY_UPSTREAM_CREDENTIALS", 502, false, true,
        id: "Layanan verifikasi sedang bermasalah.", en: "The verification service has a problem.";
    ProxyMisconfigured = "PROXY_MISCONFIGURED", 500, false, false,
        id: "Layanan verifikasi belum dikonfigurasi.", en: "The verification service is not configured.";
    UpstreamRateLimited = "UPSTREAM_RATE_LIMITED", 429, true, true,
        id: "Layanan verifikasi sedang sibuk. Coba lagi sebentar lagi.", en: "The verification service is busy. Try again shortly.";
    UpstreamBusy = "UPSTREAM_BUSY", 503, true, true,
        id: "Layanan Dukcapil sedang sibuk. Coba lagi sebentar lagi.", en: "The Dukcapil service is busy. Try again shortly.";
    UpstreamTimeout = "UPSTREAM_TIMEOUT", 504, true, true,
        id: "Layanan verifikasi tidak menjawab tepat waktu. Coba lagi.", en: "The verification service did not answer in time. Try again.";
    UpstreamError = "UPSTREAM_ERROR", 502, true, true,
        id: "Layanan verifikasi mengalami gangguan. Coba lagi.", en: "The verification service failed. Try again.";
    UpstreamRejected = "UPSTREAM_REJECTED", 422, false, true,
        id: "Layanan verifikasi menolak permintaan ini. Mencoba lagi tidak akan membantu.", en: "The verification service refused this request. Trying again will not help.";
    Network = "NETWORK", 0, true, false,
        id: "Tidak dapat terhubung. Periksa koneksi internet Anda.", en: "Could not connect. Check your internet connection.";
    Timeout = "TIMEOUT", 0, true, false,
        id: "Waktu habis. Coba lagi.", en: "The request timed out. Try again.";
    Aborted = "ABORTED", 0, false, false,
        id: "Verifikasi dibatalkan.", en: "Verification was cancelled.";
    SandboxNotAllowed = "SANDBOX_NOT_ALLOWED", 0, false, false,
        id: "Layanan verifikasi berjalan dalam mode uji (sandbox): hasilnya simulasi, bukan verifikasi sungguhan.", en: "The verification service answered from its sandbox: the result is simulated, not a real verification.";
    BadRequest = "BAD_REQUEST", 400, false, false,
        id: "Permintaan ditolak.", en: "The request was rejected.";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_upper_snake_and_round_trip() {
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            let s = code.as_str();
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{s}"
            );
            assert_eq!(ErrorCode::from_code(s), Some(*code));
            assert!(
                ErrorCode::ALL[..i].iter().all(|c| c.as_str() != s),
                "duplicate {s}"
            );
            assert!(!code.message(Lang::Id).is_empty() && !code.message(Lang::En).is_empty());
            assert_ne!(
                code.message(Lang::Id),
                code.message(Lang::En),
                "{s} is untranslated"
            );
        }
        assert_eq!(ErrorCode::from_code("nik_length"), None);
        assert_eq!(ErrorCode::NikLength.to_string(), "NIK_LENGTH");
    }
}
