//! The C side: the C and C++ tests and examples compile with
//! `-Wall -Wextra -Wpedantic -Werror` against include/wsclient.h, link to the
//! shared library (one also statically), and pass against an in-process echo
//! server; then they pass again under valgrind memcheck with no errors and
//! no leaks, linked to this run's library and to the release one. The header
//! also compiles as C++.
//!
//! The valgrind tests, when valgrind is not installed (or
//! WSCLIENT_SKIP_VALGRIND is set), print `skipped: ...` with the reason on
//! the test run's stderr (not captured) and check nothing; under CI (the
//! `CI` variable set) a missing valgrind fails them instead.
mod common;
use common::{proxy::*, *};
use std::{
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// How long a C program may take to print the next line we wait for. Only a
/// bound against hanging forever: everything else waits for events.
const LINE_WAIT: Duration = Duration::from_secs(120);

/// target/<profile>, where cargo put libwsclient.so for this test run.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// target/release with an up-to-date release library (built here if
/// needed, as `cargo build --release --lib` does).
fn release_dir() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let o = Command::new(cargo)
                .args(["build", "--release", "--locked", "--lib"])
                .current_dir(ROOT)
                .output()
                .expect("cargo is needed to build the release library");
            assert!(
                o.status.success(),
                "cargo build --release --lib failed:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
            let dir = lib_dir().parent().unwrap().join("release");
            check_built(&dir);
            dir
        })
        .clone()
}

fn check_built(dir: &Path) {
    for lib in ["libwsclient.so", "libwsclient.a"] {
        let path = dir.join(lib);
        assert!(
            path.exists(),
            "{} is missing: run `cargo build --lib` first (`make test` does)",
            path.display()
        );
    }
}

fn out_dir() -> PathBuf {
    check_built(&lib_dir());
    let d = lib_dir().join("c-tests");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

/// Compile one C (or, by its extension, C++17) file against this run's
/// library; returns the binary.
fn compile(src: &str, name: &str, static_link: bool) -> PathBuf {
    compile_with(src, name, static_link, &lib_dir())
}

/// Compile one C (or C++17) file, linked to the library in `lib`.
fn compile_with(src: &str, name: &str, static_link: bool, lib: &Path) -> PathBuf {
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
            .arg(format!("-Wl,-rpath,{}", soname_dir(lib).display()))
            .arg("-lpthread");
    }
    let o = cmd.output().expect("a C compiler (cc) is needed");
    assert!(o.status.success(), "compiling {src} failed:\n{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// A folder of this test's own with `libwsclient.so.MAJOR`, the soname a
/// program linked with -lwsclient asks for at run time, linked to the
/// library in `lib` (cargo makes only `libwsclient.so`).
fn soname_dir(lib: &Path) -> PathBuf {
    let profile = lib.file_name().unwrap().to_string_lossy();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("soname-{profile}"));
    std::fs::create_dir_all(&dir).unwrap();
    let name = concat!("libwsclient.so.", env!("CARGO_PKG_VERSION_MAJOR"));
    // Made under a name of its own, then renamed over: tests run at once.
    let tmp = dir.join(format!("{name}.{:?}", thread::current().id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(lib.join("libwsclient.so"), &tmp).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
    dir
}

fn run(mut cmd: Command, what: &str) {
    let o = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{what} failed ({}):\n{stdout}\n{stderr}", o.status);
    println!("{what}: {}", stdout.lines().last().unwrap_or(""));
}

/// (source, binary name, extra args for a plain run, extra args under valgrind)
const PROGRAMS: [(&str, &str, &str, &str); 10] = [
    ("tests/c/test_exchange.c", "test_exchange", "10000", "1000"),
    ("tests/c/test_callback.c", "test_callback", "", ""),
    ("tests/c/test_bad_input.c", "test_bad_input", "", ""),
    ("tests/c/test_bad_args.c", "test_bad_args", "", ""),
    ("tests/c/test_exit.c", "test_exit", "", ""),
    ("tests/c/test_queue_fd.c", "test_queue_fd", "", ""),
    ("examples/c/echo.c", "echo", "", ""),
    ("examples/c/quickstart.c", "quickstart", "", ""),
    ("tests/c/test_cpp.cpp", "test_cpp", "", ""),
    ("examples/cpp/echo.cpp", "echo_cpp", "", ""),
];

/// `bin` under valgrind memcheck: any error or definite, indirect or possible
/// leak fails. tests/valgrind.supp silences one known false positive of
/// optimised code (see there).
fn valgrind(bin: &Path) -> Command {
    let mut cmd = Command::new("valgrind");
    cmd.args([
        "--quiet",
        "--error-exitcode=99",
        "--leak-check=full",
        "--show-leak-kinds=definite,indirect,possible",
        "--errors-for-leak-kinds=definite,indirect,possible",
    ])
    .arg(format!("--suppressions={ROOT}/tests/valgrind.supp"))
    .arg(bin);
    cmd
}

/// Whether a valgrind test runs. When valgrind is not installed it says
/// `skipped` (on stderr, past the test harness's capture, so that a run
/// without it never looks like a memory check that passed) and the test
/// checks nothing; under CI (`CI` set, where `make deps` installs it) that
/// fails instead. WSCLIENT_SKIP_VALGRIND=1 skips on purpose.
fn valgrind_runs(test: &str) -> bool {
    let skip = |why: &str| {
        let _ = writeln!(std::io::stderr(), "{test}: skipped: {why}");
        false
    };
    if std::env::var_os("WSCLIENT_SKIP_VALGRIND").is_some() {
        return skip("WSCLIENT_SKIP_VALGRIND is set");
    }
    let found =
        Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success());
    if found {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "valgrind is not installed, and CI is set: it must be (`make deps` installs it)"
    );
    skip("valgrind not installed (`make deps` installs it)")
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
    if !valgrind_runs("c_programs_are_clean_under_valgrind") {
        return;
    }
    let server = echo_server();
    for (src, name, _, extra) in PROGRAMS {
        let bin = compile(src, &format!("{name}_vg"), false);
        let mut cmd = valgrind(&bin);
        cmd.arg(server.url()).args(args(extra));
        run(cmd, &format!("{name} under valgrind"));
    }
}

/// The same against target/release's library: optimised code is where
/// valgrind finds what a debug build hides (and where its one known false
/// positive comes from: tests/valgrind.supp).
#[test]
fn c_programs_are_clean_under_valgrind_with_the_release_library() {
    if !valgrind_runs("c_programs_are_clean_under_valgrind_with_the_release_library") {
        return;
    }
    let release = release_dir();
    let server = echo_server();
    for (src, name, _, extra) in PROGRAMS {
        let bin = compile_with(src, &format!("{name}_vg_release"), false, &release);
        let mut cmd = valgrind(&bin);
        cmd.arg(server.url()).args(args(extra));
        run(cmd, &format!("{name} under valgrind (release library)"));
    }
}

/// A program whose stdout is read line by line while it runs, so a test can
/// act on what it has printed (never on how long it has run).
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: thread::JoinHandle<String>,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let mut child =
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the program runs");
        let (tx, lines) = mpsc::channel();
        let out = BufReader::new(child.stdout.take().unwrap());
        thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Running { child, lines, seen: Vec::new(), stderr }
    }

    /// Wait until the program has printed a line that `pred` accepts (one
    /// printed earlier counts too).
    fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) {
        if self.seen.iter().any(|l| pred(l)) {
            return;
        }
        loop {
            match self.lines.recv_timeout(LINE_WAIT) {
                Ok(line) => {
                    let hit = pred(&line);
                    self.seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    let status = self.child.wait().unwrap();
                    let stderr = std::mem::replace(&mut self.stderr, thread::spawn(String::new));
                    panic!(
                        "no {what} ({}, {status}); output so far:\n{}\n{}",
                        if e == mpsc::RecvTimeoutError::Timeout { "timed out" } else { "ended" },
                        self.seen.join("\n"),
                        stderr.join().unwrap_or_default()
                    );
                }
            }
        }
    }

    /// Wait for the exit; returns the status and everything printed.
    fn finish(mut self) -> (ExitStatus, String, String) {
        while let Ok(line) = self.lines.recv() {
            self.seen.push(line);
        }
        let status = self.child.wait().unwrap();
        (status, self.seen.join("\n"), self.stderr.join().unwrap_or_default())
    }
}

