//! The X server the app draws on: Xvfb on a display number it picks itself (`-displayfd`), and
//! what a person does with a screen: look at it (`import`), read the clipboard (`xclip`), move
//! the mouse and press keys (`xdotool`), count the open menus (`xdotool search`, `xprop`).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::HELPER_START;
use super::processes::Helper;
use super::wait::wait_until;
use crate::pg::run_with_timeout;

/// An Xvfb server; stopped on drop.
pub struct Display {
    number: u32,
    server: Helper,
}

impl Display {
    /// Starts `Xvfb -displayfd` (it takes the first free display number and reports it once it
    /// accepts connections), 1280x800x24, no TCP; waits for its socket.
    pub fn start(log: &Path) -> Display {
        let mut cmd = Command::new("Xvfb");
        cmd.args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(log).unwrap());
        let mut server = Helper::spawn("Xvfb", &mut cmd, Some(log.to_path_buf()));
        let stdout = server.child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(HELPER_START).unwrap_or_default();
        let number: u32 = line.trim().parse().unwrap_or_else(|_| {
            panic!("Xvfb reported no display number (got {line:?}); its log:\n{}", server.log())
        });
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        wait_until(
            &format!("the X socket {}", socket.display()),
            HELPER_START,
            || socket.exists().then_some(()),
            || server.log(),
        );
        Display { number, server }
    }

    /// `":N"`, for DISPLAY.
    pub fn name(&self) -> String {
        format!(":{}", self.number)
    }

    pub fn number(&self) -> u32 {
        self.number
    }

    /// The whole screen as a PNG at `path` (`import -window root`).
    #[track_caller]
    pub fn screenshot(&self, path: &Path) {
        let run = run_with_timeout(
            Command::new("import").arg("-window").arg("root").arg(path).env("DISPLAY", self.name()),
            Duration::from_secs(30),
        );
        assert!(run.ok() && path.exists(), "import -window root failed: {run:?}");
    }

    /// The CLIPBOARD selection's text (`xclip -o -selection clipboard`), `None` when empty.
    pub fn clipboard(&self) -> Option<String> {
        let run = run_with_timeout(
            Command::new("xclip").args(["-o", "-selection", "clipboard"]).env("DISPLAY", self.name()),
            Duration::from_secs(10),
        );
        run.ok().then_some(run.stdout)
    }

    /// `xdotool ARGS` on this display.
    #[track_caller]
    pub fn xdotool(&self, args: &[&str]) {
        let run = run_with_timeout(
            Command::new("xdotool").args(args).env("DISPLAY", self.name()),
            Duration::from_secs(10),
        );
        assert!(run.ok(), "xdotool {args:?} failed: {run:?}");
    }

    /// How many menus are open on the screen: viewable windows of type
    /// `_NET_WM_WINDOW_TYPE_POPUP_MENU` (EWMH; GTK gives each open menu and submenu its own).
    pub fn open_menus(&self) -> usize {
        let windows = run_with_timeout(
            Command::new("xdotool")
                .args(["search", "--onlyvisible", "--name", ""])
                .env("DISPLAY", self.name()),
            Duration::from_secs(10),
        );
        windows
            .stdout
            .lines()
            .filter(|id| {
                let kind = run_with_timeout(
                    Command::new("xprop")
                        .args(["-id", id.trim(), "_NET_WM_WINDOW_TYPE"])
                        .env("DISPLAY", self.name()),
                    Duration::from_secs(10),
                );
                kind.stdout.contains("_NET_WM_WINDOW_TYPE_POPUP_MENU")
            })
            .count()
    }

    /// Process ids of the server.
    pub(crate) fn processes(&self) -> Vec<u32> {
        self.server.family()
    }
}
