import {
    auroraMaxConnections, checkConnectionBudget, connectionBudgetProblem, connectionDemand, DEFAULT_POOL, ECS_DEPLOYMENT_OVERLAP, ENGINES_PER_WORKER,
    MYSQL_DEFAULT_MAX_CONNECTIONS, RESERVED_CONNECTIONS,
} from "./capacity";

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
