// The package as another program uses it: `npm pack`, the tarball unpacked into the example's
// node_modules as npm installs it, the example type-checked against the packed declarations
// and run under mocks. The example imports "mlflow-platform" by name, never a source file.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awsCalls, REGION } from "./awsMocks";
import { ProgramRun, runProgram } from "./harness";
import { trackingServerImageTag } from "../components/trackingServer/image";

const { copiesOf } = require("../.ci/check-single-pulumi.js") as { copiesOf: (name: string, dir: string) => { dir: string; version: string }[] };

const ROOT = path.join(__dirname, "..");
const EXAMPLE = path.join(ROOT, "examples", "aws-existing-vpc");
const PLATFORM_TYPE = "mlflow:index:MlflowPlatform";

type PackageJson = { dependencies?: Record<string, string>; devDependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
const readJson = <T>(file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as T;

let tmp: string;
let app: string;
let installed: string;
let packed: { filename: string; files: string[] };
let compiledFiles: string[];
let run: ProgramRun;
const seconds: Record<string, number> = {};

function timed<T>(what: string, fn: () => T): T {
    const start = Date.now();
    try { return fn(); } finally { seconds[what] = (Date.now() - start) / 1000; }
}

/** `npm pack` of the repository (its prepack compiles bin/); the tarball's name and file list. */
function pack(into: string): { filename: string; files: string[] } {
    const out = execFileSync("npm", ["pack", "--json", "--pack-destination", into], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const [entry] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    return { filename: entry.filename, files: entry.files.map(f => f.path) };
}

/**
 * What `npm install` does for the example: the tarball's contents as node_modules/mlflow-platform,
 * and every other dependency (the package's peers and the example's own) beside it, here
 * linked to this repository's copies so the program and the mocks share one @pulumi/pulumi.
 */
function install(tarball: string): void {
    fs.cpSync(EXAMPLE, app, { recursive: true, filter: src => !/[\\/](node_modules|bin)$/.test(src) });
    fs.mkdirSync(installed, { recursive: true });
    execFileSync("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
    const example = readJson<PackageJson>(path.join(app, "package.json"));
    const lib = readJson<PackageJson>(path.join(installed, "package.json"));
    const names = new Set([example.dependencies, example.devDependencies, lib.dependencies, lib.peerDependencies].flatMap(d => Object.keys(d ?? {})));
    names.delete("mlflow-platform");
    for (const name of names) {
        const link = path.join(app, "node_modules", name);
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.symlinkSync(path.join(ROOT, "node_modules", name), link, "dir");
    }
}

/** Loads the compiled example from its project directory, where Pulumi runs a program. */
function loadExample(): Promise<Record<string, unknown>> {
    const cwd = process.cwd();
    process.chdir(app);
    try {
        return Promise.resolve(require(path.join(app, "bin", "index.js")) as Record<string, unknown>);
    } finally {
        process.chdir(cwd);
    }
}

beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mlflow-example-"));
    app = path.join(tmp, "app");
    installed = path.join(app, "node_modules", "mlflow-platform");
    packed = timed("npm pack", () => pack(tmp));
    timed("install", () => install(path.join(tmp, packed.filename)));
    const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const listed = timed("tsc", () => execFileSync(process.execPath, [tsc, "-p", path.join(app, "tsconfig.json"), "--listFiles"], { encoding: "utf8" }));
    compiledFiles = listed.split("\n").filter(Boolean);
    const start = Date.now();
    run = await runProgram({ stack: "dev", project: "mlflow-in-my-vpc", config: { "aws:region": REGION }, calls: awsCalls, program: loadExample });
    seconds["mocks"] = (Date.now() - start) / 1000;
}, 180_000);

afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    console.log(`example: ${Object.entries(seconds).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(", ")}`);
});

