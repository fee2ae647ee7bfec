//! Builds the browser half of the web app when the server half (`ssr`) is
//! built, so `cargo run --release -- serve` is the only command a user runs:
//!
//! 1. this crate again, for `wasm32-unknown-unknown` with `hydrate`, by a
//!    nested cargo with its own target folder (`target/web`: the outer cargo
//!    holds the lock on `target/`, so sharing it would deadlock);
//! 2. wasm-bindgen's JavaScript glue, through its library crate (the same
//!    version as the `wasm-bindgen` in Cargo.lock, pinned with `=`);
//! 3. a table of every file served under `/assets/`: the wasm and its glue
//!    from step 2, and the committed files in `designer/assets/` (the
//!    JavaScript bundles `designer/js/build.mjs` makes from an exact npm
//!    lockfile).
//!
//! The nested build only runs for `ssr`; with `hydrate` (the nested build
//! itself) this script does nothing.

#[cfg(feature = "ssr")]
use std::path::{Path, PathBuf};
#[cfg(feature = "ssr")]
use std::process::Command;
#[cfg(feature = "ssr")]
use std::{env, fs};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "ssr")]
    if let Err(e) = build() {
        // A build script reports by panicking; the message is what cargo shows.
        panic!("building the web app's browser side: {e}");
    }
}

#[cfg(feature = "ssr")]
fn build() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let workspace = manifest_dir
        .parent()
        .ok_or("the designer crate sits in the workspace root")?
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    for watched in ["src", "Cargo.toml", "assets"] {
        println!(
            "cargo:rerun-if-changed={}",
            manifest_dir.join(watched).display()
        );
    }
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("runtime/api/src").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );
    println!("cargo:rerun-if-env-changed=MILLRACE_WEB_TARGET_DIR");

    let release = env::var("PROFILE").as_deref() == Ok("release");
    let wasm = build_wasm(&workspace, release)?;
    let web_out = out_dir.join("web");
    fs::create_dir_all(&web_out).map_err(|e| e.to_string())?;
    bindgen(&wasm, &web_out)?;
    write_asset_table(
        &manifest_dir.join("assets"),
        &web_out,
        &out_dir.join("assets.rs"),
    )
}

#[cfg(feature = "ssr")]
/// Runs cargo for the wasm side and returns the path of the `.wasm` it made.
fn build_wasm(workspace: &Path, release: bool) -> Result<PathBuf, String> {
    const TARGET: &str = "wasm32-unknown-unknown";
    ensure_target(TARGET)?;
    let target_dir = env::var_os("MILLRACE_WEB_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target").join("web"));
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--lib",
            "-p",
            "millrace-designer",
            "--target",
            TARGET,
        ])
        .args(["--no-default-features", "--features", "hydrate"])
        .env("CARGO_TARGET_DIR", &target_dir)
        // Debug info only bloats the download; panics still name the file and line.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
        // One codegen unit with link-time optimisation: a smaller download
        // for every page, paid once in a release build's time.
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        // What the outer cargo set for its own compilers must not leak into
        // this build: its flags, and clippy's wrapper when run under clippy.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET");
    if release {
        cmd.arg("--release");
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run cargo for {TARGET}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "cargo build for {TARGET} failed ({status}); its errors are above"
        ));
    }
    Ok(target_dir
        .join(TARGET)
        .join(if release { "release" } else { "debug" })
        .join("millrace_designer.wasm"))
}

#[cfg(feature = "ssr")]
/// Adds the wasm target through rustup when it is missing (a fresh machine
/// has only the host's standard library).
fn ensure_target(target: &str) -> Result<(), String> {
    let sysroot = Command::new(env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(target)
        .exists()
    {
        return Ok(());
    }
    let status = Command::new("rustup")
        .args(["target", "add", target])
        .status()
        .map_err(|e| {
            format!("the {target} target is missing and rustup cannot be run to add it ({e}); run `rustup target add {target}`")
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`rustup target add {target}` failed ({status})"))
    }
}

#[cfg(feature = "ssr")]
/// wasm-bindgen: the JavaScript glue and the final `.wasm`, for ES modules.
fn bindgen(wasm: &Path, out: &Path) -> Result<(), String> {
    let mut b = wasm_bindgen_cli_support::Bindgen::new();
    b.input_path(wasm)
        .web(true)
        .map_err(|e| e.to_string())?
        .typescript(false)
        .out_name("millrace_designer");
    b.generate(out).map_err(|e| format!("wasm-bindgen: {e}"))
}

#[cfg(feature = "ssr")]
/// Writes `assets.rs`: `(path, bytes)` for every file served under `/assets/`.
fn write_asset_table(committed: &Path, built: &Path, table: &Path) -> Result<(), String> {
    let mut files = Vec::new();
    collect(committed, committed, &mut files)?;
    for name in ["millrace_designer.js", "millrace_designer_bg.wasm"] {
        files.push((format!("wasm/{name}"), built.join(name)));
    }
    files.sort();
    let mut src = String::from("/// Every file served under `/assets/`, by path.\npub static FILES: &[(&str, &[u8])] = &[\n");
    for (name, path) in files {
        src.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    src.push_str("];\n");
    fs::write(table, src).map_err(|e| e.to_string())
}

#[cfg(feature = "ssr")]
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.file_name().is_some_and(|n| n != ".gitkeep") {
            let rel = path
                .strip_prefix(root)
                .map_err(|e| e.to_string())?
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, path));
        }
    }
    Ok(())
}
