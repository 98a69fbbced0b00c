//! "Open psql in a terminal": finds a terminal emulator and starts psql in it.

use std::path::PathBuf;
use std::process::Command;

/// Terminal emulators we know how to start a command in, most specific first; `$TERMINAL` wins.
const KNOWN: &[(&str, &[&str])] = &[
    ("x-terminal-emulator", &["-e"]),
    ("gnome-terminal", &["--"]),
    ("konsole", &["-e"]),
    ("xfce4-terminal", &["-x"]),
    ("kitty", &[]),
    ("alacritty", &["-e"]),
    ("foot", &[]),
    ("xterm", &["-e"]),
];

/// A terminal emulator found on this machine.
#[derive(Debug, Clone)]
pub struct Terminal {
    program: PathBuf,
    args: Vec<String>,
}

impl Terminal {
    /// The first terminal emulator on `PATH`.
    pub fn find() -> Option<Terminal> {
        if let Some(program) = std::env::var_os("TERMINAL").map(PathBuf::from).and_then(|p| which(&p)) {
            return Some(Terminal { program, args: vec!["-e".into()] });
        }
        KNOWN.iter().find_map(|(name, args)| {
            which(&PathBuf::from(name))
                .map(|program| Terminal { program, args: args.iter().map(|a| a.to_string()).collect() })
        })
    }

    /// Starts `psql <conninfo>` in a new terminal window.
    pub fn open_psql(&self, conninfo: &str) -> std::io::Result<()> {
        Command::new(&self.program).args(&self.args).arg("psql").arg(conninfo).spawn().map(|_| ())
    }
}

fn which(program: &std::path::Path) -> Option<PathBuf> {
    if program.is_absolute() {
        return program.is_file().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}
