//! Running a connection so that a wake-up it gives itself while it is being polled
//! costs a second poll on the spot, not a trip through the scheduler.
//!
//! Every request with a body wakes its own connection task once, needlessly: hyper
//! (1.12) registers the connection's waker with the request body's channel when it sends
//! the body, and the handler taking the body wakes that waker, while the connection task
//! is running the handler. tokio treats a task woken while running as a yield: once the
//! poll ends, the task goes to the back of the run queue and an idle worker thread is
//! woken to steal it (an `eventfd` write or a futex wake-up), only to find nothing to
//! do. On `POST /predict` that trip cost about 0.5 µs of the server's CPU per request
//! (BENCHMARKS.md). The second poll itself remains: from outside hyper, a stale wake-up
//! cannot be told from a real one.
//!
//! [`SelfWakeCoalesced`] gives the connection a waker of its own. A wake-up that arrives
//! while the connection is being polled is remembered and answered by polling again at
//! once; any other wake-up goes to the task's waker, as before. Wake-ups that tokio
//! defers to the end of a poll (its cooperative budget running out, `yield_now`) arrive
//! after the poll and reach the task, so they stay yields. hyper's own yield, a wake-up
//! in place after 16 rounds of its read/write loop, is answered by polling again like
//! the others; [`MAX_REPOLLS`] bounds that, so a busy connection runs at most 32 rounds
//! before it yields to the scheduler, where it ran 16.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use atomic_waker::AtomicWaker;

/// Immediate re-polls per poll from the scheduler, before a self-wake yields as usual:
/// one answers the body channel's wake-up, which comes once per request.
pub const MAX_REPOLLS: usize = 1;

/// `inner`, polled with a waker that coalesces wake-ups given during its own poll.
pub fn coalesced<F: Future>(inner: F) -> SelfWakeCoalesced<F> {
    let relay = Arc::new(Relay {
        state: AtomicU8::new(IDLE),
        task: AtomicWaker::new(),
    });
    SelfWakeCoalesced {
        inner: Box::pin(inner),
        waker: Waker::from(Arc::clone(&relay)),
        relay,
    }
}

/// A future that re-polls its inner future at once when it wakes itself mid-poll.
pub struct SelfWakeCoalesced<F> {
    inner: Pin<Box<F>>,
    relay: Arc<Relay>,
    /// `relay` as a waker, made once per connection.
    waker: Waker,
}

impl<F: Future> Future for SelfWakeCoalesced<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        this.relay.task.register(cx.waker());
        let mut inner_cx = Context::from_waker(&this.waker);
        for _ in 0..=MAX_REPOLLS {
            this.relay.state.store(POLLING, Ordering::SeqCst);
            if let Poll::Ready(out) = this.inner.as_mut().poll(&mut inner_cx) {
                this.relay.state.store(IDLE, Ordering::SeqCst);
                return Poll::Ready(out);
            }
            if this.relay.state.swap(IDLE, Ordering::SeqCst) != WOKEN {
                return Poll::Pending;
            }
        }
        // Still waking itself: let the scheduler run the other tasks first.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Not being polled: wake-ups go to the task.
const IDLE: u8 = 0;
/// Being polled, not woken yet.
const POLLING: u8 = 1;
/// Woken while being polled: poll again before returning.
const WOKEN: u8 = 2;

/// The waker the inner future sees.
struct Relay {
    state: AtomicU8,
    task: AtomicWaker,
}

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // POLLING -> WOKEN is the coalesced case; a wake-up seen as IDLE (or racing with
        // the end of a poll, which swaps the state to IDLE first) reaches the task.
        match self
            .state
            .compare_exchange(POLLING, WOKEN, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => {}
            Err(WOKEN) => {}
            Err(_) => self.task.wake(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A future that wakes itself `times` times during its polls, then finishes.
    struct WakesItself {
        times: usize,
        polls: Arc<AtomicUsize>,
    }

    impl Future for WakesItself {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls.fetch_add(1, Ordering::SeqCst);
            if self.times == 0 {
                return Poll::Ready(());
            }
            self.times -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// Counts the wake-ups the outer task receives.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Polls once from a task whose waker counts its wake-ups a future that wakes
    /// itself `times` times: (the outcome, inner polls, wake-ups of the task).
    fn poll_once(times: usize) -> (Poll<()>, usize, usize) {
        let polls = Arc::new(AtomicUsize::new(0));
        let mut fut = coalesced(WakesItself {
            times,
            polls: polls.clone(),
        });
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        let outcome = Pin::new(&mut fut).poll(&mut Context::from_waker(&waker));
        let wakes = counter.0.load(Ordering::SeqCst);
        (outcome, polls.load(Ordering::SeqCst), wakes)
    }

    #[test]
    fn a_self_wake_is_answered_by_polling_again_without_waking_the_task() {
        assert_eq!(poll_once(1), (Poll::Ready(()), 2, 0));
    }

    #[test]
    fn a_future_that_keeps_waking_itself_yields_to_the_scheduler() {
        assert_eq!(poll_once(100), (Poll::Pending, MAX_REPOLLS + 1, 1));
    }

    #[test]
    fn a_wake_up_between_polls_reaches_the_task() {
        let mut fut = coalesced(std::future::pending::<()>());
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
        Waker::from(fut.relay.clone()).wake();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    }
}
