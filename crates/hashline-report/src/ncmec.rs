//! Export of a report as NCMEC CyberTipline Reporting API XML (export only; hashline never
//! submits to NCMEC).
//!
//! The API takes two documents per report: the `<report>` (POST `/submit`) and, for each file
//! uploaded to it, a `<fileDetails>` (POST `/fileinfo`). NCMEC validates both against its XSD,
//! whose sequences fix the order of elements; an element out of order is rejected. The order
//! written here follows the XSD sequences:
//!
//! - `report`: incidentSummary, internetDetails, lawEnforcement, reporter,
//!   personOrUserReported, intendedRecipient, victim, additionalInfo
//! - `incidentSummary`: incidentType, platform, escalateToHighPriority, reportAnnotations,
//!   incidentDateTime, incidentDateTimeDescription
//! - `personOrUserReported`: personOrUserReportedPerson, vehicleDescription, espIdentifier,
//!   espService, compromisedAccount, screenName, displayName, profileUrl, ..., ipCaptureEvent
//! - `ipCaptureEvent`: ipAddress, eventName, dateTime, possibleProxy, port
//! - `fileDetails`: reportId, fileId, fileName, originalFileName, uploadedToEspTimestamp,
//!   locationOfFile, fileViewedByEsp, exifViewedByEsp, publiclyAvailable, fileRelevance,
//!   fileAnnotations, industryClassification, originalFileHash, ipCaptureEvent, deviceId,
//!   details, additionalInfo
//!
//! `reportId` and `fileId` are assigned by NCMEC when the report is opened and the file
//! uploaded; the export writes `0` and an empty `fileId` for the submitter to fill in.
//! Golden files under `tests/golden/` pin the output.

use std::fmt::Write;

use crate::model::{Report, Review};

/// The two documents of one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NcmecExport {
    /// The `<report>` document.
    pub report: String,
    /// The `<fileDetails>` document.
    pub file_details: String,
}

struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    fn new() -> Xml {
        Xml { out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), depth: 0 }
    }
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }
    fn open(&mut self, name: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{name}>");
        self.depth += 1;
    }
    fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
    }
    fn text(&mut self, name: &str, value: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{name}>{}</{name}>", quick_xml::escape::escape(value));
    }
    fn opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.text(name, v);
        }
    }
    fn attr_text(&mut self, name: &str, attr: (&str, &str), value: &str) {
        self.indent();
        let _ = writeln!(
            self.out,
            "<{name} {}=\"{}\">{}</{name}>",
            attr.0,
            quick_xml::escape::escape(attr.1),
            quick_xml::escape::escape(value)
        );
    }
}

/// NCMEC's `incidentType` for apparent child pornography.
const INCIDENT_TYPE: &str = "Child Pornography (possession, manufacture, and distribution)";

/// Maps an IP event name to NCMEC's `eventName` values.
fn event_name(event: &str) -> &'static str {
    match event.to_ascii_lowercase().as_str() {
        "login" => "Login",
        "registration" | "register" | "signup" => "Registration",
        "purchase" => "Purchase",
        "upload" => "Upload",
        "unknown" => "Unknown",
        _ => "Other",
    }
}

/// Renders both documents.
pub fn export(r: &Report) -> NcmecExport {
    NcmecExport { report: report_xml(r), file_details: file_details_xml(r) }
}

fn report_xml(r: &Report) -> String {
    let mut x = Xml::new();
    x.open("report");
    x.open("incidentSummary");
    x.text("incidentType", INCIDENT_TYPE);
    x.opt("platform", r.incident.platform.as_deref());
    x.text("incidentDateTime", r.incident.uploaded_at.as_deref().unwrap_or(&r.incident.detected_at));
    x.text(
        "incidentDateTimeDescription",
        if r.incident.uploaded_at.is_some() {
            "Time the file was uploaded to the platform"
        } else {
            "Time hashline matched the file"
        },
    );
    x.close("incidentSummary");
    if let Some(url) = r.incident.source_url.as_deref() {
        x.open("internetDetails");
        x.open("webPageIncident");
        x.text("url", url);
        x.close("webPageIncident");
        x.close("internetDetails");
    }
    x.open("reporter");
    x.open("reportingPerson");
    x.text("email", &r.reporter.contact);
    x.close("reportingPerson");
    x.text(
        "companyTemplate",
        &format!("{} ({}), reported through hashline", r.reporter.organisation, r.reporter.country),
    );
    x.close("reporter");
    if let Some(u) = &r.uploader {
        x.open("personOrUserReported");
        x.opt("espIdentifier", u.account_id.as_deref());
        x.opt("espService", r.incident.platform.as_deref());
        x.opt("screenName", u.screen_name.as_deref());
        if let Some(ip) = &u.ip {
            x.open("ipCaptureEvent");
            x.text("ipAddress", &ip.address);
            x.text("eventName", event_name(&ip.event));
            x.opt("dateTime", ip.at.as_deref());
            x.close("ipCaptureEvent");
        }
        x.close("personOrUserReported");
    }
    x.text("additionalInfo", &additional_info(r));
    x.close("report");
    x.out
}

