'use strict';
// How the installed package finds its library: the prebuilt one under
// prebuilds/<platform>/ when it is there, and an error that names the
// platform and what the package carries when none fits.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { platformKey } = require('../lib/platform');

const PKG = path.resolve(__dirname, '..');
const LIB = path.join(PKG, 'libwsclient.so');

/** A copy of the package as npm installs it, in a project outside the checkout. */
function installedCopy(t, prebuilds) {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'wsclient-loader-'));
  t.after(() => fs.rmSync(project, { recursive: true, force: true }));
  const dest = path.join(project, 'node_modules', 'libwsclient');
  fs.mkdirSync(dest, { recursive: true });
  for (const f of ['package.json', 'index.js', 'index.mjs', 'index.d.ts']) fs.copyFileSync(path.join(PKG, f), path.join(dest, f));
  fs.cpSync(path.join(PKG, 'lib'), path.join(dest, 'lib'), { recursive: true });
  fs.symlinkSync(path.join(PKG, 'node_modules', 'koffi'), path.join(project, 'node_modules', 'koffi'));
  for (const key of prebuilds) {
    fs.mkdirSync(path.join(dest, 'prebuilds', key), { recursive: true });
    fs.copyFileSync(LIB, path.join(dest, 'prebuilds', key, 'libwsclient.so'));
  }
  return project;
}

function run(project, script, preload) {
  const env = { ...process.env };
  delete env.WSCLIENT_LIBRARY;
  const args = preload ? ['-e', `${preload};\n${script}`] : ['-e', script];
  return spawnSync(process.execPath, args, { cwd: project, env, encoding: 'utf8', timeout: 60000 });
}

const LOADED = `
  const { WebSocket } = require('libwsclient');
  const maps = require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n');
  console.log(maps.find((l) => l.endsWith('libwsclient.so')).split(/\\s+/).pop());
`;

test('the installed package loads the library of its platform from prebuilds/', (t) => {
  const key = platformKey();
  assert.match(key, /^[a-z0-9]+-[a-z0-9]+(-gnu|-musl)?$/);
  const project = installedCopy(t, ['linux-riscv64-gnu', key]);
  const r = run(project, LOADED);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stdout.trim(), path.join(fs.realpathSync(project), 'node_modules', 'libwsclient', 'prebuilds', key, 'libwsclient.so'));
});

test('on a platform it has no library for, loading names the platform and what the package carries', (t) => {
  const project = installedCopy(t, [platformKey()]);
  // The same package on another CPU.
  const r = run(project, "require('libwsclient')", "Object.defineProperty(process, 'arch', { value: 'riscv64' })");
  assert.notStrictEqual(r.status, 0);
  const wanted = platformKey().replace(process.arch, 'riscv64');
  assert.match(r.stderr, new RegExp(`no prebuilt library for this platform \\(${wanted}\\)`));
  assert.match(r.stderr, new RegExp(`this package carries: ${platformKey()}`));
  assert.match(r.stderr, /WSCLIENT_LIBRARY/);
});
