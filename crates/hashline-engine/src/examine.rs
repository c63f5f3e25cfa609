//! Hash and match one piece of media, the same way for every source.

use std::cell::RefCell;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use hashline_hash::{
    is_video, sniff, DigestHasher, FileHashes, HashOptions, Hasher, PdqOutcome, Sniffed, VideoOutcome,
    SNIFF_LEN,
};
use hashline_lists::{ListSet, Outcome, Query};
use hashline_video::VideoSettings;

/// What examining computes: the hashing options (mode, dihedral, borders, image limits) and how
/// videos are hashed (sampling, limits, FFmpeg). Resolved once from the configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// Pictures: PDQ mode, dihedral variants, border trimming, decoding limits. The dihedral
    /// option applies to video frames too.
    pub hash: HashOptions,
    /// Videos: vPDQ sampling and the decoder's limits.
    pub video: VideoSettings,
}

impl Settings {
    /// These settings with other hashing options (the API's `?dihedral=`).
    pub fn with_hash(&self, hash: HashOptions) -> Settings {
        Settings { hash, video: self.video.clone() }
    }
}

/// What examining one piece of media found.
#[derive(Debug, Clone)]
pub struct Examined {
    /// Digests always; PDQ and its quality, or why there is none.
    pub hashes: FileHashes,
    /// Matches with provenance, allow-list suppressions, low-quality PDQ.
    pub outcome: Outcome,
    /// For a file: its bytes, when they were read whole (at most `[hash] max_input_bytes`), so
    /// the caller can preserve them as evidence without reading the file again.
    pub media: Option<Vec<u8>>,
}

/// Why media could not be examined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExamineError {
    /// The file could not be read (the reason, without its path).
    #[error("{0}")]
    Unreadable(String),
    /// A decoder panicked on this media: a bug, reported as an error for this media only (the
    /// thread's hasher is made anew).
    #[error("{PANICKED}")]
    Panicked,
}

/// The text of [`ExamineError::Panicked`].
pub const PANICKED: &str = "internal error while decoding this media (a decoder bug; please report it)";

thread_local! {
    /// This thread's hashers, one per set of options in use (their buffers are reused).
    static HASHERS: RefCell<Vec<Hasher>> = const { RefCell::new(Vec::new()) };
}

/// Hashes `bytes` with this thread's hasher for `options`; a panic resets that hasher.
fn hash_guarded(options: &HashOptions, bytes: &[u8]) -> Result<FileHashes, ExamineError> {
    with_hasher(options, |h| h.hash(bytes))
}

/// Runs `f` with this thread's hasher for `options`; a panic is this media's error and resets
/// that hasher.
fn with_hasher<T>(options: &HashOptions, f: impl FnOnce(&mut Hasher) -> T) -> Result<T, ExamineError> {
    HASHERS.with(|cell| {
        let mut hashers = cell.borrow_mut();
        let i = match hashers.iter().position(|h| h.options() == options) {
            Some(i) => i,
            None => {
                hashers.push(Hasher::new(*options));
                hashers.len() - 1
            }
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut hashers[i]))) {
            Ok(h) => Ok(h),
            Err(_) => {
                hashers[i] = Hasher::new(*options);
                Err(ExamineError::Panicked)
            }
        }
    })
}

/// Records what every source counts, once: hashing time, why PDQ was skipped, matches.
fn count(started: Instant, e: &Examined) {
    let m = hashline_metrics::global();
    m.hash_duration_seconds.observe(started.elapsed().as_secs_f64());
    match &e.hashes.pdq {
        PdqOutcome::Skipped(why) => m.pdq_skipped_total.with_label_values(&[why]).inc(),
        PdqOutcome::Failed { error, .. } => m.pdq_skipped_total.with_label_values(&[error.kind()]).inc(),
        PdqOutcome::Hashed { .. } => {}
    }
    for x in &e.outcome.matches {
        m.matches_total.with_label_values(&[x.list.as_str(), x.signal.as_str()]).inc();
    }
    match &e.hashes.video {
        Some(VideoOutcome::Hashed(v)) => {
            m.videos_total.with_label_values(&["hashed"]).inc();
            m.video_frames_hashed_total.inc_by(v.frames.len() as u64);
        }
        Some(VideoOutcome::Failed { kind, .. }) => m.videos_total.with_label_values(&[kind]).inc(),
        None => {}
    }
}

/// When `head` starts a video and videos are hashed: its vPDQ by `hash` (from the file, or
/// from bytes through a private temporary copy), with this thread's hasher (frames are hashed
/// with its options: dihedral variants when asked).
fn video(
    settings: &Settings,
    head: &[u8],
    hash: impl FnOnce(&VideoSettings, &mut Hasher) -> VideoOutcome,
) -> Result<Option<VideoOutcome>, ExamineError> {
    if !settings.video.enabled || !is_video(&head[..head.len().min(SNIFF_LEN)]) {
        return Ok(None);
    }
    with_hasher(&settings.hash, |h| hash(&settings.video, h)).map(Some)
}

/// Examines media held in memory: hashes it (over `[hash] max_input_bytes` the hasher
/// digests it and skips PDQ with the reason) and matches it against `lists`. Run it on a
/// [`crate::CpuPool`] thread.
pub fn examine_bytes(settings: &Settings, lists: &ListSet, bytes: &[u8]) -> Result<Examined, ExamineError> {
    let started = Instant::now();
    let mut hashes = hash_guarded(&settings.hash, bytes)?;
    hashes.video =
        video(settings, bytes, |v, h| hashline_video::outcome(hashline_video::hash_bytes(bytes, v, h)))?;
    let outcome = lists.match_query(&Query::of(&hashes));
    let e = Examined { hashes, outcome, media: None };
    count(started, &e);
    Ok(e)
}

