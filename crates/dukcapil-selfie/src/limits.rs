//! Limits checked before any pixel buffer exists, in the manner of image-rs's `Limits`.

use crate::SelfieError;

/// Largest allowed [`SelfieLimits::max_pixels`] (about 128 MP; 512 MB as RGBA).
pub const MAX_MAX_PIXELS: u64 = 128_000_000;

/// What an input may claim before we spend memory on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelfieLimits {
    /// Largest accepted width × height (1..=128,000,000, default 50,000,000). Checked from a
    /// file's header before decoding, and for frames before anything is copied.
    pub max_pixels: u64,
}

impl Default for SelfieLimits {
    fn default() -> Self {
        SelfieLimits {
            max_pixels: 50_000_000,
        }
    }
}

impl SelfieLimits {
    /// [`SelfieError::TooManyPixels`] when `width × height` is above the limit.
    ///
    /// ```
    /// use dukcapil_selfie::{SelfieError, SelfieLimits};
    /// let limits = SelfieLimits::default();
    /// assert_eq!(limits.check_dimensions(8000, 6000), Ok(()));
    /// assert_eq!(limits.check_dimensions(30000, 30000), Err(SelfieError::TooManyPixels));
    /// ```
    pub fn check_dimensions(&self, width: u32, height: u32) -> Result<(), SelfieError> {
        if u64::from(width) * u64::from(height) > self.max_pixels {
            Err(SelfieError::TooManyPixels)
        } else {
            Ok(())
        }
    }
}
