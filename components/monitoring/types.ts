// Monitoring args. The component exists on the aws target only: CloudWatch alarms, an SNS topic
// and a dashboard over the services, load balancer and database the other components made.
import type * as pulumi from "@pulumi/pulumi";
import type { AlarmThresholds } from "./alarms";

export const MONITORING_TYPE = "mlflow:index:Monitoring";

/** One ECS service behind its own target group (the server at `/`, a project's, a model's). */
export interface AwsMonitoredService {
    /** Part of its alarms' names: `tracking`, `project-<name>`, `model-<slug>`. */
    readonly key: string;
    /** What a person reads in the alarm and on the dashboard. */
    readonly title: string;
    readonly clusterName: pulumi.Input<string>;
    readonly serviceName: pulumi.Input<string>;
    /** The target group's ARN suffix (CloudWatch's TargetGroup dimension). */
    readonly targetGroupArnSuffix: pulumi.Input<string>;
}

export interface AwsMonitoringArgs {
    readonly target: "aws";
    readonly region: string;
    /** The load balancer's ARN suffix (CloudWatch's LoadBalancer dimension). */
    readonly loadBalancerArnSuffix: pulumi.Input<string>;
    readonly services: readonly AwsMonitoredService[];
    readonly database: {
        readonly clusterIdentifier: pulumi.Input<string>;
        readonly maxCapacity: number;
        /** The connection budget (config/capacity.ts auroraUsableConnections). */
        readonly usableConnections: number;
    };
    readonly thresholds: AlarmThresholds;
    /** Subscribed to the topic by e-mail; AWS mails a confirmation link and delivers nothing before it is followed. */
    readonly alarmEmail?: string;
    /** CloudWatch's dashboard name: letters, digits, `-` and `_` only. */
    readonly dashboardName: string;
    readonly tags?: Record<string, string>;
}

export type MonitoringArgs = AwsMonitoringArgs;

export interface MonitoringOutputs {
    /** The SNS topic every alarm notifies: subscribe a pager or chat to it. */
    readonly alarmTopicArn: pulumi.Output<string>;
    readonly dashboardName: pulumi.Output<string>;
}
