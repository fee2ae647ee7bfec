//! Finding files on disk for the subcommands.

use std::path::{Component, Path, PathBuf};

/// The files named, with folders replaced by the files below them that end in `ext`, sorted.
pub fn expand(paths: &[PathBuf], ext: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut stack = vec![p.clone()];
            let mut found = Vec::new();
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir)? {
                    let path = entry?.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if path.to_string_lossy().ends_with(ext) {
                        found.push(path);
                    }
                }
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads a script resource below `root`, refusing names that climb out of it.
pub fn read_resource(root: &Path, name: &str) -> Result<String, String> {
    let rel = Path::new(name);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err("a script resource must be a relative path inside the scripts folder".into());
    }
    let stripped = rel.strip_prefix("scripts").unwrap_or(rel);
    let path = root.join(stripped);
    std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
}
