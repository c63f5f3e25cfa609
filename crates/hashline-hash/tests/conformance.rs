//! Conformance with the reference PDQ: every image under `../shared/pdq-vectors` must give the
//! digests, dimensions, PDQ hash, quality and eight dihedral hashes that the reference
//! (Pillow `convert("RGB")` + `pdqhash`) gives, bit for bit.
//!
//! The vectors live beside the repository (`../shared/pdq-vectors`, or `$HASHLINE_PDQ_VECTORS`);
//! they are Meta's ThreatExchange test images and are not copied into this repository.

use std::path::PathBuf;

use hashline_hash::{HashOptions, Hasher, Mode, PdqHash, PdqOutcome};

fn vectors_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("HASHLINE_PDQ_VECTORS") {
        return PathBuf::from(dir);
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/pdq-vectors");
    assert!(
        dir.join("reference.tsv").is_file(),
        "PDQ test vectors not found at {} — put the shared folder beside the repository or set HASHLINE_PDQ_VECTORS",
        dir.display()
    );
    dir
}

struct Row {
    path: String,
    fields: Vec<String>,
}

fn rows(dir: &std::path::Path, table: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join(table)).expect("read the reference table");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let fields: Vec<String> = l.split('\t').map(str::to_string).collect();
            Row { path: fields[0].clone(), fields }
        })
        .collect()
}

#[test]
fn every_reference_vector_is_bit_exact() {
    let dir = vectors_dir();
    let table = rows(&dir, "reference.tsv");
    assert!(table.len() >= 50, "expected the full vector table, found {} rows", table.len());
    let mut hasher = Hasher::new(HashOptions { dihedral: true, ..HashOptions::default() });
    let mut failures = Vec::new();
    for row in &table {
        let f = &row.fields;
        let bytes = std::fs::read(dir.join(&row.path)).expect("read vector image");
        let got = hasher.hash(&bytes);
        assert_eq!(got.bytes.to_string(), f[1], "{}: size", row.path);
        assert_eq!(got.digests.md5_hex(), f[2], "{}: md5", row.path);
        assert_eq!(got.digests.sha1_hex(), f[3], "{}: sha1", row.path);
        assert_eq!(got.digests.sha256_hex(), f[4], "{}: sha256", row.path);
        let PdqOutcome::Hashed { pdq, width, height, .. } = got.pdq else {
            failures.push(format!("{}: not hashed: {:?}", row.path, got.pdq));
            continue;
        };
        let want: PdqHash = f[8].parse().expect("reference hash");
        let want_dihedral: Vec<PdqHash> =
            f[10].split(',').map(|h| h.parse().expect("dihedral hash")).collect();
        let dihedral = pdq.dihedral.expect("dihedral requested");
        if (width.to_string(), height.to_string()) != (f[5].clone(), f[6].clone()) {
            failures.push(format!("{}: size {width}x{height}, want {}x{}", row.path, f[5], f[6]));
        }
        if pdq.hash != want || pdq.quality.to_string() != f[9] {
            failures.push(format!(
                "{} ({}): pdq {} q{} want {} q{} (distance {})",
                row.path,
                f[7],
                pdq.hash,
                pdq.quality,
                want,
                f[9],
                pdq.hash.distance(&want)
            ));
        }
        if dihedral.to_vec() != want_dihedral {
            failures.push(format!("{}: dihedral hashes differ", row.path));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors differ:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

#[test]
fn published_expected_hashes_match() {
    // expected_hashes.tsv: hashes published in ThreatExchange's tests and READMEs, one row per
    // image: path, expected hex, expected quality (or "-"), producer, source.
    let dir = vectors_dir();
    let text = std::fs::read_to_string(dir.join("expected_hashes.tsv")).expect("read expected_hashes.tsv");
    let mut hasher = Hasher::new(HashOptions::default());
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (path, want, quality) = (cols[0], cols[1].parse::<PdqHash>().expect("expected hash"), cols[2]);
        let bytes = std::fs::read(dir.join(path)).expect("read vector image");
        let PdqOutcome::Hashed { pdq, .. } = hasher.pdq(&bytes) else { panic!("{path}: not hashed") };
        assert_eq!(pdq.hash, want, "{path}: distance {}", pdq.hash.distance(&want));
        if quality != "-" {
            assert_eq!(pdq.quality.to_string(), quality, "{path}: quality");
        }
        checked += 1;
    }
    assert_eq!(checked, 20, "expected_hashes.tsv should hold 20 published hashes");
}

#[test]
fn fast_mode_stays_close_to_exact() {
    let dir = vectors_dir();
    let mut exact = Hasher::new(HashOptions::default());
    let mut fast = Hasher::new(HashOptions { mode: Mode::Fast, ..HashOptions::default() });
    for row in rows(&dir, "reference.tsv") {
        let bytes = std::fs::read(dir.join(&row.path)).expect("read vector image");
        let (PdqOutcome::Hashed { pdq: a, width: wa, .. }, PdqOutcome::Hashed { pdq: b, width: wb, .. }) =
            (exact.pdq(&bytes), fast.pdq(&bytes))
        else {
            panic!("{}: not hashed", row.path)
        };
        assert_eq!(wa, wb, "{}: fast mode reports the original size", row.path);
        if a.quality >= 50 {
            assert!(
                a.hash.distance(&b.hash) <= 31,
                "{}: fast is {} bits from exact",
                row.path,
                a.hash.distance(&b.hash)
            );
        }
    }
}

/// python-threatexchange (and so HMA) reads palette PNGs and CMYK JPEGs differently from
/// `convert("RGB")`; hashline's `pytx` hash must be what it computes, bit for bit, and every
/// other picture must give pytx's hash as its ordinary PDQ. Expected values from the real
/// `threatexchange` package: `benches/pytx_modes.py` (command in its header).
#[test]
fn the_pytx_variant_is_what_python_threatexchange_computes_on_every_colour_mode() {
    let dir = vectors_dir();
    let table = include_str!("data/pytx-vectors.tsv");
    let mut hasher = Hasher::new(HashOptions { mode: Mode::Exact, ..HashOptions::default() });
    let (mut checked, mut differing) = (0, Vec::new());
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let (path, mode, want, quality) = (f[0], f[1], f[2], f[3].parse::<u8>().unwrap());
        let bytes = std::fs::read(dir.join(path)).unwrap();
        let PdqOutcome::Hashed { pdq, pytx, .. } = hasher.hash(&bytes).pdq else {
            panic!("{path} not hashed")
        };
        let seen = pytx.unwrap_or(pdq);
        assert_eq!(seen.hash.to_hex(), want, "{path} ({mode}): the hash pytx computes");
        if let Some(p) = pytx {
            assert_eq!(seen.quality, quality, "{path} ({mode}): its quality");
            if p.hash != pdq.hash {
                differing.push(mode);
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 49);
    differing.sort_unstable();
    assert_eq!(differing, ["CMYK", "P"], "the modes pytx reads differently");
}
