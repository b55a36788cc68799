//! The committed include/wsclient.h is exactly what cbindgen generates from
//! the sources, and its version macros match Cargo.toml.

#[test]
fn committed_header_matches_the_generated_one() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/wsclient.h"));
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/wsclient.h"))
            .unwrap();
    assert!(
        committed == generated,
        "include/wsclient.h is stale: build outside CI to regenerate it, then commit it"
    );
}

#[test]
fn header_version_matches_the_crate() {
    let header = include_str!(concat!(env!("OUT_DIR"), "/wsclient.h"));
    let expected = format!("#define WSCLIENT_VERSION \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(header.contains(&expected));
    assert!(header
        .contains(&format!("#define WSCLIENT_VERSION_MAJOR {}", env!("CARGO_PKG_VERSION_MAJOR"))));
}
