//! Clap structs only.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "seam",
    version,
    about = "The AI integration layer: validated inputs, versioned prompts, bounded model calls, verified outputs, exactly-once actions, a hash-chained audit log."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// Config file.
    #[arg(long, short, env = "SEAM_CONFIG", default_value = "seam.toml")]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API and run the outbox worker.
    Serve {
        #[command(flatten)]
        config: ConfigArg,
        /// Override `[server] listen` (use 127.0.0.1:0 for a free port).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Validate the config; every problem is reported with file, line and key.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Run a JSONL file through a pipeline (one result line per input line).
    Run {
        pipeline: String,
        #[command(flatten)]
        config: ConfigArg,
        /// Input file, one JSON event per line.
        #[arg(long)]
        input: PathBuf,
        /// Output file (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Runs in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Seconds to wait for queued actions to be delivered before exiting.
        #[arg(long, default_value_t = 30)]
        drain_secs: u64,
        /// With --output: forget the batch's checkpoint and start from line 1.
        #[arg(long, requires = "output")]
        fresh: bool,
    },
    /// Re-run stored runs' redacted input: one run, or a backfill by filter.
    /// A dry run (no action queued) unless --act.
    Replay {
        /// The run to replay (or use --pipeline and --since).
        #[arg(required_unless_present = "pipeline", conflicts_with = "pipeline")]
        run_id: Option<String>,
        #[command(flatten)]
        config: ConfigArg,
        /// Backfill: replay this pipeline's runs created since --since.
        #[arg(long, requires = "since")]
        pipeline: Option<String>,
        /// YYYY-MM-DD or an RFC 3339 time (UTC).
        #[arg(long)]
        since: Option<String>,
        /// Upper bound, exclusive (default: now).
        #[arg(long)]
        until: Option<String>,
        /// At most this many runs.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Ask this model only, instead of the pipeline's chain.
        #[arg(long)]
        model: Option<String>,
        /// Queue the actions (default: dry run).
        #[arg(long)]
        act: bool,
        /// With --act: seconds to wait for the actions to be delivered.
        #[arg(long, default_value_t = 30)]
        drain_secs: u64,
    },
    /// Inspect the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The dead-letter queue of background runs and deliveries given up on.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// The human review queue: runs held instead of acting (approve to
    /// deliver the action, reject with a correction).
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// Score a pipeline on a golden set (dry runs through every layer),
    /// per model or prompt variant, side by side; gate CI on the score.
    /// Exit 0: every variant passed; 1: a variant scored below --min-score
    /// or below its stored baseline by more than --tolerance; 2: a usage,
    /// config or set error. `seam eval history PIPELINE` lists past results.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Eval {
        #[command(subcommand)]
        command: Option<EvalCommand>,
        #[command(flatten)]
        args: EvalArgs,
    },
    /// Feedback (ground truth) on runs.
    Feedback {
        #[command(subcommand)]
        command: FeedbackCommand,
    },
    /// Local knowledge bases (`[kb.NAME]`): index documents, list, search.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
    /// Contract drift: payloads whose shape changed from what their source
    /// used to send.
    Drift {
        #[command(subcommand)]
        command: DriftCommand,
    },
    /// Spend reports, monthly projections and the daily-cost check.
    Cost {
        #[command(subcommand)]
        command: CostCommand,
    },
    /// Serve a provider simulator speaking the OpenAI (and Azure OpenAI), Anthropic and Gemini wire formats.
    #[command(after_long_help = crate::simulate::help())]
    Simulate {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
        /// Faults to inject; see below. Replace them at runtime with
        /// `POST /sim/faults`.
        #[arg(long, default_value = "")]
        faults: String,
        /// Per-model rate limits, `rpm=N,tpm=N`; see below.
        #[arg(long, default_value = "")]
        limit: String,
        /// Seed for outputs and fault draws.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole hash chain; names the first broken record.
    Verify {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Print a run's records, layer by layer.
    Show {
        run_id: String,
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Which dead-letter entries a command acts on: one id, or every entry
/// matching the filters (`--all` with none: every entry).
#[derive(Debug, clap::Args)]
pub struct DlqSelect {
    /// One entry (its run id).
    pub id: Option<String>,
    /// Every entry matching the filters below.
    #[arg(long, conflicts_with = "id")]
    pub all: bool,
    #[arg(long)]
    pub pipeline: Option<String>,
    /// Only entries that died of this error type, e.g. `provider_overloaded`.
    #[arg(long = "type")]
    pub error_type: Option<String>,
    /// Only entries that failed at this layer: ingest, prompt, infer,
    /// output (runs) or act (deliveries).
    #[arg(long)]
    pub layer: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Dead-lettered background runs and deliveries, oldest first.
    List {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        pipeline: Option<String>,
        /// Only entries that died of this error type.
        #[arg(long = "type")]
        error_type: Option<String>,
        /// Only entries that failed at this layer (act: deliveries).
        #[arg(long)]
        layer: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One entry: why it died, and its run's records.
    Show {
        id: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Queue entries again: attempts start over, the run keeps its id and history.
    Retry {
        #[command(flatten)]
        select: DlqSelect,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Delete entries for good (asks for --yes).
    Purge {
        #[command(flatten)]
        select: DlqSelect,
        #[command(flatten)]
        config: ConfigArg,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Reviews, oldest first.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// open, approved, rejected or all.
        #[arg(long, default_value = "open")]
        status: String,
        #[arg(long)]
        pipeline: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One review: the reason, the redacted input, the proposed output and
    /// action, the retracted or diverging pointers (JSON).
    Show {
        run_id: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Approve: the action is enqueued (a running `seam serve` delivers it).
    Approve {
        run_id: String,
        #[command(flatten)]
        config: ConfigArg,
        /// Who decides.
        #[arg(long)]
        by: String,
        #[arg(long)]
        note: Option<String>,
        /// A corrected output to act on: JSON, or @FILE.
        #[arg(long)]
        output: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Reject: no action; a correction is stored as feedback.
    Reject {
        run_id: String,
        #[command(flatten)]
        config: ConfigArg,
        /// Who decides.
        #[arg(long)]
        by: String,
        #[arg(long)]
        note: Option<String>,
        /// The true values of some output fields: JSON, or @FILE.
        #[arg(long)]
        correction: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CostCommand {
    /// Spend by pipeline, model, tenant and day from the stored runs, and the open alerts.
    Report {
        #[command(flatten)]
        config: ConfigArg,
        /// First UTC day counted (YYYY-MM-DD); default: every stored run.
        #[arg(long)]
        since: Option<String>,
        /// Show one breakdown only.
        #[arg(long, value_enum)]
        by: Option<CostBy>,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Monthly cost at a volume for each candidate model, from the observed p50 and p95 tokens per run.
    Project {
        #[command(flatten)]
        config: ConfigArg,
        /// Runs per month.
        #[arg(long)]
        per_month: u64,
        /// Only runs of this pipeline (default: every run that used tokens).
        #[arg(long)]
        pipeline: Option<String>,
        /// Candidate model (a `[models.*]` name); repeatable. Default: every declared model.
        #[arg(long = "model")]
        models: Vec<String>,
        /// First UTC day of runs observed (YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run the daily-cost anomaly check now (seam serve runs it periodically).
    Check {
        #[command(flatten)]
        config: ConfigArg,
        /// UTC day to check (YYYY-MM-DD); default: today.
        #[arg(long)]
        day: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CostBy {
    Pipeline,
    Model,
    Tenant,
    Day,
}

#[derive(Debug, Subcommand)]
pub enum DriftCommand {
    /// Recorded changes (new, missing, retyped fields), newest first.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Only this source (a pipeline's name).
        #[arg(long)]
        source: Option<String>,
        /// Accepted changes too.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Accept a source's open changes into its contract (a strict source
    /// then takes such events again).
    Accept {
        source: String,
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Index the Markdown (.md, .markdown) and text (.txt) files under DIR:
    /// chunk, embed, store. Unchanged files are skipped; changed ones
    /// replace their chunks.
    Add {
        dir: PathBuf,
        /// The `[kb.NAME]` (optional when only one is declared).
        #[arg(long)]
        kb: Option<String>,
        /// Also remove the documents of the knowledge base that are no
        /// longer in DIR (keep it a mirror of one folder).
        #[arg(long)]
        prune: bool,
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        json: bool,
    },
    /// The indexed documents.
    List {
        #[arg(long)]
        kb: Option<String>,
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        json: bool,
    },
    /// The chunks best matching QUERY, with their BM25 and vector ranks and
    /// the fused score.
    Search {
        query: String,
        #[arg(long)]
        kb: Option<String>,
        /// How many chunks.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Rank by both fused (what pipelines use), or by one alone.
        #[arg(long, value_enum, default_value_t = KbMode::Hybrid)]
        mode: KbMode,
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KbMode {
    Hybrid,
    Bm25,
    Vector,
}

#[derive(Debug, Subcommand)]
pub enum FeedbackCommand {
    /// Write a pipeline's feedback as golden cases (`{"input", "expected"}`
    /// per line, the input redacted as stored) for `seam eval`.
    Export {
        pipeline: String,
        #[command(flatten)]
        config: ConfigArg,
        /// Where to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The pipeline to evaluate.
    #[arg(required = true)]
    pub pipeline: Option<String>,
    #[command(flatten)]
    pub config: ConfigArg,
    /// The golden set: JSONL of `{"input": {...}, "expected": {...}}`.
    #[arg(long, required = true)]
    pub set: Option<PathBuf>,
    /// A variant asking only this model instead of the pipeline's chain;
    /// repeatable (each a column).
    #[arg(long = "model")]
    pub models: Vec<String>,
    /// A variant rendering this template instead of the pipeline's,
    /// `PATH` (its version: the SHA-256 of its source) or `VERSION=PATH`;
    /// repeatable. With --model: every model × every prompt.
    #[arg(long = "prompt")]
    pub prompts: Vec<String>,
    /// Fail (exit 1) when a variant's score is below this (0 to 1).
    #[arg(long)]
    pub min_score: Option<f64>,
    /// Fail (exit 1) when a variant's score is below its stored baseline
    /// (the previous result for the same pipeline, variant and set) by
    /// more than this.
    #[arg(long, default_value_t = 0.02)]
    pub tolerance: f64,
    /// Cases in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Do not store the result (the baseline is still compared).
    #[arg(long)]
    pub no_store: bool,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Stored results over time, oldest first, with the change from the
    /// previous result of the same variant and set.
    History {
        pipeline: String,
        #[command(flatten)]
        config: ConfigArg,
        /// Only results on this set (same contents: same SHA-256).
        #[arg(long)]
        set: Option<PathBuf>,
        /// The latest this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
}
