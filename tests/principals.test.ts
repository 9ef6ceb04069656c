// Project names and the platform's own principals (config/checks.ts): every database, database
// user, MinIO user and policy and network host name the program gives the server at `/` and the
// platform's services is in PLATFORM_PRINCIPALS, so the config check refusing a project that
// derives one of them knows them all; and no two legal project names share a derived name.
import { PLATFORM_PRINCIPALS, PrincipalKind, projectNameProblem, projectPrincipalNames } from "../components/config";
import { BUCKET_INIT_ENV } from "../components/bucketInit/bucket";
import { projectListenerPriority, projectNames } from "../components/shared/projects";
import { awsCalls, REGION } from "./awsMocks";
import { envRecord, ProgramRun, runProgram } from "./harness";
import { T } from "./localInvariants";

type Found = Array<[PrincipalKind, string, string]>;

/** The platform's principals in a local run: from the containers' environment and network aliases, projects' own left out. */
function localPrincipals(run: ProgramRun): Found {
    const out: Found = [];
    for (const c of run.ofType(T.container).filter(c => !c.name.includes("-project-"))) {
        const env = envRecord(c.inputs.envs);
        const from = (kind: PrincipalKind, key: string) => { if (env[key] !== undefined) out.push([kind, env[key], `${c.name} ${key}`]); };
        from("databaseUser", "MYSQL_USER");
        from("database", "MYSQL_DATABASE");
        from("databaseUser", "POSTGRES_USER");
        from("databaseUser", "MLFLOW_DB_USER");
        from("database", "MLFLOW_DB_NAME");
        from("accessKeyId", "MINIO_ROOT_USER");
        from("accessKeyId", BUCKET_INIT_ENV.accessKey);
        from("storagePolicy", BUCKET_INIT_ENV.policyName);
        for (const n of c.inputs.networksAdvanced ?? []) {
            // Model servers are `model-<slug>`: no project host name (`mlflow-<name>`) can be one.
            for (const alias of (n.aliases ?? []) as string[]) if (!alias.startsWith("model-")) out.push(["hostname", alias, `${c.name} alias`]);
        }
    }
    return out;
}

const LOCAL = { target: "local", hostPort: "5000", bindAddress: "127.0.0.1", servedModels: '["churn"]' };

describe.each(["mysql", "postgres"])("local %s: every principal of the platform is in PLATFORM_PRINCIPALS", backend => {
    let found: Found;
    beforeAll(async () => {
        found = localPrincipals(await runProgram({ stack: "dev", config: { ...LOCAL, backend } }));
    });

    test("the program has the principals this test looks for", () => {
        const kinds = new Set(found.map(([k]) => k));
        expect([...kinds].sort()).toEqual(["accessKeyId", "database", "databaseUser", "hostname", "storagePolicy"]);
    });

    test("each is listed", () => {
        for (const [kind, value, where] of found) expect({ where, listed: value in PLATFORM_PRINCIPALS[kind] }).toEqual({ where, listed: true });
    });
});

describe.each(["mysql", "postgres"])("aws %s: the Aurora master and database are in PLATFORM_PRINCIPALS", backend => {
    test("listed", async () => {
        const run = await runProgram({ stack: "aws", config: { "aws:region": REGION, target: "aws", backend }, calls: awsCalls });
        const cluster = run.one("aws:rds/cluster:Cluster");
        expect(PLATFORM_PRINCIPALS.databaseUser).toHaveProperty([cluster.inputs.masterUsername]);
        expect(PLATFORM_PRINCIPALS.database).toHaveProperty([cluster.inputs.databaseName]);
    });
});

describe("project names against platform principals", () => {
    test.each<[string, RegExp]>([
        ["admin", /database user mlflow_admin is the Aurora master user/],
        ["registry", /host name mlflow-registry is the proxy's read-only registry endpoint/],
        ["backup", /database mlflow_backup|database user mlflow_backup is the backup's read-only database user/],
    ])("%s is refused", (name, reason) => {
        expect(projectNameProblem(name)).toMatch(reason);
        expect(() => projectNames(name)).toThrow(reason);
    });

    test("every platform principal a project name could derive is refused, and only those", () => {
        for (const name of legalNames()) {
            const derived = projectPrincipalNames(name);
            const taken = (Object.keys(derived) as PrincipalKind[]).some(k => derived[k] in PLATFORM_PRINCIPALS[k]);
            expect({ name, refused: projectNameProblem(name) !== undefined }).toEqual({ name, refused: taken || name === "default" });
        }
    });
});

/** Every legal name over a small alphabet (hyphens, a letter that makes `_`-lookalikes, digits), plus long ones and the reserved ones. */
function legalNames(): string[] {
    const out = new Set<string>(["admin", "registry", "tracking", "default", "project", "x".repeat(24), `a${"-b".repeat(11)}c`]);
    const grow = (s: string) => { if (s.length >= 2 && /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(s)) out.add(s); if (s.length < 6) for (const c of "ax7-") grow(s + c); };
    for (const c of "ax") grow(c);
    return [...out];
}

describe("no two legal project names share a derived name", () => {
    test("database, user, storage user and policy, host, URL path, prefix, nginx upstream and htpasswd file, container and resource names", () => {
        const names = legalNames().filter(n => projectNameProblem(n) === undefined);
        expect(names.length).toBeGreaterThan(1000);
        const seen = new Map<string, string>();
        for (const name of names) {
            const n = projectNames(name);
            const base = `mlflow-dev-project-${name}`;
            const derived: Record<string, string> = {
                ...projectPrincipalNames(name), urlPath: n.urlPath, artifactPrefix: n.artifactPrefix, upstream: n.upstreamName, htpasswd: n.htpasswdPath,
                // Docker containers share one name space across kinds (components/*/docker.ts).
                initContainer: `container:${base}-database-init`, mcContainer: `container:${base}-bucket-init-mc`, mlflowContainer: `container:${base}-tracking-mlflow`,
                // Pulumi names of the project's components (index.ts); their children add fixed suffixes.
                databaseComponent: `urn:${base}-database`, bucketInit: `urn:${base}-bucket-init`, tracking: `urn:${base}-tracking`, proxy: `urn:mlflow-dev-proxy-project-${name}`,
            };
            for (const [kind, value] of Object.entries(derived)) {
                // MinIO keeps users and policies apart; every other kind is one name space with its peers.
                const key = kind === "storagePolicy" ? `policy:${value}` : kind === "accessKeyId" ? `user:${value}` : value;
                const other = seen.get(key);
                if (other !== undefined && other !== name) throw new Error(`${name} and ${other} share ${kind} ${value}`);
                seen.set(key, name);
            }
        }
    });

    test("listener rule priorities are the one derived value that can coincide: config refuses such pairs (projects.test.ts)", () => {
        const byPriority = new Map<number, string>();
        let collisions = 0;
        for (const name of legalNames().filter(n => projectNameProblem(n) === undefined)) {
            const p = projectListenerPriority(name);
            if (byPriority.has(p)) collisions++;
            byPriority.set(p, name);
        }
        expect(collisions).toBeGreaterThan(0);
    });
});
