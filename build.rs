//! Generates the C header with cbindgen. The header is always written to
//! OUT_DIR; in a development checkout (not under CI, not when packaging) it
//! is also copied to include/wsclient.h when its content changed. A test
//! compares the committed header with the generated one, so CI catches a
//! header that was not regenerated and committed.

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=CI");
    valgrind_cfg();
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("wsclient.h");

    let version = env::var("CARGO_PKG_VERSION").unwrap();
    // The shared library's soname carries the major version, so programs
    // link to libwsclient.so.MAJOR (`make install` makes the links).
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libwsclient.so.{major}");
        // A program linked with -lwsclient against target/<profile> asks
        // for libwsclient.so.MAJOR at run time: give it that name there too
        // (OUT_DIR is target/<profile>/build/wsclient-<hash>/out).
        let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
        #[cfg(unix)]
        if let Some(profile_dir) = out_dir.ancestors().nth(3) {
            let link = profile_dir.join(format!("libwsclient.so.{major}"));
            if fs::symlink_metadata(&link).is_err() {
                let _ = std::os::unix::fs::symlink("libwsclient.so", &link);
            }
        }
    }
    let part = |name: &str| env::var(name).unwrap();
    let mut config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(format!(
        "\n/** Version of this header; compare with ws_version(). */\n\
         #define WSCLIENT_VERSION \"{version}\"\n\
         #define WSCLIENT_VERSION_MAJOR {}\n\
         #define WSCLIENT_VERSION_MINOR {}\n\
         #define WSCLIENT_VERSION_PATCH {}\n",
        part("CARGO_PKG_VERSION_MAJOR"),
        part("CARGO_PKG_VERSION_MINOR"),
        part("CARGO_PKG_VERSION_PATCH"),
    ));
    let bindings = match cbindgen::Builder::new().with_crate(&dir).with_config(config).generate() {
        Ok(b) => b,
        Err(e) => {
            // Never break a build over the header; the header test will fail.
            println!("cargo:warning=cbindgen could not generate the header: {e}");
            return;
        }
    };
    bindings.write_to_file(&out);

    let in_checkout = dir.join(".git").exists();
    if in_checkout && env::var_os("CI").is_none() {
        let committed = dir.join("include").join("wsclient.h");
        let new = fs::read(&out).unwrap();
        if fs::read(&committed).ok().as_deref() != Some(&new[..]) {
            fs::create_dir_all(committed.parent().unwrap()).unwrap();
            fs::write(&committed, new).unwrap();
        }
    }
}

/// The valgrind tests of tests/c_api.rs are marked ignored, with the reason,
/// when valgrind is not installed (or WSCLIENT_SKIP_VALGRIND is set), so that
/// `cargo test` never reports a memory check as passed that did not run.
/// Under CI they always run, and fail without valgrind.
fn valgrind_cfg() {
    println!("cargo:rustc-check-cfg=cfg(wsclient_no_valgrind, wsclient_skip_valgrind)");
    println!("cargo:rerun-if-env-changed=WSCLIENT_SKIP_VALGRIND");
    if env::var_os("WSCLIENT_SKIP_VALGRIND").is_some() {
        println!("cargo:rustc-cfg=wsclient_skip_valgrind");
        return;
    }
    let found = env::var_os("PATH")
        .map(|p| env::split_paths(&p).map(|d| d.join("valgrind")).find(|f| f.is_file()))
        .unwrap_or_default();
    match found {
        // Run again if it goes away.
        Some(path) => println!("cargo:rerun-if-changed={}", path.display()),
        None if env::var_os("CI").is_none() => println!("cargo:rustc-cfg=wsclient_no_valgrind"),
        None => {}
    }
}
