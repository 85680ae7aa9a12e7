//! `seam check`: validate the config and report pending migrations.

use std::path::Path;
use std::process::ExitCode;

pub fn check(path: &Path) -> Result<ExitCode, String> {
    match crate::config::load(path) {
        Ok(config) => {
            let pending = crate::store::sqlite::pending_migrations(&config.store.path)
                .map_err(|e| e.to_string())?;
            println!(
                "{}: ok ({} provider(s), {} model(s), {} pipeline(s))",
                path.display(),
                config.providers.len(),
                config.models.len(),
                config.pipelines.len()
            );
            if !pending.is_empty() {
                println!(
                    "store {}: {} pending migration(s), applied when `seam serve` or `seam run` starts: {}",
                    config.store.path.display(),
                    pending.len(),
                    pending.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!("{} problem(s) in {}", errors.0.len(), path.display());
            Ok(ExitCode::FAILURE)
        }
    }
}
