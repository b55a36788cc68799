//! The committed include/wsclient.h is exactly what cbindgen generates from
//! the sources (build.rs writes it to OUT_DIR only), and its version macros
//! agree with Cargo.toml and with `ws_version()`.
//!
//! A stale committed header fails here, on a developer's machine as under
//! CI. `make header` (WSCLIENT_BLESS_HEADER=1 for this test) writes the
//! generated header over the committed one, to review and commit.

use std::{ffi::CStr, path::Path};

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/wsclient.h"));
const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/include/wsclient.h");

fn committed() -> String {
    std::fs::read_to_string(COMMITTED).unwrap_or_default()
}

#[test]
fn committed_header_matches_the_generated_one() {
    if std::env::var_os("WSCLIENT_BLESS_HEADER").is_some() {
        assert!(std::env::var_os("CI").is_none(), "WSCLIENT_BLESS_HEADER is not for CI");
        if committed() != GENERATED {
            // Written aside and renamed over, so a reader never sees half.
            let tmp = format!("{COMMITTED}.tmp");
            std::fs::create_dir_all(Path::new(COMMITTED).parent().unwrap()).unwrap();
            std::fs::write(&tmp, GENERATED).unwrap();
            std::fs::rename(&tmp, COMMITTED).unwrap();
        }
    }
    // The first differing line, so the message says what changed.
    let committed = committed();
    let diff = committed
        .lines()
        .zip(GENERATED.lines())
        .enumerate()
        .find(|(_, (c, g))| c != g)
        .map(|(n, (c, g))| format!("line {}: committed `{c}`, generated `{g}`", n + 1))
        .unwrap_or_else(|| "one is longer than the other".into());
    assert!(
        committed == GENERATED,
        "include/wsclient.h is stale ({diff}): run `make header` and commit the result"
    );
}

/// `#define NAME value` in `header`, or a failure naming it.
fn define<'a>(header: &'a str, name: &str) -> &'a str {
    header
        .lines()
        .find_map(|l| l.strip_prefix("#define ")?.strip_prefix(name)?.strip_prefix(' '))
        .map(str::trim)
        .unwrap_or_else(|| panic!("include/wsclient.h has no `#define {name}`"))
}

/// The `version = "..."` of Cargo.toml's [package], read from the file (not
/// from what cargo told the build script, which is what the header was
/// generated from).
fn cargo_toml_version() -> String {
    let toml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let line = toml.lines().find(|l| l.starts_with("version = ")).expect("a version in Cargo.toml");
    line["version = ".len()..].trim().trim_matches('"').to_string()
}

#[test]
fn header_version_matches_the_crate_and_the_library() {
    let header = committed();
    let version = cargo_toml_version();
    assert_eq!(define(&header, "WSCLIENT_VERSION"), format!("\"{version}\""));
    let parts: Vec<&str> = version.split(['.', '-', '+']).take(3).collect();
    for (name, want) in ["MAJOR", "MINOR", "PATCH"].iter().zip(&parts) {
        assert_eq!(define(&header, &format!("WSCLIENT_VERSION_{name}")), *want, "{name}");
    }
    // The library reports the same version at run time.
    let runtime = unsafe { CStr::from_ptr(wsclient::ws_version()) }.to_str().unwrap();
    assert_eq!(runtime, version, "ws_version()");
}

#[test]
fn every_name_the_header_defines_is_prefixed() {
    // A `pub const` of the crate lands in the header as a #define: it must
    // carry the library's prefix, or it would clash with the user's names.
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/wsclient.h"))
            .unwrap();
    let defines: Vec<&str> = header.lines().filter_map(|l| l.strip_prefix("#define ")).collect();
    assert!(defines.len() > 20, "no #define found");
    for d in defines {
        let name = d.split_whitespace().next().unwrap_or("");
        assert!(name.starts_with("WS_") || name.starts_with("WSCLIENT_"), "#define {name}");
    }
}
