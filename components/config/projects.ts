// The `projects` key: parsed and checked before anything is created (names usable as URL
// path, S3 prefix, container and database names; no duplicates; a login user per project).
import { isValidUsername, projectNameProblem } from "./checks";
import type { Reader } from "./reader";
import type { ProjectConfig } from "./types";

const EXAMPLE = ["team-a", "team-b:alice"];

function parseEntries(r: Reader, text: string): string[] | undefined {
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch {
        parsed = text.split(",").map(s => s.trim()).filter(s => s !== "");
    }
    if (!Array.isArray(parsed) || parsed.some(v => typeof v !== "string")) {
        r.failList("projects", text, "must be a list of strings `name` or `name:username`", EXAMPLE);
        return undefined;
    }
    return parsed as string[];
}

/** One entry, `name` or `name:username`; the user defaults to the project's name. */
function parseEntry(r: Reader, entry: string): ProjectConfig | undefined {
    const [name, username, ...rest] = entry.split(":");
    const problem = projectNameProblem(name);
    if (problem !== undefined) {
        r.failList("projects", entry, `entry name ${JSON.stringify(name)} ${problem}`, EXAMPLE);
        return undefined;
    }
    if (rest.length > 0 || (username !== undefined && !isValidUsername(username))) {
        r.failList("projects", entry, "entry user must be 1-64 characters of letters, digits, '.', '_', '@' or '-' after one ':'", EXAMPLE);
        return undefined;
    }
    return { name, username: username ?? name };
}

/** The list, empty when unset; every bad entry and every duplicate is a separate problem. */
export function readProjects(r: Reader): ProjectConfig[] {
    if (!r.has("projects")) return [];
    const entries = parseEntries(r, r.raw("projects"));
    if (entries === undefined) return [];
    const out: ProjectConfig[] = [];
    for (const entry of entries) {
        const p = parseEntry(r, entry);
        if (p === undefined) continue;
        if (out.some(o => o.name === p.name)) {
            r.failList("projects", entry, `names project ${p.name} twice: each project needs its own name`, EXAMPLE);
            continue;
        }
        out.push(p);
    }
    return out;
}
