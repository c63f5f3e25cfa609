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

    /// The rayon pool, for callers that drive it themselves (a folder walk in input order).
    pub fn rayon(&self) -> &rayon::ThreadPool {
        &self.pool
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
