//! What one upload record comes to, with no broker in sight: the producer contract read from
//! the headers, the media taken from the value or fetched, the shared examine step, and the
//! [`Detection`] to decide on and record. `run.rs` only turns Kafka records into calls of
//! [`Intake::process`] and its answers into produce / dead-letter / offset store.

use std::sync::Arc;

use hashline_hash::{FileHashes, PdqOutcome};
use hashline_lists::LiveLists;
use hashline_report::{Channel, Detection, FileInfo, IpEvent, Uploader};

use crate::contract::Upload;
use crate::fetch::FetchConfig;

/// Why fetched media has no PDQ: it was over `[hash] max_input_bytes` (digests only).
pub const OVER_BYTE_LIMIT: &str = "over limits.max_input_bytes: digests only";

/// What one record comes to.
#[derive(Debug)]
pub enum Processed {
    /// It cannot be processed at all: to the dead-letter topic with this reason (a metric
    /// label) and message.
    DeadLetter {
        /// Bounded label: `upload_id`, `header_encoding`, `no_media`, `fetch`, `internal`, …
        reason: &'static str,
        /// What is wrong, for the operator (never the media, never a URL).
        error: String,
    },
    /// Examined; nothing matched (or every match was suppressed by an allow-list).
    NoMatch {
        /// Bytes examined.
        bytes: u64,
        /// Matches an allow-list suppressed.
        suppressed: usize,
        /// The upload's row for the hash journal.
        journal: Box<hashline_retro::JournalRow>,
    },
    /// Matched: the detection to decide on and record, and the media to preserve (none when
    /// it was only streamed through the digests).
    Matched {
        /// The upload's facts, the file's hashes and every match.
        detection: Box<Detection>,
        /// The bytes, for evidence.
        media: Option<Arc<Vec<u8>>>,
        /// The upload's row for the hash journal.
        journal: Box<hashline_retro::JournalRow>,
    },
}

/// Everything [`Intake::process`] needs: the lists, the hashing options, the CPU pool and
/// the media fetcher's settings.
pub struct Intake {
    /// The lists in force.
    pub lists: Arc<LiveLists>,
    /// What examining computes: hashing options (mode, dihedral, limits) and video hashing.
    pub examine: hashline_engine::Settings,
    /// Where hashing runs.
    pub cpu: hashline_engine::CpuPool,
    /// Fetching `hashline-media-url`.
    pub fetch: FetchConfig,
}

impl Intake {
    /// Processes one record: its headers and value.
    pub async fn process<'a>(
        &self,
        headers: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        value: &[u8],
    ) -> Processed {
        let upload = match Upload::from_headers(headers, value.len()) {
            Ok(u) => u,
            Err(e) => return Processed::DeadLetter { reason: e.kind(), error: e.to_string() },
        };
        let max = self.examine.hash.limits.max_input_bytes;
        // A record's value is in memory already: over the limit it is still digested (the
        // hasher skips its PDQ with the reason). Fetched media over the limit is streamed
        // through the digests without being kept.
        let media: Arc<Vec<u8>> = match &upload.media_url {
            Some(url) => match crate::fetch::fetch_media(url, &self.fetch, max).await {
                Ok(crate::fetch::Fetched { bytes: Some(b), .. }) => Arc::new(b),
                Ok(f) => {
                    let hashes = FileHashes {
                        bytes: f.len,
                        digests: f.digests,
                        pdq: PdqOutcome::Skipped(OVER_BYTE_LIMIT),
                        video: None,
                    };
                    let e = hashline_engine::examine_hashes(&self.lists.snapshot(), hashes);
                    return conclude(&upload, e, None);
                }
                Err(e) => return Processed::DeadLetter { reason: "fetch", error: e.to_string() },
            },
            None => Arc::new(value.to_vec()),
        };
        let (settings, lists, bytes) = (self.examine.clone(), self.lists.snapshot(), Arc::clone(&media));
        match self.cpu.run(move || hashline_engine::examine_bytes(&settings, &lists, &bytes)).await {
            Ok(Ok(e)) => conclude(&upload, e, Some(media)),
            _ => Processed::DeadLetter { reason: "internal", error: hashline_engine::PANICKED.into() },
        }
    }
}

fn conclude(upload: &Upload, e: hashline_engine::Examined, media: Option<Arc<Vec<u8>>>) -> Processed {
    hashline_metrics::global().upload_bytes_total.inc_by(e.hashes.bytes);
    // Received: the producer's upload time when it gives a readable one, else now.
    let received_at = upload
        .uploaded_at
        .as_deref()
        .and_then(hashline_lists::unix_seconds)
        .unwrap_or_else(hashline_report::unix_now);
    let journal = Box::new(hashline_retro::JournalRow::of(
        upload.id.clone(),
        Channel::Kafka,
        upload.platform.clone(),
        received_at,
        &e.hashes,
    ));
    if e.outcome.matches.is_empty() {
        return Processed::NoMatch { bytes: e.hashes.bytes, suppressed: e.outcome.suppressed.len(), journal };
    }
    Processed::Matched {
        detection: Box::new(detection(upload, &e.hashes, e.outcome.matches)),
        media,
        journal,
    }
}

/// The detection of a matched upload: its facts from the producer contract.
fn detection(upload: &Upload, hashes: &FileHashes, matches: Vec<hashline_lists::Match>) -> Detection {
    Detection {
        upload_id: upload.id.clone(),
        channel: Channel::Kafka,
        detected_at: hashline_lists::now_rfc3339(),
        uploaded_at: upload.uploaded_at.clone(),
        platform: upload.platform.clone(),
        source_url: upload.source_url.clone(),
        uploader: (upload.uploader_id.is_some() || upload.uploader_ip.is_some()).then(|| Uploader {
            account_id: upload.uploader_id.clone(),
            screen_name: None,
            ip: upload.uploader_ip.clone().map(|address| IpEvent {
                address,
                event: "upload".into(),
                at: upload.uploaded_at.clone(),
            }),
        }),
        file: FileInfo::from_hashes(hashes, upload.file_name.clone(), upload.content_type.clone()),
        matches,
        retroactive: None,
    }
}

#[cfg(test)]
#[path = "process_tests.rs"]
mod tests;
