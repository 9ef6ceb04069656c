// Reads raw string config against the schema and collects every problem, so a user sees all
// bad keys in one run. Each problem names the key and the value, says what is allowed and
// gives the `pulumi config set` that fixes it.
import { CONFIG_SCHEMA, ConfigKey, KeySpec, KeysOfType, PROJECT, StringSpec } from "./schema";

/** Raw config as Pulumi stores it: every value a string (arrays as JSON), keyed without the project prefix. */
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

export class Reader {
    readonly problems: string[] = [];
    constructor(private readonly values: RawConfig) {}

    has(key: string): boolean {
        const v = this.values[key];
        return v !== undefined && v !== "";
    }

    /** The raw text of a key (check `has` first). */
    raw(key: string): string {
        return this.values[key] ?? "";
    }

    fail(key: string, value: string | undefined, allowed: string, example: string): void {
        const secret = key in CONFIG_SCHEMA && (CONFIG_SCHEMA[key as ConfigKey] as KeySpec & { secret?: boolean }).secret === true;
        const shown = secret ? "(value hidden)" : JSON.stringify(value);
        const secretFlag = secret ? "--secret " : "";
        this.problems.push(
            `${PROJECT}:${key} = ${shown} is invalid: ${allowed}. Fix: pulumi config set ${secretFlag}${key} ${example}`,
        );
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
            this.fail(key, text, `must be a list of strings`, `--path '${key}[0]' ${example}`);
            return fallback;
        }
        const bad = (parsed as string[]).filter(v => !check(v));
        if (bad.length > 0) {
            this.fail(key, bad.join(","), allowed, `--path '${key}[0]' ${example}`);
        }
        return parsed as string[];
    }
}
