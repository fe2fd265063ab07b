// Drives netdisk's web UI in Chromium (playwright-core), step by step.
// Run by tests/browser.rs:
//   node ui.mjs BASE_URL USER PASSWORD SCREENSHOT_DIR SCRATCH_DIR
// Writes the files it uploads under SCRATCH_DIR/files (the Rust side
// compares them with the server's disk) and SCRATCH_DIR/report.json
// (whether the optional tus step ran). Every wait is bounded; exit 0 =
// all passed.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const [base, user, password, shotDir, scratch] = process.argv.slice(2);
if (!scratch) {
  console.error('usage: node ui.mjs BASE_URL USER PASSWORD SCREENSHOT_DIR SCRATCH_DIR');
  process.exit(2);
}
/** One wait (a selector, a response) never takes longer than this. */
const WAIT = 20_000;
/** The whole run; tests/browser.rs kills node a little later. */
const WHOLE_RUN = 170_000;
const HOSTILE = '<img src=x onerror=alert(1)>.txt';
const MiB = 1024 * 1024;

const files = path.join(scratch, 'files');
const report = { tus: 'not reached' };
let current = 'start';
const started = Date.now();

function step(name) {
  current = name;
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${name}`);
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

function writeFile(rel, bytes) {
  const at = path.join(files, rel);
  fs.mkdirSync(path.dirname(at), { recursive: true });
  fs.writeFileSync(at, bytes);
  return at;
}

function sameBytes(a, b, what) {
  const x = fs.readFileSync(a);
  const y = fs.readFileSync(b);
  check(x.length === y.length && x.equals(y), `${what}: ${x.length} bytes downloaded, ${y.length} sent, or they differ`);
}

// The files the browser sends.
const reportBin = writeFile('report.bin', crypto.randomBytes(300_000));
const keep = writeFile('keep.txt', 'keep me\n');
const trash = writeFile('trash.txt', 'delete me\n');
const hostile = writeFile(HOSTILE, 'a name that is not markup\n');
writeFile('album/a.jpg', crypto.randomBytes(150_000));
writeFile('album/sub/b.txt', 'in a sub-folder\n');
writeFile('old/x.txt', 'an old folder\n');
const big = writeFile('big.bin', crypto.randomBytes(10 * MiB + 12345));
const slow = writeFile('slow.bin', crypto.randomBytes(3 * MiB));
// A page that, if it ever ran as this origin, would show it three ways.
const pageHtml = writeFile('page.html', `<!doctype html><title>an uploaded page</title>
<h1 id="shown">an uploaded page</h1>
<script>
document.title = 'script ran';
alert('script ran in ' + location.origin);
fetch('/api/v1/session').then((r) => r.json()).then((s) => fetch('/api/v1/mkdir/pwned', { method: 'POST', headers: { 'X-CSRF-Token': s.csrf } }));
</script>
`);
const dropped = writeFile('dropped.txt', 'left through an upload-only link\n');

const browser = await chromium.launch({
  executablePath: process.env.NETDISK_CHROMIUM || '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  timeout: WAIT,
});
const guard = setTimeout(() => {
  console.error(`the run took over ${WHOLE_RUN / 1000} s (at: ${current})`);
  process.exit(3);
}, WHOLE_RUN);

/** Problems any page may show: a script error, a CSP refusal, a dialog (alert = XSS). */
const problems = [];
async function newContext(options = {}) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 860 }, ...options });
  context.setDefaultTimeout(WAIT);
  context.setDefaultNavigationTimeout(WAIT);
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  context.on('page', watch);
  return context;
}
function watch(page) {
  page.on('dialog', (dialog) => {
    problems.push(`a ${dialog.type()} dialog fired: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (err) => problems.push(`script error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|CSP violation|Refused to/.test(msg.text())) {
      problems.push(`console: ${msg.text()}`);
    }
  });
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shotDir, `${name}.png`), fullPage: true });
}

const row = (page, name, list = '#listing') =>
  page.locator(`${list} > li`).filter({ has: page.locator('.name').getByText(name, { exact: true }) });

async function waitUploaded(page, target) {
  const status = page.locator('#transfer-list > li').filter({ has: page.locator('.filename').getByText(target, { exact: true }) }).locator('.status');
  await status.filter({ hasText: /^done/ }).waitFor();
}

/** Tab (or Shift+Tab) until the element with `id` has the focus; bounded. */
async function tabTo(page, id, shift = false) {
  for (let i = 0; i < 40; i += 1) {
    if (await page.evaluate((want) => document.activeElement?.id === want, id)) return;
    await page.keyboard.press(shift ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`#${id} not reached with Tab in 40 presses`);
}

async function download(page, link, original, what) {
  const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const at = await dl.path();
  check(at, `${what}: the download failed (${await dl.failure()})`);
  sameBytes(at, original, what);
}

let page;
try {
  const context = await newContext();
  page = await context.newPage();
  // Intercepting file choosers takes a round trip to the browser: turn it
  // on now, not in the race with the key press that opens one.
  page.on('filechooser', () => {});

  step('the login page');
  await page.goto(`${base}/`);
  await page.locator('#login-form').waitFor();
  const csp = (await page.request.get(`${base}/`)).headers()['content-security-policy'] || '';
  check(csp.includes("script-src 'self'") && !csp.includes('sandbox'), `the page's CSP: ${csp}`);
  await shot(page, '01-login');

  step('a wrong password is refused');
  await page.fill('#login-user', user);
  await page.fill('#login-password', 'not-the-password');
  await page.click('#login-submit');
  await page.locator('#login-error').filter({ hasText: 'Wrong user name or password' }).waitFor();

  step('log in');
  await page.fill('#login-password', password);
  await page.keyboard.press('Enter');
  await page.locator('#app-view').waitFor();
  check((await page.textContent('#whoami')) === user, 'the user name is shown');

  step('the session cookie is HttpOnly and SameSite=Strict; a write without the CSRF token is refused');
  const cookie = (await context.cookies(base)).find((c) => c.name === 'nd_session');
  check(cookie && cookie.httpOnly && cookie.sameSite === 'Strict' && cookie.path === '/',
    `the session cookie: ${JSON.stringify(cookie && { ...cookie, value: '(hidden)' })}`);
  check(!(await page.evaluate(() => document.cookie.includes('nd_session'))), 'a script cannot read the session cookie');
  const forged = await page.evaluate(async () => {
    const r = await fetch('/api/v1/mkdir/forged', { method: 'POST' });
    return { status: r.status, code: (await r.json()).error?.code };
  });
  check(forged.status === 403 && forged.code === 'csrf', `a POST without X-CSRF-Token: ${JSON.stringify(forged)}`);
  const session = await page.evaluate(async () => (await fetch('/api/v1/session')).json());
  check(session.user === user && typeof session.csrf === 'string' && session.csrf.length >= 16 && session.expires_in > 0,
    `GET /session: ${JSON.stringify({ ...session, csrf: typeof session.csrf })}`);
  await page.locator('#usage-text').filter({ hasText: /of 67 MB used/ }).waitFor();
  await page.locator('#empty').waitFor();

  step('keyboard: Tab to "New folder", Enter, type, Enter');
  await tabTo(page, 'mkdir-button');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check(outline !== 'none', `the focused button shows its focus (outline ${outline})`);
  await page.keyboard.press('Enter');
  await page.locator('#prompt-dialog[open]').waitFor();
  check(await page.evaluate(() => document.activeElement?.id === 'prompt-input'), 'the dialog takes the focus');
  await page.keyboard.type('docs');
  await page.keyboard.press('Enter');
  await row(page, 'docs').waitFor();
  check(await page.evaluate(() => document.activeElement?.id === 'mkdir-button'), 'focus back on the button after the dialog');

  step('an API error is shown: New folder "docs" again');
  await page.click('#mkdir-button');
  await page.fill('#prompt-input', 'docs');
  await page.click('#prompt-ok');
  await page.locator('#error').filter({ hasText: /exists/ }).waitFor();

  step('Escape closes a dialog and does nothing');
  await page.click('#mkdir-button');
  await page.locator('#prompt-dialog[open]').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('#prompt-dialog:not([open])').waitFor({ state: 'attached' });

  step('keyboard: Shift+Tab to "Upload files", Enter opens the picker; upload report.bin');
  await page.focus('#mkdir-button');
  await tabTo(page, 'upload-files-button', true);
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Enter')]);
  check(chooser.isMultiple(), 'the file picker takes several files');
  await chooser.setFiles(reportBin);
  await waitUploaded(page, 'report.bin');
  await row(page, 'report.bin').waitFor();
  const total = await page.evaluate(() => {
    const bar = document.getElementById('total-progress');
    return { value: bar.value, max: bar.max, text: document.getElementById('total-text').textContent };
  });
  check(total.value === total.max && /1 of 1 files/.test(total.text), `total progress at the end: ${JSON.stringify(total)}`);

  step('upload folders through the folder picker (webkitdirectory)');
  await page.setInputFiles('#folder-input', path.join(files, 'album'));
  await waitUploaded(page, 'album/sub/b.txt');
  await waitUploaded(page, 'album/a.jpg');
  await page.setInputFiles('#folder-input', path.join(files, 'old'));
  await waitUploaded(page, 'old/x.txt');
  await row(page, 'album').waitFor();
  await row(page, 'old').waitFor();

  step('upload several files, one named like markup');
  await page.setInputFiles('#file-input', [keep, trash, hostile]);
  await waitUploaded(page, HOSTILE);
  await waitUploaded(page, 'trash.txt');
  await row(page, HOSTILE).locator('.name').filter({ hasText: HOSTILE }).waitFor({ state: 'visible' });
  const asText = await page.evaluate((name) => {
    const names = [...document.querySelectorAll('#listing .name')];
    const node = names.find((n) => n.textContent === name);
    return { found: Boolean(node), children: node ? node.children.length : -1, imgs: document.querySelectorAll('#listing img, #transfer-list img').length };
  }, HOSTILE);
  check(asText.found && asText.children === 0 && asText.imgs === 0, `the markup-like name is plain text: ${JSON.stringify(asText)}`);
  await download(page, row(page, HOSTILE).getByRole('link', { name: `Download ${HOSTILE}` }), hostile, HOSTILE);
  await shot(page, '02-uploads-done');

  step('usage grows');
  await page.locator('#usage-text').filter({ hasText: /^(4|5|6)\d\d kB of 67 MB used$/ }).waitFor();

  step('download report.bin and compare the bytes');
  await download(page, row(page, 'report.bin').getByRole('link', { name: 'Download report.bin' }), reportBin, 'report.bin');

  step('progress: a 3 MB upload at 1.5 MB/s shows its bar part-way, then done');
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const throttle = (bytesPerSecond) => cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond,
  });
  await throttle(1.5 * MiB);
  await page.setInputFiles('#file-input', slow);
  const midway = await page.waitForFunction(() => {
    const li = document.querySelector('#transfer-list > li[data-target="slow.bin"]');
    const bar = li?.querySelector('progress');
    const total = document.getElementById('total-progress');
    if (!bar || !(bar.value > 0 && bar.value < bar.max)) return null;
    if (!(total.value > 0 && total.value < total.max)) return null;
    return { file: bar.value / bar.max, status: li.querySelector('.status').textContent, total: document.getElementById('total-text').textContent };
  }, null, { polling: 50 });
  const seen = await midway.jsonValue();
  check(/uploading|resuming/.test(seen.status), `the status while uploading: ${seen.status}`);
  console.log(`  part-way: ${(seen.file * 100).toFixed(0)} % (${seen.total})`);
  await shot(page, '03-uploading');
  await waitUploaded(page, 'slow.bin');
  await throttle(-1);

  step('an uploaded HTML page is a download, never a page of this origin');
  await page.setInputFiles('#file-input', pageHtml);
  await waitUploaded(page, 'page.html');
  await download(page, row(page, 'page.html').getByRole('link', { name: 'Download page.html' }), pageHtml, 'page.html');
  check(new URL(page.url()).pathname === '/', `still on the app after the download: ${page.url()}`);
  {
    const fileUrl = `${base}/api/v1/files/page.html`;
    // The user's cookies, but a context of its own: CSP refusals are expected here.
    const own = await browser.newContext({ acceptDownloads: true, storageState: await context.storageState() });
    own.setDefaultTimeout(WAIT);
    const ran = [];
    const tab = await own.newPage();
    tab.on('dialog', (d) => { ran.push(`a ${d.type()} dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
    // Opened directly (a link, a typed URL): Chromium saves it.
    const saved = tab.waitForEvent('download');
    await tab.goto(fileUrl).catch((err) => {
      if (!/Download is starting|net::ERR_ABORTED/.test(String(err))) throw err;
    });
    const dl = await saved;
    sameBytes(await dl.path(), pageHtml, 'page.html opened directly');
    // A browser that rendered it anyway (ignoring attachment and the type)
    // would still run nothing: the server's CSP sandboxes it.
    let headers = null;
    await tab.route(fileUrl, async (route) => {
      const real = await route.fetch();
      headers = real.headers();
      const shown = { ...headers, 'content-type': 'text/html; charset=utf-8' };
      delete shown['content-disposition'];
      await route.fulfill({ response: real, headers: shown });
    });
    await tab.goto(fileUrl);
    await tab.locator('#shown').waitFor();
    check(/^attachment;/.test(headers['content-disposition'] || '') && headers['content-type'] === 'application/octet-stream'
      && headers['x-content-type-options'] === 'nosniff' && /sandbox/.test(headers['content-security-policy'] || ''),
    `page.html's headers: ${JSON.stringify(headers)}`);
    check(await tab.title() === 'an uploaded page' && ran.length === 0, `the page's script ran: title "${await tab.title()}", ${ran.join('; ')}`);
    await shot(tab, '04-html-rendered-without-script');
    await own.close();
    // The same page without those headers does run (in a context with no
    // session, so its requests fail): the check above can fail.
    const bare = await browser.newContext();
    const control = await bare.newPage();
    const alerts = [];
    control.on('dialog', (d) => { alerts.push(d.message()); d.dismiss().catch(() => {}); });
    await control.route(`${base}/control.html`, (route) => route.fulfill({ contentType: 'text/html', body: fs.readFileSync(pageHtml) }));
    await control.goto(`${base}/control.html`);
    await control.waitForFunction(() => document.title === 'script ran', null, { timeout: WAIT });
    check(alerts.length === 1, `the control page's alert: ${alerts.join('; ')}`);
    await bare.close();
  }

  step('sort by size, largest first');
  await page.selectOption('#sort-key', 'size');
  await page.click('#sort-dir');
  await page.locator('#sort-dir[aria-label="Sort order: descending"]').waitFor();
  await page.waitForFunction(() => {
    const files = [...document.querySelectorAll('#listing > li.is-file .name')].map((n) => n.textContent);
    return files[0] === 'slow.bin' && files[1] === 'report.bin';
  });
  await page.selectOption('#sort-key', 'name');
  await page.click('#sort-dir');
  await page.waitForFunction(() => {
    const files = [...document.querySelectorAll('#listing > li.is-file .name')].map((n) => n.textContent);
    return files.length > 2 && files.join('\n') === [...files].sort().join('\n');
  });

  step('rename report.bin to report-final.bin');
  await row(page, 'report.bin').getByRole('button', { name: 'Rename report.bin' }).click();
  await page.fill('#prompt-input', 'report-final.bin');
  await page.click('#prompt-ok');
  await row(page, 'report-final.bin').waitFor();
  await row(page, 'report.bin').waitFor({ state: 'detached' });

  step('move report-final.bin into docs');
  await row(page, 'report-final.bin').getByRole('button', { name: 'Move report-final.bin' }).click();
  await page.fill('#prompt-input', 'docs');
  await page.click('#prompt-ok');
  await row(page, 'report-final.bin').waitFor({ state: 'detached' });
  await row(page, 'docs').locator('a.name').click();
  await page.locator('#breadcrumbs [aria-current="page"]').filter({ hasText: 'docs' }).waitFor();
  await row(page, 'report-final.bin').waitFor();
  await page.locator('#breadcrumbs a').filter({ hasText: 'Home' }).click();
  await row(page, 'docs').waitFor();

  step('delete: Escape keeps keep.txt; confirmed, trash.txt and the folder old go');
  await row(page, 'keep.txt').getByRole('button', { name: 'Delete keep.txt' }).click();
  await page.locator('#confirm-dialog[open]').waitFor();
  check(await page.evaluate(() => document.activeElement?.id === 'confirm-cancel'), 'Cancel has the focus in the confirmation');
  await page.keyboard.press('Escape');
  await page.locator('#confirm-dialog:not([open])').waitFor({ state: 'attached' });
  await row(page, 'trash.txt').getByRole('button', { name: 'Delete trash.txt' }).click();
  await page.click('#confirm-ok');
  await row(page, 'trash.txt').waitFor({ state: 'detached' });
  await row(page, 'old').getByRole('button', { name: 'Delete old' }).click();
  await page.locator('#confirm-text').filter({ hasText: 'everything in it' }).waitFor();
  await page.click('#confirm-ok');
  await row(page, 'old').waitFor({ state: 'detached' });
  check(await row(page, 'keep.txt').count() === 1, 'keep.txt is still listed');
  await shot(page, '05-files');

  step('tus: a large upload cut mid-way, resumed after a reload from the server\'s offset');
  const tus = await page.evaluate(async () => {
    const r = await fetch('/api/v1/tus', { method: 'OPTIONS' });
    return { status: r.status, version: r.headers.get('tus-version') };
  });
  check(tus.status === 204 && (tus.version || '').includes('1.0.0'), `OPTIONS /api/v1/tus: ${tus.status}, Tus-Version ${tus.version}`);
  let patches = 0;
  // The second PATCH never reaches the server: the connection is "cut".
  await page.route('**/api/v1/tus/*', (route) => {
    if (route.request().method() === 'PATCH' && ++patches >= 2) return route.abort('connectionreset');
    return route.continue();
  });
  const cut = page.waitForEvent('requestfailed', (r) => r.method() === 'PATCH' && r.url().includes('/api/v1/tus/'));
  await page.setInputFiles('#file-input', big);
  await cut;
  await shot(page, '06-upload-interrupted');
  await page.unroute('**/api/v1/tus/*');
  await page.reload();
  await page.locator('#app-view').waitFor();
  await page.locator('#notice').filter({ hasText: 'big.bin' }).waitFor();
  const head = page.waitForResponse((r) => r.request().method() === 'HEAD' && r.url().includes('/api/v1/tus/'));
  await page.setInputFiles('#file-input', big);
  const answer = await head;
  const offset = Number(answer.headers()['upload-offset']);
  const size = fs.statSync(big).size;
  check(answer.status() === 200 && offset > 0 && offset < size, `the resume's HEAD: ${answer.status()}, Upload-Offset ${offset} of ${size}`);
  await waitUploaded(page, 'big.bin');
  const status = await page.locator('#transfer-list > li[data-target="big.bin"] .status').textContent();
  check(/resumed at/.test(status), `the upload says it resumed: ${status}`);
  console.log(`  resumed at ${offset} of ${size} bytes`);
  report.tus = 'resumed';
  await row(page, 'big.bin').waitFor();

  step('share links: none yet');
  await page.click('#shares-button');
  await page.locator('#shares-empty').waitFor();
  await page.click('#shares-close');
  await page.locator('#shares-dialog:not([open])').waitFor({ state: 'attached' });

  step('share docs/report-final.bin for one download');
  await row(page, 'docs').locator('a.name').click();
  await row(page, 'report-final.bin').getByRole('button', { name: 'Share report-final.bin' }).click();
  await page.locator('#share-dialog[open]').waitFor();
  await page.fill('#share-max', '1');
  await page.click('#share-ok');
  await page.locator('#share-result').waitFor();
  const fileUrl = await page.inputValue('#share-url');
  check(fileUrl.startsWith(`${base}/s/`), `a share URL: ${fileUrl}`);
  await shot(page, '07-share-dialog');
  await page.click('#share-cancel');

  step('open it with no cookies and download through it');
  const stranger = await newContext();
  const them = await stranger.newPage();
  await them.goto(fileUrl);
  await them.locator('#file-name').filter({ hasText: 'report-final.bin' }).waitFor();
  await shot(them, '08-share-file');
  await download(them, them.locator('#file-download'), reportBin, 'report-final.bin through the link');
  step('its one download used, the link has expired');
  await them.reload();
  await them.locator('#gone-title').filter({ hasText: 'This link has expired' }).waitFor();

  step('share the folder album with a password');
  await page.locator('#breadcrumbs a').filter({ hasText: 'Home' }).click();
  await row(page, 'album').getByRole('button', { name: 'Share album' }).click();
  await page.fill('#share-password', 'sesame');
  await page.click('#share-ok');
  await page.locator('#share-result').waitFor();
  const albumUrl = await page.inputValue('#share-url');
  await page.click('#share-cancel');
  const other = await newContext();
  const visitor = await other.newPage();
  await visitor.goto(albumUrl);
  await visitor.locator('#unlock-form').waitFor();
  check(await visitor.locator('#dir-view').isHidden() && (await visitor.title()).startsWith('Shared with you'), 'nothing of the folder before the password');
  await shot(visitor, '09-share-password');
  await visitor.fill('#unlock-password', 'wrong');
  await visitor.click('#unlock-submit');
  await visitor.locator('#unlock-error').filter({ hasText: 'Wrong password' }).waitFor();
  await visitor.fill('#unlock-password', 'sesame');
  await visitor.click('#unlock-submit');
  await row(visitor, 'a.jpg', '#share-listing').waitFor();
  await row(visitor, 'sub', '#share-listing').locator('a.name').click();
  await row(visitor, 'b.txt', '#share-listing').waitFor();
  await shot(visitor, '10-share-folder');
  await download(visitor, row(visitor, 'b.txt', '#share-listing').getByRole('link'), path.join(files, 'album/sub/b.txt'), 'album/sub/b.txt through the link');

  step('an upload-only link to docs takes a file');
  await row(page, 'docs').getByRole('button', { name: 'Share docs' }).click();
  await page.check('#share-upload-only');
  await page.click('#share-ok');
  await page.locator('#share-result').waitFor();
  const dropUrl = await page.inputValue('#share-url');
  await page.click('#share-cancel');
  const third = await newContext();
  const sender = await third.newPage();
  await sender.goto(dropUrl);
  await sender.locator('#drop-view').waitFor();
  await sender.setInputFiles('#drop-input', dropped);
  await sender.locator('#drop-list .status').filter({ hasText: /^done$/ }).waitFor();
  await shot(sender, '11-share-drop');

  step('the list of links; revoking one makes it "not exist"');
  await page.click('#shares-button');
  for (const shared of ['~/docs/report-final.bin', '~/album', '~/docs']) {
    await page.locator('#shares-list > li').filter({ has: page.locator('.filename').getByText(shared, { exact: true }) }).waitFor();
  }
  await page.locator('#shares-list > li').filter({ hasText: '~/album' }).filter({ hasText: 'password · 1 download ·' }).waitFor();
  await shot(page, '12-share-links');
  await page.getByRole('button', { name: 'Revoke the link to ~/album', exact: true }).click();
  await page.getByRole('button', { name: 'Revoke the link to ~/album', exact: true }).waitFor({ state: 'detached' });
  await page.keyboard.press('Escape');
  await page.locator('#shares-dialog:not([open])').waitFor({ state: 'attached' });
  await visitor.reload();
  await visitor.locator('#gone-title').filter({ hasText: 'This link does not exist' }).waitFor();
  await Promise.all([stranger.close(), other.close(), third.close()]);

  step('a phone: 375 x 740, no horizontal scrolling, touch-sized controls');
  await page.setViewportSize({ width: 375, height: 740 });
  await page.goto(`${base}/#/`);
  await row(page, 'album').waitFor();
  const phone = await page.evaluate(() => {
    const small = [...document.querySelectorAll('#app-view button, #app-view a.button, #app-view select')]
      .filter((n) => n.offsetParent !== null)
      .map((n) => ({ id: n.id || n.textContent, h: n.getBoundingClientRect().height }))
      .filter((b) => b.h < 36);
    return { width: document.documentElement.scrollWidth, small };
  });
  check(phone.width <= 375, `page width at 375 px: ${phone.width}`);
  check(phone.small.length === 0, `controls under 36 px high: ${JSON.stringify(phone.small)}`);
  await shot(page, '13-phone');
  await page.click('#mkdir-button');
  await page.locator('#prompt-dialog[open]').waitFor();
  check(await page.evaluate(() => document.documentElement.scrollWidth) <= 375, 'a dialog fits the phone');
  await shot(page, '14-phone-dialog');
  await page.keyboard.press('Escape');

  step('log out; a reload stays logged out');
  await page.click('#logout-button');
  await page.locator('#login-form').waitFor();
  await page.reload();
  await page.locator('#login-form').waitFor();

  check(problems.length === 0, `problems on the pages:\n  ${problems.join('\n  ')}`);
  fs.writeFileSync(path.join(scratch, 'report.json'), JSON.stringify(report));
  console.log(`all steps passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await browser.close();
  clearTimeout(guard);
} catch (err) {
  console.error(`FAILED at "${current}": ${err.stack || err}`);
  if (problems.length) console.error(`problems on the pages:\n  ${problems.join('\n  ')}`);
  if (page) await shot(page, 'failure').catch(() => {});
  fs.writeFileSync(path.join(scratch, 'report.json'), JSON.stringify(report));
  await browser.close().catch(() => {});
  process.exit(1);
}
