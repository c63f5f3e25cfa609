//! MD5, SHA-1 and SHA-256 of the same bytes, in one pass over them.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The three cryptographic digests that known-hash lists carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digests {
    /// MD5 (NCMEC, Project VIC and most legacy lists).
    pub md5: [u8; 16],
    /// SHA-1.
    pub sha1: [u8; 20],
    /// SHA-256.
    pub sha256: [u8; 32],
}

impl Digests {
    /// Lower-case hex of the MD5.
    pub fn md5_hex(&self) -> String {
        hex(&self.md5)
    }
    /// Lower-case hex of the SHA-1.
    pub fn sha1_hex(&self) -> String {
        hex(&self.sha1)
    }
    /// Lower-case hex of the SHA-256.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }
}

/// Lower-case hex of any bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Feeds the same bytes to all three digests, a block at a time, so that each block is read
/// from memory once while it is still in cache. Use it to hash a stream; [`digests`] hashes a
/// buffer.
#[derive(Clone, Default)]
pub struct DigestHasher {
    md5: Md5,
    sha1: Sha1,
    sha256: Sha256,
    len: u64,
}

/// Bytes fed to the three digests before moving on: small enough to stay in L1/L2.
const BLOCK: usize = 16 * 1024;

impl DigestHasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        for block in bytes.chunks(BLOCK) {
            md5::Digest::update(&mut self.md5, block);
            self.sha1.update(block);
            self.sha256.update(block);
        }
        self.len += bytes.len() as u64;
    }

    /// Bytes seen so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True before any byte was added.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digests of everything added.
    pub fn finish(self) -> Digests {
        Digests {
            md5: md5::Digest::finalize(self.md5).into(),
            sha1: self.sha1.finalize().into(),
            sha256: self.sha256.finalize().into(),
        }
    }
}

/// The three digests of `bytes`.
pub fn digests(bytes: &[u8]) -> Digests {
    let mut h = DigestHasher::new();
    h.update(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let d = digests(b"abc");
        assert_eq!(d.md5_hex(), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(d.sha1_hex(), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(d.sha256_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let e = digests(b"");
        assert_eq!(e.md5_hex(), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn streaming_in_odd_pieces_equals_one_buffer() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut h = DigestHasher::new();
        for piece in data.chunks(7919) {
            h.update(piece);
        }
        assert_eq!(h.len(), data.len() as u64);
        assert_eq!(h.finish(), digests(&data));
    }
}
