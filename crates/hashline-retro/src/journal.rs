//! The hash journal: for every examined upload, its id, platform, channel, when it was
//! received, and its hashes and file facts — never its bytes, file name, path, URL or
//! uploader. Kept for a window (30 days by default), then gone.
//!
//! Embedded, the journal is a folder of hourly segments (`journal/h<unix hour>.jsonl`, one
//! [`JournalRow`] per line, owner-only): appending is one `write` per row, expiry deletes whole
//! segments, so a row is gone at most one hour after its window ends. Streaming, the same rows
//! are records of a Kafka topic whose retention is the window (`hashline run`).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hashline_hash::{PdqHash, PdqOutcome, VideoOutcome};
use hashline_lists::Query;
use hashline_report::{Channel, FileInfo};
use serde::{Deserialize, Serialize};

/// Errors of the journal. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file or folder could not be read or written.
    #[error("journal {path}: {source} (check that the data folder is writable by this user)")]
    Io {
        /// Where.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io { path: path.to_path_buf(), source }
}

/// One examined upload, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalRow {
    /// The platform's upload id (for scans, the id `scan` derives).
    pub upload_id: String,
    /// How it arrived.
    pub channel: Channel,
    /// The platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// When it was received, Unix seconds.
    pub received_at: i64,
    /// Its facts and hashes, as a report carries them (no name, no location).
    pub file: FileInfo,
    /// The eight dihedral PDQ hashes (rotations and mirrors), when they were computed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pdq_dihedral: Vec<PdqHash>,
    /// A video's sampled frames, in the vPDQ reference's hash-file form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpdq: Option<String>,
}

impl JournalRow {
    /// The row of an examined upload. The file's name, location and URL are never kept.
    pub fn of(
        upload_id: String,
        channel: Channel,
        platform: Option<String>,
        received_at: i64,
        hashes: &hashline_hash::FileHashes,
    ) -> JournalRow {
        let file = FileInfo::from_hashes(hashes, None, None);
        let pdq_dihedral = match &hashes.pdq {
            PdqOutcome::Hashed { pdq, .. } => pdq.dihedral.map(|d| d.to_vec()).unwrap_or_default(),
            _ => Vec::new(),
        };
        let vpdq = match &hashes.video {
            Some(VideoOutcome::Hashed(v)) if !v.frames.is_empty() => {
                Some(hashline_hash::vpdq::write_reference(&v.frames))
            }
            _ => None,
        };
        JournalRow { upload_id, channel, platform, received_at, file, pdq_dihedral, vpdq }
    }

    /// The hashes to match, as the live match saw them (without the border-trimmed and
    /// python-threatexchange variants, which the journal does not keep).
    pub fn query(&self) -> Query {
        let digest = |s: &str| hex::decode(s).ok();
        let mut q = Query {
            md5: digest(&self.file.md5).and_then(|v| v.try_into().ok()),
            sha1: digest(&self.file.sha1).and_then(|v| v.try_into().ok()),
            sha256: digest(&self.file.sha256).and_then(|v| v.try_into().ok()),
            ..Query::default()
        };
        if let (Some(pdq), Some(quality)) = (&self.file.pdq, self.file.pdq_quality) {
            if let Ok(h) = pdq.parse::<PdqHash>() {
                q.pdq = Some((h, quality));
                q.pdq_dihedral = self.pdq_dihedral.clone().try_into().ok();
            }
        }
        if let Some(frames) = self.vpdq.as_deref().and_then(|t| hashline_hash::vpdq::parse_reference(t).ok())
        {
            q.vpdq = frames
                .into_iter()
                .map(|frame| hashline_lists::QueryFrame { frame, dihedral: None })
                .collect();
        }
        q
    }
}

/// Where a row is: its segment and byte offset, to read it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRef {
    /// The segment's hour (Unix seconds / 3600).
    pub hour: i64,
    /// Byte offset of the row's line.
    pub offset: u64,
}

/// Where a read of the journal ended: the next read from here sees only rows appended since.
/// (A torn last line is read again next time, whole or not.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct End {
    hour: i64,
    offset: u64,
}

/// An embedded journal in a folder.
pub struct Journal {
    dir: PathBuf,
    window_s: i64,
    /// The segment being appended to.
    open: Mutex<Option<(i64, File)>>,
}

/// What a read of the journal found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Rows read.
    pub rows: u64,
    /// Lines that are not rows (a torn last write, an edit): skipped.
    pub bad_lines: u64,
}

