// Pulumi.yaml is what `pulumi config` and users read; the parser is what the program obeys.
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_KEYS, parseConfig } from "./config";

const declared: Record<string, { type: string; default?: string | number | boolean; description?: string; secret?: boolean }> =
    parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")).config;

test("Pulumi.yaml declares exactly the keys the program reads", () => {
    expect(Object.keys(declared).sort()).toEqual([...CONFIG_KEYS].sort());
});

test("every declared key has a type and a description", () => {
    for (const [key, spec] of Object.entries(declared)) {
        expect([key, ["string", "integer", "boolean", "array"].includes(spec.type)]).toEqual([key, true]);
        expect([key, (spec.description ?? "").length > 10]).toEqual([key, true]);
    }
});

test("the password is declared secret", () => {
    expect(declared.password.secret).toBe(true);
});

test("declared defaults are the defaults the program applies", () => {
    const defaults: Record<string, string> = {};
    for (const [key, spec] of Object.entries(declared)) {
        if (spec.default !== undefined) defaults[key] = String(spec.default);
    }
    // Parsing with every declared default spelled out must equal parsing with none.
    expect(parseConfig(defaults)).toEqual(parseConfig({}));
    const awsDefaults = { ...defaults, target: "aws" };
    expect(parseConfig(awsDefaults, "eu-west-1")).toEqual(parseConfig({ target: "aws" }, "eu-west-1"));
});

test("the stack files select the intended targets", () => {
    const stack = (file: string) => parse(fs.readFileSync(path.join(__dirname, "..", file), "utf8")).config;
    expect(stack("Pulumi.dev.yaml")["mlflow-platform:target"]).toBe("local");
    expect(stack("Pulumi.aws.yaml")["mlflow-platform:target"]).toBe("aws");
    expect(stack("Pulumi.aws.yaml")["aws:region"]).toMatch(/^[a-z]{2}-[a-z]+-\d$/);
});

test("the README's configuration table names every key", () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
    const table = readme.slice(readme.indexOf("| Key | Default | Meaning |"), readme.indexOf("### Images"));
    expect(CONFIG_KEYS.filter(key => !table.includes(`\`${key}\``))).toEqual([]);
});
