// Database connection budget: every MLflow worker of every task holds its own SQLAlchemy
// pools, so pool x workers x tasks must fit the server's connection limit, or a scale-out
// (or a rolling deployment) meets "Too many connections" instead of more capacity.
// Pure: components/config calls it and turns a problem into a refused `pulumi up`.

export type Engine = "mysql" | "postgres";

/** SQLAlchemy pool of one engine (MLFLOW_SQLALCHEMYSTORE_POOL_SIZE / _MAX_OVERFLOW / _POOL_RECYCLE). */
export interface PoolSettings {
    readonly poolSize: number;
    readonly maxOverflow: number;
    readonly recycleSeconds: number;
}

/**
 * Per engine: 2 kept + 1 on demand. Bench runs (docs/benchmarks.md) showed no throughput loss
 * against SQLAlchemy's 5 + 10 at 8 and 32 clients: a worker's requests share one GIL, so more
 * connections per worker do not add speed, only load on the database. Recycling after 280 s
 * stays below the 300 s idle limits of proxies and NAT in front of a database.
 */
export const DEFAULT_POOL: PoolSettings = { poolSize: 2, maxOverflow: 1, recycleSeconds: 280 };

/**
 * SQLAlchemy engines one MLflow server worker opens against the backend store: the tracking
 * store and the model-registry store each create their own (mlflow/store/tracking and
 * mlflow/store/model_registry sqlalchemy_store.py, `_engine_map`). MLflow's job runner and
 * huey consumers (MLFLOW_SERVER_ENABLE_JOB_EXECUTION) are separate processes with their own
 * engines and are not counted: they run only where job execution is on.
 */
export const ENGINES_PER_WORKER = 2;

/** Connections the server keeps for itself: administrators, monitoring, `mlflow db upgrade`. */
export const RESERVED_CONNECTIONS = 10;

/** MySQL 8's and MariaDB's default max_connections (the local target's database). */
export const MYSQL_DEFAULT_MAX_CONNECTIONS = 151;
/** PostgreSQL's default max_connections (postgresql.conf), the local postgres target. */
export const POSTGRES_DEFAULT_MAX_CONNECTIONS = 100;

/**
 * Aurora Serverless v2 default max_connections by *maximum* ACU (static: it follows the
 * maximum capacity, not the current one, and changes only after a reboot). Source: Amazon
 * Aurora User Guide, "Performance and scaling for Aurora Serverless v2", section "Maximum
 * connections for Aurora Serverless v2"
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.setting-capacity.html#aurora-serverless-v2.max-connections),
 * read 2026-11-25. Between rows the lower row applies (the limit grows with memory).
 */
export const AURORA_SERVERLESS_V2_MAX_CONNECTIONS: ReadonlyArray<{ maxAcu: number; mysql: number; postgres: number }> = [
    { maxAcu: 1, mysql: 90, postgres: 189 },
    { maxAcu: 4, mysql: 135, postgres: 823 },
    { maxAcu: 8, mysql: 1000, postgres: 1669 },
    { maxAcu: 16, mysql: 2000, postgres: 3360 },
    { maxAcu: 32, mysql: 3000, postgres: 5000 },
    { maxAcu: 64, mysql: 4000, postgres: 5000 },
    { maxAcu: 128, mysql: 5000, postgres: 5000 },
];
/** Same page: with a minimum capacity of 0 or 0.5 ACU, Aurora PostgreSQL caps max_connections at 2,000. */
export const AURORA_POSTGRES_LOW_MIN_CAP = 2000;

export function auroraMaxConnections(engine: Engine, minAcu: number, maxAcu: number): number {
    if (!(maxAcu >= 1)) throw new Error(`Aurora Serverless v2 maximum capacity must be at least 1 ACU, got ${maxAcu}`);
    const rows = AURORA_SERVERLESS_V2_MAX_CONNECTIONS.filter(r => r.maxAcu <= maxAcu);
    const limit = rows[rows.length - 1][engine];
    return engine === "postgres" && minAcu <= 0.5 ? Math.min(limit, AURORA_POSTGRES_LOW_MIN_CAP) : limit;
}

/**
 * The connections MLflow may use on an Aurora Serverless v2 instance: its max_connections at
 * the capacity range, less RESERVED_CONNECTIONS. The config check fits every fleet into this;
 * the connections alarm (components/monitoring) fires as use nears it.
 */
export function auroraUsableConnections(engine: Engine, minAcu: number, maxAcu: number): number {
    return Math.max(0, auroraMaxConnections(engine, minAcu, maxAcu) - RESERVED_CONNECTIONS);
}

export interface ConnectionDemand {
    readonly pool: PoolSettings;
    readonly workers: number;
    /** Tasks or containers at most (the autoscaler's maximum; 1 locally). */
    readonly maxTasks: number;
    /**
     * Rolling deployments run old and new tasks side by side: ECS deploymentMaximumPercent / 100
     * (2 for this program's services), 1 when nothing overlaps.
     */
    readonly deploymentOverlap: number;
}

