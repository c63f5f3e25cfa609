//! Importers: each reads one outside format into entries and tombstones. Every parser treats
//! its input as untrusted: a bad record gets an error naming the file, the line or record, and
//! what is wrong; it is skipped, or the whole import fails when the user asks for `strict`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::model::{normalize_value, Classification, Entry, Manifest, SignalType};

/// Formats hashline imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// python-threatexchange / HMA local file: `<signal_type> <value>` per line, or bare values
    /// with a given type.
    PytxFile,
    /// python-threatexchange dataset CSV: `signal_type,signal_str,collab,category,tags`.
    PytxCsv,
    /// NCMEC hash-sharing API v2 entries XML.
    NcmecXml,
    /// Project VIC VICS JSON.
    VicsJson,
    /// Plain hex, one value per line, type by length.
    Hex,
    /// hashline's own list file (what `export` writes).
    Hashline,
    /// The vPDQ reference's hash files, one video per file
    /// (`frame_number,quality,pdq_hex,timestamp` per line); the entry id is the file's name
    /// without its extension.
    VpdqFiles,
}

impl Format {
    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::PytxFile => "pytx-file",
            Format::PytxCsv => "pytx-csv",
            Format::NcmecXml => "ncmec-xml",
            Format::VicsJson => "vics-json",
            Format::Hex => "hex",
            Format::Hashline => "hashline",
            Format::VpdqFiles => "vpdq",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "pytx-file" => Format::PytxFile,
            "pytx-csv" => Format::PytxCsv,
            "ncmec-xml" => Format::NcmecXml,
            "vics-json" => Format::VicsJson,
            "hex" => Format::Hex,
            "hashline" => Format::Hashline,
            "vpdq" => Format::VpdqFiles,
            other => {
                return Err(format!(
                    "unknown list format {other:?}: use pytx-file, pytx-csv, ncmec-xml, vics-json, hex, hashline or vpdq"
                ))
            }
        })
    }
}

/// One bad record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// The file it came from, as given.
    pub file: String,
    /// Where in the file: `line 12`, `record 3`, `<image> 7`.
    pub place: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.place, self.message)
    }
}

/// What an importer read from one file.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Entries to add or update (keyed by signal and id).
    pub entries: Vec<Entry>,
    /// Ids whose entries the publisher removed (NCMEC tombstones).
    pub tombstones: Vec<String>,
    /// Bad records, skipped.
    pub errors: Vec<RecordError>,
    /// The manifest, when the format carries one (the hashline format).
    pub manifest: Option<Manifest>,
}

/// Options that some formats need.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// The signal type of bare values (`pytx-file` without types, `hex` of 64 digits).
    pub signal: Option<SignalType>,
}

/// Reads `text` (the contents of `file`) in `format`.
pub fn parse(format: Format, file: &str, text: &str, options: &ParseOptions) -> Parsed {
    // A byte-order mark some editors write is not part of the first record.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Parser { file, out: Parsed::default() };
    match format {
        Format::PytxFile => p.pytx_file(text, options),
        Format::PytxCsv => p.pytx_csv(text),
        Format::NcmecXml => p.ncmec_xml(text),
        Format::VicsJson => p.vics_json(text),
        Format::Hex => p.hex(text, options),
        Format::Hashline => p.hashline(text),
        Format::VpdqFiles => p.vpdq_file(text),
    }
    p.out
}

struct Parser<'a> {
    file: &'a str,
    out: Parsed,
}

