'use strict';
// A rest-hook endpoint for tests: a node http server on 127.0.0.1 that records each POST (path,
// headers, JSON body) and answers a configurable status (`setStatus`). next() waits for the next
// recorded request with a timeout.

const http = require('node:http');

async function startReceiver({ status = 200 } = {}) {
  const received = [];
  let waiters = [];
  let answer = status;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      let body;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      received.push({ method: req.method, path: req.url, headers: req.headers, text, body, answered: answer });
      res.writeHead(answer, { 'Content-Type': 'text/plain' });
      res.end();
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  let read = 0;

  async function next(timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    while (read >= received.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no rest-hook request within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return received[read++];
  }

  return {
    url,
    received,
    next,
    setStatus: (s) => { answer = s; },
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

module.exports = { startReceiver };