impl Journal {
    /// Opens (creating, owner-only) the journal folder `dir`, keeping rows for `window_s`
    /// seconds.
    pub fn open(dir: &Path, window_s: i64) -> Result<Journal, JournalError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
        }
        Ok(Journal { dir: dir.to_path_buf(), window_s: window_s.max(1), open: Mutex::new(None) })
    }

    /// The window, seconds.
    pub fn window_s(&self) -> i64 {
        self.window_s
    }

    fn segment(&self, hour: i64) -> PathBuf {
        self.dir.join(format!("h{hour}.jsonl"))
    }

    /// Appends a row (one `write` of one line to its hour's segment).
    pub fn append(&self, row: &JournalRow) -> Result<(), JournalError> {
        let hour = row.received_at.div_euclid(3600);
        let mut line = serde_json::to_vec(row).unwrap_or_default();
        line.push(b'\n');
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.as_ref().is_none_or(|(h, _)| *h != hour) {
            let path = self.segment(hour);
            let mut options = OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            *open = Some((hour, options.open(&path).map_err(io(&path))?));
        }
        if let Some((_, f)) = open.as_mut() {
            f.write_all(&line).map_err(io(&self.segment(hour)))?;
        }
        Ok(())
    }

    /// Makes the rows appended so far durable.
    pub fn sync(&self) -> Result<(), JournalError> {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((hour, f)) = open.as_ref() {
            f.sync_data().map_err(io(&self.segment(*hour)))?;
        }
        Ok(())
    }

    /// The segments on disk, by hour.
    fn segments(&self) -> Result<BTreeMap<i64, PathBuf>, JournalError> {
        let mut out = BTreeMap::new();
        for e in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let e = e.map_err(io(&self.dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(hour) = name.strip_prefix('h').and_then(|r| r.strip_suffix(".jsonl")) {
                if let Ok(hour) = hour.parse::<i64>() {
                    out.insert(hour, e.path());
                }
            }
        }
        Ok(out)
    }

    /// Deletes the segments whose every row is older than the window at `now` (Unix
    /// seconds); returns how many.
    pub fn expire(&self, now: i64) -> Result<usize, JournalError> {
        let mut gone = 0;
        for (hour, path) in self.segments()? {
            if (hour + 1) * 3600 <= now - self.window_s {
                std::fs::remove_file(&path).map_err(io(&path))?;
                gone += 1;
            }
        }
        Ok(gone)
    }

    /// Every row received within the window at `now`, oldest segment first, with where it
    /// is. Expired segments are deleted first.
    pub fn read(&self, now: i64, each: impl FnMut(RowRef, JournalRow)) -> Result<Scan, JournalError> {
        self.read_from(now, None, each).map(|(scan, _)| scan)
    }

    /// As [`Journal::read`], from `from` on (the end a previous read returned; `None`: from
    /// the start). Returns what it read and where it ended.
    pub fn read_from(
        &self,
        now: i64,
        from: Option<End>,
        mut each: impl FnMut(RowRef, JournalRow),
    ) -> Result<(Scan, End), JournalError> {
        self.expire(now)?;
        let mut scan = Scan::default();
        let mut end = from.unwrap_or_default();
        for (hour, path) in self.segments()? {
            if hour < end.hour {
                continue;
            }
            let start = if hour == end.hour { end.offset } else { 0 };
            let file = match File::open(&path) {
                Ok(f) => f,
                // Expired by another process meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(JournalError::Io { path, source: e }),
            };
            let mut reader = BufReader::new(file);
            reader.seek(SeekFrom::Start(start)).map_err(io(&path))?;
            let mut offset = start;
            let mut line = Vec::new();
            loop {
                line.clear();
                let n = reader.read_until(b'\n', &mut line).map_err(io(&path))?;
                if n == 0 || line.last() != Some(&b'\n') {
                    // The end, or a row still being written: read it whole next time.
                    break;
                }
                match serde_json::from_slice::<JournalRow>(&line) {
                    Ok(row) if row.received_at > now - self.window_s => {
                        scan.rows += 1;
                        each(RowRef { hour, offset }, row);
                    }
                    Ok(_) => {}
                    Err(_) => scan.bad_lines += 1,
                }
                offset += n as u64;
            }
            end = End { hour, offset };
        }
        Ok((scan, end))
    }

    /// Reads the row at `at` again (`None` when its segment expired or the line is gone).
    pub fn get(&self, at: RowRef) -> Result<Option<JournalRow>, JournalError> {
        let path = self.segment(at.hour);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(JournalError::Io { path, source: e }),
        };
        file.seek(SeekFrom::Start(at.offset)).map_err(io(&path))?;
        let mut line = Vec::new();
        BufReader::new(file).read_until(b'\n', &mut line).map_err(io(&path))?;
        Ok(serde_json::from_slice(&line).ok())
    }
}
