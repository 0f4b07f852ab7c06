//! The embed API's TypeScript declarations (`dist/embed/rapport.d.ts`), type-checked with
//! `tsc --noEmit` from the committed npm lockfile: a usage file with every call the README
//! shows must pass, and every line of a file of mistakes must be reported.

use std::collections::BTreeSet;
use std::path::Path;

use crate::util::{cmd, root, Result};

fn tsc(declarations: &Path, file: &str) -> Result<(bool, String)> {
    let tsc = root().join("node_modules/.bin/tsc");
    let declarations = declarations
        .to_str()
        .ok_or("the declarations' path is not UTF-8")?;
    let out = cmd(
        tsc.to_str().ok_or("tsc's path is not UTF-8")?,
        &[
            "--noEmit",
            "--strict",
            "--target",
            "es2020",
            "--lib",
            "es2020,dom",
            "--module",
            "es2020",
            declarations,
            file,
        ],
    )
    .output()
    .map_err(|e| format!("cannot run tsc: {e}"))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// The lines of `file` that tsc reported an error on.
fn error_lines(output: &str, file: &str) -> BTreeSet<usize> {
    output
        .lines()
        .filter_map(|l| {
            l.strip_prefix(file)?
                .strip_prefix('(')?
                .split(',')
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

pub fn check(embed: &Path) -> Result {
    let declarations = embed.join("rapport.d.ts");
    let (ok, out) = tsc(&declarations, "tests/types/usage.ts")?;
    if !ok {
        return Err(format!("tests/types/usage.ts does not type-check:\n{out}"));
    }
    let mistakes = "tests/types/mistakes.ts";
    let text = std::fs::read_to_string(root().join(mistakes))
        .map_err(|e| format!("cannot read {mistakes}: {e}"))?;
    // Every line that is not a comment, blank or the closing export is a mistake.
    let expected: BTreeSet<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with("//") && !l.starts_with("export"))
        .map(|(i, _)| i + 1)
        .collect();
    let (_, out) = tsc(&declarations, mistakes)?;
    let reported = error_lines(&out, mistakes);
    if reported != expected {
        return Err(format!(
            "{mistakes}: tsc reported lines {reported:?}, expected {expected:?}:\n{out}"
        ));
    }
    println!(
        "rapport.d.ts: the usage file type-checks; all {} mistakes are reported",
        expected.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_are_read_from_tsc_output() {
        let out = "tests/types/m.ts(3,27): error TS2322: x\ntests/types/m.ts(10,9): error TS2339: y\nother.ts(4,1): error";
        assert_eq!(
            error_lines(out, "tests/types/m.ts"),
            BTreeSet::from([3, 10])
        );
    }
}
