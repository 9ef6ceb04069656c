// What the Pulumi CLI does with Pulumi.yaml and a stack's config before the program's first line,
// which Pulumi mocks skip. Ported from pulumi/pulumi (read at the 2026-08 main):
//  - sdk/go/common/workspace/project.go: Project.Validate, ValidateConfigValue, InferFullTypeName;
//    project.json (the project schema): configTypeDeclaration's fields and simpleConfigType;
//  - pkg/workspace/config.go (formerly sdk/go/common/workspace): ValidateStackConfigAndApplyProjectConfig
//    = mergeConfig + validateStackConfigValues + validateStackConfigValue;
//  - pkg/cmd/pulumi/config/config.go: `config set` (--path, --secret, --type), `config rm`, looksLikeSecret's
//    key pattern; sdk/go/common/resource/config/object.go: path sets (index <= length).
// tests/pulumiCli.test.ts checks this port against the CLI's own test cases before using it.
import { parse } from "yaml";

export interface ProjectConfigType {
    type?: string;
    items?: { type: string; items?: ProjectConfigType["items"] };
    default?: unknown;
    value?: unknown;
    secret?: boolean;
    description?: string;
}
export interface Project {
    name: string;
    config: Record<string, ProjectConfigType>;
}
/** One stack config value: its text (JSON when `object`), and whether it is encrypted. */
export interface StackValue {
    text: string;
    object: boolean;
    secure: boolean;
}
/** Stack config keyed by the full key, `namespace:name`. */
export type StackConfig = Map<string, StackValue>;

export function loadProject(text: string): Project {
    const raw = parse(text) as { name?: string; config?: Record<string, unknown> };
    if (!raw.name) throw new Error("project is missing a 'name' attribute");
    const config: Record<string, ProjectConfigType> = {};
    for (const [key, v] of Object.entries(raw.config ?? {})) {
        // A bare value is shorthand for { value: ... } (untyped).
        config[key] = v !== null && typeof v === "object" && !Array.isArray(v) ? v : { value: v };
    }
    return { name: raw.name, config };
}

function toStackValue(v: unknown, decrypt: (ciphertext: string) => string): StackValue {
    if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v) {
        return { text: decrypt(String((v).secure)), object: false, secure: true };
    }
    if (v !== null && typeof v === "object") return { text: JSON.stringify(v), object: true, secure: false };
    return { text: String(v), object: false, secure: false };
}

/** A stack file's config; secure values are held decrypted (`decrypt`), as the CLI validates them. */
export function loadStack(text: string, decrypt: (ciphertext: string) => string = c => c): StackConfig {
    const raw = (parse(text) ?? {}) as { config?: Record<string, unknown> };
    return new Map(Object.entries(raw.config ?? {}).map(([k, v]) => [k, toStackValue(v, decrypt)]));
}

const isNamespacedByProject = (project: string, key: string) => !key.includes(":") || key.startsWith(`${project}:`);
const fullKey = (project: string, key: string) => (key.includes(":") ? key : `${project}:${key}`);
const shortKey = (key: string) => key.slice(key.indexOf(":") + 1);

export function inferFullTypeName(type: string, items?: ProjectConfigType["items"]): string {
    return items ? `array<${inferFullTypeName(items.type, items.items)}>` : type;
}

/** ValidateConfigValue: strings as text; integers also as whole-number text; booleans also "true"/"false". */
export function validateConfigValue(type: string, items: ProjectConfigType["items"] | undefined, value: unknown): boolean {
    switch (type) {
        case "string": return typeof value === "string";
        case "integer":
            if (typeof value === "number") return Number.isInteger(value);
            // Go's strconv.Atoi: optional sign, decimal digits, 64-bit range.
            return typeof value === "string" && /^[+-]?\d+$/.test(value) && Math.abs(Number(value)) <= 2 ** 63;
        case "boolean": return typeof value === "boolean" || value === "true" || value === "false";
        case "object": return value !== null && typeof value === "object" && !Array.isArray(value);
        default:
            return Array.isArray(value) && items !== undefined && value.every(v => validateConfigValue(items.type, items.items, v));
    }
}

const DECLARATION_FIELDS = ["type", "items", "description", "secret", "default", "value"];
const SIMPLE_TYPES = ["string", "integer", "boolean", "array", "object"];

