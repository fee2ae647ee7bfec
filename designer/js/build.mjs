// Makes the JavaScript and CSS the web app serves, into designer/assets/
// (vendor/ and js/), from the exact versions in package-lock.json. The output
// is committed, so a user's `cargo run` needs no node; CI runs this again and
// compares (designer/js/check.sh). Deterministic: esbuild, fixed inputs, no
// timestamps.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const assets = join(here, '..', 'assets');
const vendor = join(assets, 'vendor');
const js = join(assets, 'js');
for (const d of [vendor, js]) {
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
}
const pkg = (p) => join(here, 'node_modules', p);

// The modeler as its authors built it (bpmn-js + the Camunda 7 properties
// panel): a global `BpmnModeler`. Its licence asks for the bpmn.io watermark,
// which the modeler draws itself.
copyFileSync(pkg('camunda-bpmn-js/dist/camunda-platform-modeler.production.min.js'), join(vendor, 'camunda-platform-modeler.js'));
copyFileSync(pkg('camunda-bpmn-js/LICENSE'), join(vendor, 'camunda-bpmn-js.LICENSE.txt'));

const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning', target: 'es2020' };
// Its stylesheets, @imports and the embedded BPMN font (woff, as a data URL
// in bpmn-embedded.css) in one file; the old-browser font fallbacks are left out.
const fallback = { '.eot': 'empty', '.svg': 'empty', '.ttf': 'empty', '.woff': 'empty' };
await build({ ...common, loader: fallback, entryPoints: [pkg('camunda-bpmn-js/dist/assets/camunda-platform-modeler.css')], outfile: join(vendor, 'camunda-platform-modeler.css') });
// bpmnlint's overlays and panel (bpmn-js-bpmnlint), used by our modeler facade.
await build({ ...common, entryPoints: [pkg('bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css')], outfile: join(vendor, 'bpmn-js-bpmnlint.css') });
// Our facades: one global each, bound from Rust in designer/src/widgets/.
await build({ ...common, entryPoints: [join(here, 'src/modeler.js')], format: 'iife', globalName: 'MillraceModeler', outfile: join(js, 'modeler.js') });
// The form-js editor with a live preview (the designer) and the form-js
// viewer alone (a task's form); one preact in each (package.json's override).
await build({ ...common, entryPoints: [join(here, 'src/form-editor.js')], format: 'iife', globalName: 'MillraceFormEditor', outfile: join(js, 'form-editor.js') });
await build({ ...common, entryPoints: [join(here, 'src/form-viewer.js')], format: 'iife', globalName: 'MillraceFormViewer', outfile: join(js, 'form-viewer.js') });
// Their stylesheets: the viewer's (with flatpickr's, for date fields), and the
// editor's with its properties panel and drag and drop.
await build({ ...common, entryPoints: [join(here, 'src/form-viewer.css')], outfile: join(vendor, 'form-js.css') });
await build({ ...common, entryPoints: [join(here, 'src/form-editor.css')], outfile: join(vendor, 'form-js-editor.css') });
// Token simulation's stylesheet (the module itself is in our modeler facade).
await build({ ...common, loader: fallback, entryPoints: [pkg('bpmn-js-token-simulation/assets/css/bpmn-js-token-simulation.css')], outfile: join(vendor, 'bpmn-js-token-simulation.css') });
// bpmn-js's navigated viewer, for an instance's diagram on the operations pages.
await build({ ...common, entryPoints: [join(here, 'src/viewer.js')], format: 'iife', globalName: 'MillraceViewer', outfile: join(js, 'viewer.js') });
// CodeMirror 6 with a Rhai mode, for conditions and scripts.
await build({ ...common, entryPoints: [join(here, 'src/code-editor.js')], format: 'iife', globalName: 'MillraceCodeEditor', outfile: join(js, 'code-editor.js') });
