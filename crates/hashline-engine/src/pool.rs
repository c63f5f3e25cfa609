//! The one CPU pool type: CPU work never runs on the async runtime, and never queues without
//! bound.

/// Errors of the pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The threads could not be started.
    #[error("starting the CPU pool: {0}")]
    Start(String),
    /// A job panicked (the pool goes on; the job's result is lost).
    #[error("a CPU job panicked")]
    Panicked,
    /// The pool is shutting down.
    #[error("the CPU pool is closed")]
    Closed,
}

/// A fixed number of threads and at most `threads × queue_per_thread` jobs queued or running.
pub struct CpuPool {
    pool: rayon::ThreadPool,
    slots: tokio::sync::Semaphore,
}

impl CpuPool {
    /// `threads` threads (0: one per core) named `hashline-{name}-N`, at most
    /// `queue_per_thread` jobs per thread queued or running.
    pub fn new(threads: usize, queue_per_thread: usize, name: &'static str) -> Result<CpuPool, PoolError> {
        let threads =
            if threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { threads };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(move |i| format!("hashline-{name}-{i}"))
            .build()
            .map_err(|e| PoolError::Start(e.to_string()))?;
        Ok(CpuPool { pool, slots: tokio::sync::Semaphore::new(threads * queue_per_thread.max(1)) })
    }

    /// Threads in the pool.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Runs `work` on every item on the pool, from a synchronous caller (a folder walk), and
    /// calls `emit` on the caller's thread with the results **in input order**. At most as
    /// many items as the pool has slots are in flight or waiting to be emitted, so memory stays
    /// bounded however many items there are and however uneven their cost. A panic in `work`
    /// is [`PoolError::Panicked`] for that item only.
    pub fn ordered<I, R>(
        &self,
        items: impl IntoIterator<Item = I>,
        work: impl Fn(I) -> R + Send + Sync + 'static,
        mut emit: impl FnMut(Result<R, PoolError>),
    ) where
        I: Send + 'static,
        R: Send + 'static,
    {
        let window = self.slots.available_permits().max(1);
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Result<R, PoolError>)>(window);
        let work = std::sync::Arc::new(work);
        let mut items = items.into_iter().enumerate();
        let mut pending = std::collections::BTreeMap::new();
        let (mut next_emit, mut in_flight, mut exhausted) = (0usize, 0usize, false);
        loop {
            while !exhausted && in_flight < window {
                let Some((i, item)) = items.next() else {
                    exhausted = true;
                    break;
                };
                let (tx, work) = (tx.clone(), std::sync::Arc::clone(&work));
                self.pool.spawn(move || {
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(item)))
                        .map_err(|_| PoolError::Panicked);
                    // The receiver only goes away if the caller panicked.
                    let _ = tx.send((i, r));
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

    /// Runs `f` on the pool; waits for a slot while the pool is saturated. A panic in `f` is
    /// an error for this job only.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let _slot = self.slots.acquire().await.map_err(|_| PoolError::Closed)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(r);
        });
        match rx.await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(PoolError::Panicked),
            Err(_) => Err(PoolError::Closed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_results_come_back_in_input_order_with_uneven_work_and_a_panic() {
        let pool = CpuPool::new(4, 2, "test").unwrap();
        let mut seen = Vec::new();
        pool.ordered(
            0..200u64,
            |i| {
                std::thread::sleep(std::time::Duration::from_micros((i * 37) % 300));
                assert_ne!(i, 77, "a job that panics");
                i
            },
            |r| seen.push(r),
        );
        let want: Vec<_> = (0..200).map(|i| if i == 77 { Err(PoolError::Panicked) } else { Ok(i) }).collect();
        assert_eq!(seen, want);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_are_bounded_and_a_panic_is_one_jobs_error() {
        let pool = std::sync::Arc::new(CpuPool::new(2, 1, "test").unwrap());
        assert_eq!(pool.threads(), 2);
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let jobs: Vec<_> = (0..16)
            .map(|_| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        use std::sync::atomic::Ordering::SeqCst;
                        let now = running.fetch_add(1, SeqCst) + 1;
                        most.fetch_max(now, SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        running.fetch_sub(1, SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for j in jobs {
            j.await.unwrap().unwrap();
        }
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= 2);
        assert_eq!(pool.run(|| -> u8 { panic!("a decoder bug") }).await, Err(PoolError::Panicked));
        assert_eq!(pool.run(|| 7).await, Ok(7), "the pool goes on");
    }
}
