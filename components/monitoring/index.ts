// The Monitoring component: the class only; args in ./types, the AWS children in ./aws, the
// alarm specs and dashboard body in ./alarms and ./dashboard.
import * as pulumi from "@pulumi/pulumi";
import { buildAwsMonitoring } from "./aws";
import { MONITORING_TYPE, MonitoringArgs, MonitoringOutputs } from "./types";

export * from "./types";

/**
 * CloudWatch alarms on the aws target's load balancer, services and database, all notifying one
 * SNS topic (optionally mailed), and a dashboard of the same signals (docs/observability.md).
 */
export class Monitoring extends pulumi.ComponentResource implements MonitoringOutputs {
    readonly alarmTopicArn: pulumi.Output<string>;
    readonly dashboardName: pulumi.Output<string>;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super(MONITORING_TYPE, name, {}, opts);
        const outputs = buildAwsMonitoring(this, name, args);
        this.alarmTopicArn = outputs.alarmTopicArn;
        this.dashboardName = outputs.dashboardName;
        this.registerOutputs({ ...outputs });
    }
}
