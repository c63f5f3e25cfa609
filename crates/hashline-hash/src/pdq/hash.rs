//! The 256-bit PDQ hash value: hex form, bits and Hamming distance.

use std::fmt;
use std::str::FromStr;

/// A 256-bit PDQ hash.
///
/// Bit `k` (0..256) is the DCT coefficient at row `k / 16`, column `k % 16` of the 16×16
/// low-frequency block. The hex form is the reference's: the 256-bit number with bit 255 first,
/// 64 lower-case hex digits. Internally the value is four 64-bit words, most significant first,
/// so that Hamming distance is four `popcount`s.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PdqHash(pub [u64; 4]);

/// What is wrong with a PDQ hex string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PdqParseError {
    /// The string is not 64 characters long.
    #[error("a PDQ hash is 64 hex digits, this one has {0} characters")]
    Length(usize),
    /// The string holds a character that is not a hex digit.
    #[error("a PDQ hash is hex digits only, found {0:?}")]
    NotHex(char),
}

impl PdqHash {
    /// The all-zero hash, which the reference gives to images under 5 pixels on a side.
    pub const ZERO: PdqHash = PdqHash([0; 4]);

    /// Sets bit `k` (0..256).
    #[inline]
    pub fn set_bit(&mut self, k: usize) {
        debug_assert!(k < 256);
        self.0[3 - k / 64] |= 1u64 << (k % 64);
    }

    /// Returns bit `k` (0..256).
    #[inline]
    pub fn bit(&self, k: usize) -> bool {
        (self.0[3 - k / 64] >> (k % 64)) & 1 == 1
    }

    /// Number of bits in which the two hashes differ (0..=256).
    #[inline]
    pub fn distance(&self, other: &PdqHash) -> u32 {
        (self.0[0] ^ other.0[0]).count_ones()
            + (self.0[1] ^ other.0[1]).count_ones()
            + (self.0[2] ^ other.0[2]).count_ones()
            + (self.0[3] ^ other.0[3]).count_ones()
    }

    /// The 32 bytes, most significant first (the hex form, decoded).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Builds a hash from 32 bytes, most significant first.
    pub fn from_bytes(bytes: [u8; 32]) -> PdqHash {
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *word = u64::from_be_bytes(b);
        }
        PdqHash(words)
    }

    /// The 64-digit lower-case hex form.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for w in self.0 {
            write!(f, "{w:016x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({self})")
    }
}

impl FromStr for PdqHash {
    type Err = PdqParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() != 64 {
            return Err(PdqParseError::Length(s.chars().count()));
        }
        if let Some(c) = s.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(PdqParseError::NotHex(c));
        }
        let mut words = [0u64; 4];
        for (i, word) in words.iter_mut().enumerate() {
            let part = &s[i * 16..(i + 1) * 16];
            *word = u64::from_str_radix(part, 16).map_err(|_| PdqParseError::NotHex('?'))?;
        }
        Ok(PdqHash(words))
    }
}

impl serde::Serialize for PdqHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PdqHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_bit_order() {
        let mut h = PdqHash::ZERO;
        h.set_bit(0);
        assert_eq!(h.to_hex(), format!("{}1", "0".repeat(63)));
        h.set_bit(255);
        assert_eq!(&h.to_hex()[..1], "8");
        assert!(h.bit(0) && h.bit(255) && !h.bit(1));
        let parsed: PdqHash = h.to_hex().parse().unwrap();
        assert_eq!(parsed, h);
        assert_eq!(PdqHash::from_bytes(h.to_bytes()), h);
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        assert_eq!("abc".parse::<PdqHash>(), Err(PdqParseError::Length(3)));
        let bad = format!("{}g", "0".repeat(63));
        assert_eq!(bad.parse::<PdqHash>(), Err(PdqParseError::NotHex('g')));
    }

    #[test]
    fn distance_counts_differing_bits() {
        let a = PdqHash::ZERO;
        let b = PdqHash([u64::MAX; 4]);
        assert_eq!(a.distance(&b), 256);
        assert_eq!(b.distance(&b), 0);
    }
}
