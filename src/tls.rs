//! Which TLS stack the library was built with, and, for the self-contained
//! build (feature `vendored-tls`), the system's trusted roots.
//!
//! A statically linked OpenSSL looks for roots under the OPENSSLDIR it was
//! compiled with, which matches no distribution. So the vendored build finds
//! the system bundle itself, as `openssl-probe` does: `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` first, else the known paths (Debian/Ubuntu, Fedora/RHEL,
//! Alpine, openSUSE, ...), and adds those roots to every connector, besides
//! the CA options of the config.

use std::{ffi::CStr, sync::OnceLock};

/// The TLS stack, e.g. "OpenSSL 3.6.1 (vendored)" or "OpenSSL 3.0.17
/// (system)", as a static NUL-terminated string.
pub fn backend() -> &'static CStr {
    static NAME: OnceLock<std::ffi::CString> = OnceLock::new();
    NAME.get_or_init(|| {
        let origin = if cfg!(feature = "vendored-tls") { "vendored" } else { "system" };
        let name = format!("{} ({origin})", stack_name());
        std::ffi::CString::new(name).unwrap_or_default()
    })
}

#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "windows")))]
fn stack_name() -> String {
    // "OpenSSL 3.0.17 1 Jul 2025": the name and the version.
    openssl::version::version().split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

#[cfg(any(target_os = "macos", target_os = "ios"))]
fn stack_name() -> String {
    "Security.framework".to_string()
}

#[cfg(target_os = "windows")]
fn stack_name() -> String {
    "SChannel".to_string()
}

/// The system's trusted roots, read once, for a build whose OpenSSL cannot
/// find them by itself (empty otherwise: the TLS stack uses its defaults).
pub fn system_roots() -> &'static [native_tls::Certificate] {
    static ROOTS: OnceLock<Vec<native_tls::Certificate>> = OnceLock::new();
    ROOTS.get_or_init(load_system_roots)
}

#[cfg(all(
    feature = "vendored-tls",
    not(any(target_os = "macos", target_os = "ios", target_os = "windows"))
))]
fn load_system_roots() -> Vec<native_tls::Certificate> {
    let found = openssl_probe::probe();
    let mut roots = Vec::new();
    if let Some(file) = &found.cert_file {
        roots.extend(read_pem(file));
    }
    // A hashed directory (c_rehash): every file in it holds PEM certificates.
    for dir in &found.cert_dir {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for entry in entries.flatten() {
            roots.extend(read_pem(&entry.path()));
        }
    }
    if roots.is_empty() {
        log::warn!("no system CA certificates found (set SSL_CERT_FILE or a CA file option)");
    }
    roots
}

#[cfg(all(
    feature = "vendored-tls",
    not(any(target_os = "macos", target_os = "ios", target_os = "windows"))
))]
fn read_pem(path: &std::path::Path) -> Vec<native_tls::Certificate> {
    match std::fs::read(path) {
        Ok(pem) => native_tls::Certificate::stack_from_pem(&pem).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

#[cfg(not(all(
    feature = "vendored-tls",
    not(any(target_os = "macos", target_os = "ios", target_os = "windows"))
)))]
fn load_system_roots() -> Vec<native_tls::Certificate> {
    Vec::new()
}
