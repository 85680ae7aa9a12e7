//! Splitting a document into chunks: Markdown by headings (the heading
//! path is the chunk's title), then by paragraphs packed to about
//! [`TARGET_WORDS`]–[`MAX_WORDS`] words, the next chunk of a section
//! starting with the last [`OVERLAP_WORDS`] words of the one before;
//! plain text by paragraphs the same way, titled by its file name.

/// Pack paragraphs until a chunk reaches this many words…
pub const TARGET_WORDS: usize = 200;
/// …and never past this many (a longer paragraph is cut).
pub const MAX_WORDS: usize = 300;
/// Words a chunk repeats from the end of the one before it (same section).
pub const OVERLAP_WORDS: usize = 30;

#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The heading path, e.g. `Billing > Refunds`.
    pub title: String,
    pub text: String,
}

/// Which splitter a file takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Text,
}

impl Format {
    /// By extension: `.md`/`.markdown` and `.txt`; other files are skipped.
    pub fn of(path: &std::path::Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "txt" => Some(Format::Text),
            _ => None,
        }
    }
}

/// Chunk `text`; `name` titles plain text and Markdown before its first heading.
pub fn chunk(text: &str, format: Format, name: &str) -> Vec<Chunk> {
    let sections = match format {
        Format::Markdown => sections(text),
        Format::Text => vec![(Vec::new(), paragraphs(text.lines()))],
    };
    let mut out = Vec::new();
    for (path, paras) in sections {
        let title = if path.is_empty() {
            name.to_string()
        } else {
            path.join(" > ")
        };
        for text in pack(&paras) {
            out.push(Chunk {
                title: title.clone(),
                text,
            });
        }
    }
    out
}

