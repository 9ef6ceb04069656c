#!/usr/bin/env node
// Checks every `uses:` of the given workflow files against .ci/actions.json: pinned to a full
// commit SHA with its release tag in a comment, a known action at that commit, only inputs its
// action.yml declares, and every required input given. actionlint checks inputs only for a
// version tag it knows (actions/checkout@v7), never for a SHA pin; this closes that gap.
//   node .ci/check-action-inputs.js .github/workflows/*.yml
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

const PINNED = /^([\w.-]+\/[\w.-]+(?:\/[\w./-]+)?)@([0-9a-f]{40})$/;

/** Steps of every job, with where they are: [{ where, step }]. */
function stepsOf(workflow) {
    const out = [];
    for (const [jobId, job] of Object.entries((workflow && workflow.jobs) || {})) {
        if (job && job.uses) out.push({ where: `jobs.${jobId}`, step: { uses: job.uses, with: job.with } });
        ((job && job.steps) || []).forEach((step, i) => out.push({ where: `jobs.${jobId}.steps[${i}]`, step }));
    }
    return out;
}

/** The `# vX.Y.Z` comment on the line of a `uses:` value. */
function tagComment(text, uses) {
    const escaped = uses.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    const m = text.match(new RegExp(`uses:\\s*["']?${escaped}["']?\\s*#\\s*(\\S+)`));
    return m ? m[1] : undefined;
}

/** Problems of one step's `uses:` and `with:`. */
function checkStep(known, text, where, step) {
    const uses = step.uses;
    if (typeof uses !== "string") return [];
    if (uses.startsWith("./") || uses.startsWith("docker://")) {
        return uses.startsWith("docker://") && !/@sha256:[0-9a-f]{64}$/.test(uses) ? [`${where}: ${uses} is not pinned by digest`] : [];
    }
    const m = uses.match(PINNED);
    if (!m) return [`${where}: ${uses} is not pinned to a full commit SHA (owner/repo@<40 hex> # vX.Y.Z)`];
    const entry = known[`${m[1]}@${m[2]}`];
    if (!entry) return [`${where}: ${uses} is not in .ci/actions.json (add its inputs from action.yml at that commit)`];
    const problems = [];
    const tag = tagComment(text, uses);
    if (tag !== entry.tag) problems.push(`${where}: ${uses} needs the comment "# ${entry.tag}" (found ${tag ? `"# ${tag}"` : "none"})`);
    const given = Object.keys(step.with || {});
    for (const key of given.filter(k => !(k in entry.inputs))) {
        problems.push(`${where}: input "${key}" is not defined by ${m[1]} ${entry.tag}; it has: ${Object.keys(entry.inputs).sort().join(", ")}`);
    }
    for (const [name, spec] of Object.entries(entry.inputs)) {
        if (spec.required && !given.includes(name)) problems.push(`${where}: ${m[1]} ${entry.tag} requires input "${name}"`);
    }
    return problems;
}

/** All problems of one workflow file's text. */
function checkWorkflow(known, text, file) {
    let workflow;
    try {
        workflow = YAML.parse(text, { strict: true, uniqueKeys: true });
    } catch (e) {
        return [`${file}: not valid YAML: ${String(e.message).split("\n")[0]}`];
    }
    return stepsOf(workflow).flatMap(({ where, step }) => checkStep(known, text, `${file}: ${where}`, step));
}

function loadKnown() {
    const data = JSON.parse(fs.readFileSync(path.join(__dirname, "actions.json"), "utf8"));
    delete data._about;
    return data;
}

module.exports = { checkWorkflow, loadKnown };

if (require.main === module) {
    const files = process.argv.slice(2);
    if (files.length === 0) {
        console.error("usage: check-action-inputs.js WORKFLOW.yml...");
        process.exit(2);
    }
    const known = loadKnown();
    const problems = files.flatMap(f => checkWorkflow(known, fs.readFileSync(f, "utf8"), f));
    for (const p of problems) console.error(p);
    console.log(`action inputs: ${files.length} workflow(s), ${problems.length} problem(s)`);
    process.exit(problems.length === 0 ? 0 : 1);
}
