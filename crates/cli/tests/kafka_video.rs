//! Videos through `hashline run` and a real Kafka-protocol broker (tansu): a listed video
//! re-encoded and scaled, and a video showing a listed picture for three seconds, are both
//! reported with their matching frames' timestamps; broken videos on the same partitions are
//! errors of their own and never stall them (every offset committed to the end).
//!
//! Needs `tansu`, Python's `confluent_kafka` and FFmpeg; `.ci/run` installs them.

#![allow(clippy::unwrap_used)]

mod util;

use std::path::Path;

use serde_json::Value;
use util::kafka::*;
use util::TempDir;

#[test]
fn videos_through_the_broker_are_reported_with_timestamps_and_broken_ones_do_not_stall() {
    let Some(bin) = prerequisites() else { return };
    let dir = TempDir::new("kafka-video");
    // Small enough for the broker's default message size.
    let v = util::videos::make(dir.path(), &dir.path().join("media"), (192, 144), "mp4", "40");
    let store = v.store.clone();

    let b = Broker::start(bin, dir.path());
    let read = |p: &std::path::Path| std::fs::read(p).unwrap();
    let mut truncated = read(&v.copy);
    truncated.truncate(truncated.len() / 3);
    let rec = |id: &str, value: Vec<u8>| Rec {
        id: Some(id.into()),
        value,
        extra: vec![("hashline-content-type", "video/mp4".into())],
    };
    let mut recs = Vec::new();
    // Broken videos first, on every partition, then the real ones.
    for k in 0..3 {
        recs.push(rec(&format!("broken-{k}"), b"\x00\x00\x00\x18ftypmp42 broken".to_vec()));
        recs.push(rec(&format!("truncated-{k}"), truncated.clone()));
    }
    recs.push(rec("copy", read(&v.copy)));
    recs.push(rec("slideshow", read(&v.slideshow)));
    recs.push(rec("other", read(&v.other)));
    for r in &recs {
        assert!(
            r.value.len() < 900_000,
            "{:?}: {} bytes is over the broker's message size",
            r.id,
            r.value.len()
        );
    }
    produce(&b, dir.path(), &recs);

    let data = dir.path().join("data");
    let run = start_run_store(&b, &store, &data, "video", "", "");
    run.wait_for(recs.len() as u64, 120);
    let metrics = run.scrape();
    let started = std::time::Instant::now();
    while !committed_all(&b, "video") {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "offsets not committed to the end");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(run.term().success());
    assert!(metrics.contains("hashline_videos_total{outcome=\"hashed\"} 3"), "{metrics}");
    assert!(metrics.contains("hashline_videos_total{outcome=\"unreadable\"} 6"), "{metrics}");

    let rows = outbox_reports(&data);
    let mut ids: Vec<&str> = rows.iter().map(|r| r["upload_id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, vec!["copy", "slideshow"], "{rows:?}");
    let show = |id: &str| -> Value {
        let row = rows.iter().find(|r| r["upload_id"] == id).unwrap();
        let shown = util::hashline_in(
            Path::new("."),
            &[("HASHLINE_DATA_DIR", data.to_str().unwrap())],
            &["reports", "show", row["report_id"].as_str().unwrap()],
        );
        serde_json::from_str(&shown.stdout).unwrap()
    };
    let copy = show("copy");
    assert_eq!(copy["matches"][0]["signal"], "vpdq");
    assert_eq!(copy["file"]["video"]["frames_hashed"], 8);
    assert!(copy["matches"][0]["video"]["query_percent"].as_f64().unwrap() >= 80.0, "{copy}");
    let slide = show("slideshow");
    let m = &slide["matches"][0];
    assert_eq!(m["signal"], "pdq");
    let times: Vec<f64> =
        m["video"]["frames"].as_array().unwrap().iter().map(|f| f["timestamp"].as_f64().unwrap()).collect();
    assert_eq!(times, vec![3.0, 4.0, 5.0], "{m}");
}

#[test]
fn a_decoder_that_hangs_on_one_video_is_stopped_at_its_limit_and_the_stream_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let Some(bin) = prerequisites() else { return };
    let dir = TempDir::new("kafka-video-hang");
    let v = util::videos::make(dir.path(), &dir.path().join("media"), (192, 144), "mp4", "40");
    // A frame decoder that hangs on any video carrying a marker (and decodes the others with
    // hashline's own): the marker bytes are appended to a copy of a good video, after its index.
    let decoder = dir.path().join("decoder-hangs-on-marker");
    std::fs::write(
        &decoder,
        format!(
            "#!/bin/sh\nprev=\nfor a; do [ \"$prev\" = --input ] && f=$a; prev=$a; done\n\
             if grep -q HASHLINE-HANG-MARKER \"$f\"; then sleep 120; fi\nexec {} __video-decoder \"$@\"\n",
            env!("CARGO_BIN_EXE_hashline")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&decoder, std::fs::Permissions::from_mode(0o755)).unwrap();
    let b = Broker::start(bin, dir.path());
    let good = std::fs::read(&v.copy).unwrap();
    let mut hanging = std::fs::read(&v.other).unwrap();
    hanging.extend_from_slice(b"HASHLINE-HANG-MARKER");
    let rec = |id: &str, value: Vec<u8>| Rec { id: Some(id.into()), value, extra: vec![] };
    let mut recs: Vec<Rec> = (0..3).map(|k| rec(&format!("hangs-{k}"), hanging.clone())).collect();
    recs.push(rec("copy", good));
    produce(&b, dir.path(), &recs);
    let data = dir.path().join("data");
    let top =
        format!("[video]\ndecoder = \"{}\"\n\n[video.limits]\nmax_decode_seconds = 3\n\n", decoder.display());
    let started = std::time::Instant::now();
    let run = start_run_store(&b, &v.store, &data, "hang", "", &top);
    run.wait_for(recs.len() as u64, 60);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(45),
        "hung decoders stopped at their 3 s limit"
    );
    let metrics = run.scrape();
    // Every partition that received records is committed to its end (the keys may leave one
    // partition empty).
    let done = || {
        let offs = client(&["offsets", &b.addr(), "hang", "hashline.uploads"]);
        offs.as_array().unwrap().iter().all(|p| p["high"] == 0 || p["committed"] == p["high"])
    };
    while !done() {
        assert!(started.elapsed() < std::time::Duration::from_secs(90), "offsets not committed to the end");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(run.term().success());
    assert!(metrics.contains("hashline_videos_total{outcome=\"timed_out\"} 3"), "{metrics}");
    let rows = outbox_reports(&data);
    assert_eq!(rows.iter().map(|r| r["upload_id"].as_str().unwrap()).collect::<Vec<_>>(), vec!["copy"]);
}
