//! Parallel work on a bounded rayon pool, with results handed back in input order.
//!
//! At most `window` items are in flight or waiting to be emitted, so memory stays bounded
//! however many inputs there are and however uneven their cost.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Runs `work` on every item on `pool` and calls `emit` with the results in input order.
/// `init` makes one per-thread state (a hasher with its buffers).
pub fn run<I, S, R>(
    pool: &rayon::ThreadPool,
    items: impl IntoIterator<Item = I>,
    window: usize,
    init: impl Fn() -> S + Send + Sync + 'static,
    work: impl Fn(&mut S, I) -> R + Send + Sync + 'static,
    mut emit: impl FnMut(R),
) where
    I: Send + 'static,
    S: Send + 'static,
    R: Send + 'static,
{
    let window = window.max(1);
    let (tx, rx) = crossbeam_channel::bounded::<(usize, R)>(window);
    // One state per pool thread, made on first use; each thread only ever locks its own.
    let states: Vec<Mutex<Option<S>>> = (0..pool.current_num_threads()).map(|_| Mutex::new(None)).collect();
    let shared = Arc::new((init, work, states));
    let mut items = items.into_iter().enumerate();
    let mut pending: BTreeMap<usize, R> = BTreeMap::new();
    let (mut next_emit, mut in_flight, mut exhausted) = (0usize, 0usize, false);
    loop {
        while !exhausted && in_flight < window {
            let Some((i, item)) = items.next() else {
                exhausted = true;
                break;
            };
            let tx = tx.clone();
            let shared = Arc::clone(&shared);
            pool.spawn(move || {
                let (init, work, states) = &*shared;
                let slot = rayon::current_thread_index().and_then(|t| states.get(t));
                let result = match slot {
                    Some(slot) => {
                        let mut guard = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                        let state = guard.get_or_insert_with(init);
                        work(state, item)
                    }
                    None => work(&mut init(), item),
                };
                // The receiver only goes away if the caller panicked.
                let _ = tx.send((i, result));
            });
            in_flight += 1;
        }
        if in_flight == 0 {
            break;
        }
        let Ok((i, r)) = rx.recv() else { break };
        pending.insert(i, r);
        while let Some(r) = pending.remove(&next_emit) {
            emit(r);
            next_emit += 1;
            in_flight -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_with_uneven_work() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let mut seen = Vec::new();
        run(
            &pool,
            0..200u64,
            8,
            || 0u64,
            |calls, i| {
                *calls += 1;
                std::thread::sleep(std::time::Duration::from_micros((i * 37) % 300));
                i
            },
            |i| seen.push(i),
        );
        assert_eq!(seen, (0..200).collect::<Vec<_>>());
    }
}
