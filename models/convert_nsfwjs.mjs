#!/usr/bin/env node
// Convert the MobileNetV2 of the npm package nsfwjs (MIT) into libvinfringe's backbone-only model
// file, models/mobilenet_v2.vimodel, in the container format of docs/file-formats.md.
//
//   node models/convert_nsfwjs.mjs [--nsfwjs DIR] [--out FILE]
//
// DIR is an unpacked nsfwjs package (the folder holding package.json and dist/). Without it the
// script runs `npm pack nsfwjs@4.3.0` in a temporary folder and unpacks the tarball there.
//
// What it does:
// - loads dist/models/mobilenet_v2/model.min.js (the Keras topology and the weights manifest, a
//   browserify/UMD module) and group1-shard1of1.min.js (the weight bytes as one base64 string)
//   in an empty vm context, so no code from the package can reach this process;
// - checks that the topology is exactly the MobileNetV2 (alpha 1.0, 224x224x3) that
//   lib/shim/torch_shim.cpp hard-codes: every convolution's kernel, stride, padding and width,
//   the asymmetric ZeroPadding2D before each stride-2 convolution, BatchNormalization epsilon,
//   ReLU6 and the residual additions. Any difference stops the conversion;
// - writes every weight of the feature extractor (everything up to "out_relu") under its Keras
//   name ("Conv1/kernel", "bn_Conv1/gamma", "block_13_depthwise/depthwise_kernel", ...) in Keras
//   layout, keeping the published uint8 quantisation (dtype 2, value = q * scale + min) byte for
//   byte. The classifier ("dense_1".."dense_3") is dropped; no "dmi.*" entry is written (the
//   embedding head is added by another tool).
//
// Only Node's standard library is used (zlib.crc32 needs Node >= 20.15).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import zlib from 'node:zlib';

const NSFWJS_VERSION = '4.3.0';
const INPUT_SIZE = 224;
const HERE = path.dirname(fileURLToPath(import.meta.url));

function die(msg) {
    process.stderr.write(`convert_nsfwjs: ${msg}\n`);
    process.exit(1);
}

function parseArgs(argv) {
    const args = { nsfwjs: null, out: path.join(HERE, 'mobilenet_v2.vimodel') };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if ((a === '--nsfwjs' || a === '--out') && i + 1 < argv.length) {
            args[a.slice(2)] = argv[++i];
        } else if (a === '-h' || a === '--help') {
            process.stdout.write('usage: node convert_nsfwjs.mjs [--nsfwjs DIR] [--out FILE]\n');
            process.exit(0);
        } else {
            die(`unknown argument '${a}' (try --help)`);
        }
    }
    return args;
}

// `npm pack` the pinned nsfwjs into a temporary folder and unpack it; returns the package folder.
function fetchNsfwjs() {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vi-nsfwjs-'));
    const out = execFileSync('npm', ['pack', `nsfwjs@${NSFWJS_VERSION}`, '--silent'], {
        cwd: tmp,
        encoding: 'utf8',
    });
    const tgz = out.trim().split('\n').pop();
    execFileSync('tar', ['-xzf', tgz], { cwd: tmp });
    process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
    return path.join(tmp, 'package');
}

// Evaluate a UMD bundle in an empty context with a CommonJS-looking `module`, and return what it
// exports. The context has no require, process or file system.
function loadUmd(file) {
    const sandbox = { module: { exports: {} } };
    sandbox.exports = sandbox.module.exports;
    vm.createContext(sandbox);
    vm.runInContext(fs.readFileSync(file, 'utf8'), sandbox, { filename: file, timeout: 60000 });
    return sandbox.module.exports;
}

