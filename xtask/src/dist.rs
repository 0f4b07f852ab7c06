//! `cargo xtask dist`: the embeddable widget in `dist/embed/` with stable file names.
//!
//! Tracker stage (every page): `rapport.js` (loader), `rapport_widget.js` (wasm-bindgen glue),
//! `rapport_widget_bg.wasm`.

use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::Digest;

use crate::size;
use crate::util::{cmd, exec, root, step, Result};

/// wasm-opt 108 (Debian's binaryen) needs the features rustc emits named explicitly.
const WASM_OPT_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
    "--enable-mutable-globals",
];

/// Files of the tracker stage, in the order a page fetches them.
pub const TRACKER_FILES: &[&str] = &["rapport.js", "rapport_widget.js", "rapport_widget_bg.wasm"];

pub fn embed_dir() -> PathBuf {
    root().join("dist/embed")
}

/// Builds `dist/embed/` and prints each file's sizes and SRI hash.
pub fn run() -> Result<PathBuf> {
    let root = root();
    let out = embed_dir();
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;

    step("building the tracker stage (release wasm, no std)");
    let mut build = cmd(
        "cargo",
        &[
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "rapport_widget",
            "--lib",
            "--no-default-features",
        ],
    );
    build.env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
        remap_flags(),
    );
    exec(&mut build)?;
    let built = root.join("target/wasm32-unknown-unknown/release/rapport_widget.wasm");
    // The module passes no JavaScript objects, so it needs no externref table. wasm-bindgen
    // adds one whenever the target_features section lists reference-types, and Debian's
    // wasm-opt 108 corrupts that table; dropping the section avoids both.
    let bindgen_dir = root.join("target/bindgen");
    std::fs::create_dir_all(&bindgen_dir).map_err(|e| e.to_string())?;
    let stripped = bindgen_dir.join("rapport_widget.wasm");
    let mut strip_args = vec!["--strip-target-features"];
    strip_args.extend_from_slice(WASM_OPT_FEATURES);
    strip_args.extend_from_slice(&[path_str(&built)?, "-o", path_str(&stripped)?]);
    exec(&mut cmd("wasm-opt", &strip_args))?;
    exec(&mut cmd(
        "wasm-bindgen",
        &[
            "--target",
            "web",
            "--no-typescript",
            "--remove-name-section",
            "--remove-producers-section",
            // Every browser with streaming wasm compilation has TextEncoder#encodeInto.
            "--encode-into",
            "always",
            "--out-name",
            "rapport_widget",
            "--out-dir",
            path_str(&out)?,
            path_str(&stripped)?,
        ],
    ))?;
    step("optimising with wasm-opt -Oz");
    let wasm_out = out.join("rapport_widget_bg.wasm");
    let mut opt_args = vec![
        "-Oz",
        "--converge",
        "--zero-filled-memory",
        "--low-memory-unused",
    ];
    opt_args.extend_from_slice(WASM_OPT_FEATURES);
    opt_args.extend_from_slice(&[path_str(&wasm_out)?, "-o", path_str(&wasm_out)?]);
    exec(&mut cmd("wasm-opt", &opt_args))?;

    append_driver(&out)?;

    step("minifying JavaScript with terser");
    let glue = out.join("rapport_widget.js");
    minify(&glue, &glue, true)?;
    minify(&root.join("www/rapport.js"), &out.join("rapport.js"), false)?;

    print_manifest(&out)?;
    Ok(out)
}

/// Appends the browser driver (`src/driver.js`) to the glue, so the page makes one request
/// for the tracker's JavaScript, and drops the unused synchronous initialiser.
fn append_driver(out: &Path) -> Result {
    let glue_path = out.join("rapport_widget.js");
    let glue = std::fs::read_to_string(&glue_path).map_err(|e| e.to_string())?;
    if glue.lines().any(|l| l.starts_with("import ")) {
        return Err("the wasm module imports JavaScript; the engine should import nothing".into());
    }
    // The loader instantiates asynchronously; without this export, terser drops initSync.
    const EXPORTS: &str = "export { initSync, __wbg_init as default };";
    if !glue.contains(EXPORTS) {
        return Err(format!(
            "the wasm-bindgen glue no longer ends with `{EXPORTS}`"
        ));
    }
    let driver = std::fs::read_to_string(root().join("src/driver.js"))
        .map_err(|e| format!("cannot read src/driver.js: {e}"))?;
    let joined = glue.replace(EXPORTS, "export { __wbg_init as default };") + "\n" + &driver;
    std::fs::write(&glue_path, joined).map_err(|e| e.to_string())?;
    let snippets = out.join("snippets");
    if snippets.exists() {
        std::fs::remove_dir_all(&snippets).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Panic locations embed source paths in the wasm; shorten the long ones (this checkout and
/// the cargo registry) to relative paths.
fn remap_flags() -> String {
    let mut prefixes = vec![format!("{}/", root().display())];
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    if let Ok(entries) = std::fs::read_dir(cargo_home.join("registry/src")) {
        prefixes.extend(
            entries
                .flatten()
                .map(|e| format!("{}/", e.path().display())),
        );
    }
    prefixes
        .iter()
        .map(|p| format!("--remap-path-prefix={p}="))
        .collect::<Vec<_>>()
        .join(" ")
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| format!("path is not UTF-8: {}", p.display()))
}

fn minify(input: &Path, output: &Path, module: bool) -> Result {
    let terser = root().join("node_modules/.bin/terser");
    let mut args = vec![
        path_str(input)?,
        "--compress",
        "--mangle",
        "--comments",
        "false",
    ];
    if module {
        args.push("--module");
    }
    args.extend_from_slice(&["-o", path_str(output)?]);
    exec(&mut cmd(path_str(&terser)?, &args))
}

/// `sha384-…`, as a `<script integrity>` attribute wants it.
pub fn sri(bytes: &[u8]) -> String {
    let digest = sha2::Sha384::digest(bytes);
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn print_manifest(dir: &Path) -> Result {
    println!(
        "{:<26} {:>8} {:>8} {:>8}  integrity",
        "dist/embed", "raw", "gzip", "brotli"
    );
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let bytes = std::fs::read(entry.path()).map_err(|e| e.to_string())?;
        let s = size::Sizes::of(&bytes);
        println!(
            "{:<26} {:>8} {:>8} {:>8}  {}",
            entry.file_name().to_string_lossy(),
            s.raw,
            s.gzip,
            s.brotli,
            sri(&bytes)
        );
    }
    Ok(())
}
