//! `GET /sim/stats`: chat requests per protocol, rate-limit refusals and
//! the fate of streams.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

/// The wire format a chat request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    OpenAi,
    Anthropic,
    Gemini,
}

/// Counters shared by every connection.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    openai: AtomicU64,
    anthropic: AtomicU64,
    gemini: AtomicU64,
    open: AtomicU64,
    cancelled: AtomicU64,
    completed: AtomicU64,
    /// 429s from the `--limit` rate limits.
    rate_limited: AtomicU64,
}

impl Stats {
    /// Count one chat request, whatever its outcome.
    pub(crate) fn request(&self, protocol: Protocol) {
        let counter = match protocol {
            Protocol::OpenAi => &self.openai,
            Protocol::Anthropic => &self.anthropic,
            Protocol::Gemini => &self.gemini,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a request refused by the `--limit` rate limits.
    pub(crate) fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a stream as open until its guard finishes or is dropped.
    pub(crate) fn open_stream(self: &Arc<Self>) -> StreamGuard {
        self.open.fetch_add(1, Ordering::Relaxed);
        StreamGuard {
            stats: self.clone(),
            state: GuardState::Open,
        }
    }

    pub(crate) fn json(&self) -> Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "requests": {
                "openai": get(&self.openai),
                "anthropic": get(&self.anthropic),
                "gemini": get(&self.gemini),
            },
            "streams_open": get(&self.open),
            "streams_cancelled": get(&self.cancelled),
            "streams_completed": get(&self.completed),
            "rate_limited": get(&self.rate_limited),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GuardState {
    Open,
    Done,
}

/// Lives inside a streamed body. Dropped before [`StreamGuard::complete`] or
/// [`StreamGuard::abort`], the stream counts as cancelled: the client went
/// away before the last frame.
#[derive(Debug)]
pub(crate) struct StreamGuard {
    stats: Arc<Stats>,
    state: GuardState,
}

impl StreamGuard {
    /// The last frame was handed to the connection.
    pub(crate) fn complete(&mut self) {
        self.finish(true);
    }

    /// The simulator itself cut the stream (a stall that ran out): neither
    /// completed nor cancelled by the client.
    pub(crate) fn abort(&mut self) {
        self.finish(false);
    }

    fn finish(&mut self, completed: bool) {
        if self.state == GuardState::Done {
            return;
        }
        self.state = GuardState::Done;
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
        if completed {
            self.stats.completed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if self.state == GuardState::Open {
            self.stats.cancelled.fetch_add(1, Ordering::Relaxed);
            self.finish(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_count_completed_cancelled_and_aborted() {
        let stats = Arc::new(Stats::default());
        stats.request(Protocol::Gemini);
        stats.request(Protocol::Gemini);
        stats.request(Protocol::Anthropic);
        let mut done = stats.open_stream();
        let dropped = stats.open_stream();
        let mut cut = stats.open_stream();
        assert_eq!(stats.json()["streams_open"], 3);
        done.complete();
        done.complete();
        drop(done);
        drop(dropped);
        cut.abort();
        drop(cut);
        assert_eq!(
            stats.json(),
            json!({"requests": {"openai": 0, "anthropic": 1, "gemini": 2},
                   "streams_open": 0, "streams_cancelled": 1, "streams_completed": 1,
                   "rate_limited": 0})
        );
    }
}
