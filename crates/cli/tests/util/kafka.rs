//! The Kafka test harness shared by the Kafka end-to-end tests: a tansu broker in its own
//! folder, the Python confluent-kafka client, `hashline run` as a child process.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const TOPICS: [&str; 4] =
    ["hashline.uploads", "hashline.matches", "hashline.dead-letter", "hashline.hashes"];

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn tansu() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TANSU") {
        return Some(PathBuf::from(p));
    }
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("tansu"))
        .chain(std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/tansu")))
        .find(|p| p.is_file());
    found
}

pub fn prerequisites() -> Option<PathBuf> {
    let py =
        Command::new("python3").args(["-c", "import confluent_kafka"]).status().is_ok_and(|s| s.success());
    match (tansu(), py) {
        (Some(t), true) => Some(t),
        (t, py) => {
            let what = format!("tansu {}, python confluent_kafka {}", t.is_some(), py);
            assert!(std::env::var_os("CI").is_none(), "CI must provide the broker and client ({what})");
            eprintln!("skipping the Kafka tests: {what} (see .ci/run)");
            None
        }
    }
}

/// A tansu broker in its own folder.
pub struct Broker {
    pub bin: PathBuf,
    pub dir: PathBuf,
    pub port: u16,
    pub child: Option<Child>,
}

impl Broker {
    pub fn start(bin: PathBuf, dir: &Path) -> Broker {
        let mut b = Broker { bin, dir: dir.join("broker"), port: free_port(), child: None };
        std::fs::create_dir_all(&b.dir).unwrap();
        b.spawn();
        for t in TOPICS {
            let out = Command::new(&b.bin)
                .args(["topic", "create", t, "--partitions", "3", "--broker", &b.url()])
                .current_dir(&b.dir)
                .output()
                .unwrap();
            assert!(out.status.success(), "topic create {t}: {}", String::from_utf8_lossy(&out.stderr));
        }
        b
    }

    pub fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.join("broker.log")).unwrap();
        let child = Command::new(&self.bin)
            .args(["broker", "--listener-url", &self.url(), "--advertised-listener-url", &self.url()])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(&self.dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(self.addr()).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "broker did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn client(args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kafka/client.py");
    let out = Command::new("python3").arg(script).args(args).output().unwrap();
    assert!(out.status.success(), "client {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One record to produce.
pub struct Rec {
    pub id: Option<String>,
    pub value: Vec<u8>,
    pub extra: Vec<(&'static str, String)>,
}

pub fn produce(b: &Broker, dir: &Path, recs: &[Rec]) {
    produce_to(b, dir, TOPICS[0], recs);
}

pub fn produce_to(b: &Broker, dir: &Path, topic: &str, recs: &[Rec]) {
    let mut spec = Vec::new();
    for (i, r) in recs.iter().enumerate() {
        let f = dir.join(format!("rec-{}-{i}", recs.len()));
        std::fs::write(&f, &r.value).unwrap();
        let mut headers = serde_json::Map::new();
        if let Some(id) = &r.id {
            headers.insert("hashline-upload-id".into(), id.clone().into());
        }
        headers.insert("hashline-platform".into(), "example-photos".into());
        for (k, v) in &r.extra {
            headers.insert((*k).into(), v.clone().into());
        }
        spec.push(json!({"key": r.id.clone().unwrap_or_default(), "headers": headers, "value_file": f}));
    }
    let spec_path = dir.join(format!("spec-{}.json", recs.len()));
    std::fs::write(&spec_path, serde_json::to_vec(&spec).unwrap()).unwrap();
    let r = client(&["produce", &b.addr(), topic, spec_path.to_str().unwrap()]);
    assert_eq!(r["produced"], recs.len());
}

/// `hashline run` as a child process with its metrics on a free port.
pub struct Run {
    pub child: Child,
    pub metrics: String,
}

/// `hashline run` with `extra_kafka` in `[kafka]` and `top` before it (other sections).
pub fn start_run_store(
    b: &Broker,
    store: &str,
    data: &Path,
    group: &str,
    extra_kafka: &str,
    top: &str,
) -> Run {
    let port = free_port();
    let log = std::fs::File::create(data.with_extension(format!("{port}.log"))).unwrap();
    // Statistics (consumer lag, broker state) every half second; a killed member leaves the
    // group after 6 s instead of the default 45 s.
    let cfg = data.with_extension(format!("{port}.toml"));
    let toml = format!("{top}[kafka]\nstatistics_interval_ms = 500\n{extra_kafka}[kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"1000\"\n");
    std::fs::write(&cfg, toml).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_hashline"))
        .args(["--config", cfg.to_str().unwrap()])
        .args(["run", "--brokers", &b.addr(), "--group", group, "--store", store])
        .args(["--data-dir", data.to_str().unwrap(), "--metrics-addr", &format!("127.0.0.1:{port}")])
        .env("HASHLINE_LOG", "info,librdkafka=warn,rdkafka=warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Run { child, metrics: format!("127.0.0.1:{port}") }
}

impl Run {
    pub fn scrape(&self) -> String {
        use std::io::{Read, Write};
        let mut text = String::new();
        let Ok(mut s) = std::net::TcpStream::connect(&self.metrics) else { return text };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
        let _ = s.read_to_string(&mut text);
        // The body, without the HTTP head.
        text.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
    }

    /// Partitions currently assigned.
    pub fn assigned(&self) -> usize {
        let text = self.scrape();
        let line = text.lines().find(|l| l.starts_with("hashline_partitions_assigned "));
        line.and_then(|l| l.rsplit(' ').next()?.parse().ok()).unwrap_or(0)
    }

    /// uploads_total by outcome (empty while the metrics listener is not up).
    pub fn outcomes(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let text = self.scrape();
        for line in text.lines().filter(|l| l.starts_with("hashline_uploads_total{")) {
            let outcome = line.split('"').nth(1).unwrap().to_string();
            let n: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
            out.insert(outcome, n as u64);
        }
        out
    }

    pub fn processed(&self) -> u64 {
        self.outcomes().values().sum()
    }

    pub fn wait_for(&self, n: u64, secs: u64) {
        let started = Instant::now();
        while self.processed() < n {
            assert!(
                started.elapsed() < Duration::from_secs(secs),
                "only {:?} of {n} after {secs} s",
                self.outcomes()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn term(mut self) -> std::process::ExitStatus {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        self.child.wait().unwrap()
    }

    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Run {
    /// A failed assertion must not leave the process behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn committed_all(b: &Broker, group: &str) -> bool {
    let offs = client(&["offsets", &b.addr(), group, TOPICS[0]]);
    offs.as_array().unwrap().iter().all(|p| p["committed"] == p["high"])
}

pub fn outbox_reports(data: &Path) -> Vec<Value> {
    let out = super::hashline_in(
        Path::new("."),
        &[("HASHLINE_DATA_DIR", data.to_str().unwrap())],
        &["reports", "list", "--json"],
    );
    out.json_lines()
}