impl Parser<'_> {
    fn error(&mut self, place: String, message: impl Into<String>) {
        self.out.errors.push(RecordError { file: self.file.to_string(), place, message: message.into() });
    }

    /// Adds an entry of a matched or kept type, checking the value.
    fn push(&mut self, place: &str, signal: SignalType, raw: &str, fill: impl FnOnce(&mut Entry)) {
        match normalize_value(&signal, raw) {
            Ok(value) if !value.is_empty() => {
                let mut e = Entry::new(signal, value);
                fill(&mut e);
                self.out.entries.push(e);
            }
            Ok(_) => self.error(place.to_string(), "the value is empty"),
            Err(m) => self.error(place.to_string(), m),
        }
    }

    /// `<signal_type> <value>` per line, bare values with a given type, and the lines of
    /// `threatexchange dataset -P` (python-threatexchange 1.2): `<signal_type> <value>
    /// ['<collab>'] <metadata…>`, or `<value> '<collab>' <metadata…>` under `-s TYPE`.
    fn pytx_file(&mut self, text: &str, options: &ParseOptions) {
        for (i, line) in text.lines().enumerate() {
            let place = format!("line {}", i + 1);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if self.pytx_vpdq_line(&place, line, options) {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            // A typed line has a signal type first; a bare value is hex (or follows --type).
            let typed = fields.len() >= 2
                && !(options.signal.is_some() && fields[0].bytes().all(|b| b.is_ascii_hexdigit()));
            let (signal, value, rest) = match (typed, &options.signal) {
                (true, _) => (SignalType::parse_lenient(fields[0]), fields[1], &fields[2..]),
                (false, Some(t)) => (t.clone(), fields[0], &fields[1..]),
                (false, None) => {
                    self.error(place, "a bare value needs --type (or write \"<signal_type> <value>\")");
                    continue;
                }
            };
            let Some(meta) = DatasetMeta::parse(rest) else {
                self.error(place, "expected \"<signal_type> <value>\", found more fields");
                continue;
            };
            self.push(&place, signal, value, |e| e.tags.extend(meta.tags()));
        }
    }

    /// A vPDQ line of a pytx file: `vpdq ["hex,quality,time", …] [metadata…]` (or the array
    /// alone under `--type vpdq`); its JSON array has spaces, so it is cut at its `]`. False
    /// when the line is not one.
    fn pytx_vpdq_line(&mut self, place: &str, line: &str, options: &ParseOptions) -> bool {
        let rest = if line.starts_with('[') && options.signal == Some(SignalType::Vpdq) {
            line
        } else {
            match line.split_once(char::is_whitespace) {
                Some((ty, rest)) if SignalType::parse_lenient(ty) == SignalType::Vpdq => rest.trim_start(),
                _ => return false,
            }
        };
        let Some(end) = rest.starts_with('[').then(|| rest.find(']')).flatten() else {
            self.error(place.to_string(), "a vpdq value is a JSON array: [\"pdq_hex,quality,timestamp\", …]");
            return true;
        };
        let meta: Vec<&str> = rest[end + 1..].split_whitespace().collect();
        let Some(meta) = DatasetMeta::parse(&meta) else {
            self.error(place.to_string(), "expected \"vpdq [...]\", found more fields");
            return true;
        };
        self.push(place, SignalType::Vpdq, &rest[..=end], |e| e.tags.extend(meta.tags()));
        true
    }

    /// One reference hash file: one video, named by the file.
    fn vpdq_file(&mut self, text: &str) {
        let stem = std::path::Path::new(self.file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.file.to_string());
        self.push("file", SignalType::Vpdq, text, |e| {
            if !stem.is_empty() {
                e.id = stem;
            }
        });
    }

    fn pytx_csv(&mut self, text: &str) {
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
        let headers = match reader.headers() {
            Ok(h) => h.iter().map(|s| s.trim().to_ascii_lowercase()).collect::<Vec<_>>(),
            Err(e) => {
                self.error("line 1".into(), format!("cannot read the header: {e}"));
                return;
            }
        };
        let col = |name: &str| headers.iter().position(|h| h == name);
        let (Some(ti), Some(vi)) = (col("signal_type"), col("signal_str")) else {
            self.error("line 1".into(), "the header must name signal_type and signal_str (signal_type,signal_str,collab,category,tags)");
            return;
        };
        let (ci, ki, gi) = (col("collab"), col("category"), col("tags"));
        for (i, record) in reader.records().enumerate() {
            let place = format!("line {}", i + 2);
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    self.error(place, format!("not a CSV record: {e}"));
                    continue;
                }
            };
            let field = |i: Option<usize>| i.and_then(|i| record.get(i)).map(str::trim).unwrap_or("");
            let signal = SignalType::parse_lenient(field(Some(ti)));
            let (collab, category, tags) =
                (field(ci).to_string(), field(ki).to_string(), field(gi).to_string());
            self.push(&place, signal, field(Some(vi)), |e| {
                if !category.is_empty() {
                    e.classification = category.parse().ok();
                }
                e.tags = tags.split([' ', ',', ';']).filter(|t| !t.is_empty()).map(str::to_string).collect();
                if !collab.is_empty() {
                    e.tags.push(format!("collab:{collab}"));
                }
            });
        }
    }

    fn hex(&mut self, text: &str, options: &ParseOptions) {
        for (i, line) in text.lines().enumerate() {
            let place = format!("line {}", i + 1);
            let v = line.trim();
            if v.is_empty() || v.starts_with('#') {
                continue;
            }
            let signal = match (v.len(), &options.signal) {
                (_, Some(t)) => t.clone(),
                (32, None) => SignalType::Md5,
                (40, None) => SignalType::Sha1,
                (64, None) => {
                    self.error(
                        place,
                        "64 hex digits may be SHA-256 or PDQ: give --type sha256 or --type pdq",
                    );
                    continue;
                }
                (n, None) => {
                    self.error(
                        place,
                        format!("{n} characters is no known hash length (MD5 32, SHA-1 40, SHA-256/PDQ 64)"),
                    );
                    continue;
                }
            };
            self.push(&place, signal, v, |_| ());
        }
    }

    fn vics_json(&mut self, text: &str) {
        let doc: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                self.error(format!("line {}", e.line()), format!("not JSON: {e}"));
                return;
            }
        };
        let Some(items) = doc.get("value").and_then(|v| v.as_array()) else {
            self.error("document".into(), "a VICS file has a top-level \"value\" array of media");
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let place = format!("record {}", i + 1);
            let get = |k: &str| {
                item.as_object().and_then(|o| {
                    o.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone())
                })
            };
            let id = match get("MediaID") {
                Some(serde_json::Value::Number(n)) => n.to_string(),
                Some(serde_json::Value::String(s)) => s,
                _ => String::new(),
            };
            let category = get("Category").map(|c| match c {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            });
            let mut any = false;
            for (key, signal) in
                [("MD5", SignalType::Md5), ("SHA1", SignalType::Sha1), ("SHA256", SignalType::Sha256)]
            {
                if let Some(serde_json::Value::String(v)) = get(key) {
                    any = true;
                    let id = id.clone();
                    let category = category.clone();
                    self.push(&place, signal, &v, move |e| {
                        if !id.is_empty() {
                            e.id = format!("vics:{id}");
                        }
                        e.classification = category.map(|c| Classification::Other(format!("vics-{c}")));
                    });
                }
            }
            if !any {
                self.error(place, "the record has no MD5, SHA1 or SHA256");
            }
        }
    }

    fn ncmec_xml(&mut self, text: &str) {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(text);
        reader.config_mut().trim_text(true);
        // The element path inside the current <image>/<video>/<deleted…>, and what it holds.
        #[derive(Default)]
        struct Item {
            deleted: bool,
            fields: BTreeMap<String, String>,
            fingerprints: Vec<(String, String)>,
        }
        let mut item: Option<Item> = None;
        let mut path: Vec<String> = Vec::new();
        let mut count = 0usize;
        loop {
            let place = format!("byte {}", reader.buffer_position());
            match reader.read_event() {
                Ok(Event::Start(e)) => {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    match name.as_str() {
                        "image" | "video" | "deletedImage" | "deletedVideo" if item.is_none() => {
                            count += 1;
                            item = Some(Item { deleted: name.starts_with("deleted"), ..Item::default() });
                            path.clear();
                        }
                        _ => {
                            if let Some(it) = item.as_mut() {
                                if name == "member" {
                                    for a in e.attributes().flatten() {
                                        if a.key.local_name().as_ref() == b"id" {
                                            it.fields.insert(
                                                "member_id".into(),
                                                String::from_utf8_lossy(&a.value).into_owned(),
                                            );
                                        }
                                    }
                                }
                            }
                            path.push(name);
                        }
                    }
                }
                Ok(Event::Text(t)) => {
                    if let (Some(it), Some(leaf)) = (item.as_mut(), path.last()) {
                        let value = match t.unescape() {
                            Ok(v) => v.into_owned(),
                            Err(e) => {
                                self.error(place, format!("bad text: {e}"));
                                continue;
                            }
                        };
                        if path.iter().any(|p| p == "fingerprints") && leaf != "fingerprints" {
                            it.fingerprints.push((leaf.clone(), value));
                        } else {
                            it.fields.insert(leaf.clone(), value);
                        }
                    }
                }
                Ok(Event::End(e)) => {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    if matches!(name.as_str(), "image" | "video" | "deletedImage" | "deletedVideo")
                        && path.is_empty()
                    {
                        if let Some(it) = item.take() {
                            self.ncmec_item(count, &name, it.deleted, &it.fields, &it.fingerprints);
                        }
                    } else {
                        path.pop();
                    }
                }
                Ok(Event::Eof) => break,
                Err(e) => {
                    self.error(place, format!("not well-formed XML: {e}"));
                    return;
                }
                Ok(_) => {}
            }
        }
        if item.is_some() {
            self.error("end of file".into(), "the file ends inside an entry (truncated?)");
        }
    }

    fn ncmec_item(
        &mut self,
        n: usize,
        kind: &str,
        deleted: bool,
        fields: &BTreeMap<String, String>,
        fingerprints: &[(String, String)],
    ) {
        let place = format!("<{kind}> {n}");
        let Some(id) = fields.get("id").filter(|s| !s.trim().is_empty()).map(|s| s.trim().to_string()) else {
            self.error(place, "the entry has no <id>");
            return;
        };
        if deleted {
            self.out.tombstones.push(format!("ncmec:{id}"));
            return;
        }
        if fingerprints.is_empty() {
            self.error(place, "the entry has no <fingerprints>");
            return;
        }
        let classification = fields.get("classification").and_then(|c| c.parse::<Classification>().ok());
        let member = fields.get("member").cloned();
        let member_id = fields.get("member_id").cloned();
        let timestamp = fields.get("timestamp").cloned();
        for (signal, value) in fingerprints {
            let signal = SignalType::parse_lenient(signal);
            let (classification, member, member_id, timestamp) =
                (classification.clone(), member.clone(), member_id.clone(), timestamp.clone());
            let id = id.clone();
            let kind = kind.to_string();
            self.push(&place, signal, value, move |e| {
                e.id = format!("ncmec:{id}");
                e.classification = classification;
                e.added_at = timestamp;
                e.tags.push(format!("media:{kind}"));
                if let Some(m) = member_id.or(member) {
                    e.tags.push(format!("member:{m}"));
                }
            });
        }
    }

    fn hashline(&mut self, text: &str) {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, first)) => match serde_json::from_str::<ManifestLine>(first) {
                Ok(m) => self.out.manifest = Some(m.manifest),
                Err(e) => {
                    self.error("line 1".into(), format!("the first line must be {{\"manifest\": …}}: {e}"));
                    return;
                }
            },
            None => {
                self.error("line 1".into(), "the file is empty");
                return;
            }
        }
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let place = format!("line {}", i + 1);
            match serde_json::from_str::<Entry>(line) {
                Ok(mut e) => match normalize_value(&e.signal, &e.value) {
                    Ok(v) => {
                        e.value = v;
                        self.out.entries.push(e);
                    }
                    Err(m) => self.error(place, m),
                },
                Err(e) => self.error(place, format!("not an entry: {e}")),
            }
        }
    }
}

