//! `hashline lists` and `hashline match` end to end, on the synthetic sample lists.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its message.

mod util;

use util::{bridge_like, encode_jpeg, encode_png, hashline, TempDir};

fn samples(name: &str) -> String {
    format!("{}/../../hashlists/samples/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_format_imports_its_sample() {
    let store = TempDir::new("store-formats");
    let s = store.path_str();
    for (name, format) in [
        ("pytx", "pytx-file"),
        ("pytxcsv", "pytx-csv"),
        ("ncmec", "ncmec-xml"),
        ("vics", "vics-json"),
        ("hex", "hex"),
    ] {
        let file = match format {
            "pytx-file" => "pytx-file.txt",
            "pytx-csv" => "pytx.csv",
            "ncmec-xml" => "ncmec.xml",
            "vics-json" => "vics.json",
            _ => "plain.hex",
        };
        let path = samples(file);
        let out = hashline(&[
            "lists", "import", "--store", s, "--name", name, "--format", format, "--strict", &path,
        ]);
        assert_eq!(out.code, 0, "{format}: {}", out.stderr);
        let report = &out.json_lines()[0];
        assert_eq!(report["version"], 1);
        assert!(report["active"].as_u64().unwrap() >= 2, "{format}: {report}");
        assert_eq!(report["skipped"], 0);
    }
    let stats = hashline(&["lists", "stats", "--store", s]);
    assert_eq!(stats.code, 0);
    let lines = stats.json_lines();
    assert_eq!(lines.len(), 5);
    let ncmec = lines.iter().find(|l| l["manifest"]["name"] == "ncmec").unwrap();
    // 2 images (md5+sha1+pdq+photodna, md5+pdq) and a video (md5): photodna is kept, not matched.
    assert_eq!(ncmec["active"]["photodna"], 1);
    assert_eq!(ncmec["active"]["pdq"], 2);
    // Stats never print hash values.
    assert!(!stats.stdout.contains(&std::fs::read_to_string(samples("plain.hex")).unwrap()[..32]));
    assert_eq!(hashline(&["lists", "verify", "--store", s]).code, 0);

    // Export round-trips through the hashline format.
    let exported = store.path().join("ncmec.hll");
    assert_eq!(
        hashline(&["lists", "export", "--store", s, "--name", "ncmec", "-o", exported.to_str().unwrap()])
            .code,
        0
    );
    let out = hashline(&[
        "lists",
        "import",
        "--store",
        s,
        "--name",
        "ncmec-copy",
        "--format",
        "hashline",
        "--strict",
        exported.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json_lines()[0]["active"], 7);
}

#[test]
fn broken_input_is_reported_with_its_place_and_strict_keeps_the_old_version() {
    let store = TempDir::new("store-broken");
    let s = store.path_str();
    let good = store.write("good.txt", format!("md5 {}\n", "a".repeat(32)).as_bytes());
    let bad = store.write("bad.txt", format!("md5 {}\nmd5 nothex\n", "b".repeat(32)).as_bytes());
    assert_eq!(
        hashline(&[
            "lists",
            "import",
            "--store",
            s,
            "--name",
            "l",
            "--format",
            "pytx-file",
            good.to_str().unwrap()
        ])
        .code,
        0
    );
    let strict = hashline(&[
        "lists",
        "import",
        "--store",
        s,
        "--name",
        "l",
        "--format",
        "pytx-file",
        "--strict",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(strict.code, 2);
    assert!(
        strict.stderr.contains("bad.txt: line 2:") && strict.stderr.contains("32 hex digits"),
        "{}",
        strict.stderr
    );
    let stats = hashline(&["lists", "stats", "--store", s]).json_lines();
    assert_eq!(stats[0]["manifest"]["version"], 1, "strict failure left the old version active");
    let lenient = hashline(&[
        "lists",
        "import",
        "--store",
        s,
        "--name",
        "l",
        "--format",
        "pytx-file",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(lenient.code, 1, "some records skipped → exit 1: {}", lenient.stderr);
    assert!(lenient.stderr.contains("skipped: "));
    assert!(lenient.stderr.contains("1 of 2 records imported, 1 skipped"), "{}", lenient.stderr);
    assert_eq!(lenient.json_lines()[0]["active"], 2);
}

fn import(s: &str, name: &str, format: &str, extra: &[&str], file: &std::path::Path) -> util::Output {
    let mut args = vec!["lists", "import", "--store", s, "--name", name, "--format", format];
    args.extend_from_slice(extra);
    args.push(file.to_str().unwrap());
    hashline(&args)
}

fn active_version(s: &str, name: &str) -> (u64, u64) {
    let stats = hashline(&["lists", "stats", "--store", s]).json_lines();
    let l = stats.iter().find(|l| l["manifest"]["name"] == name).unwrap();
    let active: u64 = l["active"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    (l["manifest"]["version"].as_u64().unwrap(), active)
}

#[test]
fn an_import_that_accepts_nothing_fails_and_keeps_the_list() {
    let store = TempDir::new("store-empty-import");
    let s = store.path_str();
    let good: String = (1..=10).map(|i| format!("md5 {i:032x}\n")).collect();
    let good = store.write("good.txt", good.as_bytes());
    assert_eq!(import(s, "l", "pytx-file", &[], &good).code, 0);
    // Every record rejected (here: CSV given to the pytx-file reader): with and without
    // --replace, nothing changes and the exit status says so.
    let junk = store.write("junk.csv", b"signal_type,signal_str\nmd5,nothex\nmd5,alsobad\n");
    for extra in [&[][..], &["--replace"][..]] {
        let out = import(s, "l", "pytx-file", extra, &junk);
        assert_eq!(out.code, 2, "{extra:?}: {}", out.stderr);
        assert!(out.stderr.contains("no record of the input was accepted"), "{}", out.stderr);
        assert!(out.stderr.contains("previous one stays active"), "{}", out.stderr);
        assert_eq!(active_version(s, "l"), (1, 10), "{extra:?}");
    }
    // Unless an empty version is asked for.
    let out = import(s, "l", "pytx-file", &["--replace", "--allow-empty", "--force"], &junk);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(active_version(s, "l"), (2, 0));
}

#[test]
fn a_replace_that_drops_most_of_a_list_needs_force() {
    let store = TempDir::new("store-replace-drop");
    let s = store.path_str();
    let all: String = (1..=10).map(|i| format!("md5 {i:032x}\n")).collect();
    let all = store.write("all.txt", all.as_bytes());
    let few = store.write("few.txt", format!("md5 {:032x}\nmd5 {:032x}\n", 1, 2).as_bytes());
    let most: String = (1..=6).map(|i| format!("md5 {i:032x}\n")).collect();
    let most = store.write("most.txt", most.as_bytes());
    assert_eq!(import(s, "l", "pytx-file", &[], &all).code, 0);
    let out = import(s, "l", "pytx-file", &["--replace"], &few);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("leave 2 of 10 active entries (80% dropped"), "{}", out.stderr);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    assert_eq!(active_version(s, "l"), (1, 10));
    // Dropping 40 % is within the default 50 %.
    assert_eq!(import(s, "l", "pytx-file", &["--replace"], &most).code, 0);
    assert_eq!(active_version(s, "l"), (2, 6));
    // --force replaces anyway.
    assert_eq!(import(s, "l", "pytx-file", &["--replace", "--force"], &few).code, 0);
    assert_eq!(active_version(s, "l"), (3, 2));
}

#[test]
fn threatexchange_dataset_print_output_imports() {
    // What `threatexchange dataset -P` of python-threatexchange 1.2.17 prints for its sample
    // collaboration (the synthetic sample values; non-hash signal types are kept, not matched).
    let store = TempDir::new("store-pytx-dataset");
    let s = store.path_str();
    let text = "\
pdq f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22 'Sample Signals' INVESTIGATION_SEED
video_md5 d41d8cd98f00b204e9800998ecf8427e 'Sample Signals' INVESTIGATION_SEED
video_sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 'Sample Signals' INVESTIGATION_SEED
url_md5 95c3a3934d38b06959d4f6d5bfe48a79 'Sample Signals' INVESTIGATION_SEED
";
    let file = store.write("dataset.txt", text.as_bytes());
    let out = import(s, "pytx", "pytx-file", &[], &file);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json_lines()[0]["active"], 4);
    let stats = hashline(&["lists", "stats", "--store", s]).json_lines();
    assert_eq!(stats[0]["active"]["pdq"], 1);
    assert_eq!(stats[0]["active"]["md5"], 1);
    assert_eq!(stats[0]["active"]["sha256"], 1);
}

#[test]
fn ncmec_tombstones_remove_entries_in_the_next_version() {
    let store = TempDir::new("store-tomb");
    let s = store.path_str();
    let v1 = store.write("v1.xml", br#"<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><images><image><id>a</id><fingerprints><md5>00000000000000000000000000000001</md5></fingerprints></image><image><id>b</id><fingerprints><md5>00000000000000000000000000000002</md5></fingerprints></image></images></queryResult>"#);
    let v2 = store.write("v2.xml", br#"<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><deletedImages><deletedImage><id>a</id></deletedImage></deletedImages></queryResult>"#);
    for f in [&v1, &v2] {
        assert_eq!(
            hashline(&[
                "lists",
                "import",
                "--store",
                s,
                "--name",
                "n",
                "--format",
                "ncmec-xml",
                "--strict",
                f.to_str().unwrap()
            ])
            .code,
            0
        );
    }
    let out = hashline(&[
        "match",
        "--store",
        s,
        "00000000000000000000000000000001",
        "00000000000000000000000000000002",
    ]);
    let lines = out.json_lines();
    assert_eq!(lines[0]["matched"], false, "tombstoned entry no longer matches");
    assert_eq!(lines[1]["matched"], true);
    assert_eq!(lines[1]["matches"][0]["entry_id"], "ncmec:b");
    assert_eq!(lines[1]["matches"][0]["list_version"], 2);
}

#[test]
fn hash_then_match_finds_near_duplicates_with_provenance_and_allow_lists_silence_them() {
    let dir = TempDir::new("match-e2e");
    let (w, h) = (400usize, 260usize);
    let rgb = bridge_like(w, h);
    let original = dir.write("media/original.png", &encode_png(&rgb, w, h));
    let _copy = dir.write("media/copy.jpg", &encode_jpeg(&rgb, w, h, 70));
    // List the original's PDQ with a classification.
    let hashed = hashline(&["hash", original.to_str().unwrap()]).json_lines();
    let pdq = hashed[0]["pdq"].as_str().unwrap().to_string();
    let list = dir.write("list.txt", format!("pdq {pdq}\n").as_bytes());
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let out = hashline(&[
        "lists",
        "import",
        "--store",
        s,
        "--name",
        "demo",
        "--source",
        "local",
        "--classification",
        "A1",
        "--format",
        "pytx-file",
        list.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    let media = dir.path().join("media");
    let hash_out = hashline(&["hash", media.to_str().unwrap()]);
    let matched = util::run_with_stdin(&["match", "--store", s, "--stdin"], &hash_out.stdout);
    assert_eq!(matched.code, 1, "matches → exit 1: {}", matched.stderr);
    let lines = matched.json_lines();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        assert_eq!(l["matched"], true, "{l}");
        let m = &l["matches"][0];
        assert_eq!(
            (m["list"].as_str(), m["source"].as_str(), m["classification"].as_str()),
            (Some("demo"), Some("local"), Some("A1"))
        );
        assert!(m["distance"].as_u64().unwrap() <= 31);
    }

    // An allow-list entry for the same PDQ suppresses both.
    let allow = dir.write("allow.txt", format!("pdq {pdq}\n").as_bytes());
    assert_eq!(
        hashline(&[
            "lists",
            "import",
            "--store",
            s,
            "--name",
            "fp",
            "--allow",
            "--format",
            "pytx-file",
            allow.to_str().unwrap()
        ])
        .code,
        0
    );
    let silenced = util::run_with_stdin(&["match", "--store", s, "--stdin"], &hash_out.stdout);
    assert_eq!(silenced.code, 0);
    for l in silenced.json_lines() {
        assert_eq!(l["matched"], false);
        assert_eq!(l["suppressed_by_allow_list"], 1);
    }
}

#[test]
fn signatures_are_enforced_once_a_key_is_trusted() {
    let dir = TempDir::new("sig");
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let key = dir.path().join("pub.key");
    assert_eq!(hashline(&["lists", "keygen", key.to_str().unwrap()]).code, 0);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the secret key is owner-only from the start");
        let again = hashline(&["lists", "keygen", key.to_str().unwrap()]);
        assert_eq!(again.code, 2, "an existing key is never overwritten");
    }
    std::fs::create_dir_all(store.join("trusted-keys")).unwrap();
    std::fs::copy(key.with_extension("pub"), store.join("trusted-keys/pub.pub")).unwrap();
    let list = dir.write("l.txt", format!("md5 {}\n", "c".repeat(32)).as_bytes());
    let args = ["lists", "import", "--store", s, "--name", "signed", "--format", "pytx-file"];
    let unsigned = hashline(&[&args[..], &[list.to_str().unwrap()]].concat());
    assert_eq!(unsigned.code, 2);
    assert!(unsigned.stderr.contains("unsigned"), "{}", unsigned.stderr);
    let sign = |file: &std::path::Path, name: &str, extra: &[&str]| {
        let mut a =
            vec!["lists", "sign", "--key", key.to_str().unwrap(), "--name", name, "--format", "pytx-file"];
        a.extend_from_slice(extra);
        a.push(file.to_str().unwrap());
        let out = hashline(&a);
        assert_eq!(out.code, 0, "{}", out.stderr);
        format!("{}.sig", file.display())
    };
    let sig = sign(&list, "signed", &["--sequence", "10"]);
    let signed = hashline(&[&args[..], &["--signature", &sig, list.to_str().unwrap()]].concat());
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    {
        use std::os::unix::fs::PermissionsExt;
        for f in std::fs::read_dir(store.join("lists/signed")).unwrap() {
            let f = f.unwrap().path();
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is readable by others", f.display());
        }
    }
    // Tampering after signing is caught.
    let original = std::fs::read(&list).unwrap();
    std::fs::write(&list, format!("md5 {}\n", "d".repeat(32))).unwrap();
    let tampered = hashline(&[&args[..], &["--signature", &sig, list.to_str().unwrap()]].concat());
    assert_eq!(tampered.code, 2);
    assert!(tampered.stderr.contains("not the one that was signed"), "{}", tampered.stderr);
    std::fs::write(&list, &original).unwrap();
    assert_eq!(hashline(&["lists", "verify", "--store", s]).code, 0);

    // A newer signed update, then the older file again: a replay is refused.
    let newer = dir.write("newer.txt", format!("md5 {}\n", "e".repeat(32)).as_bytes());
    let newer_sig = sign(&newer, "signed", &["--sequence", "11"]);
    assert_eq!(
        hashline(&[&args[..], &["--signature", &newer_sig, newer.to_str().unwrap()]].concat()).code,
        0
    );
    let replay = hashline(&[&args[..], &["--signature", &sig, list.to_str().unwrap()]].concat());
    assert_eq!(replay.code, 2);
    assert!(replay.stderr.contains("not above the current version's 11"), "{}", replay.stderr);
    // Signed for one list, imported under another name or as an allow-list: refused.
    let relabel = ["lists", "import", "--store", s, "--name", "other", "--format", "pytx-file", "--allow"];
    let out = hashline(&[&relabel[..], &["--signature", &newer_sig, newer.to_str().unwrap()]].concat());
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("signed for the list \"signed\""), "{}", out.stderr);
    let as_allow = ["lists", "import", "--store", s, "--name", "signed", "--format", "pytx-file", "--allow"];
    let out = hashline(&[&as_allow[..], &["--signature", &newer_sig, newer.to_str().unwrap()]].concat());
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("signed as a Known list"), "{}", out.stderr);
    // An update cannot be imported as the whole list.
    let third = dir.write("third.txt", format!("md5 {}\n", "f".repeat(32)).as_bytes());
    let third_sig = sign(&third, "signed", &["--sequence", "12"]);
    let out = hashline(
        &[&args[..], &["--replace", "--force", "--signature", &third_sig, third.to_str().unwrap()]].concat(),
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("signed as an update"), "{}", out.stderr);

    // A version written by hand with a copied signed_by is refused at load, not only at import.
    let dirl = store.join("lists/signed");
    let current: u64 = std::fs::read_to_string(dirl.join("CURRENT")).unwrap().trim().parse().unwrap();
    let hll = std::fs::read_to_string(dirl.join(format!("v{current}.hll"))).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(hll.lines().next().unwrap()).unwrap();
    manifest["manifest"]["version"] = (current + 1).into();
    manifest["manifest"]["entries"] = 0.into();
    manifest["manifest"]["entries_sha256"] =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into();
    std::fs::write(dirl.join(format!("v{}.hll", current + 1)), format!("{manifest}\n")).unwrap();
    std::fs::write(dirl.join("CURRENT"), format!("{}\n", current + 1)).unwrap();
    let verify = hashline(&["lists", "verify", "--store", s]);
    assert_eq!(verify.code, 1, "{}", verify.stdout);
    assert!(verify.stdout.contains("DAMAGED") && verify.stdout.contains("missing"), "{}", verify.stdout);
    let hashes = hashline(&["match", "--store", s, &"e".repeat(32)]);
    assert_eq!(hashes.code, 2, "a store that does not verify is not used: {}", hashes.stderr);
    // Put back, it verifies again.
    std::fs::write(dirl.join("CURRENT"), format!("{current}\n")).unwrap();
    assert_eq!(hashline(&["lists", "verify", "--store", s]).code, 0);

    // A damaged key folder never turns the checks off.
    let keys = store.join("trusted-keys");
    let unsigned_args = ["lists", "import", "--store", s, "--name", "loose", "--format", "pytx-file"];
    let try_unsigned = || hashline(&[&unsigned_args[..], &[list.to_str().unwrap()]].concat());
    std::fs::rename(keys.join("pub.pub"), keys.join("pub.PUB")).unwrap();
    let out = try_unsigned();
    assert_eq!(out.code, 2, "*.PUB: {}", out.stderr);
    std::fs::remove_file(keys.join("pub.PUB")).unwrap();
    let out = try_unsigned();
    assert_eq!(out.code, 2, "empty folder: {}", out.stderr);
    assert!(out.stderr.contains("holds no key"), "{}", out.stderr);
    std::fs::remove_dir(&keys).unwrap();
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &keys).unwrap();
    let out = try_unsigned();
    assert_eq!(out.code, 2, "dangling link: {}", out.stderr);
    std::fs::remove_file(&keys).unwrap();
    std::fs::write(&keys, "not a folder").unwrap();
    let out = try_unsigned();
    assert_eq!(out.code, 2, "a file: {}", out.stderr);
}

#[test]
fn imports_are_audited_when_a_data_folder_is_configured() {
    let dir = util::TempDir::new("lists-audit");
    let list = dir.write("l.txt", format!("md5 {}\n", "cd".repeat(16)).as_bytes());
    let data = dir.path().join("data");
    let args = [
        "lists",
        "import",
        "--store",
        "store",
        "--name",
        "syn",
        "--format",
        "pytx-file",
        list.to_str().unwrap(),
    ];
    let out = util::hashline_in(dir.path(), &[("HASHLINE_DATA_DIR", data.to_str().unwrap())], &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let log = std::fs::read_to_string(data.join("audit.log")).unwrap();
    assert!(log.contains("\"action\":\"list.import\"") && log.contains("\"target\":\"syn\""), "{log}");
    assert!(!log.contains(&"cd".repeat(16)), "no hash values in the audit log");
    // Without one, nothing is written anywhere.
    let out = util::hashline_in(dir.path(), &[], &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(data.join("audit.log")).unwrap(), log);
}
