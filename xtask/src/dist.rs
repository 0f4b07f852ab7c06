//! `cargo xtask dist`: the embeddable widget in `dist/embed/` with stable file names.
//!
//! Tracker stage (every page): `rapport.js` (loader), `rapport_widget.js` (wasm-bindgen's
//! glue, minified) and `rapport_widget_bg.wasm` (the engine and its Rust driver).
//!
//! UI stage (fetched in idle time on pages whose site has something to show): the leptos
//! crate `ui/` as `rapport_ui.js` (wasm-bindgen's glue, minified) and `rapport_ui_bg.wasm`.

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

/// Which compiler builds the embed: the pinned nightly with its size levers (the default), or
/// stable (`cargo xtask dist --stable`) for comparison or where the nightly cannot be had.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Toolchain {
    Stable,
    Nightly,
}

impl Toolchain {
    pub fn from_args(args: &[String]) -> Toolchain {
        if args.iter().any(|a| a == "--stable") {
            Toolchain::Stable
        } else {
            Toolchain::Nightly
        }
    }
}

/// Builds `dist/embed/` and prints each file's sizes and SRI hash.
pub fn run() -> Result<PathBuf> {
    run_with(Toolchain::Nightly)
}

pub fn run_with(toolchain: Toolchain) -> Result<PathBuf> {
    let root = root();
    let out = embed_dir();
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;

    step(&format!(
        "building the tracker stage (release wasm, {toolchain:?})"
    ));
    let built = release_wasm(
        &["-p", "rapport_widget", "--lib"],
        toolchain,
        "std,panic_abort",
    )?;
    bindgen(&built.join("rapport_widget.wasm"), "rapport_widget", &out)?;
    report_imports(&out)?;

    step(&format!(
        "building the UI stage (leptos, release wasm, {toolchain:?})"
    ));
    let built = release_wasm(&["-p", "rapport-ui", "--lib"], toolchain, "std,panic_abort")?;
    bindgen(&built.join("rapport_ui.wasm"), "rapport_ui", &out)?;

    step("minifying JavaScript with terser");
    let glue = out.join("rapport_widget.js");
    minify(&glue, &glue, true)?;
    let ui_glue = out.join("rapport_ui.js");
    minify(&ui_glue, &ui_glue, true)?;
    minify(&root.join("www/rapport.js"), &out.join("rapport.js"), false)?;
    // The embed API's TypeScript declarations, for sites that write TypeScript.
    std::fs::copy(root.join("www/rapport.d.ts"), out.join("rapport.d.ts"))
        .map_err(|e| format!("cannot copy www/rapport.d.ts: {e}"))?;

    print_manifest(&out)?;
    Ok(out)
}

/// The site owner's dashboard (`dashboard/`, leptos), built by trunk into `dist/dashboard`;
/// the collector serves it with `--dashboard-dir`. `demo`, `test` and `dist` build it after
/// the widget (the benchmarks need only the widget, and no trunk).
pub fn dashboard() -> Result {
    step("building the dashboard (trunk, profile `dashboard`)");
    let mut c = cmd("trunk", &["build", "--release"]);
    c.current_dir(root().join("dashboard"));
    exec(&mut c)
}

/// The nightly the embed builds use, pinned: `cargo xtask install` adds it with `rust-src`
/// and the wasm32 target. Native code, the collector and the tests stay on stable.
pub const NIGHTLY: &str = "nightly-2026-05-20";

/// `cargo build --release --target wasm32-unknown-unknown` with `args`, source paths in panic
/// messages shortened; returns the directory holding the built `.wasm`.
///
/// On the nightly, the standard library is rebuilt for size (`build_std`: `std,panic_abort`), panics abort at once with no message
/// or location, and `Debug` formatting is compiled out. Its output goes to
/// `target/nightly` so the stable builds' artifacts stay as they are.
fn release_wasm(args: &[&str], toolchain: Toolchain, build_std: &str) -> Result<PathBuf> {
    let target_dir = match toolchain {
        Toolchain::Stable => root().join("target"),
        Toolchain::Nightly => root().join("target/nightly"),
    };
    let std_flag = format!("-Zbuild-std={build_std}");
    let mut build_args = Vec::new();
    let plus = format!("+{NIGHTLY}");
    if toolchain == Toolchain::Nightly {
        build_args.push(plus.as_str());
    }
    build_args.extend_from_slice(&["build", "--release", "--target", "wasm32-unknown-unknown"]);
    let mut flags = remap_flags();
    // leptos' views with their types erased (`AnyView` children, shared reactive closures):
    // fewer monomorphized copies of tachys' render code in the UI stage. The tracker does not
    // use leptos; both builds get the same flags so that they share their dependencies.
    flags.push_str(" --cfg erase_components");
    if toolchain == Toolchain::Nightly {
        build_args
            .extend_from_slice(&[std_flag.as_str(), "-Zbuild-std-features=optimize_for_size"]);
        flags.push_str(
            " -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none",
        );
    }
    build_args.extend_from_slice(args);
    let mut build = cmd("cargo", &build_args);
    build
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", flags)
        // rustup picks the toolchain from `+…`; a toolchain named by the parent cargo must not
        // override it.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC");
    exec(&mut build)?;
    Ok(target_dir.join("wasm32-unknown-unknown/release"))
}

