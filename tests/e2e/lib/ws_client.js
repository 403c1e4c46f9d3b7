'use strict';
// A subscription WebSocket for tests: every text frame is queued; next() waits for the next one
// (optionally the next one `match` accepts, dropping others) with a timeout, never a sleep.

const WebSocket = require('ws');

class WsClient {
  static async connect(url, timeoutMs = 5000) {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no WebSocket open within ${timeoutMs} ms`)), timeoutMs);
      socket.once('open', () => { clearTimeout(timer); resolve(); });
      socket.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
    return new WsClient(socket);
  }

  constructor(socket) {
    this.socket = socket;
    this.queue = [];
    this.waiters = [];
    this.closed = false;
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.queue.push(data.toString());
      this.wake();
    });
    socket.on('close', () => { this.closed = true; this.wake(); });
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(text) { this.socket.send(text); }
  sendJson(value) { this.socket.send(JSON.stringify(value)); }

  // The next text frame (raw string).
  async nextText(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.closed) throw new Error('the socket closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return this.queue.shift();
  }

  // The next frame as JSON.
  async next(timeoutMs = 5000) { return JSON.parse(await this.nextText(timeoutMs)); }

  // Whether a frame is already queued (for "nothing else arrived" after an ordering barrier).
  pending() { return this.queue.length; }

  async close() {
    if (this.closed) return;
    const done = new Promise((resolve) => this.socket.once('close', resolve));
    this.socket.close();
    await done;
  }
}

module.exports = { WsClient };