/// A Markdown heading line: its level and text.
fn heading(line: &str) -> Option<(usize, &str)> {
    let t = line.trim_start();
    if line.len() - t.len() > 3 {
        return None;
    }
    let level = t.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &t[level..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim_end();
    Some((level, text))
}

fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

/// Sections of a Markdown text: the heading path and its paragraphs.
fn sections(text: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut body: Vec<&str> = Vec::new();
    let mut in_fence = false;
    let flush = |path: &[(usize, String)], body: &mut Vec<&str>, out: &mut Vec<_>| {
        let paras = paragraphs(body.drain(..));
        if !paras.is_empty() {
            out.push((path.iter().map(|(_, h)| h.clone()).collect(), paras));
        }
    };
    for line in text.lines() {
        if is_fence(line) {
            in_fence = !in_fence;
        }
        if !in_fence && let Some((level, h)) = heading(line) {
            flush(&path, &mut body, &mut out);
            while path.last().is_some_and(|(l, _)| *l >= level) {
                path.pop();
            }
            path.push((level, h.to_string()));
            continue;
        }
        body.push(line);
    }
    flush(&path, &mut body, &mut out);
    out
}

/// Blank-line separated paragraphs (a fenced block stays one), trimmed.
fn paragraphs<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut in_fence = false;
    for line in lines {
        if is_fence(line) {
            in_fence = !in_fence;
        }
        if line.trim().is_empty() && !in_fence {
            if !cur.is_empty() {
                out.push(cur.join("\n").trim().to_string());
                cur.clear();
            }
        } else {
            cur.push(line.trim_end());
        }
    }
    if !cur.is_empty() {
        out.push(cur.join("\n").trim().to_string());
    }
    out.retain(|p| !p.is_empty());
    out
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Cut a paragraph longer than [`MAX_WORDS`] into pieces of at most that
/// many words (whitespace becomes single spaces inside a cut paragraph).
fn cut(p: &str) -> Vec<String> {
    if words(p) <= MAX_WORDS {
        return vec![p.to_string()];
    }
    let w: Vec<&str> = p.split_whitespace().collect();
    w.chunks(MAX_WORDS).map(|c| c.join(" ")).collect()
}

/// Pack a section's paragraphs into chunks.
fn pack(paras: &[String]) -> Vec<String> {
    let pieces: Vec<String> = paras.iter().flat_map(|p| cut(p)).collect();
    let mut out: Vec<String> = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut n = 0;
    // Whether `cur` holds more than the overlap carried from the last chunk.
    let mut fresh = false;
    for p in pieces {
        let pw = words(&p);
        if fresh && (n >= TARGET_WORDS || n + pw > MAX_WORDS) {
            let text = cur.join("\n\n");
            let tail = overlap(&text);
            out.push(text);
            n = words(&tail);
            cur = if tail.is_empty() {
                Vec::new()
            } else {
                vec![tail]
            };
        }
        n += pw;
        cur.push(p);
        fresh = true;
    }
    if fresh {
        out.push(cur.join("\n\n"));
    }
    out
}

/// The last [`OVERLAP_WORDS`] words of `text`, verbatim (a suffix of it).
fn overlap(text: &str) -> String {
    let starts: Vec<usize> = text
        .char_indices()
        .filter(|&(i, c)| {
            !c.is_whitespace()
                && text[..i]
                    .chars()
                    .next_back()
                    .is_none_or(char::is_whitespace)
        })
        .map(|(i, _)| i)
        .collect();
    if starts.len() <= OVERLAP_WORDS {
        return String::new();
    }
    text[starts[starts.len() - OVERLAP_WORDS]..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(word: &str, n: usize) -> String {
        vec![word; n].join(" ")
    }

    #[test]
    fn markdown_by_heading_path() {
        let md = "Intro line.\n\n# Billing\n\n## Refunds\n\nRefunds take 5 days.\n\nAsk support.\n\n\
                  ```\n# not a heading\n\ncode\n```\n\n## Plans ##\nPro is $20.\n# SSO\nOkta works.\n";
        let c = chunk(md, Format::Markdown, "billing.md");
        let titles: Vec<&str> = c.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(
            titles,
            ["billing.md", "Billing > Refunds", "Billing > Plans", "SSO"]
        );
        assert_eq!(
            c[1].text,
            "Refunds take 5 days.\n\nAsk support.\n\n```\n# not a heading\n\ncode\n```"
        );
        assert_eq!(c[2].text, "Pro is $20.");
        assert!(heading("#hashtag").is_none() && heading("    # indented code").is_none());
    }

    #[test]
    fn paragraphs_pack_to_the_target_with_overlap() {
        // Five paragraphs of 90 words: 90+90 < 200, +90 = 270 ≤ 300 → one
        // chunk of three; the rest starts with its last 30 words.
        let paras: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|w| para(w, 90))
            .collect();
        let text = paras.join("\n\n");
        let c = chunk(&text, Format::Text, "notes.txt");
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(c.iter().all(|c| c.title == "notes.txt"));
        assert_eq!(words(&c[0].text), 270);
        assert!(c[1].text.starts_with(&para("c", 30)));
        assert_eq!(words(&c[1].text), 30 + 180);
        assert!(text.ends_with(&c[1].text[c[1].text.len() - 10..]));
        // Every chunk is within the bound.
        assert!(
            c.iter()
                .all(|c| words(&c.text) <= MAX_WORDS + OVERLAP_WORDS)
        );
    }

    #[test]
    fn long_paragraphs_are_cut() {
        let c = chunk(&para("x", 700), Format::Text, "t");
        let sizes: Vec<usize> = c.iter().map(|c| words(&c.text)).collect();
        assert_eq!(sizes, [300, 30 + 300, 30 + 100]);
    }

    #[test]
    fn formats_by_extension() {
        use std::path::Path;
        assert_eq!(Format::of(Path::new("a/B.MD")), Some(Format::Markdown));
        assert_eq!(Format::of(Path::new("a.markdown")), Some(Format::Markdown));
        assert_eq!(Format::of(Path::new("a.txt")), Some(Format::Text));
        assert_eq!(Format::of(Path::new("a.pdf")), None);
        assert_eq!(Format::of(Path::new("README")), None);
    }
}