/// The UI stage for trunk's development page: a debug build with wasm-bindgen's glue, into
/// trunk's staging directory, next to the tracker trunk built.
pub fn ui_dev() -> Result {
    let out = std::env::var("TRUNK_STAGING_DIR")
        .map(PathBuf::from)
        .map_err(|_| "ui-dev runs as trunk's post_build hook (TRUNK_STAGING_DIR is not set)")?;
    exec(&mut cmd(
        "cargo",
        &[
            "build",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "rapport-ui",
            "--lib",
        ],
    ))?;
    exec(&mut cmd(
        "wasm-bindgen",
        &[
            "--target",
            "web",
            "--no-typescript",
            "--out-name",
            "rapport_ui",
            "--out-dir",
            path_str(&out)?,
            path_str(&root().join("target/wasm32-unknown-unknown/debug/rapport_ui.wasm"))?,
        ],
    ))
}

/// wasm-bindgen (web target) and wasm-opt -Oz: `<name>.js` and `<name>_bg.wasm` in `out`.
fn bindgen(built: &Path, name: &str, out: &Path) -> Result {
    // Neither module passes JavaScript objects through tables it could not do without, so
    // neither needs an externref table. wasm-bindgen adds one whenever the target_features
    // section lists reference-types, and Debian's wasm-opt 108 corrupts that table; dropping
    // the section avoids both.
    let bindgen_dir = root().join("target/bindgen");
    std::fs::create_dir_all(&bindgen_dir).map_err(|e| e.to_string())?;
    let stripped = bindgen_dir.join(format!("{name}.wasm"));
    let mut strip_args = vec!["--strip-target-features"];
    strip_args.extend_from_slice(WASM_OPT_FEATURES);
    strip_args.extend_from_slice(&[path_str(built)?, "-o", path_str(&stripped)?]);
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
            name,
            "--out-dir",
            path_str(out)?,
            path_str(&stripped)?,
        ],
    ))?;
    step(&format!("optimising {name} with wasm-opt -Oz"));
    let wasm_out = out.join(format!("{name}_bg.wasm"));
    let mut opt_args = vec![
        "-Oz",
        "--converge",
        "--zero-filled-memory",
        "--low-memory-unused",
    ];
    opt_args.extend_from_slice(WASM_OPT_FEATURES);
    opt_args.extend_from_slice(&[path_str(&wasm_out)?, "-o", path_str(&wasm_out)?]);
    exec(&mut cmd("wasm-opt", &opt_args))?;

    let glue_out = out.join(format!("{name}.js"));
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let wasm = read(&wasm_out)?;
    let glue = String::from_utf8(read(&glue_out)?).map_err(|e| e.to_string())?;
    let glue = own_heap_writes(&glue).map_err(|e| format!("{name}.js: {e}"))?;
    let (wasm, glue, renamed) = crate::names::shorten(&wasm, &glue, &format!("./{name}_bg.js"))?;
    step(&format!("{name}: {renamed} binding names shortened"));
    std::fs::write(&wasm_out, wasm).map_err(|e| e.to_string())?;
    std::fs::write(&glue_out, glue).map_err(|e| e.to_string())
}

/// wasm-bindgen's glue grows its table of JavaScript objects with `Array.prototype.push`,
/// which a host page may have replaced (then every call into the module would throw). These
/// writes become index assignments, which no page script can intercept; the pinned
/// wasm-bindgen's glue must contain them, or the build stops.
fn own_heap_writes(glue: &str) -> Result<String> {
    const WRITES: &[(&str, &str)] = &[
        (
            "let heap = new Array(1024).fill(undefined);\nheap.push(undefined, null, true, false);",
            "let heap = new Array(1028).fill(undefined);\nheap[1025] = null; heap[1026] = true; heap[1027] = false;",
        ),
        (
            "if (heap_next === heap.length) heap.push(heap.length + 1);",
            "if (heap_next === heap.length) heap[heap.length] = heap.length + 1;",
        ),
    ];
    let mut glue = glue.to_string();
    for (from, to) in WRITES {
        if glue.matches(from).count() != 1 {
            return Err(format!("the glue no longer has `{from}`"));
        }
        glue = glue.replace(from, to);
    }
    if glue.contains("heap.push(") {
        return Err("the glue grows its heap with push() in a way this build does not know".into());
    }
    Ok(glue)
}

/// Prints how many functions the tracker module imports from its glue: each is a binding
/// the glue carries.
fn report_imports(out: &Path) -> Result {
    let wasm = std::fs::read(out.join("rapport_widget_bg.wasm")).map_err(|e| e.to_string())?;
    step(&format!(
        "the tracker module imports {} function(s) from its glue",
        import_count(&wasm)?
    ));
    Ok(())
}

/// The number of entries in a wasm module's import section (0 without one).
fn import_count(wasm: &[u8]) -> Result<u64> {
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
    if wasm.get(..4) != Some(b"\0asm".as_slice()) {
        return Err("not a wasm module".into());
    }
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = leb(wasm, &mut at)? as usize;
        if id == 2 {
            let mut inner = at;
            return leb(wasm, &mut inner);
        }
        at += size;
    }
    Ok(0)
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

#[cfg(test)]
mod tests {
    use super::import_count;

    #[test]
    fn import_count_reads_the_import_section() {
        let header = b"\0asm\x01\0\0\0".to_vec();
        assert_eq!(import_count(&header).unwrap(), 0);
        // A type section (id 1, 4 bytes: one `() -> ()` type), then an import section
        // (id 2) with one function import "a"."b".
        let mut module = header.clone();
        module.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]);
        module.extend_from_slice(&[2, 7, 1, 1, b'a', 1, b'b', 0, 0]);
        assert_eq!(import_count(&module).unwrap(), 1);
        assert!(import_count(b"nope").is_err());
        assert!(import_count(&[header.as_slice(), &[2]].concat()).is_err());
    }
}