/// examples/c/reconnect.c through the fault proxy: once it is open and has
/// had an echo, the server goes away until the example has seen a refused
/// attempt and queued a message; the example must see a reconnect and get
/// back every message it sent while disconnected. Every step waits for what
/// the example prints, so a slow machine (or valgrind) only makes it slower.
fn reconnect_example(under_valgrind: bool) {
    let server = echo_server();
    let name = if under_valgrind { "reconnect_vg" } else { "reconnect" };
    let bin = compile("examples/c/reconnect.c", name, false);
    let proxy = Proxy::start(server.port);
    let mut cmd = if under_valgrind { valgrind(&bin) } else { Command::new(&bin) };
    cmd.arg(proxy.url()).arg("4");
    let mut p = Running::start(cmd);
    p.wait_for("open", |l| l == "open");
    p.wait_for("echo", |l| l.starts_with("< msg "));
    proxy.set(Mode::Refuse);
    proxy.cut();
    p.wait_for("refused attempt", |l| l.starts_with("reconnecting: attempt 2 "));
    p.wait_for("message queued while down", |l| l.ends_with("(queued: not connected)"));
    proxy.set(Mode::Pass);
    let (status, stdout, stderr) = p.finish();
    let what = if under_valgrind { "reconnect under valgrind" } else { "reconnect" };
    assert!(status.success(), "{what} failed ({status}):\n{stdout}\n{stderr}");
    assert!(stdout.contains("open (reconnected"), "{stdout}");
    println!("{what}: {}", stdout.lines().last().unwrap_or(""));
}

#[test]
fn reconnect_example_survives_an_outage() {
    reconnect_example(false);
}

#[test]
fn reconnect_example_survives_an_outage_under_valgrind() {
    if !valgrind_runs("reconnect_example_survives_an_outage_under_valgrind") {
        return;
    }
    reconnect_example(true);
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
