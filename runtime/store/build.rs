//! `sqlx::migrate!` reads the migration folders when this crate compiles, but
//! cargo does not know it: without this, a migration added to a folder is
//! missing from an incremental build until some source file changes.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
