// Renders the local-target program under Pulumi mocks and writes every docker Container's
// inputs, exactly as the Docker provider would receive them, to a JSON file the e2e harness
// consumes. There is no second copy of the configuration: what the harness runs is what
// `pulumi up` would hand to Docker.
//
// Usage (Node 22, after compiling with e2e/tsconfig.json; see e2e/run):
//   node e2e/out/build/e2e/render-spec.js <mysql|postgres> <out.json> [key=value ...]
// Extra key=value pairs become stack config (mlflow-platform:<key>, e.g. users=<JSON list>);
// E2E_CONFIG_PASSWORD, when set, becomes the `password` key, E2E_CONFIG_USER_PASSWORDS (a JSON
// object name -> password) the `userPasswords` key.
//
// The output holds secrets (generated passwords): it must only ever be written under e2e/out/
// (gitignored), and nothing here prints a secret.
import * as fs from "fs";
import * as path from "path";
import * as crypto from "crypto";
import * as bcrypt from "bcryptjs";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../components/config";
import { ROLE_LABEL } from "../components/shared/docker";
import { verifySha512Crypt } from "../components/authProxy/shaCrypt";
import { SCRAPER_HTPASSWD_PATH } from "../components/authProxy/metrics";
import { qualifyConfig, settleRegistrations, unwrapMockSecrets } from "../tests/mockValues";

const STACK = "dev";
const CONTAINER_TYPE = "docker:index/container:Container";

interface Captured {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
}

interface GeneratedPassword {
    readonly name: string;
    readonly result: string;
    readonly bcryptHash: string;
}

// The random provider's default special characters.
const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMERIC = "0123456789";

function pick(chars: string): string {
    return chars[crypto.randomInt(chars.length)];
}

/**
 * Like random_password / random_string: honours length, the character-class switches,
 * overrideSpecial and the min* counts. When specials are allowed at least one is always
 * included, so URI/shell encoding of the rendered configuration is exercised on every run.
 */
function randomLike(inputs: Record<string, unknown>): string {
    const length = Number(inputs.length ?? 16);
    const flag = (k: string) => inputs[k] === undefined ? true : Boolean(inputs[k]);
    const special = flag("special") ? (typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : DEFAULT_SPECIAL) : "";
    const classes: Array<[string, number]> = [
        [flag("lower") ? LOWER : "", Number(inputs.minLower ?? 0)],
        [flag("upper") ? UPPER : "", Number(inputs.minUpper ?? 0)],
        [(flag("numeric") && flag("number")) ? NUMERIC : "", Number(inputs.minNumeric ?? 0)],
        [special, Math.max(Number(inputs.minSpecial ?? 0), special ? 1 : 0)],
    ];
    const all = classes.map(c => c[0]).join("");
    if (all === "" || length <= 0) throw new Error(`mock random: no characters allowed for ${JSON.stringify(inputs)}`);
    const chars: string[] = [];
    for (const [set, min] of classes) {
        for (let i = 0; i < min && set; i++) chars.push(pick(set));
    }
    while (chars.length < length) chars.push(pick(all));
    // Fisher-Yates, so the forced characters are not all at the start.
    for (let i = chars.length - 1; i > 0; i--) {
        const j = crypto.randomInt(i + 1);
        [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    return chars.slice(0, Math.max(length, chars.length)).join("");
}

const captured: Captured[] = [];
const passwords: GeneratedPassword[] = [];

const mocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        const inputs = args.inputs as Record<string, unknown>;
        captured.push({ type: args.type, name: args.name, inputs });
        const id = `${args.name}-id`;
        switch (args.type) {
            case "random:index/randomPassword:RandomPassword": {
                const result = randomLike(inputs);
                // A real bcrypt hash, as the provider's bcryptHash: nginx must accept it.
                const bcryptHash = bcrypt.hashSync(result, 10);
                passwords.push({ name: args.name, result, bcryptHash });
                return { id, state: { ...inputs, result, bcryptHash } };
            }
            case "random:index/randomString:RandomString":
                return { id, state: { ...inputs, result: randomLike(inputs) } };
            case "docker:index/image:Image":
                return { id, state: { ...inputs, imageName: inputs.imageName, repoDigest: `${String(inputs.imageName)}@sha256:${"0".repeat(64)}` } };
            case "docker:index/remoteImage:RemoteImage":
                return { id, state: { ...inputs, imageId: `sha256:${crypto.createHash("sha256").update(String(inputs.name)).digest("hex")}`, repoDigest: inputs.name } };
            default:
                return { id, state: { ...inputs } };
        }
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        throw new Error(`render-spec: unexpected provider function call ${args.token}; teach the mocks about it if the local target needs it`);
    },
};


