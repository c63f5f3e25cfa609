//! `hashline.toml`: defaults for every command, overridden by environment variables, which
//! command-line flags override in turn. Validated once, here.
//!
//! Where it is read from: `--config FILE`, else `$HASHLINE_CONFIG`, else `./hashline.toml` if
//! it exists; with none, the documented defaults apply.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use hashline_hash::{Limits, Mode};
use hashline_lists::Thresholds;
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The list store folder (`HASHLINE_STORE`). No default: lists are never guessed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<PathBuf>,
    /// How every command hashes (`[hash]`: mode, dihedral, threads, limits): `hash`, `scan`,
    /// `run` and `serve` read it.
    pub hash: HashConfig,
    /// How videos are hashed (`[video]`: `seconds_per_hash`, the FFmpeg programs, and
    /// `[video.limits]`: bytes, duration, frame size, frames, frame rate, decode time, decoder
    /// memory): `hash`, `scan`, `run` and `serve` read it.
    pub video: hashline_video::VideoSettings,
    /// `hashline scan` defaults.
    pub scan: ScanConfig,
    /// Deprecated: `[limits]`, now in `[hash]` (still read in this release, with a warning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    /// List imports (`[lists]`: thresholds given to a new list whose import names none,
    /// `pdq_distance` 31 and `pdq_min_quality` 50; `replace_max_drop_percent` 50).
    pub lists: ListsConfig,
    /// Folder for the outbox, evidence and audit log (`HASHLINE_DATA_DIR`). Without it, `scan`
    /// writes report files only and the report commands have nothing to work on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Who reports (`[reporter]`: organisation, contact, country).
    pub reporter: ReporterConfig,
    /// Which matches are reported without review (`[policy]`).
    pub policy: hashline_report::Policy,
    /// Where reports are delivered (`[hotline]`; URL also from `HASHLINE_HOTLINE_URL`).
    pub hotline: hashline_report::HotlineConfig,
    /// Encrypted preservation of matched media (`[evidence]`).
    pub evidence: hashline_report::EvidenceConfig,
    /// `hashline run`: Kafka (`[kafka]`: brokers, group, topics, in-flight bound, librdkafka
    /// properties, media fetching).
    pub kafka: hashline_pipeline::KafkaConfig,
    /// `hashline run` process settings (`[run]`).
    pub run: RunConfig,
    /// `hashline serve` (`[server]`: listen, max_batch, max_body_bytes, rate_per_s, burst, ...).
    pub server: ServerSection,
    /// The analyst triage pages of `hashline serve` (`[triage]`: sessions, claims, the daily
    /// exposure cap, login limits, the allow-list, the default language).
    pub triage: TriageSection,
    /// The hash journal of recent uploads, for retroactive matching (`[journal]`).
    pub journal: JournalConfig,
}

/// `[journal]`: what every examined upload leaves behind for retroactive matching — its id,
/// platform, channel, received time, hashes and file facts; never its bytes, name, path, URL
/// or uploader — and for how long.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalConfig {
    /// Keep the journal (default true). Off, uploads are matched only against the lists of the
    /// moment they arrive.
    pub enabled: bool,
    /// Days a row is kept (default 30; 1–3650): the embedded journal deletes it within an hour
    /// after, and the Kafka topic's retention should be the same.
    pub window_days: u32,
    /// `hashline run`: the topic journal rows are produced to, keyed by upload id (default
    /// `hashline.hashes`; create it with `retention.ms` = the window).
    pub topic: String,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig { enabled: true, window_days: 30, topic: "hashline.hashes".into() }
    }
}

impl JournalConfig {
    /// The window in seconds.
    pub fn window_s(&self) -> i64 {
        i64::from(self.window_days) * 86_400
    }

    /// The embedded journal of a data folder (`DATA/journal`), when the journal is on.
    pub fn open(&self, data_dir: &std::path::Path) -> anyhow::Result<Option<hashline_retro::Journal>> {
        if !self.enabled {
            return Ok(None);
        }
        Ok(Some(hashline_retro::Journal::open(&data_dir.join("journal"), self.window_s())?))
    }
}

