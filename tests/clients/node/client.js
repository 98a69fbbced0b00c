// node-postgres (`pg`, pure JavaScript) through a Tapgate forwarder, for tests/tests/e2e/clients.rs.
//
// Usage: node client.js CONNECTION_STRING
// Connects with the URI `tapgate dsn` prints (`?host=/dir` for the socket, 127.0.0.1 for TCP)
// and application_name "node-postgres", then prints `current_user|application_name` of its own
// session on one line. The client's version goes to stderr; a failed connection's message too,
// with exit status 1.
import { createRequire } from 'node:module'
import pg from 'pg'

const { version } = createRequire(import.meta.url)('pg/package.json')
console.error(`node-postgres ${version}, node ${process.version}`)

const client = new pg.Client({
  connectionString: process.argv[2],
  application_name: 'node-postgres',
  connectionTimeoutMillis: 10000,
})
try {
  await client.connect()
  const { rows } = await client.query(
    'select current_user, application_name from pg_stat_activity where pid = pg_backend_pid()',
  )
  console.log(`${rows[0].current_user}|${rows[0].application_name}`)
  await client.end()
} catch (error) {
  console.error(`node-postgres: ${error.message}`)
  process.exitCode = 1
}
