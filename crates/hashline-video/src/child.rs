//! FFmpeg's programs in a child process under hard limits.
//!
//! Each run is `prlimit --as=… --cpu=… --core=0 --fsize=0 --nofile=… -- program args`: the
//! kernel ends the child when it passes its address-space or CPU-time limit, it can write no
//! file and leave no core dump; a watchdog here kills it at the wall-clock deadline. Whatever
//! the child does — crash, hang, allocate without end, print garbage — this process only sees
//! an exit status and bytes on a pipe it reads in bounded pieces.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{VideoError, VideoSettings};

/// Most bytes of the child's standard error kept (its tail), for the error message.
const STDERR_TAIL: usize = 4096;
/// SIGKILL and SIGXCPU: what the kernel sends past `RLIMIT_CPU`.
const SIGKILL: i32 = 9;
const SIGXCPU: i32 = 24;

/// A program to run under the video limits.
pub(crate) fn limited(settings: &VideoSettings, program: &Path) -> Command {
    let l = &settings.limits;
    let mut c = Command::new(&settings.prlimit);
    c.arg(format!("--as={}", l.max_memory_bytes))
        .arg(format!("--cpu={}", l.max_decode_seconds))
        .arg("--core=0")
        .arg("--fsize=0")
        .arg("--nofile=64")
        .arg("--")
        .arg(program)
        .env_clear()
        .env("AV_LOG_FORCE_NOCOLOR", "1")
        // Its own process group: a kill reaches anything it started too.
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = std::env::var_os("PATH") {
        c.env("PATH", path);
    }
    c
}

/// One message from the reader of the child's standard output.
enum Piece {
    Bytes(Vec<u8>),
    End,
    Failed(String),
}

/// A running child: its reader threads and the wall-clock deadline.
pub(crate) struct Running {
    child: Child,
    pieces: Receiver<Piece>,
    stderr: Option<JoinHandle<String>>,
    deadline: Instant,
    limit_seconds: u64,
    killed: bool,
    /// Text replaced by `<input>` in messages (the input's path).
    hide: String,
}

impl Running {
    /// Starts `cmd`, reading its output in pieces of `piece` bytes (the last may be shorter).
    pub(crate) fn start(
        mut cmd: Command,
        settings: &VideoSettings,
        piece: usize,
        hide: &Path,
    ) -> Result<Running, VideoError> {
        let mut child = cmd.spawn().map_err(|e| VideoError::ToolMissing {
            program: settings.prlimit.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut out = child.stdout.take().ok_or_else(|| VideoError::Io("no pipe from the decoder".into()))?;
        let mut err = child.stderr.take().ok_or_else(|| VideoError::Io("no pipe from the decoder".into()))?;
        // One piece in flight: a frame being read while the previous one is hashed.
        let (tx, rx) = sync_channel(1);
        std::thread::Builder::new()
            .name("video-stdout".into())
            .spawn(move || loop {
                // Up to `piece` bytes, read into fresh capacity without zeroing it first.
                let mut buf = Vec::with_capacity(piece);
                if let Err(e) = (&mut out).take(piece as u64).read_to_end(&mut buf) {
                    let _ = tx.send(Piece::Failed(e.to_string()));
                    return;
                }
                let filled = buf.len();
                if filled > 0 && tx.send(Piece::Bytes(buf)).is_err() {
                    return;
                }
                if filled < piece {
                    let _ = tx.send(Piece::End);
                    return;
                }
            })
            .map_err(|e| VideoError::Io(e.to_string()))?;
        let stderr = std::thread::Builder::new()
            .name("video-stderr".into())
            .spawn(move || {
                let mut tail = Vec::new();
                let mut buf = [0u8; 1024];
                loop {
                    match err.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            tail.extend_from_slice(&buf[..n]);
                            if tail.len() > 2 * STDERR_TAIL {
                                tail.drain(..tail.len() - STDERR_TAIL);
                            }
                        }
                    }
                }
                String::from_utf8_lossy(&tail).into_owned()
            })
            .map_err(|e| VideoError::Io(e.to_string()))?;
        let limit_seconds = settings.limits.max_decode_seconds;
        Ok(Running {
            child,
            pieces: rx,
            stderr: Some(stderr),
            deadline: Instant::now() + Duration::from_secs(limit_seconds),
            limit_seconds,
            killed: false,
            hide: hide.display().to_string(),
        })
    }

    /// The next piece of output; `None` at its end. Past the deadline the child is killed.
    pub(crate) fn next(&mut self) -> Result<Option<Vec<u8>>, VideoError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.pieces.recv_timeout(left) {
            Ok(Piece::Bytes(b)) => Ok(Some(b)),
            Ok(Piece::End) | Err(RecvTimeoutError::Disconnected) => Ok(None),
            Ok(Piece::Failed(e)) => Err(VideoError::Io(e)),
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                Err(VideoError::TimedOut { seconds: self.limit_seconds })
            }
        }
    }

    /// Stops the child now (it had enough, or broke a limit), with its whole process group:
    /// nothing it started can keep the pipes (and so the reader threads) alive.
    pub(crate) fn kill(&mut self) {
        if !self.killed {
            self.killed = true;
            kill_group(self.child.id());
            let _ = self.child.kill();
        }
    }

    /// Waits for the child (within the deadline) and turns how it ended into a result; the
    /// standard error's last line explains a failure.
    pub(crate) fn finish(mut self, memory_limit: u64) -> Result<(), VideoError> {
        let status = self.wait_until_deadline()?;
        let tail = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        if self.killed {
            return Ok(());
        }
        self.explain(status, &tail, memory_limit)
    }

    fn wait_until_deadline(&mut self) -> Result<ExitStatus, VideoError> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() >= self.deadline => {
                    self.kill();
                    let _ = self.child.wait();
                    return Err(VideoError::TimedOut { seconds: self.limit_seconds });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(VideoError::Io(e.to_string())),
            }
        }
    }

    fn explain(&self, status: ExitStatus, tail: &str, memory_limit: u64) -> Result<(), VideoError> {
        if status.success() {
            return Ok(());
        }
        if let Some(signal) = status.signal() {
            return Err(match signal {
                SIGXCPU | SIGKILL => VideoError::TimedOut { seconds: self.limit_seconds },
                _ => VideoError::Crashed { signal },
            });
        }
        let line = last_line(tail, &self.hide);
        let lower = line.to_ascii_lowercase();
        // The dynamic loader's words when the libraries do not fit the address-space limit.
        if lower.contains("cannot allocate memory")
            || lower.contains("out of memory")
            || lower.contains("failed to map segment")
        {
            return Err(VideoError::OutOfMemory { limit: memory_limit });
        }
        Err(VideoError::DecodeFailed(if line.is_empty() {
            format!("the decoder exited with status {}", status.code().unwrap_or(-1))
        } else {
            line
        }))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Never leave a decoder behind: an early return or a panic here ends it too.
        if let Ok(None) = self.child.try_wait() {
            kill_group(self.child.id());
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// SIGKILL to the process group `pgid` (the child's, made with `process_group(0)`), through
/// the shell's `kill` (the standard library has no safe call for a group).
fn kill_group(pgid: u32) {
    let _ = Command::new("sh")
        .args(["-c", "kill -KILL -\"$0\" 2>/dev/null", &pgid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The last non-empty line of a child's standard error, without the input's path and at most
/// 300 characters.
pub(crate) fn last_line(tail: &str, hide: &str) -> String {
    let line = tail.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("");
    let line = if hide.is_empty() { line.to_string() } else { line.replace(hide, "<input>") };
    line.chars().filter(|c| !c.is_control()).take(300).collect()
}
