//! The demo roles (`app_rw`, `app_ro`) and the sample database `demo` with its tables, rows and
//! grants, created through psql as the superuser over the unix socket.

use std::process::Stdio;

use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use super::{Cluster, PG_USER};
use crate::error::{DemoError, IoContext as _};
use crate::processes;

impl Cluster {
    /// Whether the sample database is there already.
    pub async fn has_schema(&self) -> Result<bool, DemoError> {
        let out = self
            .psql("postgres")
            .args(["-tAc", "SELECT 1 FROM pg_database WHERE datname = 'demo'"])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|error| DemoError::Run { program: "psql".into(), error })?;
        if !out.status.success() {
            return Err(DemoError::Psql(String::from_utf8_lossy(&out.stderr).trim().to_string()));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim() == "1")
    }

    /// The demo roles and the sample database, tables, rows and grants. Safe to run again.
    pub async fn create_schema(&self) -> Result<(), DemoError> {
        let mut child = self
            .psql("postgres")
            .args(["-q", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| DemoError::Run { program: "psql".into(), error })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(SCHEMA.as_bytes()).await.context_with(|| "cannot talk to psql".into())?;
        }
        let out = child.wait_with_output().await.context_with(|| "psql failed".into())?;
        if !out.status.success() {
            return Err(DemoError::Schema(String::from_utf8_lossy(&out.stderr).trim().to_string()));
        }
        Ok(())
    }

    /// psql as the superuser over the unix socket (Debian's psql: the npm package has none).
    fn psql(&self, db: &str) -> Command {
        let mut cmd = processes::command("psql");
        cmd.args(["-X", "-w", "-v", "ON_ERROR_STOP=1", "-h"]).arg(&self.data).args([
            "-p",
            &self.port.to_string(),
            "-U",
            PG_USER,
            "-d",
            db,
        ]);
        cmd
    }
}

/// The demo roles and sample data. `\gexec` makes the CREATEs conditional, so a run stopped
/// halfway through can simply run it again.
const SCHEMA: &str = r#"
SELECT 'CREATE ROLE app_rw LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_rw') \gexec
SELECT 'CREATE ROLE app_ro LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_ro') \gexec
SELECT 'CREATE DATABASE demo' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'demo') \gexec
GRANT CONNECT ON DATABASE demo TO app_rw, app_ro;
\connect demo
CREATE TABLE IF NOT EXISTS customers (
    id   int  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    city text NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id          int  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id int  NOT NULL REFERENCES customers,
    item        text NOT NULL,
    amount      numeric(10, 2) NOT NULL,
    ordered_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO customers (name, city)
SELECT * FROM (VALUES ('Ada Lovelace', 'London'), ('Grace Hopper', 'Arlington'), ('Edsger Dijkstra', 'Nuenen')) AS v
WHERE NOT EXISTS (SELECT 1 FROM customers);
INSERT INTO orders (customer_id, item, amount)
SELECT c.id, v.item, v.amount
FROM (VALUES ('Ada Lovelace', 'Analytical engine gears', 120.00),
             ('Ada Lovelace', 'Punched cards (box)', 18.50),
             ('Grace Hopper', 'Nanosecond wire', 2.75),
             ('Grace Hopper', 'COBOL manual', 34.90),
             ('Edsger Dijkstra', 'Fountain pen', 49.00)) AS v (name, item, amount)
JOIN customers c ON c.name = v.name
WHERE NOT EXISTS (SELECT 1 FROM orders);
GRANT USAGE ON SCHEMA public TO app_rw, app_ro;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO app_ro;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app_rw;
"#;
