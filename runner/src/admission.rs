//! Admission of public requests, and what a chain of calls shares.
//!
//! A public request is admitted once, for its whole chain (`pool.rs` sizes the number
//! of chains that fit the instance pool); the chained calls it makes ride on that
//! admission and on its deadline. When every chain is taken, a request waits its turn
//! in a bounded queue; a full queue, or a wait past its bound, is [`Overloaded`].
//!
//! A few chains are kept back to turn requests away in the app's own words: a request
//! that cannot be admitted runs on one of them with [`OVERLOADED_HEADER`] set, so the
//! entry component answers 503 in its protocol's error shape, and any call it chains
//! is refused at once. Only when those are taken too does the runner answer 503 itself.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The request could not be admitted: answered 503 with `Retry-After`.
#[derive(Debug)]
pub struct Overloaded;

impl std::fmt::Display for Overloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("every instance is busy and the admission queue is full or waited too long")
    }
}

impl std::error::Error for Overloaded {}

/// The request ran past its deadline (`--request-timeout`). `body_unfinished` tells
/// a client that had not sent its whole body (408) from a guest too slow to answer.
#[derive(Debug)]
pub struct TimedOut {
    pub body_unfinished: bool,
}

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.body_unfinished {
            f.write_str("the client did not send the request body before the request timeout")
        } else {
            f.write_str("the component did not answer before the request timeout")
        }
    }
}

impl std::error::Error for TimedOut {}

/// The header a turned-away request carries to its entry component: the seconds the
/// client is asked to wait (edgesafe's gateway reads it; Spin has no such header).
pub const OVERLOADED_HEADER: &str = "edgesafe-runner-overloaded";

/// Seconds a client is asked to wait after a 503.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// How long a turned-away request may wait for a chain to be turned away on: a refusal
/// takes a millisecond, so only a machine in trouble waits that long.
const REFUSAL_WAIT: Duration = Duration::from_secs(5);

pub struct Admission {
    chains: Arc<Semaphore>,
    /// Chains kept back for turning requests away (see the module's comment).
    refusals: Arc<Semaphore>,
    capacity: AtomicUsize,
    queued: AtomicUsize,
    max_queued: usize,
    max_wait: Duration,
}

impl Admission {
    pub fn new(chains: usize, max_queued: usize, max_wait: Duration) -> Self {
        Self {
            chains: Arc::new(Semaphore::new(chains)),
            refusals: Arc::new(Semaphore::new(0)),
            capacity: AtomicUsize::new(chains),
            queued: AtomicUsize::new(0),
            max_queued,
            max_wait,
        }
    }

    /// Makes room for `chains` more chains, a sixteenth of them (at least one, when
    /// there are two or more) kept back for turning requests away.
    pub fn open(&self, chains: usize) {
        let kept_back = if chains >= 2 { chains.div_ceil(16) } else { 0 };
        self.refusals.add_permits(kept_back);
        self.chains.add_permits(chains - kept_back);
        self.capacity
            .fetch_add(chains - kept_back, Ordering::AcqRel);
    }

    /// How many chains may run at once.
    pub fn capacity(&self) -> usize {
        self.capacity.load(Ordering::Acquire)
    }

    /// How many requests wait for a chain now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// How many chains run now.
    pub fn running(&self) -> usize {
        self.capacity()
            .saturating_sub(self.chains.available_permits())
    }

    /// Waits for room for one chain, first come first served.
    pub async fn admit(&self) -> Result<OwnedSemaphorePermit, Overloaded> {
        if let Ok(permit) = self.chains.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let _place = QueuePlace::take(&self.queued, self.max_queued).ok_or(Overloaded)?;
        match tokio::time::timeout(self.max_wait, self.chains.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Elapsed, or the semaphore closed (never: it is never closed).
            _ => Err(Overloaded),
        }
    }

    /// A chain kept back for turning one request away, once [`Admission::admit`] has
    /// refused it; `None` when those are all taken too.
    pub async fn refusal(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(REFUSAL_WAIT, self.refusals.clone().acquire_owned())
            .await
            .ok()?
            .ok()
    }
}

/// A place in the queue, given back however the wait ends (a client that hangs up
/// drops the waiting future).
struct QueuePlace<'a>(&'a AtomicUsize);

