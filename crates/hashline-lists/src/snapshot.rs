//! The binary snapshot of one list version's index: `lists/NAME/vN.snap`, written when the
//! version is imported (or by the first instance that needs it), checked when read, and read
//! in large sequential blocks straight into the index's tables — no parsing, no index build.
//! The JSON-lines version file (`vN.hll`) stays the source of truth: a snapshot that is
//! missing, of another format, stale (made from other bytes than the version file now holds),
//! truncated or edited is ignored and rebuilt from it.
//!
//! Layout (little-endian): the magic `HLSNAP` + format (2 bytes), the header length (u64), the
//! header (JSON: list, version, the version file's length and entries SHA-256, the manifest,
//! the table sizes), then each table as its byte length (u64), its bytes and zero padding to 8
//! bytes, then the CRC-32 of everything before it (u32), four zero bytes and `HLSNAPOK`. The
//! file's length follows from the header, so a truncated file is refused before any table is
//! allocated, and every table is checked (sorted digests, a well-formed multi-index, string
//! offsets, classification numbers) so that even a crafted file with a valid CRC cannot make a
//! query read out of bounds.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{Classification, Manifest};
use crate::part::{Columns, Part, Strings};
use crate::pdq_index::PdqIndex;

const MAGIC: &[u8; 8] = b"HLSNAP\x00\x01";
const END: &[u8; 8] = b"HLSNAPOK";
/// Headers are small (a manifest and a few numbers); a larger one is not a snapshot.
const MAX_HEADER: u64 = 1 << 20;
/// Reads and writes move this much at a time.
const BLOCK: usize = 64 << 20;

/// What the snapshot was made from and what it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    list: String,
    version: u64,
    /// Length of `vN.hll` in bytes.
    source_len: u64,
    manifest: Manifest,
    md5: u64,
    sha1: u64,
    sha256: u64,
    pdq: u64,
    /// Chunks of the PDQ multi-index (0 when it has no entry).
    pdq_chunks: u64,
    vpdq: u64,
    vpdq_bytes: u64,
    /// Bytes of stored ids (`None`: every id is the default).
    ids_bytes: Option<u64>,
    classes: Option<Vec<Classification>>,
}

/// The version file a snapshot must have been made from.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub manifest: Manifest,
    pub len: u64,
}

/// Where a version's snapshot lives.
pub(crate) fn path(dir: &Path, version: u64) -> PathBuf {
    dir.join(format!("v{version}.snap"))
}

fn pad(len: u64) -> u64 {
    (8 - len % 8) % 8
}

/// Writes with a running CRC.
struct Out<W: Write> {
    w: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Out<W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        for block in bytes.chunks(BLOCK) {
            self.crc.update(block);
            self.w.write_all(block)?;
        }
        Ok(())
    }

    fn table(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let len = bytes.len() as u64;
        self.put(&len.to_le_bytes())?;
        self.put(bytes)?;
        self.put(&[0u8; 8][..pad(len) as usize])
    }
}

