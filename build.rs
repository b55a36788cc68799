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