impl<'a> QueuePlace<'a> {
    fn take(queued: &'a AtomicUsize, max: usize) -> Option<Self> {
        queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(queued))
    }
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a public request and every call it chains share: one deadline, and one
/// admission, given back when the last store of the chain is gone.
#[derive(Clone)]
pub struct Chain {
    pub deadline: Option<Instant>,
    /// Admitted only to be turned away: the calls it chains are refused.
    pub turning_away: bool,
    _admitted: Option<Arc<OwnedSemaphorePermit>>,
}

impl Chain {
    pub fn new(timeout: Option<Duration>, admitted: OwnedSemaphorePermit) -> Self {
        Self {
            deadline: timeout.map(|t| Instant::now() + t),
            turning_away: false,
            _admitted: Some(Arc::new(admitted)),
        }
    }

    /// A chain on which a request that could not be admitted is turned away.
    pub fn turning_away(timeout: Option<Duration>, kept_back: OwnedSemaphorePermit) -> Self {
        Self {
            turning_away: true,
            ..Self::new(timeout, kept_back)
        }
    }

    /// A chain without a deadline or an admission (start-up work).
    pub fn unbounded() -> Self {
        Self {
            deadline: None,
            turning_away: false,
            _admitted: None,
        }
    }

    /// The epoch deadline for a store of this chain, in ticks of `tick` from now, as
    /// Spin's `Store::set_deadline` computes it: one more tick for the one under way.
    pub fn epoch_ticks(&self, tick: Duration) -> u64 {
        match self.deadline {
            // Spin's store default with epoch interruption on: practically never.
            None => u64::MAX / 2,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return 0;
                }
                let ticks = left.as_micros() / tick.as_micros().max(1);
                u64::try_from(ticks).unwrap_or(u64::MAX / 2) + 1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_wait_their_turn_then_overflow() {
        let admission = Arc::new(Admission::new(1, 1, Duration::from_secs(5)));
        let first = admission.admit().await.expect("a free chain");
        // The second waits in the queue; the third finds the queue full.
        let waiting = {
            let admission = admission.clone();
            tokio::spawn(async move { admission.admit().await.is_ok() })
        };
        while admission.queued.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        assert!(admission.admit().await.is_err(), "the queue holds one");
        drop(first);
        assert!(
            waiting.await.unwrap(),
            "the waiting one gets the freed chain"
        );
        assert_eq!(admission.queued.load(Ordering::Acquire), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_sixteenth_of_the_chains_is_kept_back_for_turning_requests_away() {
        let admission = Admission::new(0, 0, Duration::ZERO);
        admission.open(32);
        assert_eq!(admission.capacity(), 30);
        let mut held = Vec::new();
        for _ in 0..30 {
            held.push(admission.admit().await.expect("a chain"));
        }
        assert!(admission.admit().await.is_err());
        let first = admission.refusal().await.expect("one kept back");
        let _second = admission.refusal().await.expect("two kept back");
        assert!(admission.refusal().await.is_none(), "only two");
        drop(first);
        assert!(admission.refusal().await.is_some());

        // One chain is all there is: nothing is kept back from it.
        let single = Admission::new(0, 0, Duration::ZERO);
        single.open(1);
        assert_eq!(single.capacity(), 1);
        assert!(single.refusal().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_its_bound_is_overloaded() {
        let admission = Admission::new(1, 10, Duration::from_secs(2));
        let _held = admission.admit().await.unwrap();
        let started = Instant::now();
        assert!(admission.admit().await.is_err());
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert_eq!(admission.queued.load(Ordering::Acquire), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_chain_deadline_counts_epoch_ticks_like_spin() {
        let admission = Admission::new(1, 0, Duration::ZERO);
        let chain = Chain::new(
            Some(Duration::from_secs(1)),
            admission.admit().await.unwrap(),
        );
        assert_eq!(chain.epoch_ticks(Duration::from_millis(10)), 101);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(chain.epoch_ticks(Duration::from_millis(10)), 0);
        assert_eq!(
            Chain::unbounded().epoch_ticks(Duration::from_millis(10)),
            u64::MAX / 2
        );
    }

    #[tokio::test]
    async fn the_admission_lasts_as_long_as_the_chain() {
        let admission = Admission::new(1, 0, Duration::ZERO);
        let chain = Chain::new(None, admission.admit().await.unwrap());
        let chained_call = chain.clone();
        drop(chain);
        assert!(
            admission.admit().await.is_err(),
            "a chained call still runs"
        );
        drop(chained_call);
        assert!(admission.admit().await.is_ok());
    }
}