/** Project.Validate's config rules, after the project schema's (project.json: configTypeDeclaration). */
export function validateProject(project: Project): void {
    for (const [key, t] of Object.entries(project.config)) {
        const extra = Object.keys(t).filter(f => !DECLARATION_FIELDS.includes(f));
        if (extra.length > 0) throw new Error(`#/config/${key}: additionalProperties '${extra.join("', '")}' not allowed`);
        if (t.type !== undefined && !SIMPLE_TYPES.includes(t.type)) throw new Error(`#/config/${key}/type: value must be one of ${SIMPLE_TYPES.join(", ")}`);
        if (t.default !== undefined && t.value !== undefined) throw new Error(`project config '${key}' cannot have both a 'default' and 'value' attribute`);
        if (!isNamespacedByProject(project.name, key)) {
            if (t.type !== undefined || t.default !== undefined || t.value === undefined) throw new Error(`Configuration key '${key}' is not namespaced by the project`);
            continue;
        }
        if (t.type === "array" && t.items === undefined) {
            throw new Error(`The configuration key '${key}' declares an array but does not specify the underlying type via the 'items' attribute`);
        }
        if (t.type !== undefined && t.default !== undefined && !validateConfigValue(t.type, t.items, t.default)) {
            throw new Error(`The default value specified for configuration key '${key}' is not of the expected type '${inferFullTypeName(t.type, t.items)}'`);
        }
    }
}

/** createConfigValue: primitives as their text, anything else as a JSON object value. */
function defaultValue(raw: unknown): StackValue {
    if (typeof raw === "string" || typeof raw === "boolean" || (typeof raw === "number" && Number.isInteger(raw))) {
        return { text: String(raw), object: false, secure: false };
    }
    return { text: JSON.stringify(raw), object: true, secure: false };
}

function missingError(stack: string, keys: string[]): Error {
    if (keys.length === 1) return new Error(`Stack '${stack}' is missing configuration value '${keys[0]}'`);
    const quoted = [...keys].sort().map(k => `'${k}'`);
    return new Error(`Stack '${stack}' is missing configuration values ${quoted.slice(0, -1).join(", ")} and ${quoted[quoted.length - 1]}`);
}

/**
 * ValidateStackConfigAndApplyProjectConfig: every declared project key needs a stack value or a
 * default (else "missing"); defaults are merged in; then each typed key's merged value must be
 * encrypted when declared secret and of the declared type. Returns the merged config.
 */
export function validateStackConfigAndApplyProjectConfig(stack: string, project: Project, stackConfig: StackConfig): StackConfig {
    const merged = new Map(stackConfig);
    const keys = Object.keys(project.config).sort();
    const missing: string[] = [];
    for (const key of keys) {
        const t = project.config[key];
        const k = fullKey(project.name, key);
        if (merged.has(k)) continue;
        const given = t.default ?? t.value;
        if (given === undefined) {
            if (k.startsWith(`${project.name}:`)) missing.push(key);
            continue;
        }
        merged.set(k, defaultValue(given));
    }
    if (missing.length > 0) throw missingError(stack, missing);
    for (const key of keys) {
        const t = project.config[key];
        const v = merged.get(fullKey(project.name, key));
        if (t.type === undefined || v === undefined) continue;
        if (t.secret && !v.secure) throw new Error(`Stack '${stack}' with configuration key '${key}' must be encrypted as it's secret`);
        const content: unknown = v.object ? JSON.parse(v.text) : v.text;
        if (!validateConfigValue(t.type, t.items, content)) {
            throw new Error(`Stack '${stack}' with configuration key '${key}' must be of type '${inferFullTypeName(t.type, t.items)}'`);
        }
    }
    return merged;
}

/** What the language host hands the program (PULUMI_CONFIG): every value as text, structured ones as JSON. */
export function programConfig(project: Project, merged: StackConfig): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of merged) if (k.startsWith(`${project.name}:`)) out[shortKey(k)] = v.text;
    return out;
}

/** The key names for which `config set` refuses a plaintext value that looks random (looksLikeSecret). */
export const SECRET_LOOKING_KEY = /passwd|pass|password|pwd|secret|token/i;

/** A shell command line split into words (single and double quotes, backslashes); `$(...)` stays one word. */
export function shellWords(line: string): string[] {
    const words: string[] = [];
    let word: string | undefined;
    for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === "'") {
            const end = line.indexOf("'", i + 1);
            word = (word ?? "") + line.slice(i + 1, end);
            i = end;
        } else if (c === "\"") {
            let j = i + 1;
            let text = "";
            for (; line[j] !== "\""; j++) text += line[j] === "\\" ? line[++j] : line[j];
            word = (word ?? "") + text;
            i = j;
        } else if (c === "\\") {
            word = (word ?? "") + line[++i];
        } else if (/\s/.test(c)) {
            if (word !== undefined) words.push(word);
            word = undefined;
        } else {
            word = (word ?? "") + c;
        }
    }
    if (word !== undefined) words.push(word);
    return words;
}

