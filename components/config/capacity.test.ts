import {
    auroraCapacityForProjects, auroraMaxConnections, awsProjectsBudgetProblem, checkConnectionBudget, clusterConnections, connectionBudgetProblem, connectionDemand, DEFAULT_POOL,
    ECS_DEPLOYMENT_OVERLAP, ENGINES_PER_WORKER, JOB_EXECUTION_PROCESSES, MYSQL_DEFAULT_MAX_CONNECTIONS, PROJECT_POOL, projectsThatFit, RESERVED_CONNECTIONS,
    readerBudgetProblem, ServerFleet, serverDemand,
} from "./capacity";
import { CONFIG_SCHEMA } from "./schema";

describe("auroraMaxConnections (AWS table by maximum ACU)", () => {
    test.each([
        // engine, min ACU, max ACU, expected
        ["mysql", 0, 1, 90],
        ["mysql", 0, 2, 90], // between rows: the lower row
        ["mysql", 0.5, 4, 135],
        ["mysql", 1, 16, 2000],
        ["mysql", 1, 256, 5000],
        ["postgres", 1, 1, 189],
        ["postgres", 0, 2, 189],
        ["postgres", 1, 8, 1669],
        ["postgres", 1, 16, 3360],
        ["postgres", 0.5, 16, 2000], // PostgreSQL with min 0 / 0.5 ACU is capped at 2,000
        ["postgres", 0, 64, 2000],
        ["postgres", 2, 64, 5000],
    ] as const)("%s min %s max %s -> %s", (engine, min, max, expected) => {
        expect(auroraMaxConnections(engine, min, max)).toBe(expected);
    });

    test("below 1 ACU maximum there is no documented value", () => {
        expect(() => auroraMaxConnections("mysql", 0, 0.5)).toThrow(/at least 1 ACU/);
    });
});

describe("checkConnectionBudget", () => {
    const perWorker = (DEFAULT_POOL.poolSize + DEFAULT_POOL.maxOverflow) * ENGINES_PER_WORKER;

    test.each([
        // workers, maxTasks, overlap, limit, fits
        [2, 1, 1, MYSQL_DEFAULT_MAX_CONNECTIONS, true], // local default
        [4, 1, 1, MYSQL_DEFAULT_MAX_CONNECTIONS, true],
        [4, 3, 2, 90, false], // the old aws default (4 workers) on Aurora MySQL at 2 ACU max
        [2, 3, 2, 90, true],
        [1, 2, 2, 90, true],
        [2, 3, 2, 823, true],
    ])("%i workers x %i tasks x %i overlap vs %i", (workers, maxTasks, overlap, limit, fits) => {
        const v = checkConnectionBudget({ pool: DEFAULT_POOL, workers, maxTasks, deploymentOverlap: overlap }, limit);
        expect(v.demand).toBe(perWorker * workers * maxTasks * overlap);
        expect(v.usable).toBe(limit - RESERVED_CONNECTIONS);
        expect(v.fits).toBe(fits);
        expect(v.problem === undefined).toBe(fits);
    });

    test("the problem says what multiplies to what, and the largest worker count that fits", () => {
        const v = checkConnectionBudget({ pool: { poolSize: 5, maxOverflow: 10, recycleSeconds: 280 }, workers: 4, maxTasks: 3, deploymentOverlap: 2 }, 151);
        expect(v.demand).toBe(15 * ENGINES_PER_WORKER * 4 * 3 * 2);
        expect(v.problem).toContain(`(5 pool + 10 overflow) x ${ENGINES_PER_WORKER} engines x 4 workers x 3 tasks x 2 during deployments = ${v.demand} connections`);
        expect(v.problem).toContain("the database allows 151");
        expect(v.maxWorkers).toBe(Math.floor(141 / (15 * ENGINES_PER_WORKER * 3 * 2)));
    });

    test("demand is linear in every factor", () => {
        const base = { pool: DEFAULT_POOL, workers: 1, maxTasks: 1, deploymentOverlap: 1 };
        expect(connectionDemand({ ...base, workers: 3 })).toBe(3 * connectionDemand(base));
        expect(connectionDemand({ ...base, maxTasks: 5 })).toBe(5 * connectionDemand(base));
        expect(connectionDemand({ ...base, pool: { ...DEFAULT_POOL, maxOverflow: DEFAULT_POOL.maxOverflow + 1 } }))
            .toBe(connectionDemand(base) + ENGINES_PER_WORKER);
    });
});

