'use strict';
// The staff console in a real browser: Debian's Chromium driven by playwright-core (installed
// by scripts/install-deps.sh and tests/e2e/package-lock.json). Each member of staff gets a
// browser context of their own (their own storage, service worker and IndexedDB, like a
// separate device) and logs in the way a person does: the console's "Log in" button, Fovea's
// SMART login page (authorization code + PKCE), back to the console.

const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

function chromiumPath() {
  for (const p of [process.env.FOVEA_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (p && fs.existsSync(p)) return p;
  }
  throw new Error('no Chromium: scripts/install-deps.sh installs Debian\'s chromium (or set FOVEA_CHROMIUM)');
}

function launchBrowser() {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 860 };

// A logged-in console. `errors` collects uncaught page errors (a test asserts there are none).
async function staffConsole(browser, root, username, password, { viewport = DESKTOP, hash = '' } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`${username}: ${err.message}`));
  await page.goto(`${root}/console/${hash}`);
  await page.click('#login');
  await page.waitForURL(/\/auth\/authorize/);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(new RegExp(`${root.replace(/[.:/]/g, '\\$&')}/console/`));
  await live(page);
  return { context, page, errors, username };
}

// Waits for the connection indicator to say the console is live.
async function live(page, timeout = 15000) {
  await page.waitForSelector('#connection[data-state="live"]', { timeout });
}

// Where screenshots go: FOVEA_ARTIFACTS, else tests/e2e/console/artifacts (git-ignored).
function artifactsDir() {
  const dir = process.env.FOVEA_ARTIFACTS || path.join(__dirname, '..', 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

async function screenshot(page, name) {
  const file = path.join(artifactsDir(), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Form controls on the page a screen reader could not name (no <label for>, no wrapping label,
// no aria-label): each as "tag#id".
function unlabelledControls(page) {
  return page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
    .filter((el) => el.offsetParent !== null)
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !(el.tagName === 'BUTTON' && el.textContent.trim()))
    .map((el) => `${el.tagName.toLowerCase()}#${el.id}`));
}

module.exports = { unlabelledControls, launchBrowser, staffConsole, live, screenshot, artifactsDir, PHONE, DESKTOP };