/** Connections the fleet can open at most. */
export function connectionDemand(d: ConnectionDemand): number {
    return (d.pool.poolSize + d.pool.maxOverflow) * ENGINES_PER_WORKER * d.workers * d.maxTasks * d.deploymentOverlap;
}

export interface CapacityVerdict {
    readonly demand: number;
    readonly limit: number;
    /** limit minus RESERVED_CONNECTIONS: what MLflow may use. */
    readonly usable: number;
    readonly fits: boolean;
    /** Why it does not fit and what would, in words; undefined when it fits. */
    readonly problem?: string;
    /** The largest worker count (>= 1) that fits with everything else unchanged, or 0 if none. */
    readonly maxWorkers: number;
}

export function checkConnectionBudget(d: ConnectionDemand, limit: number): CapacityVerdict {
    const demand = connectionDemand(d);
    const usable = Math.max(0, limit - RESERVED_CONNECTIONS);
    const perWorker = connectionDemand({ ...d, workers: 1 });
    const maxWorkers = Math.floor(usable / perWorker);
    if (demand <= usable) return { demand, limit, usable, fits: true, maxWorkers };
    const problem = `(${d.pool.poolSize} pool + ${d.pool.maxOverflow} overflow) x ${ENGINES_PER_WORKER} engines x ${d.workers} workers`
        + ` x ${d.maxTasks} tasks x ${d.deploymentOverlap} during deployments = ${demand} connections,`
        + ` but the database allows ${limit} (${usable} after ${RESERVED_CONNECTIONS} reserved)`;
    return { demand, limit, usable, fits: false, problem, maxWorkers };
}

/** The local target's database containers keep their images' default max_connections. */
export const LOCAL_MAX_CONNECTIONS: Record<Engine, number> = {
    mysql: MYSQL_DEFAULT_MAX_CONNECTIONS,
    postgres: POSTGRES_DEFAULT_MAX_CONNECTIONS,
};

/** ECS services here deploy with deploymentMaximumPercent 200: old and new tasks overlap, twice the tasks. */
export const ECS_DEPLOYMENT_OVERLAP = 2;

/** Arguments for config.ts's Reader.fail: key, value, what is allowed, the value that fixes it. */
export type ConfigProblem = [key: string, value: string, allowed: string, example: string];

/**
 * The config-time check: undefined when the workers fit `limit`; otherwise the problem, named
 * on `mlflowWorkers` with the largest count that fits, or on `maxTasks` when not even one
 * worker fits.
 */
export function connectionBudgetProblem(workers: number, maxTasks: number, overlap: number, limit: number, limitName: string): ConfigProblem[] | undefined {
    const v = checkConnectionBudget({ pool: DEFAULT_POOL, workers, maxTasks, deploymentOverlap: overlap }, limit);
    if (v.fits) return undefined;
    if (v.maxWorkers >= 1) {
        return [["mlflowWorkers", String(workers), `must fit ${limitName}: ${v.problem}; at most ${v.maxWorkers} fit`, String(v.maxWorkers)]];
    }
    const perTask = connectionDemand({ pool: DEFAULT_POOL, workers: 1, maxTasks: 1, deploymentOverlap: overlap });
    const tasks = Math.max(1, Math.floor(v.usable / perTask));
    return [["maxTasks", String(maxTasks), `must fit ${limitName} with 1 worker: ${v.problem}; raise dbMaxCapacity or lower maxTasks to ${tasks}`, String(tasks)]];
}

/**
 * A project's server on the aws target. One worker under 32 clients peaked at 5 connections with
 * 2 + 1 per engine, and 13 connections (5 + 10) served no more than 5 (docs/benchmarks.md,
 * "Workers and pool"): a worker's requests share one GIL. 1 + 1 keeps a project's worst case at
 * 4 connections per task, so five projects fit beside `/` on the default Aurora (2 ACU).
 */
export const PROJECT_POOL: PoolSettings = { poolSize: 1, maxOverflow: 1, recycleSeconds: 280 };

/**
 * MLflow's job runner and its 7 huey consumers (docs/benchmarks.md, the process table): with job
 * execution on, each is one more process whose stores open their own engines. Each runs one job
 * at a time, so it holds at most one connection per engine.
 */
export const JOB_EXECUTION_PROCESSES = 8;

/** One server's fleet: its workers' pools and, where it runs, job execution. */
export interface ServerFleet extends ConnectionDemand {
    readonly jobExecution: boolean;
}

/** Connections a server's fleet can open at most, job execution included. */
export function serverDemand(f: ServerFleet): number {
    const jobs = f.jobExecution ? JOB_EXECUTION_PROCESSES * ENGINES_PER_WORKER * f.maxTasks * f.deploymentOverlap : 0;
    return connectionDemand(f) + jobs;
}

