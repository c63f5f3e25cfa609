//! Hot reload: the active [`ListSet`] is swapped atomically when a store's lists change, while
//! queries keep running on the snapshot they started with (no pause, no half-built index).
//!
//! Only the lists whose version changed are loaded again (from the snapshot the importer
//! wrote); the others are shared with the previous set, so a reload's extra memory is the
//! changed lists only, and an old list's index is freed when the last query holding it ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::matcher::ListSet;
use crate::store::{Store, StoreError};

/// The lists in force, reloaded from a store when a list gets a new version.
pub struct LiveLists {
    store: Store,
    current: ArcSwap<ListSet>,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// Nothing changed in the store.
    Unchanged,
    /// A new snapshot is in force; building it took this long.
    Swapped(Duration),
}

impl LiveLists {
    /// Loads the store's lists.
    pub fn open(store: Store) -> Result<LiveLists, StoreError> {
        let set = ListSet::load(&store)?;
        Ok(LiveLists { store, current: ArcSwap::from_pointee(set) })
    }

    /// The snapshot in force. Hold it for one query or one batch; it stays valid (and
    /// unchanged) even if a reload happens meanwhile.
    pub fn snapshot(&self) -> Arc<ListSet> {
        self.current.load_full()
    }

    /// Rebuilds and swaps if any list's active version differs from the snapshot's. On error
    /// the current snapshot stays in force.
    pub fn reload_if_changed(&self) -> Result<Reload, StoreError> {
        let mut wanted = Vec::new();
        for name in self.store.names()? {
            if let Some(v) = self.store.current_version(&name)? {
                wanted.push((name, v));
            }
        }
        let disabled = self.store.disabled()?;
        if wanted == self.current.load().versions() && disabled == *self.current.load().disabled() {
            return Ok(Reload::Unchanged);
        }
        let started = Instant::now();
        let old = self.current.load_full();
        let mut parts = Vec::with_capacity(wanted.len());
        for (name, version) in &wanted {
            let same =
                old.parts().iter().find(|p| p.manifest.name == *name && p.manifest.version == *version);
            parts.push(match same {
                Some(p) => Arc::clone(p),
                None => Arc::new(self.store.load_part(name)?),
            });
        }
        drop(old);
        self.current.store(Arc::new(ListSet::from_parts(parts).with_disabled(disabled)));
        Ok(Reload::Swapped(started.elapsed()))
    }

    /// Polls the store every `every` on a background thread until the returned guard is
    /// dropped. Failures keep the current snapshot and are reported to `on_error`.
    ///
    /// Each wait is `every` plus a random share of `jitter` (drawn per wait), so instances
    /// started together by a rollout drift apart and do not all read a new list at the same
    /// moment.
    pub fn watch(
        self: &Arc<Self>,
        every: Duration,
        jitter: Duration,
        on_error: impl Fn(&StoreError) + Send + 'static,
    ) -> WatchGuard {
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let me = Arc::clone(self);
        let handle = std::thread::Builder::new()
            .name("hashline-lists-reload".into())
            .spawn(move || loop {
                match stop_rx.recv_timeout(every + random_share(jitter)) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        if let Err(e) = me.reload_if_changed() {
                            on_error(&e);
                        }
                    }
                    _ => return,
                }
            })
            .ok();
        WatchGuard { stop: Some(stop_tx), handle }
    }
}

/// A uniformly random duration in `0..=max` (seeded per process and per call: a spread, not
/// a secret).
fn random_share(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    if max.is_zero() {
        return Duration::ZERO;
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos() ^ u128::from(std::process::id()));
    let nanos = max.as_nanos().min(u128::from(u64::MAX)) as u64;
    Duration::from_nanos(h.finish() % nanos.saturating_add(1))
}

/// Stops the reload thread when dropped.
pub struct WatchGuard {
    stop: Option<std::sync::mpsc::Sender<()>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
