// Names the AWS provider generates: `<resource name>-<7 hex>` (pulumi-terraform-bridge
// AutoName, Randlen 7). Past the type's limit `pulumi up` fails at that resource, after others
// were created; the platform refuses such a name prefix, project or model before anything exists.

import { listCommand } from "./reader";

/** "-" and the 7 random hex characters the provider appends. */
export const AUTONAME_SUFFIX = 8;
/** IAM role names: 64 (IAM quotas; pulumi-aws maps aws_iam_role's name with AutoName("name", 64)). */
export const IAM_ROLE_NAME_MAX = 64;

/**
 * The longest auto-named physical name each server kind brings: its ECS execution role
 * (`<server>-execution`). Every other auto-named resource of a server is shorter or has a
 * longer limit (tests/awsNameLengths.test.ts renders them all at these bounds).
 */
const ROOT_ROLE = "-tracking-execution";
const projectRole = (project: string) => `-project-${project}-tracking-execution`;
const modelRole = (slug: string) => `-model-${slug}-execution`;

const chars = (n: number) => `${n} character${n === 1 ? "" : "s"}`;
/** The stack's index.ts names the platform `mlflow-<stack>`. */
const STACK_PREFIX = "mlflow-".length;

/** The first `max` characters without a trailing hyphen (project names cannot end in one). */
function shortened(name: string, max: number): string {
    return name.slice(0, Math.max(2, max)).replace(/-+$/, "");
}

function entry(p: { name: string; username: string }): string {
    return p.name === p.username ? p.name : `${p.name}:${p.username}`;
}

function overflow(prefix: string, suffix: string): number {
    return prefix.length + suffix.length + AUTONAME_SUFFIX - IAM_ROLE_NAME_MAX;
}

/**
 * Problems with a platform named `prefix` (the stack's is `mlflow-<stack>`) on the aws target:
 * each names what is too long, by how much, and what fixes it.
 */
export function awsNameProblems(prefix: string, projects: ReadonlyArray<{ name: string; username: string }>, modelSlugs: readonly string[]): string[] {
    const out: string[] = [];
    const base = overflow(prefix, ROOT_ROLE);
    if (base > 0) {
        const max = prefix.length - base;
        out.push(`name ${JSON.stringify(prefix)} is ${chars(base)} too long for AWS: the IAM role ${prefix}${ROOT_ROLE}-<7 hex> must fit ${IAM_ROLE_NAME_MAX} characters. Fix: a platform name of at most ${max} characters, for the stack's mlflow-<stack> a stack name of at most ${max - STACK_PREFIX} (pulumi stack init <shorter name>)`);
        return out;
    }
    for (const { name: p } of projects) {
        const over = overflow(prefix, projectRole(p));
        if (over > 0) {
            const fixed = projects.map(e => e.name !== p ? entry(e) : entry({ name: shortened(p, p.length - over), username: e.username }));
            out.push(`projects entry ${JSON.stringify(p)} is ${chars(over)} too long with the name ${JSON.stringify(prefix)} on AWS: the IAM role ${prefix}${projectRole(p)}-<7 hex> must fit ${IAM_ROLE_NAME_MAX} characters. Fix: a project name of at most ${p.length - over} characters (e.g. ${listCommand("projects", fixed)}), or a stack name ${chars(over)} shorter`);
        }
    }
    for (const m of modelSlugs) {
        const over = overflow(prefix, modelRole(m));
        if (over > 0) {
            out.push(`servedModels entry ${JSON.stringify(m)} is ${chars(over)} too long with the name ${JSON.stringify(prefix)} on AWS: the IAM role ${prefix}${modelRole(m)}-<7 hex> must fit ${IAM_ROLE_NAME_MAX} characters. Fix: serve a model registered under a name of at most ${m.length - over} characters, or use a stack name ${chars(over)} shorter`);
        }
    }
    return out;
}
