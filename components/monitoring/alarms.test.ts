import { auroraUsableConnections, RESERVED_CONNECTIONS } from "../config/capacity";
import { CONFIG_SCHEMA } from "../config/schema";
import {
    AlarmSpec, billedAlarmMetrics, connectionsThreshold, dashboardName, DEFAULT_ALARM_THRESHOLDS, ERROR_RATE_EXPRESSION, ERROR_RATE_MIN_REQUESTS, MonitoringInput, renderAlarms,
} from "./alarms";
import { renderDashboardBody } from "./dashboard";

const INPUT: MonitoringInput = {
    loadBalancer: "app/mlflow-aws-proxy-alb/50dc6c495c0c9188",
    services: [
        { key: "tracking", title: "MLflow at /", clusterName: "c-1", serviceName: "s-root", targetGroup: "targetgroup/mlflow-1/73e2d6bc24d8a067" },
        { key: "project-alpha", title: "project alpha", clusterName: "c-1", serviceName: "s-alpha", targetGroup: "targetgroup/mlflow-2/0123" },
        { key: "model-churn", title: "model churn", clusterName: "c-1", serviceName: "s-churn", targetGroup: "targetgroup/model-3/4567" },
    ],
    database: { clusterIdentifier: "mlflow-aws-backend-cluster-0a1b2c3", maxCapacity: 2, usableConnections: 80 },
    thresholds: DEFAULT_ALARM_THRESHOLDS,
};

const byKey = (specs: AlarmSpec[], key: string): AlarmSpec => {
    const found = specs.find(s => s.key === key);
    if (found === undefined) throw new Error(`no alarm ${key} among ${specs.map(s => s.key).join(", ")}`);
    return found;
};

describe("renderAlarms", () => {
    const specs = renderAlarms(INPUT);

    test("one 5xx alarm, four per service, two for the database, in a stable order with unique keys", () => {
        expect(specs.map(s => s.key)).toEqual([
            "lb-5xx-rate",
            "tracking-unhealthy", "tracking-restart-loop", "tracking-memory", "tracking-cpu",
            "project-alpha-unhealthy", "project-alpha-restart-loop", "project-alpha-memory", "project-alpha-cpu",
            "model-churn-unhealthy", "model-churn-restart-loop", "model-churn-memory", "model-churn-cpu",
            "db-capacity-max", "db-connections",
        ]);
    });

    // key, namespace, metric, statistic, period, comparison, threshold, periods, datapoints, missing data, dimensions
    test.each([
        ["tracking-unhealthy", "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", 60, "GreaterThanThreshold", 0, 5, 5, "notBreaching",
            { TargetGroup: "targetgroup/mlflow-1/73e2d6bc24d8a067", LoadBalancer: INPUT.loadBalancer }],
        ["tracking-restart-loop", "AWS/ApplicationELB", "HealthyHostCount", "Maximum", 60, "LessThanThreshold", 1, 5, 5, "breaching",
            { TargetGroup: "targetgroup/mlflow-1/73e2d6bc24d8a067", LoadBalancer: INPUT.loadBalancer }],
        ["project-alpha-memory", "AWS/ECS", "MemoryUtilization", "Maximum", 60, "GreaterThanOrEqualToThreshold", 90, 5, 5, "notBreaching",
            { ClusterName: "c-1", ServiceName: "s-alpha" }],
        ["model-churn-cpu", "AWS/ECS", "CPUUtilization", "Average", 300, "GreaterThanOrEqualToThreshold", 90, 3, 3, "notBreaching",
            { ClusterName: "c-1", ServiceName: "s-churn" }],
        ["db-capacity-max", "AWS/RDS", "ServerlessDatabaseCapacity", "Minimum", 300, "GreaterThanOrEqualToThreshold", 2, 3, 3, "notBreaching",
            { DBClusterIdentifier: "mlflow-aws-backend-cluster-0a1b2c3", Role: "WRITER" }],
        ["db-connections", "AWS/RDS", "DatabaseConnections", "Maximum", 60, "GreaterThanOrEqualToThreshold", 64, 5, 5, "notBreaching",
            { DBClusterIdentifier: "mlflow-aws-backend-cluster-0a1b2c3", Role: "WRITER" }],
    ] as const)("%s: %s %s (%s over %is) %s %d in %i of %i, missing data %s", (key, namespace, metricName, stat, period, comparison, threshold, periods, datapoints, missing, dimensions) => {
        const s = byKey(specs, key);
        expect(s.metric).toEqual({ namespace, metricName, stat, period, dimensions });
        expect(s.expression).toBeUndefined();
        expect([s.comparison, s.threshold, s.evaluationPeriods, s.datapointsToAlarm, s.treatMissingData]).toEqual([comparison, threshold, periods, datapoints, missing]);
        expect(s.description).toMatch(/Runbook: docs\/observability\.md, Alarms on AWS, "[^"]+"\.$/);
    });

    test("every description fits PutMetricAlarm's 1024 characters, at the longest project name", () => {
        const long = renderAlarms({ ...INPUT, services: [{ ...INPUT.services[1], key: `project-${"p".repeat(63)}`, title: `project ${"p".repeat(63)}` }] });
        expect(Math.max(...long.map(s => s.description.length))).toBeLessThanOrEqual(1024);
    });

    test("the 5xx rate is metric math over the load balancer's target 5xx, own 5xx and requests, 5-minute sums", () => {
        const s = byKey(specs, "lb-5xx-rate");
        expect(s.metric).toBeUndefined();
        expect(s.expression!.metrics.map(m => [m.namespace, m.metricName, m.stat, m.period, m.dimensions])).toEqual([
            ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", 300, { LoadBalancer: INPUT.loadBalancer }],
            ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", 300, { LoadBalancer: INPUT.loadBalancer }],
            ["AWS/ApplicationELB", "RequestCount", "Sum", 300, { LoadBalancer: INPUT.loadBalancer }],
        ]);
        expect([s.comparison, s.threshold, s.evaluationPeriods, s.datapointsToAlarm, s.treatMissingData]).toEqual(["GreaterThanThreshold", 5, 3, 2, "notBreaching"]);
        expect(billedAlarmMetrics(s)).toBe(3);
        expect(specs.filter(x => x !== s).map(billedAlarmMetrics)).toEqual(specs.slice(1).map(() => 1));
    });

    test("the service's title and thresholds from config reach the descriptions and thresholds", () => {
        const t = { errorRatePercent: 2.5, cpuPercent: 75, memoryPercent: 85, dbConnectionsPercent: 50 };
        const custom = renderAlarms({ ...INPUT, thresholds: t });
        expect([byKey(custom, "lb-5xx-rate").threshold, byKey(custom, "tracking-cpu").threshold, byKey(custom, "tracking-memory").threshold, byKey(custom, "db-connections").threshold])
            .toEqual([2.5, 75, 85, 40]);
        expect(byKey(custom, "project-alpha-memory").description).toMatch(/^project alpha: a task used 85% or more of its memory/);
        expect(byKey(custom, "db-connections").description).toContain("40 connections or more (50% of the 80");
    });
});

