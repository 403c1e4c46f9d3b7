'use strict';
// Starts a real `fovea serve` for one test file: a fresh database on the throwaway cluster
// (FOVEA_TEST_PG_DSN, as the C++ tests use), `--auth off` unless asked otherwise, on 127.0.0.1
// and a free port, ready once it logs "serving http://127.0.0.1:PORT/fhir/R4" and /healthz
// answers. stop() ends it (SIGTERM, then SIGKILL after 10 s) and drops the database.
//
// Options: `auth: 'on'` serves with SMART authorisation (plain http is still allowed on
// loopback); `beforeServe({ dsn, fovea })` runs first against the fresh database, where
// `fovea(args, input)` runs the fovea CLI with `--database-url` set and returns its stdout (to
// add users and clients, which exist only through the CLI); `sameDatabaseAs: other` starts a
// second node on `other`'s database (which `other.stop()` drops; this node's stop() does not).
// kill() ends the server with SIGKILL (a crash) and keeps the database.
//
// The port: `--port 0` would let the server pick one, but the server then builds the URLs it
// puts in notifications from the configured port (http://127.0.0.1:0/...), so the harness asks
// the kernel for a free port, passes it, and tries another if it was taken in between.

const { spawn, execFileSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');
const net = require('node:net');

const repo = path.resolve(__dirname, '..', '..', '..');

function foveaBin() {
  const bin = process.env.FOVEA_BIN || path.join(repo, 'build', 'bin', 'fovea');
  if (!fs.existsSync(bin)) throw new Error(`no fovea binary at ${bin} (set FOVEA_BIN)`);
  return bin;
}

function adminDsn() {
  const dsn = process.env.FOVEA_TEST_PG_DSN;
  if (!dsn) throw new Error('FOVEA_TEST_PG_DSN is not set: run the suite through scripts/test.sh (or ctest with it set)');
  return dsn;
}

function psql(dsn, sql) {
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', dsn, '-c', sql], { stdio: ['ignore', 'ignore', 'pipe'] });
}

let counter = 0;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function startFovea({ extraArgs = [], timeoutMs = 60000, auth = 'off', beforeServe, sameDatabaseAs } = {}) {
  const admin = adminDsn();
  const owned = !sameDatabaseAs;
  // Digits and underscores only: CREATE DATABASE takes no parameters.
  const dbName = owned ? `fovea_e2e_${process.pid}_${++counter}` : sameDatabaseAs.dbName;
  if (owned) psql(admin, `CREATE DATABASE ${dbName}`);
  const dsn = `${admin} dbname=${dbName}`;  // a later keyword overrides an earlier one
  const dropDatabase = () => {
    if (owned) psql(admin, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  };
  if (beforeServe) {
    const fovea = (args, input) => execFileSync(foveaBin(), [...args, '--database-url', dsn],
                                                { input: input ?? '', encoding: 'utf8', timeout: timeoutMs,
                                                  stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      await beforeServe({ dsn, fovea });
    } catch (err) {
      dropDatabase();
      throw err;
    }
  }
  let started;
  for (let attempt = 1; ; ++attempt) {
    try {
      started = await launch(dsn, await freePort(), ['--auth', auth, ...extraArgs], timeoutMs);
      break;
    } catch (err) {
      if (attempt >= 3 || !/in use/i.test(err.message)) {
        dropDatabase();
        throw err;
      }
    }
  }
  const { child, exited, root, output } = started;

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(killer);
    }
    try {
      dropDatabase();
    } catch (err) {
      console.error(`could not drop ${dbName}: ${err.message}`);
    }
  }

  async function kill() {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  try {
    await waitFor(async () => {
      try {
        return (await fetch(`${root}/healthz`)).status === 200;
      } catch {
        return false;
      }
    }, { timeoutMs, what: '/healthz' });
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    root,                              // http://127.0.0.1:PORT
    fhirBase: `${root}/fhir/R4`,
    wsUrl: `${root.replace('http://', 'ws://')}/ws/subscriptions-r4`,
    log: output,
    dbName,
    stop,
    kill,
  };
}

async function launch(dsn, port, extraArgs, timeoutMs) {
  const child = spawn(foveaBin(), ['serve', '--database-url', dsn, '--bind', '127.0.0.1', '--port', String(port),
                                   ...extraArgs],
                      { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const root = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fovea did not start serving within ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    const onData = (chunk) => {
      log += chunk.toString();
      const m = /serving (http:\/\/127\.0\.0\.1:\d+)\/fhir\/R4/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`fovea exited (${code ?? signal}) before serving:\n${log}`));
    });
  });
  return { child, exited, root, output: () => log };
}

// Polls `check` (sync or async) until it returns a truthy value, which it returns; fails after
// `timeoutMs`. For conditions the server offers no event for (a status, a count).
async function waitFor(check, { timeoutMs = 10000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

module.exports = { startFovea, waitFor };
