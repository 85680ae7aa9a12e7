//! Streamed bodies: SSE frames handed out one by one, paced, optionally
//! stalled, and counted in [`Stats`](super::stats::Stats).

use std::io;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::watch;

use super::http::Body;
use super::stats::StreamGuard;

/// How a stream is delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Control {
    /// Wait this long between frames.
    pub pace: Duration,
    /// After this many frames go silent for this long, then cut the
    /// connection without finishing the body.
    pub stall: Option<(usize, Duration)>,
}

struct Feed {
    frames: std::vec::IntoIter<Bytes>,
    sent: usize,
    control: Control,
    guard: StreamGuard,
    shutdown: watch::Receiver<bool>,
    ended: bool,
}

/// A body that yields `frames` under `control`. The guard is completed when
/// the last frame is handed out; a body dropped earlier counts as cancelled.
pub(crate) fn body(
    frames: Vec<Bytes>,
    control: Control,
    guard: StreamGuard,
    shutdown: watch::Receiver<bool>,
) -> Body {
    let feed = Feed {
        frames: frames.into_iter(),
        sent: 0,
        control,
        guard,
        shutdown,
        ended: false,
    };
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        if feed.ended {
            return None;
        }
        if feed.frames.len() == 0 {
            feed.guard.complete();
            return None;
        }
        if feed.sent > 0 {
            if let Some((after, silence)) = feed.control.stall
                && feed.sent == after
            {
                let mut shutdown = feed.shutdown.clone();
                tokio::select! {
                    () = tokio::time::sleep(silence) => {}
                    () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => {}
                }
                feed.guard.abort();
                feed.ended = true;
                let cut = io::Error::other("simulated stall: stream cut");
                return Some((Err(cut), feed));
            }
            if !feed.control.pace.is_zero() {
                tokio::time::sleep(feed.control.pace).await;
            }
        }
        let frame = feed.frames.next()?;
        feed.sent += 1;
        if feed.frames.len() == 0 {
            feed.guard.complete();
        }
        Some((Ok(Frame::data(frame)), feed))
    });
    StreamBody::new(stream).boxed()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;
    use crate::simulate::stats::Stats;

    fn frames(n: usize) -> Vec<Bytes> {
        (0..n)
            .map(|i| Bytes::from(format!("data: {i}\n\n")))
            .collect()
    }

    #[tokio::test]
    async fn paced_stream_yields_every_frame_and_completes() {
        let stats = Arc::new(Stats::default());
        let (_tx, rx) = watch::channel(false);
        let control = Control {
            pace: Duration::from_millis(20),
            stall: None,
        };
        let start = Instant::now();
        let collected = body(frames(4), control, stats.open_stream(), rx)
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert!(start.elapsed() >= Duration::from_millis(60));
        assert_eq!(collected, "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n");
        assert_eq!(stats.json()["streams_completed"], 1);
        assert_eq!(stats.json()["streams_open"], 0);
    }

    #[tokio::test]
    async fn stalled_stream_goes_silent_then_errors() {
        let stats = Arc::new(Stats::default());
        let (_tx, rx) = watch::channel(false);
        let control = Control {
            pace: Duration::ZERO,
            stall: Some((2, Duration::from_millis(100))),
        };
        let mut b = body(frames(5), control, stats.open_stream(), rx);
        for want in ["data: 0\n\n", "data: 1\n\n"] {
            let f = b.frame().await.unwrap().unwrap();
            assert_eq!(f.into_data().unwrap(), want);
        }
        let start = Instant::now();
        assert!(b.frame().await.unwrap().is_err());
        assert!(start.elapsed() >= Duration::from_millis(90));
        assert!(b.frame().await.is_none());
        drop(b);
        let s = stats.json();
        assert_eq!(
            (
                &s["streams_open"],
                &s["streams_cancelled"],
                &s["streams_completed"]
            ),
            (&0.into(), &0.into(), &0.into())
        );
    }
}
