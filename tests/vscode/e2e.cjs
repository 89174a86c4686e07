// Drives code-server (a real VS Code) in headless Chromium through what a user does with the
// extension: open a training script, see the diagnostic in the Problems panel, hover it, apply
// a quick fix, ask the ML engineer (offline backend) and read the answer in the panel, open the
// dry run, and run "Review file" (offline) up to its summary notification.
// Run by scripts/vscode-e2e.sh, which provides the environment variables below.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

const BASE_URL = process.env.E2E_URL;
const WORKSPACE = process.env.E2E_WORKSPACE;
const ARTIFACTS = process.env.E2E_ARTIFACTS;
const FILE = 'train.py';
const modifier = 'Control';

let page;
let shot = 0;
const started = Date.now();

function log(message) {
  console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}

async function screenshot(name) {
  shot += 1;
  const file = path.join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${path.basename(file)}`);
}

async function step(name, body) {
  log(`step: ${name}`);
  try {
    await body();
  } catch (error) {
    log(`FAILED: ${name}: ${error && error.message ? error.message.split('\n')[0] : error}`);
    await page.screenshot({ path: path.join(ARTIFACTS, `failure-${name.replace(/\W+/g, '-')}.png`) }).catch(() => {});
    throw error;
  }
}

async function runCommand(title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
}

/** The editor's visible text (the example file fits in the viewport). */
async function editorText() {
  return page.locator('.editor-instance .view-lines').first().innerText();
}

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE_URL });
  page = await context.newPage();
  const fileUri = `vscode-remote://${new URL(BASE_URL).host}${WORKSPACE}/${FILE}`;
  const url = `${BASE_URL}/?folder=${encodeURIComponent(WORKSPACE)}&payload=${encodeURIComponent(JSON.stringify([['openFile', fileUri]]))}`;

  try {
    await step('open the workspace and the training script', async () => {
      await page.goto(url);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      await page.locator(`.tab[aria-label^="${FILE}"]`).first().waitFor({ timeout: 60_000 });
      await page.locator('.editor-instance .view-lines').first().waitFor({ timeout: 30_000 });
    });

    await step('the server starts (status bar)', async () => {
      // Status bar items get the id `<extension id>.<item id>`.
      const status = page.locator('[id$="mlEngineer.status"]').first();
      await status.waitFor({ timeout: 60_000 });
      await page.waitForFunction(
        () => {
          const item = document.querySelector('[id$="mlEngineer.status"]');
          return item && /ML Engineer: (?!starting)/.test(item.outerHTML);
        },
        null,
        { timeout: 60_000 },
      );
      const state = /ML Engineer: ([a-z ]+)/.exec(await status.evaluate((e) => e.outerHTML))[1];
      log(`status bar: ${state}`);
      if (!state.startsWith('running')) {
        throw new Error(`the server is not running: ${state}`);
      }
    });

    let problemText = '';
    await step('the Problems panel lists ml-engineer findings', async () => {
      await page.keyboard.press(`${modifier}+Shift+M`);
      const row = page.locator('.markers-panel .monaco-list-row', { hasText: /ML\d{3}/ }).first();
      await row.waitFor({ timeout: 60_000 });
      problemText = (await row.innerText()).replace(/\s+/g, ' ');
      log(`first problem: ${problemText}`);
    });

    await step('the diagnostic is underlined in the editor', async () => {
      // Selecting the row in the Problems panel reveals the finding in the editor.
      await page.locator('.markers-panel .monaco-list-row', { hasText: /ML\d{3}/ }).first().click();
      await page.keyboard.press('Enter');
      await page.locator('.squiggly-warning, .squiggly-error, .squiggly-info').first().waitFor({ timeout: 30_000 });
      await screenshot('diagnostic-and-problems-panel');
    });

    await step('hovering the diagnostic explains it', async () => {
      const squiggle = page.locator('.squiggly-warning, .squiggly-error, .squiggly-info').first();
      const box = await squiggle.boundingBox();
      await page.mouse.move(box.x + Math.min(8, box.width / 2), box.y + box.height / 2);
      const hover = page.locator('.monaco-hover:not(.hidden)', { hasText: /ML\d{3}/ }).first();
      await hover.waitFor({ timeout: 20_000 });
      log(`hover: ${(await hover.innerText()).replace(/\s+/g, ' ').slice(0, 160)}`);
      await screenshot('hover');
      await page.keyboard.press('Escape');
    });

    await step('a quick fix changes the code', async () => {
      const before = await editorText();
      // Put the cursor on a finding that has a fix: go through the Problems panel rows until
      // the code action menu offers something other than asking or suppressing.
      const rows = page.locator('.markers-panel .monaco-list-row', { hasText: /ML\d{3}/ });
      const count = await rows.count();
      let applied = false;
      for (let i = 0; i < count && !applied; i++) {
        await rows.nth(i).click();
        await page.keyboard.press('Enter');
        await page.waitForTimeout(300);
        for (let attempt = 0; attempt < 3 && !applied; attempt++) {
          await page.keyboard.press(`${modifier}+.`);
          const menu = page.locator('.action-widget:visible').first();
          try {
            await menu.waitFor({ state: 'visible', timeout: 5_000 });
          } catch {
            continue;
          }
          log(`code actions offered: ${(await menu.innerText()).replace(/\s+/g, ' ')}`);
          log(`rows: ${await menu.locator('.monaco-list-row').evaluateAll((rows) => rows.map((r) => r.className).join(' | '))}`);
          const fix = menu.locator('.monaco-list-row.action', { hasNotText: /ask|noqa|suppress|disable|explain/i }).first();
          if ((await fix.count()) === 0) {
            await page.keyboard.press('Escape');
            break;
          }
          log(`quick fix: ${(await fix.innerText()).replace(/\s+/g, ' ')}`);
          await screenshot('quick-fix-menu');
          await fix.click();
          applied = true;
        }
      }
      if (!applied) {
        throw new Error('no finding offered a quick fix');
      }
      await page.waitForFunction(
        (old) => {
          const lines = document.querySelector('.editor-instance .view-lines');
          return lines && lines.innerText !== old;
        },
        before,
        { timeout: 15_000 },
      );
      await screenshot('after-quick-fix');
    });

    await step('Ask about selection answers in the panel (offline backend)', async () => {
      // Ask about the training loop: put the cursor on `loss.backward()` and select its line.
      await page.keyboard.press('Escape');
      const lines = fs.readFileSync(path.join(WORKSPACE, FILE), 'utf8').split('\n');
      const line = lines.findIndex((l) => l.includes('loss.backward()')) + 1;
      await page.locator('.editor-instance .view-lines').first().click();
      await page.keyboard.press(`${modifier}+G`);
      await page.locator('.quick-input-widget input').waitFor({ state: 'visible', timeout: 10_000 });
      await page.keyboard.type(String(line));
      await page.keyboard.press('Enter');
      await page.keyboard.press('Home');
      await page.keyboard.press('Shift+End');
      await runCommand('ML Engineer: Ask about selection');
      const input = page.locator('.quick-input-widget input');
      await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Ask ML engineer' }).waitFor({ timeout: 10_000 });
      await page.waitForFunction(() => document.querySelector('.quick-input-widget input')?.value.length > 0, null, { timeout: 5_000 });
      log(`default question: ${await input.inputValue()}`);
      await screenshot('ask-input');
      await page.keyboard.press('Enter');
      const panel = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
      const done = panel.locator('.exchange[data-status="done"] .answer');
      await done.first().waitFor({ timeout: 60_000 });
      const answer = (await done.first().innerText()).trim();
      if (answer.length < 20) {
        throw new Error(`the answer is too short: ${JSON.stringify(answer)}`);
      }
      log(`answer (${answer.length} chars): ${answer.replace(/\s+/g, ' ').slice(0, 200)}`);
      log(`meta: ${(await panel.locator('.exchange .meta').first().innerText()).trim()}`);
      await screenshot('answer-panel');
    });

    await step('the server\'s "Ask ML engineer" code action answers in the same panel', async () => {
      await page.locator('.markers-panel .monaco-list-row', { hasText: /ML\d{3}/ }).first().click();
      await page.keyboard.press('Enter');
      await page.waitForTimeout(300);
      await page.keyboard.press(`${modifier}+.`);
      const menu = page.locator('.action-widget:visible').first();
      await menu.waitFor({ timeout: 10_000 });
      await menu.locator('.monaco-list-row.action', { hasText: /Ask ML engineer about/ }).first().click();
      const panel = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
      await page.waitForFunction(() => true);
      await panel.locator('.exchange[data-status="done"]').nth(1).waitFor({ timeout: 60_000 });
      const question = (await panel.locator('.exchange .question').nth(1).innerText()).trim();
      log(`code action question: ${question}`);
      await panel.locator('.exchange').nth(1).scrollIntoViewIfNeeded();
      await screenshot('answer-from-code-action');
    });

    await step('"Show what would be sent" opens the dry run', async () => {
      await page.locator('.editor-instance .view-lines').first().click();
      await runCommand('ML Engineer: Show what would be sent');
      await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Show what would be sent' }).waitFor({ timeout: 10_000 });
      await page.keyboard.press('Enter');
      const tab = page.locator('.tab', { hasText: /What would be sent/ }).first();
      await tab.waitFor({ timeout: 30_000 });
      const text = await page.locator('.editor-group-container.active .view-lines').first().innerText();
      if (text.trim().length < 20) {
        throw new Error(`the preview is empty: ${JSON.stringify(text)}`);
      }
      log(`preview starts: ${text.replace(/\s+/g, ' ').slice(0, 160)}`);
      await screenshot('dry-run-preview');
    });

    await step('"Review file" reports an offline review in a notification', async () => {
      // Back to the training script: the review commands are offered in Python editors only.
      await page.locator(`.tab[aria-label^="${FILE}"]`).first().click();
      await page.locator('.editor-instance .view-lines').first().click();
      await runCommand('ML Engineer: Review file with the ML engineer');
      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: /offline review of train\.py/ }).first();
      await toast.waitFor({ timeout: 60_000 });
      const message = (await toast.innerText()).replace(/\s+/g, ' ').trim();
      log(`review summary: ${message}`);
      if (!/\d+ rule findings? explained; nothing was sent/.test(message)) {
        throw new Error(`unexpected review summary: ${JSON.stringify(message)}`);
      }
      // The progress notification closes as the summary fades in; screenshot once both are done.
      await page
        .locator('.notifications-toasts .notification-toast', { hasText: /reviewing train\.py/ })
        .waitFor({ state: 'detached', timeout: 10_000 })
        .catch(() => log('the progress notification is still shown'));
      await page.waitForTimeout(600);
      await screenshot('review-offline');
    });
  } finally {
    await browser.close();
  }
}

main().then(
  () => {
    log('PASS');
    process.exit(0);
  },
  () => {
    log('FAIL');
    process.exit(1);
  },
);
