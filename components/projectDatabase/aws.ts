// AWS project database: the project user's generated password in its own Secrets Manager
// secret. The user and database are created by the one-shot init container in the project's
// ECS task (shared/ecs.ts, images/tracking-server/project_db_init.py), which alone also gets
// the Aurora master secret; the project's MLflow container gets only this secret.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { secretWithVersion } from "../shared/aws";
import type { AwsProjectDatabaseArgs, AwsProjectDatabaseOutputs } from "./types";
import { renderTlsDatabaseUri } from "../backendStore/aurora";

/** The local target's specials (components/projectDatabase/docker.ts): they exercise URI encoding. */
const PASSWORD_SPECIALS = "-_.~@:%+=";

/** `username` and `password` (the master secret's shape), and `uri` when asked for. */
function secretValue(args: AwsProjectDatabaseArgs, password: pulumi.Output<string>): pulumi.Output<string> {
    const at = args.uriOf;
    if (at === undefined) return password.apply(p => JSON.stringify({ username: args.username, password: p }));
    return pulumi.all([password, at.host, at.port]).apply(([p, host, port]) => JSON.stringify({
        username: args.username, password: p,
        uri: renderTlsDatabaseUri({ engine: at.engine, host, port, database: args.databaseName, username: args.username, password: p }),
    }));
}

export function buildAwsProjectDatabase(parent: pulumi.Resource, name: string, args: AwsProjectDatabaseArgs): AwsProjectDatabaseOutputs {
    const password = new random.RandomPassword(`${name}-password`, { length: 32, special: true, overrideSpecial: PASSWORD_SPECIALS, minSpecial: 2 }, { parent });
    const { secret, version } = secretWithVersion(parent, `${name}-secret`, {
        description: `MLflow project database user ${args.username} (database ${args.databaseName})`,
        value: secretValue(args, password.result),
        recoveryWindowInDays: 7,
        tags: args.tags ?? {},
        retainOnDelete: args.retainOnDelete ?? true,
    });
    return {
        databaseName: pulumi.output(args.databaseName),
        username: pulumi.output(args.username),
        // Tasks read the secret at start: the ARN resolves once a value is stored.
        secretArn: pulumi.all([version.id, secret.arn]).apply(([, arn]) => arn),
    };
}