/// `[server]`: read and checked by builds with `hashline serve`; a worker build without it
/// (no `serve` feature) accepts the section and ignores it.
#[cfg(feature = "serve")]
pub type ServerSection = hashline_server::ServerConfig;
/// `[server]`, ignored by this build (it has no `hashline serve`).
#[cfg(not(feature = "serve"))]
pub type ServerSection = toml::Table;
/// `[triage]`: read and checked by builds with `hashline serve`.
#[cfg(feature = "serve")]
pub type TriageSection = hashline_server::triage::TriageConfig;
/// `[triage]`, ignored by this build (it has no `hashline serve`).
#[cfg(not(feature = "serve"))]
pub type TriageSection = toml::Table;

/// `[reporter]`: the organisation named in every report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReporterConfig {
    /// Organisation name.
    pub organisation: String,
    /// Contact e-mail or phone for the hotline's questions.
    pub contact: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// `[hash]`: one place for how media is hashed, whichever command does it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HashConfig {
    /// `exact` (bit-identical PDQ) or `fast` (reduced-size JPEG decoding) (`HASHLINE_MODE`;
    /// default `exact`).
    pub mode: Mode,
    /// Also match rotated and mirrored copies in `scan` and `run` (`HASHLINE_DIHEDRAL`;
    /// default false; the API takes it per request).
    pub dihedral: bool,
    /// Also match the picture inside near-uniform borders (letterbox bars, frames, padding) in
    /// `scan`, `run` and the API, as the `border_trimmed` variant (default true; see the
    /// border benchmark in the README).
    pub trim_borders: bool,
    /// Hashing threads of `scan`, `hash` and `run`, 0 for all cores (`HASHLINE_JOBS`;
    /// default 0).
    pub threads: usize,
    /// Files larger than this are digested but not decoded (`HASHLINE_MAX_INPUT_BYTES`;
    /// default 256 MiB).
    pub max_input_bytes: u64,
    /// Images claiming more pixels are refused from the header (`HASHLINE_MAX_PIXELS`;
    /// default 100 million).
    pub max_pixels: u64,
    /// Longest side in pixels (default 65,535).
    pub max_side: u32,
}

impl Default for HashConfig {
    fn default() -> Self {
        let l = Limits::default();
        HashConfig {
            mode: Mode::Exact,
            dihedral: false,
            trim_borders: true,
            threads: 0,
            max_input_bytes: l.max_input_bytes,
            max_pixels: l.max_pixels,
            max_side: l.max_side,
        }
    }
}

impl HashConfig {
    /// The decoding limits.
    pub fn limits(&self) -> Limits {
        Limits { max_input_bytes: self.max_input_bytes, max_pixels: self.max_pixels, max_side: self.max_side }
    }

    /// The hashing options (dihedral as configured).
    pub fn options(&self) -> hashline_hash::HashOptions {
        hashline_hash::HashOptions {
            mode: self.mode,
            dihedral: self.dihedral,
            trim_borders: self.trim_borders,
            limits: self.limits(),
        }
    }
}

/// `[lists]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListsConfig {
    /// Largest PDQ distance that matches, for a new list whose import names none (default 31).
    pub pdq_distance: u32,
    /// Smallest upload PDQ quality a new list's PDQ entries are tried at (default 50).
    pub pdq_min_quality: u8,
    /// `lists import --replace` refuses, without `--force`, a new version that drops more than
    /// this share of the active entries, in percent (default 50; 100 turns the check off).
    pub replace_max_drop_percent: u8,
    /// Largest PDQ distance for a new allow-list whose import names none (default 8): an
    /// allow entry suppresses copies of the benign picture, not every known picture near it.
    pub allow_pdq_distance: u32,
    /// Largest PDQ distance of the `border_trimmed` variant for a new known list (default 31).
    pub trimmed_pdq_distance: u32,
    /// Smallest quality of the `border_trimmed` variant's hash for a new list (default 50).
    pub trimmed_pdq_min_quality: u8,
    /// vPDQ: largest frame distance for a new list (default 31, counted `<=`).
    pub vpdq_distance: u32,
    /// vPDQ: frames below this quality are left out (default 50).
    pub vpdq_min_quality: u8,
    /// vPDQ: share of an upload's unique frames that must match a listed video, percent
    /// (default 80, as python-threatexchange).
    pub vpdq_query_match_percent: u8,
    /// vPDQ: share of the listed video's unique frames that must match, percent (default 0).
    pub vpdq_compared_match_percent: u8,
}

