//! `tapgate completions SHELL` and `tapgate man`, run as the built binary the way a package build
//! or a person would: with no configuration, each script names every command `tapgate --help`
//! lists, bash (and zsh and fish where installed) accept their script, bash completes a command
//! from its first letters, and the man pages are roff naming every command.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

/// Commands every script and page must name, whatever `--help` says: a floor under the list
/// parsed from it, so a change in the help's layout cannot make these tests check nothing.
const KNOWN_COMMANDS: &[&str] =
    &["login", "whoami", "logout", "token", "connect", "dsn", "status", "history", "exec", "demo"];

/// `tapgate ARGS` with an empty home and a config file that does not exist: generating the
/// completions and pages must need no configuration (package builds have none).
fn tapgate(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_tapgate"))
        .args(args)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("TAPGATE_CONFIG", home.path().join("no-such-config.toml"))
        .env_remove("TAPGATE_LOG")
        .output()
        .unwrap()
}

/// `tapgate ARGS`, asserting it succeeded quietly; its stdout.
fn stdout_of(args: &[&str]) -> String {
    let out = tapgate(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tapgate {args:?} failed: {stderr}");
    assert!(stderr.is_empty(), "tapgate {args:?} wrote to stderr: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// The commands `tapgate --help` lists (clap's own `help` aside).
fn commands() -> Vec<String> {
    let help = stdout_of(&["--help"]);
    let listed = help.split("Commands:\n").nth(1).expect("a Commands: section").split("\n\n").next().unwrap();
    // A command's line starts with two spaces and its name; wrapped descriptions are indented further.
    let names: Vec<String> = listed
        .lines()
        .filter_map(|line| line.strip_prefix("  "))
        .filter(|rest| !rest.starts_with(' '))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    for known in KNOWN_COMMANDS {
        assert!(names.iter().any(|n| n == known), "`tapgate --help` lists no {known}: {names:?}");
    }
    names
}

/// Whether `program` runs here (`program --version` succeeds).
fn installed(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|out| out.status.success())
}

/// `program ARGS file` on `script` written to a file, asserting success (a syntax check).
fn check_syntax(program: &str, args: &[&str], script: &str) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), script).unwrap();
    let out = Command::new(program).args(args).arg(file.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} refused the script: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_names_every_command(shell: &str, script: &str) {
    assert!(!script.trim().is_empty(), "the {shell} script is empty");
    for command in commands() {
        assert!(script.contains(&command), "the {shell} script never mentions {command}");
    }
    // Options and their values are completed too, not only command names: `dsn --format jdbc`.
    assert!(script.contains("format") && script.contains("jdbc"), "the {shell} script lacks `dsn --format`");
}

#[test]
fn the_bash_script_names_every_command_and_bash_accepts_it() {
    let script = stdout_of(&["completions", "bash"]);
    assert_names_every_command("bash", &script);
    assert!(script.contains("complete -F _tapgate") || script.contains("-F _tapgate tapgate"), "{script}");
    check_syntax("bash", &["-n"], &script);
}

#[test]
fn bash_completes_a_command_from_its_first_letters() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), stdout_of(&["completions", "bash"])).unwrap();
    // What bash does on `tapgate lo<TAB>`: the completion function with the words so far.
    let probe = r#"source "$1"
COMP_WORDS=(tapgate lo); COMP_CWORD=1; COMP_LINE="tapgate lo"; COMP_POINT=${#COMP_LINE}
_tapgate tapgate lo tapgate
printf '%s\n' "${COMPREPLY[@]}""#;
    let out = Command::new("bash").arg("-c").arg(probe).arg("bash").arg(file.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut offered: Vec<String> =
        String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    offered.sort();
    assert_eq!(offered, ["login", "logout"]);
}

#[test]
fn the_zsh_script_names_every_command_and_zsh_accepts_it_where_installed() {
    let script = stdout_of(&["completions", "zsh"]);
    assert_names_every_command("zsh", &script);
    assert!(script.starts_with("#compdef tapgate"), "zsh finds the function by this line: {script}");
    if installed("zsh") {
        check_syntax("zsh", &["-n"], &script);
    } else {
        eprintln!("zsh is not installed: the zsh script's syntax is not checked, only its content");
    }
}

#[test]
fn the_fish_script_names_every_command_and_fish_accepts_it_where_installed() {
    let script = stdout_of(&["completions", "fish"]);
    assert_names_every_command("fish", &script);
    assert!(script.contains("complete -c tapgate"), "{script}");
    if installed("fish") {
        check_syntax("fish", &["--no-execute"], &script);
    } else {
        eprintln!("fish is not installed: the fish script's syntax is not checked, only its content");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error_naming_the_known_ones() {
    let out = tapgate(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bash") && stderr.contains("zsh") && stderr.contains("fish"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// Asserts `page` is a roff man page titled `title`: the `.TH` title line comes first (after
/// the roff crate's two-line `.ie`/`.el` preamble defining the apostrophe), then the sections.
fn assert_man_page(page: &str, title: &str) {
    let mut lines = page.lines().skip_while(|line| line.starts_with(".ie ") || line.starts_with(".el "));
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with(&format!(".TH {title} 1")), "not a section 1 page titled {title}: {page}");
    assert!(page.contains("\n.SH NAME\n") && page.contains("\n.SH SYNOPSIS\n"), "{page}");
}

#[test]
fn the_man_page_is_roff_naming_every_command() {
    let page = stdout_of(&["man"]);
    assert_man_page(&page, "tapgate");
    for command in commands() {
        // roff escapes the hyphen: `tapgate\-login(1)`.
        assert!(page.contains(&format!("tapgate\\-{command}(1)")), "the page never names {command}: {page}");
    }
    assert!(!page.contains("tapgate\\-help(1)"), "names a page for `help`, which has none: {page}");
    // Optional: man itself renders it, where man is installed.
    if installed("man") {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &page).unwrap();
        let out = Command::new("man").arg("-l").arg(file.path()).env("MANPAGER", "cat").output().unwrap();
        assert!(out.status.success(), "man -l: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("SUBCOMMANDS"));
    } else {
        eprintln!("man is not installed: the page is not rendered with man -l");
    }
}

#[test]
fn man_dir_writes_the_page_printed_and_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man1");
    let out = tapgate(&["man", "--dir", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(out_dir.join("tapgate.1")).unwrap(), stdout_of(&["man"]));
    for command in commands() {
        let page = read(&out_dir.join(format!("tapgate-{command}.1")));
        assert_man_page(&page, &format!("tapgate-{command}"));
        assert!(page.contains(&format!("tapgate {command}")), "no synopsis for {command}: {page}");
    }
    assert!(!out_dir.join("tapgate-help.1").exists());
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
