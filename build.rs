//! Generates the C header with cbindgen, into OUT_DIR only: the build never
//! writes to the source tree. tests/header.rs compares the committed
//! include/wsclient.h with the generated one and fails while they differ, on
//! a developer's machine as under CI; `make header` copies the generated one
//! over the committed one.
//!
//! On Linux the shared library's soname carries the major version
//! (libwsclient.so.MAJOR). The `libwsclient.so.MAJOR` link that a program
//! linked with -lwsclient needs at run time is made by whoever links one:
//! `make install`, `make build`, tests/c_api.rs, tests/c/check-threads.sh.

use std::{env, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("wsclient.h");
    let part = |name: &str| env::var(name).unwrap();

    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = part("CARGO_PKG_VERSION_MAJOR");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libwsclient.so.{major}");
    }
    let mut config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(format!(
        "\n/** Version of this header; compare with ws_version(). */\n\
         #define WSCLIENT_VERSION \"{}\"\n\
         #define WSCLIENT_VERSION_MAJOR {}\n\
         #define WSCLIENT_VERSION_MINOR {}\n\
         #define WSCLIENT_VERSION_PATCH {}\n",
        part("CARGO_PKG_VERSION"),
        part("CARGO_PKG_VERSION_MAJOR"),
        part("CARGO_PKG_VERSION_MINOR"),
        part("CARGO_PKG_VERSION_PATCH"),
    ));
    match cbindgen::Builder::new().with_crate(&dir).with_config(config).generate() {
        Ok(bindings) => {
            bindings.write_to_file(&out);
        }
        Err(e) => {
            // Never break a build over the header; the header test fails
            // (it cannot find the generated header: an older one is removed).
            let _ = std::fs::remove_file(&out);
            println!("cargo:warning=cbindgen could not generate the header: {e}");
        }
    }
}
