// Bundles the extension (Node, CommonJS) and the answer panel's script (browser) with esbuild.
//   node scripts/build.mjs               development build into dist/
//   node scripts/build.mjs --production  minified, no source maps (what the .vsix ships)
//   node scripts/build.mjs --tests       test/*.test.ts into out-test/, `vscode` replaced by a stub
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
const tests = process.argv.includes('--tests');

if (tests) {
  const testDir = join(root, 'test');
  const entryPoints = (await readdir(testDir)).filter((f) => f.endsWith('.test.ts')).map((f) => join(testDir, f));
  await rm(join(root, 'out-test'), { recursive: true, force: true });
  await build({
    entryPoints,
    outdir: join(root, 'out-test'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    alias: { vscode: join(testDir, 'vscodeStub.ts') },
    logLevel: 'warning',
  });
} else {
  const dist = join(root, 'dist');
  await rm(dist, { recursive: true, force: true });
  const common = { bundle: true, minify: production, sourcemap: !production, logLevel: 'warning', legalComments: 'none' };
  await build({
    ...common,
    entryPoints: [join(root, 'src', 'extension.ts')],
    outfile: join(dist, 'extension.js'),
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
  });
  await build({
    ...common,
    entryPoints: [join(root, 'src', 'webview', 'main.ts')],
    outfile: join(dist, 'webview.js'),
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  });
  await mkdir(dist, { recursive: true });
  await copyFile(join(root, 'src', 'webview', 'panel.css'), join(dist, 'webview.css'));
}
