//! Why an image could not be hashed with PDQ.

/// Why an image was not decoded. Every message is a sentence an operator can act on; none
/// contains pixel data, file names or hash values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The file is larger than `max_input_bytes`.
    #[error("the image file is {bytes} bytes, over the {limit}-byte decoding limit (raise limits.max_input_bytes to hash it)")]
    InputTooLarge {
        /// Size of the file.
        bytes: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The header claims more pixels than `max_pixels`.
    #[error("the image claims {width}×{height} pixels, over the {limit}-pixel limit (a decompression bomb, or raise limits.max_pixels)")]
    TooManyPixels {
        /// Claimed width.
        width: u64,
        /// Claimed height.
        height: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The header claims a side longer than `max_side`.
    #[error("the image claims {width}×{height} pixels, a side over the {limit}-pixel limit (raise limits.max_side to hash it)")]
    SideTooLong {
        /// Claimed width.
        width: u64,
        /// Claimed height.
        height: u64,
        /// The limit in force.
        limit: u32,
    },
    /// The data ends before the image does.
    #[error("the {format} image is truncated: the file ends before the image data does")]
    Truncated {
        /// Format name.
        format: &'static str,
    },
    /// The data is damaged or not what its header says.
    #[error("the image is damaged and cannot be decoded: {detail}")]
    Corrupt {
        /// What the decoder said.
        detail: String,
    },
    /// A valid image of a kind the decoders do not handle.
    #[error("the {format} image uses a feature hashline cannot decode: {detail}")]
    Unsupported {
        /// Format name.
        format: &'static str,
        /// What is unsupported.
        detail: String,
    },
}

impl DecodeError {
    /// A short, stable name for counting errors by kind (metrics labels, summaries).
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::InputTooLarge { .. } => "input_too_large",
            DecodeError::TooManyPixels { .. } => "too_many_pixels",
            DecodeError::SideTooLong { .. } => "side_too_long",
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::Corrupt { .. } => "corrupt",
            DecodeError::Unsupported { .. } => "unsupported",
        }
    }
}
