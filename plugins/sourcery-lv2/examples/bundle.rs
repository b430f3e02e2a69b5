//! Assemble an LV2 bundle by hand, for testing before `cargo xtask bundle` does it:
//!
//! ```text
//! cargo build -p sourcery-lv2 --release
//! cargo run -p sourcery-lv2 --example bundle -- target/release/libsourcery_lv2.so target/bundled/Sourcery.lv2
//! ```
//!
//! Copies the shared library into the bundle folder and writes the TTL files with
//! [`sourcery_lv2::ttl::write_bundle`], exactly as the xtask does.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(library), Some(bundle)) = (args.next(), args.next()) else {
        eprintln!("usage: bundle <path/to/libsourcery_lv2.so> <path/to/Sourcery.lv2>");
        std::process::exit(2);
    };
    let (library, bundle) = (PathBuf::from(library), PathBuf::from(bundle));
    let file_name = library
        .file_name()
        .and_then(|n| n.to_str())
        .expect("library path ends in a UTF-8 file name");
    std::fs::create_dir_all(&bundle)?;
    std::fs::copy(&library, bundle.join(file_name))?;
    sourcery_lv2::ttl::write_bundle(&bundle, file_name)?;
    println!("wrote {}", bundle.display());
    Ok(())
}
