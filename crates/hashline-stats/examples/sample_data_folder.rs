//! Writes a synthetic data folder (benign made-up uploads, synthetic hashes) with reports,
//! review decisions, reveals and examined-file counts, for trying `hashline stats` and for the
//! screenshot in docs/stats.md:
//!
//! ```text
//! cargo run -p hashline-stats --example sample_data_folder -- /tmp/stats-sample
//! hashline stats --from 2026-11-23 --to 2026-12-06 --data-dir /tmp/stats-sample -o stats.html
//! ```

use hashline_report::{Actor, Channel, DataDir, Detection, FileInfo, Recorded, ReportStage, Reporter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: sample_data_folder DIR")?);
    if dir.join("outbox.db").exists() {
        return Err(format!("{} already holds a data folder", dir.display()).into());
    }
    let data = DataDir::open(&dir, &Default::default())?;
    let reporter =
        Reporter { organisation: "Sample".into(), contact: "x@example.org".into(), country: "KH".into() };
    let stage = ReportStage::new(&data, reporter, Default::default());
    let now = hashline_report::unix_now();
    data.outbox.add_examined(Channel::Kafka, now, 48_210)?;
    data.outbox.add_examined(Channel::Scan, now, 6_400)?;
    let at = |t: i64| {
        humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t as u64))
            .to_string()
    };
    let platforms = ["photo-share", "chat-app", "small-forum"];
    let classes = [Some("A1"), Some("A2"), Some("B1"), Some("B2"), None];
    let mut reviewed = Vec::new();
    for i in 0..64u64 {
        let near = i % 3 == 0;
        let detected = now - 7200 - (i as i64) * 40;
        let d = Detection {
            upload_id: format!("sample-{i}"),
            channel: Channel::Kafka,
            detected_at: at(detected),
            uploaded_at: Some(at(detected - 1 - (i as i64 % 4))),
            platform: Some(platforms[(i % 7 % 3) as usize].into()),
            file: FileInfo {
                size: 50_000 + i,
                md5: format!("{i:032x}"),
                sha1: format!("{i:040x}"),
                sha256: format!("{i:064x}"),
                ..FileInfo::default()
            },
            matches: vec![hashline_lists::Match {
                list: if near { "sample-pdq".into() } else { "sample-md5".into() },
                source: "synthetic".into(),
                list_version: 1,
                entry_id: format!("e{i}"),
                classification: classes[(i % 5) as usize].map(Into::into),
                signal: if near { hashline_lists::SignalType::Pdq } else { hashline_lists::SignalType::Md5 },
                value: format!("{:064x}", i + 1),
                distance: if near { 6 + (i % 20) as u32 } else { 0 },
                dihedral: None,
                border_trimmed: None,
                pytx_conversion: false,
                video: None,
            }],
            ..Detection::default()
        };
        if let Some(Recorded::Queued(r, _)) = stage.record(&d, None)? {
            if near {
                reviewed.push(r.report_id.clone());
            } else if i % 4 != 1 {
                data.outbox.mark_delivered(data.outbox.get(&r.report_id)?.seq)?;
            }
        }
    }
    for (k, id) in reviewed.iter().enumerate() {
        let actor = Actor::User(["analyst-1", "analyst-2"][k % 2].into());
        data.audit.append(&actor, "case.reveal", id, Default::default())?;
        if k % 6 == 5 {
            data.outbox.dismiss(id, "a different picture")?;
            data.audit.append(&actor, "case.dismiss", id, Default::default())?;
        } else if k % 6 != 4 {
            data.outbox.confirm(id, "analyst", None)?;
            data.audit.append(&actor, "case.confirm", id, Default::default())?;
        }
    }
    println!("sample data folder: {}", dir.display());
    Ok(())
}
