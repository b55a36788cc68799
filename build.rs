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
    let mut header = Vec::new();
    bindings.write(&mut header);
    let header = String::from_utf8(header).expect("cbindgen writes UTF-8");
    let setters = fs::read_to_string(dir.join("src").join("ffi.rs")).expect("src/ffi.rs");
    let header = match config_setters::insert(&header, &setters) {
        Ok(h) => h,
        Err(e) => {
            println!("cargo:warning=the config setters are missing from the header: {e}");
            header
        }
    };
    fs::write(&out, header).expect("write the header to OUT_DIR");

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

/// The `ws_config_*` setters are declared in `src/ffi.rs` by one table
/// (`config_setters! { ... }`), which cbindgen does not expand: their C
/// declarations, with their docs, are written here from the same table and
/// put after `ws_config_free`.
mod config_setters {
    /// The header with the setters' declarations added.
    pub fn insert(header: &str, ffi_rs: &str) -> Result<String, String> {
        let start = ffi_rs.find("\nconfig_setters! {\n").ok_or("no config_setters! table")?;
        let body = &ffi_rs[start..];
        let end = body.find("\n}\n").ok_or("the table does not end")?;
        let mut decls = String::new();
        let mut docs: Vec<&str> = Vec::new();
        for line in body[..end].lines().skip(2).map(str::trim) {
            if let Some(doc) = line.strip_prefix("///") {
                docs.push(doc.strip_prefix(' ').unwrap_or(doc));
            } else if !line.is_empty() {
                decls.push_str(&declaration(line, &docs)?);
                docs.clear();
            }
        }
        let anchor = "ws_status ws_config_free(ws_config cfg);\n";
        let at = header.find(anchor).ok_or("no ws_config_free in the header")? + anchor.len();
        Ok(format!("{}{decls}{}", &header[..at], &header[at..]))
    }

    /// `[unsafe] fn NAME(ARG: TYPE, ...) => METHOD;` as a C declaration.
    fn declaration(line: &str, docs: &[&str]) -> Result<String, String> {
        let bad = || format!("cannot read the setter line `{line}`");
        let line = line.strip_prefix("unsafe ").unwrap_or(line);
        let rest = line.strip_prefix("fn ").ok_or_else(bad)?;
        let (name, rest) = rest.split_once('(').ok_or_else(bad)?;
        let (args, _) = rest.split_once(')').ok_or_else(bad)?;
        let mut params = vec!["ws_config cfg".to_string()];
        for arg in args.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let (arg, ty) = arg.split_once(':').ok_or_else(bad)?;
            let arg = arg.trim();
            params.push(match ty.trim() {
                "u32" => format!("uint32_t {arg}"),
                "u64" => format!("uint64_t {arg}"),
                "usize" => format!("size_t {arg}"),
                "bool" => format!("bool {arg}"),
                "f64" => format!("double {arg}"),
                "str" | "opt_str" => format!("const char *{arg}"),
                "[u16]" => format!("const uint16_t *{arg}, size_t count"),
                other => return Err(format!("setter {name}: unknown argument type {other}")),
            });
        }
        let mut out = String::from("\n/**\n");
        for doc in docs {
            out.push_str(if doc.is_empty() { " *" } else { " * " });
            out.push_str(doc);
            out.push('\n');
        }
        out.push_str(" */\n");
        // As cbindgen does: one line if it fits in 100 columns, else one
        // parameter per line, aligned.
        let head = format!("ws_status {name}(");
        let one = format!("{head}{});", params.join(", "));
        if one.len() <= 100 {
            out.push_str(&one);
        } else {
            let sep = format!(",\n{}", " ".repeat(head.len()));
            out.push_str(&format!("{head}{});", params.join(&sep)));
        }
        out.push('\n');
        Ok(out)
    }
}
