//! Hard limits on what the decoders will accept, checked from headers before any large
//! allocation.

/// Decoding limits. The defaults suit uploads to a social platform; a hotline scanning seized
/// media may raise them. `0` is not "unlimited": every limit is a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest file, in bytes, that is decoded for PDQ (default 256 MiB). Larger files are still
    /// digested.
    pub max_input_bytes: u64,
    /// Most pixels (width × height) an image may claim (default 100 million).
    pub max_pixels: u64,
    /// Longest side, in pixels (default 65,535).
    pub max_side: u32,
}

impl Limits {
    /// The default input limit: 256 MiB.
    pub const DEFAULT_MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;
    /// The default pixel limit: 100 Mpx.
    pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;
    /// The default side limit.
    pub const DEFAULT_MAX_SIDE: u32 = 65_535;

    /// Checks claimed dimensions against the limits.
    pub fn check(&self, width: u64, height: u64) -> Result<(), crate::DecodeError> {
        if width == 0 || height == 0 {
            return Err(crate::DecodeError::Corrupt {
                detail: format!("the header claims an empty image ({width}×{height})"),
            });
        }
        if width > u64::from(self.max_side) || height > u64::from(self.max_side) {
            return Err(crate::DecodeError::SideTooLong { width, height, limit: self.max_side });
        }
        if width.saturating_mul(height) > self.max_pixels {
            return Err(crate::DecodeError::TooManyPixels { width, height, limit: self.max_pixels });
        }
        Ok(())
    }

    /// Bytes a decoder may allocate for an image within the limits (RGBA at 16 bits, plus
    /// slack), handed to decoders that take an allocation limit.
    pub fn max_alloc(&self) -> u64 {
        self.max_pixels.saturating_mul(8).saturating_add(64 * 1024 * 1024)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: Self::DEFAULT_MAX_INPUT_BYTES,
            max_pixels: Self::DEFAULT_MAX_PIXELS,
            max_side: Self::DEFAULT_MAX_SIDE,
        }
    }
}