impl Default for ListsConfig {
    fn default() -> Self {
        let t = Thresholds::default();
        ListsConfig {
            pdq_distance: t.pdq_distance,
            pdq_min_quality: t.pdq_min_quality,
            replace_max_drop_percent: hashline_lists::DEFAULT_MAX_DROP_PERCENT,
            allow_pdq_distance: 8,
            trimmed_pdq_distance: t.trimmed_pdq_distance,
            trimmed_pdq_min_quality: t.trimmed_pdq_min_quality,
            vpdq_distance: t.vpdq_distance,
            vpdq_min_quality: t.vpdq_min_quality,
            vpdq_query_match_percent: t.vpdq_query_match_percent,
            vpdq_compared_match_percent: t.vpdq_compared_match_percent,
        }
    }
}

impl ListsConfig {
    /// The thresholds a new list of `kind` gets.
    pub fn thresholds(&self, kind: hashline_lists::ListKind) -> Thresholds {
        let pdq_distance = match kind {
            hashline_lists::ListKind::Known => self.pdq_distance,
            hashline_lists::ListKind::Allow => self.allow_pdq_distance,
        };
        Thresholds {
            pdq_distance,
            pdq_min_quality: self.pdq_min_quality,
            // An allow entry suppresses within its own (small) distance, trimmed or not.
            trimmed_pdq_distance: self.trimmed_pdq_distance.min(pdq_distance),
            trimmed_pdq_min_quality: self.trimmed_pdq_min_quality,
            vpdq_distance: self.vpdq_distance,
            vpdq_min_quality: self.vpdq_min_quality,
            vpdq_query_match_percent: self.vpdq_query_match_percent,
            vpdq_compared_match_percent: self.vpdq_compared_match_percent,
        }
    }
}

/// `[run]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// /metrics, /healthz, /readyz without authentication (`HASHLINE_METRICS_ADDR`; default
    /// `127.0.0.1:9464`; "off" disables).
    pub metrics_addr: String,
    /// Deprecated: now `[hash] threads` (still read in this release, with a warning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// How often to look for new list versions, seconds (default 30).
    pub reload_every_s: u64,
    /// Up to this many seconds more, at random per check (default 10): instances started
    /// together drift apart instead of loading a new list at the same moment.
    pub reload_jitter_s: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            metrics_addr: "127.0.0.1:9464".into(),
            threads: None,
            reload_every_s: 30,
            reload_jitter_s: 10,
        }
    }
}

impl Default for ReporterConfig {
    fn default() -> Self {
        ReporterConfig {
            organisation: "unconfigured (set [reporter] organisation)".into(),
            contact: "unconfigured (set [reporter] contact)".into(),
            country: "KH".into(),
        }
    }
}

impl ReporterConfig {
    /// The report's reporter block.
    pub fn to_reporter(&self) -> hashline_report::Reporter {
        hashline_report::Reporter {
            organisation: self.organisation.clone(),
            contact: self.contact.clone(),
            country: self.country.clone(),
        }
    }
}

/// `[scan]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanConfig {
    /// Folder for reports (`HASHLINE_OUT`; default `hashline-reports`).
    pub out: PathBuf,
    /// Deprecated: now `[hash] mode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Deprecated: now `[hash] dihedral`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dihedral: Option<bool>,
    /// Deprecated: now `[hash] threads`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs: Option<usize>,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig { out: PathBuf::from("hashline-reports"), mode: None, dihedral: None, jobs: None }
    }
}

