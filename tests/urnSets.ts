// The URN of every resource a stack registers, committed under tests/urns/. A URN is what
// Pulumi matches state by: an equal set means an existing stack sees no replacements after a
// refactor. Regenerate only on purpose (a change meant to rename or re-parent resources, which
// then needs aliases: tests/urnAliases.test.ts holds the stacks from before MlflowPlatform):
//   WRITE_URN_SETS=1 npx jest tests/
import * as fs from "fs";
import * as path from "path";
import type { ProgramRun } from "./harness";

const DIR = path.join(__dirname, "urns");

export function urnSetFile(graph: string): string {
    return path.join(DIR, `${graph}.json`);
}

export function urnSet(run: ProgramRun): string[] {
    return run.resources.map(r => r.urn).sort();
}

/** The committed URN set of `graph`, or writes it when WRITE_URN_SETS=1. */
export function committedUrnSet(graph: string, run: ProgramRun): string[] {
    if (process.env.WRITE_URN_SETS === "1") {
        fs.writeFileSync(urnSetFile(graph), `${JSON.stringify(urnSet(run), null, 2)}\n`);
    }
    return JSON.parse(fs.readFileSync(urnSetFile(graph), "utf8")) as string[];
}

/**
 * The URN set a stack with several features should have: the base stack's plus what each
 * feature adds to it alone. Each feature must add something, or the comparison proves nothing.
 */
export function composedUrnSet(base: ProgramRun, ...features: ProgramRun[]): string[] {
    const before = new Set(urnSet(base));
    const additions = features.map(f => urnSet(f).filter(u => !before.has(u)));
    for (const a of additions) expect(a.length).toBeGreaterThan(0);
    return [...new Set([...before, ...additions.flat()])].sort();
}
