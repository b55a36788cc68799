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

use std::{env, fs, path::PathBuf};

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
            let mut header = Vec::new();
            bindings.write(&mut header);
            let header = String::from_utf8(header).expect("cbindgen writes UTF-8");
            let ffi_rs = fs::read_to_string(dir.join("src").join("ffi.rs")).expect("src/ffi.rs");
            match config_setters::insert(&header, &ffi_rs) {
                Ok(header) => fs::write(&out, header).expect("write the header to OUT_DIR"),
                Err(e) => {
                    let _ = fs::remove_file(&out);
                    println!("cargo:warning=the config setters cannot go into the header: {e}");
                }
            }
        }
        Err(e) => {
            // Never break a build over the header; the header test fails
            // (it cannot find the generated header: an older one is removed).
            let _ = fs::remove_file(&out);
            println!("cargo:warning=cbindgen could not generate the header: {e}");
        }
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
