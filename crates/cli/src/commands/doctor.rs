//! `tapgate doctor [--json]`: the engine's checks (`tapgate_core::doctor`), printed one line
//! each (`PASS|WARN|FAIL NAME: DETAIL`, then `  fix: ...` when it did not pass). Exit 1 when a
//! check failed. No check's text holds a secret, so the output can go into a support ticket.

use std::path::PathBuf;
use std::process::ExitCode;

use tapgate_core::doctor::{self, Report};

use crate::args::DoctorArgs;

pub async fn run(config: Option<PathBuf>, args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let path = tapgate_config::config_path(config)?;
    let report = doctor::run(&path, super::context()?).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", text(&report));
    }
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The report as lines for a terminal.
fn text(report: &Report) -> String {
    let mut out = String::new();
    for check in &report.checks {
        out.push_str(&format!("{} {}: {}\n", check.status.label(), check.name, check.detail));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("  fix: {fix}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use tapgate_core::doctor::{Check, Status};

    use super::*;

    #[test]
    fn a_check_is_one_line_and_a_fix_the_next() {
        let report = Report::new(vec![
            Check { name: "config".into(), status: Status::Pass, detail: "loads".into(), fix: None },
            Check {
                name: "db.prod.reach".into(),
                status: Status::Fail,
                detail: "connection refused".into(),
                fix: Some("start it".into()),
            },
        ]);
        assert_eq!(
            text(&report),
            "PASS config: loads\nFAIL db.prod.reach: connection refused\n  fix: start it\n"
        );
    }
}