/// Writes the part's snapshot to `dest` atomically (a temporary file beside it, owner-only,
/// synced, renamed).
pub(crate) fn write(dest: &Path, source: &Source, part: &Part) -> std::io::Result<()> {
    if cfg!(target_endian = "big") {
        return Err(std::io::Error::other("snapshots are little-endian; this machine is not"));
    }
    let c = &part.cols;
    let (chunks, hashes, offsets, ids) = part.pdq.tables();
    let header = Header {
        list: source.manifest.name.clone(),
        version: source.manifest.version,
        source_len: source.len,
        manifest: source.manifest.clone(),
        md5: c.md5.len() as u64,
        sha1: c.sha1.len() as u64,
        sha256: c.sha256.len() as u64,
        pdq: hashes.len() as u64,
        pdq_chunks: if hashes.is_empty() { 0 } else { chunks as u64 },
        vpdq: c.vpdq.len() as u64,
        vpdq_bytes: c.vpdq.bytes.len() as u64,
        ids_bytes: c.ids.as_ref().map(|s| s.bytes.len() as u64),
        classes: c.classes.as_ref().map(|(t, _)| t.clone()),
    };
    let head = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    // Unique per writer even across containers that share the volume (each may be pid 1).
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    name.push(format!(".tmp{}-{nanos}", std::process::id()));
    let tmp = dest.with_file_name(name);
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file = opts.open(&tmp)?;
        let mut out = Out { w: BufWriter::with_capacity(8 << 20, file), crc: crc32fast::Hasher::new() };
        out.put(MAGIC)?;
        out.table(&head)?;
        out.table(bytemuck::cast_slice(&c.md5))?;
        out.table(bytemuck::cast_slice(&c.sha1))?;
        out.table(bytemuck::cast_slice(&c.sha256))?;
        out.table(bytemuck::cast_slice(hashes))?;
        if !hashes.is_empty() {
            for k in 0..chunks {
                out.table(bytemuck::cast_slice(&offsets[k]))?;
                out.table(bytemuck::cast_slice(&ids[k]))?;
            }
        }
        out.table(bytemuck::cast_slice(&c.vpdq.offsets))?;
        out.table(&c.vpdq.bytes)?;
        if let Some(s) = &c.ids {
            out.table(bytemuck::cast_slice(&s.offsets))?;
            out.table(&s.bytes)?;
        }
        if let Some((_, per)) = &c.classes {
            out.table(bytemuck::cast_slice(per))?;
        }
        let crc = out.crc.clone().finalize();
        out.w.write_all(&crc.to_le_bytes())?;
        out.w.write_all(&[0u8; 4])?;
        out.w.write_all(END)?;
        let file = out.w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, dest)?;
        if let Some(dir) = dest.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads with a running CRC, never past the length the header promised.
struct In {
    f: File,
    crc: crc32fast::Hasher,
    left: u64,
}

