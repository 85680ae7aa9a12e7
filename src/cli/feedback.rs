//! `seam feedback export PIPELINE`: the pipeline's feedback as golden
//! cases, one JSON object a line.

use std::io::Write;
use std::process::ExitCode;

use super::FeedbackCommand;
use crate::store::sqlite::SqliteStore;

pub async fn run(command: FeedbackCommand) -> Result<ExitCode, String> {
    match command {
        FeedbackCommand::Export {
            pipeline,
            config,
            output,
        } => {
            let cfg = super::load_config(&config.config)?;
            if !cfg.pipelines.contains_key(&pipeline) {
                return Err(format!("pipeline `{pipeline}` is not declared"));
            }
            let store = SqliteStore::open(&cfg.store).map_err(|e| e.to_string())?;
            let cases = crate::pipeline::feedback::golden_cases(&store, &pipeline)
                .await
                .map_err(|e| e.to_string())?;
            let mut text = String::new();
            for c in &cases {
                text.push_str(&c.to_string());
                text.push('\n');
            }
            match output {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?,
                None => std::io::stdout()
                    .write_all(text.as_bytes())
                    .map_err(|e| e.to_string())?,
            }
            eprintln!("{} golden case(s) of `{pipeline}`", cases.len());
            Ok(ExitCode::SUCCESS)
        }
    }
}
