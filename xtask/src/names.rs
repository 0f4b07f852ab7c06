//! Short names for the bindings between a wasm module and its wasm-bindgen glue.
//!
//! wasm-bindgen names every import after its Rust path and a 16-digit hash
//! (`__wbg_String_de603345ec5f8f7d`) and every closure shim after its full type, and each name
//! is spelled twice: in the module's import or export section and in the glue. Hex hashes do
//! not compress, so in the tracker stage these names cost kilobytes of gzip. This pass renames
//! the module's imports from the glue (and the glue's module name) and the exports the glue
//! reads as `wasm.NAME` to one- or two-letter names, and rewrites the glue to match. A name
//! the glue uses in any other way keeps its spelling.

use std::collections::HashMap;

use crate::util::Result;

fn leb(bytes: &[u8], at: &mut usize) -> Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at).ok_or("truncated wasm")?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("bad LEB128 in wasm".into())
}

fn put_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn name<'a>(bytes: &'a [u8], at: &mut usize) -> Result<&'a str> {
    let len = leb(bytes, at)? as usize;
    let end = at.checked_add(len).ok_or("bad name length")?;
    let s = bytes.get(*at..end).ok_or("truncated wasm name")?;
    *at = end;
    std::str::from_utf8(s).map_err(|_| "wasm name is not UTF-8".into())
}

fn put_name(out: &mut Vec<u8>, s: &str) {
    put_leb(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Skips an import's description (after its kind byte).
fn skip_desc(bytes: &[u8], kind: u8, at: &mut usize) -> Result {
    fn limits(bytes: &[u8], at: &mut usize) -> Result {
        let flags = *bytes.get(*at).ok_or("truncated wasm")?;
        *at += 1;
        leb(bytes, at)?;
        if flags & 1 != 0 {
            leb(bytes, at)?;
        }
        Ok(())
    }
    match kind {
        0 => leb(bytes, at).map(drop),
        1 => {
            *at += 1; // reference type
            limits(bytes, at)
        }
        2 => limits(bytes, at),
        3 => {
            *at += 2; // value type, mutability
            Ok(())
        }
        4 => {
            *at += 1;
            leb(bytes, at).map(drop)
        }
        k => Err(format!("unknown import kind {k}")),
    }
}

/// `a`, `b`, … `Z`, then `aa`, `ab`, …: identifier-safe and never `__proto__`.
fn short(mut n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut s = Vec::new();
    loop {
        s.push(CHARS[n % CHARS.len()]);
        n /= CHARS.len();
        if n == 0 {
            break;
        }
        n -= 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
}

/// Byte offsets of `word` in `text` as a whole identifier.
fn occurrences(text: &str, word: &str) -> Vec<usize> {
    let b = text.as_bytes();
    text.match_indices(word)
        .map(|(i, _)| i)
        .filter(|&i| {
            (i == 0 || !is_ident(b[i - 1])) && b.get(i + word.len()).is_none_or(|&c| !is_ident(c))
        })
        .collect()
}

fn replace_at(text: &str, at: &[usize], len: usize, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for &i in at {
        out.push_str(&text[last..i]);
        out.push_str(with);
        last = i + len;
    }
    out.push_str(&text[last..]);
    out
}

/// Renames the bindings of `wasm` (imports from `module`, exports) in it and in `glue`.
/// Returns the new module and glue, and how many names were shortened.
pub fn shorten(wasm: &[u8], glue: &str, module: &str) -> Result<(Vec<u8>, String, usize)> {
    if wasm.get(..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        return Err("not a wasm module".into());
    }
    let quoted = format!("\"{module}\"");
    let mut glue = glue.to_string();
    let new_module = if glue.matches(&quoted).count() == 1 {
        glue = glue.replace(&quoted, "\"a\"");
        "a"
    } else {
        module
    };
    let mut renamed = 0;
    let mut out = wasm[..8].to_vec();
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = leb(wasm, &mut at)? as usize;
        let end = at
            .checked_add(size)
            .filter(|&e| e <= wasm.len())
            .ok_or("truncated wasm")?;
        let body = &wasm[at..end];
        let new_body = match id {
            2 => {
                let mut p = 0;
                let count = leb(body, &mut p)?;
                let mut b = Vec::new();
                put_leb(&mut b, count);
                let mut n = 0;
                for _ in 0..count {
                    let m = name(body, &mut p)?;
                    let field = name(body, &mut p)?;
                    let kind = *body.get(p).ok_or("truncated import")?;
                    let desc = p;
                    p += 1;
                    skip_desc(body, kind, &mut p)?;
                    if m == module {
                        let keys = occurrences(&glue, field);
                        if keys.is_empty() {
                            return Err(format!("the glue does not name its import {field}"));
                        }
                        let new = loop {
                            let s = short(n);
                            n += 1;
                            if occurrences(&glue, &s).is_empty() {
                                break s;
                            }
                        };
                        glue = replace_at(&glue, &keys, field.len(), &new);
                        put_name(&mut b, new_module);
                        put_name(&mut b, &new);
                        renamed += 1;
                    } else {
                        put_name(&mut b, m);
                        put_name(&mut b, field);
                    }
                    b.extend_from_slice(body.get(desc..p).ok_or("truncated import")?);
                }
                b.extend_from_slice(&body[p..]);
                Some(b)
            }
            7 => {
                let mut p = 0;
                let count = leb(body, &mut p)?;
                let mut b = Vec::new();
                put_leb(&mut b, count);
                let mut taken: HashMap<String, ()> = HashMap::new();
                let mut n = 0;
                for _ in 0..count {
                    let field = name(body, &mut p)?;
                    let kind_at = p;
                    p += 1;
                    leb(body, &mut p)?;
                    let uses = occurrences(&glue, field);
                    let b_glue = glue.as_bytes();
                    let only_wasm_dot = !uses.is_empty()
                        && uses
                            .iter()
                            .all(|&i| i >= 5 && &b_glue[i - 5..i] == b"wasm.");
                    if field.len() > 2 && only_wasm_dot {
                        // Skip names that are identifiers of their own in the glue.
                        let new = loop {
                            let s = format!("_{}", short(n));
                            n += 1;
                            if occurrences(&glue, &s).is_empty() && !taken.contains_key(&s) {
                                break s;
                            }
                        };
                        glue = replace_at(&glue, &uses, field.len(), &new);
                        put_name(&mut b, &new);
                        taken.insert(new, ());
                        renamed += 1;
                    } else {
                        put_name(&mut b, field);
                        taken.insert(field.to_string(), ());
                    }
                    b.extend_from_slice(&body[kind_at..p]);
                }
                b.extend_from_slice(&body[p..]);
                Some(b)
            }
            _ => None,
        };
        out.push(id);
        match new_body {
            Some(b) => {
                put_leb(&mut out, b.len() as u64);
                out.extend_from_slice(&b);
            }
            None => {
                put_leb(&mut out, size as u64);
                out.extend_from_slice(body);
            }
        }
        at = end;
    }
    Ok((out, glue, renamed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_unique_identifiers() {
        let names: Vec<String> = (0..3000).map(short).collect();
        let set: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(set.len(), names.len());
        assert_eq!(names[0], "a");
        assert_eq!(names[52], "aa");
        assert!(names.iter().all(|n| n.bytes().all(is_ident)));
    }

    #[test]
    fn whole_identifiers_only() {
        assert_eq!(occurrences("wasm.ab + ab_c + ab", "ab"), vec![5, 17]);
    }
}
