// The URN of every resource a stack registers, committed under tests/urns/ as computed before
// the components moved into per-component folders (issue 7). A URN is what Pulumi matches
// state by: an equal set means an existing stack sees no replacements after a refactor.
// Regenerate only on purpose (a change that is meant to rename or re-parent resources):
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
