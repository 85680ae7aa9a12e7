//! The local knowledge base through the real binary. In every build: the
//! config problems (`[kb.NAME]` without the `embed` feature, a bad `kb`
//! context step) name file, line and key. With `--features embed`:
//! `seam kb add` indexes examples/docs-qa/docs (re-adding is a no-op, a
//! changed file replaces its chunks), `seam kb search` ranks the right
//! document first for paraphrased and exact-keyword questions, retrieval
//! quality is measured (hit@1/hit@3 for BM25, vectors and both fused), and
//! `seam serve` with the simulator answers docs-qa questions with quotes
//! verified against the retrieved chunks and real chunk ids as sources;
//! fabricated quotes are retracted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;

/// A docs-qa config in a temp folder, `[embeddings]` and `[kb]` edited by
/// `edit`.
fn docs_qa(edit: impl Fn(String) -> String) -> Workspace {
    let ws = Workspace::example("docs-qa", "http://127.0.0.1:9");
    let text = std::fs::read_to_string(ws.config()).unwrap();
    std::fs::write(ws.config(), edit(text)).unwrap();
    ws
}

fn check(ws: &Workspace) -> (bool, String) {
    let out = seam(&["check", "--config", &ws.config_str()]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The line of `needle` in the config (1-based).
fn line_of(ws: &Workspace, needle: &str) -> usize {
    std::fs::read_to_string(ws.config())
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap()
        + 1
}

#[test]
fn kb_steps_are_checked_with_file_line_and_key() {
    // Without [embeddings] and [kb] (so this runs in every build).
    let ws = docs_qa(|t| {
        t.replace(
            "[embeddings.minilm]\npath = \"../../models/all-minilm-l6-v2\"\n",
            "",
        )
        .replace("[kb.docs]\nembeddings = \"minilm\"\n", "")
        .replace(
            "kb = \"docs\"\nquery = \"/input/question\"\ntop_k = 4",
            "kb = \"manuals\"\nquery = \"/question\"\ntop_k = 0",
        )
    });
    let (ok, err) = check(&ws);
    assert!(!ok);
    let file = ws.config_str();
    for (key, needle, what) in [
        (
            "pipelines.docs-qa.context.0.kb",
            "kb = \"manuals\"",
            "`manuals` is not declared in [kb]",
        ),
        (
            "pipelines.docs-qa.context.0.query",
            "query = \"/question\"",
            "must be a JSON pointer into the input",
        ),
        (
            "pipelines.docs-qa.context.0.top_k",
            "top_k = 0",
            "between 1 and 50",
        ),
    ] {
        let line = line_of(&ws, needle);
        let expected = format!("{file}:{line}: {key}: ");
        let found = err.lines().find(|l| l.starts_with(&expected));
        assert!(
            found.is_some_and(|l| l.contains(what)),
            "{expected}… {what}\n{err}"
        );
    }
}

#[cfg(not(feature = "embed"))]
#[test]
fn without_the_feature_a_kb_is_a_configuration_error() {
    // `[embeddings]` needs the feature too; the kb's own error names the rebuild.
    let ws = docs_qa(|t| {
        t.replace(
            "[embeddings.minilm]\npath = \"../../models/all-minilm-l6-v2\"\n",
            "",
        )
    });
    let (ok, err) = check(&ws);
    assert!(!ok);
    let line = line_of(&ws, "[kb.docs]");
    let expected = format!("{}:{line}: kb.docs: ", ws.config_str());
    assert!(
        err.lines()
            .any(|l| l.starts_with(&expected) && l.contains("--features embed")),
        "{err}"
    );
    let out = seam(&["kb", "add", "docs", "--config", &ws.config_str()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--features embed"));
}

#[cfg(feature = "embed")]
mod with_model {
    use serde_json::{Value, json};

    use super::*;

    /// The docs-qa example in a temp folder with the model's absolute path
    /// and the simulator at `sim_url`.
    fn workspace(sim_url: &str) -> Workspace {
        let ws = Workspace::example("docs-qa", sim_url);
        ws.replace(
            "path = \"../../models/all-minilm-l6-v2\"",
            &format!("path = {:?}", embedding_model().to_str().unwrap()),
        );
        ws
    }

    fn kb(ws: &Workspace, args: &[&str]) -> Value {
        let config = ws.config_str();
        let mut all = vec!["kb"];
        all.extend_from_slice(args);
        all.extend(["--config", &config, "--json"]);
        let out = seam(&all);
        assert!(
            out.status.success(),
            "seam {all:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn add(ws: &Workspace) -> Value {
        let docs = ws.dir.path().join("docs");
        kb(ws, &["add", docs.to_str().unwrap()])["report"].clone()
    }

    fn search(ws: &Workspace, q: &str, mode: &str, top: usize) -> Vec<Value> {
        let top = top.to_string();
        kb(ws, &["search", q, "--mode", mode, "--top", &top])["hits"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn doc_of(hit: &Value) -> &str {
        hit["source"].as_str().unwrap()
    }

    #[test]
    fn add_is_incremental_and_search_ranks_the_right_doc_first() {
        let ws = workspace("http://127.0.0.1:9");
        let first = add(&ws);
        assert_eq!(first["added"], 8, "{first}");
        assert_eq!(first["updated"], 0);
        let chunks = first["chunks"].as_u64().unwrap();
        assert!(chunks >= 16, "{first}");
        // Again: nothing changed, nothing written.
        let again = add(&ws);
        assert_eq!(
            again,
            json!({"added": 0, "updated": 0, "unchanged": 8, "removed": 0, "chunks": 0})
        );
        // A changed file replaces its chunks (and only its).
        let sso = ws.dir.path().join("docs/sso.md");
        let text = std::fs::read_to_string(&sso).unwrap();
        std::fs::write(
            &sso,
            text.replace(
                "## Enforcing SSO",
                "## Session length\n\nSSO sessions last twelve hours before the identity provider is asked again.\n\n## Enforcing SSO",
            ),
        )
        .unwrap();
        let changed = add(&ws);
        assert_eq!(changed["updated"], 1, "{changed}");
        assert_eq!(changed["unchanged"], 7, "{changed}");
        let listed = kb(&ws, &["list"]);
        let docs = listed["documents"].as_array().unwrap();
        assert_eq!(docs.len(), 8);
        let total: u64 = docs.iter().map(|d| d["chunks"].as_u64().unwrap()).sum();
        assert_eq!(total, chunks + 1, "one section more in sso.md: {listed}");
        // The new section is indexed: the only chunk with "twelve".
        let hits = search(&ws, "twelve hours", "bm25", 3);
        assert_eq!(hits[0]["id"], "sso.md#4", "{hits:?}");
        assert_eq!(hits[0]["title"], "Single sign-on (SAML) > Session length");
        let hits = search(&ws, "how long does an SSO session last", "hybrid", 3);
        assert!(hits.iter().any(|h| h["id"] == "sso.md#4"), "{hits:?}");

        // No keyword shared with the refund section: the vectors find it.
        let hits = search(&ws, "I want my money back", "hybrid", 3);
        assert_eq!(doc_of(&hits[0]), "refunds.md", "{hits:?}");
        assert!(hits[0]["vector_rank"].as_u64().is_some());
        // An exact identifier: BM25 finds it.
        let hits = search(&ws, "insufficient_scope", "hybrid", 3);
        assert_eq!(doc_of(&hits[0]), "api-keys.md", "{hits:?}");
        assert_eq!(hits[0]["bm25_rank"], 1, "{hits:?}");
        // Both ranks and the fused score are reported.
        let h = &hits[0];
        let expected = 1.0 / 61.0 + 1.0 / (60.0 + h["vector_rank"].as_f64().unwrap());
        assert!(
            (h["score"].as_f64().unwrap() - expected).abs() < 1e-9,
            "{h}"
        );

        // A file deleted from the folder stays indexed until --prune.
        std::fs::remove_file(&sso).unwrap();
        assert_eq!(add(&ws)["removed"], 0);
        let docs = ws.dir.path().join("docs");
        let pruned = kb(&ws, &["add", docs.to_str().unwrap(), "--prune"])["report"].clone();
        assert_eq!(pruned["removed"], 1, "{pruned}");
        assert_eq!(pruned["unchanged"], 7, "{pruned}");
        let listed = kb(&ws, &["list"]);
        assert_eq!(listed["documents"].as_array().unwrap().len(), 7, "{listed}");
        let hits = search(&ws, "twelve hours", "bm25", 8);
        assert!(hits.iter().all(|h| doc_of(h) != "sso.md"), "{hits:?}");
    }

    /// Measured: hit@1 and hit@3 over examples/docs-qa/questions.jsonl
    /// for BM25 alone, vectors alone and both fused.
    #[test]
    fn measured_retrieval_quality() {
        let ws = workspace("http://127.0.0.1:9");
        add(&ws);
        let questions: Vec<Value> = std::fs::read_to_string(ws.dir.path().join("questions.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let n = questions.len();
        assert!(n >= 20);
        let mut report = Vec::new();
        for mode in ["bm25", "vector", "hybrid"] {
            let (mut at1, mut at3) = (0, 0);
            for q in &questions {
                let hits = search(&ws, q["question"].as_str().unwrap(), mode, 3);
                let want = q["doc"].as_str().unwrap();
                at1 += usize::from(hits.first().is_some_and(|h| doc_of(h) == want));
                at3 += usize::from(hits.iter().any(|h| doc_of(h) == want));
            }
            eprintln!(
                "retrieval {mode:>6}: hit@1 {at1}/{n} ({:.0}%), hit@3 {at3}/{n} ({:.0}%)",
                100.0 * at1 as f64 / n as f64,
                100.0 * at3 as f64 / n as f64
            );
            report.push((mode, at1, at3));
        }
        let hybrid = report[2];
        assert!(hybrid.2 * 10 >= n * 9, "fused hit@3 below 90%: {report:?}");
        assert!(
            hybrid.1 >= report[0].1,
            "fusion worse than BM25 alone: {report:?}"
        );
    }

    /// What the simulator's `fabricate` fault writes into quotes.
    fn ask(server: &Proc, question: &str) -> (u16, Value) {
        let resp = client()
            .post(format!("{}/v1/pipelines/docs-qa/runs", server.url))
            .json(&json!({"question": question}))
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap())
    }

    fn layer<'a>(run: &'a Value, name: &str) -> &'a Value {
        &run["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["layer"] == name)
            .unwrap_or_else(|| panic!("no {name} record: {run}"))["record"]
    }

    /// Questions answered through `seam serve` and the simulator: quotes
    /// verified (the grounding record says `grounded`) and the sources the
    /// chunk ids retrieved for the run; with the simulator fabricating,
    /// every fabricated quote is retracted and no genuine one.
    #[test]
    fn docs_qa_answers_with_verified_quotes_and_real_chunk_ids() {
        let sim = simulator_with(&["--faults", "fabricate=30%", "--seed", "11"]);
        let ws = workspace(&sim.url);
        add(&ws);
        // Every stored chunk id (BM25 ranks every chunk sharing a term).
        let all_ids: Vec<String> = search(&ws, "the a and to of", "bm25", 500)
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect();
        assert!(all_ids.len() >= 16, "{all_ids:?}");
        let server = server(&ws.config());
        let questions: Vec<Value> = std::fs::read_to_string(ws.dir.path().join("questions.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let (mut fabricated, mut fab_retracted, mut genuine, mut genuine_retracted) = (0, 0, 0, 0);
        for q in questions.iter().cycle().take(40) {
            let question = q["question"].as_str().unwrap();
            let (status, answer) = ask(&server, question);
            let run_id = answer["run_id"]
                .as_str()
                .or(answer["error"]["run_id"].as_str())
                .unwrap_or_else(|| panic!("{status}: {answer}"))
                .to_string();
            let run = get_json(&format!("{}/v1/runs/{run_id}", server.url));
            // The context step: one audit record with ids and scores, no text.
            let ctx = layer(&run, "context");
            assert_eq!(ctx["kind"], "kb", "{ctx}");
            assert_eq!(ctx["status"], "ok", "{ctx}");
            let retrieved: Vec<&str> = ctx["chunks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap())
                .collect();
            assert_eq!(retrieved.len(), 4, "{ctx}");
            assert!(ctx["chunks"][0]["score"].as_f64().unwrap() > 0.0);
            assert!(
                !ctx.to_string().contains("Ledgerly"),
                "chunk text in the audit: {ctx}"
            );
            let grounding = layer(&run, "grounding");
            let was_fabricated = SIMULATOR_INVENTED.iter().any(|t| run.to_string().contains(t));
            if was_fabricated {
                fabricated += 1;
                assert_eq!(status, 502, "{answer}");
                assert_eq!(answer["error"]["type"], "retracted_claims", "{answer}");
                assert!(
                    grounding["retracted"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|r| r["reason"] == "quote_not_found"),
                    "{grounding}"
                );
                fab_retracted += 1;
                continue;
            }
            genuine += 1;
            if status != 200 {
                genuine_retracted += 1;
                eprintln!("genuine answer not acted on: {status} {answer} {grounding}");
                continue;
            }
            assert_eq!(grounding["decision"], "grounded", "{grounding}");
            let out = &answer["output"];
            assert!(!out["quotes"].as_array().unwrap().is_empty(), "{answer}");
            for s in out["sources"].as_array().unwrap() {
                let s = s.as_str().unwrap();
                assert!(retrieved.contains(&s), "{s} not retrieved: {retrieved:?}");
                assert!(all_ids.iter().any(|i| i == s), "{s} is no chunk id");
            }
        }
        eprintln!(
            "docs-qa (simulator, fabricate=30%): {} runs, {fabricated} fabricated ({fab_retracted} retracted), {genuine} genuine ({genuine_retracted} retracted)",
            fabricated + genuine
        );
        assert!(fabricated > 0 && genuine > 0);
        assert_eq!(fab_retracted, fabricated, "a fabricated quote was acted on");
        assert_eq!(genuine_retracted, 0, "a genuine answer was retracted");
    }
}
