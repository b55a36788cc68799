//! The layers of `src/` point down only (docs/architecture.md): read from
//! the code's imports, no module names one above it or beside it, and no
//! module but `lib.rs` names `ffi`.
use std::{collections::BTreeSet, fs, path::Path};

/// Each top-level module of the crate and its layer: a module may name only
/// modules of a lower layer (and itself).
const LAYERS: &[(&str, u32)] = &[
    ("types", 0),
    ("registry", 1),
    ("policy", 1),
    ("wire", 1),
    ("tls", 1),
    ("error", 2),
    ("log", 2),
    ("config", 3),
    ("event", 3),
    ("conn", 4),
    ("worker", 5),
    ("client", 6),
    ("ffi", 7),
    ("fuzz", 7),
    ("lib", 8),
];

fn layer(module: &str) -> u32 {
    LAYERS
        .iter()
        .find(|(m, _)| *m == module)
        .unwrap_or_else(|| panic!("module `{module}` is not in LAYERS: give it a layer"))
        .1
}

/// The crate's modules that `text` names: `crate::NAME`, `$crate::NAME`
/// and the first names of a `use crate::{...}` list.
fn named(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(list) = rest.strip_prefix('{') {
            // Names at the first level of the braces.
            let mut depth = 0;
            let mut start = true;
            for (j, c) in list.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && depth == 0 && !c.is_whitespace() => {
                        out.insert(ident(&list[j..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.retain(|m: &String| !m.is_empty());
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_name_only_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    let mut seen = 0;
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        if first == "bin" {
            continue; // a program of its own: checked below
        }
        let module = first.trim_end_matches(".rs").to_string();
        let text = fs::read_to_string(&file).unwrap();
        for dep in named(&text) {
            seen += 1;
            if dep != module && (layer(&dep) >= layer(&module) || dep == "ffi" && module != "lib") {
                wrong.push(format!("{} names `{dep}`", rel.display()));
            }
        }
    }
    assert!(seen > 20, "the imports were not found: the check reads nothing");
    assert!(wrong.is_empty(), "imports that point up or sideways:\n{}", wrong.join("\n"));
}

#[test]
fn the_cli_uses_only_the_public_rust_api() {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin/wsclient.rs");
    let text = fs::read_to_string(cli).unwrap();
    for internal in ["worker", "conn::", "registry::", "fuzz"] {
        assert!(!text.contains(&format!("wsclient::{internal}")), "the CLI uses {internal}");
    }
    assert!(!text.contains(".start("), "the CLI starts a client by hand");
}

#[test]
fn the_import_reader_finds_what_it_must() {
    let text = "use crate::{\n    a::{b, c},\n    d::E,\n};\nlet x = crate::f::g(); $crate::h::i";
    let got: Vec<String> = named(text).into_iter().collect();
    assert_eq!(got, ["a", "d", "f", "h"]);
}
