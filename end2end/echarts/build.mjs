// Builds the ECharts Paydeck serves: `node echarts/build.mjs OUT` bundles `paydeck.js` (only
// what the charts use) from the npm package with esbuild and minifies it with terser, which
// packs this code about 4 % smaller than esbuild's own minifier. Offline: both run from
// node_modules. `make bench-ui` prints the size the browser downloads.
import { writeFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { minify } from 'terser';

const out = process.argv[2];
if (!out) {
  console.error('usage: node echarts/build.mjs OUT.js');
  process.exit(2);
}
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const version = JSON.parse(readFileSync(here('../node_modules/echarts/package.json'), 'utf8')).version;

const bundled = await build({
  entryPoints: [here('paydeck.js')],
  bundle: true,
  format: 'iife',
  target: 'es2020',
  write: false,
  legalComments: 'none',
  // ECharts' development-only checks and warnings go.
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
const minified = await minify(bundled.outputFiles[0].text, {
  ecma: 2020,
  compress: { passes: 2 },
  mangle: true,
  format: {
    preamble:
      `/*! Apache ECharts ${version} (line, bar; grid, axis pointer, tooltip, legend, mark line, ` +
      'data zoom; canvas) | Apache License 2.0 | includes ZRender, BSD 3-Clause */',
  },
});
writeFileSync(out, minified.code);
console.log(`ECharts ${version} for Paydeck: ${(minified.code.length / 1024).toFixed(1)} KiB -> ${out}`);