fn additional_info(r: &Report) -> String {
    let mut s = format!("hashline report {} matched {} known-hash list entr", r.report_id, r.matches.len());
    s.push_str(if r.matches.len() == 1 { "y" } else { "ies" });
    s.push_str(": ");
    let parts: Vec<String> = r
        .matches
        .iter()
        .map(|m| {
            format!(
                "{} v{} entry {} ({}{}, distance {})",
                m.list,
                m.list_version,
                m.entry_id,
                m.signal,
                m.classification.as_deref().map(|c| format!(", {c}")).unwrap_or_default(),
                m.distance
            )
        })
        .collect();
    s.push_str(&parts.join("; "));
    s.push_str(match &r.review {
        Review::AutoReported { .. } => ". Matched automatically; no person viewed the file.",
        Review::PendingReview { .. } => ". Not yet reviewed.",
        Review::Confirmed { .. } => ". Confirmed by a hotline analyst.",
    });
    s
}

fn file_details_xml(r: &Report) -> String {
    let mut x = Xml::new();
    x.open("fileDetails");
    x.text("reportId", "0");
    x.text("fileId", "");
    x.opt("fileName", r.evidence.as_ref().map(|e| e.id.as_str()));
    x.opt("originalFileName", r.file.name.as_deref());
    x.opt("uploadedToEspTimestamp", r.incident.uploaded_at.as_deref());
    x.opt("locationOfFile", r.incident.source_url.as_deref());
    // Only an analyst's confirmation means a person viewed the file.
    x.text("fileViewedByEsp", if matches!(r.review, Review::Confirmed { .. }) { "true" } else { "false" });
    x.text("exifViewedByEsp", "false");
    x.text("publiclyAvailable", if r.incident.source_url.is_some() { "true" } else { "false" });
    x.text("fileRelevance", "Reported");
    if let Some(c) = r.assessment.industry_classification {
        x.text("industryClassification", c.as_str());
    }
    x.attr_text("originalFileHash", ("hashType", "MD5"), &r.file.md5);
    x.attr_text("originalFileHash", ("hashType", "SHA1"), &r.file.sha1);
    x.attr_text("originalFileHash", ("hashType", "SHA256"), &r.file.sha256);
    if let Some(pdq) = &r.file.pdq {
        x.attr_text("originalFileHash", ("hashType", "PDQ"), pdq);
    }
    if let Some(ip) = r.uploader.as_ref().and_then(|u| u.ip.as_ref()) {
        x.open("ipCaptureEvent");
        x.text("ipAddress", &ip.address);
        x.text("eventName", event_name(&ip.event));
        x.opt("dateTime", ip.at.as_deref());
        x.close("ipCaptureEvent");
    }
    let mut info = format!("hashline report {}", r.report_id);
    if let Some(l) = &r.file.location {
        info.push_str(&format!("; file found at {} under the scanned folder {}", l.path, l.root));
    }
    if let Some(v) = &r.file.video {
        info.push_str(&format!(
            "; video: {} {}x{}, {:.1} s at {:.2} frames/s, {} frames hashed (vPDQ, one per {} s)",
            v.codec, v.width, v.height, v.duration_seconds, v.frame_rate, v.frames_hashed, v.seconds_per_hash
        ));
    }
    for m in &r.matches {
        let Some(v) = &m.video else { continue };
        let times: Vec<String> = v.frames.iter().map(|f| format!("{:.1} s", f.timestamp)).collect();
        let what = if m.signal == "vpdq" { "the listed video" } else { "the listed picture" };
        info.push_str(&format!(
            "; {what} {} entry {} matched {:.0} % of the video's frames, at {}",
            m.list,
            m.entry_id,
            v.query_percent,
            times.join(", ")
        ));
    }
    x.text("additionalInfo", &info);
    x.close("fileDetails");
    x.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let mut x = Xml::new();
        x.text("a", "<b>&\"");
        assert!(x.out.ends_with("<a>&lt;b&gt;&amp;&quot;</a>\n"), "{}", x.out);
    }
}
