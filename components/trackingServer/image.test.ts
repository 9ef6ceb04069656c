import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { packageRoot, TRACKING_SERVER_CONTEXT, TRACKING_SERVER_CONTEXT_RELATIVE, trackingServerImageTag } from "./image";

const BASE = "python:3.12.11-slim-bookworm";

test("a tag per platform: arm64 and amd64 builds never share one", () => {
    const arm = trackingServerImageTag(BASE, TRACKING_SERVER_CONTEXT, "linux/arm64");
    const amd = trackingServerImageTag(BASE, TRACKING_SERVER_CONTEXT, "linux/amd64");
    expect(arm).not.toBe(amd);
    expect(arm).toMatch(/^\d+\.\d+\.\d+-[0-9a-f]{12}$/);
});

test("the same inputs give the same tag (no rebuild on an unchanged checkout)", () => {
    expect(trackingServerImageTag(BASE, TRACKING_SERVER_CONTEXT, "linux/amd64")).toBe(trackingServerImageTag(BASE, TRACKING_SERVER_CONTEXT, "linux/amd64"));
});

test("without a platform the tag is what it was (the local target's image is not rebuilt)", () => {
    expect(trackingServerImageTag(BASE)).not.toBe(trackingServerImageTag(BASE, TRACKING_SERVER_CONTEXT, "linux/amd64"));
    expect(trackingServerImageTag(BASE)).toBe(trackingServerImageTag(BASE, TRACKING_SERVER_CONTEXT));
});

test("the relative build context names the same directory from the project root", () => {
    const projectRoot = path.join(__dirname, "..", "..");
    expect(path.isAbsolute(TRACKING_SERVER_CONTEXT_RELATIVE)).toBe(false);
    expect(path.resolve(projectRoot, TRACKING_SERVER_CONTEXT_RELATIVE)).toBe(path.resolve(TRACKING_SERVER_CONTEXT));
    expect(fs.existsSync(path.join(projectRoot, "Pulumi.yaml"))).toBe(true);
});

test("this stack's relative build context is what it was (no rebuild on upgrade)", () => {
    expect(TRACKING_SERVER_CONTEXT_RELATIVE).toBe("images/tracking-server");
});

test("the build context is found from the compiled package and from an installed one", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "pkgroot-"));
    try {
        const installed = path.join(root, "node_modules", "mlflow-platform");
        const compiled = path.join(installed, "bin", "components", "trackingServer");
        fs.mkdirSync(compiled, { recursive: true });
        fs.writeFileSync(path.join(root, "package.json"), "{}");
        fs.writeFileSync(path.join(installed, "package.json"), "{}");
        expect(packageRoot(compiled)).toBe(installed);
        expect(packageRoot(__dirname)).toBe(path.join(__dirname, "..", ".."));
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
});

/** Sources of the Dockerfile's COPY/ADD lines in the build context (not URLs, not other stages). */
function copiedSources(dockerfile: string): string[] {
    const lines = dockerfile.replace(/\\\r?\n/g, " ").split(/\r?\n/);
    const sources: string[] = [];
    for (const line of lines) {
        const m = /^\s*(COPY|ADD)\s+(.*)$/i.exec(line);
        if (!m) continue;
        const rest = m[2].trim();
        const words = rest.startsWith("[") ? JSON.parse(rest) as string[] : rest.split(/\s+/);
        const args = words.filter(w => !w.startsWith("--"));
        if (words.some(w => w.startsWith("--from="))) continue;
        sources.push(...args.slice(0, -1).filter(s => !/^[a-z]+:\/\//i.test(s)));
    }
    return sources;
}

/** Whether .dockerignore excludes a context path: the last matching rule wins; a rule on a directory covers what is in it. */
function ignored(rules: string[], file: string): boolean {
    let out = false;
    for (const raw of rules) {
        const negated = raw.startsWith("!");
        const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, "");
        const re = new RegExp(`^${pattern.split("**").map(p => p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")).join(".*")}(/.*)?$`);
        if (re.test(file)) out = !negated;
    }
    return out;
}

/** Every file the image build copies in, as paths in the context. */
function copiedFiles(contextDir: string): string[] {
    const rules = fs.readFileSync(path.join(contextDir, ".dockerignore"), "utf8").split(/\r?\n/).map(l => l.trim()).filter(l => l !== "" && !l.startsWith("#"));
    const files: string[] = [];
    const walk = (rel: string) => {
        const full = path.join(contextDir, rel);
        if (fs.statSync(full).isDirectory()) for (const e of fs.readdirSync(full).sort()) walk(path.posix.join(rel, e));
        else if (!ignored(rules, rel)) files.push(rel);
    };
    for (const source of copiedSources(fs.readFileSync(path.join(contextDir, "Dockerfile"), "utf8"))) {
        // A single file the ignore rules exclude would fail the build: the test says so first.
        if (fs.statSync(path.join(contextDir, source)).isFile()) expect({ source, ignored: ignored(rules, source) }).toEqual({ source, ignored: false });
        walk(source);
    }
    return files;
}

describe("the tag covers every file the image copies", () => {
    test("the Dockerfile's COPY/ADD sources are found (the check below is not vacuous)", () => {
        expect(copiedFiles(TRACKING_SERVER_CONTEXT).sort()).toEqual([
            "artifacts-plugin/mlflow_proxied_s3/__init__.py", "artifacts-plugin/pyproject.toml", "db_dialects.json",
            "entrypoint.py", "mlflow_platform_auth.py", "project_db_init.py", "requirements.txt", "serve_model.py",
        ]);
        expect(ignored(["*", "!a.py"], "b.py")).toBe(true);
        expect(ignored(["*", "!a.py"], "a.py")).toBe(false);
    });

    test("changing any copied file, the Dockerfile or .dockerignore changes the tag; a file not sent does not", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "image-context-"));
        try {
            fs.cpSync(TRACKING_SERVER_CONTEXT, dir, { recursive: true });
            const before = trackingServerImageTag(BASE, dir);
            const changedTag = (file: string) => {
                const full = path.join(dir, file);
                const original = fs.readFileSync(full);
                fs.writeFileSync(full, Buffer.concat([original, Buffer.from("\n# changed\n")]));
                const tag = trackingServerImageTag(BASE, dir);
                fs.writeFileSync(full, original);
                return tag !== before;
            };
            const sent = ["Dockerfile", ".dockerignore", ...copiedFiles(dir)];
            expect(sent.filter(f => !changedTag(f))).toEqual([]);
            expect(changedTag("test_entrypoint.py")).toBe(false);
            expect(trackingServerImageTag(BASE, dir)).toBe(before);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
