//! Panics in spawned work end in an answer, not a hang: [`catch_unwind`] turns a panic inside a
//! future into an `Err`, so a driver that panics still closes its client (every waiting call
//! fails with `Error::Closed`) and a binding's future is still resolved.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

/// `f`'s output, or `Err(())` when polling it panicked (the panic message has been printed by
/// the panic hook already).
pub async fn catch_unwind<F: Future>(f: F) -> Result<F::Output, ()> {
    CatchUnwind(Box::pin(f)).await
}

struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The future is dropped right after a panic, never polled again: no broken invariant
        // of it can be observed.
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_panicking_future_becomes_an_error() {
        assert_eq!(super::catch_unwind(async { 7 }).await, Ok(7));
        let panicked = super::catch_unwind(async {
            tokio::task::yield_now().await;
            panic!("deliberate panic to test catch_unwind");
        })
        .await;
        assert_eq!(panicked, Err(()));
    }
}