// ---------------------------------------------------------------------------------------------
// The architecture the shim implements, layer by layer, as Keras names it.
// Inverted-residual settings (expansion t, output channels c, repeats n, first stride s).
const MNV2_SETTINGS = [
    [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
    [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

function expectedLayers() {
    const L = [];
    const conv = (name, input, k, s, pad, filters) =>
        L.push({ name, cls: 'Conv2D', input, k, s, pad, filters });
    const dw = (name, input, s, pad) =>
        L.push({ name, cls: 'DepthwiseConv2D', input, k: 3, s, pad });
    const bn = (name, input) => L.push({ name, cls: 'BatchNormalization', input });
    const relu = (name, input) => L.push({ name, cls: 'ReLU', input });
    const zpad = (name, input) => L.push({ name, cls: 'ZeroPadding2D', input });
    const add = (name, a, b) => L.push({ name, cls: 'Add', input: `${a}+${b}` });

    L.push({ name: 'input_1', cls: 'InputLayer', input: '' });
    zpad('Conv1_pad', 'input_1');
    conv('Conv1', 'Conv1_pad', 3, 2, 'valid', 32);
    bn('bn_Conv1', 'Conv1');
    relu('Conv1_relu', 'bn_Conv1');
    let x = 'Conv1_relu';
    let cin = 32;
    let block = 0;
    for (const [t, c, n, s0] of MNV2_SETTINGS) {
        for (let i = 0; i < n; i++) {
            const s = i === 0 ? s0 : 1;
            const p = block === 0 ? 'expanded_conv_' : `block_${block}_`;
            const input = x;
            let h = x;
            if (t !== 1) {
                conv(`${p}expand`, h, 1, 1, 'same', cin * t);
                bn(`${p}expand_BN`, `${p}expand`);
                relu(`${p}expand_relu`, `${p}expand_BN`);
                h = `${p}expand_relu`;
            }
            if (s === 2) {
                zpad(`${p}pad`, h);
                dw(`${p}depthwise`, `${p}pad`, 2, 'valid');
            } else {
                dw(`${p}depthwise`, h, 1, 'same');
            }
            bn(`${p}depthwise_BN`, `${p}depthwise`);
            relu(`${p}depthwise_relu`, `${p}depthwise_BN`);
            conv(`${p}project`, `${p}depthwise_relu`, 1, 1, 'same', c);
            bn(`${p}project_BN`, `${p}project`);
            x = `${p}project_BN`;
            if (s === 1 && cin === c) {
                add(`block_${block}_add`, input, x);
                x = `block_${block}_add`;
            }
            cin = c;
            block++;
        }
    }
    conv('Conv_1', x, 1, 1, 'valid', 1280);
    bn('Conv_1_bn', 'Conv_1');
    relu('out_relu', 'Conv_1_bn');
    return L;
}

function checkTopology(topology) {
    const cfg = topology?.model_config?.config;
    if (!cfg || !Array.isArray(cfg.layers)) die('model.min.js: no model_config.config.layers');
    const byName = new Map(cfg.layers.map((l) => [l.name, l]));
    const expected = expectedLayers();
    for (let i = 0; i < expected.length; i++) {
        const e = expected[i];
        const l = cfg.layers[i];
        const where = `layer ${i} (expected '${e.name}', ${e.cls})`;
        if (!l || l.name !== e.name || l.class_name !== e.cls) {
            die(`${where}: found '${l?.name}' (${l?.class_name})`);
        }
        const c = l.config;
        const inputs = (l.inbound_nodes[0] || []).map((n) => n[0]).join('+');
        if (l.inbound_nodes.length > 1 || inputs !== e.input) {
            die(`${where}: inputs '${inputs}', expected '${e.input}'`);
        }
        const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
        if (e.cls === 'InputLayer' &&
            !same(c.batch_input_shape, [null, INPUT_SIZE, INPUT_SIZE, 3])) {
            die(`${where}: input shape ${JSON.stringify(c.batch_input_shape)}`);
        }
        if (e.cls === 'ZeroPadding2D' && !same(c.padding, [[0, 1], [0, 1]])) {
            die(`${where}: padding ${JSON.stringify(c.padding)}, expected [[0,1],[0,1]]`);
        }
        if (e.cls === 'Conv2D' || e.cls === 'DepthwiseConv2D') {
            const ok = same(c.kernel_size, [e.k, e.k]) && same(c.strides, [e.s, e.s]) &&
                c.padding === e.pad && same(c.dilation_rate, [1, 1]) && c.use_bias === false &&
                c.activation === 'linear' && c.data_format === 'channels_last' &&
                (e.cls === 'Conv2D' ? c.filters === e.filters : c.depth_multiplier === 1);
            if (!ok) die(`${where}: unexpected config ${JSON.stringify(c)}`);
        }
        if (e.cls === 'BatchNormalization' &&
            !(c.epsilon === 0.001 && c.center && c.scale && (c.axis === -1 || c.axis === 3))) {
            die(`${where}: unexpected config ${JSON.stringify(c)}`);
        }
        if (e.cls === 'ReLU' && !(c.max_value === 6 && !c.negative_slope && !c.threshold)) {
            die(`${where}: not ReLU6: ${JSON.stringify(c)}`);
        }
    }
    if (!byName.has('out_relu')) die('model.min.js: no layer out_relu');
    return new Set(expected.map((e) => e.name));
}

// ---------------------------------------------------------------------------------------------
// Container writer (docs/file-formats.md, version 1).

class Payload {
    constructor() {
        this.parts = [];
        this.count = 0;
        this.keys = new Set();
    }

    key(k, type) {
        const kb = Buffer.from(k, 'utf8');
        if (kb.length < 1 || kb.length > 255) die(`key '${k}': length must be 1..255 bytes`);
        if (this.keys.has(k)) die(`duplicate key '${k}'`);
        this.keys.add(k);
        const h = Buffer.alloc(3 + kb.length);
        h.writeUInt16LE(kb.length, 0);
        kb.copy(h, 2);
        h.writeUInt8(type, 2 + kb.length);
        this.parts.push(h);
        this.count++;
    }

    str(k, v) {
        this.key(k, 1);
        const b = Buffer.from(v, 'utf8');
        const n = Buffer.alloc(4);
        n.writeUInt32LE(b.length, 0);
        this.parts.push(n, b);
    }

    i64(k, v) {
        this.key(k, 2);
        const b = Buffer.alloc(8);
        b.writeBigInt64LE(BigInt(v), 0);
        this.parts.push(b);
    }

    // dtype 1 (float32) or 2 (uint8-quantised: q = {scale, min}).
    tensor(k, dtype, dims, data, q) {
        if (dims.length > 4) die(`${k}: more than 4 dims`);
        const esize = dtype === 2 ? 1 : 4;
        const numel = dims.reduce((a, b) => a * b, 1);
        if (data.length !== numel * esize) die(`${k}: ${data.length} bytes for dims ${dims}`);
        this.key(k, 4);
        const h = Buffer.alloc(2 + 8 * dims.length + (dtype === 2 ? 8 : 0) + 8);
        let o = h.writeUInt8(dtype, 0);
        o = h.writeUInt8(dims.length, o);
        for (const d of dims) o = h.writeBigInt64LE(BigInt(d), o);
        if (dtype === 2) {
            o = h.writeFloatLE(q.scale, o);
            o = h.writeFloatLE(q.min, o);
        }
        h.writeBigUInt64LE(BigInt(data.length), o);
        this.parts.push(h, data);
    }

    bytes() {
        const n = Buffer.alloc(4);
        n.writeUInt32LE(this.count, 0);
        return Buffer.concat([n, ...this.parts]);
    }
}

function frame(magic, payload) {
    const z = zlib.deflateSync(payload, { level: 9 });
    const h = Buffer.alloc(40);
    Buffer.from(magic, 'latin1').copy(h, 0);
    h.writeUInt32LE(1, 8);
    h.writeUInt32LE(0, 12);
    h.writeBigUInt64LE(BigInt(payload.length), 16);
    h.writeBigUInt64LE(BigInt(z.length), 24);
    h.writeUInt32LE(zlib.crc32(payload), 32);
    h.writeUInt32LE(zlib.crc32(h.subarray(0, 36)), 36);
    return Buffer.concat([h, z]);
}

// ---------------------------------------------------------------------------------------------

function main() {
    if (typeof zlib.crc32 !== 'function') die('this Node has no zlib.crc32 (need Node >= 20.15)');
    const args = parseArgs(process.argv.slice(2));
    const pkgDir = args.nsfwjs ?? fetchNsfwjs();
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
    if (pkg.name !== 'nsfwjs') die(`${pkgDir} is not the nsfwjs package`);
    if (pkg.version !== NSFWJS_VERSION) {
        process.stderr.write(`convert_nsfwjs: warning: nsfwjs ${pkg.version}, ` +
            `this script was checked against ${NSFWJS_VERSION}\n`);
    }
    const modelDir = path.join(pkgDir, 'dist', 'models', 'mobilenet_v2');
    const model = loadUmd(path.join(modelDir, 'model.min.js'));
    if (!model.modelTopology || !Array.isArray(model.weightsManifest)) {
        die('model.min.js does not export {modelTopology, weightsManifest}');
    }
    const keep = checkTopology(model.modelTopology);

    // The manifest's groups name their shards; the weights are the shards' bytes concatenated
    // in manifest order, each weight taking numel x (1 byte if uint8-quantised, else 4).
    const chunks = [];
    for (const group of model.weightsManifest) {
        for (const p of group.paths) {
            const b64 = loadUmd(path.join(modelDir, `${p}.min.js`));
            if (typeof b64 !== 'string') die(`${p}.min.js does not export a base64 string`);
            chunks.push(Buffer.from(b64, 'base64'));
        }
    }
    const blob = Buffer.concat(chunks);
    const specs = model.weightsManifest.flatMap((g) => g.weights);

    const out = new Payload();
    out.str('kind', 'vinfringe-model');
    out.str('name', 'mnv2-gem');
    out.str('backbone', 'mobilenet_v2');
    out.str('description',
        'MobileNetV2 (alpha 1.0, 224x224 RGB input scaled to [0,1] as nsfwjs feeds it) trunk ' +
        `of the nsfwjs ${pkg.version} image classifier, up to layer out_relu; weights as ` +
        'published (uint8-quantised, value = q * scale + min), under their Keras names and in ' +
        'Keras layout. Frame feature: GeM (p = 3) pooling of block_13_expand_relu and ' +
        'out_relu, each L2-normalised, concatenated (1856-d, unit length). Classifier dropped.');
    out.str('license', 'MIT (nsfwjs, Copyright (c) 2019 Infinite Red, Inc.); ' +
        'see models/NOTICE-nsfwjs.md');
    out.str('source', `nsfwjs ${pkg.version} dist/models/mobilenet_v2, MIT`);
    out.i64('input_size', INPUT_SIZE);

    let offset = 0;
    let kept = 0;
    let bytes = 0;
    for (const s of specs) {
        const numel = s.shape.reduce((a, b) => a * b, 1);
        const q = s.quantization;
        if (s.dtype !== 'float32') die(`${s.name}: dtype ${s.dtype}`);
        if (q && q.dtype !== 'uint8') die(`${s.name}: quantisation ${q.dtype} not supported`);
        const size = numel * (q ? 1 : 4);
        if (offset + size > blob.length) die(`${s.name}: weight data too short`);
        const data = blob.subarray(offset, offset + size);
        offset += size;
        const layer = s.name.split('/')[0];
        if (!keep.has(layer)) continue; // the classifier (dense_1..dense_3)
        if (q) {
            out.tensor(s.name, 2, s.shape, data, { scale: q.scale, min: q.min });
        } else {
            out.tensor(s.name, 1, s.shape, data);
        }
        kept++;
        bytes += size;
    }
    if (offset !== blob.length) die(`weight data has ${blob.length - offset} trailing bytes`);

    const file = frame('VIMODEL\0', out.bytes());
    fs.writeFileSync(args.out, file);
    process.stdout.write(`${args.out}: ${kept} tensors (${bytes} weight bytes) of ` +
        `${specs.length} in the manifest, ${file.length} bytes\n`);
}

main();
