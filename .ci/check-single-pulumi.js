#!/usr/bin/env node
// Fails when node_modules holds more than one copy of @pulumi/pulumi (at any depth). Two copies
// make policy packs and Pulumi mocks silently see nothing: each copy has its own runtime state.
//   node .ci/check-single-pulumi.js [repository root]
"use strict";
const fs = require("fs");
const path = require("path");

/** Every installed copy of `name` under `dir`/node_modules, nested ones included. */
function copiesOf(name, dir) {
    const found = [];
    const walk = modules => {
        let entries;
        try { entries = fs.readdirSync(modules, { withFileTypes: true }); } catch { return; }
        for (const e of entries.filter(x => x.isDirectory() || x.isSymbolicLink())) {
            const dirs = e.name.startsWith("@")
                ? fs.readdirSync(path.join(modules, e.name)).map(n => path.join(e.name, n))
                : [e.name];
            for (const rel of dirs) {
                const pkgDir = path.join(modules, rel);
                if (rel.split(path.sep).join("/") === name) {
                    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
                    found.push({ dir: pkgDir, version: pkg.version });
                }
                walk(path.join(pkgDir, "node_modules"));
            }
        }
    };
    walk(path.join(dir, "node_modules"));
    return found;
}

module.exports = { copiesOf };

if (require.main === module) {
    const root = path.resolve(process.argv[2] || path.join(__dirname, ".."));
    const copies = copiesOf("@pulumi/pulumi", root).concat(copiesOf("@pulumi/pulumi", path.join(root, "policy")));
    for (const c of copies) console.log(`@pulumi/pulumi ${c.version} at ${path.relative(root, c.dir)}`);
    if (copies.length !== 1) {
        console.error(`expected exactly one @pulumi/pulumi, found ${copies.length}; run \`npm ci\` at the root only (not in policy/) and align versions in package.json`);
        process.exit(1);
    }
}