impl Config {
    /// Reads the file (if any), applies environment overrides and validates.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Config> {
        let path = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("HASHLINE_CONFIG").map(PathBuf::from))
            .or_else(|| {
                let p = PathBuf::from("hashline.toml");
                p.is_file().then_some(p)
            });
        let mut config = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading the configuration {}", p.display()))?;
                toml::from_str::<Config>(&text)
                    .with_context(|| format!("{}: not a valid hashline configuration", p.display()))?
            }
            None => Config::default(),
        };
        for warning in config.migrate_deprecated() {
            eprintln!("hashline: {warning}");
        }
        config.apply_env(|k| std::env::var(k).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Moves the keys of earlier releases (`[scan] mode/dihedral/jobs`, `[limits]`, `[run]
    /// threads`) into `[hash]`, where every command reads them; returns a warning for each.
    fn migrate_deprecated(&mut self) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut moved = |old: &str, new: &str| {
            warnings.push(format!("{old} is deprecated: use {new} (it is still read in this release)"));
        };
        if let Some(v) = self.scan.mode.take() {
            moved("[scan] mode", "[hash] mode");
            self.hash.mode = v;
        }
        if let Some(v) = self.scan.dihedral.take() {
            moved("[scan] dihedral", "[hash] dihedral");
            self.hash.dihedral = v;
        }
        if let Some(v) = self.scan.jobs.take() {
            moved("[scan] jobs", "[hash] threads");
            self.hash.threads = v;
        }
        if let Some(v) = self.run.threads.take() {
            moved("[run] threads", "[hash] threads");
            self.hash.threads = v;
        }
        if let Some(l) = self.limits.take() {
            moved("[limits]", "[hash] max_input_bytes, max_pixels, max_side");
            (self.hash.max_input_bytes, self.hash.max_pixels, self.hash.max_side) =
                (l.max_input_bytes, l.max_pixels, l.max_side);
        }
        warnings
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = get("HASHLINE_STORE") {
            self.store = Some(PathBuf::from(v));
        }
        if let Some(v) = get("HASHLINE_DATA_DIR") {
            self.data_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = get("HASHLINE_BROKERS") {
            self.kafka.brokers = v;
        }
        if let Some(v) = get("HASHLINE_GROUP") {
            self.kafka.group = v;
        }
        if let Some(v) = get("HASHLINE_METRICS_ADDR") {
            self.run.metrics_addr = v;
        }
        #[cfg(feature = "serve")]
        if let Some(v) = get("HASHLINE_LISTEN") {
            self.server.listen = v;
        }
        if let Some(v) = get("HASHLINE_HOTLINE_URL") {
            self.hotline.url = v;
        }
        if let Some(v) = get("HASHLINE_OUT") {
            self.scan.out = PathBuf::from(v);
        }
        if let Some(v) = get("HASHLINE_MODE") {
            self.hash.mode = match v.as_str() {
                "exact" => Mode::Exact,
                "fast" => Mode::Fast,
                other => bail!("HASHLINE_MODE={other:?}: use exact or fast"),
            };
        }
        if let Some(v) = get("HASHLINE_DIHEDRAL") {
            self.hash.dihedral = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = get("HASHLINE_JOBS") {
            self.hash.threads = v.parse().with_context(|| format!("HASHLINE_JOBS={v:?} is not a number"))?;
        }
        for (key, slot) in [
            ("HASHLINE_MAX_PIXELS", &mut self.hash.max_pixels),
            ("HASHLINE_MAX_INPUT_BYTES", &mut self.hash.max_input_bytes),
        ] {
            if let Some(v) = get(key) {
                *slot = v.parse().with_context(|| format!("{key}={v:?} is not a number"))?;
            }
        }
        Ok(())
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.video.validate().map_err(anyhow::Error::msg)?;
        self.policy.flood.validate().map_err(anyhow::Error::msg)?;
        if !(1..=3650).contains(&self.journal.window_days) {
            bail!("journal.window_days is {}: keep rows 1–3650 days", self.journal.window_days);
        }
        if self.journal.enabled && self.journal.topic.trim().is_empty() {
            bail!("journal.topic is empty: name the Kafka topic for journal rows, or set journal.enabled = false");
        }
        if self.lists.vpdq_distance > 255 || self.lists.vpdq_min_quality > 100 {
            bail!("lists.vpdq_distance is 0–255 and lists.vpdq_min_quality 0–100");
        }
        if self.lists.vpdq_query_match_percent > 100 || self.lists.vpdq_compared_match_percent > 100 {
            bail!("lists.vpdq_query_match_percent and vpdq_compared_match_percent are 0–100 percent");
        }
        if self.lists.pdq_distance > 255 {
            bail!("lists.pdq_distance is {}: a PDQ distance is 0–255", self.lists.pdq_distance);
        }
        if self.lists.pdq_min_quality > 100 {
            bail!("lists.pdq_min_quality is {}: PDQ quality is 0–100", self.lists.pdq_min_quality);
        }
        if self.lists.allow_pdq_distance > 255 {
            bail!("lists.allow_pdq_distance is {}: a PDQ distance is 0–255", self.lists.allow_pdq_distance);
        }
        if self.lists.replace_max_drop_percent > 100 {
            bail!(
                "lists.replace_max_drop_percent is {}: a share is 0–100 percent",
                self.lists.replace_max_drop_percent
            );
        }
        let c = &self.reporter.country;
        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            bail!("reporter.country is {c:?}: use an ISO 3166-1 alpha-2 code such as \"KH\"");
        }
        if let Some(d) = self.policy.auto_report_pdq_distance {
            if d > 255 {
                bail!("policy.auto_report_pdq_distance is {d}: a PDQ distance is 0–255");
            }
        }
        #[cfg(feature = "serve")]
        {
            let s = &self.server;
            if s.max_batch == 0 || s.max_body_bytes == 0 || s.rate_per_s == 0 {
                bail!("server.max_batch, server.max_body_bytes and server.rate_per_s must be positive");
            }
            self.triage.validate().map_err(anyhow::Error::msg)?;
        }
        if self.evidence.retention_days == 0 {
            bail!("evidence.retention_days must be at least 1 (default 365)");
        }
        let h = &self.hash;
        if h.max_pixels == 0 || h.max_side == 0 || h.max_input_bytes == 0 {
            bail!("hash.max_pixels, hash.max_side and hash.max_input_bytes must be positive");
        }
        Ok(())
    }

    /// The store: the flag, else the configuration, else an error that says what to do.
    pub fn store(&self, flag: Option<&Path>) -> anyhow::Result<PathBuf> {
        flag.map(Path::to_path_buf).or_else(|| self.store.clone()).ok_or_else(|| {
            anyhow::anyhow!(
                "no list store: give --store DIR, set HASHLINE_STORE, or set `store` in hashline.toml"
            )
        })
    }

    /// The data folder: the flag, else the configuration, else an error that says what to do.
    pub fn data_dir(&self, flag: Option<&Path>) -> anyhow::Result<PathBuf> {
        flag.map(Path::to_path_buf).or_else(|| self.data_dir.clone()).ok_or_else(|| {
            anyhow::anyhow!(
                "no data folder: give --data-dir DIR, set HASHLINE_DATA_DIR, or set `data_dir` in hashline.toml"
            )
        })
    }

    /// Worker threads, resolving 0 to all cores.
    pub fn jobs(&self, flag: Option<usize>) -> usize {
        match flag.unwrap_or(self.hash.threads) {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// What `hashline serve` runs with: `[server]`, `[hash]` (dihedral is chosen per
    /// request) and `[triage]`, resolved from this configuration.
    #[cfg(feature = "serve")]
    pub fn serve_settings(&self) -> hashline_server::Settings {
        hashline_server::Settings {
            server: self.server.clone(),
            hash: hashline_hash::HashOptions { dihedral: false, ..self.hash.options() },
            video: self.video.clone(),
            triage: self.triage.clone(),
            fetch: self.kafka.fetch.clone(),
        }
    }

    /// The effective configuration as TOML, with secret-looking librdkafka properties
    /// (passwords, secrets, keys, tokens, credentials) shown as `<redacted>`: the output goes
    /// to terminals, tickets and logs.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        let mut shown = self.clone();
        for (k, v) in shown.kafka.properties.iter_mut() {
            if is_secret_key(k) {
                *v = "<redacted>".into();
            }
        }
        Ok(toml::to_string_pretty(&shown)?)
    }
}

/// Whether a librdkafka property (or any setting) by this name holds a secret.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "secret", "key", "token", "credential", "jaas"].iter().any(|w| k.contains(w))
        && !k.ends_with(".location")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_configuration_redacts_secrets() {
        let c: Config = toml::from_str(
            "[kafka.properties]\n\"sasl.password\" = \"hunter2hunter2\"\n\"sasl.username\" = \"svc\"\n\
             \"ssl.key.password\" = \"k3y-pass\"\n\"sasl.oauthbearer.client.secret\" = \"s3cr3t\"\n\
             \"ssl.key.location\" = \"/etc/kafka/key.pem\"\n",
        )
        .unwrap();
        let text = c.to_toml().unwrap();
        for secret in ["hunter2hunter2", "k3y-pass", "s3cr3t"] {
            assert!(!text.contains(secret), "{secret} printed:\n{text}");
        }
        assert!(text.contains("svc") && text.contains("/etc/kafka/key.pem"), "{text}");
        assert_eq!(text.matches("<redacted>").count(), 3);
    }

    #[test]
    fn defaults_round_trip_and_unknown_keys_are_refused() {
        let c = Config::default();
        let text = c.to_toml().unwrap();
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), c);
        let err = toml::from_str::<Config>("[hash]\nmodee = \"fast\"\n").unwrap_err().to_string();
        assert!(err.contains("modee"), "{err}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut c: Config = toml::from_str("store = \"a\"\n[hash]\nmode = \"fast\"\nthreads = 3\n").unwrap();
        c.apply_env(|k| match k {
            "HASHLINE_STORE" => Some("b".into()),
            "HASHLINE_JOBS" => Some("1".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.store, Some(PathBuf::from("b")));
        assert_eq!((c.hash.mode, c.hash.threads), (Mode::Fast, 1));
        assert!(c.apply_env(|k| (k == "HASHLINE_MODE").then(|| "slow".into())).is_err());
    }

    #[test]
    #[cfg(feature = "serve")] // a worker build reads `[server]` and `[triage]` as plain tables
    fn the_example_file_is_valid_and_shows_the_defaults() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../hashline.example.toml"))
                .unwrap();
        let c: Config = toml::from_str(&text).unwrap();
        c.validate().unwrap();
        assert_eq!(c, Config::default(), "hashline.example.toml must show the defaults");
    }

    #[test]
    fn keys_of_earlier_releases_still_work_with_a_warning() {
        let mut c: Config = toml::from_str(
            "[scan]\nmode = \"fast\"\ndihedral = true\njobs = 2\n[limits]\nmax_pixels = 5000\n[run]\nthreads = 3\n",
        )
        .unwrap();
        let warnings = c.migrate_deprecated();
        assert_eq!(warnings.len(), 5, "{warnings:?}");
        assert!(warnings.iter().all(|w| w.contains("deprecated") && w.contains("[hash]")), "{warnings:?}");
        assert_eq!((c.hash.mode, c.hash.dihedral, c.hash.threads), (Mode::Fast, true, 3));
        assert_eq!(c.hash.max_pixels, 5000);
        assert_eq!(c.hash.max_input_bytes, Limits::default().max_input_bytes);
        // Nothing deprecated is left to print or to steer anything.
        assert_eq!((c.scan.mode, c.limits, c.run.threads), (None, None, None));
        assert!(!c.to_toml().unwrap().contains("[limits]"));
        // The environment still overrides what the file said.
        c.apply_env(|k| (k == "HASHLINE_MODE").then(|| "exact".into())).unwrap();
        assert_eq!(c.hash.mode, Mode::Exact);
    }

    #[test]
    fn out_of_range_thresholds_are_refused() {
        let c: Config = toml::from_str("[lists]\npdq_distance = 300\n").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("0–255"));
    }

    #[test]
    fn hostile_video_settings_are_refused_with_the_key_named() {
        for (text, says) in [
            ("[video]\nseconds_per_hash = -1.0\n", "seconds_per_hash"),
            ("[video]\nseconds_per_hash = nan\n", "seconds_per_hash"),
            ("[video]\nseconds_per_hash = 1e9\n", "seconds_per_hash"),
            ("[video.limits]\nmax_memory_bytes = 1000\n", "max_memory_bytes"),
            ("[video.limits]\nmax_frame_rate = 0.0\n", "max_frame_rate"),
            ("[video.limits]\nmax_duration_seconds = inf\n", "max_duration_seconds"),
            ("[video.limits]\nmax_decode_seconds = 0\n", "max_decode_seconds"),
            ("[lists]\nvpdq_query_match_percent = 101\n", "vpdq_query_match_percent"),
            ("[lists]\nvpdq_distance = 256\n", "vpdq_distance"),
        ] {
            let c: Config = toml::from_str(text).unwrap();
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
        let err = toml::from_str::<Config>("[video.limits]\nmax_bytez = 1\n").unwrap_err().to_string();
        assert!(err.contains("max_bytez"), "{err}");
    }
}