describe("the packed package", () => {
    test("holds the compiled entry, its declarations and the image's build context; no sources, tests or dependencies", () => {
        expect(packed.files).toEqual(expect.arrayContaining([
            "bin/lib.js", "bin/lib.d.ts", "bin/components/platform/index.js", "bin/components/platform/index.d.ts",
            "images/tracking-server/Dockerfile", "images/tracking-server/.dockerignore", "images/tracking-server/requirements.txt",
        ]));
        // index.ts is there only because npm always packs "main" (the stack's entry for the language host).
        expect(packed.files.filter(f => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual(["index.ts"]);
        expect(packed.files.filter(f => /(^|\/)(node_modules|tests|e2e)\/|\.test\.|test_/.test(f))).toEqual([]);
        expect(fs.existsSync(path.join(installed, "node_modules"))).toBe(false);
    });

    test("resolves by name to the compiled entry: exports for node, types for tsc", () => {
        const resolved = require.resolve("mlflow-platform", { paths: [app] });
        expect(resolved).toBe(path.join(fs.realpathSync(installed), "bin", "lib.js"));
        expect(compiledFiles).toContain(path.join(installed, "bin", "lib.d.ts").split(path.sep).join("/"));
        // The example compiled against the package's declarations, none of this repository's sources.
        expect(compiledFiles.filter(f => f.startsWith(`${ROOT.split(path.sep).join("/")}/components/`))).toEqual([]);
    });

    test("has one @pulumi/pulumi beside it, the one the mocks are set on", () => {
        expect(copiesOf("@pulumi/pulumi", app)).toHaveLength(1);
        const fromPackage = require.resolve("@pulumi/pulumi", { paths: [path.join(installed, "bin", "components", "platform")] });
        expect(fs.realpathSync(fromPackage)).toBe(require.resolve("@pulumi/pulumi"));
    });

    test("finds its image build context inside itself, and builds the same image as this repository", () => {
        const image = require(path.join(installed, "bin", "components", "trackingServer", "image.js")) as typeof import("../components/trackingServer/image");
        expect(image.TRACKING_SERVER_CONTEXT).toBe(path.join(fs.realpathSync(installed), "images", "tracking-server"));
        expect(image.trackingServerImageTag("python:3.12.11-slim-bookworm")).toBe(trackingServerImageTag("python:3.12.11-slim-bookworm"));
    });
});

describe("the example depends on what the test installs", () => {
    const example = readJson<PackageJson>(path.join(EXAMPLE, "package.json"));
    const root = readJson<PackageJson>(path.join(ROOT, "package.json"));

    test("the tarball npm pack writes at the repository root", () => {
        expect(example.dependencies?.["mlflow-platform"]).toBe(`file:../../${packed.filename}`);
    });

    test.each(Object.keys(root.peerDependencies ?? {}))("%s at the version this repository pins, inside the package's peer range", name => {
        expect(example.dependencies?.[name]).toBe(root.devDependencies?.[name]);
        expect(root.peerDependencies?.[name]).toBe(`^${root.devDependencies?.[name]}`);
    });
});

describe("the example's graph under mocks", () => {
    const PUBLIC = ["team-public-0-id", "team-public-1-id"];
    const PRIVATE = ["team-private-0-id", "team-private-1-id"];

    test("one MlflowPlatform beside the example's own network; everything else is inside it", () => {
        expect(run.ofType(PLATFORM_TYPE).map(r => r.name)).toEqual(["mlflow"]);
        const topLevel = run.resources.filter(r => r.options.parent === undefined).map(r => `${r.type}::${r.name}`).sort();
        expect(topLevel).toEqual([
            "aws:ec2/eip:Eip::team-nat", "aws:ec2/internetGateway:InternetGateway::team", "aws:ec2/natGateway:NatGateway::team",
            "aws:ec2/routeTable:RouteTable::team-private", "aws:ec2/routeTable:RouteTable::team-public",
            "aws:ec2/routeTableAssociation:RouteTableAssociation::team-private-0", "aws:ec2/routeTableAssociation:RouteTableAssociation::team-private-1",
            "aws:ec2/routeTableAssociation:RouteTableAssociation::team-public-0", "aws:ec2/routeTableAssociation:RouteTableAssociation::team-public-1",
            "aws:ec2/subnet:Subnet::team-private-0", "aws:ec2/subnet:Subnet::team-private-1",
            "aws:ec2/subnet:Subnet::team-public-0", "aws:ec2/subnet:Subnet::team-public-1",
            "aws:ec2/vpc:Vpc::team",
            `${PLATFORM_TYPE}::mlflow`,
        ].sort());
        const children = new Set(run.resources.filter(r => r.options.parent === "mlflow").map(r => r.type));
        for (const part of ["Network", "BackendStore", "ArtifactStore", "TrackingServer", "AuthProxy", "ProjectDatabase"]) expect(children).toContain(`mlflow:index:${part}`);
        expect(run.ofType("aws:ecs/service:Service").length).toBeGreaterThanOrEqual(2);
    });

    test("security groups and target groups are in the example's VPC", () => {
        const groups = run.ofType("aws:ec2/securityGroup:SecurityGroup");
        expect(groups.length).toBeGreaterThanOrEqual(3);
        for (const g of groups) expect(g.inputs.vpcId).toBe("team-id");
        for (const t of run.ofType("aws:lb/targetGroup:TargetGroup")) expect(t.inputs.vpcId).toBe("team-id");
    });

    test("the load balancer is in the public subnets; database and every service in the private ones, without public IPs", () => {
        expect(run.one("aws:lb/loadBalancer:LoadBalancer").inputs.subnets).toEqual(PUBLIC);
        expect(run.one("aws:rds/subnetGroup:SubnetGroup").inputs.subnetIds).toEqual(PRIVATE);
        for (const s of run.ofType("aws:ecs/service:Service")) {
            expect(s.inputs.networkConfiguration).toMatchObject({ subnets: PRIVATE, assignPublicIp: false });
        }
    });

    test("the image is built from the installed package's context, relative to the project directory", () => {
        const build = run.one("docker:index/image:Image").inputs.build as { context: string; dockerfile: string };
        expect(build.context).toBe("node_modules/mlflow-platform/images/tracking-server");
        expect(build.dockerfile).toBe("node_modules/mlflow-platform/images/tracking-server/Dockerfile");
    });

    test("the outputs resolve: tracking URI, login (password secret), bucket and the project's login", () => {
        expect(run.outputs.vpcId).toBe("team-id");
        expect(run.outputs.trackingUri).toBe("https://d111111abcdef8.cloudfront.net");
        expect(run.outputs.username).toEqual(expect.any(String));
        expect(run.outputs.password).toEqual(expect.any(String));
        expect(run.secretOutputs.password).toBe(true);
        expect(run.outputs.artifactBucket).toEqual(expect.any(String));
        expect(run.secretOutputs.projects).toBe(true);
        expect(run.outputs.projects).toEqual({ research: expect.objectContaining({ trackingUri: "https://d111111abcdef8.cloudfront.net/projects/research", username: "research" }) });
    });
});