impl In {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), String> {
        if buf.len() as u64 > self.left {
            return Err("the file is shorter than its tables".into());
        }
        for block in buf.chunks_mut(BLOCK) {
            self.f.read_exact(block).map_err(|e| format!("read failed: {e}"))?;
            self.crc.update(block);
        }
        self.left -= buf.len() as u64;
        Ok(())
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut b = [0u8; 8];
        self.fill(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// One table of `count` items of `T`: its stored length must be exactly that.
    fn table<T: bytemuck::Pod>(&mut self, count: u64) -> Result<Vec<T>, String> {
        let len = self.u64()?;
        let want = count.checked_mul(std::mem::size_of::<T>() as u64).ok_or("a table size overflows")?;
        if len != want || len > self.left {
            return Err(format!("a table holds {len} bytes where the header says {want}"));
        }
        let mut v: Vec<T> = vec![T::zeroed(); count as usize];
        self.fill(bytemuck::cast_slice_mut(&mut v))?;
        let mut p = [0u8; 8];
        self.fill(&mut p[..pad(len) as usize])?;
        Ok(v)
    }

    fn strings(&mut self, count: u64, bytes: u64) -> Result<Strings, String> {
        let offsets: Vec<u64> =
            self.table(if count == 0 && bytes == 0 { 0 } else { count.saturating_add(1) })?;
        let s = Strings { offsets, bytes: self.table(bytes)? };
        s.check()?;
        Ok(s)
    }
}

/// The number of entries the header claims, or `None` when it overflows.
fn entry_count(h: &Header) -> Option<u64> {
    h.md5.checked_add(h.sha1)?.checked_add(h.sha256)?.checked_add(h.pdq)?.checked_add(h.vpdq)
}

/// The bytes a snapshot with this header takes, or `None` when the sizes overflow.
fn expected_len(h: &Header, head_len: u64) -> Option<u64> {
    let t = |bytes: u64| -> Option<u64> { bytes.checked_add(8)?.checked_add(pad(bytes)) };
    let n = entry_count(h)?;
    let mut total = 8u64.checked_add(t(head_len)?)?;
    let mut add = |bytes: Option<u64>| -> Option<()> {
        total = total.checked_add(t(bytes?)?)?;
        Some(())
    };
    add(h.md5.checked_mul(16))?;
    add(h.sha1.checked_mul(20))?;
    add(h.sha256.checked_mul(32))?;
    add(h.pdq.checked_mul(32))?;
    if h.pdq > 0 {
        for c in crate::pdq_index::layout_lengths(h.pdq_chunks as usize)? {
            add(((1u64 << c) + 1).checked_mul(4))?;
            add(h.pdq.checked_mul(4))?;
        }
    }
    add(if h.vpdq == 0 && h.vpdq_bytes == 0 { Some(0) } else { h.vpdq.checked_add(1)?.checked_mul(8) })?;
    add(Some(h.vpdq_bytes))?;
    if let Some(b) = h.ids_bytes {
        add(if n == 0 && b == 0 { Some(0) } else { n.checked_add(1)?.checked_mul(8) })?;
        add(Some(b))?;
    }
    if h.classes.is_some() {
        add(n.checked_mul(4))?;
    }
    total.checked_add(16)
}

/// Reads the snapshot at `path` if it was made from `source`; `Err` says why it cannot be
/// used (missing, stale, truncated, edited).
pub(crate) fn read(path: &Path, source: &Source) -> Result<Part, String> {
    if cfg!(target_endian = "big") {
        return Err("snapshots are little-endian; this machine is not".into());
    }
    let mut f = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let file_len = f.metadata().map_err(|e| format!("cannot stat: {e}"))?.len();
    let mut magic = [0u8; 8];
    f.read_exact(&mut magic).map_err(|_| "too short for a snapshot".to_string())?;
    if &magic != MAGIC {
        return Err("not a snapshot of this format".into());
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(&magic);
    let mut input = In { f, crc, left: file_len - 8 };
    let head_len = input.u64()?;
    if head_len > MAX_HEADER {
        return Err("the header is too large".into());
    }
    let head: Vec<u8> = {
        let mut b = vec![0u8; head_len as usize];
        input.fill(&mut b)?;
        let mut p = [0u8; 8];
        input.fill(&mut p[..pad(head_len) as usize])?;
        b
    };
    let h: Header = serde_json::from_slice(&head).map_err(|e| format!("the header is not valid: {e}"))?;
    if h.version != source.manifest.version || h.source_len != source.len || h.manifest != source.manifest {
        return Err("stale: made from another version file".into());
    }
    if expected_len(&h, head_len) != Some(file_len) {
        return Err(format!(
            "{file_len} bytes where the header needs {:?}: truncated or edited",
            expected_len(&h, head_len)
        ));
    }
    let n = entry_count(&h).ok_or("the entry counts overflow")?;
    let md5: Vec<[u8; 16]> = input.table(h.md5)?;
    let sha1: Vec<[u8; 20]> = input.table(h.sha1)?;
    let sha256: Vec<[u8; 32]> = input.table(h.sha256)?;
    let hashes: Vec<[u64; 4]> = input.table(h.pdq)?;
    let (mut offsets, mut ids) = (Vec::new(), Vec::new());
    if h.pdq > 0 {
        for c in crate::pdq_index::layout_lengths(h.pdq_chunks as usize).ok_or("bad chunk count")? {
            offsets.push(input.table::<u32>((1u64 << c) + 1)?);
            ids.push(input.table::<u32>(h.pdq)?);
        }
    }
    let vpdq = input.strings(h.vpdq, h.vpdq_bytes)?;
    let stored_ids = match h.ids_bytes {
        Some(b) => Some(input.strings(n, b)?),
        None => None,
    };
    let classes = match h.classes {
        Some(table) => {
            let per: Vec<u32> = input.table(n)?;
            if per.iter().any(|&k| k as usize > table.len()) {
                return Err("a classification number is out of range".into());
            }
            Some((table, per))
        }
        None => None,
    };
    let crc = input.crc.clone().finalize();
    let mut tail = [0u8; 16];
    input.f.read_exact(&mut tail).map_err(|_| "the end marker is missing".to_string())?;
    if tail[..4] != crc.to_le_bytes() || &tail[8..] != END {
        return Err("the checksum does not match: the file was edited or damaged".into());
    }
    let sorted =
        |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("the {what} table is not sorted")) };
    sorted(md5.is_sorted(), "MD5")?;
    sorted(sha1.is_sorted(), "SHA-1")?;
    sorted(sha256.is_sorted(), "SHA-256")?;
    let pdq = if h.pdq > 0 {
        PdqIndex::from_tables(h.pdq_chunks as usize, hashes, offsets, ids)?
    } else {
        PdqIndex::build(&[])
    };
    let cols = Columns { md5, sha1, sha256, vpdq, ids: stored_ids, classes };
    if cols.vpdq.len() as u64 != h.vpdq || cols.ids.as_ref().is_some_and(|s| s.len() as u64 != n) {
        return Err("a string table does not match the entry count".into());
    }
    Ok(Part::assemble(h.manifest, cols, pdq, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Entry, SignalType};

    fn part(dir: &Path) -> (PathBuf, Source) {
        let entries: Vec<Entry> = (0..50u64)
            .map(|i| {
                let h = hashline_hash::PdqHash([i, i * 7, i * 13, !i]);
                Entry::new(SignalType::Pdq, h.to_string())
            })
            .collect();
        let mut manifest = Manifest {
            name: "t".into(),
            source: "local".into(),
            version: 1,
            fetched_at: "2026-12-01T00:00:00Z".into(),
            kind: crate::ListKind::Known,
            default_classification: None,
            thresholds: crate::Thresholds::default(),
            signed_by: None,
            signed_sequence: None,
            entries: 0,
            entries_sha256: String::new(),
        };
        let bytes = crate::render(&mut manifest, &entries);
        let source = Source { manifest: manifest.clone(), len: bytes.len() as u64 };
        let p = Part::build(manifest, entries, "2026-12-01T00:00:00Z");
        let path = dir.join("v1.snap");
        write(&path, &source, &p).expect("test setup");
        (path, source)
    }

    /// Byte position of table `k` (0: the header) of a snapshot.
    fn table_at(bytes: &[u8], k: usize) -> usize {
        let mut at = 8;
        for _ in 0..k {
            let len = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("test setup"));
            at += 8 + (len + pad(len)) as usize;
        }
        at
    }

