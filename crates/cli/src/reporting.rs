//! The report stage (`hashline_report::ReportStage`) opened from the configuration.

use std::path::Path;

use hashline_report::ReportStage;

use crate::config::Config;

/// Opens the data folder `dir` with the configured reporter, policy and evidence settings.
pub fn open(config: &Config, dir: &Path) -> anyhow::Result<ReportStage> {
    Ok(ReportStage::open(dir, config.reporter.to_reporter(), config.policy.clone(), &config.evidence)?)
}