/// Matches hashes made elsewhere (media streamed through the digests while it was fetched)
/// and counts them like any other.
pub fn examine_hashes(lists: &ListSet, hashes: FileHashes) -> Examined {
    let started = Instant::now();
    let outcome = lists.match_query(&Query::of(&hashes));
    let e = Examined { hashes, outcome, media: None };
    count(started, &e);
    e
}

/// Examines a file: read whole when it is at most `[hash] max_input_bytes` (and handed back
/// in [`Examined::media`]), else streamed through the digests and never held in memory (PDQ
/// skipped with the reason). Run it on a [`crate::CpuPool`] thread.
pub fn examine_path(settings: &Settings, lists: &ListSet, path: &Path) -> Result<Examined, ExamineError> {
    let started = Instant::now();
    let options = &settings.hash;
    let unreadable = |e: &std::io::Error| ExamineError::Unreadable(io_reason(e));
    let mut file = std::fs::File::open(path).map_err(|e| unreadable(&e))?;
    let size = file.metadata().map_err(|e| unreadable(&e))?.len();
    let limit = options.limits.max_input_bytes;
    // The file's hashes, its bytes when held, and its first bytes when streamed.
    let (mut hashes, media, streamed_head) = if size <= limit {
        let mut bytes = Vec::with_capacity(size as usize + 1);
        // At most one byte past the limit: a file that grows while it is read stays bounded.
        Read::by_ref(&mut file).take(limit + 1).read_to_end(&mut bytes).map_err(|e| unreadable(&e))?;
        if bytes.len() as u64 <= limit {
            (hash_guarded(options, &bytes)?, Some(bytes), Vec::new())
        } else {
            let (h, head) =
                stream(&mut std::io::Cursor::new(bytes).chain(file), limit).map_err(|e| unreadable(&e))?;
            (h, None, head)
        }
    } else {
        let (h, head) = stream(&mut file, limit).map_err(|e| unreadable(&e))?;
        (h, None, head)
    };
    let head = media.as_deref().unwrap_or(&streamed_head);
    hashes.video =
        video(settings, head, |v, h| hashline_video::outcome(hashline_video::hash_file(path, v, h)))?;
    let outcome = lists.match_query(&Query::of(&hashes));
    let e = Examined { hashes, outcome, media };
    count(started, &e);
    Ok(e)
}

/// Digests of everything `reader` gives, without keeping it; PDQ skipped with the reason.
/// Also returns its first bytes (at most [`SNIFF_LEN`]), to tell what it is.
fn stream(reader: &mut dyn Read, limit: u64) -> std::io::Result<(FileHashes, Vec<u8>)> {
    let mut digests = DigestHasher::new();
    let mut head = Vec::with_capacity(SNIFF_LEN);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if head.len() < SNIFF_LEN {
            let take = (SNIFF_LEN - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
        }
        digests.update(&buf[..n]);
    }
    let bytes = digests.len();
    let pdq = match sniff(&head) {
        Sniffed::Image(format) => {
            PdqOutcome::Failed { format, error: hashline_hash::DecodeError::InputTooLarge { bytes, limit } }
        }
        Sniffed::Other(reason) => PdqOutcome::Skipped(reason),
    };
    Ok((FileHashes { bytes, digests: digests.finish(), pdq, video: None }, head))
}

/// A short sentence for an I/O error, without the path (the caller names the file once).
pub fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => format!("cannot read: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_over_the_limit_are_digested_streaming_and_the_same_as_in_memory() {
        let dir = std::env::temp_dir().join(format!("hashline-engine-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("blob.bin");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let lists = ListSet::empty();
        let small = Settings {
            hash: HashOptions {
                limits: hashline_hash::Limits { max_input_bytes: 1000, ..Default::default() },
                ..Default::default()
            },
            ..Settings::default()
        };
        let streamed = examine_path(&small, &lists, &path).unwrap();
        let whole = examine_path(&Settings::default(), &lists, &path).unwrap();
        assert_eq!(streamed.hashes.digests, whole.hashes.digests);
        assert_eq!(streamed.hashes.digests, hashline_hash::digests(&data));
        assert!(streamed.media.is_none(), "over the limit: not held");
        assert_eq!(whole.media.as_deref(), Some(&data[..]), "read once, handed back for evidence");
        let in_memory = examine_bytes(&small, &lists, &data).unwrap();
        assert_eq!(in_memory.hashes.digests, whole.hashes.digests, "bytes over the limit are digested too");
        assert!(matches!(
            examine_path(&small, &lists, &dir.join("missing")),
            Err(ExamineError::Unreadable(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_video_over_the_byte_limit_is_streamed_and_still_gets_its_vpdq() {
        let dir = std::env::temp_dir().join(format!("hashline-engine-video-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("v.mp4");
        let status = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2"])
            .args(["-pix_fmt", "yuv420p"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let small = Settings {
            hash: HashOptions {
                limits: hashline_hash::Limits { max_input_bytes: 1000, ..Default::default() },
                ..Default::default()
            },
            ..Settings::default()
        };
        let lists = ListSet::empty();
        let streamed = examine_path(&small, &lists, &path).unwrap();
        assert!(streamed.media.is_none(), "over the byte limit: not held");
        let whole = examine_path(&Settings::default(), &lists, &path).unwrap();
        match (&streamed.hashes.video, &whole.hashes.video) {
            (Some(VideoOutcome::Hashed(a)), Some(VideoOutcome::Hashed(b))) => assert_eq!(a.frames, b.frames),
            other => panic!("both hashed: {other:?}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
