//! Tolerant JSON parsing: strict first, then strip Markdown fences, cut
//! prose around the object, drop trailing commas and close what a truncated
//! reply left open. Each step that was needed is reported.

use serde_json::Value;

type Repairs = Vec<&'static str>;

/// Parse `text` as JSON, repairing common model mistakes.
pub fn parse_tolerant(text: &str) -> Result<(Value, Repairs), (Repairs, String)> {
    let mut repairs = Vec::new();
    let first_error = match serde_json::from_str::<Value>(text) {
        Ok(v) => return Ok((v, repairs)),
        Err(e) => e.to_string(),
    };
    let mut body = text.trim();
    if let Some(inner) = strip_fences(body) {
        repairs.push("stripped_fences");
        body = inner;
        if let Ok(v) = serde_json::from_str::<Value>(body) {
            return Ok((v, repairs));
        }
    }
    if let Some(start) = body.find(['{', '[']) {
        // Cut trailing prose, but not a truncated tail that still holds data.
        let end = body
            .rfind(['}', ']'])
            .map(|e| e + 1)
            .filter(|e| *e > start && !body[*e..].contains(['"', ':']))
            .unwrap_or(body.len());
        if start > 0 || end < body.len() {
            repairs.push("extracted_json");
            body = &body[start..end];
            if let Ok(v) = serde_json::from_str::<Value>(body) {
                return Ok((v, repairs));
            }
        }
    } else {
        return Err((
            repairs,
            format!("no JSON object in the reply ({first_error})"),
        ));
    }
    let (fixed, fixes) = balance(body);
    repairs.extend(fixes);
    serde_json::from_str::<Value>(&fixed)
        .map(|v| (v, repairs.clone()))
        .map_err(|e| (repairs, format!("not valid JSON even after repair: {e}")))
}

fn strip_fences(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("```")?;
    let rest = rest.split_once('\n').map(|(_, r)| r)?;
    Some(rest.trim_end().strip_suffix("```").unwrap_or(rest).trim())
}

/// One pass over the text outside strings: drop commas that precede a
/// closer, and at the end close an open string and every open bracket.
fn balance(text: &str) -> (String, Repairs) {
    let mut out = String::with_capacity(text.len() + 8);
    let mut stack = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut fixes = Vec::new();
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => stack.push('}'),
            '[' => stack.push(']'),
            '}' | ']' => {
                if trim_trailing_comma(&mut out) && !fixes.contains(&"removed_trailing_comma") {
                    fixes.push("removed_trailing_comma");
                }
                stack.pop();
            }
            _ => {}
        }
        out.push(c);
    }
    if in_string || !stack.is_empty() {
        fixes.push("closed_truncated");
        if escaped {
            out.pop();
        }
        if in_string {
            out.push('"');
        }
        trim_trailing_comma(&mut out);
        if out.trim_end().ends_with(':') {
            out.push_str("null");
        }
        while let Some(closer) = stack.pop() {
            out.push(closer);
        }
    }
    (out, fixes)
}

fn trim_trailing_comma(out: &mut String) -> bool {
    let trimmed = out.trim_end().len();
    if out[..trimmed].ends_with(',') {
        out.truncate(trimmed - 1);
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(input: &str, expected: Value, repairs: &[&str]) {
        let (v, r) = parse_tolerant(input).unwrap_or_else(|e| panic!("{input}: {e:?}"));
        assert_eq!(v, expected, "{input}");
        assert_eq!(r, repairs, "{input}");
    }

    #[test]
    fn repairs() {
        check(r#"{"a":1}"#, json!({"a":1}), &[]);
        check(
            "```json\n{\"a\":1}\n```",
            json!({"a":1}),
            &["stripped_fences"],
        );
        check("```\n{\"a\":1}\n```", json!({"a":1}), &["stripped_fences"]);
        check(
            "Sure! Here it is: {\"a\":1} Hope that helps.",
            json!({"a":1}),
            &["extracted_json"],
        );
        check(
            r#"{"a":[1,2,],}"#,
            json!({"a":[1,2]}),
            &["removed_trailing_comma"],
        );
        check(
            r#"{"a":"x, y","b":{"c":"d"#,
            json!({"a":"x, y","b":{"c":"d"}}),
            &["closed_truncated"],
        );
        check(
            r#"{"a":1,"b":"#,
            json!({"a":1,"b":null}),
            &["closed_truncated"],
        );
        check(
            r#"{"a":[1],"b":"te"#,
            json!({"a":[1],"b":"te"}),
            &["closed_truncated"],
        );
        check(r#"{"a":"q\"}"#, json!({"a":"q\"}"}), &["closed_truncated"]);
    }

    #[test]
    fn refuses_prose() {
        assert!(parse_tolerant("no json here").is_err());
    }
}
