//! The worker thread that owns a loaded model. llama.cpp contexts borrow
//! their model, so both live on this thread's stack; requests arrive over a
//! channel and are served one at a time, in arrival order.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use serde_json::Value;

use super::error::LocalError;
use super::generate::{Generation, Session};
use crate::config::LocalModelConfig;
use crate::infer::ChatMessage;

/// One request for the worker.
pub struct Job {
    pub messages: Vec<ChatMessage>,
    pub schema: Option<Value>,
    pub max_tokens: u32,
    pub temperature: f64,
    pub seed: u32,
    /// Past this instant the caller has given up.
    pub deadline: Instant,
    /// Set when the caller stops waiting.
    pub cancel: Arc<AtomicBool>,
    pub reply: tokio::sync::oneshot::Sender<Result<Generation, LocalError>>,
}

impl Job {
    /// Checked before the job starts and between tokens.
    pub fn check(&self) -> Result<(), LocalError> {
        if self.cancel.load(Ordering::Relaxed) || Instant::now() >= self.deadline {
            Err(LocalError::Timeout)
        } else {
            Ok(())
        }
    }
}

/// What loading found, for the startup log.
struct Loaded {
    load_time: Duration,
    params: u64,
    context_size: u32,
    threads: i32,
    template: &'static str,
}

/// Handle to a running worker; the worker stops when this is dropped.
pub struct Engine {
    jobs: Sender<Job>,
}

impl Engine {
    /// Start the worker and wait until the model is loaded.
    pub fn start(name: &str, config: &LocalModelConfig) -> Result<Engine, LocalError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, loaded) = mpsc::sync_channel(1);
        let worker_config = config.clone();
        std::thread::Builder::new()
            .name(format!("seam-local-{name}"))
            .spawn(move || work(&worker_config, &ready, &queue))
            .map_err(|e| LocalError::Backend(format!("cannot start the model thread: {e}")))?;
        let loaded = loaded.recv().map_err(|_| LocalError::WorkerGone)??;
        tracing::info!(
            provider = name,
            path = %config.path.display(),
            load_ms = loaded.load_time.as_millis() as u64,
            params = loaded.params,
            context_size = loaded.context_size,
            threads = loaded.threads,
            chat_template = loaded.template,
            "local model loaded"
        );
        Ok(Engine { jobs })
    }

    pub fn submit(&self, job: Job) -> Result<(), LocalError> {
        self.jobs.send(job).map_err(|_| LocalError::WorkerGone)
    }
}

/// llama.cpp's backend is process-wide and may be initialised only once.
pub(super) fn backend() -> Result<&'static LlamaBackend, LocalError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| LocalError::Backend(e.clone()))
}

fn threads(config: &LocalModelConfig) -> i32 {
    let n = config.threads.map(NonZeroU32::get).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| u32::try_from(n.get()).unwrap_or(1))
            .unwrap_or(1)
    });
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The thread body: load, report, then serve until every sender is gone.
fn work(
    config: &LocalModelConfig,
    ready: &SyncSender<Result<Loaded, LocalError>>,
    queue: &Receiver<Job>,
) {
    let started = Instant::now();
    let threads = threads(config);
    let loaded = backend().and_then(|backend| {
        let model = LlamaModel::load_from_file(backend, &config.path, &LlamaModelParams::default())
            .map_err(|e| LocalError::Load {
                path: config.path.display().to_string(),
                message: e.to_string(),
            })?;
        Ok((backend, model))
    });
    let (backend, model) = match loaded {
        Ok(pair) => pair,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut session = match Session::new(backend, &model, config.context_size, threads) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let report = Loaded {
        load_time: started.elapsed(),
        params: model.n_params(),
        context_size: config.context_size.get(),
        threads,
        template: session.template_name(),
    };
    if ready.send(Ok(report)).is_err() {
        return;
    }
    while let Ok(job) = queue.recv() {
        // A job whose caller gave up while it queued is not started.
        let result = job.check().and_then(|()| session.generate(&job));
        let _ = job.reply.send(result);
    }
}