    #[test]
    fn a_crafted_snapshot_with_a_valid_checksum_cannot_point_a_query_out_of_bounds() {
        let dir = std::env::temp_dir().join(format!("hashline-snap-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("test setup");
        let (path, source) = part(&dir);
        assert!(read(&path, &source).is_ok());
        let good = std::fs::read(&path).expect("test setup");
        // Tables: header, md5, sha1, sha256, hashes, then offsets and ids per chunk.
        for (what, table, value, why) in [
            ("an entry number past the end", 6, u32::MAX, "out of range"),
            ("offsets that go backwards", 5, 40, "partition"),
        ] {
            let mut bytes = good.clone();
            let at = table_at(&bytes, table) + 8 + 4;
            bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
            let end = bytes.len() - 16;
            let crc = crc32fast::hash(&bytes[..end]);
            bytes[end..end + 4].copy_from_slice(&crc.to_le_bytes());
            std::fs::write(&path, &bytes).expect("test setup");
            let err = read(&path, &source).err().unwrap_or_else(|| panic!("{what}: accepted"));
            assert!(err.contains(why), "{what}: {err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        /// Any bytes changed anywhere, with the checksum made valid again: the read refuses
        /// the file or gives an index that answers queries without panicking.
        #[test]
        fn a_snapshot_changed_anywhere_is_refused_or_safe_to_query(
            edits in proptest::collection::vec((proptest::prelude::any::<u32>(), proptest::prelude::any::<u8>()), 1..6),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let dir = std::env::temp_dir().join(format!("hashline-snap-fuzz-{}-{seed}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("test setup");
            let (path, source) = part(&dir);
            let mut bytes = std::fs::read(&path).expect("test setup");
            let end = bytes.len() - 16;
            for (at, value) in edits {
                bytes[at as usize % end] = value;
            }
            let crc = crc32fast::hash(&bytes[..end]);
            bytes[end..end + 4].copy_from_slice(&crc.to_le_bytes());
            std::fs::write(&path, &bytes).expect("test setup");
            if let Ok(p) = read(&path, &source) {
                let mut out = Vec::new();
                let mut low = false;
                for i in 0..64u64 {
                    let h = hashline_hash::PdqHash([i, i * 7, i * 13, !i]);
                    let q = crate::Query { pdq: Some((h, 100)), md5: Some([i as u8; 16]), ..crate::Query::default() };
                    p.hits(&q, &mut out, &mut low);
                }
                for h in &out {
                    let (signal, value) = p.value(h.id);
                    let _ = (p.entry_id(h.id, &signal, &value), p.classification(h.id));
                }
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
