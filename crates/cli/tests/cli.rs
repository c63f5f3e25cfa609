//! End-to-end tests of the `hashline` binary on generated, benign files.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its message.

mod util;

use serde_json::Value;
use util::{bridge_like, encode_jpeg, encode_png, hashline, TempDir};

#[test]
fn every_file_gets_a_line_in_input_order_and_hostile_files_do_not_stop_the_run() {
    let dir = TempDir::new("hostile");
    let (w, h) = (320usize, 200usize);
    let rgb = bridge_like(w, h);
    let jpeg = encode_jpeg(&rgb, w, h, 90);
    dir.write("a-good.jpg", &jpeg);
    dir.write("b-truncated.jpg", &jpeg[..jpeg.len() / 2]);
    dir.write("c-empty.bin", b"");
    dir.write("d-random.bin", &util::random_bytes(4096, 7));
    dir.write("e-notes.txt", b"meeting notes, nothing to see\n");
    dir.write("f-bomb.png", &util::png_bomb_header(60_000, 60_000));
    dir.write("g-video.mp4", b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2mp41\0\0\0\x08free");
    dir.write("h-good.png", &encode_png(&rgb, w, h));

    let out = hashline(&["hash", "--jobs", "4", dir.path_str()]);
    assert_eq!(out.code, 1, "errors present → exit 1; stderr: {}", out.stderr);
    let lines = out.json_lines();
    let names: Vec<String> =
        lines.iter().map(|l| l["path"].as_str().unwrap().rsplit('/').next().unwrap().to_string()).collect();
    assert_eq!(
        names,
        [
            "a-good.jpg",
            "b-truncated.jpg",
            "c-empty.bin",
            "d-random.bin",
            "e-notes.txt",
            "f-bomb.png",
            "g-video.mp4",
            "h-good.png"
        ]
    );
    for l in &lines {
        assert_eq!(l["md5"].as_str().unwrap().len(), 32, "every file has digests: {l}");
        assert_eq!(l["sha256"].as_str().unwrap().len(), 64);
    }
    let by = |name: &str| lines.iter().find(|l| l["path"].as_str().unwrap().ends_with(name)).unwrap().clone();

    let good = by("a-good.jpg");
    assert_eq!(good["format"], "jpeg");
    assert_eq!((good["width"].as_u64(), good["height"].as_u64()), (Some(320), Some(200)));
    assert!(good["quality"].as_u64().unwrap() >= 50);
    assert!(good.get("error").is_none() && good.get("skipped").is_none());

    let truncated = by("b-truncated.jpg");
    assert!(truncated["pdq"].is_null());
    assert!(truncated["error"].as_str().unwrap().contains("truncated"), "{truncated}");

    assert_eq!(by("c-empty.bin")["skipped"], "empty file");
    assert_eq!(by("c-empty.bin")["md5"], "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(by("d-random.bin")["skipped"], "not an image: unrecognised data");
    assert_eq!(by("e-notes.txt")["skipped"], "not an image: text");
    assert_eq!(by("g-video.mp4")["skipped"], "not an image: MP4 video");

    let bomb = by("f-bomb.png");
    assert!(bomb["pdq"].is_null());
    let msg = bomb["error"].as_str().unwrap();
    assert!(msg.contains("60000×60000") && msg.contains("limit"), "{msg}");

    // The same pixels, losslessly stored, give the same PDQ whatever the container.
    let png = by("h-good.png");
    let direct = hashline_hash::pdq_from_rgb(&rgb, w as u32, h as u32, false);
    assert_eq!(png["pdq"], direct.hash.to_hex());
}

#[test]
fn clean_run_exits_zero_and_dihedral_lists_eight_hashes() {
    let dir = TempDir::new("clean");
    let (w, h) = (300usize, 180usize);
    dir.write("x.png", &encode_png(&bridge_like(w, h), w, h));
    dir.write("y.txt", b"hello\n");
    let out = hashline(&["hash", "--dihedral", "--jobs", "1", dir.path_str()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 2);
    let d = lines[0]["pdq_dihedral"].as_array().unwrap();
    assert_eq!(d.len(), 8);
    assert_eq!(d[0], lines[0]["pdq"]);
    assert!(lines[1].get("pdq_dihedral").is_none());
}

#[test]
fn lossless_formats_of_the_same_pixels_hash_alike() {
    let dir = TempDir::new("formats");
    let (w, h) = (257usize, 143usize);
    let rgb = bridge_like(w, h);
    let want = hashline_hash::pdq_from_rgb(&rgb, w as u32, h as u32, false).hash.to_hex();
    for (name, format) in [
        ("p.png", image::ImageFormat::Png),
        ("p.bmp", image::ImageFormat::Bmp),
        ("p.tiff", image::ImageFormat::Tiff),
        ("p.webp", image::ImageFormat::WebP),
    ] {
        dir.write(name, &util::encode_with(&rgb, w, h, format));
    }
    let out = hashline(&["hash", dir.path_str()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for l in out.json_lines() {
        assert_eq!(l["pdq"], want.as_str(), "{}", l["path"]);
    }
}

#[test]
fn gif_first_frame_goes_through_its_palette() {
    let dir = TempDir::new("gif");
    let (w, h) = (120usize, 90usize);
    // A 4-colour image: its palette encoding is lossless, so PDQ equals that of the RGB pixels.
    let palette = [[200u8, 30, 30], [20, 160, 40], [30, 40, 220], [240, 240, 240]];
    let rgb: Vec<u8> = (0..w * h).flat_map(|i| palette[((i % w) / 30 + (i / w) / 45) % 4]).collect();
    dir.write("g.gif", &util::encode_with(&rgb, w, h, image::ImageFormat::Gif));
    let out = hashline(&["hash", dir.path_str()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let want = hashline_hash::pdq_from_rgb(&rgb, w as u32, h as u32, false).hash.to_hex();
    assert_eq!(out.json_lines()[0]["pdq"], want.as_str());
}

#[test]
fn unreadable_paths_get_an_error_line_and_exit_one() {
    let out = hashline(&["hash", "/nonexistent/hashline-test-file"]);
    assert_eq!(out.code, 1);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["error"], "no such file or directory");
    assert!(lines[0].get("md5").is_none());
}

#[test]
fn files_over_the_decode_limit_are_still_digested() {
    let dir = TempDir::new("big");
    let (w, h) = (200usize, 100usize);
    let jpeg = encode_jpeg(&bridge_like(w, h), w, h, 85);
    dir.write("big.jpg", &jpeg);
    let mut video = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2mp41".to_vec();
    video.extend(util::random_bytes(50_000, 3));
    dir.write("big.mp4", &video);
    let out = hashline(&["hash", "--max-input-bytes", "1000", dir.path_str()]);
    assert_eq!(out.code, 1);
    let lines = out.json_lines();
    let jpg = &lines[0];
    assert_eq!(jpg["md5"], hashline_hash::digests(&jpeg).md5_hex());
    assert!(jpg["error"].as_str().unwrap().contains("over the 1000-byte decoding limit"), "{jpg}");
    let mp4 = &lines[1];
    assert_eq!(mp4["sha1"], hashline_hash::digests(&video).sha1_hex());
    assert_eq!(mp4["skipped"], "not an image: MP4 video");
}

#[test]
fn help_documents_the_contract() {
    let out = hashline(&["hash", "--help"]);
    assert_eq!(out.code, 0);
    for needle in ["--mode", "--dihedral", "--jobs", "skipped", "Exit status"] {
        assert!(out.stdout.contains(needle), "help lacks {needle}");
    }
}

#[test]
fn value_of_a_file_is_printed_as_json() {
    let out = hashline(&["hash", "--jobs", "2", env!("CARGO_MANIFEST_DIR")]);
    assert!(out.json_lines().iter().all(|l: &Value| l["path"].is_string()));
}

#[cfg(unix)]
#[test]
fn links_inside_folders_are_followed_only_when_asked() {
    let outside = TempDir::new("outside");
    let target = outside.write("real.txt", b"outside the root\n");
    let dir = TempDir::new("links");
    dir.write("a.txt", b"inside\n");
    std::os::unix::fs::symlink(&target, dir.path().join("b-link.txt")).unwrap();
    let plain = hashline(&["hash", dir.path_str()]);
    assert_eq!(plain.code, 0);
    assert_eq!(plain.json_lines().len(), 1);
    assert!(
        plain.stderr.contains("1 symbolic link(s)") && plain.stderr.contains("--follow-links"),
        "{}",
        plain.stderr
    );
    let followed = hashline(&["hash", "--follow-links", dir.path_str()]);
    assert_eq!(followed.json_lines().len(), 2);
    assert!(followed.stderr.is_empty(), "{}", followed.stderr);
}

#[test]
fn a_folder_of_links_only_is_a_failure_that_says_what_to_do() {
    let outside = TempDir::new("links-only-outside");
    let target = outside.write("real.txt", b"outside the root\n");
    let dir = TempDir::new("links-only");
    std::os::unix::fs::symlink(&target, dir.path().join("only-link.txt")).unwrap();
    let store = util::store_with_list(&dir, &format!("md5 {}\n", "0".repeat(32)));
    let store = std::path::PathBuf::from(store);
    let media = dir.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    std::os::unix::fs::symlink(&target, media.join("link.txt")).unwrap();
    let hash = hashline(&["hash", media.to_str().unwrap()]);
    assert_eq!(hash.code, 2, "hashing 0 files is not a success: {}", hash.stderr);
    assert!(
        hash.stderr.contains("no file was read") && hash.stderr.contains("--follow-links"),
        "{}",
        hash.stderr
    );
    let out = dir.path().join("out");
    let scan = hashline(&[
        "scan",
        media.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(scan.code, 2, "a scan of 0 files is not a success: {}", scan.stderr);
    assert!(
        scan.stderr.contains("no file was read") && scan.stderr.contains("--follow-links"),
        "{}",
        scan.stderr
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let scan = hashline(&[
        "scan",
        empty.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(scan.code, 2);
    assert!(scan.stderr.contains("the paths hold no files"), "{}", scan.stderr);
    // Followed, the link's file is read.
    let scan = hashline(&[
        "scan",
        "--follow-links",
        media.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(scan.code, 0, "{}", scan.stderr);
}

/// `picture` (`w` × `h` RGB) on a canvas of `colour`, at (`x`, `y`).
fn on_canvas(
    picture: &[u8],
    (w, h): (usize, usize),
    (cw, ch): (usize, usize),
    (x, y): (usize, usize),
    colour: [u8; 3],
) -> Vec<u8> {
    let mut out: Vec<u8> = std::iter::repeat_n(colour, cw * ch).flatten().collect();
    for r in 0..h {
        let dst = ((y + r) * cw + x) * 3;
        out[dst..dst + w * 3].copy_from_slice(&picture[r * w * 3..(r + 1) * w * 3]);
    }
    out
}

#[test]
fn letterboxed_and_framed_copies_match_through_the_border_trimmed_variant() {
    let dir = TempDir::new("trim");
    let (w, h) = (320, 240);
    let picture = bridge_like(w, h);
    let listed = dir.write("listed.png", &encode_png(&picture, w, h));
    let hashed = hashline(&["hash", listed.to_str().unwrap()]).json_lines();
    let store = util::store_with_list(&dir, &format!("pdq {}\n", hashed[0]["pdq"].as_str().unwrap()));
    // Black bars to 16:9 around a 4:3 picture (pillarbox), re-encoded; a white frame; padding
    // to a square in a colour.
    let media = dir.path().join("media");
    let pillar = on_canvas(&picture, (w, h), (428, 240), (54, 0), [0, 0, 0]);
    let framed = on_canvas(&picture, (w, h), (352, 272), (16, 16), [255, 255, 255]);
    let square = on_canvas(&picture, (w, h), (320, 320), (0, 40), [30, 120, 200]);
    std::fs::create_dir_all(&media).unwrap();
    std::fs::write(media.join("a-pillar.jpg"), encode_jpeg(&pillar, 428, 240, 80)).unwrap();
    std::fs::write(media.join("b-framed.png"), encode_png(&framed, 352, 272)).unwrap();
    std::fs::write(media.join("c-square.png"), encode_png(&square, 320, 320)).unwrap();
    // `hashline hash --trim-borders` prints the trimmed hash and the box kept.
    let lines = hashline(&["hash", "--trim-borders", media.to_str().unwrap()]).json_lines();
    assert_eq!(
        lines[1]["trimmed"][0]["box"],
        serde_json::json!({"x": 16, "y": 16, "width": 320, "height": 240})
    );
    assert_eq!(
        lines[2]["trimmed"][0]["box"],
        serde_json::json!({"x": 0, "y": 40, "width": 320, "height": 240})
    );
    let plain = hashline(&["hash", media.to_str().unwrap()]).json_lines();
    assert!(plain.iter().all(|l| l.get("trimmed").is_none()), "only when asked");
    // scan matches all three through the trimmed picture ([hash] trim_borders defaults on).
    let out = dir.path().join("out");
    let scan = hashline(&[
        "scan",
        "--json",
        media.to_str().unwrap(),
        "--store",
        &store,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(scan.code, 1, "1: matches found: {}", scan.stderr);
    let matches: Vec<_> = scan.json_lines().into_iter().filter(|l| l["type"] == "match").collect();
    assert_eq!(matches.len(), 3, "{}", scan.stdout);
    for m in &matches {
        let hit = &m["matches"][0];
        assert!(hit["border_trimmed"]["width"].as_u64().unwrap() > 0, "{m}");
        assert!(hit["distance"].as_u64().unwrap() <= 31, "{m}");
    }
    // Turned off in the configuration, none of them matches (the reference PDQ misses them).
    let config = dir.write("hashline.toml", b"[hash]\ntrim_borders = false\n");
    let scan = hashline(&[
        "scan",
        "--json",
        "--config",
        config.to_str().unwrap(),
        media.to_str().unwrap(),
        "--store",
        &store,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(scan.code, 0, "nothing matched: {}", scan.stderr);
    assert!(scan.json_lines().iter().all(|l| l["type"] != "match"), "{}", scan.stdout);
}
