// The `users` and `userPasswords` keys: team accounts, checked before anything is created. A
// name becomes an htpasswd user, an MLflow user and a Pulumi output name, so it is plain
// lowercase; names the platform gives its own accounts are refused.
import { projectPrincipalNames } from "./checks";
import { CONFIG_SCHEMA } from "./schema";
import type { Reader } from "./reader";
import { ProjectConfig, USER_ROLES, UserConfig, UserRole } from "./types";

export const USER_NAME = /^[a-z][a-z0-9._-]{1,62}$/;
/**
 * Prefixes of the model servers' reader accounts (authProxy/registryReader.ts readerUsername
 * gives `model-<model>`; `reader-` is kept free for them too): a person never takes one over.
 */
export const RESERVED_USER_PREFIXES = ["reader-", "model-"];
const ENTRY_FIELDS = ["name", "role", "projects"];
/** The auth app's database and user (trackingServer/auth.ts AUTH_DATABASE): a project's would be mlflow_<name>. */
export const AUTH_DATABASE_NAME = "mlflow_auth";

/** Why `name` cannot be a user (undefined: it can), for a given legacy `username` and projects. */
export function userNameProblem(name: string, username: string, projects: readonly ProjectConfig[]): string | undefined {
    if (!USER_NAME.test(name)) return "must be 2-63 characters: a lowercase letter, then lowercase letters, digits, '.', '_' or '-'";
    const prefix = RESERVED_USER_PREFIXES.find(p => name.startsWith(p));
    if (prefix !== undefined) return `must not start with ${prefix}: that prefix names the model servers' reader accounts`;
    if (name === username) return `is the username key's login, already an admin: give the person another name, or leave username alone`;
    const project = projects.find(p => p.username === name);
    if (project !== undefined) return `is project ${project.name}'s own login (projects entry ${project.name}:${project.username}): pick another name`;
    return undefined;
}

function suggestedName(name: string): string {
    const fixed = name.toLowerCase().replace(/[^a-z0-9._-]/g, "-").replace(/^[^a-z]+/, "");
    return USER_NAME.test(fixed) && !RESERVED_USER_PREFIXES.some(p => fixed.startsWith(p)) ? fixed : "alice";
}

function parseJson(r: Reader, key: "users" | "userPasswords", shape: (v: unknown) => boolean): unknown {
    let parsed: unknown;
    try {
        parsed = JSON.parse(r.raw(key));
    } catch {
        parsed = undefined;
    }
    if (!shape(parsed)) {
        r.failPath(key, key, key === "users" ? r.raw(key) : undefined, `must be a ${CONFIG_SCHEMA[key].shape} set item by item with --path: ${CONFIG_SCHEMA[key].allowed}`, undefined);
        return undefined;
    }
    return parsed;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** One entry's projects: names from `projects`, each once. */
function entryProjects(r: Reader, at: string, value: unknown, projects: readonly ProjectConfig[]): string[] | undefined {
    if (value === undefined) return [];
    const known = projects.map(p => p.name);
    if (!Array.isArray(value) || value.some(v => typeof v !== "string")) {
        r.failPath("users", `${at}.projects`, JSON.stringify(value), "must be a list of project names", known[0]);
        return undefined;
    }
    let ok = true;
    (value as string[]).forEach((p, j) => {
        if (known.includes(p)) return;
        ok = false;
        const allowed = known.length === 0 ? "must name a project in projects, and none is configured" : `must name a project in projects (${known.join(", ")})`;
        r.failPath("users", `${at}.projects[${j}]`, p, allowed, undefined);
    });
    return ok ? [...new Set(value as string[])] : undefined;
}

/** One entry; undefined (with problems recorded) when it is not usable. */
function readEntry(r: Reader, i: number, entry: unknown, username: string, projects: readonly ProjectConfig[]): UserConfig | undefined {
    const at = `users[${i}]`;
    if (!isObject(entry)) {
        r.failPath("users", at, JSON.stringify(entry), "must be an object {name, role, projects}", undefined);
        return undefined;
    }
    const extra = Object.keys(entry).filter(k => !ENTRY_FIELDS.includes(k));
    extra.forEach(k => r.failPath("users", `${at}.${k}`, JSON.stringify(entry[k]), `is not a field of a user (${ENTRY_FIELDS.join(", ")}; passwords go in userPasswords)`, undefined));
    const name = typeof entry.name === "string" ? entry.name : "";
    const nameProblem = userNameProblem(name, username, projects);
    if (nameProblem !== undefined) r.failPath("users", `${at}.name`, typeof entry.name === "string" ? name : JSON.stringify(entry.name), nameProblem, suggestedName(name));
    const role = entry.role;
    const roleOk = typeof role === "string" && (USER_ROLES as readonly string[]).includes(role);
    if (!roleOk) r.failPath("users", `${at}.role`, typeof role === "string" ? role : JSON.stringify(role), `must be one of ${USER_ROLES.join(", ")}`, "viewer");
    const memberOf = entryProjects(r, at, entry.projects, projects);
    if (extra.length > 0 || nameProblem !== undefined || !roleOk || memberOf === undefined) return undefined;
    return { name, role: role as UserRole, projects: memberOf };
}

/** The users list, empty when unset; every bad entry, field and duplicate is its own problem. */
export function readUsers(r: Reader, username: string, projects: readonly ProjectConfig[]): UserConfig[] {
    if (!r.has("users")) return [];
    const entries = parseJson(r, "users", Array.isArray);
    if (!Array.isArray(entries)) return [];
    const taken = RESERVED_USER_PREFIXES.find(p => username.toLowerCase().startsWith(p));
    if (taken !== undefined) {
        r.fail("username", username, `must not start with ${taken} when users is set: that prefix names the model servers' reader accounts in MLflow`, "mlflow");
    }
    const clash = projects.find(p => projectPrincipalNames(p.name).database === AUTH_DATABASE_NAME);
    if (clash !== undefined) {
        r.failPath("users", "users", `${entries.length} users`,
            `needs the database ${AUTH_DATABASE_NAME} for the accounts' permissions, which is project ${clash.name}'s database: accounts cannot be added to a stack with a project named ${clash.name}`, undefined);
        return [];
    }
    const out: UserConfig[] = [];
    entries.forEach((entry, i) => {
        const user = readEntry(r, i, entry, username, projects);
        if (user === undefined) return;
        if (out.some(u => u.name === user.name)) {
            r.failPath("users", `users[${i}]`, user.name, `names user ${user.name} a second time: each person has one entry (one role)`, undefined);
            return;
        }
        out.push(user);
    });
    return out;
}

const EXAMPLE_PASSWORD = "<a-password-of-12-or-more-characters>";

/** Given passwords, by user name: each for a listed user, each as strong as `password`. */
export function readUserPasswords(r: Reader, users: readonly UserConfig[]): Record<string, string> {
    if (!r.has("userPasswords")) return {};
    const map = parseJson(r, "userPasswords", isObject);
    if (!isObject(map)) return {};
    const out: Record<string, string> = {};
    const check = CONFIG_SCHEMA.password.check;
    for (const [name, value] of Object.entries(map)) {
        const at = `userPasswords.${name}`;
        if (!users.some(u => u.name === name)) {
            r.failPath("userPasswords", at, undefined, `names no entry of users (${users.map(u => u.name).join(", ") || "none"}): a password without its account is refused`, undefined);
        } else if (typeof value !== "string" || !check(value)) {
            r.failPath("userPasswords", at, undefined, CONFIG_SCHEMA.password.allowed, EXAMPLE_PASSWORD);
        } else {
            out[name] = value;
        }
    }
    return out;
}
