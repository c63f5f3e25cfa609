//! `hashline scan` and `hashline demo` end to end.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its message.

mod util;

use util::{bridge_like, encode_jpeg, encode_png, hashline, store_with_list, TempDir};

#[test]
fn demo_finds_every_planted_copy_and_nothing_else() {
    let dir = TempDir::new("demo");
    let demo = dir.path().join("d");
    let out = hashline(&["demo", "--dir", demo.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let matched: Vec<&str> = out.stdout.lines().filter(|l| l.trim_start().starts_with("MATCH")).collect();
    assert_eq!(matched.len(), 16, "{}", out.stdout);
    // Sentences for people, not Rust debug text.
    assert!(!out.stdout.contains("[(\"") && !out.stdout.contains("1 reports"), "{}", out.stdout);
    assert!(out.stdout.contains("against the lists demo-"), "{}", out.stdout);
    for planted in [
        "exact-copy",
        "reencoded",
        "resized",
        "rotated",
        "mirrored",
        "greyscale",
        "watermarked",
        "pillarboxed",
        "clip-reencoded",
        "picture-in-video",
    ] {
        assert!(matched.iter().any(|l| l.contains(planted)), "{planted} not found:\n{}", out.stdout);
    }
    assert!(matched.iter().any(|l| l.contains("rotate90")), "rotation found through the dihedral hashes");
    assert!(
        matched.iter().any(|l| l.contains("pillarboxed") && l.contains("border_trimmed")),
        "bars found through the border_trimmed variant"
    );
    assert!(
        matched.iter().any(|l| l.contains("clip-reencoded") && l.contains("demo-vpdq v1 vPDQ")),
        "the re-encoded clip found by vPDQ: {}",
        out.stdout
    );
    assert!(
        matched.iter().any(|l| l.contains("picture-in-video") && l.contains("frames at 3.0 s, 4.0 s, 5.0 s")),
        "the listed picture found inside the video, with its times: {}",
        out.stdout
    );
    for distinct in ["rings", "marble", "notes"] {
        assert!(!matched.iter().any(|l| l.contains(distinct)), "{distinct} must not match");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(demo.join("reports/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["matched_files"], 16);
    assert_eq!(summary["files"], 19);
    assert_eq!(summary["errors"], 0);
    assert_eq!(summary["pdq_skipped_not_image"], 3);
    assert_eq!(summary["videos_hashed"], 2);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(demo.join("evidence.key")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the demo's evidence key is owner-only");
    }
    // Running it again replaces the earlier demo and gives the same result.
    let again = hashline(&["demo", "--dir", demo.to_str().unwrap()]);
    assert_eq!(again.stdout.lines().filter(|l| l.trim_start().starts_with("MATCH")).count(), 16);
}

fn store_with(dir: &TempDir, pdq: &str) -> String {
    util::store_with_list(dir, &format!("pdq {pdq}\n"))
}

#[test]
fn two_files_of_the_same_name_in_different_folders_keep_their_paths() {
    let dir = TempDir::new("scan-same-name");
    let (w, h) = (360usize, 240usize);
    let rgb = bridge_like(w, h);
    let png = encode_png(&rgb, w, h);
    dir.write("media/phone/DCIM/IMG_0001.jpg", &encode_jpeg(&rgb, w, h, 80));
    dir.write("media/laptop/IMG_0001.jpg", &encode_jpeg(&rgb, w, h, 70));
    let listed = dir.write("listed.png", &png);
    let pdq =
        hashline(&["hash", listed.to_str().unwrap()]).json_lines()[0]["pdq"].as_str().unwrap().to_string();
    let store = store_with(&dir, &pdq);
    let out = dir.path().join("r");
    let media = dir.path().join("media");
    let scan =
        hashline(&["scan", media.to_str().unwrap(), "--store", &store, "--out", out.to_str().unwrap()]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    let mut paths: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "summary.json")
        .map(|p| {
            let r: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            assert_eq!(r["file"]["name"], "IMG_0001.jpg");
            r["file"]["location"]["path"].as_str().unwrap().to_string()
        })
        .collect();
    paths.sort();
    assert_eq!(paths, vec!["laptop/IMG_0001.jpg", "phone/DCIM/IMG_0001.jpg"]);
}

#[test]
fn exit_codes_reports_and_summary_add_up() {
    let dir = TempDir::new("scan");
    let (w, h) = (360usize, 240usize);
    let rgb = bridge_like(w, h);
    let listed = dir.write("listed.png", &encode_png(&rgb, w, h));
    let pdq =
        hashline(&["hash", listed.to_str().unwrap()]).json_lines()[0]["pdq"].as_str().unwrap().to_string();
    let store = store_with(&dir, &pdq);

    // Nothing matches: exit 0, no report.
    let clean = dir.path().join("clean");
    std::fs::create_dir_all(&clean).unwrap();
    std::fs::write(clean.join("a.txt"), "text").unwrap();
    let mut other = bridge_like(w, h);
    other.reverse();
    std::fs::write(clean.join("b.png"), encode_png(&other, w, h)).unwrap();
    let out_dir = dir.path().join("r0");
    let out =
        hashline(&["scan", clean.to_str().unwrap(), "--store", &store, "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let names: Vec<_> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec!["summary.json"], "a file that does not match leaves no trace");

    // Errors only: exit 2.
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    let jpeg = encode_jpeg(&rgb, w, h, 90);
    std::fs::write(broken.join("t.jpg"), &jpeg[..jpeg.len() / 3]).unwrap();
    let out = hashline(&[
        "scan",
        broken.to_str().unwrap(),
        "--store",
        &store,
        "--out",
        dir.path().join("r1").to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);

    // Matches (and an error): exit 1, one report per matched file, --json lines.
    let mixed = dir.path().join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    std::fs::write(mixed.join("copy.jpg"), encode_jpeg(&rgb, w, h, 75)).unwrap();
    std::fs::write(mixed.join("t.jpg"), &jpeg[..jpeg.len() / 3]).unwrap();
    std::fs::write(mixed.join("n.txt"), "x").unwrap();
    std::fs::write(mixed.join("empty.bin"), b"").unwrap();
    std::fs::write(mixed.join("random.bin"), util::random_bytes(10_000, 9)).unwrap();
    std::fs::write(mixed.join("bomb.png"), util::png_bomb_header(60_000, 60_000)).unwrap();
    let r2 = dir.path().join("r2");
    let metrics = dir.path().join("scan.prom");
    let out = hashline(&[
        "scan",
        mixed.to_str().unwrap(),
        "--store",
        &store,
        "--out",
        r2.to_str().unwrap(),
        "--json",
        "--jobs",
        "2",
        "--metrics-out",
        metrics.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines = out.json_lines();
    assert_eq!(lines.iter().filter(|l| l["type"] == "match").count(), 1);
    assert_eq!(lines.iter().filter(|l| l["type"] == "error").count(), 2);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(r2.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["files"], 6);
    assert_eq!(summary["matched_files"], 1);
    assert_eq!(summary["errors"], 2);
    assert_eq!(summary["errors_by_kind"]["truncated"], 1);
    assert_eq!(summary["errors_by_kind"]["too_many_pixels"], 1, "the bomb is refused from its header");
    assert_eq!(summary["pdq_skipped_not_image"], 3, "text, empty and random bytes are skipped, not errors");
    assert_eq!(summary["matches_by_list"]["l"], 1);
    // The hashing and match metrics every source shares, for a textfile collector.
    let prom = std::fs::read_to_string(&metrics).unwrap();
    assert!(prom.contains("hashline_matches_total{list=\"l\",signal=\"pdq\"} 1"), "{prom}");
    assert!(prom.contains("hashline_hash_duration_seconds_count 6"), "{prom}");
    assert!(prom.contains("hashline_pdq_skipped_total{reason=\"truncated\"} 1"), "{prom}");
    let report_name = summary["reports"][0].as_str().unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(r2.join(report_name)).unwrap()).unwrap();
    assert_eq!(report["schema"], "hashline.report/1");
    assert_eq!(report["matches"][0]["list"], "l");
    assert_eq!(report["file"]["location"]["path"], "copy.jpg");
    assert_eq!(
        report["file"]["location"]["root"],
        std::fs::canonicalize(&mixed).unwrap().to_str().unwrap(),
        "the scanned folder, resolved"
    );
    assert!(report["file"]["sha256"].as_str().unwrap().len() == 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(r2.join(report_name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "reports are readable by their owner only");
        assert_eq!(std::fs::metadata(&r2).unwrap().permissions().mode() & 0o777, 0o700);
    }
}

#[test]
fn configuration_file_environment_and_flags_in_that_order() {
    let dir = TempDir::new("config");
    let defaults = util::hashline_in(dir.path(), &[], &["config", "--print"]);
    assert_eq!(defaults.code, 0, "{}", defaults.stderr);
    assert!(
        defaults.stdout.contains("pdq_distance = 31") && defaults.stdout.contains("mode = \"exact\""),
        "{}",
        defaults.stdout
    );

    // ./hashline.toml is read; the environment overrides it.
    dir.write("hashline.toml", b"store = \"from-file\"\n[hash]\nmode = \"fast\"\n");
    let printed =
        util::hashline_in(dir.path(), &[("HASHLINE_STORE", "from-env")], &["config", "--print"]).stdout;
    assert!(printed.contains("store = \"from-env\"") && printed.contains("mode = \"fast\""), "{printed}");
    // The key of earlier releases still works, with a warning that names its new place.
    dir.write("hashline.toml", b"[scan]\nmode = \"fast\"\n");
    let old = util::hashline_in(dir.path(), &[], &["config", "--print"]);
    assert!(old.stdout.contains("[hash]\nmode = \"fast\""), "{}", old.stdout);
    assert!(old.stderr.contains("[scan] mode is deprecated: use [hash] mode"), "{}", old.stderr);

    // Unknown keys are refused with their name.
    dir.write("bad.toml", b"[scan]\nmodee = \"fast\"\n");
    let bad = util::hashline_in(dir.path(), &[], &["--config", "bad.toml", "config", "--print"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("modee"), "{}", bad.stderr);

    // A scan takes its store and output folder from the file.
    let (w, h) = (300usize, 200usize);
    let rgb = bridge_like(w, h);
    let img = dir.write("media/a.png", &encode_png(&rgb, w, h));
    let pdq = hashline(&["hash", img.to_str().unwrap()]).json_lines()[0]["pdq"].as_str().unwrap().to_string();
    dir.write("l.txt", format!("pdq {pdq}\n").as_bytes());
    dir.write("hashline.toml", b"store = \"st\"\n[scan]\nout = \"rep\"\n");
    let imported = util::hashline_in(
        dir.path(),
        &[],
        &["lists", "import", "--name", "x", "--format", "pytx-file", "l.txt"],
    );
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let scanned = util::hashline_in(dir.path(), &[], &["scan", "media"]);
    assert_eq!(scanned.code, 1, "{}", scanned.stderr);
    assert!(dir.path().join("rep/summary.json").is_file());
    // Without any store configured, the error says how to give one.
    std::fs::remove_file(dir.path().join("hashline.toml")).unwrap();
    let none = util::hashline_in(dir.path(), &[], &["scan", "media"]);
    assert_eq!(none.code, 2);
    assert!(none.stderr.contains("--store"), "{}", none.stderr);
}

/// The hash journal and retroactive matching: a file scanned while no list knows it is
/// reported, marked retroactive, once a list adds it — by `hashline retro`, and never twice.
#[test]
fn a_scanned_file_is_reported_retroactively_once_a_list_adds_it() {
    let dir = TempDir::new("retro");
    let (w, h) = (320, 240);
    let exact = encode_png(&bridge_like(w, h), w, h);
    let mut other = bridge_like(w, h);
    other.reverse();
    let near_src = encode_png(&other, w, h);
    dir.write("files/holiday-secret-name.png", &exact);
    dir.write("files/reencoded.jpg", &encode_jpeg(&other, w, h, 80));
    dir.write("files/notes.txt", b"nothing to see");
    let src = dir.write("src/near-src.png", &near_src);
    let store = store_with_list(&dir, &format!("md5 {}\n", "0".repeat(32)));
    let data = dir.path().join("data");
    let (files, data_s) = (dir.path().join("files"), data.to_str().unwrap().to_string());
    let scan = |out: &str| {
        let out_dir = dir.path().join(out);
        let o = hashline(&[
            "scan",
            files.to_str().unwrap(),
            "--store",
            &store,
            "--data-dir",
            &data_s,
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert!(o.code == 0 || o.code == 1, "{}", o.stderr);
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(out_dir.join("summary.json")).unwrap())
            .unwrap()
    };
    let first = scan("out1");
    assert_eq!((first["matched_files"].as_u64(), first["journaled"].as_u64()), (Some(0), Some(3)));
    assert_eq!(first["retro"]["outcome"], "baseline");
    // The journal holds hashes, never names or paths.
    for seg in std::fs::read_dir(data.join("journal")).unwrap() {
        let text = std::fs::read_to_string(seg.unwrap().path()).unwrap();
        assert!(!text.contains("holiday-secret-name") && !text.contains(files.to_str().unwrap()), "{text}");
    }

    // A list adds the MD5 of one file and the PDQ of the picture the other is a copy of.
    let hashes =
        hashline(&["hash", files.join("holiday-secret-name.png").to_str().unwrap(), src.to_str().unwrap()])
            .json_lines();
    let list = dir.write(
        "later.txt",
        format!("md5 {}\npdq {}\n", hashes[0]["md5"].as_str().unwrap(), hashes[1]["pdq"].as_str().unwrap())
            .as_bytes(),
    );
    let imported = hashline(&[
        "lists",
        "import",
        "--store",
        &store,
        "--name",
        "later",
        "--format",
        "pytx-file",
        list.to_str().unwrap(),
    ]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let retro = hashline(&["retro", "--store", &store, "--data-dir", &data_s]);
    assert_eq!(retro.code, 1, "{}{}", retro.stdout, retro.stderr);
    let outcome: serde_json::Value = serde_json::from_str(retro.stdout.trim()).unwrap();
    assert_eq!(
        (outcome["outcome"].as_str(), outcome["reported"].as_u64()),
        (Some("ran"), Some(2)),
        "{outcome}"
    );
    let listed = hashline(&["reports", "list", "--data-dir", &data_s, "--json"]);
    let ids: Vec<String> =
        listed.json_lines().iter().map(|l| l["report_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 2, "{}", listed.stdout);
    for id in &ids {
        let shown = hashline(&["reports", "show", id, "--data-dir", &data_s]);
        let report: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
        assert_eq!(report["retroactive"]["added_in"][0], serde_json::json!({"list": "later", "version": 1}));
        assert!(report["file"].get("name").is_none(), "no file name from the journal");
    }
    // Nothing new the second time, and a rescan finds both live, as reported already.
    let again = hashline(&["retro", "--store", &store, "--data-dir", &data_s]);
    assert_eq!((again.code, again.stdout.trim()), (0, r#"{"outcome":"unchanged"}"#));
    let second = scan("out2");
    assert_eq!((second["matched_files"].as_u64(), second["reports_duplicate"].as_u64()), (Some(2), Some(2)));
    assert_eq!(second["retro"]["outcome"], "unchanged");
}
