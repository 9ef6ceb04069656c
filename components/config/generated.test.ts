// Files generated from the single sources in TypeScript must be committed as rendered:
// Pulumi.yaml's config block and docs/configuration.md (from the config schema) and the image's
// DB dialect table (from ENGINES). `npm run generate` rewrites them; in CI this test fails on a
// stale file.
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_SCHEMA } from "./schema";
import { renderConfigReference } from "./reference";
import { ENGINES } from "../backendStore/database";
import { DIALECTS_FILE, renderDialectsJson } from "../backendStore/dialects";
import { isDeclared, renderPulumiConfigBlock, withRenderedConfig, yamlString } from "./pulumiYaml";

const ROOT = path.join(__dirname, "..", "..");
const GENERATED: Array<[string, (current: string) => string]> = [
    ["Pulumi.yaml", current => withRenderedConfig(current, CONFIG_SCHEMA)],
    [path.join("docs", "configuration.md"), () => renderConfigReference(CONFIG_SCHEMA)],
    [path.join("images", "tracking-server", DIALECTS_FILE), () => renderDialectsJson()],
];

describe.each(GENERATED)("%s", (file, render) => {
    const full = path.join(ROOT, file);
    if (process.env.UPDATE_GENERATED === "1") fs.writeFileSync(full, render(fs.existsSync(full) ? fs.readFileSync(full, "utf8") : ""));

    test("is committed as rendered (fix: npm run generate)", () => {
        const current = fs.readFileSync(full, "utf8");
        expect(current).toBe(render(current));
    });
});

test("the rendered config block reads back as the schema: types, defaults, secrecy, scope", () => {
    const declared = parse(renderPulumiConfigBlock(CONFIG_SCHEMA)).config as Record<string, Record<string, unknown>>;
    expect(Object.keys(declared)).toEqual(Object.keys(CONFIG_SCHEMA).filter(key => isDeclared(CONFIG_SCHEMA[key as keyof typeof CONFIG_SCHEMA])));
    expect(declared.hostPort).toEqual({ type: "integer", default: 5000, description: `[local] ${CONFIG_SCHEMA.hostPort.description}` });
    expect(declared.dbMinCapacity).toMatchObject({ type: "string", default: "0" });
    expect(declared.password).toBeUndefined();
    expect(declared.projects).toMatchObject({ type: "array", items: { type: "string" }, default: [] });
    expect(declared.ingressCidrs).toMatchObject({ type: "array", items: { type: "string" }, default: ["0.0.0.0/0"] });
    expect(declared.certificateArn).toMatchObject({ type: "string", default: "" });
    expect(declared.target).toMatchObject({ type: "string", default: "local" });
    expect(declared.nginxImage.description).toBe(CONFIG_SCHEMA.nginxImage.description);
});

test.each(["plain text", "[local] needs quotes", "a: b", "true", "5000", "x # y", "- item", "quote \"inside\""])("yamlString(%j) reads back unchanged", text => {
    expect(parse(`k: ${yamlString(text)}`).k).toBe(text);
});

test("the dialect table carries every engine's dialect, default port and query", () => {
    const table = JSON.parse(renderDialectsJson());
    expect(table).toEqual({
        mysql: { dialect: ENGINES.mysql.dialect, port: ENGINES.mysql.port, query: ENGINES.mysql.query },
        postgres: { dialect: ENGINES.postgres.dialect, port: ENGINES.postgres.port, query: ENGINES.postgres.query },
    });
    expect(table.mysql.dialect).toBe("mysql+pymysql");
});