function roleOf(inputs: Record<string, unknown>): string | undefined {
    const labels = (inputs.labels ?? []) as Array<{ label: string; value: string }>;
    return labels.find(l => l.label === ROLE_LABEL)?.value;
}

/**
 * Each project's login (shared/projects.ts): the user and the RandomPassword whose
 * SHA-512-crypt is that project's htpasswd upload entry. Empty without projects.
 */
function projectCredentials(uploads: Array<{ file: string; content?: string }>): Record<string, { user: string; password: string }> {
    const out: Record<string, { user: string; password: string }> = {};
    for (const u of uploads) {
        const m = /^\/etc\/nginx\/projects\/([a-z0-9-]+)\.htpasswd$/.exec(u.file);
        if (!m) continue;
        // The project's own login is the file's first line; with team accounts its members and the admins follow.
        const [user, hash] = (u.content ?? "").trim().split("\n")[0].split(":", 2);
        const password = passwords.find(p => verifySha512Crypt(p.result, hash ?? ""))?.result;
        if (!user || !password) throw new Error(`render-spec: could not recover project ${m[1]}'s password from its htpasswd upload`);
        out[m[1]] = { user, password };
    }
    return out;
}

/** The Prometheus scraper's login (authProxy/metrics.ts): the RandomPassword its htpasswd upload verifies. */
function metricsCredentials(uploads: Array<{ file: string; content?: string }>): { user: string; password: string } {
    const file = uploads.find(u => u.file === SCRAPER_HTPASSWD_PATH);
    const [user, hash] = (file?.content ?? "").trim().split(":", 2);
    const password = passwords.find(p => verifySha512Crypt(p.result, hash ?? ""))?.result;
    if (!user || !password) throw new Error("render-spec: could not recover the metrics scraper's password from its htpasswd upload");
    return { user, password };
}

/**
 * With `users`: each account's role, projects and password (given in userPasswords, or the
 * RandomPassword its line in /'s htpasswd verifies), and the proxy's identity token as MLflow
 * gets it. Empty without users.
 */