/** How many projects fit beside the server at `/` within `limit` (0 when `/` alone fills it). */
export function projectsThatFit(root: ServerFleet, project: ServerFleet, limit: number): number {
    const room = Math.max(0, limit - RESERVED_CONNECTIONS) - serverDemand(root);
    return Math.max(0, Math.floor(room / serverDemand(project)));
}

/** The smallest dbMaxCapacity of AWS's table at which `projects` fit, or undefined when none does. */
export function auroraCapacityForProjects(engine: Engine, minAcu: number, root: ServerFleet, project: ServerFleet, projects: number): number | undefined {
    for (const row of AURORA_SERVERLESS_V2_MAX_CONNECTIONS) {
        const maxAcu = Math.max(row.maxAcu, minAcu);
        if (projectsThatFit(root, project, auroraMaxConnections(engine, minAcu, maxAcu)) >= projects) return maxAcu;
    }
    return undefined;
}

function fleetText(f: ServerFleet): string {
    const jobs = f.jobExecution ? ` + job execution (${JOB_EXECUTION_PROCESSES} processes x ${ENGINES_PER_WORKER} engines x ${f.maxTasks} tasks x ${f.deploymentOverlap})` : "";
    return `(${f.pool.poolSize} pool + ${f.pool.maxOverflow} overflow) x ${ENGINES_PER_WORKER} engines x ${f.workers} workers x ${f.maxTasks} tasks x ${f.deploymentOverlap} during deployments${jobs}`;
}

/**
 * The aws target's projects (each its own ECS service with its own, smaller fleet) beside the
 * server at `/` on one Aurora cluster. Undefined when all fit `limit`; otherwise the problem,
 * named on `projects` with the most that fit, and `raiseTo`, the dbMaxCapacity that holds them
 * all (from auroraCapacityForProjects), as the other fix.
 */
export function awsProjectsBudgetProblem(
    root: ServerFleet, project: ServerFleet, projects: number, limit: number, limitName: string, raiseTo: number | undefined,
): ConfigProblem[] | undefined {
    if (projects === 0) return undefined;
    const fitting = projectsThatFit(root, project, limit);
    if (fitting >= projects) return undefined;
    const rootDemand = serverDemand(root);
    const perProject = serverDemand(project);
    const usable = Math.max(0, limit - RESERVED_CONNECTIONS);
    const raise = raiseTo === undefined ? "" : `, or pulumi config set dbMaxCapacity ${raiseTo}`;
    return [["projects", `${projects} projects`,
        `must fit ${limitName}: the server at / (${rootDemand} connections) + ${projects} projects x ${perProject} connections each`
        + ` (${fleetText(project)}) = ${rootDemand + projects * perProject}, but the database allows ${limit} (${usable} after ${RESERVED_CONNECTIONS} reserved);`
        + ` at most ${fitting} projects fit${raise}`,
        // The parser replaces this with the list cut to the projects that fit.
        String(fitting)]];
}

/** What a cluster's instances must hold: the writer, and each reader with `readers` > 0. */
export interface ClusterConnections {
    readonly writer: number;
    readonly readers: number;
    /** Connections one reader must be able to take; 0 without readers. */
    readonly perReader: number;
}

/**
 * Aurora readers (dbReaderInstances). With a read-replica URI every MLflow store opens a second
 * engine on it with the same pool settings (mlflow/store/tracking/sqlalchemy_store.py,
 * `read_engine`), so each server opens as many connections to the reader endpoint as to the
 * writer, and its writer pools stay as they were. The reader endpoint hands out connections by
 * DNS round robin, which promises no balance: each reader is planned to take the whole read
 * demand. Readers take the read queries (their CPU and ACUs) off the writer; they make no room
 * on the writer for more projects.
 */
export function clusterConnections(root: ServerFleet, project: ServerFleet, projects: number, readers: number): ClusterConnections {
    if (!Number.isInteger(readers) || readers < 0) throw new Error(`reader instances must be a whole number of at least 0, got ${readers}`);
    const demand = serverDemand(root) + projects * serverDemand(project);
    return { writer: demand, readers, perReader: readers > 0 ? demand : 0 };
}

/**
 * Undefined when each reader (same class and capacity range as the writer, so `limit` is its
 * max_connections too) holds the read demand; otherwise the problem, named on dbReaderInstances.
 */
export function readerBudgetProblem(c: ClusterConnections, limit: number, limitName: string): ConfigProblem[] | undefined {
    const usable = Math.max(0, limit - RESERVED_CONNECTIONS);
    if (c.perReader <= usable) return undefined;
    return [["dbReaderInstances", String(c.readers),
        `must fit ${limitName} on each reader: the servers' read pools open ${c.perReader} connections to the reader endpoint,`
        + ` which may send all of them to one reader, but a reader allows ${limit} (${usable} after ${RESERVED_CONNECTIONS} reserved); raise dbMaxCapacity`,
        "0"]];
}