/**
 * The expression evaluated as CloudWatch's metric math does for one period (IF, FILL, + * / >=;
 * undefined = no data point), by a small parser of that subset, so the test reads the string
 * the alarm is given rather than a copy of the formula.
 */
function errorRate(target5xx: number | undefined, elb5xx: number | undefined, requests: number | undefined): number {
    const values: Record<string, number | undefined> = { m1: target5xx, m2: elb5xx, m3: requests };
    const tokens = ERROR_RATE_EXPRESSION.match(/[A-Za-z_]\w*|\d+(\.\d+)?|>=|[-+*/(),]/g)!;
    let i = 0;
    const next = () => tokens[i++];
    const expect_ = (t: string) => { if (next() !== t) throw new Error(`expected ${t} at ${i}`); };
    const primary = (): number => {
        const t = next();
        if (t === "(") { const v = comparison(); expect_(")"); return v; }
        if (t === "IF") { expect_("("); const c = comparison(); expect_(","); const a = comparison(); expect_(","); const b = comparison(); expect_(")"); return c ? a : b; }
        if (t === "FILL") { expect_("("); const m = next(); expect_(","); const d = comparison(); expect_(")"); return values[m] ?? d; }
        if (/^\d/.test(t)) return Number(t);
        throw new Error(`unexpected ${t}`);
    };
    const term = (): number => { let v = primary(); while (tokens[i] === "*" || tokens[i] === "/") v = next() === "*" ? v * primary() : v / primary(); return v; };
    const sum = (): number => { let v = term(); while (tokens[i] === "+" || tokens[i] === "-") v = next() === "+" ? v + term() : v - term(); return v; };
    function comparison(): number { const v = sum(); if (tokens[i] === ">=") { next(); return v >= sum() ? 1 : 0; } return v; }
    const result = comparison();
    expect(i).toBe(tokens.length);
    return result;
}

describe("ERROR_RATE_EXPRESSION", () => {
    test.each([
        // target 5xx, ELB 5xx, requests, rate
        [undefined, undefined, 1000, 0],
        [50, undefined, 1000, 5],
        [undefined, 10, 90, 10], // 503 without a target: not in RequestCount, so in the denominator
        [undefined, 30, undefined, 100], // nothing reaches a target: all 5xx
        [3, undefined, ERROR_RATE_MIN_REQUESTS - 1, 0], // too few requests for a rate
        [4, undefined, ERROR_RATE_MIN_REQUESTS, 20],
    ])("target %p, ELB %p, requests %p: %p%%", (t, e, r, rate) => {
        expect(errorRate(t, e, r)).toBeCloseTo(rate, 6);
    });
});

