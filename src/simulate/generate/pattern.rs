//! Strings for simple `pattern`s: literals, escapes (`\d \w \s`), classes
//! (`[A-Z0-9_]`), `.`, groups with alternation and the usual quantifiers.
//! Anything else (negated classes, look-around, back-references) gives `None`
//! and the caller falls back to ordinary text.

use fastrand::Rng;

enum Atom {
    Chars(Vec<char>),
    Group(Vec<Vec<(Atom, u32, u32)>>),
}

/// A string matching `pattern`, or `None` when the pattern is beyond this
/// small generator.
pub fn generate(pattern: &str, rng: &mut Rng) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut pos = 0;
    if chars.first() == Some(&'^') {
        pos = 1;
    }
    let alts = parse_alts(&chars, &mut pos, 0)?;
    match chars.get(pos) {
        None => {}
        Some('$') if pos + 1 == chars.len() => {}
        Some(_) => return None,
    }
    let mut out = String::new();
    emit_alts(&alts, rng, &mut out);
    Some(out)
}

type Seq = Vec<(Atom, u32, u32)>;

fn parse_alts(c: &[char], pos: &mut usize, depth: usize) -> Option<Vec<Seq>> {
    if depth > 8 {
        return None;
    }
    let mut alts = vec![parse_seq(c, pos, depth)?];
    while c.get(*pos) == Some(&'|') {
        *pos += 1;
        alts.push(parse_seq(c, pos, depth)?);
    }
    Some(alts)
}

fn parse_seq(c: &[char], pos: &mut usize, depth: usize) -> Option<Seq> {
    let mut seq = Vec::new();
    while let Some(&ch) = c.get(*pos) {
        let atom = match ch {
            '|' | ')' => break,
            '$' if *pos + 1 == c.len() => break,
            '(' => {
                *pos += 1;
                if c.get(*pos) == Some(&'?') {
                    if c.get(*pos + 1) != Some(&':') {
                        return None;
                    }
                    *pos += 2;
                }
                let alts = parse_alts(c, pos, depth + 1)?;
                if c.get(*pos) != Some(&')') {
                    return None;
                }
                *pos += 1;
                Atom::Group(alts)
            }
            '[' => {
                *pos += 1;
                Atom::Chars(parse_class(c, pos)?)
            }
            '\\' => {
                *pos += 1;
                let e = *c.get(*pos)?;
                *pos += 1;
                Atom::Chars(escape(e)?)
            }
            '.' => {
                *pos += 1;
                Atom::Chars(('a'..='z').collect())
            }
            '*' | '+' | '?' | '{' | '^' | '$' => return None,
            _ => {
                *pos += 1;
                Atom::Chars(vec![ch])
            }
        };
        let (min, max) = quantifier(c, pos)?;
        seq.push((atom, min, max));
    }
    Some(seq)
}

fn escape(e: char) -> Option<Vec<char>> {
    Some(match e {
        'd' => ('0'..='9').collect(),
        'w' => ('a'..='z').chain('A'..='Z').chain('0'..='9').collect(),
        's' => vec![' '],
        'n' => vec!['\n'],
        't' => vec!['\t'],
        c if c.is_ascii_alphanumeric() => return None,
        c => vec![c],
    })
}

fn parse_class(c: &[char], pos: &mut usize) -> Option<Vec<char>> {
    if c.get(*pos) == Some(&'^') {
        return None;
    }
    let mut set = Vec::new();
    let mut first = true;
    loop {
        let ch = *c.get(*pos)?;
        *pos += 1;
        match ch {
            ']' if !first => break,
            '\\' => {
                let e = *c.get(*pos)?;
                *pos += 1;
                set.extend(escape(e)?);
            }
            _ if c.get(*pos) == Some(&'-') && c.get(*pos + 1).is_some_and(|n| *n != ']') => {
                let end = *c.get(*pos + 1)?;
                *pos += 2;
                if end < ch {
                    return None;
                }
                set.extend((ch..=end).take(256));
            }
            _ => set.push(ch),
        }
        first = false;
    }
    if set.is_empty() { None } else { Some(set) }
}

fn quantifier(c: &[char], pos: &mut usize) -> Option<(u32, u32)> {
    let q = match c.get(*pos) {
        Some('?') => (0, 1),
        Some('*') => (0, 3),
        Some('+') => (1, 3),
        Some('{') => {
            let close = c[*pos..].iter().position(|x| *x == '}')? + *pos;
            let body: String = c[*pos + 1..close].iter().collect();
            let (min, max) = match body.split_once(',') {
                Some((a, "")) => {
                    let a = a.trim().parse().ok()?;
                    (a, a + 2)
                }
                Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
                None => {
                    let a = body.trim().parse().ok()?;
                    (a, a)
                }
            };
            if min > max || max > 10_000 {
                return None;
            }
            *pos = close;
            (min, max)
        }
        _ => return Some((1, 1)),
    };
    *pos += 1;
    if c.get(*pos) == Some(&'?') {
        *pos += 1;
    }
    Some(q)
}

fn emit_alts(alts: &[Seq], rng: &mut Rng, out: &mut String) {
    if alts.is_empty() {
        return;
    }
    for (atom, min, max) in &alts[rng.usize(0..alts.len())] {
        let n = rng.u32(*min..=(*max).min(min + 3).max(*min));
        for _ in 0..n {
            match atom {
                Atom::Chars(set) => out.push(set[rng.usize(0..set.len())]),
                Atom::Group(g) => emit_alts(g, rng, out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_strings_match() {
        let patterns = [
            "^[A-Z]{3}$",
            "^[A-Z]{2}-\\d{4}$",
            "^(INV|PO)-[0-9]{3,6}$",
            "^[a-z0-9_]+@example\\.com$",
            "ab?c*d+",
            "^\\w{2,}(?:-\\w+)*$",
            "^[-+]?[0-9]{1,3}\\.[0-9]{2}$",
        ];
        let mut rng = Rng::with_seed(5);
        for p in patterns {
            let re = regex::Regex::new(p).unwrap();
            for _ in 0..30 {
                let s = generate(p, &mut rng).unwrap_or_else(|| panic!("{p}"));
                assert!(re.is_match(&s), "{p}: {s}");
            }
        }
        for p in ["^[^a]+$", "(?=x)", "\\1", "a{3,1}", "x)"] {
            assert!(generate(p, &mut rng).is_none(), "{p}");
        }
    }
}
