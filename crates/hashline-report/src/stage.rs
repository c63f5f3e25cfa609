//! The data folder and the report stage as `scan`, `run`, `reporter` and `serve` use them.
//!
//! [`DataDir::open`] is the one place that opens a data folder: owner-only, with its outbox
//! (`outbox.db`), audit log (`audit.log`) and evidence store (`evidence/`, when a key is
//! configured). [`ReportStage`] is the decide-and-sink step over it: reports built under the
//! policy, matched media preserved as encrypted evidence, the report committed to the outbox.

use std::path::Path;
use std::sync::Arc;

use crate::{
    build, AuditLog, Decision, Detection, Enqueued, EvidenceConfig, EvidenceStore, Outbox, Policy, Report,
    Reporter, State,
};

/// Errors opening or using the stage.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The data folder.
    #[error("data folder {path}: {source} (check that it exists and is writable by this user)")]
    Dir {
        /// The folder.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The outbox.
    #[error(transparent)]
    Outbox(#[from] crate::OutboxError),
    /// The audit log.
    #[error(transparent)]
    Audit(#[from] crate::AuditError),
    /// Evidence.
    #[error(transparent)]
    Evidence(#[from] crate::EvidenceError),
}

/// An open data folder: what every command that works on reports shares.
#[derive(Clone)]
pub struct DataDir {
    path: std::path::PathBuf,
    /// The outbox (`outbox.db`).
    pub outbox: Arc<Outbox>,
    /// The audit log (`audit.log`, `audit.head`).
    pub audit: Arc<AuditLog>,
    /// The evidence store (`evidence/`), when evidence is on and a key is configured.
    pub evidence: Option<Arc<EvidenceStore>>,
}

impl DataDir {
    /// Opens (creating) the data folder `dir`, owner-only (mode 0700), with its outbox, audit
    /// log and, when `evidence` is enabled and a key is configured, its evidence store.
    pub fn open(dir: &Path, evidence: &EvidenceConfig) -> Result<DataDir, StageError> {
        let d = |source| StageError::Dir { path: dir.to_path_buf(), source };
        std::fs::create_dir_all(dir).map_err(d)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(d)?;
        }
        let outbox = Arc::new(Outbox::open(&dir.join("outbox.db"))?);
        let audit = Arc::new(AuditLog::open(dir)?);
        let evidence = EvidenceStore::from_config(dir, evidence, Arc::clone(&audit))?.map(Arc::new);
        Ok(DataDir { path: dir.to_path_buf(), outbox, audit, evidence })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The decide-and-sink step over an open data folder.
pub struct ReportStage {
    /// The outbox.
    pub outbox: Arc<Outbox>,
    /// The audit log.
    pub audit: Arc<AuditLog>,
    /// Evidence, when a key is configured.
    pub evidence: Option<Arc<EvidenceStore>>,
    reporter: Reporter,
    policy: Policy,
}

/// What happened to one detection.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// Committed to the outbox in this state.
    Queued(Box<Report>, State),
    /// Already reported for this upload and these entries; the report as it would have been.
    Duplicate(Box<Report>),
}

impl Recorded {
    /// The report.
    pub fn report(&self) -> &Report {
        match self {
            Recorded::Queued(r, _) | Recorded::Duplicate(r) => r,
        }
    }

    /// Where the report went.
    pub fn disposition(&self) -> Disposition {
        match self {
            Recorded::Queued(_, State::Review) => Disposition::Review,
            Recorded::Queued(..) => Disposition::Pending,
            Recorded::Duplicate(_) => Disposition::Duplicate,
        }
    }
}

/// Where a detection's report went: the vocabulary of match events and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Queued for delivery without review.
    Pending,
    /// Waiting for an analyst.
    Review,
    /// Reported before for this upload and these entries: nothing new.
    Duplicate,
}

impl Disposition {
    /// The name used on the wire and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Pending => "pending",
            Disposition::Review => "review",
            Disposition::Duplicate => "duplicate",
        }
    }
}

impl std::fmt::Display for Disposition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ReportStage {
    /// Opens (creating) the data folder `dir` ([`DataDir::open`]) and the stage over it.
    pub fn open(
        dir: &Path,
        reporter: Reporter,
        policy: Policy,
        evidence: &EvidenceConfig,
    ) -> Result<ReportStage, StageError> {
        Ok(ReportStage::new(&DataDir::open(dir, evidence)?, reporter, policy))
    }

    /// The stage over an open data folder: reports built for `reporter` under `policy`.
    pub fn new(data: &DataDir, reporter: Reporter, policy: Policy) -> ReportStage {
        data.outbox.set_flood_rule(policy.flood);
        ReportStage {
            outbox: Arc::clone(&data.outbox),
            audit: Arc::clone(&data.audit),
            evidence: data.evidence.clone(),
            reporter,
            policy,
        }
    }

    /// Builds the report for a detection, preserves the media (when evidence is on and
    /// `media` is given) and commits the report to the outbox, durably. `None` without
    /// matches.
    pub fn record(
        &self,
        detection: &Detection,
        media: Option<&[u8]>,
    ) -> Result<Option<Recorded>, StageError> {
        let Some((mut report, decision)) = build(detection, &self.reporter, &self.policy) else {
            return Ok(None);
        };
        if let (Some(store), Some(bytes)) = (&self.evidence, media) {
            report.evidence = Some(store.put(bytes)?);
        }
        let state = match decision {
            Decision::Auto(_) => State::Pending,
            Decision::Review(_) => State::Review,
        };
        let m = hashline_metrics::global();
        Ok(Some(match self.outbox.enqueue(report.clone(), state)? {
            Enqueued::New(row) => {
                // The outbox may hold it in review (a quarantined entry).
                let state = row.state;
                let outcome = if state == State::Pending {
                    hashline_metrics::report_outcome::QUEUED
                } else {
                    hashline_metrics::report_outcome::REVIEW
                };
                m.reports_total.with_label_values(&[outcome]).inc();
                Recorded::Queued(Box::new(row.report), state)
            }
            Enqueued::Duplicate => {
                m.reports_total.with_label_values(&[hashline_metrics::report_outcome::DUPLICATE]).inc();
                Recorded::Duplicate(Box::new(report))
            }
        }))
    }
}
