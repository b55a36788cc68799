'use strict';
// The name of this process's platform as the prebuilt libraries are filed:
// os-arch, and on Linux the C library too (gnu or musl), e.g. linux-x64-gnu.
// `make dist` names the folder prebuilds/<key>/ with it; lib/native.js looks
// there. No dependencies, so the build can ask it without koffi.

function platformKey() {
  let key = `${process.platform}-${process.arch}`;
  if (process.platform === 'linux') {
    // The report names the glibc the process runs on; a musl process has none.
    const header = typeof process.report?.getReport === 'function' ? process.report.getReport().header : null;
    key += header?.glibcVersionRuntime ? '-gnu' : '-musl';
  }
  return key;
}

module.exports = { platformKey };

if (require.main === module) console.log(platformKey());
