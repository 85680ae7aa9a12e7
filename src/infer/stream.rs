//! Streaming helpers shared by every provider: a server-sent-events reader
//! over an HTTP body, the collector that turns stream events back into one
//! response, and the idle timeout that cuts a stalled stream.

use std::time::Duration;

use bytes::{Buf, BytesMut};
use futures_util::{Stream, StreamExt};

use super::tokens::Tokenizer;
use super::{ChatResponse, ChatStream, ProviderError, StreamEvent, ToolCall, Usage};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, empty when absent.
    pub event: String,
    /// The `data:` lines joined by `\n`.
    pub data: String,
}

/// Incremental SSE parser (the WHATWG `text/event-stream` rules that LLM
/// APIs use: `event:` and `data:` fields, comments, blank line dispatch).
#[derive(Default)]
pub struct SseParser {
    buf: BytesMut,
    event: String,
    data: Vec<String>,
}

impl SseParser {
    /// Feed bytes; returns the events completed by them.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
            let line = self.buf.split_to(pos + 1);
            let mut line = &line[..pos];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            let line = String::from_utf8_lossy(line);
            self.line(&line, &mut out);
        }
        out
    }

    /// The event left when the body ends without a final blank line.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if !self.buf.is_empty() {
            let rest = String::from_utf8_lossy(&self.buf).into_owned();
            self.buf.advance(self.buf.len());
            let mut out = Vec::new();
            self.line(&rest, &mut out);
        }
        self.dispatch()
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            out.extend(self.dispatch());
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => self.data.push(value.to_string()),
            _ => {}
        }
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = std::mem::take(&mut self.event);
        if self.data.is_empty() {
            return None;
        }
        let data = std::mem::take(&mut self.data).join("\n");
        Some(SseEvent { event, data })
    }
}

/// The SSE events of a streaming HTTP response, with transport errors
/// mapped by `on_error`.
pub fn sse_events(
    response: reqwest::Response,
    timeout_ms: u64,
) -> impl Stream<Item = Result<SseEvent, ProviderError>> + Send {
    let body = response.bytes_stream();
    futures_util::stream::unfold(
        (body, SseParser::default(), Vec::<SseEvent>::new(), false),
        move |(mut body, mut parser, mut pending, mut ended)| async move {
            loop {
                if !pending.is_empty() {
                    let ev = pending.remove(0);
                    return Some((Ok(ev), (body, parser, pending, ended)));
                }
                if ended {
                    return None;
                }
                match body.next().await {
                    Some(Ok(chunk)) => pending = parser.push(&chunk),
                    Some(Err(e)) => {
                        ended = true;
                        let err = super::http::transport_error(&e, timeout_ms);
                        return Some((Err(err), (body, parser, pending, ended)));
                    }
                    None => {
                        ended = true;
                        pending.extend(parser.finish());
                    }
                }
            }
        },
    )
}

/// A complete response as stream events, for providers that do not stream.
pub fn events_of(response: ChatResponse) -> Vec<StreamEvent> {
    let mut out = Vec::new();
    if let Some(id) = response.response_id {
        out.push(StreamEvent::Id(id));
    }
    if !response.content.is_empty() {
        out.push(StreamEvent::Text(response.content));
    }
    for (index, call) in response.tool_calls.into_iter().enumerate() {
        out.push(StreamEvent::ToolCall {
            index,
            id: Some(call.id),
            name: Some(call.name),
            arguments: call.arguments,
        });
    }
    out.push(StreamEvent::Usage(response.usage));
    if let Some(reason) = response.finish_reason {
        out.push(StreamEvent::Finish(reason));
    }
    out
}

/// Assembles stream events into the response they add up to.
#[derive(Default, Debug)]
pub struct Collector {
    response: ChatResponse,
    usage_seen: bool,
}

impl Collector {
    pub fn push(&mut self, event: &StreamEvent) {
        let r = &mut self.response;
        match event {
            StreamEvent::Text(t) => r.content.push_str(t),
            StreamEvent::ToolCall {
                index,
                id,
                name,
                arguments,
            } => {
                while r.tool_calls.len() <= *index {
                    r.tool_calls.push(ToolCall {
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    });
                }
                let call = &mut r.tool_calls[*index];
                if let Some(id) = id {
                    call.id.clone_from(id);
                }
                if let Some(name) = name {
                    call.name.push_str(name);
                }
                call.arguments.push_str(arguments);
            }
            StreamEvent::Usage(u) => {
                // Providers send cumulative usage; keep the largest counts.
                self.usage_seen = true;
                r.usage = Usage {
                    input_tokens: r.usage.input_tokens.max(u.input_tokens),
                    output_tokens: r.usage.output_tokens.max(u.output_tokens),
                    cache_read_tokens: r.usage.cache_read_tokens.max(u.cache_read_tokens),
                    cache_write_tokens: r.usage.cache_write_tokens.max(u.cache_write_tokens),
                };
            }
            StreamEvent::Finish(f) => r.finish_reason = Some(f.clone()),
            StreamEvent::Id(id) => r.response_id = Some(id.clone()),
        }
    }