describe("connectionsThreshold: the budget config/capacity.ts computed, not a formula of its own", () => {
    test.each([
        // engine, min ACU, max ACU, percent, threshold
        ["mysql", 0, 2, 80, Math.floor((90 - RESERVED_CONNECTIONS) * 0.8)],
        ["mysql", 0.5, 8, 80, 792],
        ["postgres", 0, 2, 80, 143],
        ["postgres", 1, 16, 100, 3350],
        ["mysql", 0, 1, 10, 8],
    ] as const)("%s %s-%s ACU at %i%%: %i", (engine, min, max, percent, expected) => {
        expect(connectionsThreshold(auroraUsableConnections(engine, min, max), percent)).toBe(expected);
    });

    test("never below one connection", () => {
        expect(connectionsThreshold(0, 80)).toBe(1);
    });
});

describe("defaults", () => {
    test("the schema's defaults are the renderer's", () => {
        expect({
            errorRatePercent: CONFIG_SCHEMA.alarm5xxPercent.default, cpuPercent: CONFIG_SCHEMA.alarmCpuPercent.default,
            memoryPercent: CONFIG_SCHEMA.alarmMemoryPercent.default, dbConnectionsPercent: CONFIG_SCHEMA.alarmDbConnectionsPercent.default,
        }).toEqual(DEFAULT_ALARM_THRESHOLDS);
    });
});

describe("dashboardName", () => {
    test.each([
        ["mlflow-aws", "mlflow-aws"],
        ["mlflow-prod.eu", "mlflow-prod-eu"],
        ["mlflow-a_b", "mlflow-a_b"],
    ])("%s -> %s", (name, expected) => {
        expect(dashboardName(name)).toBe(expected);
    });
});

describe("renderDashboardBody", () => {
    const arns = ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a", "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:b"];
    const body = JSON.parse(renderDashboardBody(INPUT, "eu-west-1", arns)) as { widgets: { type: string; x: number; y: number; width: number; height: number; properties: any }[] };

    test("the alarms on top, then the load balancer, a row per service and the database, none overlapping", () => {
        expect(body.widgets[0]).toMatchObject({ type: "alarm", properties: { alarms: arns } });
        expect(body.widgets.map(w => w.properties.title)).toEqual([
            "Alarms", "Load balancer: requests and 5xx", "Load balancer: 5xx per 100 requests",
            "MLflow at /: healthy and unhealthy tasks", "MLflow at /: CPU and memory (%)",
            "project alpha: healthy and unhealthy tasks", "project alpha: CPU and memory (%)",
            "model churn: healthy and unhealthy tasks", "model churn: CPU and memory (%)",
            "Aurora writer: capacity (ACU)", "Aurora writer: connections",
        ]);
        const cells = new Set<string>();
        for (const w of body.widgets) {
            expect(w.x + w.width).toBeLessThanOrEqual(24);
            for (let x = w.x; x < w.x + w.width; x++) for (let y = w.y; y < w.y + w.height; y++) {
                expect(cells.has(`${x},${y}`)).toBe(false);
                cells.add(`${x},${y}`);
            }
        }
    });

    test("every metric graph is in the region and shows the alarms' metrics with their dimensions", () => {
        const metrics = body.widgets.filter(w => w.type === "metric");
        expect(new Set(metrics.map(w => w.properties.region))).toEqual(new Set(["eu-west-1"]));
        const rows = metrics.flatMap(w => w.properties.metrics as unknown[][]).filter(r => typeof r[0] === "string").map(r => r.slice(0, -1).join(" "));
        for (const s of renderAlarms(INPUT)) {
            for (const m of s.metric ? [s.metric] : s.expression!.metrics) {
                expect(rows).toContain([m.namespace, m.metricName, ...Object.entries(m.dimensions).flat()].join(" "));
            }
        }
        const rate = metrics.find(w => w.properties.title === "Load balancer: 5xx per 100 requests")!;
        expect(rate.properties.metrics.at(-1)).toEqual([{ expression: ERROR_RATE_EXPRESSION, label: "5xx per 100 requests", id: "e1" }]);
    });

    test("the thresholds are drawn where the alarms fire", () => {
        const annotation = (title: string) => body.widgets.find(w => w.properties.title === title)!.properties.annotations.horizontal;
        expect(annotation("Load balancer: 5xx per 100 requests")).toEqual([{ value: 5, label: "alarm" }]);
        expect(annotation("Aurora writer: capacity (ACU)")).toEqual([{ value: 2, label: "dbMaxCapacity" }]);
        expect(annotation("Aurora writer: connections")).toEqual([{ value: 64, label: "alarm" }, { value: 80, label: "budget" }]);
    });
});
