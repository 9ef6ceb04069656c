// Reads raw string config against the schema and collects every problem, so a user sees all
// bad keys in one run. Each problem names the key and the value, says what is allowed and
// gives the `pulumi config set` that fixes it.
import { CONFIG_SCHEMA, ConfigKey, KeySpec, KeysOfType, PROJECT, StringSpec } from "./schema";

/** Raw config as the CLI passes it: every value a string (lists as JSON), keyed without the project prefix. */
export type RawConfig = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`Invalid stack configuration (nothing was created):\n${problems.map(p => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

function spec<T extends KeySpec["type"]>(key: ConfigKey, type: T): Extract<KeySpec, { type: T }> {
    const s: KeySpec = CONFIG_SCHEMA[key];
    if (s.type !== type) throw new Error(`internal: config key ${key} is ${s.type}, read as ${type}`);
    return s as Extract<KeySpec, { type: T }>;
}

/**
 * How a problem's fix is phrased: as the stack's `pulumi config` commands, or as the settings
 * another program passes to `platformArgs`.
 */
export type FixStyle = "stack" | "settings";

export class Reader {
    readonly problems: string[] = [];
    constructor(private readonly values: RawConfig, readonly style: FixStyle = "stack") {}

    /** Unset, empty, and an empty list (a declared `default: []` reaches the program as "[]") are all "not given". */
    has(key: string): boolean {
        const v = this.values[key];
        return v !== undefined && v !== "" && v.trim() !== "[]";
    }

    /** The raw text of a key (check `has` first). */
    raw(key: string): string {
        return this.values[key] ?? "";
    }

    /** A problem with a scalar key; the fix sets `example`. For list keys, use failList. */
    fail(key: string, value: string | undefined, allowed: string, example: string): void {
        const secret = key in CONFIG_SCHEMA && (CONFIG_SCHEMA[key as ConfigKey] as KeySpec & { secret?: boolean }).secret === true;
        const secretFlag = secret ? "--secret " : "";
        const fix = this.style === "settings" ? settingsFix(key, settingValue(key, example)) : `pulumi config set ${secretFlag}${key} ${example}`;
        this.problem(key, value, allowed, fix, secret);
    }

    /** A problem with a list key; the fix replaces the whole list with `entries`. */
    failList(key: KeysOfType<"array">, value: string | undefined, allowed: string, entries: readonly string[]): void {
        this.problem(key, value, allowed, this.style === "settings" ? settingsFix(key, entries) : listCommand(key, entries), false);
    }

    /**
     * A problem with one part of a structured key (`users[1].name`, `userPasswords.alice`), fixed
     * with `pulumi config <verb> --path`; `example` undefined removes the part.
     */
    failPath(key: "users" | "userPasswords", path: string, value: string | undefined, allowed: string, example?: string): void {
        const secret = key === "userPasswords";
        let fix: string;
        if (this.style === "settings") {
            fix = example === undefined ? `leave ${path} out of platformArgs` : `platformArgs with ${path} = ${JSON.stringify(example)}`;
        } else {
            fix = example === undefined ? `pulumi config rm --path '${path}'` : `pulumi config set ${secret ? "--secret " : ""}--path '${path}' ${shellWord(example)}`;
        }
        this.problem(path, value, allowed, fix, secret);
    }

    private problem(key: string, value: string | undefined, allowed: string, fix: string, secret: boolean): void {
        const shown = secret ? "(value hidden)" : JSON.stringify(value);
        const name = this.style === "settings" ? key : `${PROJECT}:${key}`;
        this.problems.push(`${name} = ${shown} is invalid: ${allowed}. Fix: ${fix}`);
    }

    /** A string key with the schema's default, or `fallback` when the default depends on other keys. */
    string(key: KeysOfType<"string">, fallback?: string): string {
        const s: StringSpec = spec(key, "string");
        const def = fallback ?? s.default ?? "";
        const value = this.has(key) ? this.values[key]! : def;
        if (s.check && !s.check(value)) this.fail(key, value, s.allowed ?? "", s.example ?? def);
        return value;
    }

    optionalString(key: KeysOfType<"string">): string | undefined {
        return this.has(key) ? this.string(key) : undefined;
    }

    oneOf<T extends string>(key: KeysOfType<"choice">): T {
        const s = spec(key, "choice");
        const value = this.has(key) ? this.values[key]! : s.default;
        if (!s.choices.includes(value)) {
            this.fail(key, value, `must be one of ${s.choices.map(c => `"${c}"`).join(", ")}`, s.default);
            return s.default as T;
        }
        return value as T;
    }

    integer(key: KeysOfType<"integer">, fallback?: number): number {
        const s = spec(key, "integer");
        const def = fallback ?? s.default ?? s.min;
        if (!this.has(key)) return def;
        const text = this.values[key]!;
        const value = Number(text);
        if (!/^-?\d+$/.test(text.trim()) || value < s.min || value > s.max) {
            this.fail(key, text, `must be a whole number from ${s.min} to ${s.max}`, String(def));
            return def;
        }
        return value;
    }

    /** A number in `step` increments, e.g. Aurora capacity units in 0.5 steps. */
    stepped(key: KeysOfType<"number">): number {
        const { default: def, min, max, step } = spec(key, "number");
        if (!this.has(key)) return def;
        const text = this.values[key]!;
        const value = Number(text);
        if (text.trim() === "" || !Number.isFinite(value) || value < min || value > max || Math.abs(value / step - Math.round(value / step)) > 1e-9) {
            this.fail(key, text, `must be a number from ${min} to ${max} in steps of ${step}`, String(def));
            return def;
        }
        return value;
    }

    boolean(key: KeysOfType<"boolean">): boolean {
        const def = spec(key, "boolean").default;
        if (!this.has(key)) return def;
        const text = this.values[key]!;
        if (text !== "true" && text !== "false") {
            this.fail(key, text, `must be true or false`, String(def));
            return def;
        }
        return text === "true";
    }

    list(key: KeysOfType<"array">, fallback: string[], check: (v: string) => boolean, allowed: string, example: string): string[] {
        if (!this.has(key)) return fallback;
        const text = this.values[key]!;
        let parsed: unknown;
        try {
            parsed = JSON.parse(text);
        } catch {
            parsed = text.split(",").map(s => s.trim()).filter(s => s !== "");
        }
        if (!Array.isArray(parsed) || parsed.some(v => typeof v !== "string")) {
            this.failList(key, text, `must be a list of strings`, [example]);
            return fallback;
        }
        const bad = (parsed as string[]).filter(v => !check(v));
        if (bad.length > 0) {
            const good = (parsed as string[]).filter(v => check(v));
            this.failList(key, bad.join(","), allowed, good.length > 0 ? good : [example]);
        }
        return parsed as string[];
    }
}

/** A shell word: plain when it has no character the shell treats specially, else single-quoted. */
function shellWord(text: string): string {
    return /^[A-Za-z0-9_./:@=,+-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * The commands that make a list key hold exactly `entries`: the CLI stores a list only when set
 * element by element with --path (a JSON text given to plain `config set` stays a string, which a
 * declared array refuses).
 */
/** A scalar setting as platformArgs takes it: numbers and booleans unquoted. */
function settingValue(key: string, text: string): string | number | boolean {
    const type = key in CONFIG_SCHEMA ? CONFIG_SCHEMA[key as ConfigKey].type : "string";
    if ((type === "integer" || type === "number") && text.trim() !== "" && !Number.isNaN(Number(text))) return Number(text);
    if (type === "boolean" && (text === "true" || text === "false")) return text === "true";
    return text;
}

function settingsFix(key: string, value: unknown): string {
    return `platformArgs({ ${key}: ${JSON.stringify(value)} })`;
}

export function listCommand(key: string, entries: readonly string[]): string {
    const sets = entries.map((entry, i) => `pulumi config set --path '${key}[${i}]' ${shellWord(entry)}`);
    return [`pulumi config rm ${key}`, ...sets].join(" && ");
}
