//! The C side: the C and C++ tests and examples compile with
//! `-Wall -Wextra -Wpedantic -Werror` against include/wsclient.h, link to the
//! shared library (one also statically), and pass against an in-process echo
//! server; then they pass again under valgrind memcheck with no errors and
//! no leaks. The header also compiles as C++.
mod common;
use common::{proxy::*, *};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// target/<profile>, where cargo put libwsclient.so for this test run.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn check_built() {
    for lib in ["libwsclient.so", "libwsclient.a"] {
        let path = lib_dir().join(lib);
        assert!(
            path.exists(),
            "{} is missing: run `cargo build --lib` first (`make test` does)",
            path.display()
        );
    }
}

fn out_dir() -> PathBuf {
    check_built();
    let d = lib_dir().join("c-tests");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

/// Compile one C (or, by its extension, C++17) file; returns the binary.
fn compile(src: &str, name: &str, static_link: bool) -> PathBuf {
    let lib = lib_dir();
    let out = out_dir().join(name);
    let cpp = src.ends_with(".cpp");
    let mut cmd = Command::new(if cpp { "c++".to_string() } else { cc() });
    cmd.arg(if cpp { "-std=c++17" } else { "-std=c11" })
        .args(["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g"])
        .arg(format!("-I{ROOT}/include"))
        .arg(format!("-I{ROOT}/tests/c"))
        .arg(Path::new(ROOT).join(src))
        .arg("-o")
        .arg(&out);
    if static_link {
        cmd.arg(lib.join("libwsclient.a")).args(["-lssl", "-lcrypto", "-lpthread", "-ldl", "-lm"]);
    } else {
        cmd.arg(format!("-L{}", lib.display()))
            .arg("-lwsclient")
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .arg("-lpthread");
    }
    let o = cmd.output().expect("a C compiler (cc) is needed");
    assert!(o.status.success(), "compiling {src} failed:\n{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn run(mut cmd: Command, what: &str) {
    let o = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{what} failed ({}):\n{stdout}\n{stderr}", o.status);
    println!("{what}: {}", stdout.lines().last().unwrap_or(""));
}

/// (source, binary name, extra args for a plain run, extra args under valgrind)
const PROGRAMS: [(&str, &str, &str, &str); 9] = [
    ("tests/c/test_exchange.c", "test_exchange", "10000", "1000"),
    ("tests/c/test_callback.c", "test_callback", "", ""),
    ("tests/c/test_bad_input.c", "test_bad_input", "", ""),
    ("tests/c/test_bad_args.c", "test_bad_args", "", ""),
    ("tests/c/test_exit.c", "test_exit", "", ""),
    ("examples/c/echo.c", "echo", "", ""),
    ("examples/c/quickstart.c", "quickstart", "", ""),
    ("tests/c/test_cpp.cpp", "test_cpp", "", ""),
    ("examples/cpp/echo.cpp", "echo_cpp", "", ""),
];

/// `bin` under valgrind memcheck: any error or definite, indirect or possible
/// leak fails.
fn valgrind(bin: &Path) -> Command {
    let mut cmd = Command::new("valgrind");
    cmd.args([
        "--quiet",
        "--error-exitcode=99",
        "--leak-check=full",
        "--show-leak-kinds=definite,indirect,possible",
        "--errors-for-leak-kinds=definite,indirect,possible",
    ])
    .arg(bin);
    cmd
}

fn args(extra: &str) -> Vec<&str> {
    extra.split_whitespace().collect()
}

#[test]
fn c_programs_pass() {
    let server = echo_server();
    for (src, name, extra, _) in PROGRAMS {
        let bin = compile(src, name, false);
        let mut cmd = Command::new(&bin);
        cmd.arg(server.url()).args(args(extra));
        run(cmd, name);
    }
}

#[test]
fn statically_linked_c_program_passes() {
    let server = echo_server();
    let bin = compile("tests/c/test_exchange.c", "test_exchange_static", true);
    let mut cmd = Command::new(&bin);
    cmd.arg(server.url()).arg("2000");
    run(cmd, "test_exchange (static)");
}

#[test]
fn c_programs_are_clean_under_valgrind() {
    if std::env::var_os("WSCLIENT_SKIP_VALGRIND").is_some() {
        eprintln!("skipped: WSCLIENT_SKIP_VALGRIND is set");
        return;
    }
    let found =
        Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        found,
        "valgrind is needed (make test installs it); set WSCLIENT_SKIP_VALGRIND=1 to skip"
    );
    let server = echo_server();
    for (src, name, _, extra) in PROGRAMS {
        let bin = compile(src, &format!("{name}_vg"), false);
        let mut cmd = valgrind(&bin);
        cmd.arg(server.url()).args(args(extra));
        run(cmd, &format!("{name} under valgrind"));
    }
}

/// examples/c/reconnect.c through the fault proxy: the server goes away for
/// a second; the example must see a reconnect and get back every message it
/// sent while disconnected (plain, then under valgrind).
#[test]
fn reconnect_example_survives_an_outage() {
    let server = echo_server();
    let bin = compile("examples/c/reconnect.c", "reconnect", false);
    let use_valgrind = std::env::var_os("WSCLIENT_SKIP_VALGRIND").is_none();
    for under_valgrind in [false, true] {
        if under_valgrind && !use_valgrind {
            continue;
        }
        let proxy = Proxy::start(server.port);
        let mut cmd = if under_valgrind { valgrind(&bin) } else { Command::new(&bin) };
        cmd.arg(proxy.url()).arg("4");
        let outage = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(1550));
            proxy.set(Mode::Refuse);
            proxy.cut();
            std::thread::sleep(std::time::Duration::from_millis(1000));
            proxy.set(Mode::Pass);
            proxy
        });
        run(cmd, if under_valgrind { "reconnect under valgrind" } else { "reconnect" });
        drop(outage.join().unwrap());
    }
}

#[test]
fn header_compiles_as_cpp() {
    let o = Command::new("c++")
        .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"])
        .arg(format!("-I{ROOT}/include"))
        .arg(format!("{ROOT}/tests/c/header_test.cpp"))
        .output()
        .expect("a C++ compiler (c++) is needed");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
