import { ConfigError, DEFAULT_PROJECT_TASKS, parseConfig, RawConfig } from ".";

function problemsOf(raw: RawConfig, region?: string): string[] {
    try {
        parseConfig(raw, region);
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    return [];
}

const AWS = { target: "aws", bucketName: "mlflow-artifacts-x" };

describe("projects", () => {
    test("unset: no projects", () => {
        expect(parseConfig({}).projects).toEqual([]);
    });

    test("names, with an optional user after ':' (default: the name)", () => {
        expect(parseConfig({ projects: '["team-a","vision:alice"]' }).projects).toEqual([
            { name: "team-a", username: "team-a" }, { name: "vision", username: "alice" },
        ]);
    });

    test("a comma-separated string works like the list", () => {
        expect(parseConfig({ projects: "ab, cd" }).projects.map(p => p.name)).toEqual(["ab", "cd"]);
    });

    test.each<[string, RawConfig, RegExp]>([
        ["duplicate", { projects: '["team-a","team-a:bob"]' },
            /^mlflow-platform:projects = "team-a:bob" is invalid: names project team-a twice: each project needs its own name\. Fix: pulumi config rm projects && pulumi config set --path 'projects\[0\]' team-a && pulumi config set --path 'projects\[1\]' team-b:alice$/],
        ["uppercase", { projects: '["Team"]' }, /^mlflow-platform:projects = "Team" is invalid: entry name "Team" must be 2-24 lowercase letters.*URL path, an S3 prefix.*database and user name\)\. Fix: pulumi config rm projects && pulumi config set --path 'projects\[0\]' /],
        ["underscore (not a URL/prefix/container name we accept)", { projects: '["team_a"]' }, /projects = "team_a" is invalid: entry name "team_a" must be/],
        ["slash", { projects: '["a/b"]' }, /projects = "a\/b" is invalid/],
        ["too long for a MySQL user", { projects: JSON.stringify(["x".repeat(25)]) }, /must be 2-24/],
        ["reserved", { projects: '["default"]' }, /projects = "default" is invalid: entry name "default" is reserved: it names the server at \//],
        ["aws: project admin's database user is the Aurora master user", { ...AWS, projects: '["ab","admin:ops"]' },
            /^mlflow-platform:projects = "admin:ops" is invalid: entry name "admin" is reserved: its database user mlflow_admin is the Aurora master user \(target aws\), which the server at \/ and every project's init use\. Fix: pulumi config rm projects && pulumi config set --path 'projects\[0\]' team-a && pulumi config set --path 'projects\[1\]' team-b:alice$/],
        ["local: admin too (a stack's config means the same on both targets)", { projects: '["admin"]' }, /projects = "admin" is invalid: entry name "admin" is reserved: its database user mlflow_admin is the Aurora master user/],
        ["registry: its host name is the proxy's on the serving network", { projects: '["registry"]', servedModels: '["churn"]' },
            /projects = "registry" is invalid: entry name "registry" is reserved: its host name mlflow-registry is the proxy's read-only registry endpoint on the serving network \(target local\)\. Fix: pulumi config rm projects && pulumi config set --path 'projects\[0\]'/],
        ["bad user", { projects: '["ab:a b"]' }, /projects = "ab:a b" is invalid: entry user must be 1-64 characters/],
        ["two colons", { projects: '["ab:c:d"]' }, /projects = "ab:c:d" is invalid: entry user/],
        ["not strings", { projects: '[{"name":"ab"}]' }, /projects = "\[\{\\"name\\":\\"ab\\"\}\]" is invalid: must be a list of strings/],
        ["local: projects with job execution count its processes against the mysql container", { projects: '["p1","p2","p3","p4","p5","p6","p7"]', projectJobExecution: "true" },
            /^mlflow-platform:projects = "7 projects" is invalid: must fit the mysql container's max_connections: the server at \/ \(6 connections\) \+ 7 projects x 22 connections each \(\(2 pool \+ 1 overflow\) x 2 engines x 1 workers x 1 tasks x 1 during deployments \+ job execution \(8 processes x 2 engines x 1 tasks x 1\)\) = 160, but the database allows 151 \(141 after 10 reserved\); at most 6 projects fit, or pulumi config set projectJobExecution false\. Fix: pulumi config rm projects && pulumi config set --path 'projects\[0\]' p1 && .* && pulumi config set --path 'projects\[5\]' p6$/],
        ["postgres: 3 projects at 6 workers do not fit", { backend: "postgres", projects: '["p1","p2:u","p3"]', projectWorkers: "6", jobExecution: "true" },
            /projects = "3 projects" is invalid: .*the server at \/ \(22 connections\).*at most 1 projects fit, or pulumi config set projectWorkers 1, or pulumi config set jobExecution false\. Fix: pulumi config rm projects && pulumi config set --path 'projects\[0\]' p1$/],
        ["aws: a sixth project on the defaults does not fit Aurora's connections", { ...AWS, projects: '["p0","p1:u","p2","p3","p4","p5"]' },
            /^mlflow-platform:projects = "6 projects" is invalid: must fit Aurora's max_connections at dbMaxCapacity 2: the server at \/ \(36 connections\) \+ 6 projects x 8 connections each \(\(1 pool \+ 1 overflow\) x 2 engines x 1 workers x 1 tasks x 2 during deployments\) = 84, but the database allows 90 \(80 after 10 reserved\); at most 5 projects fit, or pulumi config set dbMaxCapacity 4\. Fix: pulumi config rm projects && pulumi config set --path 'projects\[0\]' p0 && pulumi config set --path 'projects\[1\]' p1:u && pulumi config set --path 'projects\[2\]' p2 && pulumi config set --path 'projects\[3\]' p3 && pulumi config set --path 'projects\[4\]' p4$/],
        ["aws: project settings above their defaults are named as fixes", { ...AWS, projects: '["p0","p1","p2"]', projectMaxTasks: "2", projectWorkers: "2" },
            /projects = "3 projects" is invalid: .*\+ 3 projects x 32 connections each .* at most 1 projects fit, or pulumi config set dbMaxCapacity 8, or pulumi config set projectWorkers 1, or pulumi config set projectMaxTasks 1\. Fix: pulumi config rm projects && pulumi config set --path 'projects\[0\]' p0$/],
        ["aws: job execution on every project counts its processes", { ...AWS, projects: '["p0","p1"]', projectJobExecution: "true", projectTaskMemory: "3072", projectTaskCpu: "512" },
            /projects = "2 projects" is invalid: .*\+ 2 projects x 40 connections each \(.* \+ job execution \(8 processes x 2 engines x 1 tasks x 2\)\) = 116.* at most 1 projects fit, or pulumi config set dbMaxCapacity 4, or pulumi config set projectJobExecution false\. Fix:/],
        ["aws: names whose listener rule priorities collide (abx, ama: 28902)", { ...AWS, projects: '["abx","ama:bob"]', dbMaxCapacity: "16" },
            /^mlflow-platform:projects = "ama" is invalid: shares load balancer rule priority 28902 with project abx .*rename one of them\. Fix: pulumi config rm projects && pulumi config set --path 'projects\[0\]' abx$/],
    ])("%s", (_, raw, expected) => {
        const problems = problemsOf(raw, "eu-west-1");
        expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
    });

    test("local: a project at the defaults holds 6 connections, so 14 fit beside / on postgres (90 usable), 15 do not", () => {
        const names = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => `p${i}`));
        expect(parseConfig({ backend: "postgres", projects: names(14) }).projects).toHaveLength(14);
        expect(problemsOf({ backend: "postgres", projects: names(15) })).toEqual([expect.stringMatching(/at most 14 projects fit\. Fix:/)]);
    });

    test("every bad entry is reported, not just the first", () => {
        expect(problemsOf({ projects: '["A","b","ok"]' })).toHaveLength(2);
    });

    test("aws: five projects fit the defaults, eleven an Aurora of 4 ACU", () => {
        const names = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => `p${i}`));
        expect(parseConfig({ ...AWS, projects: names(5) }, "eu-west-1").projects).toHaveLength(5);
        expect(parseConfig({ ...AWS, projects: names(11), dbMaxCapacity: "4" }, "eu-west-1").projects).toHaveLength(11);
        expect(problemsOf({ ...AWS, projects: names(12), dbMaxCapacity: "4" }, "eu-west-1")).toEqual([expect.stringMatching(/at most 11 projects fit, or pulumi config set dbMaxCapacity 8\./)]);
    });

    test("aws: projects get their own task settings, with the defaults sized for one worker without job execution", () => {
        const config = parseConfig({ ...AWS, projects: '["alpha"]' }, "eu-west-1");
        expect(config.target === "aws" && config.aws.projectTasks).toEqual({ cpu: 256, memory: 512, maxTasks: 1, workers: 1, jobExecution: false });
        // What a program that builds its args by hand gets when it leaves them out.
        expect(DEFAULT_PROJECT_TASKS).toEqual({ cpu: 256, memory: 512, maxTasks: 1, workers: 1, jobExecution: false });
    });

    test("aws without projects is unaffected", () => {
        expect(problemsOf(AWS, "eu-west-1")).toEqual([]);
    });
});