describe("connectionBudgetProblem (the config-time check)", () => {
    const perWorker = (DEFAULT_POOL.poolSize + DEFAULT_POOL.maxOverflow) * ENGINES_PER_WORKER;

    test("fits: no problem", () => {
        expect(connectionBudgetProblem(1, 1, 1, MYSQL_DEFAULT_MAX_CONNECTIONS, "x")).toBeUndefined();
    });

    test("too many workers: names mlflowWorkers and the count that fits", () => {
        const workers = Math.ceil((MYSQL_DEFAULT_MAX_CONNECTIONS - RESERVED_CONNECTIONS) / perWorker) + 1;
        const problems = connectionBudgetProblem(workers, 1, 1, MYSQL_DEFAULT_MAX_CONNECTIONS, "the mysql container's max_connections")!;
        expect(problems).toHaveLength(1);
        const [key, value, allowed, example] = problems[0];
        expect([key, value]).toEqual(["mlflowWorkers", String(workers)]);
        expect(allowed).toMatch(/^must fit the mysql container's max_connections: .* connections, but the database allows 151/);
        expect(Number(example)).toBe(Math.floor((MYSQL_DEFAULT_MAX_CONNECTIONS - RESERVED_CONNECTIONS) / perWorker));
    });

    test("not even one worker fits: names maxTasks", () => {
        const limit = RESERVED_CONNECTIONS + perWorker * ECS_DEPLOYMENT_OVERLAP * 2; // room for 2 tasks of 1 worker
        const [key, value, allowed, example] = connectionBudgetProblem(1, 5, ECS_DEPLOYMENT_OVERLAP, limit, "Aurora")![0];
        expect([key, value, example]).toEqual(["maxTasks", "5", "2"]);
        expect(allowed).toContain("raise dbMaxCapacity or lower maxTasks to 2");
    });
});

describe("projects beside the server at / on Aurora (the aws target's budget)", () => {
    // The defaults, from the schema: `/` with mlflowWorkers 1 (aws) x maxTasks, each project with its own fleet.
    const root: ServerFleet = { pool: DEFAULT_POOL, workers: 1, maxTasks: CONFIG_SCHEMA.maxTasks.default, deploymentOverlap: ECS_DEPLOYMENT_OVERLAP, jobExecution: false };
    const project: ServerFleet = {
        pool: PROJECT_POOL, workers: CONFIG_SCHEMA.projectWorkers.default, maxTasks: CONFIG_SCHEMA.projectMaxTasks.default,
        deploymentOverlap: ECS_DEPLOYMENT_OVERLAP, jobExecution: CONFIG_SCHEMA.projectJobExecution.default,
    };
    const defaultLimit = auroraMaxConnections("mysql", CONFIG_SCHEMA.dbMinCapacity.default, CONFIG_SCHEMA.dbMaxCapacity.default);

    test("demand per server: / 36 (3 tasks x 2 x 6), a project 8 (1 task x 2 x 4)", () => {
        expect(serverDemand(root)).toBe(36);
        expect(serverDemand(project)).toBe(8);
        // Job execution adds its 8 single-job processes, one connection per engine each, per task.
        expect(serverDemand({ ...project, jobExecution: true })).toBe(8 + JOB_EXECUTION_PROCESSES * ENGINES_PER_WORKER * 2);
    });

    test.each([
        // projects on the default aws stack (Aurora MySQL, 0-2 ACU: max_connections 90, 80 usable)
        [0, true], [1, true], [4, true],
        [5, true], // 36 + 5 x 8 = 76 <= 80
        [6, false], // 36 + 6 x 8 = 84 > 80
    ])("%i projects on the default aws stack: fits %p", (projects, fits) => {
        expect(defaultLimit).toBe(90);
        expect(awsProjectsBudgetProblem(root, project, projects, defaultLimit, "Aurora", 4) === undefined).toBe(fits);
    });

    // The largest project count at each dbMaxCapacity of AWS's table, dbMinCapacity 0 (docs/benchmarks.md, "Project capacity").
    test.each([
        ["mysql", 1, 5], ["mysql", 2, 5], ["mysql", 4, 11], ["mysql", 8, 119], ["mysql", 16, 244], ["mysql", 32, 369], ["mysql", 64, 494], ["mysql", 128, 619],
        ["postgres", 1, 17], ["postgres", 2, 17], ["postgres", 4, 97], ["postgres", 8, 202], ["postgres", 16, 244], ["postgres", 128, 244],
    ] as const)("%s at dbMaxCapacity %s holds %i projects", (engine, maxAcu, most) => {
        const limit = auroraMaxConnections(engine, 0, maxAcu);
        expect(projectsThatFit(root, project, limit)).toBe(most);
        expect(awsProjectsBudgetProblem(root, project, most, limit, "Aurora", undefined)).toBeUndefined();
        expect(awsProjectsBudgetProblem(root, project, most + 1, limit, "Aurora", undefined)?.[0][3]).toBe(String(most));
    });

    test("/ alone filling the limit leaves no project", () => {
        expect(projectsThatFit(root, project, RESERVED_CONNECTIONS + 36)).toBe(0);
        expect(projectsThatFit(root, project, RESERVED_CONNECTIONS + 10)).toBe(0);
    });

    test("the refusal names both fleets' arithmetic, the count that fits and the dbMaxCapacity that holds them all", () => {
        const [[key, value, allowed, fitting]] = awsProjectsBudgetProblem(root, project, 6, 90, "Aurora's max_connections at dbMaxCapacity 2", 4)!;
        expect([key, value, fitting]).toEqual(["projects", "6 projects", "5"]);
        expect(allowed).toBe("must fit Aurora's max_connections at dbMaxCapacity 2: the server at / (36 connections) + 6 projects x 8 connections each"
            + " ((1 pool + 1 overflow) x 2 engines x 1 workers x 1 tasks x 2 during deployments) = 84, but the database allows 90 (80 after 10 reserved);"
            + " at most 5 projects fit, or pulumi config set dbMaxCapacity 4");
    });

    test.each([
        // engine, min ACU, projects, smallest dbMaxCapacity of the table that holds them
        ["mysql", 0, 5, 1],
        ["mysql", 0, 6, 4],
        ["mysql", 0, 12, 8],
        ["mysql", 0, 620, undefined], // beyond the largest row
        ["mysql", 6, 12, 8],
        ["mysql", 10, 12, 10], // never below dbMinCapacity
        ["postgres", 0, 18, 4],
        ["postgres", 0, 245, undefined], // capped at 2,000 with a minimum of 0 ACU
        ["postgres", 1, 245, 16],
    ] as const)("%s min %s: %i projects need dbMaxCapacity %p", (engine, minAcu, projects, acu) => {
        expect(auroraCapacityForProjects(engine, minAcu, root, project, projects)).toBe(acu);
    });

    describe("reader instances (dbReaderInstances)", () => {
        test.each([
            // projects, readers: writer and each reader's connections (each server's read pools mirror its write pools)
            [0, 0, 36, 0],
            [0, 1, 36, 36],
            [5, 0, 76, 0],
            [5, 1, 76, 76], // the writer keeps its pools: readers make no room for a sixth project
            [5, 3, 76, 76], // DNS round robin promises no balance: each reader is planned for all of them
        ])("%i projects, %i readers: writer %i, each reader %i", (projects, readers, writer, perReader) => {
            expect(clusterConnections(root, project, projects, readers)).toEqual({ writer, readers, perReader });
        });

        test("each reader holds the read demand on the default stack with 5 projects; not with a reader too small", () => {
            const c = clusterConnections(root, project, 5, 1);
            expect(readerBudgetProblem(c, defaultLimit, "Aurora")).toBeUndefined();
            const [[key, value, allowed, fix]] = readerBudgetProblem(c, 80, "Aurora's max_connections at dbMaxCapacity 2")!;
            expect([key, value, fix]).toEqual(["dbReaderInstances", "1", "0"]);
            expect(allowed).toContain("76 connections to the reader endpoint");
            expect(allowed).toContain("a reader allows 80 (70 after 10 reserved)");
        });

        test("job execution's processes read through the reader too", () => {
            const withJobs = { ...project, jobExecution: true };
            expect(clusterConnections(root, withJobs, 1, 1).perReader).toBe(36 + serverDemand(withJobs));
        });

        test.each([-1, 1.5])("a reader count of %p is refused", readers => {
            expect(() => clusterConnections(root, project, 0, readers)).toThrow("reader instances");
        });
    });
});