type PathPart = string | number;

function parsePath(key: string): PathPart[] {
    const m = /^([^[.]+)(.*)$/.exec(key);
    if (!m) throw new Error(`invalid configuration key: ${key}`);
    const parts: PathPart[] = [m[1]];
    const re = /\[(-?\d+)\]|\.([A-Za-z_][\w-]*)/y;
    let rest = m[2];
    while (rest !== "") {
        re.lastIndex = 0;
        const p = re.exec(rest);
        if (!p) throw new Error(`invalid config key path: ${key}`);
        parts.push(p[1] !== undefined ? Number(p[1]) : p[2]);
        rest = rest.slice(p[0].length);
    }
    return parts;
}

/** object.go Set: a container is made from the accessor; an array index may be at most its length. */
function setAt(container: unknown, path: PathPart[], value: unknown, shown: string): unknown {
    const [head, ...rest] = path;
    const isIndex = typeof head === "number";
    let c: unknown = container;
    if (c === undefined || c === null || typeof c !== "object") c = isIndex ? [] : {};
    if (Array.isArray(c)) {
        if (!isIndex) throw new Error(`${shown}: key for an array must be an int`);
        if (head < 0 || head > c.length) throw new Error(`${shown}: array index out of range`);
        c[head] = rest.length === 0 ? value : setAt(c[head], rest, value, shown);
        return c;
    }
    if (isIndex) throw new Error(`${shown}: key for a map must be a string`);
    const obj = c as Record<string, unknown>;
    obj[head] = rest.length === 0 ? value : setAt(obj[head], rest, value, shown);
    return obj;
}

/** With --path, "true"/"false" become booleans and integers numbers; the rest stays text (config set --help). */
function pathValue(text: string): unknown {
    if (text === "true" || text === "false") return text === "true";
    return /^-?\d+$/.test(text) ? Number(text) : text;
}

export interface ConfigCommand {
    verb: "set" | "rm";
    key: string;
    value?: string;
    path: boolean;
    secret: boolean;
}

/** `pulumi config set|rm [flags] <key> [value]` as cobra reads it: flags anywhere, at most two arguments. */
export function parseConfigCommand(words: string[]): ConfigCommand {
    if (words[0] !== "pulumi" || words[1] !== "config" || (words[2] !== "set" && words[2] !== "rm")) throw new Error(`not a config set/rm: ${words.join(" ")}`);
    const args: string[] = [];
    let path = false;
    let secret = false;
    for (let i = 3; i < words.length; i++) {
        const w = words[i];
        if (w === "--path") path = true;
        else if (w === "--secret") secret = true;
        else if (w === "--plaintext") continue;
        else if (w === "--type" || w === "--stack" || w === "-s") i++;
        else if (w.startsWith("-")) throw new Error(`unknown flag: ${w}`);
        else args.push(w);
    }
    const max = words[2] === "set" ? 2 : 1;
    if (args.length < 1 || args.length > max) throw new Error(`accepts between 1 and ${max} arg(s), received ${args.length}: ${words.join(" ")}`);
    return { verb: words[2], key: args[0], value: args[1], path, secret };
}

/** Applies one command to a stack's config as the CLI would store it. */
export function applyConfigCommand(project: Project, stackConfig: StackConfig, cmd: ConfigCommand): void {
    const parts = cmd.path ? parsePath(cmd.key) : [cmd.key];
    const k = fullKey(project.name, String(parts[0]));
    if (cmd.verb === "rm") {
        if (parts.length === 1) stackConfig.delete(k);
        else removeAt(stackConfig, k, parts.slice(1));
        return;
    }
    const text = cmd.value ?? "";
    if (!cmd.path || parts.length === 1) {
        stackConfig.set(k, { text, object: false, secure: cmd.secret });
        return;
    }
    const current = stackConfig.get(k);
    const root: unknown = current?.object ? JSON.parse(current.text) : undefined;
    const updated = setAt(root, parts.slice(1), pathValue(text), cmd.key);
    stackConfig.set(k, { text: JSON.stringify(updated), object: true, secure: false });
}

function removeAt(stackConfig: StackConfig, k: string, path: PathPart[]): void {
    const current = stackConfig.get(k);
    if (!current?.object) return;
    const root = JSON.parse(current.text) as unknown;
    let c = root as Record<string | number, unknown>;
    for (const p of path.slice(0, -1)) c = c?.[p] as Record<string | number, unknown>;
    const last = path[path.length - 1];
    if (Array.isArray(c) && typeof last === "number") c.splice(last, 1);
    else if (c && typeof last === "string") delete c[last];
    stackConfig.set(k, { ...current, text: JSON.stringify(root) });
}
