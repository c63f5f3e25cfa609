//! The report stage as the CLI runs it: reports built under the policy, matched media
//! preserved as encrypted evidence, the report committed to the outbox, all under one data
//! folder (`outbox.db`, `evidence/`, `audit.log`).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use hashline_report::{
    build, AuditLog, Decision, Detection, Enqueued, EvidenceStore, Keyring, Outbox, Report, State,
};

use crate::config::Config;

/// The open data folder.
pub struct Reporting {
    pub outbox: Arc<Outbox>,
    pub audit: Arc<AuditLog>,
    pub evidence: Option<EvidenceStore>,
    reporter: hashline_report::Reporter,
    policy: hashline_report::Policy,
}

/// What happened to one detection.
pub enum Recorded {
    /// Committed to the outbox in this state.
    Queued(Box<Report>, State),
    /// Already reported for this upload and these entries.
    Duplicate(Box<Report>),
}

impl Reporting {
    /// Opens (creating) the data folder, owner-only.
    pub fn open(config: &Config, dir: &Path) -> anyhow::Result<Reporting> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data folder {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("restricting {} to its owner", dir.display()))?;
        }
        let outbox = Arc::new(Outbox::open(&dir.join("outbox.db"))?);
        let audit = Arc::new(AuditLog::open(dir)?);
        let evidence = Self::open_evidence(config, dir, &audit)?;
        Ok(Reporting {
            outbox,
            audit,
            evidence,
            reporter: config.reporter.to_reporter(),
            policy: config.policy.clone(),
        })
    }

    fn open_evidence(
        config: &Config,
        dir: &Path,
        audit: &Arc<AuditLog>,
    ) -> anyhow::Result<Option<EvidenceStore>> {
        if !config.evidence.enabled {
            return Ok(None);
        }
        let keys = match Keyring::from_config(&config.evidence) {
            Ok(k) => k,
            Err(hashline_report::EvidenceError::NoKey) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(EvidenceStore::open(
            &dir.join("evidence"),
            keys,
            config.evidence.retention_days,
            Arc::clone(audit),
        )?))
    }

    /// Builds the report for a detection, preserves the media (when a key is configured and
    /// `media` is given) and commits the report to the outbox. Returns `None` without matches.
    pub fn record(&self, detection: &Detection, media: Option<&[u8]>) -> anyhow::Result<Option<Recorded>> {
        let Some((mut report, decision)) = build(detection, &self.reporter, &self.policy) else {
            return Ok(None);
        };
        if let (Some(store), Some(bytes)) = (&self.evidence, media) {
            report.evidence = Some(store.put(bytes).context("preserving evidence")?);
        }
        let state = match decision {
            Decision::Auto(_) => State::Pending,
            Decision::Review(_) => State::Review,
        };
        let m = hashline_metrics::global();
        Ok(Some(match self.outbox.enqueue(report.clone(), state)? {
            Enqueued::New(row) => {
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
