// Pulumi.yaml is what `pulumi config` and users read; the parser is what the program obeys.
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_KEYS, parseConfig } from "./";

const pulumiYaml = fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), "utf8");
const declared: Record<string, { type: string; default?: string | number | boolean | string[]; description?: string; secret?: boolean }> =
    parse(pulumiYaml).config;

test("Pulumi.yaml declares the keys with a fixed default and names every other key the program reads", () => {
    const header = pulumiYaml.slice(0, pulumiYaml.indexOf("\nconfig:"));
    const named = CONFIG_KEYS.filter(key => new RegExp(`^#.* ${key}( |$)`, "m").test(header));
    expect([...Object.keys(declared), ...named].sort()).toEqual([...CONFIG_KEYS].sort());
    expect(Object.values(declared).filter(spec => spec.default === undefined)).toEqual([]);
});

test("every declared key has a type and a description", () => {
    for (const [key, spec] of Object.entries(declared)) {
        expect([key, ["string", "integer", "boolean", "array"].includes(spec.type)]).toEqual([key, true]);
        expect([key, (spec.description ?? "").length > 10]).toEqual([key, true]);
    }
});

test("the secrets are not declared (a declared secret's default would be refused as plaintext)", () => {
    expect(declared.password).toBeUndefined();
    expect(declared.aiGatewayKekPassphrase).toBeUndefined();
    expect(Object.entries(declared).filter(([, spec]) => spec.secret)).toEqual([]);
});

test("declared defaults are the defaults the program applies", () => {
    const defaults: Record<string, string> = {};
    for (const [key, spec] of Object.entries(declared)) {
        // The CLI passes a structured default as JSON text, the others as their text.
        if (spec.default !== undefined) defaults[key] = Array.isArray(spec.default) ? JSON.stringify(spec.default) : String(spec.default);
    }
    // Parsing with every declared default spelled out must equal parsing with none.
    expect(parseConfig(defaults)).toEqual(parseConfig({}));
    const awsDefaults = { ...defaults, target: "aws" };
    expect(parseConfig(awsDefaults, "eu-west-1")).toEqual(parseConfig({ target: "aws" }, "eu-west-1"));
});

test("the stack files select the intended targets", () => {
    const stack = (file: string) => parse(fs.readFileSync(path.join(__dirname, "..", "..", file), "utf8")).config;
    expect(stack("Pulumi.dev.yaml")["mlflow-platform:target"]).toBe("local");
    expect(stack("Pulumi.aws.yaml")["mlflow-platform:target"]).toBe("aws");
    expect(stack("Pulumi.aws.yaml")["aws:region"]).toMatch(/^[a-z]{2}-[a-z]+-\d$/);
});

test("the README's table of the keys that matter most names only keys the program reads", () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
    const table = readme.slice(readme.indexOf("| Key | Default | Meaning |"), readme.indexOf("Every key, with type"));
    const named = [...table.matchAll(/^\| ([^|]+) \|/gm)].flatMap(m => [...m[1].matchAll(/`([A-Za-z]+)`/g)].map(k => k[1]));
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter(key => !(CONFIG_KEYS as string[]).includes(key))).toEqual([]);
});
