//! A public request's body as the guest reads it, watched, so that a request that runs
//! out of time can tell a client that had not sent its whole body (408) from a guest
//! that did not answer in time.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

pub struct WatchedBody<B> {
    inner: B,
    finished: Arc<AtomicBool>,
}

/// Whether the whole body has been read.
#[derive(Clone)]
pub struct BodyWatch(Arc<AtomicBool>);

impl BodyWatch {
    pub fn finished(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl<B: Body> WatchedBody<B> {
    pub fn new(inner: B) -> (Self, BodyWatch) {
        let finished = Arc::new(AtomicBool::new(inner.is_end_stream()));
        let watch = BodyWatch(finished.clone());
        (Self { inner, finished }, watch)
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for WatchedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tokio::sync::mpsc;

    /// A body whose frames a test sends one by one.
    struct Sent(mpsc::Receiver<Bytes>);

    impl Body for Sent {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
        }
    }

    #[tokio::test]
    async fn a_body_is_finished_once_its_end_is_read() {
        let (tx, rx) = mpsc::channel(1);
        let (mut body, watch) = WatchedBody::new(Sent(rx));
        assert!(!watch.finished());
        tx.send(Bytes::from_static(b"a")).await.unwrap();
        assert!(body.frame().await.is_some());
        assert!(!watch.finished(), "more may come");
        drop(tx);
        assert!(body.frame().await.is_none());
        assert!(watch.finished(), "the body ended");
    }

    #[test]
    fn an_empty_body_is_finished_from_the_start() {
        let (_, watch) = WatchedBody::new(http_body_util::Empty::<Bytes>::new());
        assert!(watch.finished());
    }
}
