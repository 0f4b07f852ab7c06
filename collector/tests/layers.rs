//! The collector's modules depend one way (ARCHITECTURE.md): checked on the sources, so a
//! new import that closes a circle fails here rather than in review.

use std::collections::BTreeSet;
use std::path::Path;

/// The modules that answer requests.
const HANDLERS: &[&str] = &[
    "ingest",
    "sites",
    "breakdown",
    "prompts",
    "experiments",
    "loyalty",
    "links",
    "demo",
    "health",
];

/// The crate modules a source file names (`crate::name`, `use crate::{a, b}`).
fn crate_modules(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(list) = rest.strip_prefix('{') {
            let list = &list[..list.find('}').unwrap_or(list.len())];
            for item in list.split(',') {
                let name = item.trim().split("::").next().unwrap_or("").trim();
                if !name.is_empty() {
                    out.insert(name.to_owned());
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

fn source(path: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

#[test]
fn the_report_layer_imports_no_handler_and_not_the_state() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let used = crate_modules(&source(&format!("report/{file}")));
        for module in &used {
            assert!(
                module == "db" || module == "error" || module == "Db" || module == "report",
                "report/{file} imports crate::{module}: the report layer rests on storage and \
                 errors only"
            );
        }
    }
}

/// Handlers share `state` and the report layer, never one another. The one exception is
/// `loyalty`, the ledger's authority, whose rules ingest (feedback awards), sites (the
/// stats' program totals) and demo (the order webhook) apply.
#[test]
fn handlers_do_not_import_one_another() {
    for handler in HANDLERS {
        let used = crate_modules(&source(&format!("{handler}.rs")));
        for other in HANDLERS {
            if other == handler || *other == "loyalty" {
                continue;
            }
            assert!(
                !used.contains(*other),
                "{handler}.rs imports crate::{other}: handlers share state and report, not \
                 each other"
            );
        }
    }
    assert!(!crate_modules(&source("state.rs"))
        .iter()
        .any(|m| HANDLERS.contains(&m.as_str())));
}

#[test]
fn the_module_scan_finds_paths_and_lists() {
    let found = crate_modules("use crate::{db::Db, error};\nlet x = crate::report::stats::f();");
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["db", "error", "report"]
    );
}

/// The report modules a report source names: `super::name` and `crate::report::name`.
fn report_modules(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for prefix in ["super::", "crate::report::"] {
        for (i, _) in text.match_indices(prefix) {
            let rest = &text[i + prefix.len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(list) => list[..list.find('}').unwrap_or(list.len())]
                    .split(',')
                    .collect(),
                None => vec![rest],
            };
            for name in names {
                let name: String = name
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                // `super::*` in a file's own tests names the file itself.
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// Inside the report layer, imports go one way too: no module reaches, through others,
/// back to itself.
#[test]
fn the_report_modules_import_one_another_without_a_circle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report");
    let modules: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(".rs").map(str::to_owned))
        .filter(|name| name != "mod")
        .collect();
    let edges: std::collections::BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| {
            let used = report_modules(&source(&format!("report/{m}.rs")))
                .into_iter()
                .filter(|u| u != m && modules.contains(u))
                .collect();
            (m.clone(), used)
        })
        .collect();
    assert!(edges["filter"].contains("days"), "{edges:?}");
    // Depth-first from each module: reaching the start again is a circle.
    for start in &modules {
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in &edges[&at] {
                assert!(
                    next != start,
                    "report modules import in a circle: {} -> {next}",
                    path.join(" -> ")
                );
                if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
}
