//! Is a keyframe packet a *clean* random-access point — nothing after it refers to a frame
//! before it? The container's keyframe flag alone does not say: an H.264 I-frame that is not
//! an IDR lets later frames refer past it. Pure byte inspection, bounded by the packet's
//! length (fuzzed with the other decoder input through `video_wire`'s neighbour tests).

/// The codecs whose keyframes can be told clean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// H.264: clean when every picture slice in the packet is an IDR slice (NAL type 5).
    H264,
    /// HEVC: clean when every picture slice is IDR (NAL types 19, 20); CRA and BLA are not
    /// (their leading pictures may refer to the previous group).
    Hevc,
    /// VP8 and VP9: a keyframe resets every reference.
    Vpx,
}

/// How NAL units are delimited in the packets, from the codec's extradata: `avcC`/`hvcC`
/// length prefixes (of 1, 2 or 4 bytes) or Annex B start codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Each NAL unit is preceded by its length in this many bytes.
    Length(usize),
    /// NAL units follow `00 00 01` start codes.
    AnnexB,
}

impl Framing {
    /// Reads the framing from the codec's extradata.
    pub fn from_extradata(codec: Codec, extradata: &[u8]) -> Framing {
        let size = match codec {
            Codec::H264 if extradata.len() >= 7 && extradata[0] == 1 => {
                Some(usize::from(extradata[4] & 3) + 1)
            }
            Codec::Hevc if extradata.len() >= 23 && extradata[0] == 1 => {
                Some(usize::from(extradata[21] & 3) + 1)
            }
            _ => None,
        };
        match size {
            Some(3) | None => Framing::AnnexB, // 3-byte lengths are not allowed
            Some(n) => Framing::Length(n),
        }
    }
}

/// Whether a packet the container flags as a keyframe is a clean random-access point.
pub fn clean_keyframe(codec: Codec, framing: Framing, packet: &[u8]) -> bool {
    let vcl = |header: u8| -> Option<bool> {
        match codec {
            Codec::H264 => {
                let t = header & 0x1f;
                (1..=5).contains(&t).then_some(t == 5)
            }
            Codec::Hevc => {
                let t = (header >> 1) & 0x3f;
                (t < 32).then_some(t == 19 || t == 20)
            }
            Codec::Vpx => None,
        }
    };
    if codec == Codec::Vpx {
        return true;
    }
    let mut slices = 0usize;
    let mut all_idr = true;
    for nal in nal_units(framing, packet) {
        if let Some(idr) = nal.first().and_then(|h| vcl(*h)) {
            slices += 1;
            all_idr &= idr;
        }
    }
    slices > 0 && all_idr
}

/// The NAL units of a packet (possibly empty ones; a malformed length ends the walk).
fn nal_units(framing: Framing, data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    match framing {
        Framing::Length(n) => {
            let mut rest = data;
            while rest.len() > n {
                let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
                rest = &rest[n..];
                if len > rest.len() {
                    break;
                }
                out.push(&rest[..len]);
                rest = &rest[len..];
            }
        }
        Framing::AnnexB => {
            let mut starts = Vec::new();
            let mut i = 0;
            while i + 2 < data.len() {
                if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
                    starts.push(i + 3);
                    i += 3;
                } else {
                    i += 1;
                }
            }
            for (k, &s) in starts.iter().enumerate() {
                let end = starts.get(k + 1).map_or(data.len(), |next| next - 3);
                out.push(&data[s..end.max(s)]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avcc(nals: &[&[u8]]) -> Vec<u8> {
        nals.iter()
            .flat_map(|n| (n.len() as u32).to_be_bytes().into_iter().chain(n.iter().copied()))
            .collect()
    }

    #[test]
    fn h264_idr_is_clean_and_a_plain_i_frame_is_not() {
        let f = Framing::from_extradata(Codec::H264, &[1, 0x64, 0, 0x1f, 0xff, 0xe1, 0]);
        assert_eq!(f, Framing::Length(4));
        // SPS, PPS, SEI, IDR slice
        assert!(clean_keyframe(Codec::H264, f, &avcc(&[&[0x67, 1], &[0x68, 1], &[0x06, 1], &[0x65, 0x88]])));
        // SEI + non-IDR slice (an I-frame with a recovery point)
        assert!(!clean_keyframe(Codec::H264, f, &avcc(&[&[0x06, 1], &[0x41, 0x9a]])));
        assert!(!clean_keyframe(Codec::H264, f, &avcc(&[&[0x67, 1]])), "no slice at all");
        assert!(!clean_keyframe(Codec::H264, f, &[0, 0, 0, 200, 0x65]), "a length past the end");
        let annexb = [0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x65, 0x88, 0, 0, 1, 0x65, 0x11];
        assert!(clean_keyframe(Codec::H264, Framing::AnnexB, &annexb));
        assert_eq!(Framing::from_extradata(Codec::H264, &[]), Framing::AnnexB);
    }

    #[test]
    fn hevc_idr_is_clean_and_cra_is_not() {
        let f = Framing::Length(4);
        let idr_w_radl = [19 << 1, 1];
        let cra = [21 << 1, 1];
        let vps = [32 << 1, 1];
        assert!(clean_keyframe(Codec::Hevc, f, &avcc(&[&vps, &idr_w_radl])));
        assert!(!clean_keyframe(Codec::Hevc, f, &avcc(&[&vps, &cra])));
    }

    #[test]
    fn any_bytes_are_walked_without_panic() {
        for len in 0..64usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            for framing in [Framing::Length(1), Framing::Length(2), Framing::Length(4), Framing::AnnexB] {
                let _ = clean_keyframe(Codec::H264, framing, &data);
                let _ = clean_keyframe(Codec::Hevc, framing, &data);
            }
        }
    }
}