/// What `threatexchange dataset -P` prints after a value: the collaboration's name as a
/// Python string literal (absent under `-c NAME`) and the signal's metadata (its category,
/// such as `INVESTIGATION_SEED`, or a dataclass repr).
#[derive(Debug, Default, PartialEq, Eq)]
struct DatasetMeta {
    collab: Option<String>,
    category: Option<String>,
}

impl DatasetMeta {
    /// Reads the fields after the value; `None` when they are not what pytx prints (so a line
    /// with a stray third field stays an error).
    fn parse(rest: &[&str]) -> Option<DatasetMeta> {
        let Some(first) = rest.first() else { return Some(DatasetMeta::default()) };
        let mut meta = DatasetMeta::default();
        let mut tail = rest;
        if let Some(q) = first.chars().next().filter(|c| matches!(c, '\'' | '"')) {
            // The collaboration name may hold spaces: it runs to the field ending in the quote.
            let joined = rest.join(" ");
            let end = joined[1..].find(q)? + 1;
            meta.collab = Some(joined[1..end].to_string());
            let consumed = joined[..=end].split_whitespace().count();
            tail = &rest[consumed..];
        }
        match tail.first() {
            None => {}
            Some(m) if m.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') && tail.len() == 1 => {
                meta.category = Some(m.to_ascii_lowercase());
            }
            Some(m) if m.contains('(') => {}
            Some(_) => return None,
        }
        Some(meta)
    }

    fn tags(self) -> impl Iterator<Item = String> {
        self.collab
            .map(|c| format!("collab:{c}"))
            .into_iter()
            .chain(self.category.map(|c| format!("category:{c}")))
    }
}

/// The first line of a hashline list file.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ManifestLine {
    pub(crate) manifest: Manifest,
}

#[cfg(test)]
#[path = "formats_tests.rs"]
mod tests;
