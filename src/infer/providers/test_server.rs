//! A tiny real HTTP server for provider tests: it answers with recorded
//! provider responses (JSON or SSE), in order, and keeps every request it
//! received so tests can assert on headers and body shape.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::config::{Secret, SecretRef};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Received {
    /// Path and query, e.g. `/v1/messages`.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A recorded answer.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
    /// Send the body, then keep the connection open forever (until the
    /// client goes away).
    pub hang: bool,
}

impl Canned {
    pub fn json(status: u16, body: &str) -> Canned {
        Canned {
            status,
            content_type: "application/json",
            body: body.to_string(),
            headers: Vec::new(),
            hang: false,
        }
    }

    pub fn sse(body: &str) -> Canned {
        Canned {
            content_type: "text/event-stream",
            ..Canned::json(200, body)
        }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Canned {
        self.headers.push((name, value.to_string()));
        self
    }

    pub fn hanging(mut self) -> Canned {
        self.hang = true;
        self
    }
}

#[derive(Clone)]
struct Shared {
    answers: Arc<Mutex<Vec<Canned>>>,
    received: Arc<Mutex<Vec<Received>>>,
    dropped: mpsc::UnboundedSender<()>,
}

/// The running server; it stops when the test's runtime ends.
pub struct TestServer {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    dropped: mpsc::UnboundedReceiver<()>,
}

/// Sends once when a hanging body is dropped (the client went away).
struct DropSignal(mpsc::UnboundedSender<()>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

impl TestServer {
    /// Serve `answers` in order; the last one repeats.
    pub async fn start(answers: Vec<Canned>) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::unbounded_channel();
        let received = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            answers: Arc::new(Mutex::new(answers)),
            received: received.clone(),
            dropped: tx,
        };
        let app = axum::Router::new().fallback(answer).with_state(shared);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestServer {
            url,
            received,
            dropped: rx,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Wait until a hanging body has been dropped by the server, which
    /// happens when the client closed the connection.
    pub async fn body_dropped(&mut self, within: std::time::Duration) -> bool {
        matches!(
            tokio::time::timeout(within, self.dropped.recv()).await,
            Ok(Some(()))
        )
    }
}

async fn answer(State(s): State<Shared>, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    s.received.lock().unwrap().push(Received {
        target: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts.headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    });
    let canned = {
        let mut answers = s.answers.lock().unwrap();
        if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers[0].clone()
        }
    };
    let body = if canned.hang {
        let signal = DropSignal(s.dropped.clone());
        let first =
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(canned.body.clone()))]);
        let rest = futures_util::stream::pending().map(move |()| {
            let _keep = &signal;
            Ok(Bytes::new())
        });
        Body::from_stream(first.chain(rest))
    } else {
        Body::from(canned.body.clone())
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(canned.status).unwrap();
    let headers = resp.headers_mut();
    headers.insert("content-type", canned.content_type.parse().unwrap());
    for (name, value) in &canned.headers {
        headers.insert(*name, value.parse().unwrap());
    }
    resp
}

/// A resolved secret holding `value`, for the provider under test.
pub fn secret(value: &str) -> Secret {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key");
    std::fs::write(&path, value).unwrap();
    SecretRef::File(path).resolve().unwrap()
}
