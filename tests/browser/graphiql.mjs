// Loads the gateway's GraphiQL in headless Chromium (Debian's /usr/bin/chromium) with no
// network beyond the gateway on loopback, runs the query in its editor with the run button,
// and prints what it saw as JSON, for tests/ops/test_ops_graphiql_browser.py.
//
//   node graphiql.mjs <the gateway's /graphql URL> <a fresh user data dir> [screenshot.png]
import { chromium } from 'playwright-core';

const [url, userDataDir, screenshot] = process.argv.slice(2);
const origin = new URL(url).origin;
const TIMEOUT = 30_000;

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    // No name resolves: nothing but an address literal (the gateway's) can be reached.
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  ],
});
const seen = { rendered: false, editors: [], response: null, offLoopback: [], pageErrors: [] };
try {
  // Every request the page makes goes through here: the gateway's pass, the rest are
  // recorded and refused, as on a machine without internet.
  await context.route('**/*', (route) => {
    const requested = route.request().url();
    if (requested.startsWith(`${origin}/`)) return route.continue();
    seen.offLoopback.push(requested);
    return route.abort('internetdisconnected');
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (error) => seen.pageErrors.push(String(error)));
  // strawberry's page reads its query from ?q= with decodeURIComponent (no '+' for space).
  await page.goto(`${url}?q=${encodeURIComponent('{ sites { id } }')}`);
  try {
    await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: TIMEOUT });
    seen.rendered = true;
  } catch {
    seen.body = (await page.textContent('body')).slice(0, 500);
  }
  if (seen.rendered) {
    const editors = () => [...document.querySelectorAll('.CodeMirror')]
      .map((element) => element.CodeMirror.getValue());
    seen.editors = await page.evaluate(editors);
    await page.click('.graphiql-execute-button');
    await page.waitForFunction(() => {
      const result = document.querySelector('.graphiql-response .CodeMirror');
      return result && result.CodeMirror.getValue().trim().length > 0;
    }, null, { timeout: TIMEOUT });
    seen.response = await page.evaluate(
      () => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue());
  }
  if (screenshot) await page.screenshot({ path: screenshot });
} finally {
  await context.close();
}
console.log(JSON.stringify(seen));