    /// The text so far.
    pub fn content(&self) -> &str {
        &self.response.content
    }

    /// Whether the provider reported usage.
    pub fn usage_seen(&self) -> bool {
        self.usage_seen
    }

    pub fn finish(self) -> ChatResponse {
        self.response
    }

    /// The response, with usage counted by `tokenizer` when the provider
    /// reported none (`prompt_tokens()` stands in for the input). The flag
    /// says whether usage was counted by seam.
    pub fn finish_counted(
        self,
        tokenizer: Tokenizer,
        prompt_tokens: impl FnOnce() -> u64,
    ) -> (ChatResponse, bool) {
        let seen = self.usage_seen;
        let mut r = self.response;
        if !seen {
            let mut output = tokenizer.count(&r.content);
            for call in &r.tool_calls {
                output += tokenizer.count(&call.name) + tokenizer.count(&call.arguments);
            }
            r.usage = Usage {
                input_tokens: prompt_tokens(),
                output_tokens: output,
                ..Usage::default()
            };
        }
        (r, !seen)
    }
}

/// Cut a stream that sends nothing for `idle`: the next item is a
/// [`ProviderError::Stalled`] and the upstream call is dropped.
pub fn with_idle_timeout(stream: ChatStream, idle: Duration) -> ChatStream {
    Box::pin(futures_util::stream::unfold(
        Some(stream),
        move |state| async move {
            let mut stream = state?;
            match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(item)) => Some((item, Some(stream))),
                Ok(None) => None,
                Err(_) => {
                    drop(stream);
                    Some((Err(ProviderError::Stalled(idle.as_millis() as u64)), None))
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_parses_split_events_comments_and_crlf() {
        let mut p = SseParser::default();
        assert!(p.push(b"event: message_start\r\nda").is_empty());
        let evs = p.push(b"ta: {\"a\":1}\r\n\r\n: ping\n\ndata: x\ndata: y\n\n");
        assert_eq!(
            evs,
            vec![
                SseEvent {
                    event: "message_start".into(),
                    data: "{\"a\":1}".into()
                },
                SseEvent {
                    event: String::new(),
                    data: "x\ny".into()
                },
            ]
        );
        assert!(p.push(b"data: [DONE]").is_empty());
        assert_eq!(p.finish().map(|e| e.data), Some("[DONE]".into()));
    }

    #[test]
    fn collector_reassembles_text_and_tool_calls() {
        let mut c = Collector::default();
        for ev in [
            StreamEvent::Id("r1".into()),
            StreamEvent::Text("{\"a\":".into()),
            StreamEvent::Text("1}".into()),
            StreamEvent::ToolCall {
                index: 0,
                id: Some("c1".into()),
                name: Some("f".into()),
                arguments: "{\"x\"".into(),
            },
            StreamEvent::ToolCall {
                index: 0,
                id: None,
                name: None,
                arguments: ":2}".into(),
            },
            StreamEvent::Usage(Usage {
                input_tokens: 5,
                output_tokens: 0,
                ..Usage::default()
            }),
            StreamEvent::Usage(Usage {
                input_tokens: 0,
                output_tokens: 7,
                ..Usage::default()
            }),
            StreamEvent::Finish("stop".into()),
        ] {
            c.push(&ev);
        }
        assert!(c.usage_seen());
        let r = c.finish();
        assert_eq!(r.content, "{\"a\":1}");
        assert_eq!(r.tool_calls[0].arguments, "{\"x\":2}");
        assert_eq!(r.tool_calls[0].name, "f");
        assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (5, 7));
        assert_eq!(r.finish_reason.as_deref(), Some("stop"));
        assert_eq!(r.response_id.as_deref(), Some("r1"));
    }

    #[tokio::test]
    async fn a_stalled_stream_is_cut() {
        let s: ChatStream = Box::pin(
            futures_util::stream::iter(vec![Ok(StreamEvent::Text("a".into()))])
                .chain(futures_util::stream::pending()),
        );
        let mut s = with_idle_timeout(s, Duration::from_millis(50));
        assert_eq!(
            s.next().await.and_then(Result::ok),
            Some(StreamEvent::Text("a".into()))
        );
        assert!(matches!(
            s.next().await,
            Some(Err(ProviderError::Stalled(50)))
        ));
        assert!(s.next().await.is_none());
    }
}
