'use strict';
// index.d.ts under `strict`, with and without lib.dom: browser code and
// ws-style code type-check against it, and with lib.dom so does
// `globalThis.WebSocket = WebSocket`.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const PKG = path.resolve(__dirname, '..');
const TYPES = path.join(__dirname, 'types');

let tsc = null;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  tsc = null;
}
const needTsc = tsc ? {} : { skip: 'typescript is not installed (npm ci installs it)' };

function compile(t, lib, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsclient-tsc-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: 'es2022',
      module: 'commonjs',
      moduleResolution: 'node',
      lib,
      types: ['node'],
      typeRoots: [path.join(PKG, 'node_modules', '@types')],
      baseUrl: dir,
      paths: { libwsclient: [path.join(PKG, 'index.d.ts')] },
      skipLibCheck: false,
    },
    files: files.map((f) => path.join(TYPES, f)),
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
  return spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', timeout: 120000 });
}

test('index.d.ts compiles under strict without lib.dom', needTsc, (t) => {
  const r = compile(t, ['es2022'], ['browser.ts']);
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);
});

test('index.d.ts compiles under strict with lib.dom, and globalThis.WebSocket = WebSocket type-checks', needTsc, (t) => {
  const r = compile(t, ['es2022', 'dom'], ['browser.ts', 'global.ts']);
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);
});

test('a type error is reported (the check can fail)', needTsc, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsclient-bad-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bad = path.join(TYPES, 'bad.ts.txt');
  const file = path.join(dir, 'bad.ts');
  fs.copyFileSync(bad, file);
  const r = compile(t, ['es2022'], [path.relative(TYPES, file)]);
  assert.notStrictEqual(r.status, 0);
  assert.match(r.stdout, /binaryType|nodebuffer/);
});