function teamAccounts(config: Record<string, string>, htpasswd: string, containers: Array<{ role?: string; name: string; inputs: Record<string, unknown> }>) {
    if (config.users === undefined) return {};
    const given = JSON.parse(config.userPasswords ?? "{}") as Record<string, string>;
    const hashes = new Map(htpasswd.trim().split("\n").map(line => line.split(":", 2) as [string, string]));
    const users: Record<string, { role: string; projects: string[]; password: string }> = {};
    for (const u of JSON.parse(config.users) as Array<{ name: string; role: string; projects?: string[] }>) {
        const hash = hashes.get(u.name) ?? "";
        const password = given[u.name] ?? passwords.find(p => verifySha512Crypt(p.result, hash))?.result;
        if (password === undefined || !verifySha512Crypt(password, hash)) throw new Error(`render-spec: could not recover user ${u.name}'s password from the htpasswd upload`);
        users[u.name] = { role: u.role, projects: u.projects ?? [], password };
    }
    // The server at `/` (a project's server is `<name>-project-<project>-tracking-mlflow`, with a token of its own).
    const mlflow = containers.find(c => c.role === "tracking-server" && c.name.endsWith("-tracking-mlflow") && !c.name.includes("-project-"));
    const env = Object.fromEntries(((mlflow?.inputs.envs ?? []) as string[]).map(e => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    const proxyToken = env.MLFLOW_PLATFORM_PROXY_TOKEN;
    if (!proxyToken) throw new Error("render-spec: the MLflow container has no MLFLOW_PLATFORM_PROXY_TOKEN");
    return { users, proxyToken };
}

async function main(): Promise<void> {
    const [backend, outFile, ...extra] = process.argv.slice(2);
    if ((backend !== "mysql" && backend !== "postgres") || !outFile) {
        throw new Error("usage: render-spec <mysql|postgres> <out.json> [key=value ...]");
    }
    const config: Record<string, string> = { target: "local", backend };
    for (const kv of extra) {
        const eq = kv.indexOf("=");
        if (eq <= 0) throw new Error(`expected key=value, got ${kv}`);
        config[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    // A password from the environment, so it is on no command line.
    if (process.env.E2E_CONFIG_PASSWORD) config.password = process.env.E2E_CONFIG_PASSWORD;
    if (process.env.E2E_CONFIG_USER_PASSWORDS) config.userPasswords = process.env.E2E_CONFIG_USER_PASSWORDS;
    await pulumi.runtime.setMocks(mocks, PROJECT, STACK, false);
    pulumi.runtime.setAllConfig(qualifyConfig(config));
    // Config and mocks first, then the program (it reads config at import time).
    await import("../index");
    await settleRegistrations(captured, "render-spec");

    const containers = captured
        .filter(c => c.type === CONTAINER_TYPE)
        .map(c => {
            const { value: inputs, secretPaths } = unwrapMockSecrets(c.inputs);
            return { role: roleOf(inputs), name: c.name, inputs: inputs as Record<string, unknown>, secretPaths };
        });
    const missingRole = containers.filter(c => !c.role).map(c => c.name);
    if (missingRole.length > 0) throw new Error(`containers without a ${ROLE_LABEL} label: ${missingRole.join(", ")}`);

    // The proxy user's password: given in config, or the RandomPassword whose SHA-512-crypt (with
    // the kept salt) is the htpasswd upload's entry; verified against that entry either way.
    const proxy = containers.find(c => c.role === "auth-proxy");
    const uploads = (proxy?.inputs.uploads ?? []) as Array<{ file: string; content?: string }>;
    const htpasswd = uploads.find(u => u.file.endsWith(".htpasswd"))?.content ?? "";
    // The username key's login is the file's first line; team accounts follow it.
    const [clientUser, hash] = htpasswd.trim().split("\n")[0].split(":", 2);
    let clientPassword: string | undefined = config.password;
    if (clientPassword === undefined) {
        clientPassword = passwords.find(p => verifySha512Crypt(p.result, hash ?? ""))?.result;
    }
    if (!clientUser || !clientPassword || !verifySha512Crypt(clientPassword, hash ?? "")) {
        throw new Error("render-spec: could not recover the proxy user's password from the htpasswd upload");
    }
    // The entry the program rendered before SHA-512-crypt, for the same password (random's bcryptHash, cost 10): the "before"
    // side of the e2e proxy CPU comparison (test_proxy.py), never used by the platform.
    const baselineHtpasswd = `${clientUser}:${bcrypt.hashSync(clientPassword, 10)}\n`;

    const spec = {
        backend, config, clientUser, clientPassword, baselineHtpasswd, projectCredentials: projectCredentials(uploads),
        metricsCredentials: metricsCredentials(uploads),
        ...teamAccounts(config, htpasswd, containers), containers, resourceTypes: [...new Set(captured.map(c => c.type))].sort(),
    };
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    fs.writeFileSync(outFile, JSON.stringify(spec, null, 2), { mode: 0o600 });
    console.log(`render-spec: ${backend}: ${containers.length} containers (${containers.map(c => c.role).join(", ")}) -> ${outFile}`);
}

main().catch(err => {
    console.error(`render-spec failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
});
