#!/usr/bin/env node
// Reference activations of the ORIGINAL nsfwjs MobileNetV2, computed by TensorFlow.js, for the
// exact-port test test/integration/test_backbone.c. Run once by hand; its output is committed.
//
//   cd models && npm ci && node make_backbone_reference.mjs [--images DIR]
//
// Inputs are real photographs from Debian's opencv-doc package (baboon.jpg, fruits.jpg in
// usr/share/doc/opencv-doc/examples/data). With --images DIR (that folder, e.g. after
// `apt-get download opencv-doc && dpkg -x opencv-doc_*.deb x`) the script first decodes them with
//     ffmpeg -i DIR/NAME.jpg -vf scale=224:224:flags=bicubic -frames:v 1 -f rawvideo -pix_fmt rgb24
// into test/data/backbone_ref/NAME.rgb (224 x 224 x 3 bytes, row-major RGB); without it the
// committed .rgb files are used as they are.
//
// The model is loaded the way nsfwjs' documented "browserify" path does it (its model.min.js and
// group1-shard1of1.min.js bundles set globals that nsfwjs.load() picks up), and every activation
// comes from nsfwjs' own NSFWJS.infer(image, endpoint): its preprocessing (toFloat().div(255)) and
// its sub-model cut at a named Keras layer. TensorFlow.js runs on its pure-JS CPU backend.
//
// Output: test/data/backbone_ref/activations.txt, one record per line,
//     IMAGE LAYER KIND Y X C VALUE
// KIND "shape": Y X C are the layer's height, width and channels (VALUE 0);
// KIND "absmax": the largest |activation| of the layer (Y X C = -1), the scale of tolerances;
// KIND "mean":   the mean over all positions of channel C (Y X = -1), for every channel;
// KIND "at":     the activation at row Y, column X, channel C, at the four corners, the centre
//                and two inner points (the corners catch padding mistakes), for a spread of
//                channels.
// Values are printed with 9 significant digits (float32 round-trips exactly).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

import * as tf from '@tensorflow/tfjs';
import * as nsfwjs from 'nsfwjs';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT_DIR = path.join(HERE, '..', 'test', 'data', 'backbone_ref');
const SIZE = 224;
const IMAGES = ['baboon', 'fruits'];
// Layers compared: the stem, both kinds of stride-2 padding, residual adds, the two layers the
// frame feature pools, and the last one.
const LAYERS = [
    'Conv1_relu', 'expanded_conv_project_BN', 'block_1_depthwise_relu', 'block_2_add',
    'block_6_depthwise_BN', 'block_12_add', 'block_13_expand_relu', 'block_13_depthwise_relu',
    'block_16_project_BN', 'out_relu',
];

function parseArgs(argv) {
    const args = { images: null };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === '--images' && i + 1 < argv.length) {
            args.images = argv[++i];
        } else {
            throw new Error(`unknown argument '${argv[i]}'`);
        }
    }
    return args;
}

function decodeImages(dir) {
    for (const name of IMAGES) {
        const rgb = execFileSync('ffmpeg', ['-v', 'error', '-i', path.join(dir, `${name}.jpg`),
            '-vf', `scale=${SIZE}:${SIZE}:flags=bicubic`, '-frames:v', '1', '-f', 'rawvideo',
            '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 24 });
        if (rgb.length !== SIZE * SIZE * 3) throw new Error(`${name}: ${rgb.length} bytes`);
        fs.writeFileSync(path.join(OUT_DIR, `${name}.rgb`), rgb);
    }
}

// The bundles are UMD modules; evaluated without a module system they would set window.model
// and window.group1_shard1of1. Do the same on globalThis, which nsfwjs reads.
function installBundles() {
    const pkg = path.dirname(path.dirname(fileURLToPath(import.meta.resolve('nsfwjs'))));
    const dir = path.join(pkg, 'models', 'mobilenet_v2');
    for (const [file, global] of [['model.min.js', 'model'],
        ['group1-shard1of1.min.js', 'group1_shard1of1']]) {
        const sandbox = { module: { exports: {} } };
        sandbox.exports = sandbox.module.exports;
        vm.createContext(sandbox);
        vm.runInContext(fs.readFileSync(path.join(dir, file), 'utf8'), sandbox);
        // Copy into this realm: tfjs checks `instanceof Array`, which fails for the sandbox's.
        globalThis[global] = JSON.parse(JSON.stringify(sandbox.module.exports));
    }
}

function fmt(v) {
    return Number(v.toPrecision(9)).toString();
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    fs.mkdirSync(OUT_DIR, { recursive: true });
    if (args.images) decodeImages(args.images);

    await tf.setBackend('cpu');
    installBundles();
    const model = await nsfwjs.load('MobileNetV2', { modelDefinitions: [MobileNetV2Model] });

    const lines = [];
    for (const name of IMAGES) {
        const rgb = fs.readFileSync(path.join(OUT_DIR, `${name}.rgb`));
        if (rgb.length !== SIZE * SIZE * 3) throw new Error(`${name}.rgb: ${rgb.length} bytes`);
        const img = tf.tensor3d(new Int32Array(rgb), [SIZE, SIZE, 3], 'int32');
        for (const layer of LAYERS) {
            const act = model.infer(img, layer);
            const [, H, W, C] = act.shape;
            const a = act.dataSync();
            act.dispose();
            lines.push(`${name} ${layer} shape ${H} ${W} ${C} 0`);
            let absmax = 0;
            for (const v of a) absmax = Math.max(absmax, Math.abs(v));
            lines.push(`${name} ${layer} absmax -1 -1 -1 ${fmt(absmax)}`);
            const mean = new Float64Array(C);
            for (let i = 0; i < a.length; i++) mean[i % C] += a[i];
            for (let c = 0; c < C; c++) {
                lines.push(`${name} ${layer} mean -1 -1 ${c} ${fmt(mean[c] / (H * W))}`);
            }
            const points = [[0, 0], [0, W - 1], [H - 1, 0], [H - 1, W - 1],
                [H >> 1, W >> 1], [1, 2], [H - 2, W - 3]];
            const chans = [...new Set([0, 1, 2, 3, C >> 2, C >> 1, (3 * C) >> 2, C - 1])];
            for (const [y, x] of points) {
                for (const c of chans) {
                    lines.push(`${name} ${layer} at ${y} ${x} ${c} ${fmt(a[(y * W + x) * C + c])}`);
                }
            }
            process.stderr.write(`${name} ${layer} ${H}x${W}x${C} absmax ${fmt(absmax)}\n`);
        }
        // The classifier's output too, for the record (the port stops at out_relu).
        const probs = model.infer(img);
        process.stderr.write(`${name} classifier output ${Array.from(probs.dataSync())}\n`);
        probs.dispose();
        img.dispose();
    }
    const header = '# IMAGE LAYER KIND Y X C VALUE; made by models/make_backbone_reference.mjs ' +
        `(nsfwjs 4.3.0 MobileNetV2 run by @tensorflow/tfjs ${tf.version.tfjs}, backend ` +
        `${tf.getBackend()})\n`;
    fs.writeFileSync(path.join(OUT_DIR, 'activations.txt'), header + lines.join('\n') + '\n');
    process.stderr.write(`wrote ${lines.length} records to ${OUT_DIR}/activations.txt\n`);
}

main().catch((e) => {
    process.stderr.write(`make_backbone_reference: ${e.stack || e}\n`);
    process.exit(1);
});
