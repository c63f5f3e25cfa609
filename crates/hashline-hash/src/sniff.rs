//! What a file is, from its first bytes (never from its name).

/// Image formats hashline decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// JPEG (baseline, progressive, greyscale, CMYK/YCCK).
    Jpeg,
    /// PNG (all bit depths and colour types).
    Png,
    /// GIF (first frame).
    Gif,
    /// WebP (lossy and lossless; first frame).
    Webp,
    /// Windows bitmap.
    Bmp,
    /// TIFF (first page).
    Tiff,
}

impl ImageFormat {
    /// The lower-case name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Gif => "gif",
            ImageFormat::Webp => "webp",
            ImageFormat::Bmp => "bmp",
            ImageFormat::Tiff => "tiff",
        }
    }

    /// The upper-case name used in sentences.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::Gif => "GIF",
            ImageFormat::Webp => "WebP",
            ImageFormat::Bmp => "BMP",
            ImageFormat::Tiff => "TIFF",
        }
    }
}

/// What the first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// An image hashline can decode and hash with PDQ.
    Image(ImageFormat),
    /// Anything else; the text says what it looks like (for the `skipped` reason).
    Other(&'static str),
}

/// How many leading bytes [`sniff`] needs at most.
pub const SNIFF_LEN: usize = 512;

/// Whether the first bytes are those of a video container hashline hashes with vPDQ (MP4,
/// QuickTime, 3GP, Matroska/WebM, AVI, FLV, MPEG-PS/TS, ASF/WMV).
pub fn is_video(head: &[u8]) -> bool {
    matches!(
        sniff(head),
        Sniffed::Other(
            "not an image: QuickTime video"
                | "not an image: 3GP video"
                | "not an image: MP4 video"
                | "not an image: AVI video"
                | "not an image: Matroska/WebM video"
                | "not an image: Flash video"
                | "not an image: MPEG video"
                | "not an image: MPEG transport stream"
                | "not an image: Windows Media video"
        )
    )
}

/// Identifies a file by its magic numbers.
pub fn sniff(head: &[u8]) -> Sniffed {
    use ImageFormat::*;
    use Sniffed::{Image, Other};
    let starts = |m: &[u8]| head.starts_with(m);
    let at = |off: usize, m: &[u8]| head.len() >= off + m.len() && &head[off..off + m.len()] == m;
    if head.is_empty() {
        return Other("empty file");
    }
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Image(Jpeg);
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Image(Png);
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Image(Gif);
    }
    if starts(b"RIFF") && at(8, b"WEBP") {
        return Image(Webp);
    }
    if starts(b"BM") && head.len() >= 18 {
        // The DIB header size (offset 14) is one of a handful of values in real bitmaps.
        let dib = u32::from_le_bytes([head[14], head[15], head[16], head[17]]);
        if matches!(dib, 12 | 40 | 52 | 56 | 64 | 108 | 124) {
            return Image(Bmp);
        }
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Image(Tiff);
    }
    if at(4, b"ftyp") {
        let brand = head.get(8..12).unwrap_or_default();
        return Other(match brand {
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => {
                "not a supported image: HEIF/HEIC"
            }
            b"avif" | b"avis" => "not a supported image: AVIF",
            b"qt  " => "not an image: QuickTime video",
            b"M4A " | b"M4B " => "not an image: MPEG-4 audio",
            b"3gp4" | b"3gp5" | b"3gp6" | b"3g2a" => "not an image: 3GP video",
            _ => "not an image: MP4 video",
        });
    }
    if starts(b"RIFF") && at(8, b"AVI ") {
        return Other("not an image: AVI video");
    }
    if starts(b"RIFF") && at(8, b"WAVE") {
        return Other("not an image: WAV audio");
    }
    if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Other("not an image: Matroska/WebM video");
    }
    if starts(b"FLV\x01") {
        return Other("not an image: Flash video");
    }
    if starts(&[0x00, 0x00, 0x01, 0xBA]) || starts(&[0x00, 0x00, 0x01, 0xB3]) {
        return Other("not an image: MPEG video");
    }
    if head.len() >= 189 && head[0] == 0x47 && head[188] == 0x47 {
        return Other("not an image: MPEG transport stream");
    }
    if starts(&[0x30, 0x26, 0xB2, 0x75]) {
        return Other("not an image: Windows Media video");
    }
    if starts(b"OggS") {
        return Other("not an image: Ogg media");
    }
    if starts(b"ID3") || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0) {
        return Other("not an image: MP3 audio");
    }
    if starts(b"%PDF") {
        return Other("not an image: PDF document");
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        return Other("not an image: ZIP archive");
    }
    if starts(&[0x1F, 0x8B]) {
        return Other("not an image: gzip archive");
    }
    if starts(b"7z\xBC\xAF\x27\x1C") {
        return Other("not an image: 7-Zip archive");
    }
    if starts(b"Rar!\x1A\x07") {
        return Other("not an image: RAR archive");
    }
    if starts(b"8BPS") {
        return Other("not a supported image: Photoshop document");
    }
    if starts(&[0x00, 0x00, 0x01, 0x00]) {
        return Other("not a supported image: Windows icon");
    }
    if starts(&[0xFF, 0x0A]) || at(4, b"jP  ") || at(4, b"JXL ") {
        return Other("not a supported image: JPEG XL/JPEG 2000");
    }
    if looks_like_text(head) {
        let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
        if lower.windows(4).any(|w| w == b"<svg") {
            return Other("not a supported image: SVG");
        }
        return Other("not an image: text");
    }
    Other("not an image: unrecognised data")
}

fn looks_like_text(head: &[u8]) -> bool {
    // Valid UTF-8 (a multi-byte character cut off at the end of the window is fine) with no
    // control characters but the usual white space.
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    utf8 && head.iter().all(|&b| b >= 0x20 && b != 0x7F || matches!(b, b'\n' | b'\r' | b'\t' | 0x0C))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_by_magic() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Sniffed::Image(ImageFormat::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nxxxx"), Sniffed::Image(ImageFormat::Png));
        assert_eq!(sniff(b"GIF89a.."), Sniffed::Image(ImageFormat::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Sniffed::Image(ImageFormat::Webp));
        assert_eq!(sniff(b"II*\0\x08\0\0\0"), Sniffed::Image(ImageFormat::Tiff));
    }

    #[test]
    fn other_media_is_named() {
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0"), Sniffed::Other("not an image: MP4 video"));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0"), Sniffed::Other("not a supported image: HEIF/HEIC"));
        assert_eq!(sniff(b""), Sniffed::Other("empty file"));
        assert_eq!(sniff(b"hello world\n"), Sniffed::Other("not an image: text"));
        assert_eq!(sniff(&[0x00, 0x01, 0x02, 0x9f, 0x00]), Sniffed::Other("not an image: unrecognised data"));
    }
}
